//! The fleet timeline, the fleet at a moment and the fleet gauges, on a generated history: a
//! known sequence of changes across 3 clusters written through the real writer
//! (`Store::write_batch`), each step's change-log entries then dated to a known time (the
//! writer stamps `now()`; the history is placed 3 hours back, 5 s between entries of a step).
//!
//! | step | at | what |
//! |------|----|------|
//! | S0 | T0 | 10 objects appear ready: alpha ks-1..3 + hr-1 (infra), beta ks-1..3, gamma ks-1..3 |
//! | S1 | T0+10m | alpha/ks-1, beta/ks-1, gamma/ks-1, gamma/ks-2 become failed (15 s) |
//! | S2 | T0+20m | alpha/ks-1 ready again; +5 s: beta/ks-3 deleted |
//! | S3 | T0+30m | alpha/hr-1 becomes failed; +5 s: a Warning event about it |
//! | S4 | T0+40m | gamma/ks-4 appears progressing |

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use flux_orchestrator::flux::{self, EventType, FluxEvent, InvolvedObject};
use flux_orchestrator::store::{ResourceKey, Store, WriteOp};
use serde_json::Value;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::register_team;
use crate::support::seed;

struct History {
    server: TestServer,
    http: reqwest::Client,
    store: Store,
    t0: DateTime<Utc>,
    /// alpha, beta, gamma.
    clusters: [Uuid; 3],
    db: TestDb,
}

fn min(m: i64) -> chrono::Duration {
    chrono::Duration::minutes(m)
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A date-time field of a response, parsed.
fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn object(cluster: Uuid, template: &str, namespace: &str, name: &str) -> WriteOp {
    let obj = seed::object(&seed::fixture(template), namespace, name, &BTreeMap::new());
    WriteOp::Upsert {
        cluster_id: cluster,
        snapshot: Box::new(flux::snapshot(&obj).expect("flux object")),
        backstop: false,
    }
}

fn ks(cluster: Uuid, template: &str, name: &str) -> WriteOp {
    object(cluster, template, "apps", name)
}

impl History {
    /// Write `ops` in one batch and date its entries `at`, `at + 5 s`, … in seq order.
    async fn step(&self, at: DateTime<Utc>, ops: Vec<WriteOp>) {
        let db = self.db.client().await;
        let before: i64 = db
            .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
            .await
            .unwrap()
            .get(0);
        self.store.write_batch(&ops).await.expect("write");
        db.execute(
            "UPDATE resource_changes SET at = $1::timestamptz + (seq - $2::bigint - 1) * interval '5 seconds' WHERE seq > $2",
            &[&at, &before],
        )
        .await
        .unwrap();
        db.execute(
            "UPDATE flux_resources r SET created_at = h.at, updated_at = h.at FROM resource_changes h \
             WHERE h.resource_id = r.id AND h.seq > $1 AND h.op = 'upsert' AND h.health_before IS NULL",
            &[&before],
        )
        .await
        .unwrap();
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

    /// The `cluster/name` of every change of a timeline page, in order (bursts expanded).
    async fn names(&self, query: &str) -> Vec<String> {
        let page = self.ok(&format!("/api/v1/timeline?window=0&{query}")).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| change_name(&e["change"]))
            .collect()
    }
}

fn change_name(c: &Value) -> String {
    format!(
        "{}/{}",
        c["cluster"].as_str().unwrap(),
        c["name"].as_str().unwrap()
    )
}

async fn history() -> History {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let mut clusters = [Uuid::nil(); 3];
    for (i, (name, team)) in [("alpha", "red"), ("beta", "red"), ("gamma", "blue")]
        .into_iter()
        .enumerate()
    {
        clusters[i] = register_team(&server, name, team).await;
    }
    let t0 = DateTime::from_timestamp(Utc::now().timestamp() - 3 * 3600, 0).unwrap();
    let h = History {
        http: server.http(),
        store: db.store(),
        server,
        t0,
        clusters,
        db,
    };
    write_history(&h).await;
    h
}

async fn write_history(h: &History) {
    let [a, b, g] = h.clusters;
    let (ready, failed) = ("kustomization-ready", "kustomization-health-check-failed");
    let mut s0 = vec![object(a, "helmrelease-ready", "infra", "hr-1")];
    for c in [a, b, g] {
        s0.extend((1..=3).map(|i| ks(c, ready, &format!("ks-{i}"))));
    }
    h.step(h.t0, s0).await;
    let s1 = vec![
        ks(a, failed, "ks-1"),
        ks(b, failed, "ks-1"),
        ks(g, failed, "ks-1"),
        ks(g, failed, "ks-2"),
    ];
    h.step(h.t0 + min(10), s1).await;
    h.step(h.t0 + min(20), vec![ks(a, ready, "ks-1")]).await;
    let gone = ResourceKey {
        cluster_id: b,
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        kind: "Kustomization".into(),
        namespace: "apps".into(),
        name: "ks-3".into(),
    };
    h.step(
        h.t0 + min(20) + chrono::Duration::seconds(5),
        vec![WriteOp::Delete(gone)],
    )
    .await;
    h.step(
        h.t0 + min(30),
        vec![object(a, "helmrelease-install-failed", "infra", "hr-1")],
    )
    .await;
    h.step(
        h.t0 + min(30) + chrono::Duration::seconds(5),
        vec![warning(a)],
    )
    .await;
    h.step(
        h.t0 + min(40),
        vec![ks(g, "kustomization-progressing", "ks-4")],
    )
    .await;
}

fn warning(cluster: Uuid) -> WriteOp {
    let at = Utc::now();
    WriteOp::Event {
        cluster_id: cluster,
        event: Box::new(FluxEvent {
            uid: Some(Uuid::new_v4().to_string()),
            involved: InvolvedObject {
                api_group: "helm.toolkit.fluxcd.io".into(),
                kind: "HelmRelease".into(),
                namespace: "infra".into(),
                name: "hr-1".into(),
                uid: None,
            },
            event_type: EventType::Warning,
            reason: Some("InstallFailed".into()),
            message: Some("install retries exhausted".into()),
            count: 1,
            first_seen: Some(at),
            last_seen: Some(at),
            reporting_controller: Some("helm-controller".into()),
            revision: None,
        }),
    }
}

#[tokio::test]
async fn the_timeline_lists_the_history_newest_first_with_bursts_grouped() {
    let h = history().await;
    let page = h.ok("/api/v1/timeline").await;
    let items = page["items"].as_array().unwrap();
    let shape: Vec<String> = items
        .iter()
        .map(|e| match e["type"].as_str().unwrap() {
            "burst" => format!("burst {}", e["burst"]["summary"].as_str().unwrap()),
            _ => format!(
                "{} {} {}",
                e["change"]["op"].as_str().unwrap(),
                change_name(&e["change"]),
                e["change"]["healthAfter"].as_str().unwrap_or("-")
            ),
        })
        .collect();
    let failing = flux::snapshot(&seed::fixture("kustomization-health-check-failed")).unwrap();
    let revision = failing.revision.unwrap();
    assert_eq!(
        shape,
        [
            "upsert gamma/ks-4 progressing".to_string(),
            "event alpha/hr-1 -".into(),
            "upsert alpha/hr-1 failed".into(),
            "delete beta/ks-3 -".into(),
            "upsert alpha/ks-1 ready".into(),
            format!("burst 4 objects on 3 clusters became Failed within 15 s, revision {revision}"),
            "burst 10 objects on 3 clusters appeared within 45 s, 2 revisions".into(),
        ],
        "{page}"
    );
    assert!(
        page["older"].is_null() && page["newer"].is_string(),
        "{page}"
    );
    assert_eq!(page["historyPruned"], false);
    assert_eq!(time(&page["oldestRetained"]), Some(h.t0));

    // The failures' burst: its members inline, and all of them through `group`.
    let burst = &items[5]["burst"];
    assert_eq!(
        (burst["count"].as_u64(), burst["objects"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(
        burst["clusters"],
        serde_json::json!(["alpha", "beta", "gamma"])
    );
    assert_eq!(
        (burst["transition"].as_str(), burst["health"].as_str()),
        (Some("became"), Some("failed"))
    );
    assert_eq!(burst["members"].as_array().unwrap().len(), 4);
    assert_eq!(burst["membersTruncated"], false);
    let group = burst["group"].as_str().unwrap();
    let members = h.names(&format!("group={group}")).await;
    assert_eq!(
        members,
        ["gamma/ks-2", "gamma/ks-1", "beta/ks-1", "alpha/ks-1"]
    );
    let appeared = items[6]["burst"]["group"].as_str().unwrap();
    assert_eq!(h.names(&format!("group={appeared}")).await.len(), 10);
}

#[tokio::test]
async fn pages_walk_the_timeline_older_and_back_newer_without_gaps_or_repeats() {
    let h = history().await;
    let all = h.names("limit=100").await;
    assert_eq!(all.len(), 19);
    let seqs = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["change"]["seq"].as_i64().unwrap())
            .collect()
    };
    let full = seqs(&h.ok("/api/v1/timeline?window=0").await);
    let (mut older, mut token) = (Vec::new(), String::new());
    let last = loop {
        let page = h
            .ok(&format!(
                "/api/v1/timeline?window=0&limit=4&continue={token}"
            ))
            .await;
        older.extend(seqs(&page));
        match page["older"].as_str() {
            Some(t) => token = t.to_string(),
            None => break page,
        }
    };
    assert_eq!(older, full);
    assert_eq!(seqs(&last).len(), 3);
    // Back up from the oldest page: every newer entry once, oldest first.
    let (mut newer, mut token) = (Vec::new(), last["newer"].as_str().unwrap().to_string());
    loop {
        let page = h
            .ok(&format!(
                "/api/v1/timeline?window=0&limit=4&continue={token}"
            ))
            .await;
        let got = seqs(&page);
        if got.is_empty() {
            assert_eq!(
                page["newer"].as_str(),
                Some(token.as_str()),
                "an empty newer page keeps its cursor"
            );
            break;
        }
        assert!(page["older"].is_string());
        newer.extend(got.into_iter().rev());
        token = page["newer"].as_str().unwrap().to_string();
    }
    let expected: Vec<i64> = full[..16].iter().rev().copied().collect();
    assert_eq!(newer, expected);
}

#[tokio::test]
async fn timeline_filters_select_exactly_the_matching_entries() {
    let h = history().await;
    let mut got = Vec::new();
    for q in [
        "cluster=beta",
        "clusterLabel=team%3Dred",
        "clusterLabel=team%3Dblue&cluster=alpha",
        "kind=hr",
        "namespace=infra",
        "namespace=nope",
        "becomes=failed",
        "was=failed",
        "was=ready",
        "op=event",
        "op=delete",
        "q=KS-4",
        "q=install%20retries",
    ] {
        got.push((q, h.names(q).await.len()));
    }
    assert_eq!(
        got,
        [
            ("cluster=beta", 5),
            ("clusterLabel=team%3Dred", 13),
            ("clusterLabel=team%3Dblue&cluster=alpha", 0),
            ("kind=hr", 3),
            ("namespace=infra", 3),
            ("namespace=nope", 0),
            ("becomes=failed", 5),
            ("was=failed", 1),
            ("was=ready", 6),
            ("op=event", 1),
            ("op=delete", 1),
            ("q=KS-4", 1),
            ("q=install%20retries", 1),
        ]
    );
    let (from, to) = (rfc(h.t0 + min(10)), rfc(h.t0 + min(20)));
    let range = h.names(&format!("from={from}&to={to}")).await;
    assert_eq!(
        range,
        ["gamma/ks-2", "gamma/ks-1", "beta/ks-1", "alpha/ks-1"]
    );
    assert_eq!(h.names(&format!("from={from}")).await.len(), 9);
}

#[tokio::test]
async fn bad_timeline_parameters_are_refused_naming_them() {
    let h = history().await;
    let (from, to) = (rfc(h.t0 + min(20)), rfc(h.t0 + min(10)));
    for (query, param, code) in [
        ("from=yesterday".to_string(), "from", "invalid_parameter"),
        ("to=2024-13-01T00:00:00Z".into(), "to", "invalid_parameter"),
        (format!("from={from}&to={to}"), "from", "invalid_parameter"),
        ("continue=nope".into(), "continue", "invalid_parameter"),
        ("group=nope".into(), "group", "invalid_parameter"),
        ("window=3601".into(), "window", "invalid_parameter"),
        ("becomes=broken".into(), "becomes", "invalid_parameter"),
        ("kind=Deployment".into(), "kind", "invalid_parameter"),
        (
            "clusterLabel=a%20b".into(),
            "clusterLabel",
            "invalid_selector",
        ),
    ] {
        let (status, body) = h.get(&format!("/api/v1/timeline?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["code"], code, "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{param}`")),
            "{query}: {message}"
        );
        if param == "from" || param == "to" {
            assert!(message.contains("RFC 3339"), "{query}: {message}");
        }
    }
    // Equal ends are one instant, not an inverted range.
    let (status, body) = h
        .get(&format!("/api/v1/timeline?from={from}&to={from}"))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// `cluster/name → health` of `/api/v1/resources?asOf=…`, walked 3 at a time.
async fn fleet_at(h: &History, at: DateTime<Utc>, extra: &str) -> BTreeMap<String, String> {
    let (mut out, mut token) = (BTreeMap::new(), String::new());
    loop {
        let page = h
            .ok(&format!(
                "/api/v1/resources?asOf={}&limit=3&continue={token}{extra}",
                rfc(at)
            ))
            .await;
        assert_eq!(time(&page["asOf"]).map(rfc), Some(rfc(at)), "{page}");
        for item in page["items"].as_array().unwrap() {
            let key = format!(
                "{}/{}",
                item["cluster"].as_str().unwrap(),
                item["name"].as_str().unwrap()
            );
            assert!(
                out.insert(key, item["health"].as_str().unwrap().to_string())
                    .is_none()
            );
        }
        match page["continue"].as_str() {
            Some(t) => token = t.to_string(),
            None => return out,
        }
    }
}

fn failed(fleet: &BTreeMap<String, String>) -> Vec<&str> {
    fleet
        .iter()
        .filter(|(_, h)| *h == "failed")
        .map(|(k, _)| k.as_str())
        .collect()
}

#[tokio::test]
async fn the_fleet_as_of_several_moments_is_the_known_state() {
    let h = history().await;
    assert!(fleet_at(&h, h.t0 - min(1), "").await.is_empty());
    let start = fleet_at(&h, h.t0 + min(5), "").await;
    assert_eq!((start.len(), failed(&start).len()), (10, 0));
    let s1 = fleet_at(&h, h.t0 + min(15), "").await;
    assert_eq!(s1.len(), 10);
    assert_eq!(
        failed(&s1),
        ["alpha/ks-1", "beta/ks-1", "gamma/ks-1", "gamma/ks-2"]
    );
    let s2 = fleet_at(&h, h.t0 + min(25), "").await;
    assert_eq!(s2.len(), 9);
    assert!(!s2.contains_key("beta/ks-3"));
    assert_eq!(failed(&s2), ["beta/ks-1", "gamma/ks-1", "gamma/ks-2"]);
    let s3 = fleet_at(&h, h.t0 + min(35), "").await;
    assert_eq!(
        failed(&s3),
        ["alpha/hr-1", "beta/ks-1", "gamma/ks-1", "gamma/ks-2"]
    );
    let now = fleet_at(&h, Utc::now() + min(1), "").await;
    assert_eq!(
        now.get("gamma/ks-4").map(String::as_str),
        Some("progressing")
    );
    let live = h.ok("/api/v1/resources?limit=1000").await;
    let live: BTreeMap<String, String> = live["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                format!(
                    "{}/{}",
                    i["cluster"].as_str().unwrap(),
                    i["name"].as_str().unwrap()
                ),
                i["health"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(now, live);

    // Filters and sorts of the live list apply; revision and message are the ones then.
    let at = h.t0 + min(15);
    assert_eq!(fleet_at(&h, at, "&health=failed").await.len(), 4);
    assert_eq!(fleet_at(&h, at, "&cluster=gamma").await.len(), 3);
    let page = h
        .ok(&format!(
            "/api/v1/resources?asOf={}&sort=health&cluster=alpha&q=ks-1",
            rfc(at)
        ))
        .await;
    let item = &page["items"][0];
    assert_eq!(
        (item["health"].as_str(), page["total"].as_i64()),
        (Some("failed"), Some(1)),
        "{page}"
    );
    let failing = flux::snapshot(&seed::fixture("kustomization-health-check-failed")).unwrap();
    assert_eq!(item["revision"].as_str(), failing.revision.as_deref());
    assert_eq!(item["message"].as_str(), failing.message.as_deref());

    let stats = h.ok(&format!("/api/v1/stats?asOf={}", rfc(at))).await;
    assert_eq!(
        (
            stats["health"]["total"].as_i64(),
            stats["health"]["failed"].as_i64()
        ),
        (Some(10), Some(4))
    );
    let per_cluster: Vec<(String, i64, i64)> = stats["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["health"]["total"].as_i64().unwrap(),
                c["health"]["failed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per_cluster,
        [
            ("alpha".into(), 4, 1),
            ("beta".into(), 3, 1),
            ("gamma".into(), 3, 2)
        ]
    );
    assert!(stats["clusters"][0]["status"].is_null());
    assert_eq!(time(&stats["asOf"]), Some(at));
}

#[tokio::test]
async fn as_of_refuses_what_it_cannot_answer() {
    let h = history().await;
    let at = rfc(h.t0 + min(15));
    for (query, param) in [
        (format!("asOf={at}&label=team%3Da"), "label"),
        (format!("asOf={at}&sort=severity"), "sort"),
        ("asOf=last-tuesday".into(), "asOf"),
    ] {
        let (status, body) = h.get(&format!("/api/v1/resources?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{param}`")),
            "{body}"
        );
    }
    let (status, body) = h.get("/api/v1/stats?asOf=soon").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_parameter")),
        "{body}"
    );
}

#[tokio::test]
async fn past_the_retention_the_fleet_at_a_moment_is_gone_and_later_moments_still_known() {
    let h = history().await;
    // Prune everything before S1 (the ten first sights).
    let age = (Utc::now() - (h.t0 + min(9))).to_std().unwrap();
    let pruned = h.store.prune_changes(age, i64::MAX, 10_000).await.unwrap();
    assert_eq!(pruned.changes, 10);
    let oldest = rfc(h.t0 + min(10));
    for path in [
        format!("/api/v1/resources?asOf={}", rfc(h.t0 + min(5))),
        format!("/api/v1/stats?asOf={}", rfc(h.t0 + min(5))),
    ] {
        let (status, body) = h.get(&path).await;
        assert_eq!(status, 410, "{path}: {body}");
        assert_eq!(body["code"], "history_pruned");
        assert_eq!(time(&body["oldest"]), Some(h.t0 + min(10)), "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("oldest retained change"),
            "{body}"
        );
    }
    // Objects unchanged since before the cut, and those whose next change came later, are
    // still placed: the same fleet as before pruning.
    let s1 = fleet_at(&h, h.t0 + min(15), "").await;
    assert_eq!(s1.len(), 10, "{s1:?}");
    assert_eq!(
        failed(&s1),
        ["alpha/ks-1", "beta/ks-1", "gamma/ks-1", "gamma/ks-2"]
    );
    assert_eq!(s1.get("beta/ks-3").map(String::as_str), Some("ready"));
    assert_eq!(s1.get("alpha/hr-1").map(String::as_str), Some("ready"));

    let page = h.ok("/api/v1/timeline?window=0").await;
    assert_eq!(
        (
            page["historyPruned"].as_bool(),
            time(&page["oldestRetained"])
        ),
        (Some(true), Some(h.t0 + min(10)))
    );
    let page = h
        .ok(&format!("/api/v1/timeline?window=0&from={oldest}"))
        .await;
    assert_eq!(page["historyPruned"], false);
}

#[tokio::test]
async fn the_fleet_gauges_count_objects_by_cluster_kind_and_health_as_stats_does() {
    let h = history().await;
    let text = h
        .http
        .get(h.server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let gauge = |series: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    let stats = h.ok("/api/v1/stats").await;
    for c in stats["clusters"].as_array().unwrap() {
        for health in [
            "ready",
            "progressing",
            "failed",
            "stalled",
            "suspended",
            "unknown",
        ] {
            let series = format!(
                "fluxo_cluster_objects{{cluster=\"{}\",health=\"{health}\"}}",
                c["name"].as_str().unwrap()
            );
            assert_eq!(
                gauge(&series),
                c["health"][health].as_i64().unwrap(),
                "{series}"
            );
        }
    }
    assert_eq!(
        gauge("fluxo_cluster_objects{cluster=\"alpha\",health=\"failed\"}"),
        1
    );
    assert_eq!(
        gauge("fluxo_kind_objects{kind=\"Kustomization\",health=\"failed\"}"),
        3
    );
    assert_eq!(
        gauge("fluxo_kind_objects{kind=\"Kustomization\",health=\"progressing\"}"),
        1
    );
    assert_eq!(
        gauge("fluxo_kind_objects{kind=\"HelmRelease\",health=\"ready\"}"),
        0
    );
    assert!(
        !text.contains("ks-1") && !text.contains(&h.clusters[0].to_string()),
        "no per-object series"
    );
}
