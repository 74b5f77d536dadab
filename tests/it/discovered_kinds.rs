//! Kinds outside the known catalogue: a cluster installed by Flux Operator, with
//! source-watcher, serves FluxInstance, FluxReport, ResourceSet, ResourceSetInputProvider,
//! ExternalArtifact and ArtifactGenerator. Discovery finds them; they are watched, stored,
//! filtered by kind, plural or short name, judged by the generic Ready rules, and reconciled.

use std::time::Duration;

use fluxo_sim::{FAIL_ANNOTATION, FluxFlavor, Scenario, SimCluster, SimOptions};
use serde_json::{Value, json};

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::json_of;
use crate::support::fleet::{FAST_INGEST, register, wait_for, wait_in_sync};

const SYNC: Duration = Duration::from_secs(30);

const DISCOVERED: [(&str, &str, &str); 6] = [
    ("FluxInstance", "fluxinstances", "fluxcd.controlplane.io"),
    ("FluxReport", "fluxreports", "fluxcd.controlplane.io"),
    ("ResourceSet", "rset", "fluxcd.controlplane.io"),
    ("ResourceSetInputProvider", "rsip", "fluxcd.controlplane.io"),
    (
        "ExternalArtifact",
        "externalartifact",
        "source.toolkit.fluxcd.io",
    ),
    ("ArtifactGenerator", "ag", "source.extensions.fluxcd.io"),
];

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    json_of(server.http().get(server.url(path)).send().await.unwrap()).await
}

async fn operator_sim() -> SimCluster {
    crate::support::install_crypto();
    let opts = SimOptions {
        flavor: FluxFlavor::Operator,
        ..SimOptions::named("operator")
    };
    let sim = SimCluster::start(opts).await.expect("start simulator");
    let scenario = Scenario {
        objects_per_kind: 2,
        namespaces: 1,
        failure_ratio: 0.0,
        progressing_ratio: 0.0,
        suspended_ratio: 0.0,
        ..Scenario::default()
    };
    scenario.populate(&sim).expect("populate");
    sim
}

#[tokio::test]
async fn kinds_found_by_discovery_are_watched_filtered_and_reconciled() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let sim = operator_sim().await;
    let cluster = register(&server, "operator", &sim.kubeconfig_yaml()).await;
    // Every object of every served Flux kind, the discovered ones included, is stored as the
    // simulator holds it.
    wait_in_sync(&db.client().await, cluster, &sim, SYNC).await;

    for (kind, typed, group) in DISCOVERED {
        let (status, body) = get(&server, &format!("/api/v1/resources?kind={typed}")).await;
        assert_eq!(status, 200, "{kind}: {body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{kind}: {body}");
        for item in items {
            assert_eq!(item["kind"], kind, "{item}");
            assert_eq!(item["apiGroup"], group, "{item}");
            assert_eq!(item["health"], "ready", "generic Ready rules: {item}");
        }
    }
    let (_, cluster_body) = get(&server, &format!("/api/v1/clusters/{cluster}")).await;
    let watched = cluster_body.to_string();
    assert!(
        watched.contains("ResourceSetInputProvider") && watched.contains("ArtifactGenerator"),
        "the cluster's per-kind status lists the discovered kinds: {cluster_body}"
    );

    // Reconcile goes through: the controller handles the request, and the failure it pins
    // shows through the generic rules.
    let (_, sets) = get(&server, "/api/v1/resources?kind=ResourceSet").await;
    let id = sets["items"][0]["id"].as_str().unwrap().to_string();
    let name = sets["items"][0]["name"].as_str().unwrap().to_string();
    let ns = sets["items"][0]["namespace"].as_str().unwrap().to_string();
    let pin = json!({"metadata": {"annotations": {FAIL_ANNOTATION: "BuildFailed"}}});
    sim.objects()
        .patch("ResourceSet", &ns, &name, &pin)
        .unwrap();
    let url = server.url(&format!("/api/v1/resources/{id}/reconcile"));
    let (status, body) = json_of(server.http().post(url).send().await.unwrap()).await;
    assert_eq!(status, 202, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    wait_for("the reconcile handled", SYNC, || async {
        sim.objects().list("ResourceSet", None).iter().any(|o| {
            o["metadata"]["name"] == name.as_str()
                && o["status"]["lastHandledReconcileAt"] == json!(token)
        })
    })
    .await;
    wait_for("the failure stored", SYNC, || async {
        let (_, body) = get(&server, &format!("/api/v1/resources/{id}")).await;
        body["resource"]["health"] == "failed" && body["resource"]["reason"] == "BuildFailed"
    })
    .await;
    // Suspending needs `spec.suspend`, which only the known kinds are known to have.
    let url = server.url(&format!("/api/v1/resources/{id}/suspend"));
    let (status, body) = json_of(server.http().post(url).send().await.unwrap()).await;
    assert!((400..500).contains(&status), "{status}: {body}");
    assert!(
        body["code"].is_string() && body["message"].is_string(),
        "{body}"
    );

    // A kind no cluster serves is still refused by name.
    let (status, body) = get(&server, "/api/v1/resources?kind=FluxInstanc").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_parameter")),
        "{body}"
    );
}

/// RBAC written for the toolkit's kinds does not grant Flux Operator's: such a kind is shown
/// unavailable on its own and the cluster stays ready (a known kind forbidden degrades it).
#[tokio::test]
async fn a_forbidden_discovered_kind_is_unavailable_and_the_cluster_stays_ready() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let sim = operator_sim().await;
    sim.faults().forbid_resource("fluxinstances", true);
    let cluster = register(&server, "operator", &sim.kubeconfig_yaml()).await;
    wait_for(
        "FluxInstance forbidden, the cluster ready",
        SYNC,
        || async {
            let (_, body) = get(&server, &format!("/api/v1/clusters/{cluster}")).await;
            let status = &body["status"];
            status["kinds"]["FluxInstance"]["state"] == "forbidden"
                && status["kinds"]["ResourceSet"]["state"] == "watching"
                && status["state"] == "ready"
        },
    )
    .await;
}
