//! Helpers for the live stream tests: a server with a registered cluster, WebSocket clients that
//! speak the protocol, and Flux objects written through the real batch writer ("replica A").

use std::time::Duration;

use flux_orchestrator::flux;
use flux_orchestrator::store::{Store, WriteOp};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use super::app::TestServer;
use super::db::TestDb;
use super::endpoint::Endpoint;
use super::fleet::register_unreachable;

/// How long any single expected message may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// A fresh database, a server on it, a registered cluster and a store writing to it.
pub struct Env {
    /// Keeps the database alive.
    pub db: TestDb,
    /// The server under test.
    pub server: TestServer,
    /// The test's own writer ("replica A").
    pub store: Store,
    /// The registered cluster.
    pub cluster: Uuid,
}

/// Start a server with extra `serve` flags, register a cluster `prod` (unreachable: the test
/// writes its objects), and wait until the live listener follows the log.
pub async fn setup(args: &[&str]) -> Env {
    let db = TestDb::create().await;
    let server = start_server(&db.url(), args).await;
    let cluster = register_unreachable(&server, "prod").await;
    let store = db.store();
    Env {
        db,
        server,
        store,
        cluster,
    }
}

/// A server on `url` with extra `serve` flags, ready and following the change log.
pub async fn start_server(url: &str, args: &[&str]) -> TestServer {
    let server = TestServer::start_with(url, args).await;
    server.wait_ready().await;
    server
        .wait_for_log("live listener is following the change log", WAIT)
        .await;
    server
}

/// A Kustomization; `rev` makes each call a distinct content (a real change).
pub fn kustomization(namespace: &str, name: &str, ready: bool, rev: u64) -> Value {
    let (status, reason) = if ready {
        ("True", "ReconciliationSucceeded")
    } else {
        ("False", "BuildFailed")
    };
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace, "generation": 1, "uid": format!("uid-{namespace}-{name}")},
        "spec": {"interval": "10m", "path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": format!("main@sha1:{rev:040x}"),
            "conditions": [{"type": "Ready", "status": status, "reason": reason,
                            "message": format!("revision {rev}"), "lastTransitionTime": "2026-01-01T00:00:00Z",
                            "observedGeneration": 1}]
        }
    })
}

/// A GitRepository (another kind, for kind filters).
pub fn git_repository(namespace: &str, name: &str, rev: u64) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"interval": "1m", "url": "https://example.com/repo.git"},
        "status": {"observedGeneration": 1,
                   "artifact": {"revision": format!("main@sha1:{rev:040x}"), "digest": "sha256:00", "path": "x",
                                "url": "http://source/x", "lastUpdateTime": "2026-01-01T00:00:00Z"},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "ok",
                                   "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}
    })
}

/// An upsert of `object` in `cluster`.
pub fn upsert(cluster: Uuid, object: &Value) -> WriteOp {
    let snapshot = Box::new(flux::snapshot(object).expect("a Flux object"));
    WriteOp::Upsert {
        cluster_id: cluster,
        snapshot,
        backstop: false,
    }
}

/// An upsert of the workload `object` in `cluster`.
pub fn upsert_workload(cluster: Uuid, object: &Value) -> WriteOp {
    let snapshot = Box::new(flux::workload_snapshot(object).expect("a workload"));
    WriteOp::Upsert {
        cluster_id: cluster,
        snapshot,
        backstop: false,
    }
}

/// A Deployment applied by Kustomization `flux-system/<owner>`, rolled out.
pub fn deployment(namespace: &str, name: &str, owner: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 1, "labels": {
            "kustomize.toolkit.fluxcd.io/name": owner,
            "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
            "availableReplicas": 1, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}})
}

/// Commit `ops` in one batch; returns the highest seq written.
pub async fn write(store: &Store, ops: Vec<WriteOp>) -> i64 {
    store
        .write_batch(&ops)
        .await
        .expect("write batch")
        .max_seq
        .expect("the batch changed something")
}

/// Every seq in the log, in order.
pub async fn all_seqs(db: &TestDb) -> Vec<i64> {
    let client = db.client().await;
    let rows = client
        .query("SELECT seq FROM resource_changes ORDER BY seq", &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// A protocol client.
pub struct Client {
    /// The socket.
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// `ws://…/api/v1/stream` of `server`.
pub fn ws_url(server: &Endpoint) -> String {
    server.url("/api/v1/stream").replacen("http://", "ws://", 1)
}

/// The WebSocket handshake request to `server`'s stream, authenticated as its admin.
pub fn ws_request(server: &Endpoint) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    ws_request_as(server, server.token())
}

/// The WebSocket handshake request to `server`'s stream with the bearer `token`.
pub fn ws_request_as(
    server: &Endpoint,
    token: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = ws_url(server).into_client_request().expect("request");
    let value = format!("Bearer {token}").parse().expect("header");
    request.headers_mut().insert("authorization", value);
    request
}

impl Client {
    /// Connect to `server`'s stream as its admin.
    pub async fn connect(server: &Endpoint) -> Client {
        Client::connect_as(server, server.token()).await
    }

    /// Connect to `server`'s stream with the bearer `token`.
    pub async fn connect_as(server: &Endpoint, token: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(ws_request_as(server, token))
            .await
            .expect("WebSocket connect");
        Client { ws }
    }

    /// Send a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// Subscribe and wait for `subscribed`; returns its seq. Messages before it (cluster
    /// snapshot, replayed changes) are returned too.
    pub async fn subscribe(&mut self, since: Option<i64>, filter: Value) -> (i64, Vec<Value>) {
        let mut m = json!({"type": "subscribe", "filter": filter});
        if let Some(since) = since {
            m["since"] = json!(since);
        }
        self.send(m).await;
        let mut before = Vec::new();
        loop {
            let v = self.next().await;
            match v["type"].as_str() {
                Some("subscribed") => return (v["seq"].as_i64().unwrap(), before),
                Some("heartbeat") => {}
                _ => before.push(v),
            }
        }
    }

    /// The next JSON message (pings are answered and skipped). Panics after [`WAIT`].
    pub async fn next(&mut self) -> Value {
        self.try_next(WAIT)
            .await
            .expect("a message in time")
            .expect("the connection is open")
    }

    /// The next JSON message within `wait`: `Err` on timeout, `Ok(None)` when the connection ends.
    pub async fn try_next(&mut self, wait: Duration) -> Result<Option<Value>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let m = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| ())?;
            match m {
                Some(Ok(Message::Text(t))) => {
                    return Ok(Some(serde_json::from_str(t.as_str()).expect("JSON")));
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ok(None),
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next message of type `ty`, skipping others.
    pub async fn next_of(&mut self, ty: &str) -> Value {
        self.next_where(ty, |_| true).await
    }

    /// The next message of type `ty` that satisfies `pred`, within [`WAIT`] overall (other
    /// messages keep arriving, so each read's own timeout is not enough).
    pub async fn next_where(&mut self, ty: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = self
                .try_next(left)
                .await
                .unwrap_or_else(|_| panic!("no {ty} message in time"));
            let v = v.expect("the connection is open");
            if v["type"] == ty && pred(&v) {
                return v;
            }
        }
    }

    /// Change messages until one with seq ≥ `last` (skipping heartbeats and cluster messages).
    pub async fn changes_through(&mut self, last: i64) -> Vec<Value> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + 4 * WAIT;
        while out
            .last()
            .is_none_or(|c: &Value| c["seq"].as_i64().unwrap() < last)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "change {last} did not arrive in time"
            );
            let v = self.next().await;
            match v["type"].as_str() {
                Some("change") => out.push(v),
                Some("heartbeat" | "cluster" | "subscribed") => {}
                other => panic!("unexpected {other:?}: {v}"),
            }
        }
        out
    }
}

/// The seqs of change messages.
pub fn seqs(changes: &[Value]) -> Vec<i64> {
    changes
        .iter()
        .filter(|v| v["type"] == "change")
        .map(|v| v["seq"].as_i64().unwrap())
        .collect()
}

/// One value of `/metrics`, by its full series name (e.g. `fluxo_live_resyncs_total{reason="slow"}`).
pub async fn metric(server: &Endpoint, series: &str) -> i64 {
    let text = server
        .http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
}

/// Poll `check` until it holds, for at most [`WAIT`].
pub async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
