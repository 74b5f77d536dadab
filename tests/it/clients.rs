//! Clients generated from the committed spec work against the real server: openapi-python-client
//! generates a package from `openapi/openapi.json` with no warning at all (a warning means an
//! operation or model was dropped or degraded), and `tests/clients/python_client.py` drives a
//! server watching a simulated cluster through it: registers the cluster, pages through its
//! resources with filters, reads one, reconciles it and reads its history.
//!
//! Needs openapi-python-client in `target/test-venv` (made by `make test` from
//! `tests/fuzz/requirements.txt`); a missing tool fails the test with the fix.

use std::path::{Path, PathBuf};

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{FAST_INGEST, sim};

fn venv_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin");
    assert!(
        bin.join("openapi-python-client").exists(),
        "{} is missing. Install it (make test does this):\n  python3 -m venv target/test-venv && \
         target/test-venv/bin/pip install -r tests/fuzz/requirements.txt",
        bin.join("openapi-python-client").display()
    );
    bin
}

/// `PATH` with the venv first: the generator runs `ruff` (pinned beside it) on its output.
fn path_with(bin: &Path) -> std::ffi::OsString {
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// Generate the Python client into `dir`; its package directory. Fails on any warning.
async fn generate(bin: &Path, dir: &Path) -> PathBuf {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let out = tokio::process::Command::new(bin.join("openapi-python-client"))
        // No packaging metadata: the package itself, put on PYTHONPATH.
        .args(["generate", "--meta", "none", "--output-path"])
        .arg(dir.join("flux_orchestrator_client"))
        .arg("--path")
        .arg(&spec)
        .current_dir(dir)
        .env("PATH", path_with(bin))
        .output()
        .await
        .expect("run openapi-python-client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "generation failed:\n{text}");
    let warned = ["warning", "unable", "cannot", "skipping"];
    let lower = text.to_lowercase();
    assert!(
        !warned.iter().any(|w| lower.contains(w)),
        "openapi-python-client warned about openapi/openapi.json:\n{text}"
    );
    dir.to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_python_client_registers_pages_reads_reconciles_and_reads_history() {
    let bin = venv_bin();
    let dir = tempfile::tempdir().unwrap();
    let package_root = generate(&bin, dir.path()).await;
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let cluster = sim("py", 3).await;
    let kustomizations = cluster.objects().list("Kustomization", None).len();
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    std::fs::write(&kubeconfig, cluster.kubeconfig_yaml()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/python_client.py");
    let out = tokio::process::Command::new(bin.join("python3"))
        .arg(&script)
        .env("PYTHONPATH", &package_root)
        .env("FLUXO_URL", server.url(""))
        .env("FLUXO_TOKEN", server.token())
        .env("CLUSTER", "py")
        .env("KUBECONFIG_FILE", &kubeconfig)
        .env("KUSTOMIZATIONS", kustomizations.to_string())
        .output()
        .await
        .expect("run tests/clients/python_client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "the Python client failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        server.logs()
    );
    assert!(stdout.contains("Kustomizations paged"), "{stdout}");
}
