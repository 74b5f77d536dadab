//! Rollouts on a generated history: a known sequence of changes across 3 clusters written
//! through the real writer (`Store::write_batch`), each step's recorded times then set to a
//! known moment (the writer stamps `now()`; the history is placed 3 hours back).
//!
//! Source `apps` (GitRepository https://example.com/apps, branch main) on every cluster;
//! consumers: alpha/web, alpha/api, beta/web, beta/api, gamma/web. Source `tools` (another
//! URL) on alpha only, consumer alpha/tools.
//!
//! | step | at | what |
//! |------|----|------|
//! | S0 | T0 | every consumer Ready at A (tools at T1) |
//! | S1 | T0+10m | alpha/web Ready at B |
//! | S2 | T0+12m | beta/web Ready at B |
//! | S3 | T0+13m | alpha/api Ready at B |
//! | S4 | T0+15m | gamma/web fails at B (applied A, attempted B) |
//!
//! beta/api stays at A: B is applied 3, pending 1, failing 1; lags 0, 120, 180 s.

use chrono::{DateTime, Utc};
use flux_orchestrator::flux;
use flux_orchestrator::store::{Store, WriteOp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{client_with, create_token};
use crate::support::fleet::register_team;

const APPS: &str = "GitRepository|https://example.com/apps|branch=main";
const TOOLS: &str = "GitRepository|https://example.com/tools|branch=main";

fn rev(name: &str) -> String {
    format!("main@sha1:{}", name.repeat(40).to_lowercase())
}

fn upsert(cluster: Uuid, object: Value) -> WriteOp {
    WriteOp::Upsert {
        cluster_id: cluster,
        snapshot: Box::new(flux::snapshot(&object).expect("a Flux object")),
        backstop: false,
    }
}

fn git(cluster: Uuid, name: &str, url: &str, revision: &str) -> WriteOp {
    upsert(
        cluster,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "apps", "generation": 1},
            "spec": {"interval": "1m", "url": url, "ref": {"branch": "main"}},
            "status": {"observedGeneration": 1, "artifact": {"revision": rev(revision)},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                                       "message": "stored artifact", "observedGeneration": 1,
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }),
    )
}

/// A Kustomization of source `source` that applied `applied` and attempted `attempted`;
/// Ready when they are equal, else failed with a health-check message.
fn ks(cluster: Uuid, name: &str, source: &str, applied: &str, attempted: &str) -> WriteOp {
    let ready = applied == attempted;
    let (status, reason, message) = if ready {
        (
            "True",
            "ReconciliationSucceeded",
            format!("Applied revision: {}", rev(applied)),
        )
    } else {
        (
            "False",
            "HealthCheckFailed",
            "health check failed after 5m: timeout waiting for Deployment/apps/web".into(),
        )
    };
    upsert(
        cluster,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "apps", "generation": 1},
            "spec": {"interval": "10m", "path": "./", "sourceRef": {"kind": "GitRepository", "name": source}},
            "status": {"observedGeneration": 1, "lastAppliedRevision": rev(applied),
                       "lastAttemptedRevision": rev(attempted),
                       "conditions": [{"type": "Ready", "status": status, "reason": reason,
                                       "message": message, "observedGeneration": 1,
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }),
    )
}

struct History {
    server: TestServer,
    http: reqwest::Client,
    store: Store,
    t0: DateTime<Utc>,
    /// alpha, beta (team red), gamma (team blue).
    clusters: [Uuid; 3],
    db: TestDb,
}

fn min(m: i64) -> chrono::Duration {
    chrono::Duration::minutes(m)
}

impl History {
    /// Write `ops` in one batch and date what it recorded `at`.
    async fn step(&self, at: DateTime<Utc>, ops: Vec<WriteOp>) {
        let db = self.db.client().await;
        let mark: DateTime<Utc> = db
            .query_one("SELECT clock_timestamp()", &[])
            .await
            .unwrap()
            .get(0);
        self.store.write_batch(&ops).await.expect("write");
        for column in ["first_seen_at", "applied_at"] {
            db.execute(
                &format!("UPDATE rollout_applies SET {column} = $1 WHERE {column} >= $2"),
                &[&at, &mark],
            )
            .await
            .unwrap();
        }
    }

    async fn get_with(&self, http: &reqwest::Client, query: &str) -> (u16, Value) {
        let url = self.server.url(&format!("/api/v1/rollouts{query}"));
        let r = http.get(url).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn ok(&self, query: &str) -> Value {
        let (status, body) = self.get_with(&self.http, query).await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    }
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
    let apps = "https://example.com/apps.git";
    let mut s0 = vec![];
    for c in [a, b, g] {
        s0.push(git(c, "apps", apps, "A"));
        s0.push(ks(c, "web", "apps", "A", "A"));
    }
    s0.push(ks(a, "api", "apps", "A", "A"));
    s0.push(ks(b, "api", "apps", "A", "A"));
    h.step(h.t0, s0).await;
    let tools = vec![
        git(a, "tools", "https://example.com/tools", "1"),
        ks(a, "tools", "tools", "1", "1"),
    ];
    h.step(h.t0 + min(1), tools).await;
    let s1 = vec![git(a, "apps", apps, "B"), ks(a, "web", "apps", "B", "B")];
    h.step(h.t0 + min(10), s1).await;
    let s2 = vec![git(b, "apps", apps, "B"), ks(b, "web", "apps", "B", "B")];
    h.step(h.t0 + min(12), s2).await;
    h.step(h.t0 + min(13), vec![ks(a, "api", "apps", "B", "B")])
        .await;
    let s4 = vec![git(g, "apps", apps, "B"), ks(g, "web", "apps", "A", "B")];
    h.step(h.t0 + min(15), s4).await;
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn counts(revision: &Value) -> [u64; 4] {
    let c = &revision["counts"];
    ["applied", "pending", "failing", "superseded"].map(|k| c[k].as_u64().unwrap())
}

/// (cluster, state) of a revision's clusters.
fn cluster_states(revision: &Value) -> Vec<(String, String)> {
    revision["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cluster"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn source<'a>(page: &'a Value, key: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == key)
        .unwrap_or_else(|| panic!("{key} not in {page}"))
}

#[tokio::test]
async fn a_revision_reaching_two_clusters_and_failing_on_the_third_is_counted_and_timed() {
    let h = history().await;
    let page = h.ok("").await;
    let keys: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [APPS, TOOLS], "{page}");
    assert!(page["continue"].is_null());
    let apps = source(&page, APPS);
    assert_eq!(
        (apps["consumers"].as_u64(), apps["clusters"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(apps["latest"], rev("B"));
    let b = &apps["revisions"][0];
    assert_eq!(b["revision"], rev("B"));
    assert_eq!(counts(b), [3, 1, 1, 0], "{b}");
    assert_eq!(time(&b["firstSeenAt"]), Some(h.t0 + min(10)));
    assert_eq!(time(&b["firstAppliedAt"]), Some(h.t0 + min(10)));
    assert_eq!(time(&b["lastAppliedAt"]), Some(h.t0 + min(13)));
    assert_eq!(
        (b["medianSeconds"].as_f64(), b["p90Seconds"].as_f64()),
        (Some(120.0), Some(180.0))
    );
    let expected = [
        ("alpha", "applied"),
        ("beta", "pending"),
        ("gamma", "failing"),
    ];
    assert_eq!(cluster_states(b), pairs(&expected), "{b}");
    let failing = &b["clusters"][2]["objects"][0];
    assert_eq!(failing["name"], "web");
    assert_eq!(failing["health"], "failed");
    assert_eq!(failing["lastAttemptedRevision"], rev("B"));
    assert!(
        failing["message"]
            .as_str()
            .unwrap()
            .contains("health check failed")
    );
    let pending = &b["clusters"][1]["objects"];
    let beta: Vec<(&str, &str)> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["state"].as_str().unwrap()))
        .collect();
    assert_eq!(beta, [("api", "pending"), ("web", "applied")]);
    let a = &apps["revisions"][1];
    assert_eq!(a["revision"], rev("A"));
    assert_eq!(counts(a), [5, 0, 0, 0], "{a}");
    assert_eq!(
        (a["medianSeconds"].as_f64(), a["p90Seconds"].as_f64()),
        (Some(0.0), Some(0.0))
    );
}

#[tokio::test]
async fn filters_narrow_the_consumers_and_pages_continue_by_source() {
    let h = history().await;
    let red = h.ok("?clusterSelector=team%3Dred").await;
    let b = &source(&red, APPS)["revisions"][0];
    assert_eq!(counts(b), [3, 1, 0, 0], "{b}");
    let gamma = h.ok("?cluster=gamma").await;
    assert_eq!(gamma["items"].as_array().unwrap().len(), 1, "{gamma}");
    assert_eq!(counts(&source(&gamma, APPS)["revisions"][0]), [0, 0, 1, 0]);
    let both = h.ok("?cluster=gamma&clusterSelector=team%3Dred").await;
    assert_eq!(both["items"], json!([]), "{both}");
    for empty in [
        "?kind=HelmRelease",
        "?namespace=other",
        "?source=GitRepository%7Cnope",
    ] {
        assert_eq!(h.ok(empty).await["items"], json!([]), "{empty}");
    }
    let one = h.ok(&format!("?source={}", urlencoding(TOOLS))).await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["items"][0]["revisions"][0]["counts"]["applied"], 1);
    let a = h.clusters[0];
    let id = |kind: &str, group: &str, name: &str| {
        flux_orchestrator::store::resource_id(a, group, kind, "apps", name)
    };
    let consumer = id("Kustomization", "kustomize.toolkit.fluxcd.io", "tools");
    let repo = id("GitRepository", "source.toolkit.fluxcd.io", "apps");
    for (resource, key) in [(consumer, TOOLS), (repo, APPS)] {
        let page = h.ok(&format!("?resource={resource}")).await;
        let keys: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["source"].as_str().unwrap())
            .collect();
        assert_eq!(keys, [key], "{page}");
    }
    let first = h.ok("?limit=1&revisions=1").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["source"], APPS);
    assert_eq!(first["items"][0]["revisions"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["revisionsTotal"], 2);
    let token = first["continue"].as_str().expect("a continue token");
    let second = h.ok(&format!("?limit=1&continue={token}")).await;
    assert_eq!(second["items"][0]["source"], TOOLS);
    assert!(second["continue"].is_null());
}

fn urlencoding(s: &str) -> String {
    s.replace('%', "%25")
        .replace('|', "%7C")
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let h = history().await;
    for (query, name) in [
        ("?kind=GitRepository", "kind"),
        ("?kind=nope", "kind"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?revisions=51", "revisions"),
        ("?continue=%21%21", "continue"),
        ("?resource=nope", "resource"),
        ("?clusterSelector=team%20in%20(", "clusterSelector"),
    ] {
        let (status, body) = h.get_with(&h.http, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{name}`")), "{query}: {message}");
    }
}

#[tokio::test]
async fn a_scoped_caller_sees_only_its_clusters() {
    let h = history().await;
    let (token, _) = create_token(&h.server, "red", "viewer", json!({"team": "red"})).await;
    let red = client_with(&token);
    let (status, page) = h.get_with(&red, "").await;
    assert_eq!(status, 200, "{page}");
    let b = &source(&page, APPS)["revisions"][0];
    assert_eq!(counts(b), [3, 1, 0, 0], "{b}");
    let names: Vec<String> = cluster_states(b).into_iter().map(|(c, _)| c).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let (status, _) = h.get_with(&red, "?cluster=gamma").await;
    assert_eq!(status, 403);
    let (status, page) = h.get_with(&red, "?clusterSelector=team%3Dblue").await;
    assert_eq!((status, &page["items"]), (200, &json!([])));
}

#[tokio::test]
async fn a_consumer_keeps_its_ten_newest_revisions_and_takes_them_along_when_deleted() {
    let h = history().await;
    let a = h.clusters[0];
    for i in 0..12 {
        let r = format!("t{i:02}");
        h.step(h.t0 + min(20 + i), vec![ks(a, "tools", "tools", &r, &r)])
            .await;
    }
    let db = h.db.client().await;
    let id = flux_orchestrator::store::resource_id(
        a,
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "apps",
        "tools",
    );
    let kept: Vec<String> = db
        .query(
            "SELECT revision FROM rollout_applies WHERE resource_id = $1 ORDER BY first_seen_at",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<String> = (2..12).map(|i| rev(&format!("t{i:02}"))).collect();
    assert_eq!(kept, expected);
    let key = flux_orchestrator::store::ResourceKey {
        cluster_id: a,
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        kind: "Kustomization".into(),
        namespace: "apps".into(),
        name: "tools".into(),
    };
    h.store.write_batch(&[WriteOp::Delete(key)]).await.unwrap();
    let left: i64 = db
        .query_one(
            "SELECT count(*) FROM rollout_applies WHERE resource_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let page = h.ok("").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

/// The schema before migration 0016, recorded as the runner does.
async fn schema_before_rollouts(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, \
             checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .unwrap();
    for m in flux_orchestrator::store::MIGRATIONS
        .iter()
        .filter(|m| m.version < 16)
    {
        client.batch_execute(m.sql).await.unwrap();
        client
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&m.version, &m.name, &m.checksum()],
            )
            .await
            .unwrap();
    }
}

/// Store `op`'s object as a release before 0016 would have: its row and current version.
async fn stored_before(client: &tokio_postgres::Client, cluster: Uuid, op: &WriteOp) -> Uuid {
    let WriteOp::Upsert { snapshot: s, .. } = op else {
        unreachable!()
    };
    let id = flux_orchestrator::store::resource_id(
        cluster,
        &s.api_group,
        &s.kind,
        &s.namespace,
        &s.name,
    );
    let hash = flux_orchestrator::store::content_hash(&s.object);
    client
        .execute(
            "INSERT INTO resource_versions (resource_id, content_hash, cluster_id, object) VALUES ($1, $2, $3, $4)",
            &[&id, &hash, &cluster, &s.object],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO flux_resources (cluster_id, api_group, kind, namespace, name, id, api_version, health, \
             revision, last_attempted_revision, content_hash, last_seq, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'v1', $7, $8, $9, $10, 1, '2026-01-01T00:00:00Z')",
            &[&cluster, &s.api_group, &s.kind, &s.namespace, &s.name, &id, &s.health.as_str(),
              &s.revision, &s.last_attempted_revision, &hash],
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn upgrading_records_the_revisions_and_charts_of_consumers_stored_before() {
    let db = TestDb::create().await;
    let client = db.client().await;
    schema_before_rollouts(&client).await;
    let cluster = Uuid::new_v4();
    client
        .execute(
            "INSERT INTO clusters (id, name, source, server_url, credentials) \
             VALUES ($1, 'old', 'kubeconfig', 'https://old', '\\x00')",
            &[&cluster],
        )
        .await
        .unwrap();
    let ready = stored_before(&client, cluster, &ks(cluster, "web", "apps", "A", "A")).await;
    let failing = stored_before(&client, cluster, &ks(cluster, "api", "apps", "A", "B")).await;
    let helm = seed_helm_release(cluster);
    let release = stored_before(&client, cluster, &helm).await;
    let pending = flux_orchestrator::store::MIGRATIONS
        .iter()
        .filter(|m| m.version >= 16)
        .count();
    assert_eq!(db.store().migrate().await.expect("migrate"), pending);
    // Applied: what a Ready consumer is at (dated by its last write); attempted: the rest. A
    // consumer failing now applied its revision at an unknown time: not recorded.
    let rows: Vec<(Uuid, String, bool)> = client
        .query(
            "SELECT resource_id, revision, applied_at IS NOT NULL FROM rollout_applies \
             ORDER BY resource_id = $1 DESC, resource_id = $2 DESC, revision",
            &[&ready, &failing],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let WriteOp::Upsert { snapshot: hr, .. } = &helm else {
        unreachable!()
    };
    let chart_version = hr.revision.clone().unwrap();
    assert_eq!(
        rows,
        [
            (ready, rev("A"), true),
            (failing, rev("B"), false),
            (release, chart_version, true),
        ]
    );
    let chart: String = client
        .query_one(
            "SELECT chart FROM rollout_charts WHERE resource_id = $1",
            &[&release],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(chart, "podinfo");
}

fn seed_helm_release(cluster: Uuid) -> WriteOp {
    let obj = crate::support::seed::fixture("helmrelease-ready");
    upsert(cluster, obj)
}
