//! Helpers for tests that run the server against simulated clusters.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use flux_orchestrator::flux;
use flux_orchestrator::store::content_hash;
use fluxo_sim::{Scenario, SimCluster, SimOptions};
use serde_json::{Value, json};
use uuid::Uuid;

use super::endpoint::{Endpoint, token_kubeconfig};

/// Server flags that make ingest react fast in tests.
pub const FAST_INGEST: &[&str] = &[
    "--watch-timeout-secs",
    "5",
    "--kube-read-timeout-secs",
    "7",
    "--claim-interval-secs",
    "1",
    "--resync-interval-secs",
    "0",
];

/// A simulated cluster populated by a small scenario.
pub async fn sim(name: &str, objects_per_kind: usize) -> SimCluster {
    super::install_crypto();
    let sim = SimCluster::start(SimOptions::named(name))
        .await
        .expect("start simulator");
    let scenario = Scenario {
        objects_per_kind,
        namespaces: 2,
        ..Scenario::default()
    };
    scenario.populate(&sim).expect("populate simulator");
    sim
}

/// Register a cluster: `POST /api/v1/clusters` with `body` as the admin; returns its id.
pub async fn register_cluster(server: &Endpoint, body: &Value) -> Uuid {
    let r = server
        .http()
        .post(server.url("/api/v1/clusters"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    Uuid::parse_str(v["id"].as_str().unwrap()).unwrap()
}

/// Register `kubeconfig` under `name`; returns the cluster id.
pub async fn register(server: &Endpoint, name: &str, kubeconfig: &str) -> Uuid {
    register_cluster(server, &json!({"name": name, "kubeconfig": kubeconfig})).await
}

/// A kubeconfig for an API server that refuses connections.
fn unreachable_kubeconfig() -> String {
    token_kubeconfig("https://127.0.0.1:9", "t0ken-for-tests")
}

/// Register a cluster whose API server refuses connections: ingest writes no objects for it
/// (nor sweeps any the test writes); returns its id.
pub async fn register_unreachable(server: &Endpoint, name: &str) -> Uuid {
    register(server, name, &unreachable_kubeconfig()).await
}

/// [`register_unreachable`], labelled `team=<team>` (what scoped tokens select).
pub async fn register_team(server: &Endpoint, name: &str, team: &str) -> Uuid {
    let body =
        json!({"name": name, "labels": {"team": team}, "kubeconfig": unreachable_kubeconfig()});
    register_cluster(server, &body).await
}

/// Poll `check` every 50 ms until it is true; panic with `what` after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every Flux object of a simulated cluster: (kind, namespace, name) → content hash.
pub fn sim_state(sim: &SimCluster) -> BTreeMap<(String, String, String), Vec<u8>> {
    let mut out = BTreeMap::new();
    let served = sim.objects().kinds();
    let flux_kinds = served
        .iter()
        .filter(|(api_version, _)| flux::is_flux_group(flux::group_of(api_version)));
    for (api_version, kind) in flux_kinds {
        // A kind outside the known catalogue (the `operator` flavor's) is what discovery adds.
        flux::learn(
            flux::group_of(api_version),
            flux::version_of(api_version),
            kind,
        );
        for obj in sim.objects().list(kind, None) {
            let snapshot = flux::snapshot(&obj).expect("simulator objects are Flux objects");
            let key = (
                snapshot.kind.clone(),
                snapshot.namespace.clone(),
                snapshot.name.clone(),
            );
            out.insert(key, content_hash(&snapshot.object));
        }
    }
    out
}

/// Every stored object of a cluster: (kind, namespace, name) → content hash.
pub async fn db_state(
    db: &tokio_postgres::Client,
    cluster: Uuid,
) -> BTreeMap<(String, String, String), Vec<u8>> {
    db.query(
        "SELECT kind, namespace, name, content_hash FROM flux_resources WHERE cluster_id = $1",
        &[&cluster],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
    .collect()
}

/// Wait until the database holds exactly the simulator's objects, with the same content.
///
/// Each comparison hashes every object on the test's thread, which also serves the simulator:
/// the pause after one is at least twice as long as it took, so a cluster of 10,000 objects
/// is not starved of the thread it answers the server's requests on.
pub async fn wait_in_sync(
    db: &tokio_postgres::Client,
    cluster: Uuid,
    sim: &SimCluster,
    timeout: Duration,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let compared = std::time::Instant::now();
        let want = sim_state(sim);
        let have = db_state(db, cluster).await;
        if want == have {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let missing: Vec<_> = want
                .keys()
                .filter(|k| !have.contains_key(*k))
                .take(5)
                .collect();
            let extra: Vec<_> = have
                .keys()
                .filter(|k| !want.contains_key(*k))
                .take(5)
                .collect();
            let differ: Vec<_> = want
                .iter()
                .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
                .map(|(k, _)| k)
                .take(5)
                .collect();
            panic!(
                "database not equal to the simulator after {timeout:?}: {} vs {} objects; missing {missing:?}, extra {extra:?}, different {differ:?}",
                want.len(),
                have.len()
            );
        }
        let pause = (compared.elapsed() * 2).max(Duration::from_millis(50));
        tokio::time::sleep(pause).await;
    }
}

/// The cluster's status as the API returns it.
pub async fn cluster_status(server: &Endpoint, id: Uuid) -> Value {
    let r = server
        .http()
        .get(server.url(&format!("/api/v1/clusters/{id}")))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["status"].clone()
}

/// Wait until the cluster's state is `state`; the panic shows the last status seen.
pub async fn wait_state(server: &Endpoint, id: Uuid, state: &str, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let status = cluster_status(server, id).await;
        if status["state"] == state {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "cluster not {state} after {timeout:?}: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
