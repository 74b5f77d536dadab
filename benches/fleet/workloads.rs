//! Scenario 9 (issue 16): managed workloads. 50 simulated clusters × (2,000 Flux objects +
//! 8,000 workloads with Flux's ownership labels, images and kstatus-shaped status), watched by
//! one server with the default workload kinds (two watches per kind and cluster):
//!
//! - initial sync: registering every cluster → every object and workload stored, every watch
//!   live; steady RSS after it (goal ≤ 800 MiB);
//! - `GET /resources/{id}/graph?depth=3` from owners of workloads (goal p99 ≤ 50 ms);
//! - `GET /workloads?image=…` by repository and tag, tag, repository path, digest prefix
//!   (goal p99 ≤ 50 ms over 400,000 workloads).
//!
//! `FLEET_WL_CLUSTERS`, `FLEET_WL_PER_KIND` and `FLEET_WORKLOADS` resize it.

use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use crate::harness::{self, Dist, Fleet, FleetSpec, Goal, Report};
use crate::support::db::TestDb;
use crate::support::process::ServerProcess;

const S9: &str = "9 workloads";
const MIB: f64 = 1024.0;

/// Turns workload watching back on (`SERVER_ARGS` turns it off; the option appends).
const WORKLOADS_ON: &[&str] = &[
    "--workload-kinds",
    "Deployment,StatefulSet,DaemonSet,Job,CronJob,Service,Ingress,PersistentVolumeClaim",
];

pub async fn run(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let (clusters, per_kind, workloads, requests) = if quick {
        (3, 15, 200, 10)
    } else {
        (50, 154, 8000, 100)
    };
    let fleet = Fleet::start(FleetSpec {
        prefix: "wl",
        clusters: harness::env("FLEET_WL_CLUSTERS", clusters),
        per_kind: harness::env("FLEET_WL_PER_KIND", per_kind),
        namespaces: 8,
        kinds: None,
        events: false,
        workloads: harness::env("FLEET_WORKLOADS", workloads),
    })
    .await?;
    let clusters = fleet.sims.len();
    println!(
        "  ({clusters} clusters: {} Flux objects, {} workloads)",
        fleet.objects, fleet.workloads
    );
    let db = TestDb::create().await;
    let server = harness::server(&db.url(), WORKLOADS_ON).await;
    let dbc = harness::db(&db.url()).await?;
    sync(report, &fleet, &server, &dbc).await?;
    graph(report, &server, &dbc, requests).await?;
    images(report, &server, &dbc, requests).await?;
    drop(server);
    fleet.shutdown().await;
    Ok(())
}

/// Register every cluster and wait for every row and every watch; RSS once settled.
async fn sync(
    report: &mut Report,
    fleet: &Fleet,
    server: &ServerProcess,
    dbc: &tokio_postgres::Client,
) -> anyhow::Result<()> {
    let pid = server.pid();
    let t = Instant::now();
    fleet.register(server).await?;
    let want = (fleet.objects + fleet.workloads) as i64;
    let clusters = fleet.sims.len() as i64;
    harness::until("initial sync", Duration::from_secs(900), || async {
        let synced = harness::resource_rows(dbc).await? == want
            && harness::clusters_watching(dbc).await? == clusters;
        Ok(synced.then_some(()))
    })
    .await?;
    let initial = t.elapsed().as_secs_f64();
    // Fresh statistics for the reads below, as autovacuum's analyze gives a fleet shortly after
    // its first sync (it runs once a tenth of a table has changed): measured here rather than
    // waited for, so the figures do not depend on when its last pass happened to run.
    dbc.batch_execute("ANALYZE").await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let steady = harness::mem_kib(pid, "VmRSS") as f64 / MIB;
    report.note(
        S9,
        format!(
            "{clusters} clusters × ({} Flux objects + {} workloads); 8 workload kinds × 2 label families = 16 more watches per cluster",
            fleet.objects / fleet.sims.len(),
            fleet.workloads / fleet.sims.len()
        ),
    );
    report.add(S9, "initial sync with workloads", initial, "s", None);
    report.add(
        S9,
        "initial sync rate",
        want as f64 / initial,
        "rows/s",
        None,
    );
    report.add(S9, "steady RSS", steady, "MiB", Some(Goal::AtMost(800.0)));
    Ok(())
}

/// Graphs at depth 3 from owners of workloads.
async fn graph(
    report: &mut Report,
    server: &ServerProcess,
    dbc: &tokio_postgres::Client,
    requests: usize,
) -> anyhow::Result<()> {
    let owners: Vec<Uuid> = dbc
        .query(
            "SELECT DISTINCT owner_id FROM flux_resources WHERE owner_id IS NOT NULL LIMIT 20",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    anyhow::ensure!(!owners.is_empty(), "no owner of workloads");
    let (mut took, mut nodes) = (Vec::new(), 0);
    for i in 0..requests.max(owners.len()) {
        let path = format!(
            "/api/v1/resources/{}/graph?depth=3",
            owners[i % owners.len()]
        );
        let (ms, body) = harness::timed(server, &path).await?;
        took.push(ms);
        nodes = nodes.max(body["nodes"].as_array().map_or(0, Vec::len));
    }
    let d = Dist::of(took).unwrap_or_default();
    report.note(
        S9,
        format!(
            "graph: {} owners of workloads, depth 3, down; up to {nodes} nodes",
            owners.len()
        ),
    );
    report.add(S9, "graph depth 3 p50", d.p50, "ms", None);
    report.add(
        S9,
        "graph depth 3 p99",
        d.p99,
        "ms",
        Some(Goal::AtMost(50.0)),
    );
    Ok(())
}

/// Image searches of each shape, first pages of 100.
async fn images(
    report: &mut Report,
    server: &ServerProcess,
    dbc: &tokio_postgres::Client,
    requests: usize,
) -> anyhow::Result<()> {
    let digest: String = dbc
        .query_one(
            "SELECT digest FROM workload_images WHERE digest IS NOT NULL LIMIT 1",
            &[],
        )
        .await?
        .get(0);
    let terms = [
        "nginx:1.25.3".to_string(),
        ":1.36".to_string(),
        "docker.io/library/postgres".to_string(),
        "ghcr.io/acme".to_string(),
        ":1.4.1".to_string(),
        digest[..19].to_string(),
    ];
    let mut all = Vec::new();
    for term in &terms {
        let encoded = term.replace(':', "%3A").replace('/', "%2F");
        let path = format!("/api/v1/workloads?image={encoded}&limit=100");
        let mut took = Vec::new();
        let mut total = Value::Null;
        for _ in 0..requests {
            let (ms, body) = harness::timed(server, &path).await?;
            took.push(ms);
            total = body["total"].clone();
        }
        let d = Dist::of(took.clone()).unwrap_or_default();
        report.note(
            S9,
            format!("image={term}: {total} matches, p99 {:.1} ms", d.p99),
        );
        all.extend(took);
    }
    let workloads = harness::resource_rows(dbc).await?;
    let d = Dist::of(all).unwrap_or_default();
    report.note(S9, format!("image search over {workloads} stored rows"));
    report.add(S9, "image search p50", d.p50, "ms", None);
    report.add(
        S9,
        "image search p99",
        d.p99,
        "ms",
        Some(Goal::AtMost(50.0)),
    );
    Ok(())
}
