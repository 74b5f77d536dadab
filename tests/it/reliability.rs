//! Reliability figures on a known history: changes written through the real writer
//! (`Store::write_batch`), each dated afterwards to a chosen time relative to today's UTC
//! midnight M (D2 = M − 2 days, D1 = M − 1 day). One op per step, so every time is exact.
//!
//! | object | history | failed / stalled |
//! |--------|---------|------------------|
//! | alpha/ks-1 | ready D2 01:00; failed D2 22:00; ready D1 02:00 (across midnight) | 7,200 s on D2 + 7,200 s on D1, one recovery of 14,400 s |
//! | alpha/hr-1 | ready D2 01:00; stalled D1 06:00; ready D1 07:00 | 3,600 s stalled, one recovery of 3,600 s |
//! | beta/ks-1 | ready D2 01:00; failed D1 10:00, still failed now | 14 h before M, and everything since |
//! | gamma/ks-1 | ready D2 01:00; failed D1 12:00, ready 12:10, failed 12:20, ready 12:30 | 1,200 s, 2 failures, 4 transitions, MTTR 600 s |
//! | gamma/ks-2 | ready D2 01:00; failed D2 05:00; deleted D2 06:00 | 3,600 s, no recovery |
//!
//! alpha and beta are team red, gamma team blue.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use flux_orchestrator::flux;
use flux_orchestrator::history::rollups;
use flux_orchestrator::store::{ResourceKey, Store, WriteOp};
use serde_json::Value;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{register_team, wait_for};
use crate::support::seed;

const HOUR: i64 = 3600;

struct History {
    server: TestServer,
    http: reqwest::Client,
    store: Store,
    db: TestDb,
    /// Today's UTC midnight.
    m: DateTime<Utc>,
}

fn object(cluster: Uuid, template: &str, name: &str) -> WriteOp {
    let obj = seed::object(&seed::fixture(template), "apps", name, &BTreeMap::new());
    WriteOp::Upsert {
        cluster_id: cluster,
        snapshot: Box::new(flux::snapshot(&obj).expect("flux object")),
        backstop: false,
    }
}

impl History {
    /// `secs` after D2's midnight.
    fn at(&self, secs: i64) -> DateTime<Utc> {
        self.m - chrono::Duration::days(2) + chrono::Duration::seconds(secs)
    }

    /// Write `op` and date its change `at`.
    async fn step(&self, at: DateTime<Utc>, op: WriteOp) {
        let db = self.db.client().await;
        let before: i64 = db
            .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
            .await
            .unwrap()
            .get(0);
        self.store.write_batch(&[op]).await.expect("write");
        let n = db
            .execute(
                "UPDATE resource_changes SET at = $1 WHERE seq > $2",
                &[&at, &before],
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "one change per step");
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.server.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// A report, with the instants just before and after it was asked for.
    async fn timed(&self, path: &str) -> (DateTime<Utc>, Value, DateTime<Utc>) {
        let before = Utc::now();
        let body = self.ok(path).await;
        (before, body, Utc::now())
    }

    fn d1(&self) -> NaiveDate {
        (self.m - chrono::Duration::days(1)).date_naive()
    }
}

async fn history() -> History {
    let db = TestDb::create().await;
    // A grace of two days: the server's own job closes nothing this history is written into.
    let args = [
        "--reliability-grace-secs",
        "172800",
        "--reliability-interval-secs",
        "100000",
    ];
    let server = TestServer::start_with(&db.url(), &args).await;
    server.wait_ready().await;
    let mut clusters = [Uuid::nil(); 3];
    for (i, (name, team)) in [("alpha", "red"), ("beta", "red"), ("gamma", "blue")]
        .into_iter()
        .enumerate()
    {
        clusters[i] = register_team(&server, name, team).await;
    }
    let m = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let h = History {
        http: server.http(),
        store: db.store(),
        server,
        db,
        m,
    };
    write_history(&h, clusters).await;
    h
}

async fn write_history(h: &History, [a, b, g]: [Uuid; 3]) {
    let (ready, failed) = ("kustomization-ready", "kustomization-health-check-failed");
    let (hr_ready, hr_stalled) = ("helmrelease-ready", "helmrelease-upgrade-stalled");
    let d1 = 24 * HOUR;
    let steps = [
        (HOUR, object(a, ready, "ks-1")),
        (HOUR, object(a, hr_ready, "hr-1")),
        (HOUR, object(b, ready, "ks-1")),
        (HOUR, object(g, ready, "ks-1")),
        (HOUR, object(g, ready, "ks-2")),
        (5 * HOUR, object(g, failed, "ks-2")),
        (6 * HOUR, deleted(g, "ks-2")),
        (22 * HOUR, object(a, failed, "ks-1")),
        (d1 + 2 * HOUR, object(a, ready, "ks-1")),
        (d1 + 6 * HOUR, object(a, hr_stalled, "hr-1")),
        (d1 + 7 * HOUR, object(a, hr_ready, "hr-1")),
        (d1 + 10 * HOUR, object(b, failed, "ks-1")),
        (d1 + 12 * HOUR, object(g, failed, "ks-1")),
        (d1 + 12 * HOUR + 600, object(g, ready, "ks-1")),
        (d1 + 12 * HOUR + 1200, object(g, failed, "ks-1")),
        (d1 + 12 * HOUR + 1800, object(g, ready, "ks-1")),
    ];
    for (secs, op) in steps {
        h.step(h.at(secs), op).await;
    }
}

fn deleted(cluster: Uuid, name: &str) -> WriteOp {
    WriteOp::Delete(ResourceKey {
        cluster_id: cluster,
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        kind: "Kustomization".into(),
        namespace: "apps".into(),
        name: name.into(),
    })
}

/// The group with `key` of a report.
fn group<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key}: {report}"))
}

fn f(v: &Value, field: &str) -> f64 {
    v["figures"][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field}: {v}"))
}

/// Seconds from `a` to `b`.
fn secs(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

/// The figures of the history, whether they come from the change log or the roll-ups.
async fn check_figures(h: &History) {
    let report = h.ok("/api/v1/reliability?group=object&window=7d").await;
    assert_eq!(
        report["complete"], false,
        "the history starts on D2: {report}"
    );
    let ks1 = group(&report, "alpha/Kustomization/apps/ks-1");
    assert_eq!(f(ks1, "failedSeconds"), 14_400.0, "{ks1}");
    assert_eq!(f(ks1, "failures"), 1.0);
    assert_eq!(f(ks1, "recoveries"), 1.0);
    assert_eq!(f(ks1, "mttrSeconds"), 14_400.0);
    let hr = group(&report, "alpha/HelmRelease/apps/hr-1");
    assert_eq!(f(hr, "stalledSeconds"), 3_600.0, "{hr}");
    assert_eq!((f(hr, "failures"), f(hr, "mttrSeconds")), (0.0, 3_600.0));
    let flappy = group(&report, "gamma/Kustomization/apps/ks-1");
    assert_eq!(f(flappy, "failedSeconds"), 1_200.0, "{flappy}");
    assert_eq!(f(flappy, "failures"), 2.0);
    assert_eq!(f(flappy, "transitions"), 4.0);
    assert_eq!(f(flappy, "mttrSeconds"), 600.0);
    let gone = group(&report, "gamma/Kustomization/apps/ks-2");
    assert_eq!(f(gone, "failedSeconds"), 3_600.0, "{gone}");
    assert_eq!(f(gone, "observedSeconds"), 5.0 * 3_600.0);
    assert_eq!((f(gone, "failures"), f(gone, "recoveries")), (1.0, 0.0));
    assert!(gone["top"][0]["health"].is_null(), "deleted: {gone}");
    let days = report["days"].as_f64().unwrap();
    assert!((f(flappy, "flappingPerDay") - 4.0 / days).abs() < 1e-9);

    // Still failed now: 14 h before midnight, and the time since, read at the request.
    let (before, report, after) = h
        .timed("/api/v1/reliability?group=cluster&window=24h")
        .await;
    let beta = group(&report, "beta");
    let failed = f(beta, "failedSeconds");
    let since = h.m - chrono::Duration::hours(14);
    assert!(
        failed >= secs(since, before) - 0.001 && failed <= secs(since, after) + 0.001,
        "{failed} not within the request: {beta}"
    );
    assert_eq!(f(beta, "recoveries"), 0.0);
    assert!(beta["figures"]["mttrSeconds"].is_null());
    assert_eq!(beta["top"][0]["health"], "failed");
    // The 24 h window starts at D1's midnight: alpha's spell counts its second half, and its
    // recovery the whole spell; the stalled hour counts too.
    let alpha = group(&report, "alpha");
    assert_eq!(f(alpha, "failedSeconds"), 7_200.0, "{alpha}");
    assert_eq!(f(alpha, "stalledSeconds"), 3_600.0);
    assert_eq!(f(alpha, "failures"), 0.0);
    assert_eq!(f(alpha, "recoveries"), 2.0);
    assert_eq!(f(alpha, "mttrSeconds"), (14_400.0 + 3_600.0) / 2.0);
    assert_eq!(report["groups"][0]["key"], "beta", "worst first: {report}");
    let top = &report["top"];
    assert_eq!(top[0]["name"], "ks-1");
    assert_eq!(top[0]["cluster"], "beta");
    assert_eq!(top.as_array().unwrap().len(), 4, "{top}");

    // By cluster label: red is alpha and beta.
    let report = h.ok("/api/v1/reliability?group=label:team&window=7d").await;
    let red = group(&report, "red");
    assert_eq!(red["objects"], 3);
    assert_eq!(f(red, "failures"), 2.0);
    let blue = group(&report, "blue");
    assert_eq!(
        (blue["objects"].as_u64(), f(blue, "failures")),
        (Some(2), 3.0)
    );
    // Filters: one kind, one cluster.
    let report = h
        .ok("/api/v1/reliability?group=kind&window=30d&kind=hr&cluster=alpha")
        .await;
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{report}");
    assert_eq!(groups[0]["key"], "HelmRelease");
    let observed = f(&groups[0], "observedSeconds");
    let availability = f(&groups[0], "availability");
    assert!((availability - 100.0 * (1.0 - 3_600.0 / observed)).abs() < 1e-9);
}

#[tokio::test]
async fn figures_from_the_change_log_match_the_known_history() {
    let h = history().await;
    check_figures(&h).await;
}

#[tokio::test]
async fn closed_days_give_the_same_figures_and_outlive_the_change_log() {
    let h = history().await;
    // Start-up backfill: another replica with no grace closes D2 and D1.
    let other = TestServer::start_with(&h.db.url(), &["--reliability-grace-secs", "0"]).await;
    let db = h.db.client().await;
    let closed = |d: NaiveDate| {
        let db = &db;
        async move {
            db.query_opt("SELECT 1 FROM reliability_days WHERE day = $1", &[&d])
                .await
                .unwrap()
                .is_some()
        }
    };
    wait_for("the backfill", Duration::from_secs(30), || closed(h.d1())).await;
    drop(other);
    let d2 = h.d1().pred_opt().unwrap();
    assert!(closed(d2).await);
    check_figures(&h).await;

    // Closing a day again replaces it with the same rows.
    let rows = |day: NaiveDate| {
        let db = &db;
        async move {
            db.query(
                "SELECT resource_id::text, observed_secs, failed_secs, stalled_secs, failures, \
                        transitions, recoveries, recovery_secs, end_health, broken_since::text \
                 FROM reliability_daily WHERE day = $1 ORDER BY resource_id",
                &[&day],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{:?}",
                    (
                        r.get::<_, String>(0),
                        r.get::<_, f64>(2),
                        r.get::<_, i32>(4),
                        r.get::<_, Option<String>>(8),
                        r.get::<_, Option<String>>(9)
                    )
                )
            })
            .collect::<Vec<_>>()
        }
    };
    let first = rows(h.d1()).await;
    assert_eq!(first.len(), 4, "{first:?}");
    assert!(rollups::close_day(&h.store, h.d1()).await.unwrap());
    assert_eq!(rows(h.d1()).await, first);
    assert_eq!(
        rollups::close_days(&h.store, Utc::now(), Duration::ZERO)
            .await
            .unwrap(),
        0,
        "nothing left to close"
    );

    // Retention empties the change log: the figures stay.
    let pruned = h
        .store
        .prune_changes(Duration::from_secs(1), 1_000_000, 10_000)
        .await
        .unwrap();
    assert!(pruned.changes >= 13, "{pruned:?}");
    let left: i64 = db
        .query_one("SELECT count(*) FROM resource_changes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    check_figures(&h).await;
}

#[tokio::test]
async fn bad_groups_windows_and_limits_are_400_naming_the_parameter() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let http = server.http();
    for (query, param) in [
        ("group=pods", "group"),
        ("group=label:", "group"),
        ("group=label:a%20b", "group"),
        ("window=1y", "window"),
        ("limit=0", "limit"),
        ("kind=nope", "kind"),
    ] {
        let r = http
            .get(server.url(&format!("/api/v1/reliability?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "invalid_parameter", "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{param}`")),
            "{query}: {message}"
        );
    }
    let empty: Value = http
        .get(server.url("/api/v1/reliability"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty["groups"], serde_json::json!([]), "{empty}");
    assert_eq!(empty["window"], "7d");
    assert_eq!(empty["group"], "cluster");
}
