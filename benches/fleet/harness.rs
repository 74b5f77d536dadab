//! What the scenarios share: the result table, percentiles, `/proc` readings, simulated fleets
//! registered with the real server, and WebSocket subscribers that time marked changes.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use fluxo_sim::{Scenario, SimCluster, SimOptions};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::process::ServerProcess;

/// A goal a figure is held to.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// The figure must not exceed this.
    AtMost(f64),
    /// The figure must reach this.
    AtLeast(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtMost(g) => value <= g,
            Goal::AtLeast(g) => value >= g,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Goal::AtMost(g) => format!("≤ {} {unit}", number(g)),
            Goal::AtLeast(g) => format!("≥ {} {unit}", number(g)),
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub scenario: &'static str,
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub goal: Option<Goal>,
}

/// Every figure of a run, in the order measured, plus free-text notes per scenario.
#[derive(Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    pub notes: Vec<(&'static str, String)>,
    /// Broken invariants (they fail the run, whatever its size).
    pub violations: Vec<String>,
}

impl Report {
    /// Record a figure (and print it at once, so a long run shows progress).
    pub fn add(
        &mut self,
        scenario: &'static str,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        goal: Option<Goal>,
    ) {
        let figure = Figure {
            scenario,
            name: name.into(),
            value,
            unit,
            goal,
        };
        println!("  {:<58} {:>12} {}", figure.name, number(value), unit);
        self.figures.push(figure);
    }

    /// Record a percentile distribution as p50/p95/p99/max; the goals apply to p50 and p99.
    pub fn dist(
        &mut self,
        scenario: &'static str,
        what: &str,
        d: &Dist,
        p50_goal: Option<f64>,
        p99_goal: Option<f64>,
    ) {
        self.add(
            scenario,
            format!("{what} p50"),
            d.p50,
            "ms",
            p50_goal.map(Goal::AtMost),
        );
        self.add(scenario, format!("{what} p95"), d.p95, "ms", None);
        self.add(
            scenario,
            format!("{what} p99"),
            d.p99,
            "ms",
            p99_goal.map(Goal::AtMost),
        );
        self.add(scenario, format!("{what} max"), d.max, "ms", None);
    }

    /// Frames (or rows) delivered: a figure, and an invariant that every one arrived.
    pub fn delivered(
        &mut self,
        scenario: &'static str,
        what: &str,
        received: usize,
        expected: usize,
    ) {
        self.add(
            scenario,
            format!("{what} delivered"),
            received as f64,
            "frames",
            None,
        );
        self.check(
            scenario,
            received == expected,
            format!("{what}: {received} of {expected} arrived"),
        );
    }

    /// A line of context for the scenario (printed and kept in the JSON).
    pub fn note(&mut self, scenario: &'static str, text: impl Into<String>) {
        let text = text.into();
        println!("  · {text}");
        self.notes.push((scenario, text));
    }

    /// An invariant that holds at any size: a lost frame, a row written by an unchanged
    /// relist. A broken one fails the run.
    pub fn check(&mut self, scenario: &'static str, holds: bool, what: impl Into<String>) {
        if !holds {
            let what = what.into();
            println!("  ✗ {what}");
            self.violations.push(format!("{scenario}: {what}"));
        }
    }

    /// The table: every figure, its goal and whether it met it.
    pub fn print_table(&self) {
        println!(
            "\n{:<11} {:<58} {:>12} {:<6} {:<14} verdict",
            "scenario", "figure", "value", "unit", "goal"
        );
        for f in &self.figures {
            let (goal, verdict) = match f.goal {
                Some(g) if g.met(f.value) => (g.text(f.unit), "met"),
                Some(g) => (g.text(f.unit), "MISSED"),
                None => (String::new(), ""),
            };
            println!(
                "{:<11} {:<58} {:>12} {:<6} {:<14} {verdict}",
                f.scenario,
                f.name,
                number(f.value),
                f.unit,
                goal
            );
        }
    }

    /// Goals missed.
    pub fn missed(&self) -> Vec<&Figure> {
        self.figures
            .iter()
            .filter(|f| f.goal.is_some_and(|g| !g.met(f.value)))
            .collect()
    }

    /// The run as JSON.
    pub fn json(&self, machine: Value, quick: bool) -> Value {
        let figures: Vec<Value> = self
            .figures
            .iter()
            .map(|f| {
                json!({
                    "scenario": f.scenario,
                    "figure": f.name,
                    "value": f.value,
                    "unit": f.unit,
                    "goal": f.goal.map(|g| g.text(f.unit)),
                    "met": f.goal.map(|g| g.met(f.value)),
                })
            })
            .collect();
        let notes: Vec<Value> = self
            .notes
            .iter()
            .map(|(s, t)| json!({"scenario": s, "note": t}))
            .collect();
        json!({"quick": quick, "machine": machine, "figures": figures, "notes": notes})
    }
}

/// A number for people: no decimals from 100 up, one below.
pub fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        let s = format!("{:.0}", v);
        // Thousands separators.
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        // Three significant digits.
        let decimals = (2.0 - v.abs().log10().floor()).clamp(3.0, 12.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// p50, p95, p99 and max of latencies in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dist {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Dist {
    /// Nearest-rank percentiles; `None` without samples.
    pub fn of(mut v: Vec<f64>) -> Option<Dist> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let pct = |q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Dist {
            p50: pct(0.5),
            p95: pct(0.95),
            p99: pct(0.99),
            max: v[n - 1],
        })
    }
}

/// Milliseconds between two instants.
pub fn ms(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1000.0
}

// ---- /proc -------------------------------------------------------------------------------

fn stat_fields(pid: &str) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(") ")?;
    let comm = head.split_once(" (")?.1.to_string();
    Some((comm, rest.split(' ').map(str::to_string).collect()))
}

/// User + system CPU seconds of a process (`self` for this one); 0 when it is gone.
pub fn cpu_secs(pid: &str) -> f64 {
    let Some((_, fields)) = stat_fields(pid) else {
        return 0.0;
    };
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / 100.0
}

/// CPU seconds of every `postgres` process on the machine (the bench's private server).
pub fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| stat_fields(p).is_some_and(|(comm, _)| comm == "postgres"))
        .map(|p| cpu_secs(&p))
        .sum()
}

/// Resident memory of a process in KiB (`VmRSS`, or `VmHWM` for the peak so far).
pub fn mem_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples a process's RSS every 20 ms until stopped; returns the peak in KiB.
pub struct RssPeak {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<u64>,
}

impl RssPeak {
    pub fn start(pid: u32) -> RssPeak {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            while !token.is_cancelled() {
                peak = peak.max(mem_kib(pid, "VmRSS"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        });
        RssPeak { stop, task }
    }

    pub async fn stop(self) -> u64 {
        self.stop.cancel();
        self.task.await.unwrap_or(0)
    }
}

/// The machine, for the JSON and the docs.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "cpu": model,
        "memory_gib": (mem_kib as f64 / 1024.0 / 1024.0).round(),
        "load_average_at_start": load.split(' ').take(3).collect::<Vec<_>>().join(" "),
        "date": chrono::Utc::now().to_rfc3339(),
    })
}

// ---- the server and simulated fleets ---------------------------------------------------

/// Server flags for benchmark runs: no periodic backstop (scenarios trigger it themselves),
/// connection caps above the 5,000 subscribers of the fan-out scenario, which all connect from
/// 127.0.0.1, and no per-credential stream cap (32 by default): every subscriber of a scenario
/// uses the one admin token, where real browsers would each have their own session.
pub const SERVER_ARGS: &[&str] = &[
    // Workloads off, so that scenarios 1-8 measure what they always did (their sims have none,
    // but each kind's two empty watches would add LISTs); scenario 9 turns them on by naming
    // the kinds again (the option appends).
    "--workload-kinds",
    "",
    "--resync-interval-secs",
    "0",
    "--stream-max-per-principal",
    "0",
    "--max-connections",
    "20000",
    "--max-connections-per-ip",
    "20000",
];

/// Quiet logs: only what the harness waits for, warnings and errors.
pub const SERVER_LOG: (&str, &str) = (
    "FLUXO_LOG",
    "warn,flux_orchestrator::app=info,flux_orchestrator::live::listener=info",
);

/// A size from the environment (`FLEET_…`), or `default` when unset or unparsable.
pub fn env<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Milliseconds and body of one GET that must answer 200.
pub async fn timed(server: &ServerProcess, path: &str) -> anyhow::Result<(f64, Value)> {
    let t = Instant::now();
    let r = server.http().get(server.url(path)).send().await?;
    anyhow::ensure!(r.status() == 200, "{path}: {}", r.status());
    let body: Value = r.json().await?;
    Ok((t.elapsed().as_secs_f64() * 1000.0, body))
}

/// Start the real server on `db_url`, ready.
pub async fn server(db_url: &str, args: &[&str]) -> ServerProcess {
    let all: Vec<&str> = SERVER_ARGS.iter().chain(args).copied().collect();
    let server = ServerProcess::start(db_url, &all, &[SERVER_LOG], None).await;
    server.wait_ready().await;
    server
}

/// A simulated fleet: clusters named `{prefix}-{i}`, each populated with `per_kind` objects of
/// every Flux kind (or only `kinds`) over `namespaces` namespaces.
pub struct Fleet {
    pub sims: Vec<SimCluster>,
    /// Flux objects created on all clusters together.
    pub objects: usize,
    /// Workloads created on all clusters together.
    pub workloads: usize,
}

/// Shape of a simulated fleet.
pub struct FleetSpec<'a> {
    pub prefix: &'a str,
    pub clusters: usize,
    pub per_kind: usize,
    pub namespaces: usize,
    pub kinds: Option<Vec<String>>,
    /// Warning Events of failing objects.
    pub events: bool,
    /// Workloads (Deployments, Services, … with Flux's ownership labels) per cluster.
    pub workloads: usize,
}

impl Fleet {
    pub async fn start(spec: FleetSpec<'_>) -> anyhow::Result<Fleet> {
        let mut sims = Vec::with_capacity(spec.clusters);
        let (mut objects, mut workloads) = (0, 0);
        for i in 0..spec.clusters {
            let sim = SimCluster::start(SimOptions {
                controller: false,
                seed: i as u64 + 1,
                ..SimOptions::named(format!("{}-{i:02}", spec.prefix))
            })
            .await?;
            let report = Scenario {
                objects_per_kind: spec.per_kind,
                namespaces: spec.namespaces,
                seed: i as u64 + 1,
                kinds: spec.kinds.clone(),
                events: spec.events,
                // The mix of every published run, spelled out so a change of the
                // simulator's defaults does not change the workload.
                failure_ratio: 0.08,
                progressing_ratio: 0.04,
                suspended_ratio: 0.03,
                workloads: spec.workloads,
                ..Scenario::default()
            }
            .populate(&sim)?;
            objects += report.objects;
            workloads += report.workloads;
            sims.push(sim);
        }
        Ok(Fleet {
            sims,
            objects,
            workloads,
        })
    }

    /// Flux kinds served (the same on every cluster).
    pub fn kinds(&self) -> Vec<&'static str> {
        self.sims[0]
            .objects()
            .kinds()
            .into_iter()
            .map(|(_, k)| k)
            .filter(|k| !matches!(*k, "Namespace" | "Event"))
            .collect()
    }

    /// Register every cluster with the server (16 requests in flight); cluster ids in order.
    pub async fn register(&self, server: &ServerProcess) -> anyhow::Result<Vec<Uuid>> {
        let http = server.http();
        let requests = self.sims.iter().map(|sim| {
            let (http, url) = (http.clone(), server.url("/api/v1/clusters"));
            let body = json!({"name": sim.name(), "kubeconfig": sim.kubeconfig_yaml()});
            async move {
                let r = http.post(url).json(&body).send().await?;
                anyhow::ensure!(r.status() == 201, "register: {}", r.text().await?);
                let v: Value = r.json().await?;
                Ok(v["id"].as_str().unwrap_or_default().parse::<Uuid>()?)
            }
        });
        let ids: anyhow::Result<Vec<Uuid>> = futures::stream::iter(requests)
            .buffered(16)
            .collect::<Vec<anyhow::Result<Uuid>>>()
            .await
            .into_iter()
            .collect();
        ids.map_err(|e| {
            let logs = server.logs();
            let tail: Vec<&str> = logs.lines().rev().take(20).collect();
            e.context(format!(
                "server log, last lines first:\n{}",
                tail.join("\n")
            ))
        })
    }

    pub async fn shutdown(self) {
        for sim in self.sims {
            sim.shutdown().await;
        }
    }
}

/// A connection to the bench database.
pub async fn db(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// Poll `check` every 50 ms until it yields; fail after `timeout`.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        anyhow::ensure!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ask every cluster in `ids` for a backstop relist and wait until each reports it done
/// (`last_resync_at` after the request).
pub async fn relist_all(
    server: &ServerProcess,
    db: &tokio_postgres::Client,
    ids: &[Uuid],
    timeout: Duration,
) -> anyhow::Result<()> {
    let since: chrono::DateTime<chrono::Utc> = db.query_one("SELECT now()", &[]).await?.get(0);
    let http = server.http();
    let posts = ids.iter().map(|id| {
        let (http, url) = (
            http.clone(),
            server.url(&format!("/api/v1/clusters/{id}/sync")),
        );
        async move {
            let r = http.post(url).send().await?;
            anyhow::ensure!(r.status().is_success(), "sync: {}", r.status());
            anyhow::Ok(())
        }
    });
    futures::future::try_join_all(posts).await?;
    let n = ids.len() as i64;
    until("every relist done", timeout, || async {
        let done: i64 = db
            .query_one(
                "SELECT count(*) FROM cluster_status WHERE last_resync_at >= $1",
                &[&since],
            )
            .await?
            .get(0);
        Ok((done == n).then_some(()))
    })
    .await
}

/// Rows in `flux_resources`.
pub async fn resource_rows(db: &tokio_postgres::Client) -> anyhow::Result<i64> {
    Ok(db
        .query_one("SELECT count(*) FROM flux_resources", &[])
        .await?
        .get(0))
}

/// Clusters whose status is `ready` with every served kind watching.
pub async fn clusters_watching(db: &tokio_postgres::Client) -> anyhow::Result<i64> {
    Ok(db
        .query_one(
            "SELECT count(*) FROM cluster_status WHERE state = 'ready' AND NOT EXISTS (
                 SELECT 1 FROM jsonb_each(kinds) k
                 WHERE k.value->>'state' NOT IN ('watching', 'absent'))",
            &[],
        )
        .await?
        .get(0))
}

// ---- marked changes and their subscribers -----------------------------------------------

/// When each marked change `i` was made in a simulator.
pub struct Marks(Vec<OnceLock<Instant>>);

impl Marks {
    pub fn new(n: usize) -> Arc<Marks> {
        Arc::new(Marks((0..n).map(|_| OnceLock::new()).collect()))
    }

    pub fn set(&self, i: usize) {
        if let Some(slot) = self.0.get(i) {
            let _ = slot.set(Instant::now());
        }
    }

    pub fn get(&self, i: usize) -> Option<Instant> {
        self.0.get(i)?.get().copied()
    }
}

/// A merge patch that makes change `i`: the Ready condition's message becomes `bench-{i}`.
pub fn mark_patch(i: usize) -> Value {
    mark_patch_as(i, i.is_multiple_of(2))
}

/// [`mark_patch`] with the health chosen: Ready `True`, or `False` (the object fails).
pub fn mark_patch_as(i: usize, ready: bool) -> Value {
    json!({"status": {"conditions": [{
        "type": "Ready",
        "status": if ready { "True" } else { "False" },
        "reason": if ready { "ReconciliationSucceeded" } else { "HealthCheckFailed" },
        "message": format!("bench-{i}"),
        "lastTransitionTime": "2026-11-26T10:00:00Z",
        "observedGeneration": 1,
    }]}})
}

/// Objects of `kind` whose health a marked patch decides: not suspended, and observed at their
/// generation (a suspended or unobserved object keeps its own message whatever Ready says).
pub fn markable(sim: &SimCluster, kind: &str) -> Vec<(String, String)> {
    sim.objects()
        .list(kind, None)
        .into_iter()
        .filter(|o| o["spec"]["suspend"] != json!(true))
        .filter(|o| {
            let generation = o["metadata"]["generation"].as_i64().unwrap_or(0);
            o["status"]["observedGeneration"]
                .as_i64()
                .is_none_or(|g| g >= generation)
        })
        .filter_map(|o| {
            Some((
                o["metadata"]["namespace"].as_str()?.to_string(),
                o["metadata"]["name"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The change number in a `bench-{i}` message.
pub fn mark_of(message: &str) -> Option<usize> {
    message.strip_prefix("bench-")?.parse().ok()
}

/// Make `total` marked changes at `rate` per second, round-robin over `targets`
/// (sim index, kind, namespace, name).
pub async fn drive(
    fleet: &Fleet,
    targets: &[(usize, &'static str, String, String)],
    marks: &Marks,
    first: usize,
    total: usize,
    rate: f64,
) {
    let start = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let objects: Vec<_> = fleet.sims.iter().map(|s| s.objects()).collect();
    for n in 0..total {
        tokio::time::sleep_until(start + interval.mul_f64(n as f64)).await;
        let i = first + n;
        let (sim, kind, ns, name) = &targets[i % targets.len()];
        marks.set(i);
        let _ = objects[*sim].patch(kind, ns, name, &mark_patch(i));
    }
}

/// What a subscriber reads of a frame (the rest is skipped without allocating).
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

/// WebSocket subscribers to the whole stream, each timing marked changes (first delivery of a
/// mark counts; replays after a resubscribe would not).
pub struct Subscribers {
    pub received: Arc<AtomicUsize>,
    /// `resync` frames received: the server ended that subscription (a slow consumer), and
    /// the harness does not subscribe again, so its later frames are missing.
    pub resyncs: Arc<AtomicUsize>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<Vec<f64>>>,
}

impl Subscribers {
    /// Connect `n` subscribers (64 handshakes in flight) and wait for each `subscribed`.
    pub async fn connect(
        server: &ServerProcess,
        n: usize,
        marks: Arc<Marks>,
    ) -> anyhow::Result<Self> {
        let url = format!(
            "{}/api/v1/stream",
            server.base.replacen("http://", "ws://", 1)
        );
        let token = server.token().to_string();
        let received = Arc::new(AtomicUsize::new(0));
        let resyncs = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let connects = (0..n).map(|_| {
            let (url, token) = (url.clone(), token.clone());
            async move {
                let mut request = url.into_client_request()?;
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse()?);
                let config = WebSocketConfig::default()
                    .read_buffer_size(16 * 1024)
                    .write_buffer_size(0);
                let (mut ws, _) =
                    tokio_tungstenite::connect_async_with_config(request, Some(config), false)
                        .await?;
                ws.send(Message::text(
                    json!({"type": "subscribe", "filter": {}}).to_string(),
                ))
                .await?;
                loop {
                    let m = tokio::time::timeout(Duration::from_secs(20), ws.next())
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("stream closed before subscribed"))??;
                    if let Message::Text(t) = m
                        && t.as_str().contains("\"subscribed\"")
                    {
                        return anyhow::Ok(ws);
                    }
                }
            }
        });
        let sockets: Vec<_> = futures::stream::iter(connects)
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<_>>()?;
        let tasks = sockets
            .into_iter()
            .map(|mut ws| {
                let (marks, received, stop) = (marks.clone(), received.clone(), stop.clone());
                let resynced = resyncs.clone();
                tokio::spawn(async move {
                    let mut seen = vec![false; marks.0.len()];
                    let mut out = Vec::new();
                    loop {
                        let m = tokio::select! {
                            m = ws.next() => m,
                            _ = stop.cancelled() => break,
                        };
                        let Some(Ok(Message::Text(text))) = m else {
                            break;
                        };
                        let at = Instant::now();
                        let Ok(frame) = serde_json::from_str::<Frame>(text.as_str()) else {
                            continue;
                        };
                        if frame.ty == "resync" {
                            resynced.fetch_add(1, Ordering::Relaxed);
                        }
                        let Some(i) = frame
                            .message
                            .as_deref()
                            .filter(|_| frame.ty == "change")
                            .and_then(mark_of)
                        else {
                            continue;
                        };
                        if let (Some(slot), Some(t0)) = (seen.get_mut(i), marks.get(i))
                            && !*slot
                        {
                            *slot = true;
                            out.push(ms(t0, at));
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    out
                })
            })
            .collect();
        Ok(Subscribers {
            received,
            resyncs,
            stop,
            tasks,
        })
    }

    /// Wait until `expected` frames arrived (or `grace` passed), close, return the latencies.
    pub async fn finish(self, expected: usize, grace: Duration) -> Vec<f64> {
        let deadline = Instant::now() + grace;
        while self.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop.cancel();
        let mut all = Vec::with_capacity(expected);
        for t in self.tasks {
            all.extend(t.await.unwrap_or_default());
        }
        all
    }
}

/// Times marked changes from their simulator patch to the commit of their row: follows
/// `NOTIFY flux_changes` on a database and reads the change log rows each notification
/// announced (`seq` ≤ its payload), so each row gets the time its commit was announced.
pub struct RowWatch {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<(usize, f64)>>>,
    pub received: Arc<AtomicUsize>,
}

impl RowWatch {
    pub async fn start(url: &str, marks: Arc<Marks>) -> anyhow::Result<RowWatch> {
        let (client, mut conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(Ok(m)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = m {
                    let _ = tx.send((Instant::now(), n.payload().parse::<i64>().unwrap_or(0)));
                }
            }
        });
        client.batch_execute("LISTEN flux_changes").await?;
        let mut last: i64 = client
            .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
            .await?
            .get(0);
        let stop = CancellationToken::new();
        let received = Arc::new(AtomicUsize::new(0));
        let (token, count) = (stop.clone(), received.clone());
        let task = tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let (at, upto) = tokio::select! {
                    n = rx.recv() => match n { Some(n) => n, None => break },
                    _ = token.cancelled() => break,
                };
                if upto <= last {
                    continue;
                }
                let rows = client
                    .query(
                        "SELECT seq, message FROM resource_changes WHERE seq > $1 AND seq <= $2",
                        &[&last, &upto],
                    )
                    .await?;
                last = upto;
                for row in rows {
                    let message: Option<String> = row.get(1);
                    if let Some(i) = message.as_deref().and_then(mark_of)
                        && let Some(t0) = marks.get(i)
                    {
                        out.push((i, ms(t0, at)));
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(out)
        });
        Ok(RowWatch {
            stop,
            task,
            received,
        })
    }

    /// Wait until `expected` marked rows arrived (or `grace` passed); (mark, latency ms) pairs.
    pub async fn finish(
        self,
        expected: usize,
        grace: Duration,
    ) -> anyhow::Result<Vec<(usize, f64)>> {
        let deadline = Instant::now() + grace;
        while self.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop.cancel();
        self.task.await?
    }
}
