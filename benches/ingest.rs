//! Ingest benchmarks (issue 4): sustained write rate into PostgreSQL through the real batching
//! writer, batch commit latency, and watch event → committed row latency end to end (simulator →
//! server process → PostgreSQL NOTIFY) at a fixed change rate.
//!
//! `cargo bench --bench ingest` with DATABASE_URL set (`make bench` starts a PostgreSQL).
//! `INGEST_BENCH_QUICK=1` runs a few-second version (used by `make test`).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flux_orchestrator::config::DbConfig;
use flux_orchestrator::flux;
use flux_orchestrator::ingest::writer::{self, WriterStats};
use flux_orchestrator::sim::{Scenario, SimCluster, SimOptions};
use flux_orchestrator::store::{Store, WriteOp};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The bench server's bootstrap admin token.
const BENCH_TOKEN: &str = "fluxo_bench_3f9c1e7a5b2d4086a1c3e5f7092b4d6e8a0c2e4f";

struct Plan {
    objects: usize,
    changes: usize,
    rate: f64,
    seconds: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::var("INGEST_BENCH_QUICK").is_ok_and(|v| v == "1");
    let plan = if quick {
        Plan {
            objects: 500,
            changes: 3_000,
            rate: 200.0,
            seconds: 2.0,
        }
    } else {
        Plan {
            objects: 10_000,
            changes: 100_000,
            rate: 1_000.0,
            seconds: 15.0,
        }
    };
    let admin = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL (make bench does)"))?;
    let (db_url, db_name) = create_db(&admin).await?;
    let store = Store::connect(&DbConfig {
        database_url: db_url.clone(),
        db_pool_size: 8,
        db_timeout_secs: 5,
    })?;
    store.migrate().await?;
    let mut results = serde_json::Map::new();

    let (rate, p50, p99, batches) = sustained_writes(&store, &plan).await?;
    println!(
        "ingest write rate: {rate:.0} changes/s over {} changes of {} objects (goal ≥ 5,000/s)",
        plan.changes, plan.objects
    );
    println!("  batch commit: p50 {p50:.1} ms, p99 {p99:.1} ms over {batches} batches");
    results.insert("write_rate_per_s".into(), json!(rate));
    results.insert("commit_p50_ms".into(), json!(p50));
    results.insert("commit_p99_ms".into(), json!(p99));

    let (lat, _) = end_to_end_latency(&db_url, &plan, 1).await?;
    println!(
        "watch event → committed row at {:.0} changes/s: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} changes (goal p99 ≤ 50 ms)",
        plan.rate, lat[0], lat[1], lat[2], lat[3], lat[4]
    );
    results.insert("e2e_rate_per_s".into(), json!(plan.rate));
    results.insert("e2e_p50_ms".into(), json!(lat[0]));
    results.insert("e2e_p95_ms".into(), json!(lat[1]));
    results.insert("e2e_p99_ms".into(), json!(lat[2]));
    results.insert("e2e_max_ms".into(), json!(lat[3]));
    let fanout = Plan {
        rate: plan.rate / 2.0,
        ..plan
    };
    let subscribers = if quick { 10 } else { 100 };
    let (_, frame) = end_to_end_latency(&db_url, &fanout, subscribers).await?;
    println!(
        "watch event → WebSocket frame at {subscribers} subscribers, {:.0} changes/s: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} frames (goal p50 ≤ 30 ms, p99 ≤ 150 ms)",
        fanout.rate, frame[0], frame[1], frame[2], frame[3], frame[4]
    );
    results.insert("frame_p50_ms".into(), json!(frame[0]));
    results.insert("frame_p99_ms".into(), json!(frame[2]));
    results.insert("quick".into(), json!(quick));
    std::fs::create_dir_all("target/bench-results")?;
    std::fs::write(
        "target/bench-results/ingest.json",
        serde_json::to_string_pretty(&Value::Object(results))?,
    )?;
    drop_db(&admin, &db_name).await;
    Ok(())
}

async fn create_db(admin: &str) -> anyhow::Result<(String, String)> {
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let name = format!("fluxo_bench_{}", Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok((format!("{base}/{name}"), name))
}

async fn drop_db(admin: &str, name: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

/// A realistic Kustomization; `round` changes its status so every op is a real change.
fn kustomization(i: usize, round: usize) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": format!("app-{i}"), "namespace": format!("team-{}", i % 20), "uid": format!("uid-{i}"),
                     "resourceVersion": format!("{}", round * 100_000 + i), "generation": 1,
                     "labels": {"team": format!("t{}", i % 7)}},
        "spec": {"interval": "10m", "path": format!("./apps/{i}"), "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"observedGeneration": 1, "lastAppliedRevision": format!("main@sha1:{round:040x}"),
                   "lastAttemptedRevision": format!("main@sha1:{round:040x}"),
                   "conditions": [{"type": "Ready", "status": if round.is_multiple_of(2) { "True" } else { "False" },
                                   "reason": if round.is_multiple_of(2) { "ReconciliationSucceeded" } else { "HealthCheckFailed" },
                                   "message": format!("round {round}"), "lastTransitionTime": "2026-11-26T10:00:00Z",
                                   "observedGeneration": 1}]}
    })
}

async fn register_cluster(store: &Store) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v4();
    let conn = store.conn().await?;
    conn.execute(
        "INSERT INTO clusters (id, name, source, server_url, credentials) VALUES ($1, $2, 'kubeconfig', 'https://bench', '\\x00')",
        &[&id, &format!("bench-{}", &id.simple().to_string()[..8])],
    )
    .await?;
    Ok(id)
}

async fn sustained_writes(store: &Store, plan: &Plan) -> anyhow::Result<(f64, f64, f64, u64)> {
    let cluster = register_cluster(store).await?;
    let snapshots: Vec<WriteOp> = (0..plan.changes)
        .map(|n| WriteOp::Upsert {
            cluster_id: cluster,
            snapshot: Box::new(
                flux::snapshot(&kustomization(n % plan.objects, n / plan.objects))
                    .expect("snapshot"),
            ),
            backstop: false,
        })
        .collect();
    let stats = Arc::new(WriterStats::default());
    let (tx, task) = writer::spawn(
        store.clone(),
        10_000,
        1_000,
        stats.clone(),
        CancellationToken::new(),
    );
    let started = Instant::now();
    let mut commits = Vec::new();
    let sampler = {
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut last = 0;
            let mut samples = Vec::new();
            loop {
                let batches = stats.batches.load(Ordering::Relaxed);
                if batches != last {
                    last = batches;
                    samples.push(stats.last_commit_micros.load(Ordering::Relaxed) as f64 / 1000.0);
                }
                if stats.ops.load(Ordering::Relaxed) as usize >= usize::MAX / 2 {
                    break samples;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        })
    };
    for op in snapshots {
        tx.send(op).await?;
    }
    drop(tx);
    task.await?;
    let elapsed = started.elapsed().as_secs_f64();
    stats
        .ops
        .fetch_add(usize::MAX as u64 / 2, Ordering::Relaxed);
    commits.extend(sampler.await?);
    commits.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        commits
            .get(((commits.len() as f64 * p) as usize).min(commits.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let upserted = stats.upserted.load(Ordering::Relaxed) as f64;
    Ok((
        upserted / elapsed,
        pct(0.5),
        pct(0.99),
        stats.batches.load(Ordering::Relaxed),
    ))
}

/// Start the real server on the bench database; returns it and its base URL.
async fn start_server(
    db_url: &str,
) -> anyhow::Result<(tokio::process::Child, String, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_flux-orchestrator"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db_url,
            "--resync-interval-secs",
            "0",
        ])
        .arg("--dev-secret-key-file")
        .arg(dir.path().join("key"))
        .env("FLUXO_LOG", "warn,flux_orchestrator::app=info")
        .env("FLUXO_ADMIN_TOKEN", BENCH_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow::anyhow!("server exited"))?;
        if let Some(at) = line.find("http://") {
            break line[at..].trim().to_string();
        }
    };
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("server: {line}");
            }
        }
    });
    Ok((child, base, dir))
}

/// (watch → committed row, watch → WebSocket frame) percentiles: p50, p95, p99, max, count.
async fn end_to_end_latency(
    db_url: &str,
    plan: &Plan,
    subscribers: usize,
) -> anyhow::Result<([f64; 5], [f64; 5])> {
    let sim = SimCluster::start(SimOptions {
        controller: false,
        ..SimOptions::named("bench")
    })
    .await?;
    let scenario = Scenario {
        objects_per_kind: 50,
        namespaces: 4,
        events: false,
        kinds: Some(vec!["Kustomization".into()]),
        ..Scenario::default()
    };
    scenario.populate(&sim)?;
    let keys = sim.objects().keys("Kustomization");
    let (_server, base, _dir) = start_server(db_url).await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {BENCH_TOKEN}").parse()?,
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    loop {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = json!({"name": format!("bench-{subscribers}"), "kubeconfig": sim.kubeconfig_yaml()});
    let r = http
        .post(format!("{base}/api/v1/clusters"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "register: {}", r.text().await?);

    let (client, mut conn) = tokio_postgres::connect(db_url, tokio_postgres::NoTls).await?;
    let (ntx, mut nrx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                let _ = ntx.send((
                    Instant::now(),
                    n.payload().parse::<i64>().unwrap_or(i64::MAX),
                ));
            }
        }
    });
    client.batch_execute("LISTEN flux_changes").await?;
    // Wait for the initial list to land.
    loop {
        let n: i64 = client
            .query_one("SELECT count(*) FROM flux_resources", &[])
            .await?
            .get(0);
        if n as usize >= keys.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    while nrx.try_recv().is_ok() {}
    let mut last_seq: i64 = client
        .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
        .await?
        .get(0);

    let total = (plan.rate * plan.seconds) as usize;
    let sent: Arc<std::sync::Mutex<HashMap<usize, Instant>>> = Default::default();
    let sent_ws: Arc<std::sync::Mutex<HashMap<usize, Instant>>> = Default::default();
    let frames: Arc<std::sync::Mutex<Vec<f64>>> = Default::default();
    for _ in 0..subscribers {
        subscriber(&base, sent_ws.clone(), frames.clone()).await?;
    }
    let driver = {
        let sent = sent.clone();
        let sent_ws = sent_ws.clone();
        let objects = sim.objects();
        let interval = Duration::from_secs_f64(1.0 / plan.rate);
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            for i in 0..total {
                tokio::time::sleep_until(start + interval * i as u32).await;
                let (ns, name) = &keys[i % keys.len()];
                let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "HealthCheckFailed",
                    "message": format!("bench-{i}"), "lastTransitionTime": "2026-11-26T10:00:00Z", "observedGeneration": 1}]}});
                let now = Instant::now();
                sent.lock().unwrap().insert(i, now);
                sent_ws.lock().unwrap().insert(i, now);
                let _ = objects.patch("Kustomization", ns, name, &patch);
            }
        })
    };
    let mut latencies = Vec::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs_f64(plan.seconds + 30.0);
    while latencies.len() < total && Instant::now() < deadline {
        let Ok(Some((at, upto))) = tokio::time::timeout(Duration::from_secs(5), nrx.recv()).await
        else {
            break;
        };
        let rows = client
            .query(
                // Only the rows this notification announced (seq ≤ its payload) get its time.
                "SELECT seq, message FROM resource_changes WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                &[&last_seq, &upto],
            )
            .await?;
        for row in rows {
            last_seq = row.get(0);
            let message: Option<String> = row.get(1);
            if let Some(i) = message
                .as_deref()
                .and_then(|m| m.strip_prefix("bench-"))
                .and_then(|n| n.parse::<usize>().ok())
                && let Some(t0) = sent.lock().unwrap().remove(&i)
            {
                latencies.push(at.duration_since(t0).as_secs_f64() * 1000.0);
            }
        }
    }
    driver.await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while frames.lock().unwrap().len() < latencies.len() * subscribers && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let frames = frames.lock().unwrap().clone();
    sim.shutdown().await;
    Ok((percentiles(latencies)?, percentiles(frames)?))
}

fn percentiles(mut v: Vec<f64>) -> anyhow::Result<[f64; 5]> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    anyhow::ensure!(n > 0, "no change arrived");
    let pct = |p: f64| v[((n as f64 * p) as usize).min(n - 1)];
    Ok([pct(0.5), pct(0.95), pct(0.99), v[n - 1], n as f64])
}

/// A WebSocket subscriber to the whole stream; records sim patch → frame latency per change
/// into `out` (shared by all subscribers).
async fn subscriber(
    base: &str,
    sent: Arc<std::sync::Mutex<HashMap<usize, Instant>>>,
    out: Arc<std::sync::Mutex<Vec<f64>>>,
) -> anyhow::Result<()> {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request =
        format!("{}/api/v1/stream", base.replacen("http://", "ws://", 1)).into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {BENCH_TOKEN}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    ws.send(Message::text(
        json!({"type": "subscribe", "filter": {}}).to_string(),
    ))
    .await?;
    tokio::spawn(async move {
        let mut seen = std::collections::HashSet::new();
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let at = Instant::now();
            let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            let bench = v["type"] == "change"
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("bench-"));
            if !bench {
                continue;
            }
            let i = v["message"]
                .as_str()
                .and_then(|m| m[6..].parse::<usize>().ok());
            let t0 = i
                .filter(|i| seen.insert(*i))
                .and_then(|i| sent.lock().unwrap().get(&i).copied());
            if let Some(t0) = t0 {
                out.lock()
                    .unwrap()
                    .push(at.duration_since(t0).as_secs_f64() * 1000.0);
            }
        }
    });
    Ok(())
}
