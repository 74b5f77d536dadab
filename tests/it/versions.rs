//! Object versions and what changed (issue 14, item 3), through the real writer, the real
//! server and a fresh PostgreSQL: versions deduplicated by content, a summary per change on
//! the history API and the stream, diffs between any two versions, bad and pruned versions
//! refused with clear errors, and retention of versions with the change log and the cluster.

use std::time::Duration;

use flux_orchestrator::store::{ResourceKey, WriteOp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::db::TestDb;
use crate::support::stream::{self, Client, Env, setup, upsert, write};

const REV_A: &str = "main@sha1:0c2e8e1e0ed0b2b1d61a6f8a9b5f7e4c3d2a1b0f";
const REV_B: &str = "main@sha1:5d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f";

/// The Kustomization `apps/web` with its interval, applied revision, readiness and
/// (optionally) a reconcile request.
fn web(interval: &str, revision: &str, ready: bool, requested: Option<&str>) -> Value {
    let (status, reason) = if ready {
        ("True", "ReconciliationSucceeded")
    } else {
        ("False", "HealthCheckFailed")
    };
    let mut object = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "web", "namespace": "apps", "uid": "uid-web", "generation": 1,
                     "resourceVersion": format!("{}", rand_rv())},
        "spec": {"interval": interval, "path": "./web", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"observedGeneration": 1, "lastAppliedRevision": revision,
                   "conditions": [{"type": "Ready", "status": status, "reason": reason,
                                   "message": format!("Applied revision: {revision}"),
                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    });
    if let Some(at) = requested {
        object["metadata"]["annotations"] = json!({"reconcile.fluxcd.io/requestedAt": at});
    }
    object
}

/// A resourceVersion that differs on every call: it must never count as a change.
fn rand_rv() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Write one object per batch; returns the seq each produced.
async fn write_each(env: &Env, objects: &[Value]) -> Vec<i64> {
    let mut seqs = Vec::new();
    for o in objects {
        seqs.push(write(&env.store, vec![upsert(env.cluster, o)]).await);
    }
    seqs
}

async fn get(env: &Env, path: &str) -> (u16, Value) {
    let r = env
        .server
        .http()
        .get(env.server.url(path))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn ok(env: &Env, path: &str) -> Value {
    let (status, body) = get(env, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn web_id(env: &Env) -> Uuid {
    flux_orchestrator::store::resource_id(
        env.cluster,
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "apps",
        "web",
    )
}

async fn stored_versions(env: &Env, id: Uuid) -> i64 {
    env.db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM resource_versions WHERE resource_id = $1",
            &[&id],
        )
        .await
        .expect("count")
        .get(0)
}

fn strs<'a>(items: &'a Value, field: &str) -> Vec<&'a str> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v[field].as_str().unwrap_or("<null>"))
        .collect()
}

#[tokio::test]
async fn versions_are_deduplicated_by_content_and_every_change_says_what_changed() {
    let env = setup(&[]).await;
    let id = web_id(&env);
    let a = web("10m0s", REV_A, true, None);
    let b = web("10m0s", REV_B, false, None);
    // A, B, A again (only resourceVersion differs from the first A), then an unchanged rewrite.
    let seqs = write_each(&env, &[a.clone(), b, web("10m0s", REV_A, true, None)]).await;
    let out = env
        .store
        .write_batch(&[upsert(env.cluster, &a)])
        .await
        .expect("write");
    assert_eq!(
        (out.unchanged, out.max_seq),
        (1, None),
        "same content: no change"
    );

    let versions = ok(&env, &format!("/api/v1/resources/{id}/versions")).await;
    let items = &versions["items"];
    let listed: Vec<i64> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [seqs[2], seqs[1], seqs[0]], "newest first");
    let hashes = strs(items, "version");
    assert_eq!(hashes[0], hashes[2], "flipping back is the same version");
    assert_ne!(hashes[0], hashes[1]);
    assert_eq!(
        strs(items, "summary"),
        [
            "Ready False → True (ReconciliationSucceeded); status.lastAppliedRevision main@sha1:5d1f0a9b → main@sha1:0c2e8e1e",
            "Ready True → False (HealthCheckFailed); status.lastAppliedRevision main@sha1:0c2e8e1e → main@sha1:5d1f0a9b",
            "<null>",
        ]
    );
    assert_eq!(strs(items, "health"), ["ready", "failed", "ready"]);
    // Two distinct contents, each stored once; the current one lives in its resource row.
    assert_eq!(stored_versions(&env, id).await, 2);

    // The history API and the stream carry the same summary and version.
    let history = ok(&env, &format!("/api/v1/resources/{id}/changes")).await;
    assert_eq!(
        strs(&history["items"], "summary"),
        strs(items, "summary"),
        "history says what changed"
    );
    assert_eq!(strs(&history["items"], "version"), hashes);
    let mut client = Client::connect(&env.server).await;
    let (_, replayed) = client.subscribe(Some(0), json!({})).await;
    let changes: Vec<&Value> = replayed.iter().filter(|m| m["type"] == "change").collect();
    let streamed: Vec<&str> = changes
        .iter()
        .rev()
        .map(|m| m["summary"].as_str().unwrap_or("<null>"))
        .collect();
    assert_eq!(streamed, strs(items, "summary"), "replayed with summaries");
    write(
        &env.store,
        vec![upsert(env.cluster, &web("5m0s", REV_A, true, None))],
    )
    .await;
    let live = client.next_of("change").await;
    assert_eq!(live["summary"], "spec.interval 10m0s → 5m0s", "live too");
}

#[tokio::test]
async fn a_diff_between_any_two_versions_classifies_every_changed_field() {
    let env = setup(&[]).await;
    let id = web_id(&env);
    let seqs = write_each(
        &env,
        &[
            web("10m0s", REV_A, true, None),
            web("5m0s", REV_A, true, Some("2026-05-02T08:30:00Z")),
            web("5m0s", REV_B, false, Some("2026-05-02T08:30:00Z")),
        ],
    )
    .await;
    let d = ok(
        &env,
        &format!(
            "/api/v1/resources/{id}/diff?from={}&to={}",
            seqs[0], seqs[2]
        ),
    )
    .await;
    assert_eq!(
        (d["from"]["seq"].as_i64(), d["to"]["seq"].as_i64()),
        (Some(seqs[0]), Some(seqs[2]))
    );
    assert_eq!(d["from"]["object"]["spec"]["interval"], "10m0s");
    assert!(
        d["from"]["object"]["metadata"]
            .get("resourceVersion")
            .is_none(),
        "a version is the content the hash covers"
    );
    assert_eq!(d["to"]["object"]["spec"]["interval"], "5m0s");
    let fields: Vec<(&str, &str, Option<&str>)> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap(),
                c["section"].as_str().unwrap(),
                c["meaning"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("spec.interval", "spec", None),
            ("status.conditions[Ready].message", "status", None),
            ("status.conditions[Ready].reason", "status", None),
            ("status.conditions[Ready].status", "status", None),
            ("status.lastAppliedRevision", "status", None),
            (
                "metadata.annotations[\"reconcile.fluxcd.io/requestedAt\"]",
                "metadata",
                Some("reconcileRequested")
            ),
        ]
    );
    let interval = &d["changes"][0];
    assert_eq!(
        (&interval["before"], &interval["after"], &interval["added"]),
        (&json!("10m0s"), &json!("5m0s"), &json!(false))
    );
    assert_eq!(d["changes"][5]["added"], true, "the annotation was added");
    assert_eq!(
        d["summary"],
        "spec.interval 10m0s → 5m0s; Ready True → False (HealthCheckFailed); \
         status.lastAppliedRevision main@sha1:0c2e8e1e → main@sha1:5d1f0a9b; reconcile requested"
    );

    // Either order; without `from`, the version before `to`; a version against itself.
    let back = ok(
        &env,
        &format!(
            "/api/v1/resources/{id}/diff?from={}&to={}",
            seqs[2], seqs[0]
        ),
    )
    .await;
    assert_eq!(back["changes"][0]["before"], "5m0s");
    let previous = ok(&env, &format!("/api/v1/resources/{id}/diff?to={}", seqs[1])).await;
    assert_eq!(previous["from"]["seq"].as_i64(), Some(seqs[0]));
    assert_eq!(
        previous["summary"],
        "spec.interval 10m0s → 5m0s; reconcile requested"
    );
    let same = ok(
        &env,
        &format!(
            "/api/v1/resources/{id}/diff?from={}&to={}",
            seqs[1], seqs[1]
        ),
    )
    .await;
    assert_eq!(
        (same["changes"].clone(), same["summary"].clone()),
        (json!([]), json!(""))
    );

    // The reconcile request is named once it is an annotation change of its own.
    write_each(
        &env,
        &[web("5m0s", REV_B, false, Some("2026-05-03T09:00:00Z"))],
    )
    .await;
    let versions = ok(&env, &format!("/api/v1/resources/{id}/versions?limit=1")).await;
    assert_eq!(versions["items"][0]["summary"], "reconcile requested");
    assert!(versions["continue"].is_string(), "more pages");
    let older = ok(
        &env,
        &format!(
            "/api/v1/resources/{id}/versions?limit=10&continue={}",
            versions["continue"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(older["items"].as_array().unwrap().len(), 3);
}

async fn assert_error(env: &Env, path: &str, status: u16, code: &str) {
    let (got, body) = get(env, path).await;
    assert_eq!(
        (got, body["code"].as_str()),
        (status, Some(code)),
        "{path}: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn bad_unknown_and_unrecorded_versions_are_refused_with_a_clear_4xx() {
    let env = setup(&[]).await;
    let id = web_id(&env);
    let seqs = write_each(
        &env,
        &[
            web("10m0s", REV_A, true, None),
            web("5m0s", REV_A, true, None),
        ],
    )
    .await;
    let other = write(
        &env.store,
        vec![upsert(
            env.cluster,
            &stream::kustomization("apps", "other", true, 1),
        )],
    )
    .await;
    let key = ResourceKey {
        cluster_id: env.cluster,
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        kind: "Kustomization".into(),
        namespace: "apps".into(),
        name: "web".into(),
    };
    let base = format!("/api/v1/resources/{id}");
    assert_error(&env, &format!("{base}/diff"), 400, "invalid_parameter").await;
    assert_error(
        &env,
        &format!("{base}/diff?to=abc"),
        400,
        "invalid_parameter",
    )
    .await;
    assert_error(
        &env,
        &format!("{base}/diff?to={other}"),
        400,
        "not_a_version",
    )
    .await;
    assert_error(
        &env,
        &format!("{base}/diff?to=99999999"),
        400,
        "not_a_version",
    )
    .await;
    assert_error(
        &env,
        &format!("{base}/diff?from={other}&to={}", seqs[1]),
        400,
        "not_a_version",
    )
    .await;
    assert_error(
        &env,
        &format!("{base}/diff?to={}", seqs[0]),
        400,
        "no_previous_version",
    )
    .await;
    assert_error(
        &env,
        &format!("{base}/versions?limit=0"),
        400,
        "invalid_parameter",
    )
    .await;
    assert_error(
        &env,
        &format!("{base}/versions?continue=nonsense"),
        400,
        "invalid_parameter",
    )
    .await;
    let unknown = Uuid::new_v4();
    assert_error(
        &env,
        &format!("/api/v1/resources/{unknown}/versions"),
        404,
        "not_found",
    )
    .await;
    assert_error(
        &env,
        &format!("/api/v1/resources/{unknown}/diff?to=1"),
        404,
        "not_found",
    )
    .await;
    assert_error(
        &env,
        "/api/v1/resources/not-a-uuid/diff?to=1",
        400,
        "invalid_parameter",
    )
    .await;

    // A delete produces no version; the versions before it stay comparable.
    let deleted = write(&env.store, vec![WriteOp::Delete(key)]).await;
    assert_error(
        &env,
        &format!("{base}/diff?to={deleted}"),
        400,
        "not_a_version",
    )
    .await;
    let d = ok(
        &env,
        &format!("{base}/diff?from={}&to={}", seqs[0], seqs[1]),
    )
    .await;
    assert_eq!(
        d["summary"], "spec.interval 10m0s → 5m0s",
        "after the delete"
    );

    // A change logged before versions were kept.
    env.db
        .client()
        .await
        .execute(
            "UPDATE resource_changes SET content_hash = NULL WHERE seq = $1",
            &[&seqs[0]],
        )
        .await
        .unwrap();
    assert_error(
        &env,
        &format!("{base}/diff?to={}", seqs[0]),
        410,
        "version_not_recorded",
    )
    .await;
}

#[tokio::test]
async fn retention_removes_the_versions_no_retained_change_references() {
    let env = setup(&[]).await;
    let id = web_id(&env);
    let intervals = ["1m0s", "2m0s", "3m0s", "4m0s"];
    let objects: Vec<Value> = intervals
        .iter()
        .map(|i| web(i, REV_A, true, None))
        .collect();
    let seqs = write_each(&env, &objects).await;
    assert_eq!(stored_versions(&env, id).await, 4, "each version once");

    // Keep the newest two changes: versions 3 (referenced) and 4 (current) stay.
    let pruned = env
        .store
        .prune_changes(Duration::from_secs(86_400), 2, 10_000)
        .await
        .expect("prune");
    assert_eq!((pruned.changes, pruned.versions), (2, 2));
    assert_eq!(stored_versions(&env, id).await, 2);
    let base = format!("/api/v1/resources/{id}");
    assert_error(
        &env,
        &format!("{base}/diff?to={}", seqs[1]),
        410,
        "version_pruned",
    )
    .await;
    assert_error(
        &env,
        &format!("{base}/diff?to={}", seqs[2]),
        410,
        "version_pruned",
    )
    .await;
    let d = ok(&env, &format!("{base}/diff?to={}", seqs[3])).await;
    assert_eq!(d["summary"], "spec.interval 3m0s → 4m0s");
    let listed = ok(&env, &format!("{base}/versions")).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    // With every change pruned, the current version stays: it is the object.
    let all = Duration::from_secs(86_400);
    env.store
        .prune_changes(all, 0, 10_000)
        .await
        .expect("prune all");
    assert_eq!(stored_versions(&env, id).await, 1);
    let detail = ok(&env, &base).await;
    assert_eq!(detail["object"]["spec"]["interval"], "4m0s");
    assert!(
        detail["object"]["metadata"]["resourceVersion"].is_string(),
        "the row's resourceVersion is put back: {}",
        detail["object"]["metadata"]
    );
    // Replaced, it goes with the next pruning of the object's changes.
    write_each(&env, &[web("9m0s", REV_A, true, None)]).await;
    assert_eq!(stored_versions(&env, id).await, 2);
    env.store
        .prune_changes(all, 0, 10_000)
        .await
        .expect("prune all");
    assert_eq!(stored_versions(&env, id).await, 1);
    assert_eq!(ok(&env, &base).await["object"]["spec"]["interval"], "9m0s");
}

#[tokio::test]
async fn deleting_a_cluster_deletes_its_versions() {
    let env = setup(&[]).await;
    let id = web_id(&env);
    let seqs = write_each(
        &env,
        &[
            web("10m0s", REV_A, true, None),
            web("5m0s", REV_A, true, None),
        ],
    )
    .await;
    assert_eq!(stored_versions(&env, id).await, 2);
    let r = env
        .server
        .http()
        .delete(env.server.url(&format!("/api/v1/clusters/{}", env.cluster)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(stored_versions(&env, id).await, 0);
    // The change log outlives the cluster until retention; its versions do not.
    let base = format!("/api/v1/resources/{id}");
    assert_error(
        &env,
        &format!("{base}/diff?from={}&to={}", seqs[0], seqs[1]),
        410,
        "version_pruned",
    )
    .await;
}

#[tokio::test]
async fn upgrading_moves_each_stored_object_into_its_current_version() {
    let db = TestDb::create().await;
    let client = db.client().await;
    // The schema as the previous release left it: migrations 1–7, recorded as the runner does.
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, \
             checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .unwrap();
    for m in flux_orchestrator::store::MIGRATIONS
        .iter()
        .filter(|m| m.version < 10)
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
    let cluster = Uuid::new_v4();
    client
        .execute(
            "INSERT INTO clusters (id, name, source, server_url, credentials) \
             VALUES ($1, 'old', 'kubeconfig', 'https://old', '\\x00')",
            &[&cluster],
        )
        .await
        .unwrap();
    let object = web("10m0s", REV_A, true, None);
    let snapshot = flux_orchestrator::flux::snapshot(&object).unwrap();
    let hash = flux_orchestrator::store::content_hash(&snapshot.object);
    let id = flux_orchestrator::store::resource_id(
        cluster,
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "apps",
        "web",
    );
    let seq: i64 = client
        .query_one(
            "INSERT INTO resource_changes (cluster_id, resource_id, api_group, kind, namespace, name, op, health_after) \
             VALUES ($1, $2, 'kustomize.toolkit.fluxcd.io', 'Kustomization', 'apps', 'web', 'upsert', 'ready') RETURNING seq",
            &[&cluster, &id],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO flux_resources (cluster_id, api_group, kind, namespace, name, id, api_version, \
             resource_version, health, object, content_hash, last_seq) \
             VALUES ($1, 'kustomize.toolkit.fluxcd.io', 'Kustomization', 'apps', 'web', $2, 'v1', '77', \
                     'ready', $3, $4, $5)",
            &[&cluster, &id, &snapshot.object, &hash, &seq],
        )
        .await
        .unwrap();

    let store = db.store();
    let pending = flux_orchestrator::store::MIGRATIONS
        .iter()
        .filter(|m| m.version >= 10)
        .count();
    assert_eq!(store.migrate().await.expect("migrate"), pending);
    // Migration 0011 lists the stored object for the edges backfill.
    let listed: i64 = client
        .query_one("SELECT count(*) FROM resource_edges_backfill", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 1);
    let mut want = snapshot.object.clone();
    want["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    assert_eq!(
        store.version_object(id, &hash).await.unwrap(),
        Some(want),
        "the object, without its resourceVersion"
    );
    let detail = store.resource(id).await.unwrap().expect("still there");
    assert_eq!(detail.object["metadata"]["resourceVersion"], "77");
    assert_eq!(detail.object["spec"], object["spec"]);
    match store.version_at(id, seq).await.unwrap() {
        flux_orchestrator::store::queries::VersionAt::Found(v) => assert_eq!(v.hash, hash),
        other => panic!("the newest change produced the current version: {other:?}"),
    }
    // The next change says what it changed.
    let out = store
        .write_batch(&[upsert(cluster, &web("5m0s", REV_A, true, None))])
        .await
        .unwrap();
    let summary: Option<String> = client
        .query_one(
            "SELECT summary FROM resource_changes WHERE seq = $1",
            &[&out.max_seq.unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(summary.as_deref(), Some("spec.interval 10m0s → 5m0s"));
}
