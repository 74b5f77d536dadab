//! Scenario 6: fan-out to 5,000 WebSocket subscribers at 10 changes/s. The harness commits
//! changes through the real write path (`Store::write_batch`, acting as the ingesting replica)
//! and times each change from its commit until each subscriber has the frame; server memory per
//! subscriber is the server's RSS growth from connecting the idle subscribers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::harness::{self, Dist, Goal, Report};
use crate::support::db::TestDb;
use crate::support::fleet::register_unreachable;
use crate::support::process::ServerProcess;
use crate::support::stream::{Client, WAIT, kustomization, upsert, write, ws_request};

const SCENARIO: &str = "6 fan-out";

/// What a client reads of a frame (serde skips the rest without allocating).
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    seq: Option<i64>,
}

/// The server (a process: its memory and CPU are read), a registered cluster whose changes
/// the harness writes, and the writer.
struct Env {
    server: ServerProcess,
    cluster: uuid::Uuid,
    store: flux_orchestrator::store::Store,
    _db: TestDb,
}

/// A fresh database and a server following its change log; every subscriber uses the one
/// admin token, so the per-credential stream cap (32) is lifted.
async fn setup() -> Env {
    let db = TestDb::create().await;
    let args = ["--stream-max-per-principal", "0"];
    let mut server = ServerProcess::start(&db.url(), &args, &[harness::SERVER_LOG], None).await;
    server.wait_ready().await;
    server
        .wait_for_log("live listener is following the change log", WAIT)
        .await;
    let cluster = register_unreachable(&server, "prod").await;
    Env {
        store: db.store(),
        server,
        cluster,
        _db: db,
    }
}

/// Connect and subscribe `n` clients (200 handshakes at a time) with small client buffers.
async fn connect_all(env: &Env, n: usize) -> anyhow::Result<Vec<Client>> {
    let gate = Arc::new(Semaphore::new(200));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (gate, url) = (gate.clone(), ws_request(&env.server));
            tokio::spawn(async move {
                let _permit = gate.acquire().await?;
                let config = WebSocketConfig::default()
                    .read_buffer_size(8 * 1024)
                    .write_buffer_size(0);
                let (ws, _) =
                    tokio_tungstenite::connect_async_with_config(url, Some(config), false).await?;
                let mut client = Client { ws };
                client.subscribe(None, json!({})).await;
                anyhow::Ok(client)
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(n);
    for t in futures::future::join_all(tasks).await {
        clients.push(t??);
    }
    Ok(clients)
}

/// Read until the change `last` (sent through `until`) arrives; (seq, arrival) pairs.
async fn receive(mut client: Client, mut until: watch::Receiver<i64>) -> Vec<(i64, Instant)> {
    let mut got = Vec::new();
    loop {
        tokio::select! {
            m = tokio::time::timeout(Duration::from_secs(30), client.ws.next()) => {
                let Ok(Some(Ok(m))) = m else { return got };
                let Message::Text(text) = m else { continue };
                let at = Instant::now();
                if let Ok(Frame { ty: "change", seq: Some(seq) }) = serde_json::from_str(text.as_str()) {
                    got.push((seq, at));
                }
            }
            _ = until.changed() => {}
        }
        let last = *until.borrow();
        if last > 0 && got.last().is_some_and(|(s, _)| *s >= last) {
            return got;
        }
    }
}

pub async fn run(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let (subscribers, rate, secs) = if quick { (200, 10, 3) } else { (5_000, 10, 20) };
    let env = setup().await;
    let pid = env.server.pid();
    let rss_before = harness::mem_kib(pid, "VmRSS");
    let clients = connect_all(&env, subscribers).await?;
    // Let connection set-up settle before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = harness::mem_kib(pid, "VmRSS");
    let cpu_before = harness::cpu_secs(&pid.to_string());
    let (last_tx, last_rx) = watch::channel(0i64);
    let readers: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(receive(c, last_rx.clone())))
        .collect();
    // One change per tick: each commit is timed on its own.
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let window = Instant::now();
    let mut committed: HashMap<i64, Instant> = HashMap::new();
    let mut last = 0;
    for b in 0..rate * secs {
        tick.tick().await;
        let op = upsert(
            env.cluster,
            &kustomization("bench", &format!("k{}", b % 50), b % 2 == 0, b as u64),
        );
        last = write(&env.store, vec![op]).await;
        committed.insert(last, Instant::now());
    }
    let _ = last_tx.send(last);
    let mut latencies = Vec::with_capacity(committed.len() * subscribers);
    for r in futures::future::join_all(readers).await {
        for (seq, at) in r? {
            if let Some(done) = committed.get(&seq) {
                latencies.push(at.saturating_duration_since(*done).as_secs_f64() * 1000.0);
            }
        }
    }
    let cpu = harness::cpu_secs(&pid.to_string()) - cpu_before;
    let expected = committed.len() * subscribers;
    let received = latencies.len();
    let d = Dist::of(latencies).ok_or_else(|| anyhow::anyhow!("no frame arrived"))?;
    report.note(
        SCENARIO,
        format!("{subscribers} subscribers × {rate} changes/s for {secs} s; server CPU {cpu:.1} s over {:.1} s", window.elapsed().as_secs_f64()),
    );
    report.dist(
        SCENARIO,
        &format!("commit → frame, {subscribers} subscribers"),
        &d,
        None,
        Some(250.0),
    );
    let per_sub = (rss_idle as f64 - rss_before as f64) / subscribers as f64;
    report.add(
        SCENARIO,
        "server memory per subscriber",
        per_sub,
        "KiB",
        Some(Goal::AtMost(20.0)),
    );
    report.add(
        SCENARIO,
        "frames delivered",
        received as f64,
        "frames",
        None,
    );
    report.check(
        SCENARIO,
        received == expected,
        format!("{received} of {expected} frames arrived"),
    );
    Ok(())
}
