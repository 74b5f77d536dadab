//! Generates the client from the committed spec (`openapi/openapi.json`) with progenitor, so
//! every build of this crate checks that the spec is one a common generator takes as is.

use std::path::{Path, PathBuf};

fn main() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let text = std::fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", spec_path.display()));
    let spec: openapiv3::OpenAPI =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing the spec: {e}"));
    let mut settings = progenitor::GenerationSettings::default();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor could not take the spec: {e}"));
    let file = syn::parse2(tokens).unwrap_or_else(|e| panic!("generated code: {e}"));
    let code = prettyplease::unparse(&file);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("codegen.rs"), code).expect("writing the generated client");
}
