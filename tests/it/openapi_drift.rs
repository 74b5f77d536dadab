//! The committed spec must be exactly what the code generates (`make openapi` refreshes it).

#[test]
fn committed_openapi_json_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed =
        std::fs::read_to_string(path).expect("openapi/openapi.json exists; run `make openapi`");
    let generated = flux_orchestrator::api::spec_json();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is out of date with the code: run `make openapi` and commit it"
    );
}
