//! Several replicas on one database: each cluster is watched exactly once, clusters are spread,
//! a killed replica's clusters move within seconds with no lost change, and a stream client on a
//! surviving replica keeps receiving changes. The replica that is killed is a real process
//! (SIGKILL: no clean-up at all); the others run in this process.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use fluxo_sim::SimCluster;
use serde_json::json;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{FAST_INGEST, register, sim, wait_for, wait_in_sync};
use crate::support::process::ServerProcess;
use crate::support::stream;

/// The credential key shared by the replicas of one installation.
fn shared_key() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .join("key")
}

async fn replica(db: &TestDb, id: &str) -> TestServer {
    let mut args = FAST_INGEST.to_vec();
    args.extend(["--replica-id", id]);
    let server = TestServer::start_with_key(&db.url(), &args, &shared_key()).await;
    server.wait_ready().await;
    server
}

/// A replica as a process of its own, to be killed.
async fn replica_process(db: &TestDb, id: &str) -> ServerProcess {
    let mut args = FAST_INGEST.to_vec();
    args.extend(["--replica-id", id]);
    let server = ServerProcess::start(&db.url(), &args, &[], Some(&shared_key())).await;
    server.wait_ready().await;
    server
}

/// cluster → replica watching it, from `cluster_status`.
async fn owners(db: &tokio_postgres::Client) -> BTreeMap<Uuid, String> {
    db.query(
        "SELECT cluster_id, watched_by FROM cluster_status WHERE watched_by IS NOT NULL",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// Advisory locks held on cluster claims (one per watched cluster; exclusive by construction).
async fn claims_held(db: &tokio_postgres::Client) -> i64 {
    // Cluster claims only: the notification engine's leader holds an advisory lock too.
    let engine = flux_orchestrator::store::ENGINE_LOCK;
    let (class, obj) = ((engine >> 32) & 0xffff_ffff, engine & 0xffff_ffff);
    db.query_one(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND NOT (classid = $1::bigint::oid AND objid = $2::bigint::oid)",
        &[&class, &obj],
    )
    .await
    .unwrap()
    .get(0)
}

fn per_replica(owners: &BTreeMap<Uuid, String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in owners.values() {
        *out.entry(r.clone()).or_default() += 1;
    }
    out
}

fn patch(sim: &SimCluster, round: usize) {
    for (ns, name) in sim.objects().keys("Kustomization") {
        let message = format!("round {round}");
        let status = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "HealthCheckFailed",
            "message": message, "lastTransitionTime": "2026-11-26T10:00:00Z", "observedGeneration": 1}]}});
        sim.objects()
            .patch("Kustomization", &ns, &name, &status)
            .unwrap();
    }
}

#[tokio::test]
async fn three_replicas_share_the_clusters_and_take_over_from_a_killed_one() {
    let db = TestDb::create().await;
    let client = db.client().await;
    let a = replica(&db, "replica-a").await;
    let mut b = replica_process(&db, "replica-b").await;
    let c = replica(&db, "replica-c").await;
    let mut sims = Vec::new();
    let mut ids = Vec::new();
    for i in 0..6 {
        let name = format!("ha-{i}");
        let s = sim(&name, 1).await;
        ids.push(register(&a, &name, &s.kubeconfig_yaml()).await);
        sims.push(s);
    }
    wait_for(
        "two clusters per replica",
        Duration::from_secs(30),
        || async {
            let o = owners(&client).await;
            o.len() == 6
                && per_replica(&o).values().all(|n| *n == 2)
                && claims_held(&client).await == 6
        },
    )
    .await;
    for (id, s) in ids.iter().zip(&sims) {
        wait_in_sync(&client, *id, s, Duration::from_secs(20)).await;
    }

    let mut watcher = stream::Client::connect(&c).await;
    let (start_seq, _) = watcher.subscribe(None, json!({})).await;

    let before = owners(&client).await;
    let moved: HashSet<Uuid> = before
        .iter()
        .filter(|(_, r)| *r == "replica-b")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(moved.len(), 2);
    b.kill().await;
    let killed_at = Instant::now();
    for (i, s) in sims.iter().enumerate() {
        patch(s, i);
    }
    wait_for(
        "B's clusters taken over",
        Duration::from_secs(10),
        || async {
            let o = owners(&client).await;
            moved
                .iter()
                .all(|id| o.get(id).is_some_and(|r| r != "replica-b"))
                && claims_held(&client).await == 6
        },
    )
    .await;
    eprintln!("takeover after SIGKILL: {:?}", killed_at.elapsed());
    let after = per_replica(&owners(&client).await);
    assert_eq!(after.values().sum::<usize>(), 6);
    assert!(
        after.values().all(|n| *n == 3),
        "spread over the survivors: {after:?}"
    );
    for (id, s) in ids.iter().zip(&sims) {
        wait_in_sync(&client, *id, s, Duration::from_secs(20)).await;
    }

    // The client on C saw every change committed after it subscribed, in order, without gaps.
    let last: i64 = client
        .query_one("SELECT max(seq) FROM resource_changes", &[])
        .await
        .unwrap()
        .get(0);
    let mut seen = Vec::new();
    while seen.last().copied().unwrap_or(start_seq) < last {
        let m = watcher.next().await;
        if m["type"] == "change" {
            seen.push(m["seq"].as_i64().unwrap());
        }
    }
    let want: Vec<i64> = client
        .query(
            "SELECT seq FROM resource_changes WHERE seq > $1 AND seq <= $2 ORDER BY seq",
            &[&start_seq, &last],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        seen, want,
        "the stream on a surviving replica carried every change"
    );
    drop(a);
}

#[tokio::test]
async fn a_replica_shutting_down_hands_its_clusters_over_at_once() {
    let db = TestDb::create().await;
    let client = db.client().await;
    let a = replica(&db, "replica-a").await;
    let b = replica(&db, "replica-b").await;
    let mut sims = Vec::new();
    for i in 0..4 {
        let name = format!("hand-{i}");
        let s = sim(&name, 1).await;
        register(&a, &name, &s.kubeconfig_yaml()).await;
        sims.push(s);
    }
    wait_for("two clusters each", Duration::from_secs(30), || async {
        let o = owners(&client).await;
        o.len() == 4 && per_replica(&o).values().all(|n| *n == 2)
    })
    .await;
    let started = Instant::now();
    b.stop().await.expect("a clean stop");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = owners(&client).await;
        let held = claims_held(&client).await;
        if o.values().all(|r| r == "replica-a") && held == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all on A after 5 s: {o:?}, {held} claims"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("graceful handover: {:?}", started.elapsed());
}
