//! Live stream fan-out through the real server and PostgreSQL at `DATABASE_URL`: changes are
//! committed through the real write path (`Store::write_batch`, the test process acting as the
//! ingesting replica) and timed until each subscriber's WebSocket client has the frame.
//!
//! 1. `fanout`: 100 subscribers, 500 changes/s (batches of 5 every 10 ms).
//! 2. `crowd`: 5,000 subscribers, 10 changes/s each; server RSS per idle subscriber from
//!    `/proc/<pid>/status`.
//!
//! `DATABASE_URL=postgres://… cargo bench --bench stream_fanout`
//! Env: `STREAM_BENCH_SECS` (default 20), `STREAM_BENCH_ONLY` (`fanout` or `crowd`).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/stream_support/mod.rs"]
mod stream_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use stream_support::{Client, Env, kustomization, setup, upsert, write, ws_request};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// One scenario.
struct Run {
    name: &'static str,
    subscribers: usize,
    /// Changes per second, all delivered to every subscriber.
    rate: usize,
    /// Changes per write batch.
    batch: usize,
    secs: u64,
}

/// A committed batch: its seqs end at `last`.
struct Commit {
    last: i64,
    len: usize,
    started: Instant,
    done: Instant,
}

/// What a client reads of a frame (serde skips the rest without allocating).
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    seq: Option<i64>,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The server process: the bench's only child called flux-orchestrator.
fn server_pid() -> u32 {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .find(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
            stat.contains("(flux-orchestr") && after.split(' ').nth(1) == Some(me.as_str())
        })
        .and_then(|pid| pid.parse().ok())
        .expect("the server process")
}

/// User+system CPU seconds of a process (0 if it is gone).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Busy CPU seconds of the whole machine so far (all cores, from `/proc/stat`).
fn machine_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    let busy: f64 = cpu
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    busy / 100.0
}

/// CPU seconds so far of the server, of this process (the clients), and of the whole machine.
fn cpu_split(server: u32) -> [f64; 3] {
    [
        cpu_secs(&server.to_string()),
        cpu_secs("self"),
        machine_busy_secs(),
    ]
}

/// RSS of the server in KiB.
fn server_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Connect and subscribe `n` clients (200 at a time) with small client buffers.
async fn connect_all(env: &Env, n: usize) -> Vec<Client> {
    let gate = Arc::new(Semaphore::new(200));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (gate, url) = (gate.clone(), ws_request(&env.server));
            tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("semaphore");
                let config = WebSocketConfig::default()
                    .read_buffer_size(8 * 1024)
                    .write_buffer_size(0);
                let (ws, _) =
                    tokio_tungstenite::connect_async_with_config(url, Some(config), false)
                        .await
                        .expect("connect");
                let mut client = Client { ws };
                client.subscribe(None, json!({})).await;
                client
            })
        })
        .collect();
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|t| t.expect("client task"))
        .collect()
}

/// Read until the change `last` arrives (its seq comes through `until`); (seq, arrival) pairs.
async fn receive(mut client: Client, mut until: watch::Receiver<i64>) -> Vec<(i64, Instant)> {
    let mut got = Vec::new();
    loop {
        tokio::select! {
            m = tokio::time::timeout(Duration::from_secs(30), client.ws.next()) => {
                let Ok(Some(m)) = m else { return got };
                let Ok(Message::Text(text)) = m else { continue };
                let at = Instant::now();
                let frame: Frame = serde_json::from_str(text.as_str()).expect("a JSON frame");
                if let ("change", Some(seq)) = (frame.ty, frame.seq) {
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

/// Commit `run.rate` changes per second for `run.secs`.
async fn write_load(env: &Env, run: &Run) -> Vec<Commit> {
    let period = Duration::from_secs_f64(run.batch as f64 / run.rate as f64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let batches = (run.rate as u64 * run.secs) as usize / run.batch;
    let mut commits = Vec::with_capacity(batches);
    for b in 0..batches {
        tick.tick().await;
        let ops = (0..run.batch)
            .map(|i| {
                upsert(
                    env.cluster,
                    &kustomization("bench", &format!("k{i}"), b % 2 == 0, b as u64),
                )
            })
            .collect();
        let started = Instant::now();
        let last = write(&env.store, ops).await;
        commits.push(Commit {
            last,
            len: run.batch,
            started,
            done: Instant::now(),
        });
    }
    commits
}

/// Server figures around the measured window.
struct Usage {
    rss_before: u64,
    rss_idle: u64,
    rss_after: u64,
    cpu: [f64; 3],
    window: Duration,
}

async fn scenario(run: Run) {
    let env = setup(&[]).await;
    let pid = server_pid();
    let rss_before = server_rss(pid);
    let clients = connect_all(&env, run.subscribers).await;
    // Let connection set-up settle before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_idle, cpu_before, window) = (server_rss(pid), cpu_split(pid), Instant::now());
    let (last_tx, last_rx) = watch::channel(0i64);
    let readers: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(receive(c, last_rx.clone())))
        .collect();
    let commits = write_load(&env, &run).await;
    let _ = last_tx.send(commits.last().expect("commits").last);
    let received: Vec<Vec<(i64, Instant)>> = futures::future::join_all(readers)
        .await
        .into_iter()
        .map(|r| r.expect("reader"))
        .collect();
    let cpu_after = cpu_split(pid);
    let cpu = [0, 1, 2].map(|i| cpu_after[i] - cpu_before[i]);
    let usage = Usage {
        rss_before,
        rss_idle,
        rss_after: server_rss(pid),
        cpu,
        window: window.elapsed(),
    };
    report(&run, &commits, &received, &usage);
}

fn report(run: &Run, commits: &[Commit], received: &[Vec<(i64, Instant)>], u: &Usage) {
    let mut times: HashMap<i64, (Instant, Instant)> = HashMap::new();
    for c in commits {
        for seq in (c.last - c.len as i64 + 1)..=c.last {
            times.insert(seq, (c.started, c.done));
        }
    }
    let (mut from_start, mut from_commit) = (Vec::new(), Vec::new());
    for (seq, at) in received.iter().flatten() {
        if let Some((started, done)) = times.get(seq) {
            from_start.push(at.saturating_duration_since(*started));
            from_commit.push(at.saturating_duration_since(*done));
        }
    }
    from_start.sort();
    from_commit.sort();
    let mut writes: Vec<Duration> = commits.iter().map(|c| c.done - c.started).collect();
    writes.sort();
    let span = commits[commits.len() - 1].done - commits[0].started;
    let achieved = times.len() as f64 / span.as_secs_f64();
    let p = |v: &[Duration], q| ms(percentile(v, q));
    println!(
        "== {}: {} subscribers, {} changes/s for {} s",
        run.name, run.subscribers, run.rate, run.secs
    );
    let expected = times.len() * run.subscribers;
    println!(
        "   frames received {} of {expected}; changes committed at {achieved:.0}/s",
        from_commit.len()
    );
    println!(
        "   commit → frame: p50 {}  p99 {}  max {}   (write_batch start → frame: p50 {}  p99 {})",
        p(&from_commit, 0.5),
        p(&from_commit, 0.99),
        p(&from_commit, 1.0),
        p(&from_start, 0.5),
        p(&from_start, 0.99),
    );
    println!(
        "   write_batch: p50 {}  p99 {}",
        p(&writes, 0.5),
        p(&writes, 0.99)
    );
    let per_sub = (u.rss_idle as f64 - u.rss_before as f64) / run.subscribers as f64;
    println!(
        "   server RSS: {} KiB before, {} KiB with idle subscribers ({per_sub:.1} KiB each), {} KiB after the run",
        u.rss_before, u.rss_idle, u.rss_after
    );
    let (secs, cores) = (
        u.window.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    println!(
        "   CPU during the run ({secs:.1} s × {cores} cores = {:.0} s): server {:.1} s, bench clients {:.1} s, \
         whole machine {:.1} s",
        secs * cores as f64,
        u.cpu[0],
        u.cpu[1],
        u.cpu[2]
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let secs = std::env::var("STREAM_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let only = std::env::var("STREAM_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "fanout" {
        scenario(Run {
            name: "fanout",
            subscribers: 100,
            rate: 500,
            batch: 5,
            secs,
        })
        .await;
    }
    if only.is_empty() || only == "crowd" {
        scenario(Run {
            name: "crowd",
            subscribers: 5000,
            rate: 10,
            batch: 1,
            secs,
        })
        .await;
    }
}
