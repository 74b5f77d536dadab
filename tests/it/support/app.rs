//! The server under test, in this process: `flux_orchestrator::app::spawn_app` on 127.0.0.1:0,
//! on a tokio runtime of its own (its own threads: its log is its own, see [`super::logs`],
//! and a test's runtime never runs server work). Dropping it aborts the server at once, the
//! way the old harness's child process was killed; [`TestServer::stop`] shuts it down
//! gracefully.

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use flux_orchestrator::app::spawn_app;
use flux_orchestrator::config::ServeConfig;
use tokio::sync::oneshot;

use super::endpoint::{Endpoint, admin_token_for};
use super::logs::{self, LogBuffer};

/// `serve`'s flags, parsed as the binary parses them.
#[derive(Parser)]
struct Serve {
    #[command(flatten)]
    config: ServeConfig,
}

/// A server running in this process.
pub struct TestServer {
    endpoint: Endpoint,
    logs: LogBuffer,
    /// Sending asks for a graceful shutdown; dropping the sender aborts the server.
    stop: Option<oneshot::Sender<()>>,
    /// The server's result once it has stopped (gracefully or by a fatal error).
    done: Option<oneshot::Receiver<anyhow::Result<()>>>,
    /// Why the server stopped, once it has (read by log waits, which then fail at once).
    exited: Arc<Mutex<Option<String>>>,
    _dir: tempfile::TempDir,
}

impl Deref for TestServer {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl TestServer {
    /// Start a server on `database_url` with a development key file.
    pub async fn start(database_url: &str) -> TestServer {
        TestServer::start_with(database_url, &[]).await
    }

    /// Start a server with extra `serve` flags. Its bootstrap admin token is the one
    /// `--admin-token` names, or [`admin_token_for`] the database.
    pub async fn start_with(database_url: &str, args: &[&str]) -> TestServer {
        let token = flag(args, "--admin-token")
            .map(str::to_string)
            .unwrap_or_else(|| admin_token_for(database_url));
        TestServer::launch(database_url, args, Some(&token), None).await
    }

    /// Like [`TestServer::start_with`], with the credential key file `key` (replicas of one
    /// installation share it); by default each server gets a key of its own.
    pub async fn start_with_key(database_url: &str, args: &[&str], key: &Path) -> TestServer {
        let token = admin_token_for(database_url);
        TestServer::launch(database_url, args, Some(&token), Some(key)).await
    }

    /// Start a server without an admin token: it generates one if the database has none.
    pub async fn start_without_admin_token(database_url: &str) -> TestServer {
        TestServer::launch(database_url, &[], None, None).await
    }

    async fn launch(
        database_url: &str,
        args: &[&str],
        token: Option<&str>,
        key: Option<&Path>,
    ) -> TestServer {
        logs::install();
        super::install_crypto();
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key.map_or_else(|| dir.path().join("key"), Path::to_path_buf);
        let key = key.to_str().expect("key path is UTF-8");
        let mut argv = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ];
        argv.extend(["--dev-secret-key-file", key]);
        if let Some(token) = token.filter(|_| flag(args, "--admin-token").is_none()) {
            argv.extend(["--admin-token", token]);
        }
        argv.extend(args);
        let config = Serve::try_parse_from(&argv)
            .unwrap_or_else(|e| panic!("serve {args:?}: {e}"))
            .config;
        let logs = LogBuffer::default();
        let exited = Arc::new(Mutex::new(None));
        let (started_tx, started) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let thread = Thread {
            logs: logs.clone(),
            exited: exited.clone(),
        };
        std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || thread.run(config, started_tx, stop_rx, done_tx))
            .expect("server thread");
        let addr = match started.await.expect("the server thread reports its start") {
            Ok(addr) => addr,
            Err(e) => panic!("server did not start: {e:#}\n{}", logs.text()),
        };
        TestServer {
            endpoint: Endpoint::new(addr, token.unwrap_or_default().to_string()),
            logs,
            stop: Some(stop),
            done: Some(done),
            exited,
            _dir: dir,
        }
    }

    /// Everything the server logged so far.
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// Wait until a log line contains `needle`; returns that line.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let exited = || {
            self.exited
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        self.logs.wait_for(needle, timeout, exited).await
    }

    /// Shut down gracefully (what SIGTERM does to the binary) and return how the server ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let done = self.done.take().expect("stopped once");
        tokio::time::timeout(Duration::from_secs(20), done)
            .await
            .expect("the server stops within 20 s")
            .expect("the server thread reports its end")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- server logs ----\n{}", self.logs());
        }
    }
}

/// The value of `--name value` in `args`.
fn flag<'a>(args: &[&'a str], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| *a == name)
        .and_then(|i| args.get(i + 1).copied())
}

/// The server's own thread: it runs the server's runtime until the test stops or drops it.
struct Thread {
    logs: LogBuffer,
    exited: Arc<Mutex<Option<String>>>,
}

impl Thread {
    fn run(
        self,
        config: ServeConfig,
        started: oneshot::Sender<anyhow::Result<SocketAddr>>,
        stop: oneshot::Receiver<()>,
        done: oneshot::Sender<anyhow::Result<()>>,
    ) {
        logs::attach(&self.logs);
        let logs = self.logs.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("test-server-worker")
            .on_thread_start(move || logs::attach(&logs))
            .build()
            .expect("server runtime");
        let ended = runtime.block_on(async move {
            let app = match spawn_app(config).await {
                Ok(app) => app,
                Err(e) => {
                    let _ = started.send(Err(e));
                    return None;
                }
            };
            let _ = started.send(Ok(app.addr()));
            let fatal = app.shutdown_token();
            tokio::select! {
                asked = stop => match asked {
                    Ok(()) => Some(app.shutdown().await),
                    // The test dropped the server: abort below, like a killed process.
                    Err(_) => None,
                },
                () = fatal.cancelled() => Some(app.wait().await),
            }
        });
        // The servers of a finished test must not linger: whatever still runs is dropped.
        runtime.shutdown_background();
        let Some(ended) = ended else {
            *self.exited.lock().unwrap_or_else(|e| e.into_inner()) = Some("dropped".into());
            return;
        };
        let why = match &ended {
            Ok(()) => "stopped".to_string(),
            Err(e) => format!("{e:#}"),
        };
        *self.exited.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        let _ = done.send(ended);
    }
}
