//! The command line as a shell uses it: output piped into tools that stop reading early.

use std::io::Read;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_flux-orchestrator");

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
