//! Scenario 1: a change in a simulated cluster → the WebSocket frame at every subscriber, at
//! 100, 500 and 2,000 changes/s with 100 subscribers. Changes are status patches made in the
//! simulator (the apiserver), spread over the clusters, kinds and objects of a small fleet; the
//! clock starts when the patch is applied and stops when a subscriber has parsed the frame.

use std::time::Duration;

use crate::harness::{self, Dist, Fleet, FleetSpec, Marks, Report, Subscribers};
use crate::support::db::TestDb;

const SCENARIO: &str = "1 latency";

pub async fn run(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let (rates, seconds, subscribers, clusters, per_kind): (&[f64], f64, usize, usize, usize) =
        if quick {
            (&[100.0], 2.0, 10, 2, 50)
        } else {
            (&[100.0, 500.0, 2_000.0], 10.0, 100, 4, 150)
        };
    // FLEET_LATENCY_RATES=100,500 runs some rates only (profiling one rate at a time).
    let chosen: Vec<f64> = std::env::var("FLEET_LATENCY_RATES")
        .ok()
        .map(|v| v.split(',').filter_map(|r| r.trim().parse().ok()).collect())
        .unwrap_or_default();
    let rates: &[f64] = if chosen.is_empty() { rates } else { &chosen };
    let kinds = ["Kustomization", "HelmRelease", "GitRepository"];
    let fleet = Fleet::start(FleetSpec {
        prefix: "latency",
        clusters,
        per_kind,
        namespaces: 4,
        kinds: Some(kinds.iter().map(|k| k.to_string()).collect()),
        events: false,
        workloads: 0,
    })
    .await?;
    let db = TestDb::create().await;
    let server = harness::server(&db.url(), &[]).await;
    fleet.register(&server).await?;
    let dbc = harness::db(&db.url()).await?;
    let want = fleet.objects as i64;
    harness::until("initial sync", Duration::from_secs(60), || async {
        let synced = harness::resource_rows(&dbc).await? == want
            && harness::clusters_watching(&dbc).await? == clusters as i64;
        Ok(synced.then_some(()))
    })
    .await?;
    // Targets interleaved so consecutive changes hit different clusters and kinds.
    let mut targets = Vec::new();
    let keys: Vec<Vec<Vec<(String, String)>>> = fleet
        .sims
        .iter()
        .map(|s| kinds.iter().map(|k| harness::markable(s, k)).collect())
        .collect();
    for j in 0..per_kind {
        for (k, kind) in kinds.iter().enumerate() {
            for (c, per_cluster) in keys.iter().enumerate() {
                if let Some((ns, name)) = per_cluster[k].get(j) {
                    targets.push((c, *kind, ns.clone(), name.clone()));
                }
            }
        }
    }
    report.note(
        SCENARIO,
        format!(
            "{clusters} clusters × {} objects ({} kinds), {subscribers} subscribers to the whole stream, {seconds} s per rate",
            fleet.objects / clusters,
            kinds.len()
        ),
    );
    let mut first = 0;
    for &rate in rates {
        let total = (rate * seconds) as usize;
        let marks = Marks::new(first + total);
        let subs = Subscribers::connect(&server, subscribers, marks.clone()).await?;
        harness::drive(&fleet, &targets, &marks, first, total, rate).await;
        let expected = total * subscribers;
        let latencies = subs.finish(expected, Duration::from_secs(15)).await;
        let received = latencies.len();
        let goals = (rate == 500.0).then_some((30.0, 150.0));
        if let Some(d) = Dist::of(latencies) {
            report.dist(
                SCENARIO,
                &format!("sim → frame at {rate:.0}/s"),
                &d,
                goals.map(|g| g.0),
                goals.map(|g| g.1),
            );
        }
        report.delivered(
            SCENARIO,
            &format!("frames at {rate:.0}/s"),
            received,
            expected,
        );
        first += total;
    }
    fleet.shutdown().await;
    Ok(())
}
