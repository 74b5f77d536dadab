//! Property-based fuzzing of the whole API with schemathesis: it reads the live server's OpenAPI
//! spec and sends well over a thousand generated requests (valid and invalid bodies, parameters,
//! headers, undeclared methods; stateful sequences), as the admin, to a server watching a
//! simulated cluster full of Flux objects (so actions reach a real API server). Every check is
//! on (`--checks all`): no server error (5xx), every response matching its schema, status and
//! content type as documented, undeclared methods answered 405 with `Allow`, schema-valid
//! requests accepted and invalid ones rejected, and the server must not panic. One failure
//! fails the test.
//!
//! Needs schemathesis in `target/test-venv` (made by `make test` from
//! `tests/fuzz/requirements.txt`); a missing tool fails the test with the fix.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{register, sim};

fn schemathesis() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/schemathesis");
    assert!(
        bin.exists(),
        "{} is missing. Install it (make test does this):\n  python3 -m venv target/test-venv && \
         target/test-venv/bin/pip install -r tests/fuzz/requirements.txt",
        bin.display()
    );
    bin
}

/// (requests, server errors as `METHOD path -> status`) in a schemathesis NDJSON report.
fn tally(report: &str) -> (usize, Vec<String>) {
    fn walk(v: &Value, count: &mut usize, errors: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let (Some(req), Some(status)) = (
                    m.get("request"),
                    m.get("response")
                        .and_then(|r| r.get("status_code")?.as_u64()),
                ) {
                    *count += 1;
                    if status >= 500 {
                        errors.push(format!("{} {} -> {status}", req["method"], req["uri"]));
                    }
                }
                m.values().for_each(|x| walk(x, count, errors));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, count, errors)),
            _ => {}
        }
    }
    let (mut count, mut errors) = (0, Vec::new());
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        walk(
            &serde_json::from_str(line).expect("NDJSON"),
            &mut count,
            &mut errors,
        );
    }
    (count, errors)
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_with_every_check_on_finds_no_failure_in_a_thousand_generated_requests() {
    let bin = schemathesis();
    let db = TestDb::create().await;
    // The checks send unknown credentials on purpose (`ignored_auth`); without the per-address
    // limits lifted, the address would get 429 for the rest of the minute and most operations
    // would go untested (the limits have tests of their own).
    let unlimited = ["--auth-failure-limit", "0", "--login-rate-limit", "0"];
    let server = TestServer::start_with(&db.url(), &unlimited).await;
    server.wait_ready().await;
    let cluster = sim("fuzz", 2).await;
    register(&server, "fuzz", &cluster.kubeconfig_yaml()).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.ndjson");
    // The few documented exceptions to "schema-valid requests are accepted" (values only the
    // server mints) are in the config file, with why.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/schemathesis.toml");
    let out = tokio::process::Command::new(bin)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(server.url("/api/v1/openapi.json"))
        .args(["--checks", "all", "--max-examples", "25", "--seed", "6"])
        // One worker: hypothesis describes filters by parsing their source, and CPython 3.11's
        // parser is not thread-safe ("AST constructor recursion depth mismatch").
        .args(["--workers", "1", "--no-color", "--request-timeout", "20"])
        // The WebSocket endpoint is not HTTP request/response; its upgrade is tested elsewhere.
        .args(["--exclude-operation-id", "stream"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {}", server.token()))
        .args(["--report", "ndjson", "--report-ndjson-path"])
        .arg(&report)
        .current_dir(dir.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tail: String = stdout
        .lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    let (requests, errors) = tally(&std::fs::read_to_string(&report).unwrap_or_default());
    eprintln!(
        "schemathesis: {requests} requests, {} server errors",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "server errors:\n{}\n{tail}",
        errors.join("\n")
    );
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(requests >= 1000, "only {requests} requests:\n{tail}");
    assert!(
        !server.logs().contains("panicked"),
        "the server panicked:\n{}",
        server.logs()
    );
}
