//! The read API — resources, changes, events, stats — against the real server and a fresh
//! database, seeded through the real write path (`Store::write_batch`).

mod history;
mod http;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flux_orchestrator::store::WriteOp;
use serde_json::Value;
use uuid::Uuid;

use crate::support::seed::{self, Seeded};
use http::{assert_bad_param, id_of};

/// `k=v&k2=v2`, percent-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params("http://x/", pairs).expect("url");
    url.query().unwrap_or_default().to_string()
}

fn ids(all: &[Seeded], keep: impl Fn(&Seeded) -> bool) -> BTreeSet<Uuid> {
    all.iter().filter(|s| keep(s)).map(|s| s.id).collect()
}

fn label<'a>(s: &'a Seeded, key: &str) -> Option<&'a str> {
    s.labels.get(key).map(String::as_str)
}

fn text_match(s: &Seeded, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    s.name.to_lowercase().contains(&needle)
        || s.message
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains(&needle)
}

#[tokio::test]
async fn every_filter_and_their_combinations_select_exactly_the_matching_resources() {
    let env = http::start().await;
    let (prod, dev) = (env.cluster("prod").await, env.cluster("dev").await);
    let mut all = seed::seed(&env.store, prod, 66).await;
    all.extend(seed::seed(&env.store, dev, 33).await);
    let (p, d) = (prod.to_string(), dev.to_string());
    let ks = |s: &Seeded| s.kind == "Kustomization";
    let cases: Vec<(String, BTreeSet<Uuid>)> = vec![
        (String::new(), ids(&all, |_| true)),
        (query(&[("cluster", &p)]), ids(&all, |s| s.cluster == prod)),
        (
            query(&[("cluster", "dev")]),
            ids(&all, |s| s.cluster == dev),
        ),
        (
            query(&[("cluster", "dev"), ("cluster", &p)]),
            ids(&all, |_| true),
        ),
        (
            query(&[("cluster", "nope"), ("cluster", &d)]),
            ids(&all, |s| s.cluster == dev),
        ),
        (query(&[("kind", "Kustomization")]), ids(&all, ks)),
        (query(&[("kind", "kustomization")]), ids(&all, ks)),
        (query(&[("kind", "ks")]), ids(&all, ks)),
        (
            query(&[("kind", "hr"), ("kind", "gitrepositories")]),
            ids(&all, |s| {
                s.kind == "HelmRelease" || s.kind == "GitRepository"
            }),
        ),
        (
            query(&[("namespace", "apps")]),
            ids(&all, |s| s.namespace == "apps"),
        ),
        (
            query(&[("namespace", "apps"), ("namespace", "infra")]),
            ids(&all, |s| s.namespace != "flux-system"),
        ),
        (
            query(&[("health", "failed")]),
            ids(&all, |s| s.health == "failed"),
        ),
        (
            query(&[("health", "stalled"), ("health", "unknown")]),
            ids(&all, |s| s.health == "stalled" || s.health == "unknown"),
        ),
        (
            query(&[("label", "team=a")]),
            ids(&all, |s| label(s, "team") == Some("a")),
        ),
        (
            query(&[("label", "team!=a")]),
            ids(&all, |s| label(s, "team") != Some("a")),
        ),
        (
            query(&[("label", "env")]),
            ids(&all, |s| label(s, "env").is_some()),
        ),
        (
            query(&[("label", "!env")]),
            ids(&all, |s| label(s, "env").is_none()),
        ),
        (
            query(&[("label", "env!=prod")]),
            ids(&all, |s| label(s, "env") != Some("prod")),
        ),
        (
            query(&[("label", "team in (a, b)")]),
            ids(&all, |s| matches!(label(s, "team"), Some("a" | "b"))),
        ),
        (
            query(&[("label", "env notin (dev)")]),
            ids(&all, |s| label(s, "env") != Some("dev")),
        ),
        (
            query(&[("label", "team=c,env=prod")]),
            ids(&all, |s| {
                label(s, "team") == Some("c") && label(s, "env") == Some("prod")
            }),
        ),
        (
            query(&[("label", "team=c"), ("label", "env=prod")]),
            ids(&all, |s| {
                label(s, "team") == Some("c") && label(s, "env") == Some("prod")
            }),
        ),
        (
            query(&[("q", "APP-001")]),
            ids(&all, |s| text_match(s, "app-001")),
        ),
        (
            query(&[("q", "health check")]),
            ids(&all, |s| text_match(s, "health check")),
        ),
        (query(&[("q", "%")]), ids(&all, |s| text_match(s, "%"))),
        (query(&[("q", "a_p")]), ids(&all, |s| text_match(s, "a_p"))),
        (
            query(&[
                ("cluster", "prod"),
                ("kind", "ks"),
                ("health", "failed"),
                ("namespace", "apps"),
                ("label", "env=prod"),
            ]),
            ids(&all, |s| {
                s.cluster == prod
                    && ks(s)
                    && s.health == "failed"
                    && s.namespace == "apps"
                    && label(s, "env") == Some("prod")
            }),
        ),
    ];
    assert!(
        !cases[23].1.is_empty() && cases[25].1.is_empty(),
        "the text cases test something"
    );
    for (q, want) in cases {
        assert_eq!(env.ids(&q).await, want, "query {q:?}");
    }
}

#[tokio::test]
async fn list_items_are_summaries_of_what_was_written() {
    let env = http::start().await;
    let prod = env.cluster("prod").await;
    let all = seed::seed(&env.store, prod, 11).await;
    let failed = all
        .iter()
        .find(|s| s.kind == "HelmRelease" && s.health == "failed")
        .expect("a failed release");
    let page = env
        .ok(&format!(
            "/api/v1/resources?{}",
            query(&[("q", &failed.name)])
        ))
        .await;
    let item = &page["items"][0];
    assert_eq!(page["total"], 1);
    assert_eq!(id_of(item), failed.id);
    assert_eq!(
        (item["cluster"].as_str(), item["clusterId"].as_str()),
        (Some("prod"), Some(prod.to_string().as_str()))
    );
    assert_eq!(
        (item["kind"].as_str(), item["apiGroup"].as_str()),
        (Some("HelmRelease"), Some("helm.toolkit.fluxcd.io"))
    );
    assert_eq!(
        (item["namespace"].as_str(), item["health"].as_str()),
        (Some(failed.namespace.as_str()), Some("failed"))
    );
    assert_eq!(item["message"].as_str(), failed.message.as_deref());
    assert_eq!(
        item["labels"],
        serde_json::to_value(&failed.labels).unwrap()
    );
    assert!(item.get("object").is_none(), "lists carry no full object");
}

/// The keys a sort orders by, from a list item.
fn sort_key(sort: &str, item: &Value) -> Vec<String> {
    let f = |k: &str| item[k].as_str().unwrap_or_default().to_string();
    let rank = [
        "failed",
        "stalled",
        "progressing",
        "unknown",
        "suspended",
        "ready",
    ];
    let health = rank
        .iter()
        .position(|h| *h == f("health"))
        .expect("health")
        .to_string();
    let updated = chrono::DateTime::parse_from_rfc3339(&f("updatedAt"))
        .expect("time")
        .timestamp_micros();
    let id = f("id");
    // Descending within an ascending key: the complement orders the other way.
    let newest_first = format!("{:020}", i64::MAX - updated);
    let id_descending: String = id
        .chars()
        .map(|c| {
            c.to_digit(16)
                .map_or(c, |d| char::from_digit(15 - d, 16).expect("hex"))
        })
        .collect();
    match sort.trim_start_matches('-') {
        "name" => vec![f("name"), f("namespace"), f("kind"), id],
        "namespace" => vec![f("namespace"), f("name"), f("kind"), id],
        "kind" => vec![f("kind"), f("namespace"), f("name"), id],
        "cluster" => vec![f("cluster"), f("namespace"), f("name"), f("kind"), id],
        "updated" => vec![format!("{updated:020}"), id],
        "health" => vec![health, f("name"), f("namespace"), f("kind"), id],
        "severity" => vec![health, newest_first, id_descending],
        other => panic!("no sort {other}"),
    }
}

#[tokio::test]
async fn every_sort_order_and_its_reverse_return_rows_in_the_documented_order() {
    let env = http::start().await;
    let (a, b) = (env.cluster("alpha").await, env.cluster("beta").await);
    let mut all = seed::seed(&env.store, b, 40).await;
    all.extend(seed::seed(&env.store, a, 30).await);
    // Touch a few so `updated` differs from insertion order.
    let touched: Vec<WriteOp> = all.iter().step_by(7).map(|s| touch(s, 1)).collect();
    seed::write(&env.store, &touched).await;
    let some = ["failed", "ready", "unknown"];
    let some_count = all
        .iter()
        .filter(|s| some.contains(&s.health.as_str()))
        .count();
    let sorts = [
        "name",
        "namespace",
        "kind",
        "cluster",
        "updated",
        "health",
        "severity",
    ];
    for sort in sorts {
        for sort in [sort.to_string(), format!("-{sort}")] {
            let filtered = format!("sort={sort}&health=failed&health=ready&health=unknown");
            for (query, count) in [(format!("sort={sort}"), all.len()), (filtered, some_count)] {
                let items = env.walk(&query, 9).await;
                assert_eq!(items.len(), count, "{query}");
                let mut expected = items.clone();
                expected.sort_by_key(|item| sort_key(&sort, item));
                if sort.starts_with('-') {
                    expected.reverse();
                }
                assert_eq!(items, expected, "{query}");
            }
        }
    }
    let first = env.ok("/api/v1/resources?limit=1").await;
    assert_eq!(
        sort_key("name", &first["items"][0]),
        sort_key(
            "name",
            &env.ok("/api/v1/resources?sort=name&limit=1").await["items"][0]
        ),
        "name is the default"
    );
}

/// The object with an annotation bumped to `n`: a real change, same identity.
fn touch(s: &Seeded, n: u64) -> WriteOp {
    let mut changed = s.clone();
    changed.object["metadata"]["annotations"]["test.fluxo.io/touch"] = Value::from(n.to_string());
    changed.upsert()
}

#[tokio::test]
async fn walking_all_pages_returns_every_resource_once_while_resources_keep_changing() {
    let env = http::start().await;
    let (a, b) = (env.cluster("alpha").await, env.cluster("beta").await);
    let mut all = seed::seed(&env.store, a, 900).await;
    all.extend(seed::seed(&env.store, b, 600).await);
    let expected: BTreeSet<Uuid> = all.iter().map(|s| s.id).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, all, stop) = (env.store.clone(), all.clone(), stop.clone());
        tokio::spawn(async move {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let ops: Vec<WriteOp> = all
                    .iter()
                    .skip((round as usize * 37) % 50)
                    .step_by(50)
                    .map(|s| touch(s, round))
                    .collect();
                store.write_batch(&ops).await.expect("concurrent write");
            }
            round
        })
    };
    for sort in ["name", "-cluster", "kind"] {
        let first = env
            .ok(&format!("/api/v1/resources?sort={sort}&limit=97"))
            .await;
        assert_eq!(first["total"].as_u64(), Some(all.len() as u64), "{sort}");
        assert_eq!(first["totalCapped"], false);
        let items = env.walk(&format!("sort={sort}"), 97).await;
        let seen: Vec<Uuid> = items.iter().map(id_of).collect();
        let unique: BTreeSet<Uuid> = seen.iter().copied().collect();
        assert_eq!(seen.len(), unique.len(), "{sort}: duplicates across pages");
        assert_eq!(unique, expected, "{sort}: gaps across pages");
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = writer.await.expect("writer");
    assert!(
        rounds >= 3,
        "the rows changed during the walks ({rounds} rounds)"
    );
    let second = env.ok("/api/v1/resources?limit=2").await;
    let token = second["continue"].as_str().expect("more pages");
    assert!(
        env.ok(&format!("/api/v1/resources?limit=2&continue={token}"))
            .await["total"]
            .is_null(),
        "total on page 1 only"
    );
}

#[tokio::test]
async fn the_first_page_counts_matches_exactly_up_to_ten_thousand() {
    let env = http::start().await;
    let (big, small) = (env.cluster("big").await, env.cluster("small").await);
    seed::seed(&env.store, big, 10_020).await;
    seed::seed(&env.store, small, 30).await;
    let page = env.ok("/api/v1/resources?limit=5").await;
    assert_eq!(
        (page["total"].as_i64(), page["totalCapped"].as_bool()),
        (Some(10_000), Some(true))
    );
    let page = env.ok("/api/v1/resources?limit=5&cluster=small").await;
    assert_eq!(
        (page["total"].as_i64(), page["totalCapped"].as_bool()),
        (Some(30), Some(false))
    );
    let page = env
        .ok("/api/v1/resources?limit=5&cluster=big&kind=hr")
        .await;
    let releases = (0..10_020)
        .filter(|i| {
            seed::TEMPLATES[i % seed::TEMPLATES.len()]
                .0
                .starts_with("helmrelease")
        })
        .count();
    assert_eq!(
        (page["total"].as_i64(), page["totalCapped"].as_bool()),
        (Some(releases as i64), Some(false))
    );
}

#[tokio::test]
async fn bad_parameters_are_refused_with_400_naming_the_parameter() {
    let env = http::start().await;
    let prod = env.cluster("prod").await;
    seed::seed(&env.store, prod, 5).await;
    let page = env.ok("/api/v1/resources?limit=2&sort=-updated").await;
    let token = page["continue"].as_str().expect("a cursor").to_string();
    let cases = [
        ("/api/v1/resources?health=bogus", "health"),
        ("/api/v1/resources?sort=size", "sort"),
        ("/api/v1/resources?limit=0", "limit"),
        ("/api/v1/resources?limit=1001", "limit"),
        ("/api/v1/resources?limit=ten", "limit"),
        ("/api/v1/resources?continue=not-a-cursor", "continue"),
        (
            &format!("/api/v1/resources?sort=name&continue={token}"),
            "continue",
        ),
        ("/api/v1/resources?kind=Deployment", "kind"),
        ("/api/v1/changes?op=patch", "op"),
        ("/api/v1/changes?since=yesterday", "since"),
        ("/api/v1/changes?resource=xyz", "resource"),
        ("/api/v1/changes?continue=AAAA", "continue"),
        ("/api/v1/events?type=Error", "type"),
        ("/api/v1/events?since=2024-13-01", "since"),
        ("/api/v1/events?limit=5000", "limit"),
    ];
    for (path, param) in cases {
        let (status, body) = env.get(path).await;
        assert_bad_param(status, &body, param);
    }
    // Selectors have a code of their own, shared with the selector limits.
    for path in [
        "/api/v1/resources?label=a%20b",
        "/api/v1/resources?label=env%20in%20(prod",
    ] {
        let (status, body) = env.get(path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_selector")),
            "{body}"
        );
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("`label`"), "{message}");
    }
    let (status, body) = env.get("/api/v1/resources/not-a-uuid").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_parameter")),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_resource_ids_are_404() {
    let env = http::start().await;
    let id = Uuid::new_v4();
    for path in [
        format!("/api/v1/resources/{id}"),
        format!("/api/v1/resources/{id}/changes"),
        format!("/api/v1/resources/{id}/events"),
    ] {
        let (status, body) = env.get(&path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(&id.to_string())),
            "{body}"
        );
    }
}
