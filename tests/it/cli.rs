//! The command line as a shell uses it: output piped into tools that stop reading early.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::process::BIN;

#[test]
fn openapi_piped_into_a_reader_that_stops_early_exits_quietly() {
    // The spec (~200 KB) is larger than a pipe's buffer, so the writer is still writing when
    // the reader goes away — what `flux-orchestrator openapi | head -c 200` does.
    let mut child = Command::new(BIN)
        .arg("openapi")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run binary");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut head = [0u8; 200];
    stdout.read_exact(&mut head).expect("200 bytes of spec");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(head.starts_with(b"{"), "{}", String::from_utf8_lossy(&head));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.trim().is_empty(),
        "no error on a closed pipe: {stderr}"
    );
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

#[test]
fn sim_help_describes_objects_per_kind_per_cluster() {
    let out = Command::new(BIN)
        .args(["sim", "--help"])
        .output()
        .expect("run binary");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    assert!(help.contains("Flux objects per kind per cluster"), "{help}");
    assert!(!help.contains("per kind per namespace"), "{help}");
}

/// Kills the simulator when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(base: &str, path: &str) -> String {
    use std::io::Write;
    let addr = base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect admin endpoint");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn sim_names_clusters_with_the_name_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfigs = dir.path().to_str().expect("utf-8 path");
    let sim = Running(
        Command::new(BIN)
            .args([
                "sim",
                "--name-prefix",
                "edge",
                "--clusters",
                "2",
                "--objects",
                "1",
            ])
            .args([
                "--churn",
                "0",
                "--plain-http",
                "--kubeconfig-dir",
                kubeconfigs,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("run binary"),
    );
    let admin_url = dir.path().join("admin-url");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Written once every cluster is up.
    while std::fs::read_to_string(&admin_url).map_or(true, |u| u.trim().is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "simulator did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .expect("kubeconfig dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["admin-url", "edge-1.yaml", "edge-2.yaml"]);
    let kubeconfig = std::fs::read_to_string(dir.path().join("edge-1.yaml")).expect("kubeconfig");
    assert!(kubeconfig.contains("name: edge-1"), "{kubeconfig}");
    let base = std::fs::read_to_string(&admin_url).expect("admin url");
    let clusters = http_get(base.trim(), "/clusters");
    assert!(
        clusters.contains("\"edge-1\"") && clusters.contains("\"edge-2\""),
        "{clusters}"
    );
    assert!(!clusters.contains("\"sim-1\""), "{clusters}");
    drop(sim);

    let refused = Command::new(BIN)
        .args([
            "sim",
            "--name-prefix",
            "Edge_",
            "--kubeconfig-dir",
            kubeconfigs,
        ])
        .output()
        .expect("run binary");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--name-prefix"), "{stderr}");
}
