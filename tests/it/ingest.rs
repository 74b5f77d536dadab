//! Ingest against the simulator and a real PostgreSQL: watches, relists, faults, actions.

use std::time::{Duration, Instant};

use fluxo_sim::{FluxFlavor, Scenario, SimCluster, SimOptions, Verb};
use serde_json::{Value, json};

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{
    FAST_INGEST, cluster_status, db_state, register, sim, sim_state, wait_for, wait_in_sync,
    wait_state,
};
use crate::support::proxy::Proxy;

const SYNC: Duration = Duration::from_secs(20);

async fn start(db: &TestDb) -> TestServer {
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    server
}

fn ready_patch(message: &str, revision: &str) -> Value {
    json!({"status": {"lastAppliedRevision": revision, "conditions": [{
        "type": "Ready", "status": "False", "reason": "HealthCheckFailed", "message": message,
        "lastTransitionTime": "2026-11-26T10:00:00Z", "observedGeneration": 1
    }]}})
}

#[tokio::test]
async fn a_registered_cluster_is_listed_into_the_database_and_reports_ready() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("alpha", 5).await;
    let id = register(&server, "alpha", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    wait_state(&server, id, "ready", SYNC).await;
    let status = cluster_status(&server, id).await;
    assert!(
        status["kubernetesVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with('v')),
        "{status}"
    );
    assert_eq!(
        status["kinds"]["Kustomization"]["state"], "watching",
        "{status}"
    );
    assert_eq!(status["kinds"]["Kustomization"]["version"], "v1");
    assert_eq!(status["kinds"]["HelmRelease"]["version"], "v2");
    assert_eq!(status["kinds"]["Event"]["state"], "watching");
    assert_eq!(status["fluxVersion"], "v2.9.0", "{status}");
    let events: i64 = client
        .query_one("SELECT count(*) FROM flux_events", &[])
        .await
        .unwrap()
        .get(0);
    assert!(events > 0, "failing objects' Warning events are stored");
    // Every list and watch of the cluster (Flux kinds, Events, workloads) shares one HTTP/2
    // connection, as client-go's do, instead of a TCP+TLS connection each.
    let counts = sim.request_counts();
    wait_for("the watches to share one connection", SYNC, || async {
        counts.connections_open() == 1
    })
    .await;
    let watches = counts.total(Verb::Watch);
    assert!(watches >= 14, "{watches} watches");
    assert_eq!(counts.connections_open(), 1, "{watches} watches");
}

#[tokio::test]
async fn a_change_in_the_cluster_reaches_the_database_within_a_second_and_is_logged() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("beta", 3).await;
    let id = register(&server, "beta", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    let (ns, name) = sim.objects().keys("Kustomization")[0].clone();
    let before: i64 = client
        .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
        .await
        .unwrap()
        .get(0);
    let started = Instant::now();
    sim.objects()
        .patch(
            "Kustomization",
            &ns,
            &name,
            &ready_patch("deployment apps/web not ready", "main@sha1:abc"),
        )
        .unwrap();
    wait_for("the failure in the database", Duration::from_secs(1), || async {
        let row = client
            .query_opt("SELECT health, message FROM flux_resources WHERE cluster_id = $1 AND kind = 'Kustomization' AND namespace = $2 AND name = $3", &[&id, &ns, &name])
            .await
            .unwrap();
        row.is_some_and(|r| r.get::<_, String>(0) == "failed" && r.get::<_, Option<String>>(1).as_deref() == Some("deployment apps/web not ready"))
    })
    .await;
    eprintln!("simulator → database: {:?}", started.elapsed());
    let change = client
        .query_one("SELECT op, health_after, message FROM resource_changes WHERE seq > $1 AND name = $2 ORDER BY seq DESC LIMIT 1", &[&before, &name])
        .await
        .unwrap();
    assert_eq!(change.get::<_, String>(0), "upsert");
    assert_eq!(
        change.get::<_, Option<String>>(1).as_deref(),
        Some("failed")
    );
}

#[tokio::test]
async fn dropped_watches_resume_and_miss_nothing() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("gamma", 4).await;
    let id = register(&server, "gamma", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    for round in 0..3 {
        sim.faults().drop_watches();
        for (ns, name) in sim.objects().keys("HelmRelease").into_iter().take(3) {
            sim.objects()
                .patch(
                    "HelmRelease",
                    &ns,
                    &name,
                    &ready_patch(&format!("round {round}"), "1.0.0"),
                )
                .unwrap();
        }
        let (ns, name) = sim.objects().keys("GitRepository")[0].clone();
        sim.objects().delete("GitRepository", &ns, &name).unwrap();
    }
    wait_in_sync(&client, id, &sim, SYNC).await;
}

#[tokio::test]
async fn compaction_while_disconnected_relists_and_removes_objects_deleted_meanwhile() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("delta", 4).await;
    let id = register(&server, "delta", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    let lists_before = sim.request_counts().get(Verb::List, "kustomizations");
    sim.faults().hang(Duration::from_secs(2));
    sim.faults().drop_watches();
    for (ns, name) in sim.objects().keys("Kustomization").into_iter().take(3) {
        sim.objects().delete("Kustomization", &ns, &name).unwrap();
    }
    sim.faults().compact();
    wait_in_sync(&client, id, &sim, SYNC).await;
    assert!(
        sim.request_counts().get(Verb::List, "kustomizations") > lists_before,
        "a 410 forces a relist"
    );
}

#[tokio::test]
async fn a_hung_apiserver_marks_the_cluster_unreachable_and_it_recovers() {
    let db = TestDb::create().await;
    let args = [
        "--watch-timeout-secs",
        "2",
        "--kube-read-timeout-secs",
        "3",
        "--claim-interval-secs",
        "1",
        "--resync-interval-secs",
        "0",
    ];
    let server = TestServer::start_with(&db.url(), &args).await;
    server.wait_ready().await;
    let sim = sim("epsilon", 2).await;
    let id = register(&server, "epsilon", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    sim.faults().hang(Duration::from_secs(15));
    sim.faults().drop_watches();
    wait_state(&server, id, "unreachable", Duration::from_secs(14)).await;
    let (ns, name) = sim.objects().keys("Kustomization")[0].clone();
    sim.objects()
        .patch(
            "Kustomization",
            &ns,
            &name,
            &ready_patch("changed during the hang", "x"),
        )
        .unwrap();
    wait_state(&server, id, "ready", Duration::from_secs(40)).await;
    wait_in_sync(&client, id, &sim, SYNC).await;
}

#[tokio::test]
async fn bursts_of_server_errors_are_retried_without_losing_changes() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("zeta", 3).await;
    let id = register(&server, "zeta", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    sim.faults().fail_next(30, 503);
    sim.faults().drop_watches();
    let (ns, name) = sim.objects().keys("OCIRepository")[0].clone();
    sim.objects().delete("OCIRepository", &ns, &name).unwrap();
    wait_in_sync(&client, id, &sim, SYNC).await;
}

#[tokio::test]
async fn a_forbidden_kind_degrades_the_cluster_and_is_retried_at_most_once_a_minute() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("eta", 2).await;
    sim.faults().forbid_resource("helmreleases", true);
    let id = register(&server, "eta", &sim.kubeconfig_yaml()).await;
    wait_state(&server, id, "degraded", SYNC).await;
    // Other kinds may still be listing when the 403 is first reported; they end up watching.
    wait_for("the other kinds watching", SYNC, || async {
        let status = cluster_status(&server, id).await;
        status["kinds"]["Kustomization"]["state"] == "watching"
            && status["kinds"]["HelmRelease"]["state"] == "forbidden"
            && status["state"] == "degraded"
    })
    .await;
    let first = sim.request_counts().get(Verb::List, "helmreleases");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = sim.request_counts().get(Verb::List, "helmreleases");
    assert!(
        later - first <= 1,
        "a standing 403 is retried at most once a minute: {first} → {later} in 5 s"
    );
}

#[tokio::test]
async fn the_writer_survives_a_database_outage_and_loses_nothing() {
    let db = TestDb::create().await;
    let proxy = Proxy::start(format!("{}:{}", db.host, db.port)).await;
    let mut args = FAST_INGEST.to_vec();
    args.extend(["--db-timeout-secs", "1"]);
    let server = TestServer::start_with(&db.url_via("127.0.0.1", proxy.addr.port()), &args).await;
    server.wait_ready().await;
    let sim = sim("theta", 3).await;
    let id = register(&server, "theta", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    proxy.down();
    for (ns, name) in sim.objects().keys("Kustomization") {
        sim.objects()
            .patch(
                "Kustomization",
                &ns,
                &name,
                &ready_patch("during the outage", "y"),
            )
            .unwrap();
    }
    let (ns, name) = sim.objects().keys("Bucket")[0].clone();
    sim.objects().delete("Bucket", &ns, &name).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.up();
    wait_in_sync(&client, id, &sim, Duration::from_secs(30)).await;
}

#[tokio::test]
async fn deleting_a_cluster_removes_its_rows_and_stops_its_watches() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("iota", 2).await;
    let id = register(&server, "iota", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    let r = server
        .http()
        .delete(server.url(&format!("/api/v1/clusters/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(db_state(&client, id).await.is_empty());
    let deletes: i64 = client
        .query_one(
            "SELECT count(*) FROM resource_changes WHERE cluster_id = $1 AND op = 'delete'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        deletes as usize,
        sim_state(&sim).len(),
        "each removal is logged for live subscribers"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let watches = sim.request_counts().total(Verb::Watch);
    sim.faults().drop_watches();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sim.request_counts().total(Verb::Watch),
        watches,
        "no watch is re-opened after deletion"
    );
    assert!(
        db_state(&client, id).await.is_empty(),
        "nothing written after deletion"
    );
}

#[tokio::test]
async fn a_new_kubeconfig_restarts_the_watches_against_the_new_server() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let old = sim("kappa-old", 2).await;
    let id = register(&server, "kappa", &old.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &old, SYNC).await;
    let new = SimCluster::start(SimOptions {
        seed: 9,
        ..SimOptions::named("kappa-new")
    })
    .await
    .unwrap();
    Scenario {
        objects_per_kind: 3,
        seed: 9,
        namespaces: 1,
        ..Scenario::default()
    }
    .populate(&new)
    .unwrap();
    let body = json!({"kubeconfig": new.kubeconfig_yaml()});
    let r = server
        .http()
        .patch(server.url(&format!("/api/v1/clusters/{id}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_in_sync(&client, id, &new, SYNC).await;
}

#[tokio::test]
async fn older_flux_versions_are_watched_at_the_versions_they_serve() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let legacy = SimCluster::start(SimOptions {
        flavor: FluxFlavor::Legacy,
        ..SimOptions::named("legacy")
    })
    .await
    .unwrap();
    Scenario {
        objects_per_kind: 2,
        ..Scenario::default()
    }
    .populate(&legacy)
    .unwrap();
    let id = register(&server, "legacy", &legacy.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &legacy, SYNC).await;
    wait_state(&server, id, "ready", SYNC).await;
    let status = cluster_status(&server, id).await;
    assert_eq!(
        status["kinds"]["OCIRepository"]["state"], "absent",
        "{status}"
    );
    assert_eq!(
        status["kinds"]["ImagePolicy"]["version"], "v1beta2",
        "{status}"
    );
}

#[tokio::test]
async fn a_backstop_relist_of_an_unchanged_cluster_writes_nothing_and_counts_no_drift() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = SimCluster::start(SimOptions::named("big")).await.unwrap();
    let scenario = Scenario {
        objects_per_kind: 770,
        namespaces: 10,
        events: false,
        ..Scenario::default()
    };
    scenario.populate(&sim).unwrap();
    let total = sim_state(&sim).len();
    assert!(total >= 10_000, "{total} objects");
    let id = register(&server, "big", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    // A bound on a 10,000-object sync, not a speed goal (the fleet benchmark measures that):
    // generous, so a loaded 2-core machine does not fail a test about what a relist writes.
    wait_in_sync(&client, id, &sim, Duration::from_secs(180)).await;
    wait_state(&server, id, "ready", SYNC).await;
    let seq_before: i64 = client
        .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
        .await
        .unwrap()
        .get(0);
    let resync_before = cluster_status(&server, id).await["lastResyncAt"].clone();
    let lists_before = sim.request_counts().get(Verb::List, "kustomizations");
    let r = server
        .http()
        .post(server.url(&format!("/api/v1/clusters/{id}/sync")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_for("the relist to finish", Duration::from_secs(60), || async {
        cluster_status(&server, id).await["lastResyncAt"] != resync_before
    })
    .await;
    assert!(
        sim.request_counts().get(Verb::List, "kustomizations") > lists_before,
        "it did relist"
    );
    let seq_after: i64 = client
        .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        seq_after, seq_before,
        "an unchanged relist of {total} objects writes no change"
    );
    assert_eq!(cluster_status(&server, id).await["resyncDriftTotal"], 0);
}

#[tokio::test]
async fn a_relist_racing_watch_events_never_undoes_them() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("race", 20).await;
    let id = register(&server, "race", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    let keys = sim.objects().keys("Kustomization");
    let http = server.http();
    for i in 0..10 {
        let sync = http
            .post(server.url(&format!("/api/v1/clusters/{id}/sync")))
            .send();
        for (ns, name) in &keys {
            sim.objects()
                .patch(
                    "Kustomization",
                    ns,
                    name,
                    &ready_patch(&format!("write {i}"), &format!("r{i}")),
                )
                .unwrap();
        }
        assert_eq!(sync.await.unwrap().status(), 202);
    }
    wait_in_sync(&client, id, &sim, SYNC).await;
    assert_eq!(
        cluster_status(&server, id).await["resyncDriftTotal"],
        0,
        "watch events were never undone or missed"
    );
}

#[tokio::test]
async fn a_backstop_relist_corrects_rows_changed_behind_its_back_and_counts_the_drift() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("drift", 3).await;
    let id = register(&server, "drift", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    wait_state(&server, id, "ready", SYNC).await;
    let (ns, name) = sim.objects().keys("Kustomization")[0].clone();
    client
        .execute(
            "UPDATE flux_resources SET health = 'unknown', content_hash = '\\x00' WHERE cluster_id = $1 AND kind = 'Kustomization' AND namespace = $2 AND name = $3",
            &[&id, &ns, &name],
        )
        .await
        .unwrap();
    let (ns, name) = sim.objects().keys("HelmRelease")[0].clone();
    client
        .execute("DELETE FROM flux_resources WHERE cluster_id = $1 AND kind = 'HelmRelease' AND namespace = $2 AND name = $3", &[&id, &ns, &name])
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO flux_resources (cluster_id, api_group, kind, namespace, name, id, api_version, health, content_hash, last_seq) \
             VALUES ($1, 'source.toolkit.fluxcd.io', 'GitRepository', 'ghost', 'ghost', gen_random_uuid(), 'v1', 'ready', '\\x00', 0)",
            &[&id],
        )
        .await
        .unwrap();
    let before = cluster_status(&server, id).await["lastResyncAt"].clone();
    let r = server
        .http()
        .post(server.url(&format!("/api/v1/clusters/{id}/sync")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_for("the relist", SYNC, || async {
        cluster_status(&server, id).await["lastResyncAt"] != before
    })
    .await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    assert_eq!(
        cluster_status(&server, id).await["resyncDriftTotal"],
        3,
        "one changed, one missing, one extra row"
    );
}

#[tokio::test]
async fn with_one_list_at_a_time_every_cluster_still_syncs_and_relists() {
    let db = TestDb::create().await;
    let mut args = FAST_INGEST.to_vec();
    args.extend(["--max-concurrent-lists", "1"]);
    let server = TestServer::start_with(&db.url(), &args).await;
    server.wait_ready().await;
    let client = db.client().await;
    let mut clusters = Vec::new();
    for name in ["one", "two", "three"] {
        let sim = sim(name, 4).await;
        let id = register(&server, name, &sim.kubeconfig_yaml()).await;
        clusters.push((id, sim));
    }
    for (id, sim) in &clusters {
        wait_in_sync(&client, *id, sim, SYNC).await;
        wait_state(&server, *id, "ready", SYNC).await;
    }
    // A relist of every cluster at once queues on the single permit and completes.
    let before: i64 = client
        .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
        .await
        .unwrap()
        .get(0);
    let since = chrono::Utc::now();
    for (id, _) in &clusters {
        let r = server
            .http()
            .post(server.url(&format!("/api/v1/clusters/{id}/sync")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    for (id, _) in &clusters {
        wait_for("relist done", SYNC, || async {
            cluster_status(&server, *id).await["lastResyncAt"]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .is_some_and(|t| t >= since)
        })
        .await;
    }
    let after: i64 = client
        .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
        .await
        .unwrap()
        .get(0);
    let written: Vec<String> = client
        .query("SELECT op || ' ' || kind || ' ' || name || ' ' || coalesce(message, '') FROM resource_changes WHERE seq > $1", &[&before])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        after, before,
        "an unchanged relist writes nothing: {written:?}"
    );
}

/// Liveness probing fast enough for a test: a silent server shows within 2 × (1 + 2) s.
const PROBING: &[&str] = &["--probe-interval-secs", "1", "--probe-timeout-secs", "2"];

/// A server with the production watch and read timeouts (55 s, 75 s: a hung watch would go
/// unnoticed that long) and fast probes.
async fn start_probing(db: &TestDb) -> TestServer {
    let mut args = vec!["--claim-interval-secs", "1", "--resync-interval-secs", "0"];
    args.extend_from_slice(PROBING);
    let server = TestServer::start_with(&db.url(), &args).await;
    server.wait_ready().await;
    server
}

/// Poll the state until `until`; fail if it is ever `never`.
async fn never_state(server: &TestServer, id: uuid::Uuid, never: &str, until: Instant) {
    while Instant::now() < until {
        let status = cluster_status(server, id).await;
        assert_ne!(status["state"], never, "{status:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_hung_api_server_is_unreachable_within_seconds_and_ready_only_once_it_answers() {
    let db = TestDb::create().await;
    let server = start_probing(&db).await;
    let sim = sim("hung", 2).await;
    let id = register(&server, "hung", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    wait_state(&server, id, "ready", SYNC).await;
    let hang = Duration::from_secs(20);
    let hang_ends = Instant::now() + hang;
    sim.faults().hang(hang);
    let started = Instant::now();
    wait_state(&server, id, "unreachable", Duration::from_secs(12)).await;
    eprintln!("hung → unreachable in {:?}", started.elapsed());
    let status = cluster_status(&server, id).await;
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("has not answered since")),
        "{status:#}"
    );
    assert_eq!(status["kinds"]["Kustomization"]["state"], "stalled");
    let (ns, name) = sim.objects().keys("Kustomization")[0].clone();
    sim.objects()
        .patch(
            "Kustomization",
            &ns,
            &name,
            &ready_patch("changed while hung", "x"),
        )
        .unwrap();
    // Recovery needs an answer: never ready while the server is silent.
    never_state(&server, id, "ready", hang_ends).await;
    wait_state(&server, id, "ready", SYNC).await;
    wait_in_sync(&client, id, &sim, SYNC).await;
}

#[tokio::test]
async fn a_network_black_hole_is_unreachable_and_recovers_when_bytes_flow_again() {
    let db = TestDb::create().await;
    let server = start_probing(&db).await;
    let sim = sim("hole", 2).await;
    let target = sim.url().trim_start_matches("https://").to_string();
    let proxy = Proxy::start(target.clone()).await;
    let via = sim
        .kubeconfig_yaml()
        .replace(&target, &format!("127.0.0.1:{}", proxy.addr.port()));
    let id = register(&server, "hole", &via).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    wait_state(&server, id, "ready", SYNC).await;
    proxy.black_hole(true);
    let started = Instant::now();
    wait_state(&server, id, "unreachable", Duration::from_secs(12)).await;
    eprintln!("black hole → unreachable in {:?}", started.elapsed());
    let (ns, name) = sim.objects().keys("HelmRelease")[0].clone();
    sim.objects()
        .patch(
            "HelmRelease",
            &ns,
            &name,
            &ready_patch("changed in the dark", "2.0.0"),
        )
        .unwrap();
    never_state(
        &server,
        id,
        "ready",
        Instant::now() + Duration::from_secs(5),
    )
    .await;
    proxy.black_hole(false);
    wait_state(&server, id, "ready", SYNC).await;
    wait_in_sync(&client, id, &sim, SYNC).await;
}

#[tokio::test]
async fn refused_credentials_and_missing_permissions_are_named_and_retry_now_recovers() {
    let db = TestDb::create().await;
    let server = start(&db).await;
    let sim = sim("rbac", 2).await;
    let wrong = sim.kubeconfig_yaml().replace(sim.token(), "not-the-token");
    let bad = register(&server, "bad-token", &wrong).await;
    wait_state(&server, bad, "unauthorized", SYNC).await;
    let status = cluster_status(&server, bad).await;
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains("401 Unauthorized") && message.contains("update the cluster's kubeconfig"),
        "{message}"
    );
    assert!(status["nextRetryAt"].is_string(), "{status:#}");

    // Every kind forbidden: the state names the permission and the resources.
    let plurals: Vec<&str> = flux_orchestrator::flux::FLUX_KINDS
        .iter()
        .filter(|k| sim.objects().type_of(k.kind).is_ok())
        .map(|k| k.plural)
        .chain(["events"])
        .collect();
    for plural in &plurals {
        sim.faults().forbid_resource(plural, true);
    }
    let id = register(&server, "rbac", &sim.kubeconfig_yaml()).await;
    wait_state(&server, id, "forbidden", SYNC).await;
    let status = cluster_status(&server, id).await;
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains("grant get, list and watch")
            && message.contains("kustomizations.kustomize.toolkit.fluxcd.io"),
        "{message}"
    );
    assert_eq!(status["kinds"]["Kustomization"]["state"], "forbidden");
    let retry: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(status["nextRetryAt"].clone()).unwrap();
    assert!(
        retry > chrono::Utc::now() + chrono::Duration::seconds(30),
        "403s wait a minute"
    );
    // Access restored: "retry now" does not wait for the minute.
    for plural in &plurals {
        sim.faults().forbid_resource(plural, false);
    }
    let started = Instant::now();
    let r = server
        .http()
        .post(server.url(&format!("/api/v1/clusters/{id}/sync")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_state(&server, id, "ready", Duration::from_secs(15)).await;
    eprintln!("retry now → ready in {:?}", started.elapsed());
    let logs = server.logs();
    assert!(
        !logs.contains("kube_client"),
        "kube's own logging is quiet by default"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("cluster state") && l.contains("rbac") && l.contains("forbidden")),
        "the state change is logged with the cluster's name"
    );
}
