//! Detail, history (changes, events) and stats through the real server.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use flux_orchestrator::flux;
use flux_orchestrator::store::{ResourceKey, WriteOp};
use serde_json::Value;
use uuid::Uuid;

use super::{http, query, touch};
use crate::support::seed::{self, Seeded};

fn key(s: &Seeded) -> ResourceKey {
    let snapshot = flux::snapshot(&s.object).expect("flux object");
    ResourceKey {
        cluster_id: s.cluster,
        api_group: snapshot.api_group,
        kind: s.kind.clone(),
        namespace: s.namespace.clone(),
        name: s.name.clone(),
    }
}

/// (seq, cluster, resource, kind, namespace, op) of a change-log row.
type LogRow = (i64, Uuid, Uuid, String, String, String);

/// (uid, resource, warning, minute) of a seeded event.
type EventSpec<'a> = (String, &'a Seeded, bool, i64);

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().map(|t| t.parse().expect("RFC 3339"))
}

#[tokio::test]
async fn detail_shows_the_object_conditions_inventory_and_newest_changes_and_events() {
    let env = http::start().await;
    let prod = env.cluster("prod").await;
    let ready = seed::seeded(prod, 0);
    assert_eq!(
        (ready.kind.as_str(), ready.health.as_str()),
        ("Kustomization", "ready")
    );
    let template = seed::fixture("kustomization-health-check-failed");
    let failing = Seeded {
        object: seed::object(&template, &ready.namespace, &ready.name, &ready.labels),
        ..ready.clone()
    };
    for op in [
        ready.upsert(),
        failing.upsert(),
        seed::event(&ready, "e1", false, 1),
        seed::event(&ready, "e2", true, 5),
    ] {
        env.store.write_batch(&[op]).await.expect("write");
    }
    let d = env.ok(&format!("/api/v1/resources/{}", ready.id)).await;
    assert_eq!(
        (
            d["resource"]["health"].as_str(),
            d["resource"]["name"].as_str()
        ),
        (Some("failed"), Some(ready.name.as_str()))
    );
    let meta = &d["object"]["metadata"];
    assert!(
        meta.get("managedFields").is_none()
            && meta["annotations"]
                .get(flux::LAST_APPLIED_ANNOTATION)
                .is_none(),
        "{meta}"
    );
    assert_eq!(d["object"]["spec"], failing.object["spec"]);
    assert_eq!(d["observedGeneration"], 3);

    let want = flux::conditions(&failing.object);
    let got = d["conditions"].as_array().expect("conditions");
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g["type"].as_str(), g["status"].as_str()),
            (Some(w.type_.as_str()), Some(w.status.as_str()))
        );
        assert_eq!(
            (g["reason"].as_str(), g["message"].as_str()),
            (w.reason.as_deref(), w.message.as_deref())
        );
        assert_eq!(
            (
                time(&g["lastTransitionTime"]),
                g["observedGeneration"].as_i64()
            ),
            (w.last_transition_time, w.observed_generation)
        );
    }

    let inventory = &d["inventory"];
    assert_eq!(inventory["total"], 2);
    let groups: Vec<(&str, &str, &str, &str)> = inventory["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["kind"].as_str().unwrap(),
                g["group"].as_str().unwrap(),
                g["entries"][0]["name"].as_str().unwrap(),
                g["entries"][0]["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("Deployment", "apps", "podinfo", "v1"),
            ("Service", "", "podinfo", "v1")
        ]
    );

    let changes = d["changes"].as_array().expect("changes");
    let ops: Vec<&str> = changes.iter().map(|c| c["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["event", "event", "upsert", "upsert"]);
    assert_eq!(
        (
            changes[0]["eventType"].as_str(),
            changes[0]["healthAfter"].as_str()
        ),
        (Some("Warning"), None)
    );
    assert_eq!(
        (
            changes[2]["healthBefore"].as_str(),
            changes[2]["healthAfter"].as_str()
        ),
        (Some("ready"), Some("failed"))
    );
    assert_eq!(
        (
            changes[3]["healthBefore"].as_str(),
            changes[3]["healthAfter"].as_str()
        ),
        (None, Some("ready"))
    );
    let seqs: Vec<i64> = changes.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );

    let events = d["events"].as_array().expect("events");
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("Warning", "event e2"), ("Normal", "event e1")]);
    assert_eq!(
        (events[0]["reason"].as_str(), events[0]["cluster"].as_str()),
        (Some("HealthCheckFailed"), Some("prod"))
    );

    let release = seed::seeded(prod, 7);
    env.store
        .write_batch(&[release.upsert()])
        .await
        .expect("write");
    let d = env.ok(&format!("/api/v1/resources/{}", release.id)).await;
    assert!(
        d["inventory"].is_null() && d["events"].as_array().is_some_and(Vec::is_empty),
        "{d}"
    );
}

#[tokio::test]
async fn a_resources_full_history_pages_newest_first_and_outlives_its_deletion() {
    let env = http::start().await;
    let prod = env.cluster("prod").await;
    let repo = seed::seeded(prod, 2);
    env.store
        .write_batch(&[repo.upsert()])
        .await
        .expect("write");
    for n in 1..=120 {
        env.store
            .write_batch(&[touch(&repo, n)])
            .await
            .expect("write");
    }
    let path = format!("/api/v1/resources/{}/changes?", repo.id);
    let first = env.ok(&format!("{path}limit=50")).await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(50));
    let all = env.walk_path(&path, 50).await;
    let seqs: Vec<i64> = all.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs.len(), 121);
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first, no duplicates"
    );

    env.store
        .write_batch(&[WriteOp::Delete(key(&repo))])
        .await
        .expect("delete");
    let (status, _) = env.get(&format!("/api/v1/resources/{}", repo.id)).await;
    assert_eq!(status, 404);
    let newest = env.ok(&format!("{path}limit=1")).await;
    let c = &newest["items"][0];
    assert_eq!(
        (
            c["op"].as_str(),
            c["healthBefore"].as_str(),
            c["healthAfter"].as_str()
        ),
        (Some("delete"), Some("ready"), None)
    );
    assert_eq!(env.walk_path(&path, 1000).await.len(), 122);
    let events = env
        .ok(&format!("/api/v1/resources/{}/events", repo.id))
        .await;
    assert!(events["items"].as_array().is_some_and(Vec::is_empty) && events["continue"].is_null());
}

#[tokio::test]
async fn the_change_log_filters_by_resource_cluster_kind_namespace_op_and_seq() {
    let env = http::start().await;
    let (prod, dev) = (env.cluster("prod").await, env.cluster("dev").await);
    let a = seed::seed(&env.store, prod, 22).await;
    let b = seed::seed(&env.store, dev, 11).await;
    let mut ops: Vec<WriteOp> = a[..5].iter().map(|s| touch(s, 1)).collect();
    ops.push(WriteOp::Delete(key(&b[0])));
    ops.push(seed::event(&a[1], "ev-1", true, 0));
    seed::write(&env.store, &ops).await;

    let client = env.db.client().await;
    let rows = client
        .query("SELECT seq, cluster_id, resource_id, kind, namespace, op FROM resource_changes ORDER BY seq DESC", &[])
        .await
        .expect("log");
    let log: Vec<LogRow> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    assert_eq!(log.len(), 22 + 11 + 5 + 1 + 1);
    let mid = log[log.len() / 2].0;
    let seqs = |keep: &dyn Fn(&LogRow) -> bool| -> Vec<i64> {
        log.iter().filter(|r| keep(r)).map(|r| r.0).collect()
    };
    let (p, id) = (prod.to_string(), a[0].id.to_string());
    let cases: Vec<(String, Vec<i64>)> = vec![
        (String::new(), seqs(&|_| true)),
        (query(&[("cluster", "dev")]), seqs(&|r| r.1 == dev)),
        (query(&[("cluster", &p)]), seqs(&|r| r.1 == prod)),
        (query(&[("kind", "ks")]), seqs(&|r| r.3 == "Kustomization")),
        (
            query(&[("kind", "hr"), ("kind", "gitrepo")]),
            seqs(&|r| r.3 == "HelmRelease" || r.3 == "GitRepository"),
        ),
        (query(&[("namespace", "infra")]), seqs(&|r| r.4 == "infra")),
        (query(&[("op", "delete")]), seqs(&|r| r.5 == "delete")),
        (
            query(&[("op", "event"), ("op", "delete")]),
            seqs(&|r| r.5 != "upsert"),
        ),
        (query(&[("resource", &id)]), seqs(&|r| r.2 == a[0].id)),
        (query(&[("since", &mid.to_string())]), seqs(&|r| r.0 > mid)),
        (query(&[("before", &mid.to_string())]), seqs(&|r| r.0 < mid)),
        (
            query(&[
                ("cluster", "prod"),
                ("op", "upsert"),
                ("kind", "Kustomization"),
            ]),
            seqs(&|r| r.1 == prod && r.5 == "upsert" && r.3 == "Kustomization"),
        ),
    ];
    for (q, want) in cases {
        let got: Vec<i64> = env
            .walk_path(&format!("/api/v1/changes?{q}"), 7)
            .await
            .iter()
            .map(|c| c["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(got, want, "query {q:?}");
    }
    let deleted = env.ok("/api/v1/changes?op=delete").await;
    let d = &deleted["items"][0];
    assert_eq!(
        (
            d["cluster"].as_str(),
            d["name"].as_str(),
            d["healthBefore"].as_str()
        ),
        (
            Some("dev"),
            Some(b[0].name.as_str()),
            Some(b[0].health.as_str())
        )
    );
}

#[tokio::test]
async fn events_filter_by_cluster_kind_name_type_and_time_newest_first() {
    let env = http::start().await;
    let (prod, dev) = (env.cluster("prod").await, env.cluster("dev").await);
    let a = seed::seed(&env.store, prod, 11).await;
    let b = seed::seed(&env.store, dev, 4).await;
    let mut spec: Vec<EventSpec> = a
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("a{i}"), s, i % 3 == 0, i as i64))
        .collect();
    spec.extend(
        b.iter()
            .enumerate()
            .map(|(i, s)| (format!("b{i}"), s, true, 100 + i as i64)),
    );
    let ops: Vec<WriteOp> = spec
        .iter()
        .map(|(uid, s, w, m)| seed::event(s, uid, *w, *m))
        .collect();
    seed::write(&env.store, &ops).await;
    // The same event seen again later: one row, updated.
    let mut again = seed::event(&a[2], "a2", false, 50);
    if let WriteOp::Event { event, .. } = &mut again {
        event.count = 2;
    }
    env.store.write_batch(&[again]).await.expect("write");
    spec[2].3 = 50;

    spec.sort_by_key(|(_, _, _, minute)| std::cmp::Reverse(*minute));
    let messages = |keep: &dyn Fn(&EventSpec) -> bool| -> Vec<String> {
        spec.iter()
            .filter(|e| keep(e))
            .map(|e| format!("event {}", e.0))
            .collect()
    };
    let since = "2024-05-01T10:05:00Z";
    let id = a[4].id.to_string();
    let cases: Vec<(String, Vec<String>)> = vec![
        (String::new(), messages(&|_| true)),
        (
            query(&[("cluster", "dev")]),
            messages(&|e| e.1.cluster == dev),
        ),
        (
            query(&[("kind", "ks")]),
            messages(&|e| e.1.kind == "Kustomization"),
        ),
        (
            query(&[("name", "app-0001"), ("name", "app-0003")]),
            messages(&|e| ["app-0001", "app-0003"].contains(&e.1.name.as_str())),
        ),
        (
            query(&[("namespace", "apps"), ("type", "Warning")]),
            messages(&|e| e.1.namespace == "apps" && e.2),
        ),
        (query(&[("type", "Normal")]), messages(&|e| !e.2)),
        (query(&[("since", since)]), messages(&|e| e.3 >= 5)),
        (
            query(&[("resource", &id)]),
            messages(&|e| e.1.id == a[4].id),
        ),
    ];
    for (q, want) in cases {
        let got: Vec<String> = env
            .walk_path(&format!("/api/v1/events?{q}"), 4)
            .await
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "query {q:?}");
    }
    let repeated = env
        .ok(&format!("/api/v1/resources/{}/events", a[2].id))
        .await;
    assert_eq!(repeated["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(repeated["items"][0]["count"], 2);
}

#[tokio::test]
async fn stats_count_exactly_what_was_written_per_cluster_kind_and_health() {
    let env = http::start().await;
    let (prod, dev) = (env.cluster("prod").await, env.cluster("dev").await);
    env.cluster("empty").await;
    let mut all = seed::seed(&env.store, prod, 50).await;
    all.extend(seed::seed(&env.store, dev, 23).await);
    let gone = all.remove(0);
    env.store
        .write_batch(&[WriteOp::Delete(key(&gone))])
        .await
        .expect("delete");

    let mut want: BTreeMap<(Option<Uuid>, Option<String>), BTreeMap<String, i64>> = BTreeMap::new();
    for s in &all {
        for scope in [
            (None, None),
            (None, Some(s.kind.clone())),
            (Some(s.cluster), None),
            (Some(s.cluster), Some(s.kind.clone())),
        ] {
            let counts = want.entry(scope).or_default();
            *counts.entry(s.health.clone()).or_default() += 1;
            *counts.entry("total".into()).or_default() += 1;
        }
    }
    let counts = |v: &Value| -> BTreeMap<String, i64> {
        v.as_object()
            .expect("counts")
            .iter()
            .filter(|(_, n)| n.as_i64() != Some(0))
            .map(|(k, n)| (k.clone(), n.as_i64().unwrap()))
            .collect()
    };
    let stats = env.ok("/api/v1/stats").await;
    assert_eq!(counts(&stats["health"]), want[&(None, None)]);
    for k in stats["kinds"].as_array().expect("kinds") {
        assert_eq!(
            counts(&k["health"]),
            want[&(None, k["kind"].as_str().map(str::to_string))],
            "{k}"
        );
    }
    let names: Vec<&str> = stats["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "empty", "prod"]);
    for c in stats["clusters"].as_array().expect("clusters") {
        let id: Uuid = c["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            counts(&c["health"]),
            want.get(&(Some(id), None)).cloned().unwrap_or_default(),
            "{c}"
        );
        let kinds: BTreeSet<&str> = c["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kind"].as_str().unwrap())
            .collect();
        let expected: BTreeSet<&str> = all
            .iter()
            .filter(|s| s.cluster == id)
            .map(|s| s.kind.as_str())
            .collect();
        assert_eq!(kinds, expected);
        for k in c["kinds"].as_array().unwrap() {
            assert_eq!(
                counts(&k["health"]),
                want[&(Some(id), k["kind"].as_str().map(str::to_string))]
            );
        }
    }
    assert_status_joined(&env, prod).await;
}

/// The cluster's `state` in the stats is the `cluster_status` row the ingest wrote (compared
/// when the row did not change during the request).
async fn assert_status_joined(env: &http::Env, cluster: Uuid) {
    let client = env.db.client().await;
    let read = || async {
        client
            .query_opt(
                "SELECT state FROM cluster_status WHERE cluster_id = $1",
                &[&cluster],
            )
            .await
            .expect("status")
            .map(|r| r.get::<_, String>(0))
    };
    for _ in 0..200 {
        let before = read().await;
        let stats = env.ok("/api/v1/stats").await;
        if before.is_some() && read().await == before {
            let c = stats["clusters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == cluster.to_string())
                .cloned()
                .unwrap();
            assert_eq!(c["status"]["state"].as_str(), before.as_deref(), "{c}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the ingest never wrote a stable status for the cluster");
}
