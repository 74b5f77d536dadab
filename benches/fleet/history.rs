//! Scenario 11 (issue 17): the fleet's history at size. 10,000,000 change-log rows, about 30
//! days of a 100,000-object fleet on 100 clusters, generated in SQL (`history_fill`), then read
//! through the real server's HTTP API:
//!
//! - the fill itself, step by step, and the roll-up job's start-up backfill of every day;
//! - `GET /timeline`: the newest page, a page in the middle of the range, older pages (goal
//!   p99 ≤ 100 ms);
//! - `GET /rollouts?source=…` for one source (goal p99 ≤ 100 ms);
//! - `GET /reliability?window=30d` by cluster and by kind (goal p99 ≤ 200 ms);
//! - the whole fleet at a moment: `GET /stats?asOf=` and the first page of
//!   `GET /resources?asOf=` (goal ≤ 1 s).
//!
//! `FLEET_HIST_CLUSTERS`, `FLEET_HIST_OBJECTS`, `FLEET_HIST_CHANGES` and `FLEET_HIST_DAYS`
//! resize it. The server keeps the whole log (`--changes-retention-*` 0): the defaults (7
//! days, 1,000,000 rows) would prune most of it at start-up. `FLEET_HIST_KEEP=1` leaves the
//! database behind (its name is printed) for `EXPLAIN` after the run.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{SecondsFormat, Utc};

use crate::harness::{self, Dist, Goal, Report};
use crate::history_fill::{self, Shape};
use crate::support::db::TestDb;
use crate::support::process::ServerProcess;

const S11: &str = "11 history";

/// Keep every change: the scenario reads the whole generated month.
const KEEP_ALL: &[&str] = &[
    "--changes-retention-hours",
    "0",
    "--changes-retention-count",
    "0",
];

pub async fn run(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let (clusters, objects, changes, days, requests) = if quick {
        (3, 600, 30_000, 3, 10)
    } else {
        (100, 100_000, 10_000_000, 30, 100)
    };
    let shape = Shape {
        clusters: harness::env("FLEET_HIST_CLUSTERS", clusters),
        objects: harness::env("FLEET_HIST_OBJECTS", objects),
        changes: harness::env("FLEET_HIST_CHANGES", changes),
        days: harness::env("FLEET_HIST_DAYS", days),
    };
    let db = TestDb::create().await;
    let url = db.url();
    if std::env::var("FLEET_HIST_KEEP").is_ok_and(|v| v == "1") {
        println!("  database kept: {}", db.name);
        std::mem::forget(db);
    }
    let db = crate::support::db::store(&url);
    db.migrate().await?;
    let dbc = harness::db(&url).await?;
    fill(report, &dbc, shape).await?;
    let server = harness::server(&url, KEEP_ALL).await;
    backfill(report, &dbc).await?;
    timeline(report, &server, requests).await?;
    rollouts(report, &server, requests).await?;
    reliability(report, &server, requests).await?;
    as_of(report, &server, shape, requests.min(20)).await?;
    Ok(())
}

/// Generate the history; each step's time, and the table sizes.
async fn fill(
    report: &mut Report,
    dbc: &tokio_postgres::Client,
    shape: Shape,
) -> anyhow::Result<()> {
    let t = Instant::now();
    for step in history_fill::steps(shape) {
        let s = Instant::now();
        dbc.batch_execute(&step.sql)
            .await
            .with_context(|| format!("fill step {}", step.name))?;
        println!("  fill: {} {:.1} s", step.name, s.elapsed().as_secs_f64());
    }
    report.add(S11, "fill (SQL)", t.elapsed().as_secs_f64(), "s", None);
    let sizes = dbc
        .query_one(
            "SELECT (SELECT count(*) FROM resource_changes), (SELECT count(*) FROM flux_resources), \
                    pg_total_relation_size('resource_changes') / 1048576",
            &[],
        )
        .await?;
    let (rows, current, mib): (i64, i64, i64) = (sizes.get(0), sizes.get(1), sizes.get(2));
    report.check(
        S11,
        rows == shape.changes,
        format!("{rows} change rows, {} wanted", shape.changes),
    );
    report.note(
        S11,
        format!(
            "{rows} change rows ({mib} MiB with indexes) over {} days, {current} objects on {} clusters",
            shape.days, shape.clusters
        ),
    );
    Ok(())
}

/// Wait for the roll-up job's start-up backfill: every day from the log's first to yesterday.
async fn backfill(report: &mut Report, dbc: &tokio_postgres::Client) -> anyhow::Result<()> {
    let t = Instant::now();
    harness::until(
        "reliability backfill",
        Duration::from_secs(7200),
        || async {
            let row = dbc
                .query_one(
                    "SELECT (SELECT count(*) FROM reliability_days) >= \
                        (now() AT TIME ZONE 'UTC')::date \
                        - ((SELECT min(at) FROM resource_changes) AT TIME ZONE 'UTC')::date",
                    &[],
                )
                .await?;
            Ok(row.get::<_, bool>(0).then_some(()))
        },
    )
    .await?;
    report.add(
        S11,
        "roll-up backfill of every day",
        t.elapsed().as_secs_f64(),
        "s",
        None,
    );
    Ok(())
}

/// `requests` GETs of each path; their latencies together.
async fn sample(
    server: &ServerProcess,
    paths: &[String],
    requests: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut took = Vec::new();
    for path in paths {
        let mut failed = 0;
        for _ in 0..requests {
            // Answers other than 200 count too: a read cut by the API pool's statement timeout
            // answers 503, and its time is what a user waits.
            let t = Instant::now();
            let r = server.http().get(server.url(path)).send().await?;
            let ok = r.status() == 200;
            r.bytes().await?;
            took.push(t.elapsed().as_secs_f64() * 1000.0);
            failed += usize::from(!ok);
        }
        if failed > 0 {
            println!("  {path}: {failed} of {requests} answers were not 200");
        }
    }
    Ok(took)
}

/// An RFC 3339 instant `hours` ago, query-encoded.
fn ago(hours: i64) -> String {
    (Utc::now() - chrono::Duration::hours(hours))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
        .replace(':', "%3A")
        .replace('+', "%2B")
}

/// The newest page, a page 15 days back, a failures-only page, and older pages by cursor.
async fn timeline(
    report: &mut Report,
    server: &ServerProcess,
    requests: usize,
) -> anyhow::Result<()> {
    let mut paths = vec![
        "/api/v1/timeline?limit=200".to_string(),
        format!("/api/v1/timeline?limit=200&to={}", ago(15 * 24)),
        "/api/v1/timeline?limit=200&becomes=failed".to_string(),
    ];
    let (_, mut page) = harness::timed(server, &paths[0]).await?;
    for _ in 0..5 {
        let Some(older) = page["older"].as_str() else {
            break;
        };
        let path = format!("/api/v1/timeline?limit=200&continue={older}");
        page = harness::timed(server, &path).await?.1;
        paths.push(path);
    }
    let d = Dist::of(sample(server, &paths, requests).await?).unwrap_or_default();
    report.note(
        S11,
        format!("timeline: {} page shapes of 200 entries", paths.len()),
    );
    report.add(S11, "timeline page p50", d.p50, "ms", None);
    report.add(
        S11,
        "timeline page p99",
        d.p99,
        "ms",
        Some(Goal::AtMost(100.0)),
    );
    Ok(())
}

/// One source's rollout (its consumers on every cluster, 5 revisions).
async fn rollouts(
    report: &mut Report,
    server: &ServerProcess,
    requests: usize,
) -> anyhow::Result<()> {
    let (_, first) = harness::timed(server, "/api/v1/rollouts?limit=1").await?;
    let source = first["items"][0]["source"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no rollout source"))?;
    let consumers = first["items"][0]["consumers"].clone();
    let encoded = source
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('|', "%7C")
        .replace('=', "%3D");
    let path = format!("/api/v1/rollouts?source={encoded}");
    let d = Dist::of(sample(server, &[path], requests).await?).unwrap_or_default();
    report.note(S11, format!("rollouts: one source, {consumers} consumers"));
    report.add(S11, "rollouts one source p50", d.p50, "ms", None);
    report.add(
        S11,
        "rollouts one source p99",
        d.p99,
        "ms",
        Some(Goal::AtMost(100.0)),
    );
    Ok(())
}

/// 30 days of reliability, grouped by cluster and by kind.
async fn reliability(
    report: &mut Report,
    server: &ServerProcess,
    requests: usize,
) -> anyhow::Result<()> {
    let paths = [
        "/api/v1/reliability?window=30d&group=cluster".to_string(),
        "/api/v1/reliability?window=30d&group=kind".to_string(),
    ];
    if let Ok((_, body)) = harness::timed(server, &paths[0]).await {
        report.check(
            S11,
            body["total"]["observedSeconds"].as_f64().unwrap_or(0.0) > 0.0,
            "reliability over 30 days observed something",
        );
    }
    let d = Dist::of(sample(server, &paths, requests).await?).unwrap_or_default();
    report.add(S11, "reliability 30d p50", d.p50, "ms", None);
    report.add(
        S11,
        "reliability 30d p99",
        d.p99,
        "ms",
        Some(Goal::AtMost(200.0)),
    );
    Ok(())
}

/// The whole fleet half-way back: its counts, and the first page of the list with its total.
async fn as_of(
    report: &mut Report,
    server: &ServerProcess,
    shape: Shape,
    requests: usize,
) -> anyhow::Result<()> {
    let at = ago(shape.days * 12);
    let stats = format!("/api/v1/stats?asOf={at}");
    let list = format!("/api/v1/resources?asOf={at}&limit=100");
    if let Ok((_, body)) = harness::timed(server, &list).await {
        let total = &body["total"];
        report.note(
            S11,
            format!("asOf {} days back: total {total}", shape.days / 2),
        );
    }
    let s = Dist::of(sample(server, &[stats], requests).await?).unwrap_or_default();
    let l = Dist::of(sample(server, &[list], requests).await?).unwrap_or_default();
    report.add(S11, "asOf stats (whole fleet) p50", s.p50, "ms", None);
    report.add(
        S11,
        "asOf stats (whole fleet) max",
        s.max,
        "ms",
        Some(Goal::AtMost(1000.0)),
    );
    report.add(S11, "asOf resources first page p50", l.p50, "ms", None);
    report.add(
        S11,
        "asOf resources first page max",
        l.max,
        "ms",
        Some(Goal::AtMost(1000.0)),
    );
    Ok(())
}
