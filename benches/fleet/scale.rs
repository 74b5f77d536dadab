//! Scenarios 4, 5, 7 and 8 on one fleet: 50 simulated clusters × 2,000 Flux objects (100,000
//! objects, one watch per kind per cluster plus Events: ~700 watches) ingested by one server.
//!
//! 4. scale: time from registering every cluster to every object in the database and every
//!    watch live; steady RSS; RSS peak during a relist of everything; server and PostgreSQL CPU
//!    while every cluster churns one status change per second.
//! 5. backstop: `POST /clusters/{id}/sync` on every cluster with nothing changed: the time until
//!    every cluster reports its relist done, and the change-log rows written (goal 0).
//! 8. rest: filtered, keyset-paginated `GET /api/v1/resources` over the 100,000 rows.
//! 7. recovery: every simulator restarts at once, dropping every connection and its watch
//!    history (resuming answers 410): the time until every kind of every cluster is relisted
//!    and watched again and changes flow, and the LIST requests per kind it took.

use std::time::{Duration, Instant};

use fluxo_sim::{ChurnOptions, spawn_churn};
use serde_json::Value;
use uuid::Uuid;

use crate::harness::{self, Dist, Fleet, FleetSpec, Goal, Marks, Report, RowWatch, RssPeak};
use crate::support::db::TestDb;
use crate::support::process::ServerProcess;

/// Which of the fleet's scenarios run.
#[derive(Clone, Copy)]
pub struct Parts {
    pub scale: bool,
    pub backstop: bool,
    pub rest: bool,
    pub recovery: bool,
}

impl Parts {
    pub fn any(self) -> bool {
        self.scale || self.backstop || self.rest || self.recovery
    }
}

const MIB: f64 = 1024.0;

pub async fn run(report: &mut Report, quick: bool, parts: Parts) -> anyhow::Result<()> {
    let (clusters, per_kind, idle_secs, rest_requests) = if quick {
        (3, 15, 3.0, 10)
    } else {
        (50, 154, 30.0, 100)
    };
    // Resize the fleet: FLEET_CLUSTERS, FLEET_PER_KIND (objects of each of the 13 kinds).
    let env = harness::env::<usize>;
    let (clusters, per_kind) = (
        env("FLEET_CLUSTERS", clusters),
        env("FLEET_PER_KIND", per_kind),
    );
    let started = Instant::now();
    let fleet = Fleet::start(FleetSpec {
        prefix: "fleet",
        clusters,
        per_kind,
        namespaces: 8,
        kinds: None,
        events: true,
        workloads: 0,
    })
    .await?;
    let kinds = fleet.kinds();
    let watches = clusters * (kinds.len() + 1);
    println!(
        "  ({clusters} simulated clusters with {} Flux objects started in {:.1} s)",
        fleet.objects,
        started.elapsed().as_secs_f64()
    );
    let db = TestDb::create().await;
    let server = harness::server(&db.url(), &[]).await;
    let pid = server.pid();
    let dbc = harness::db(&db.url()).await?;

    // 4. Initial sync.
    println!(
        "\n== 4. scale: {clusters} clusters × {} objects, {watches} watches",
        fleet.objects / clusters
    );
    let rss_empty = harness::mem_kib(pid, "VmRSS");
    let peak = RssPeak::start(pid);
    let cpu_before = harness::cpu_secs(&pid.to_string());
    let t = Instant::now();
    let ids = fleet.register(&server).await?;
    let want = fleet.objects as i64;
    harness::until("initial sync", Duration::from_secs(600), || async {
        let synced = harness::resource_rows(&dbc).await? == want
            && harness::clusters_watching(&dbc).await? == clusters as i64;
        Ok(synced.then_some(()))
    })
    .await?;
    let initial = t.elapsed().as_secs_f64();
    let sync_peak = peak.stop().await;
    let sync_cpu = harness::cpu_secs(&pid.to_string()) - cpu_before;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let steady = harness::mem_kib(pid, "VmRSS");
    let connections: u64 = fleet
        .sims
        .iter()
        .map(|s| s.request_counts().connections_open())
        .sum();
    const S4: &str = "4 scale";
    report.note(
        S4,
        format!(
            "{} objects on {clusters} clusters, {} kinds + Events = {watches} watches; server RSS before registering {:.0} MiB; server CPU during the sync {sync_cpu:.1} s",
            fleet.objects,
            kinds.len(),
            rss_empty as f64 / MIB
        ),
    );
    report.add(
        S4,
        "initial sync (register → all rows, all watches live)",
        initial,
        "s",
        None,
    );
    report.add(
        S4,
        "initial sync rate",
        fleet.objects as f64 / initial,
        "objects/s",
        None,
    );
    report.add(
        S4,
        "RSS peak during the initial sync",
        sync_peak as f64 / MIB,
        "MiB",
        None,
    );
    report.add(
        S4,
        "steady RSS",
        steady as f64 / MIB,
        "MiB",
        Some(Goal::AtMost(600.0)),
    );
    report.add(
        S4,
        "API server connections per cluster, steady",
        connections as f64 / clusters as f64,
        "",
        Some(Goal::AtMost(1.0)),
    );
    report.add(
        S4,
        "RSS per watch, steady (above the empty server)",
        (steady.saturating_sub(rss_empty)) as f64 / watches as f64,
        "KiB",
        None,
    );

    if parts.scale {
        // CPU at idle churn: one status change per cluster per second.
        let churns: Vec<_> = fleet
            .sims
            .iter()
            .enumerate()
            .map(|(i, s)| {
                spawn_churn(
                    s,
                    ChurnOptions {
                        rate: 1.0,
                        seed: 100 + i as u64,
                        // Explicit, like the fleet's scenario: the figure is CPU per status
                        // change, and each change is one object write whatever the mix.
                        failure_ratio: 0.08,
                        progressing_ratio: 0.04,
                        ..ChurnOptions::default()
                    },
                )
            })
            .collect();
        let (server_cpu, pg_cpu) = (
            harness::cpu_secs(&pid.to_string()),
            harness::postgres_cpu_secs(),
        );
        let t = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(idle_secs)).await;
        let secs = t.elapsed().as_secs_f64();
        let server_pct = (harness::cpu_secs(&pid.to_string()) - server_cpu) / secs * 100.0;
        let pg_pct = (harness::postgres_cpu_secs() - pg_cpu) / secs * 100.0;
        let mut changes = 0;
        for c in churns {
            changes += c.changes();
            c.stop().await;
        }
        report.add(
            S4,
            format!(
                "server CPU at idle churn ({:.0} changes/s)",
                changes as f64 / secs
            ),
            server_pct,
            "% core",
            None,
        );
        report.add(S4, "PostgreSQL CPU at idle churn", pg_pct, "% core", None);
        // Let the last churned changes land before the backstop compares.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    if parts.scale || parts.backstop {
        backstop(report, &server, &dbc, &ids, pid).await?;
    }
    if parts.rest {
        rest(report, &server, &dbc, clusters, rest_requests).await?;
    }
    if parts.recovery {
        recovery(report, &fleet, &dbc, &db.url(), &kinds).await?;
    }
    drop(server);
    fleet.shutdown().await;
    Ok(())
}

/// 5: relist everything with nothing changed.
async fn backstop(
    report: &mut Report,
    server: &ServerProcess,
    dbc: &tokio_postgres::Client,
    ids: &[Uuid],
    pid: u32,
) -> anyhow::Result<()> {
    const S5: &str = "5 backstop";
    println!("\n== 5. backstop: relist every object of every cluster, nothing changed");
    let before: i64 = dbc
        .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
        .await?
        .get(0);
    let drift_before: i64 = dbc
        .query_one(
            "SELECT COALESCE(sum(resync_drift_total), 0)::bigint FROM cluster_status",
            &[],
        )
        .await?
        .get(0);
    let peak = RssPeak::start(pid);
    let t = Instant::now();
    harness::relist_all(server, dbc, ids, Duration::from_secs(300)).await?;
    let took = t.elapsed().as_secs_f64();
    let relist_peak = peak.stop().await;
    let rows: i64 = dbc
        .query_one(
            "SELECT count(*) FROM resource_changes WHERE seq > $1",
            &[&before],
        )
        .await?
        .get(0);
    let drift: i64 = dbc
        .query_one(
            "SELECT COALESCE(sum(resync_drift_total), 0)::bigint FROM cluster_status",
            &[],
        )
        .await?
        .get(0);
    let objects = harness::resource_rows(dbc).await?;
    report.add(
        S5,
        format!("relist of {objects} unchanged objects"),
        took,
        "s",
        Some(Goal::AtMost(30.0)),
    );
    report.add(
        S5,
        "change-log rows written",
        rows as f64,
        "rows",
        Some(Goal::AtMost(0.0)),
    );
    report.add(
        S5,
        "drift found",
        (drift - drift_before) as f64,
        "rows",
        None,
    );
    report.add(
        "4 scale",
        "RSS peak during the relist",
        relist_peak as f64 / MIB,
        "MiB",
        None,
    );
    report.check(
        S5,
        rows == 0,
        format!("an unchanged relist wrote {rows} rows"),
    );
    Ok(())
}

/// 8: REST list latency over the fleet's rows.
async fn rest(
    report: &mut Report,
    server: &ServerProcess,
    dbc: &tokio_postgres::Client,
    clusters: usize,
    requests: usize,
) -> anyhow::Result<()> {
    const S8: &str = "8 rest";
    let rows = harness::resource_rows(dbc).await?;
    println!("\n== 8. rest: filtered, paginated GET /api/v1/resources over {rows} rows");
    let http = server.http();
    let get = |path: String| {
        let (http, url) = (http.clone(), server.url(&path));
        async move {
            let t = Instant::now();
            let r = http.get(url).send().await?;
            anyhow::ensure!(r.status() == 200, "{path}: {}", r.status());
            let body: Value = r.json().await?;
            anyhow::Ok((t.elapsed().as_secs_f64() * 1000.0, body))
        }
    };
    let c = |i: usize| format!("fleet-{:02}", i.min(clusters - 1));
    let shapes = [
        format!("cluster={}", c(7)),
        format!("cluster={}&sort=-updated", c(5)),
        "health=failed".to_string(),
        "health=failed&health=stalled&sort=-updated".to_string(),
        "kind=hr&namespace=payments".to_string(),
        format!("cluster={}&kind=ks&health=failed", c(3)),
        "label=team%3Dteam-2".to_string(),
        "label=team%3Dteam-1&kind=ks".to_string(),
        "kind=ks&sort=health".to_string(),
        format!("q=app-1&cluster={}", c(11)),
    ];
    let (mut firsts, mut nexts) = (Vec::new(), Vec::new());
    let mut per_shape = Vec::new();
    for shape in &shapes {
        let (from_first, from_next) = (firsts.len(), nexts.len());
        let first_path = format!("/api/v1/resources?{shape}&limit=100");
        let (_, first) = get(first_path.clone()).await?;
        for _ in 0..requests {
            firsts.push(get(first_path.clone()).await?.0);
        }
        let mut token = first["continue"].as_str().map(str::to_string);
        let mut taken = 0;
        while taken < requests {
            let Some(t) = token.take() else {
                token = first["continue"].as_str().map(str::to_string);
                if token.is_none() {
                    break;
                }
                continue;
            };
            let (took, page) = get(format!("{first_path}&continue={t}")).await?;
            nexts.push(took);
            taken += 1;
            token = page["continue"].as_str().map(str::to_string);
        }
        let p99 = |v: &[f64]| Dist::of(v.to_vec()).map_or(f64::NAN, |d| d.p99);
        per_shape.push(format!(
            "{shape}: {} matches, first p99 {:.1} ms, later p99 {:.1} ms",
            first["total"],
            p99(&firsts[from_first..]),
            p99(&nexts[from_next..])
        ));
    }
    let all: Vec<f64> = firsts.iter().chain(&nexts).copied().collect();
    let (firsts, nexts, all) = (
        Dist::of(firsts).unwrap_or_default(),
        Dist::of(nexts).unwrap_or_default(),
        Dist::of(all).ok_or_else(|| anyhow::anyhow!("no request"))?,
    );
    report.note(
        S8,
        format!(
            "{} filter shapes, limit=100, sequential; first pages count the total, later pages follow `continue`",
            shapes.len()
        ),
    );
    for line in per_shape {
        report.note(S8, line);
    }
    report.add(S8, "first pages p99", firsts.p99, "ms", None);
    report.add(S8, "later pages p99", nexts.p99, "ms", None);
    report.add(S8, "all pages p50", all.p50, "ms", None);
    report.add(S8, "all pages p99", all.p99, "ms", Some(Goal::AtMost(50.0)));
    let mut stats = Vec::new();
    for _ in 0..requests.min(20) {
        stats.push(get("/api/v1/stats".into()).await?.0);
    }
    let stats = Dist::of(stats).unwrap_or_default();
    report.add(S8, "GET /api/v1/stats p99", stats.p99, "ms", None);
    Ok(())
}

/// 7: every simulator restarts with its watch history gone.
async fn recovery(
    report: &mut Report,
    fleet: &Fleet,
    dbc: &tokio_postgres::Client,
    db_url: &str,
    kinds: &[&'static str],
) -> anyhow::Result<()> {
    const S7: &str = "7 recovery";
    println!("\n== 7. recovery: every simulator restarts, history compacted");
    // One probe object per kind per cluster.
    let mut probes = Vec::new();
    for (c, sim) in fleet.sims.iter().enumerate() {
        for kind in kinds {
            let (ns, name) = harness::markable(sim, kind)
                .into_iter()
                .next()
                .ok_or_else(|| anyhow::anyhow!("no {kind} to probe"))?;
            probes.push((c, *kind, ns, name));
        }
    }
    let n = probes.len();
    let marks = Marks::new(2 * n);
    let rows = RowWatch::start(db_url, marks.clone()).await?;
    for sim in &fleet.sims {
        sim.request_counts().reset();
    }
    let t = Instant::now();
    for sim in &fleet.sims {
        sim.faults().restart();
    }
    // Round 1, made while every connection is down: only a relist can see these.
    harness::drive(fleet, &probes, &marks, 0, n, 1e6).await;
    let clusters = fleet.sims.len() as i64;
    let received = rows.received.clone();
    harness::until(
        "every kind relisted and watched",
        Duration::from_secs(120),
        || async {
            let live = received.load(std::sync::atomic::Ordering::Relaxed) >= n
                && harness::clusters_watching(dbc).await? == clusters;
            Ok(live.then_some(()))
        },
    )
    .await?;
    let live = t.elapsed().as_secs_f64();
    // Round 2, made once every watch is back: these travel the watches.
    let t2 = Instant::now();
    harness::drive(fleet, &probes, &marks, n, n, 1e6).await;
    let arrived = rows.finish(2 * n, Duration::from_secs(60)).await?;
    let flow = t.elapsed().as_secs_f64();
    let round2 = Dist::of(
        arrived
            .iter()
            .filter(|(i, _)| *i >= n)
            .map(|(_, l)| *l)
            .collect(),
    )
    .unwrap_or_default();
    // Give stragglers (a second relist, a retry storm) time to show in the counters.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (mut max_lists, mut min_lists, mut listed_kinds) = (0, u64::MAX, 0);
    for sim in &fleet.sims {
        let counts = sim.request_counts();
        for (key, lists) in counts.snapshot() {
            if key.starts_with("LIST ") {
                max_lists = max_lists.max(lists);
                min_lists = min_lists.min(lists);
                listed_kinds += 1;
            }
        }
    }
    let expected_kinds = fleet.sims.len() * (kinds.len() + 1);
    report.note(
        S7,
        format!(
            "{n} probes per round ({} clusters × {} kinds); {listed_kinds} of {expected_kinds} (cluster, kind) pairs listed again; round-2 probes took {:.0} ms p99 after {:.1} s",
            fleet.sims.len(),
            kinds.len(),
            round2.p99,
            t2.duration_since(t).as_secs_f64()
        ),
    );
    report.add(
        S7,
        "every kind relisted and watching again",
        live,
        "s",
        None,
    );
    report.add(
        S7,
        "changes flow again on every kind",
        flow,
        "s",
        Some(Goal::AtMost(15.0)),
    );
    report.add(
        S7,
        "LIST requests per kind, max",
        max_lists as f64,
        "req",
        Some(Goal::AtMost(1.0)),
    );
    report.add(
        S7,
        "LIST requests per kind, min",
        if min_lists == u64::MAX {
            0.0
        } else {
            min_lists as f64
        },
        "req",
        None,
    );
    report.check(
        S7,
        arrived.len() == 2 * n,
        format!("{} of {} probes arrived", arrived.len(), 2 * n),
    );
    report.check(
        S7,
        max_lists <= 1 && listed_kinds == expected_kinds,
        format!(
            "{listed_kinds} of {expected_kinds} kinds listed, at most {max_lists} LISTs per kind"
        ),
    );
    Ok(())
}
