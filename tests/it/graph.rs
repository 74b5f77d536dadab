//! The graph and impact API against simulated clusters: edges written by the writer from what
//! ingest stores, resolved at query time, bounded, and scoped.

use std::collections::BTreeSet;
use std::time::Duration;

use flux_orchestrator::store::resource_id;
use fluxo_sim::{SimCluster, SimOptions};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{Endpoint, client_with, create_token};
use crate::support::fleet::{FAST_INGEST, register_cluster, wait_for, wait_in_sync};
use crate::support::stream::{upsert, write};

const SYNC: Duration = Duration::from_secs(20);
const KS: &str = "kustomize.toolkit.fluxcd.io";
const HELM: &str = "helm.toolkit.fluxcd.io";
const SOURCE: &str = "source.toolkit.fluxcd.io";

fn ready() -> Value {
    json!({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True",
        "reason": "ReconciliationSucceeded", "message": "ok",
        "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]})
}

fn object(api_version: &str, kind: &str, ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind,
           "metadata": {"name": name, "namespace": ns, "generation": 1},
           "spec": spec, "status": ready()})
}

fn git(name: &str, branch: &str) -> Value {
    let spec = json!({"interval": "1m", "url": "https://git.example/acme/fleet.git", "ref": {"branch": branch}});
    object(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "flux-system",
        name,
        spec,
    )
}

fn kustomization(name: &str, source: &str, inventory: &[&str]) -> Value {
    let spec = json!({"interval": "10m", "path": "./", "prune": true,
                      "sourceRef": {"kind": "GitRepository", "name": source}});
    let mut ks = object(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        name,
        spec,
    );
    let entries: Vec<Value> = inventory
        .iter()
        .map(|id| json!({"id": id, "v": "v1"}))
        .collect();
    ks["status"]["inventory"] = json!({"entries": entries});
    ks
}

fn helm_release(name: &str, depends_on: &[&str]) -> Value {
    let deps: Vec<Value> = depends_on.iter().map(|d| json!({"name": d})).collect();
    let spec = json!({"interval": "10m", "dependsOn": deps, "chart": {"spec": {"chart": "web",
        "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}}});
    let mut hr = object(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "apps",
        name,
        spec,
    );
    hr["status"]["helmChart"] = json!(format!("flux-system/apps-{name}"));
    hr
}

fn helm_chart(name: &str) -> Value {
    let spec = json!({"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "charts"}});
    object(
        "source.toolkit.fluxcd.io/v1",
        "HelmChart",
        "flux-system",
        name,
        spec,
    )
}

/// Cluster alpha: GitRepository `fleet` → Kustomization `apps`, which applied the nested
/// Kustomization `infra`, HelmRelease `web`, a Deployment and a Namespace; `infra` applied a
/// ConfigMap; HelmRelease `worker` depends on `web`; `web`'s chart comes from HelmRepository
/// `charts` (its HelmChart is created later by the test that needs it).
fn populate_alpha(sim: &SimCluster) {
    let objects = sim.objects();
    for obj in [
        git("fleet", "main"),
        object(
            "source.toolkit.fluxcd.io/v1",
            "HelmRepository",
            "flux-system",
            "charts",
            json!({"url": "https://charts.example"}),
        ),
        kustomization(
            "apps",
            "fleet",
            &[
                "flux-system_infra_kustomize.toolkit.fluxcd.io_Kustomization",
                "apps_web_helm.toolkit.fluxcd.io_HelmRelease",
                "apps_api_apps_Deployment",
                "_apps__Namespace",
            ],
        ),
        kustomization("infra", "fleet", &["infra_settings__ConfigMap"]),
        helm_release("web", &[]),
        helm_release("worker", &["web"]),
    ] {
        objects.create(obj).expect("create");
    }
}

/// Cluster beta: the same repository and branch under another name with one consumer, and
/// another branch of it with one consumer.
fn populate_beta(sim: &SimCluster) {
    let objects = sim.objects();
    for obj in [
        git("fleet-copy", "main"),
        git("fleet-dev", "dev"),
        kustomization("edge", "fleet-copy", &[]),
        kustomization("edge-dev", "fleet-dev", &[]),
    ] {
        objects.create(obj).expect("create");
    }
}

struct Fleet {
    db: TestDb,
    server: TestServer,
    alpha: (Uuid, SimCluster),
    beta: (Uuid, SimCluster),
}

async fn add(server: &TestServer, name: &str, populate: fn(&SimCluster)) -> (Uuid, SimCluster) {
    let sim = SimCluster::start(SimOptions::named(name))
        .await
        .expect("sim");
    populate(&sim);
    let body = json!({"name": name, "labels": {"team": name}, "kubeconfig": sim.kubeconfig_yaml()});
    (register_cluster(server, &body).await, sim)
}

async fn fleet() -> Fleet {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let alpha = add(&server, "alpha", populate_alpha).await;
    let beta = add(&server, "beta", populate_beta).await;
    let client = db.client().await;
    wait_in_sync(&client, alpha.0, &alpha.1, SYNC).await;
    wait_in_sync(&client, beta.0, &beta.1, SYNC).await;
    Fleet {
        db,
        server,
        alpha,
        beta,
    }
}

fn id(cluster: Uuid, group: &str, kind: &str, ns: &str, name: &str) -> Uuid {
    resource_id(cluster, group, kind, ns, name)
}

async fn get(server: &Endpoint, path: &str) -> (u16, Value) {
    let r = server.http().get(server.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn graph(server: &Endpoint, root: Uuid, query: &str) -> Value {
    let (status, body) = get(server, &format!("/api/v1/resources/{root}/graph{query}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Nodes as `kind/namespace/name` (with `!` when not stored) and edges as
/// `from-name -type-> to-name`.
fn shape(graph: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let nodes = graph["nodes"].as_array().unwrap();
    let name = |id: &Value| {
        let n = nodes
            .iter()
            .find(|n| n["id"] == *id)
            .expect("edge ends are nodes");
        n["name"].as_str().unwrap().to_string()
    };
    let node_names = nodes
        .iter()
        .map(|n| {
            let mark = if n["stored"] == true { "" } else { "!" };
            format!(
                "{}{}/{}/{}",
                mark,
                n["kind"].as_str().unwrap(),
                n["namespace"].as_str().unwrap(),
                n["name"].as_str().unwrap()
            )
        })
        .collect();
    let edges = graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} -{}-> {}",
                name(&e["from"]),
                e["type"].as_str().unwrap(),
                name(&e["to"])
            )
        })
        .collect();
    (node_names, edges)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn the_graph_of_a_kustomization_is_exactly_what_it_applied_and_what_depends_on_that() {
    let f = fleet().await;
    let a = f.alpha.0;
    let apps = id(a, KS, "Kustomization", "flux-system", "apps");
    let body = graph(&f.server, apps, "").await;
    let (nodes, edges) = shape(&body);
    assert_eq!(
        nodes,
        set(&[
            "Kustomization/flux-system/apps",
            "Kustomization/flux-system/infra",
            "HelmRelease/apps/web",
            "HelmRelease/apps/worker",
            "!Deployment/apps/api",
            "!Namespace//apps",
            "!ConfigMap/infra/settings",
        ])
    );
    assert_eq!(
        edges,
        set(&[
            "apps -inventory-> infra",
            "apps -inventory-> web",
            "apps -inventory-> api",
            "apps -inventory-> apps",
            "infra -inventory-> settings",
            "web -dependsOn-> worker",
        ])
    );
    assert_eq!(body["root"], json!(apps));
    assert_eq!(body["truncated"], false);
    let nodes = body["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["id"], json!(apps), "the root comes first");
    assert_eq!(nodes[0]["depth"], 0);
    let deployment = nodes.iter().find(|n| n["kind"] == "Deployment").unwrap();
    assert_eq!(
        (deployment["watched"].clone(), deployment["health"].clone()),
        (json!(false), json!("unknown"))
    );
    assert_eq!(deployment["cluster"], "alpha");
    let web = nodes.iter().find(|n| n["name"] == "web").unwrap();
    assert_eq!(
        (web["health"].clone(), web["depth"].clone()),
        (json!("ready"), json!(1))
    );

    // Depth counts edges from the root.
    let (nodes, _) = shape(&graph(&f.server, apps, "?depth=1").await);
    assert_eq!(nodes.len(), 5, "{nodes:?}");
}

#[tokio::test]
async fn up_follows_edges_backwards_and_both_walks_each_way_from_the_root() {
    let f = fleet().await;
    let web = id(f.alpha.0, HELM, "HelmRelease", "apps", "web");
    let (nodes, edges) = shape(&graph(&f.server, web, "?direction=up&depth=1").await);
    assert_eq!(
        nodes,
        set(&[
            "HelmRelease/apps/web",
            "Kustomization/flux-system/apps",
            "HelmRepository/flux-system/charts",
            "!HelmChart/flux-system/apps-web",
        ])
    );
    assert_eq!(
        edges,
        set(&[
            "apps -inventory-> web",
            "charts -source-> web",
            "apps-web -chart-> web"
        ])
    );
    let (nodes, _) = shape(&graph(&f.server, web, "?direction=up&depth=2").await);
    assert!(
        nodes.contains("GitRepository/flux-system/fleet"),
        "{nodes:?}"
    );
    let (nodes, edges) = shape(&graph(&f.server, web, "?direction=both&depth=1").await);
    assert!(
        nodes.contains("HelmRelease/apps/worker")
            && nodes.contains("Kustomization/flux-system/apps")
    );
    assert!(edges.contains("web -dependsOn-> worker"));
}

#[tokio::test]
async fn bad_graph_requests_get_400_and_unknown_objects_404() {
    let f = fleet().await;
    let apps = id(f.alpha.0, KS, "Kustomization", "flux-system", "apps");
    for query in ["?depth=0", "?depth=11", "?depth=x", "?direction=sideways"] {
        let (status, body) =
            get(&f.server, &format!("/api/v1/resources/{apps}/graph{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{query}: {body}");
    }
    let unknown = Uuid::new_v4();
    for path in ["graph", "impact"] {
        let (status, body) = get(&f.server, &format!("/api/v1/resources/{unknown}/{path}")).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["code"], "not_found");
        let (status, _) = get(&f.server, &format!("/api/v1/resources/not-a-uuid/{path}")).await;
        assert_eq!(status, 400, "{path}");
    }
}

/// Names per cluster in an impact answer.
fn impact_names(body: &Value) -> Vec<(String, BTreeSet<String>)> {
    body["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let names = c["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_string())
                .collect();
            (c["cluster"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

#[tokio::test]
async fn a_git_repository_impact_lists_every_consumer_across_clusters_within_the_scope() {
    let f = fleet().await;
    let fleet_repo = id(f.alpha.0, SOURCE, "GitRepository", "flux-system", "fleet");
    let (status, body) = get(&f.server, &format!("/api/v1/resources/{fleet_repo}/impact")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        impact_names(&body),
        [
            (
                "alpha".to_string(),
                set(&[
                    "fleet", "apps", "infra", "web", "worker", "api", "apps", "settings"
                ])
            ),
            ("beta".to_string(), set(&["fleet-copy", "edge"])),
        ],
        "another branch of the same repository is another source"
    );
    assert_eq!(body["truncated"], false);

    // A caller scoped to alpha sees nothing of beta.
    let (token, _) =
        create_token(&f.server, "alpha-team", "viewer", json!({"team": "alpha"})).await;
    let scoped = client_with(&token);
    let r = scoped
        .get(
            f.server
                .url(&format!("/api/v1/resources/{fleet_repo}/impact")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let clusters: Vec<String> = impact_names(&body).into_iter().map(|(c, _)| c).collect();
    assert_eq!(clusters, ["alpha"], "{body}");
    assert!(
        !body.to_string().contains(&f.beta.0.to_string()),
        "no trace of beta: {body}"
    );
    // … and may not ask about beta's objects at all.
    let copy = id(
        f.beta.0,
        SOURCE,
        "GitRepository",
        "flux-system",
        "fleet-copy",
    );
    for path in ["graph", "impact"] {
        let r = scoped
            .get(f.server.url(&format!("/api/v1/resources/{copy}/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
}

#[tokio::test]
async fn an_edge_to_an_object_not_seen_yet_resolves_when_it_appears_and_deletes_take_edges_along() {
    let f = fleet().await;
    let (a, sim) = (&f.alpha.0, &f.alpha.1);
    let web = id(*a, HELM, "HelmRelease", "apps", "web");
    let chart = id(*a, SOURCE, "HelmChart", "flux-system", "apps-web");
    let node = |body: &Value, id: Uuid| {
        body["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == json!(id))
            .cloned()
    };
    let before = graph(&f.server, web, "?direction=up&depth=1").await;
    let missing = node(&before, chart).expect("the chart is a node before it exists");
    assert_eq!(
        (missing["stored"].clone(), missing["watched"].clone()),
        (json!(false), json!(true))
    );

    sim.objects().create(helm_chart("apps-web")).unwrap();
    wait_for("the HelmChart to be stored and resolved", SYNC, || async {
        let body = graph(&f.server, web, "?direction=up&depth=1").await;
        node(&body, chart).is_some_and(|n| n["stored"] == true && n["health"] == "ready")
    })
    .await;

    sim.objects()
        .delete("Kustomization", "flux-system", "infra")
        .unwrap();
    let apps = id(*a, KS, "Kustomization", "flux-system", "apps");
    wait_for("infra to be gone with its edges", SYNC, || async {
        let (nodes, _) = shape(&graph(&f.server, apps, "").await);
        nodes.contains("!Kustomization/flux-system/infra")
            && !nodes.contains("!ConfigMap/infra/settings")
    })
    .await;
    let infra = id(*a, KS, "Kustomization", "flux-system", "infra");
    let client = f.db.client().await;
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM resource_edges WHERE resource_id = $1",
            &[&infra],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let _ = &f.beta;
}

#[tokio::test]
async fn objects_stored_before_the_edges_existed_get_them_from_the_backfill() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let cluster = crate::support::fleet::register_unreachable(&server, "old").await;
    let store = db.store();
    write(
        &store,
        vec![upsert(
            cluster,
            &kustomization("apps", "fleet", &["apps_api_apps_Deployment"]),
        )],
    )
    .await;
    let client = db.client().await;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM resource_edges").await,
        2,
        "source and inventory"
    );
    // As migration 0011 leaves an existing database: no edges, every object listed.
    client
        .batch_execute("DELETE FROM resource_edges; INSERT INTO resource_edges_backfill SELECT id FROM flux_resources")
        .await
        .unwrap();
    assert_eq!(store.backfill_edges(1).await.unwrap(), 1);
    assert_eq!(store.backfill_edges(1).await.unwrap(), 0, "done");
    assert_eq!(count("SELECT count(*) FROM resource_edges").await, 2);
    assert_eq!(
        count("SELECT count(*) FROM resource_edges_backfill").await,
        0
    );
    // An unchanged object writes no edges: the hash skip covers them.
    let out = store
        .write_batch(&[upsert(
            cluster,
            &kustomization("apps", "fleet", &["apps_api_apps_Deployment"]),
        )])
        .await
        .unwrap();
    assert_eq!(out.max_seq, None);
}
