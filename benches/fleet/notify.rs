//! Scenario 10: notification rules over the fleet (issue #19). One fleet, the same kind of
//! changes twice: first without rules, then with 100 rules whose sink is a local webhook
//! receiver on 127.0.0.1, without grouping window (`groupWindowSecs` 0, which the API allows).
//! Each phase measures the stream (sim → frame, as scenario 1), sim → commit of the change's
//! row, and the ingest rate of a burst (every change patched at once; changes committed per
//! second until the last one's row is announced). With rules it adds change → delivered: from
//! the moment the simulator applied the patch (the change's time) to the receiver's arrival.
//! Each object alternates failed and ready; between the phases every failed one is made ready,
//! so the second phase's changes are failures the rules see (and the probe notifies).
//!
//! The rules are realistic: conditions of every object kind (`failed`, `stalled`,
//! `stillFailed`, `recovered`), cluster label selectors, kinds, namespaces and name prefixes,
//! most covering no given change. One of them, `probe`, covers every Kustomization: the
//! invariant is that each of its fires and resolves arrives once.
//!
//! Sizes: `FLEET_NOTIFY_CLUSTERS`, `FLEET_NOTIFY_PER_KIND` (objects per kind and cluster, three
//! kinds), `FLEET_NOTIFY_RATE` (changes/s), `FLEET_NOTIFY_SECS` (per phase) and
//! `FLEET_NOTIFY_BURST` (changes per burst, at most one per object).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flux_orchestrator::notify::RuleFilter;
use flux_orchestrator::notify::eval::{ClusterInfo, ObjectRef};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::harness::{self, Dist, Fleet, FleetSpec, Marks, Report, RowWatch, Subscribers};
use crate::support::db::TestDb;
use crate::support::process::ServerProcess;

const SCENARIO: &str = "10 notify";
const KINDS: [&str; 3] = ["Kustomization", "HelmRelease", "GitRepository"];
/// The rule whose every message is expected (it covers every Kustomization).
const PROBE: &str = "probe";

/// How big a run is.
struct Size {
    clusters: usize,
    per_kind: usize,
    rate: f64,
    seconds: f64,
    subscribers: usize,
    burst: usize,
}

fn size(quick: bool) -> Size {
    let env = harness::env::<usize>;
    let (clusters, per_kind, rate, seconds, burst) = if quick {
        (2, 40, 100, 2, 200)
    } else {
        (4, 500, 500, 20, 3_000)
    };
    Size {
        clusters: env("FLEET_NOTIFY_CLUSTERS", clusters),
        per_kind: env("FLEET_NOTIFY_PER_KIND", per_kind),
        rate: env("FLEET_NOTIFY_RATE", rate) as f64,
        seconds: env("FLEET_NOTIFY_SECS", seconds) as f64,
        subscribers: if quick { 5 } else { 10 },
        burst: env("FLEET_NOTIFY_BURST", burst),
    }
}

/// A changeable object: its cluster (sim index), kind, namespace and name.
type Target = (usize, &'static str, String, String);

/// Cluster `i`'s labels: `env` prod or staging, `region` eu or us.
fn labels(i: usize) -> BTreeMap<String, String> {
    let env = if i.is_multiple_of(2) {
        "prod"
    } else {
        "staging"
    };
    let region = if (i / 2).is_multiple_of(2) {
        "eu"
    } else {
        "us"
    };
    [("env", env), ("region", region)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A rule to create: name, condition, `afterMinutes`, filter.
struct RuleSpec {
    name: String,
    condition: &'static str,
    after_minutes: Option<i32>,
    filter: RuleFilter,
}

/// The 100 rules: `probe` and 99 of mixed conditions and filters, most of which cover few or
/// none of the changes (labels no cluster has, namespaces that do not exist, narrow prefixes).
fn rules() -> Vec<RuleSpec> {
    let probe = RuleSpec {
        name: PROBE.into(),
        condition: "failed",
        after_minutes: None,
        filter: RuleFilter {
            kinds: vec!["Kustomization".into()],
            ..RuleFilter::default()
        },
    };
    let one = |k: &str, v: String| BTreeMap::from([(k.to_string(), v)]);
    let others = (1..100).map(|i| {
        let (condition, after_minutes) = match i % 4 {
            0 => ("failed", None),
            1 => ("stalled", None),
            2 => ("stillFailed", Some(30)),
            _ => ("recovered", None),
        };
        let cluster_labels = match i % 5 {
            0 => one("env", "prod".into()),
            1 => [("env", "staging"), ("region", "eu")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            2 => one("team", format!("team-{i}")),
            3 => BTreeMap::new(),
            _ => one("region", "ap".into()),
        };
        let kinds: &[&str] = match i % 3 {
            0 => &["Kustomization"],
            1 => &["HelmRelease"],
            _ => &["GitRepository", "HelmRelease"],
        };
        let namespaces = match i % 7 {
            0 | 1 => vec![],
            6 => vec![format!("team-{i}")],
            n => vec![fluxo_sim::scenario::namespace_name(n - 2)],
        };
        let name_prefix = match i % 6 {
            3 => "app-1".to_string(),
            4 => format!("release-{}", i % 10),
            5 => "svc-".to_string(),
            _ => String::new(),
        };
        RuleSpec {
            name: format!("rule-{i:02}-{condition}").to_lowercase(),
            condition,
            after_minutes,
            filter: RuleFilter {
                clusters: vec![],
                cluster_labels,
                kinds: kinds.iter().map(|k| k.to_string()).collect(),
                namespaces,
                name_prefix,
            },
        }
    });
    std::iter::once(probe).chain(others).collect()
}

/// Each change as the simulator made it: target index and whether it fails the object.
type Made = Vec<(usize, bool)>;

/// The probe's messages the changes `made` cause (a fire when a Kustomization fails, a resolve
/// when it is ready again after one), given whether each target is failed (`failed`) and
/// notified (`firing`); both are updated. `notify`: the rules exist.
fn expect_probe(
    targets: &[Target],
    made: &Made,
    failed: &mut [bool],
    firing: &mut [bool],
    notify: bool,
) -> usize {
    let mut expected = 0;
    for &(t, fails) in made {
        let probe = notify && targets[t].1 == "Kustomization";
        if probe && fails && !failed[t] && !firing[t] {
            firing[t] = true;
            expected += 1;
        } else if probe && !fails && firing[t] {
            firing[t] = false;
            expected += 1;
        }
        failed[t] = fails;
    }
    expected
}

/// Change the objects `picks` (indices into `targets`), numbered from `first`, each object
/// alternating failed and ready; `rate` per second, or all at once.
async fn drive(
    fleet: &Fleet,
    targets: &[Target],
    hits: &mut [u32],
    marks: &Marks,
    (first, picks): (usize, &[usize]),
    rate: Option<f64>,
) -> Made {
    let start = tokio::time::Instant::now();
    let objects: Vec<_> = fleet.sims.iter().map(|s| s.objects()).collect();
    let mut made = Vec::with_capacity(picks.len());
    for (n, &t) in picks.iter().enumerate() {
        match rate {
            Some(r) => {
                tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / r)).await
            }
            None if n % 100 == 0 => tokio::task::yield_now().await,
            None => {}
        }
        let i = first + n;
        hits[t] += 1;
        let fails = hits[t] % 2 == 1;
        let (sim, kind, ns, name) = &targets[t];
        marks.set(i);
        let _ = objects[*sim].patch(kind, ns, name, &harness::mark_patch_as(i, !fails));
        made.push((t, fails));
    }
    made
}

/// Objects whose health a marked patch decides and that are not failed now (so a target's
/// first change is a failure), interleaved over clusters and kinds.
fn targets(fleet: &Fleet, per_kind: usize) -> Vec<Target> {
    let keys: Vec<Vec<Vec<(String, String)>>> = fleet
        .sims
        .iter()
        .map(|s| {
            KINDS
                .iter()
                .map(|k| {
                    let failed: HashSet<(String, String)> = s
                        .objects()
                        .list(k, None)
                        .into_iter()
                        .filter(|o| o["status"]["conditions"][0]["status"] == json!("False"))
                        .filter_map(|o| {
                            let m = &o["metadata"];
                            Some((m["namespace"].as_str()?.into(), m["name"].as_str()?.into()))
                        })
                        .collect();
                    let mut ok = harness::markable(s, k);
                    ok.retain(|o| !failed.contains(o));
                    ok
                })
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for j in 0..per_kind {
        for (k, kind) in KINDS.iter().enumerate() {
            for (c, per_cluster) in keys.iter().enumerate() {
                if let Some((ns, name)) = per_cluster[k].get(j) {
                    out.push((c, *kind, ns.clone(), name.clone()));
                }
            }
        }
    }
    out
}

/// How many rules cover a change of each target, on average, and the share of targets no
/// rule but the probe covers.
fn coverage(specs: &[RuleSpec], clusters: &[ClusterInfo], targets: &[Target]) -> (f64, f64) {
    let mut total = 0;
    let mut only_probe = 0;
    for (c, kind, ns, name) in targets {
        let object = ObjectRef {
            kind,
            namespace: ns,
            name,
        };
        let n = specs
            .iter()
            .filter(|r| r.name != PROBE && r.filter.matches(&clusters[*c], Some(object)))
            .count();
        total += n;
        only_probe += usize::from(n == 0);
    }
    let n = targets.len().max(1) as f64;
    (total as f64 / n, only_probe as f64 / n)
}

/// A message's arrival at the receiver: rule, change number, when.
type Arrivals = Arc<Mutex<Vec<(String, usize, Instant)>>>;

fn lock(a: &Arrivals) -> std::sync::MutexGuard<'_, Vec<(String, usize, Instant)>> {
    // Only pushes and reads under the lock: a poisoned one is still consistent.
    a.lock().unwrap_or_else(|p| p.into_inner())
}

/// Record each item of a webhook message (`rule`, `items[].message` = `bench-{i}`).
fn record(arrivals: &Arrivals, body: &[u8], at: Instant) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let rule = v["rule"].as_str().unwrap_or_default().to_string();
    let marks = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| harness::mark_of(i["message"].as_str()?));
    let mut got = lock(arrivals);
    for m in marks {
        got.push((rule.clone(), m, at));
    }
}

/// A webhook receiver on 127.0.0.1 answering 200; its base URL and what arrived.
async fn receiver() -> anyhow::Result<(String, Arrivals)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let arrivals: Arrivals = Arc::default();
    let got = arrivals.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let got = got.clone();
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let got = got.clone();
                async move {
                    let at = Instant::now();
                    let body = req.into_body().collect().await.map(|b| b.to_bytes());
                    record(&got, &body.unwrap_or_default(), at);
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    Ok((base, arrivals))
}

async fn api(
    server: &ServerProcess,
    method: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let r = server
        .http()
        .request(method, server.url(path))
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
    Ok(v)
}

/// The webhook sink and the rules; returns how many rules were made.
async fn create_rules(
    server: &ServerProcess,
    hook: &str,
    specs: &[RuleSpec],
) -> anyhow::Result<()> {
    let sink = api(
        server,
        "POST",
        "/api/v1/notifications/sinks",
        json!({"name": "bench-hook", "kind": "webhook", "url": format!("{hook}/hook"),
               "secret": "bench-secret-0123456789", "allowInsecure": true}),
    )
    .await?;
    for r in specs {
        let mut body = json!({"name": r.name, "sinkId": sink["id"], "condition": r.condition,
                              "filter": r.filter, "groupWindowSecs": 0});
        if let Some(m) = r.after_minutes {
            body["afterMinutes"] = json!(m);
        }
        api(server, "POST", "/api/v1/notifications/rules", body).await?;
    }
    Ok(())
}

/// What one phase measured.
struct Phase {
    frames: Vec<f64>,
    frames_expected: usize,
    /// Subscribers the server told to resync (they miss the rest of the phase).
    resyncs: usize,
    commits: Vec<f64>,
    paced: Made,
    burst: Made,
    burst_rate: f64,
    server_cpu: f64,
}

/// Shared state of the run: the fleet, the server, the marks and each target's hits.
struct Run<'a> {
    fleet: &'a Fleet,
    server: &'a ServerProcess,
    db_url: String,
    targets: Vec<Target>,
    hits: Vec<u32>,
    marks: Arc<Marks>,
    /// The next change's number (its mark).
    next: usize,
    /// The next target to change, round-robin.
    cursor: usize,
    size: Size,
}

impl Run<'_> {
    /// The next `n` targets, round-robin.
    fn picks(&mut self, n: usize) -> Vec<usize> {
        let len = self.targets.len();
        let picks = (self.cursor..self.cursor + n).map(|t| t % len).collect();
        self.cursor = (self.cursor + n) % len;
        picks
    }

    /// Change `picks` at `rate` (or all at once), numbered from `next`.
    async fn changes(&mut self, picks: &[usize], rate: Option<f64>) -> Made {
        let range = (self.next, picks);
        let made = drive(
            self.fleet,
            &self.targets,
            &mut self.hits,
            &self.marks,
            range,
            rate,
        );
        let made = made.await;
        self.next += picks.len();
        made
    }

    /// Make every failed target ready again, at once, and wait for the rows: the next phase
    /// starts from the first target with every object ready, so each of its changes fails an
    /// object (and the rules see failures to notify).
    async fn reset(&mut self) -> anyhow::Result<Made> {
        let failed: Vec<usize> = (0..self.targets.len())
            .filter(|t| self.hits[*t] % 2 == 1)
            .collect();
        let rows = RowWatch::start(&self.db_url, self.marks.clone()).await?;
        let made = self.changes(&failed, None).await;
        let landed = rows.finish(failed.len(), Duration::from_secs(60)).await?;
        anyhow::ensure!(
            landed.len() == failed.len(),
            "reset: {} of {} rows",
            landed.len(),
            failed.len()
        );
        self.cursor = 0;
        Ok(made)
    }

    /// Paced changes (stream subscribers and row watch timing them), then a burst.
    async fn phase(&mut self) -> anyhow::Result<Phase> {
        let pid = self.server.pid().to_string();
        let cpu0 = harness::cpu_secs(&pid);
        let total = (self.size.rate * self.size.seconds) as usize;
        let subs =
            Subscribers::connect(self.server, self.size.subscribers, self.marks.clone()).await?;
        let rows = RowWatch::start(&self.db_url, self.marks.clone()).await?;
        let picks = self.picks(total);
        let paced = self.changes(&picks, Some(self.size.rate)).await;
        let frames_expected = total * self.size.subscribers;
        let resyncs = subs.resyncs.clone();
        let frames = subs.finish(frames_expected, Duration::from_secs(20)).await;
        let resyncs = resyncs.load(std::sync::atomic::Ordering::Relaxed);
        let commits = rows.finish(total, Duration::from_secs(20)).await?;
        let burst_n = self.size.burst.min(self.targets.len());
        let rows = RowWatch::start(&self.db_url, self.marks.clone()).await?;
        let picks = self.picks(burst_n);
        let burst = self.changes(&picks, None).await;
        let landed = rows.finish(burst_n, Duration::from_secs(60)).await?;
        let span = landed.iter().map(|(_, ms)| *ms).fold(0.0, f64::max) / 1000.0;
        let n = landed.len();
        anyhow::ensure!(n == burst_n, "burst: {n} of {burst_n} rows");
        Ok(Phase {
            frames,
            frames_expected,
            resyncs,
            commits: commits.into_iter().map(|(_, ms)| ms).collect(),
            paced,
            burst,
            burst_rate: burst_n as f64 / span.max(1e-3),
            server_cpu: harness::cpu_secs(&pid) - cpu0,
        })
    }
}

/// Report a phase's figures under `label` ("without rules", "with 100 rules").
fn report_phase(report: &mut Report, label: &str, p: &Phase, rate: f64) {
    if let Some(d) = Dist::of(p.frames.clone()) {
        report.dist(
            SCENARIO,
            &format!("sim → frame at {rate:.0}/s, {label}"),
            &d,
            None,
            None,
        );
    }
    report.delivered(
        SCENARIO,
        &format!("frames {label}"),
        p.frames.len(),
        p.frames_expected,
    );
    let what = format!("subscribers told to resync, {label}");
    report.add(SCENARIO, what, p.resyncs as f64, "", None);
    if let Some(d) = Dist::of(p.commits.clone()) {
        report.add(
            SCENARIO,
            format!("sim → commit p99, {label}"),
            d.p99,
            "ms",
            None,
        );
    }
    report.check(
        SCENARIO,
        p.commits.len() == p.paced.len(),
        format!(
            "{label}: {} of {} rows committed",
            p.commits.len(),
            p.paced.len()
        ),
    );
    report.add(
        SCENARIO,
        format!("burst ingest rate, {label}"),
        p.burst_rate,
        "/s",
        None,
    );
    report.add(
        SCENARIO,
        format!("server CPU, {label}"),
        p.server_cpu,
        "s",
        None,
    );
}

/// Change → delivered latencies of the changes numbered in `range` (first arrival per rule
/// and change), and the probe's arrivals among them with duplicates counted.
fn delivered(
    arrivals: &Arrivals,
    marks: &Marks,
    range: std::ops::Range<usize>,
) -> (Vec<f64>, usize, usize) {
    let mut seen = HashMap::new();
    let (mut probe, mut dupes) = (0, 0);
    for (rule, m, at) in lock(arrivals).iter().filter(|(_, m, _)| range.contains(m)) {
        let first = seen.insert((rule.clone(), *m), *at).is_none();
        if rule == PROBE {
            probe += usize::from(first);
            dupes += usize::from(!first);
        }
    }
    let latencies = seen
        .into_iter()
        .filter_map(|((_, m), at)| Some(harness::ms(marks.get(m)?, at)))
        .collect();
    (latencies, probe, dupes)
}

/// The fleet registered (with labels) and synced; the clusters as rules see them.
async fn start(size: &Size) -> anyhow::Result<(Fleet, TestDb, ServerProcess, Vec<ClusterInfo>)> {
    let fleet = Fleet::start(FleetSpec {
        prefix: "notify",
        clusters: size.clusters,
        per_kind: size.per_kind,
        namespaces: 4,
        kinds: Some(KINDS.iter().map(|k| k.to_string()).collect()),
        events: false,
        workloads: 0,
    })
    .await?;
    let db = TestDb::create().await;
    let server = harness::server(&db.url(), &[]).await;
    let ids = fleet.register(&server).await?;
    for (i, id) in ids.iter().enumerate() {
        let path = format!("/api/v1/clusters/{id}");
        api(&server, "PATCH", &path, json!({"labels": labels(i)})).await?;
    }
    let dbc = harness::db(&db.url()).await?;
    let (want, clusters) = (fleet.objects as i64, size.clusters as i64);
    harness::until("initial sync", Duration::from_secs(120), || async {
        let synced = harness::resource_rows(&dbc).await? == want
            && harness::clusters_watching(&dbc).await? == clusters;
        Ok(synced.then_some(()))
    })
    .await?;
    let infos = ids
        .iter()
        .zip(&fleet.sims)
        .enumerate()
        .map(|(i, (id, sim))| ClusterInfo {
            id: *id,
            name: sim.name().to_string(),
            labels: labels(i),
        })
        .collect();
    Ok((fleet, db, server, infos))
}

/// Change → delivered of the phase with rules (changes `start..`), and the probe's invariant.
async fn report_delivered(
    report: &mut Report,
    run: &Run<'_>,
    arrivals: &Arrivals,
    with: &Phase,
    (start, expected): (usize, usize),
) {
    let end = run.next;
    let wait = harness::until("the probe's messages", Duration::from_secs(60), || async {
        let (_, probe, _) = delivered(arrivals, &run.marks, start..end);
        Ok((probe >= expected).then_some(()))
    })
    .await;
    let paced_end = start + with.paced.len();
    let (paced, _, _) = delivered(arrivals, &run.marks, start..paced_end);
    let rate = run.size.rate;
    if let Some(d) = Dist::of(paced) {
        let what = format!("change → delivered at {rate:.0}/s");
        report.dist(SCENARIO, &what, &d, None, Some(2_000.0));
    }
    let (burst, _, _) = delivered(arrivals, &run.marks, paced_end..end);
    if let Some(d) = Dist::of(burst) {
        report.add(SCENARIO, "change → delivered p99, burst", d.p99, "ms", None);
    }
    let (_, probe, dupes) = delivered(arrivals, &run.marks, start..end);
    report.add(
        SCENARIO,
        "probe messages delivered",
        probe as f64,
        "items",
        None,
    );
    report.check(
        SCENARIO,
        wait.is_ok() && probe == expected,
        format!("probe: {probe} of {expected} messages arrived"),
    );
    report.check(
        SCENARIO,
        dupes == 0,
        format!("probe: {dupes} messages arrived twice"),
    );
}

fn note(report: &mut Report, run: &Run<'_>, specs: &[RuleSpec], infos: &[ClusterInfo]) {
    let (mean, none) = coverage(specs, infos, &run.targets);
    let s = &run.size;
    report.note(
        SCENARIO,
        format!(
            "{} clusters × {} objects ({} kinds; {} change), {:.0} changes/s for {} s per phase, \
             then a burst of {}; {} stream subscribers; {} rules: besides the probe a change is \
             covered by {mean:.1} on average, by none for {:.0} % of the objects; webhook on \
             127.0.0.1, groupWindowSecs 0",
            s.clusters,
            run.fleet.objects / s.clusters,
            KINDS.len(),
            run.targets.len(),
            s.rate,
            s.seconds,
            s.burst.min(run.targets.len()),
            s.subscribers,
            specs.len(),
            none * 100.0
        ),
    );
}

pub async fn run(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let size = size(quick);
    let (fleet, db, server, infos) = start(&size).await?;
    let targets = targets(&fleet, size.per_kind);
    let per_phase = (size.rate * size.seconds) as usize + size.burst.min(targets.len());
    let n = targets.len();
    let mut run = Run {
        fleet: &fleet,
        server: &server,
        db_url: db.url(),
        hits: vec![0; n],
        targets,
        marks: Marks::new(2 * per_phase + n),
        next: 0,
        cursor: 0,
        size,
    };
    let specs = rules();
    note(report, &run, &specs, &infos);
    let (mut failed, mut firing) = (vec![false; n], vec![false; n]);
    let without = run.phase().await?;
    report_phase(report, "without rules", &without, run.size.rate);
    let reset = run.reset().await?;
    for made in [&without.paced, &without.burst, &reset] {
        expect_probe(&run.targets, made, &mut failed, &mut firing, false);
    }
    let (hook, arrivals) = receiver().await?;
    create_rules(&server, &hook, &specs).await?;
    let start = run.next;
    let with = run.phase().await?;
    report_phase(report, "with 100 rules", &with, run.size.rate);
    let expected = [&with.paced, &with.burst]
        .into_iter()
        .map(|made| expect_probe(&run.targets, made, &mut failed, &mut firing, true))
        .sum();
    report_delivered(report, &run, &arrivals, &with, (start, expected)).await;
    let dbc = harness::db(&db.url()).await?;
    let sent: i64 = dbc
        .query_one("SELECT count(*) FROM notify_deliveries", &[])
        .await?
        .get(0);
    let items = lock(&arrivals).len();
    report.note(
        SCENARIO,
        format!("{sent} deliveries, {items} items at the receiver"),
    );
    fleet.shutdown().await;
    Ok(())
}
