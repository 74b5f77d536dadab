//! The server binary as a child process, for the tests where a real process is the point: a
//! replica killed with SIGKILL (`ha`), the exit after SIGTERM, the server's own memory
//! (`net_limits`, the fleet benchmark), and the command line (`migrate`, a refused start).

use std::ops::Deref;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::endpoint::{Endpoint, admin_token_for};
use super::logs::LogBuffer;

/// The server binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_flux-orchestrator");

/// The real server binary, started as a child process on 127.0.0.1:0; killed when dropped.
pub struct ServerProcess {
    child: Child,
    endpoint: Endpoint,
    logs: LogBuffer,
    _dir: tempfile::TempDir,
}

impl Deref for ServerProcess {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl ServerProcess {
    /// Start `serve` against `database_url` with extra flags and environment variables, and the
    /// credential key file `key` (replicas of one installation share it; by default each
    /// server gets one of its own). The admin token is [`admin_token_for`] the database unless
    /// `env` sets `FLUXO_ADMIN_TOKEN`.
    pub async fn start(
        database_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
        key: Option<&Path>,
    ) -> ServerProcess {
        super::install_crypto();
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key.map_or_else(|| dir.path().join("key"), Path::to_path_buf);
        let token = env
            .iter()
            .find(|(k, _)| *k == "FLUXO_ADMIN_TOKEN")
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| admin_token_for(database_url));
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .arg("--dev-secret-key-file")
            .arg(&key)
            .args(args)
            .env_remove("DATABASE_URL")
            .env("FLUXO_LOG", "info,flux_orchestrator=debug")
            .env("FLUXO_ADMIN_TOKEN", &token)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn server");
        let logs = LogBuffer::default();
        capture(child.stdout.take().expect("stdout"), logs.clone());
        capture(child.stderr.take().expect("stderr"), logs.clone());
        let mut server = ServerProcess {
            child,
            endpoint: Endpoint::new(([127, 0, 0, 1], 0).into(), token),
            logs,
            _dir: dir,
        };
        let line = server
            .wait_for_log("listening on http://", Duration::from_secs(20))
            .await;
        let start = line.find("http://").expect("address in line") + "http://".len();
        let addr = line[start..].trim().parse().expect("listening address");
        server.endpoint = Endpoint::new(addr, server.endpoint.token().to_string());
        server
    }

    /// The server's process id (its memory and CPU are read from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// Everything the server wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// Wait until a log line contains `needle`; returns that line.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let child = std::sync::Mutex::new(&mut self.child);
        let exited = || {
            let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
            match child.try_wait() {
                Ok(Some(status)) => Some(format!("exited: {status}")),
                _ => None,
            }
        };
        self.logs.wait_for(needle, timeout, exited).await
    }

    /// Kill the process (SIGKILL): a crash, no clean-up.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("kill server");
        let _ = self.child.wait().await;
    }

    /// Send SIGTERM and wait for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.pid();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("server exits after SIGTERM")
            .expect("wait")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- server logs ----\n{}", self.logs());
        }
    }
}

/// Append each line of `stream` to `logs`.
fn capture(stream: impl tokio::io::AsyncRead + Unpin + Send + 'static, logs: LogBuffer) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            logs.push(&format!("{line}\n"));
        }
    });
}

/// Run the binary to completion (e.g. `migrate`), returning (success, combined output).
pub async fn run_bin(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
