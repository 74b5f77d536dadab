//! Test harness: a fresh PostgreSQL database per test (dropped afterwards), the real server
//! binary started on port 0 with its logs captured, and a TCP proxy to cut the database off.
#![allow(dead_code)]

pub mod fleet;
pub mod proxy;
pub mod raw;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The server binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_flux-orchestrator");

/// The admin URL of the test PostgreSQL server (`make test` sets DATABASE_URL).
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must point at a PostgreSQL server whose user may CREATE DATABASE; `make test` sets it",
    )
}

/// A database of its own for one test; dropped (forcibly) when the value is dropped.
pub struct TestDb {
    /// Database name.
    pub name: String,
    /// Host and port of the server.
    pub host: String,
    /// Port of the server.
    pub port: u16,
    user: String,
}

impl TestDb {
    /// Create a fresh, empty database.
    pub async fn create() -> TestDb {
        let admin = admin_url();
        let config: tokio_postgres::Config = admin.parse().expect("DATABASE_URL parses");
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_string();
        let name = format!("fluxo_test_{}", uuid::Uuid::new_v4().simple());
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("connect to DATABASE_URL");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        TestDb {
            name,
            host,
            port,
            user,
        }
    }

    /// URL of this database.
    pub fn url(&self) -> String {
        self.url_via(&self.host, self.port)
    }

    /// URL of this database reached through another host/port (a proxy).
    pub fn url_via(&self, host: &str, port: u16) -> String {
        format!("postgres://{}@{host}:{port}/{}", self.user, self.name)
    }

    /// A direct client to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .expect("connect to test database");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = admin_url();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own runtime to finish the
        // asynchronous DROP before the test ends.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// The real server, started as a child process on 127.0.0.1:0.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    logs: Arc<Mutex<String>>,
    token: String,
    _dir: tempfile::TempDir,
}

/// The bootstrap admin token of servers on `database_url`: derived from the database name, so
/// replicas of one test share it, and random across tests.
pub fn admin_token_for(database_url: &str) -> String {
    use sha2::Digest;
    let name = database_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    let digest = sha2::Sha256::digest(format!("fluxo-test-admin:{name}").as_bytes());
    format!("fluxo_test{}", hex::encode(&digest[..20]))
}

/// `Authorization: Bearer <token>` as a header map.
pub fn bearer_headers(token: &str) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    headers
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn client_with(token: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .default_headers(bearer_headers(token))
        .build()
        .expect("client")
}

impl TestServer {
    /// Start `serve` against `database_url` with a development key file.
    pub async fn start(database_url: &str) -> TestServer {
        TestServer::start_with(database_url, &[], &[]).await
    }

    /// Start `serve` with extra arguments and environment variables.
    pub async fn start_with(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> TestServer {
        TestServer::start_with_key(database_url, args, env, None).await
    }

    /// Like [`TestServer::start_with`], with the credential key file `key` (replicas of one
    /// installation share it); by default each server gets a key of its own.
    pub async fn start_with_key(
        database_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
        key: Option<&std::path::Path>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| dir.path().join("key"));
        let token = env
            .iter()
            .find(|(k, _)| *k == "FLUXO_ADMIN_TOKEN")
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| admin_token_for(database_url));
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
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
            .kill_on_drop(true);
        if token.is_empty() {
            // An empty FLUXO_ADMIN_TOKEN from the test means "none": the server generates one.
            cmd.env_remove("FLUXO_ADMIN_TOKEN");
        }
        let mut child = cmd.spawn().expect("spawn server");
        let logs = Arc::new(Mutex::new(String::new()));
        capture(child.stdout.take().expect("stdout"), logs.clone());
        capture(child.stderr.take().expect("stderr"), logs.clone());
        let mut server = TestServer {
            child,
            base: String::new(),
            logs,
            token,
            _dir: dir,
        };
        let line = server
            .wait_for_log("listening on http://", Duration::from_secs(20))
            .await;
        let start = line.find("http://").expect("address in line");
        server.base = line[start..].trim().to_string();
        server
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's process id (benchmarks read its memory and CPU from `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The bootstrap admin token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The admin's `Authorization` header, for clients built by the test.
    pub fn auth_headers(&self) -> reqwest::header::HeaderMap {
        bearer_headers(&self.token)
    }

    /// An HTTP client authenticated as the bootstrap admin.
    pub fn http(&self) -> reqwest::Client {
        client_with(&self.token)
    }

    /// Everything the server wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs lock").clone()
    }

    /// Wait until a log line contains `needle`; returns that line.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.logs().lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "server exited ({status}) before logging {needle:?}:\n{}",
                    self.logs()
                );
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "server did not log {needle:?} within {timeout:?}:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not ready in 20 s:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kill the process (SIGKILL): a crash, no clean-up.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("kill server");
        let _ = self.child.wait().await;
    }

    /// Send SIGTERM and wait for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("server exits after SIGTERM")
            .expect("wait")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- server logs ----\n{}", self.logs());
        }
    }
}

fn capture(stream: impl tokio::io::AsyncRead + Unpin + Send + 'static, logs: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut logs = logs.lock().expect("logs lock");
            logs.push_str(&line);
            logs.push('\n');
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

/// A kubeconfig with a bearer token for a made-up server (the registry does not connect).
pub fn token_kubeconfig(server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: main\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\ncontexts:\n- name: main\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: {token}\n"
    )
}
