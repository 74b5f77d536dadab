//! Managed workloads against simulated clusters: watched by their ownership labels, stored
//! through the writer with kstatus health and images, rolled up onto their owners, searchable
//! by image, streamed, shown in the graph; a cluster may opt out, and RBAC that forbids a kind
//! makes only that kind unavailable.

use std::collections::BTreeSet;
use std::time::Duration;

use flux_orchestrator::flux;
use flux_orchestrator::store::resource_id;
use fluxo_sim::{Scenario, SimCluster, SimOptions, WorkloadStep};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::Endpoint;
use crate::support::fleet::{FAST_INGEST, cluster_status, register, wait_for, wait_state};
use crate::support::stream::Client;

const SYNC: Duration = Duration::from_secs(30);
const KS: &str = "kustomize.toolkit.fluxcd.io";

/// Every workload of a simulated cluster.
fn sim_workloads(sim: &SimCluster) -> Vec<Value> {
    let objects = sim.objects();
    objects
        .workload_kinds()
        .into_iter()
        .flat_map(|(_, kind)| objects.list(kind, None))
        .collect()
}

struct Env {
    _db: TestDb,
    server: TestServer,
    sim: SimCluster,
    cluster: Uuid,
}

/// A server watching one simulated cluster with `workloads` workloads, all rolled out (no
/// failing or progressing objects, so every health is known); `prepare` runs on the simulator
/// before it is registered.
async fn env(workloads: usize, prepare: impl FnOnce(&SimCluster)) -> Env {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let sim = SimCluster::start(SimOptions::named("wl")).await.unwrap();
    let scenario = Scenario {
        namespaces: 2,
        objects_per_kind: 3,
        workloads,
        failure_ratio: 0.0,
        progressing_ratio: 0.0,
        suspended_ratio: 0.0,
        ..Scenario::default()
    };
    scenario.populate(&sim).unwrap();
    prepare(&sim);
    let cluster = register(&server, "wl", &sim.kubeconfig_yaml()).await;
    Env {
        _db: db,
        server,
        sim,
        cluster,
    }
}

async fn get(server: &Endpoint, path: &str) -> (u16, Value) {
    let r = server.http().get(server.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn ok(server: &Endpoint, path: &str) -> Value {
    let (status, body) = get(server, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Every workload the API lists for `query` (all pages).
async fn listed(server: &Endpoint, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = ok(
            server,
            &format!("/api/v1/workloads?limit=1000&{query}&continue={token}"),
        )
        .await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["continue"].as_str() {
            Some(next) => token = next.to_string(),
            None => return out,
        }
    }
}

fn key(w: &Value) -> String {
    let md = if w["metadata"].is_object() {
        (
            &w["kind"],
            &w["metadata"]["namespace"],
            &w["metadata"]["name"],
        )
    } else {
        (&w["kind"], &w["namespace"], &w["name"])
    };
    format!(
        "{}/{}/{}",
        md.0.as_str().unwrap(),
        md.1.as_str().unwrap(),
        md.2.as_str().unwrap()
    )
}

/// Wait until the API lists exactly the simulator's workloads.
async fn wait_all_stored(e: &Env) {
    let want: BTreeSet<String> = sim_workloads(&e.sim).iter().map(key).collect();
    assert!(!want.is_empty());
    wait_for("every workload stored", SYNC, || async {
        let have: BTreeSet<String> = listed(&e.server, "").await.iter().map(key).collect();
        have == want
    })
    .await;
}

/// A Kustomization that applied workloads, with them (the simulator's objects).
fn owned_by_a_kustomization(sim: &SimCluster) -> ((String, String), Vec<Value>) {
    let all = sim_workloads(sim);
    let owner = all
        .iter()
        .find_map(|w| {
            let labels = &w["metadata"]["labels"];
            let name = labels["kustomize.toolkit.fluxcd.io/name"].as_str()?;
            let ns = labels["kustomize.toolkit.fluxcd.io/namespace"].as_str()?;
            Some((ns.to_string(), name.to_string()))
        })
        .expect("a Kustomization owns workloads");
    let mine = all
        .into_iter()
        .filter(|w| {
            let labels = &w["metadata"]["labels"];
            labels["kustomize.toolkit.fluxcd.io/name"] == owner.1.as_str()
                && labels["kustomize.toolkit.fluxcd.io/namespace"] == owner.0.as_str()
        })
        .collect();
    (owner, mine)
}

#[tokio::test]
async fn the_graph_of_a_kustomization_shows_exactly_its_workloads_with_their_health() {
    let e = env(24, |_| {}).await;
    wait_all_stored(&e).await;
    let ((ns, name), mine) = owned_by_a_kustomization(&e.sim);
    let root = resource_id(e.cluster, KS, "Kustomization", &ns, &name);
    let graph = ok(
        &e.server,
        &format!("/api/v1/resources/{root}/graph?depth=1"),
    )
    .await;
    let inventory: Vec<&Value> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["apiGroup"] != KS)
        .collect();
    let shown: BTreeSet<String> = inventory.iter().map(|n| key(n)).collect();
    let want: BTreeSet<String> = mine.iter().map(key).collect();
    assert_eq!(shown, want);
    for node in inventory {
        assert_eq!(
            (&node["stored"], &node["watched"], &node["health"]),
            (&json!(true), &json!(true), &json!("ready")),
            "{node}"
        );
    }
    let edges = graph["edges"].as_array().unwrap();
    let to_workloads = edges
        .iter()
        .filter(|e| e["from"] == json!(root) && e["type"] == "inventory")
        .count();
    assert_eq!(to_workloads, want.len());
    let owner = ok(&e.server, &format!("/api/v1/resources/{root}")).await;
    assert_eq!(owner["resource"]["workloadHealth"], "ready");
    let entries = owner["inventory"]["groups"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .flat_map(|g| g["entries"].as_array().unwrap())
            .all(|entry| entry["health"] == "ready"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn a_failing_deployment_rolls_up_onto_its_kustomization_and_arrives_on_the_stream() {
    let e = env(24, |_| {}).await;
    wait_all_stored(&e).await;
    let ((ns, name), mine) = owned_by_a_kustomization(&e.sim);
    let deployment = mine
        .iter()
        .find(|w| w["kind"] == "Deployment")
        .expect("the owner applied a Deployment");
    let (dns, dname) = (
        deployment["metadata"]["namespace"].as_str().unwrap(),
        deployment["metadata"]["name"].as_str().unwrap(),
    );
    let owner = resource_id(e.cluster, KS, "Kustomization", &ns, &name);
    let mut stream = Client::connect(&e.server).await;
    stream
        .subscribe(None, json!({"kinds": ["deployments", "ks"]}))
        .await;
    e.sim
        .objects()
        .workload("Deployment", dns, dname, WorkloadStep::Fail)
        .unwrap();
    let failed = stream
        .next_where("change", |c| {
            c["name"] == dname && c["healthAfter"] == "failed"
        })
        .await;
    let resource = &failed["resource"];
    assert_eq!(resource["workload"]["kstatus"], "Failed", "{failed}");
    assert_eq!(
        resource["workload"]["owner"]["id"],
        json!(owner),
        "{failed}"
    );
    let rolled = stream
        .next_where("change", |c| {
            c["resourceId"] == json!(owner) && c["resource"]["workloadHealth"] == "failed"
        })
        .await;
    assert_eq!(rolled["resource"]["health"], "ready", "{rolled}");
    assert_eq!(rolled["summary"], "workloads ready → failed", "{rolled}");
    let rest = ok(&e.server, "/api/v1/resources?workloadHealth=failed").await;
    let items = rest["items"].as_array().unwrap();
    let ids: Vec<&Value> = items.iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, vec![&json!(owner)]);
    let stats = ok(&e.server, "/api/v1/stats").await;
    assert_eq!(stats["workloadHealth"]["failed"], 1, "{stats}");
    assert_eq!(stats["workloads"]["failed"], 1);
    let only = listed(&e.server, "health=failed").await;
    assert_eq!(
        only.iter().map(key).collect::<Vec<_>>(),
        vec![key(deployment)]
    );
}

#[tokio::test]
async fn image_search_finds_every_workload_by_tag_and_by_digest() {
    let e = env(30, |_| {}).await;
    wait_all_stored(&e).await;
    let mut searched = 0;
    let mut terms: BTreeSet<(String, String)> = BTreeSet::new();
    for w in sim_workloads(&e.sim) {
        for image in flux::workload_images(&w) {
            let parsed = image.parsed.expect("simulated images parse");
            if let Some(tag) = &parsed.tag {
                terms.insert((format!("{}:{tag}", parsed.repository), key(&w)));
            }
            if let Some(digest) = &parsed.digest {
                terms.insert((digest[..19].to_string(), key(&w)));
            }
        }
    }
    let distinct: BTreeSet<&String> = terms.iter().map(|(t, _)| t).collect();
    for term in distinct {
        let encoded = term.replace(':', "%3A").replace('/', "%2F");
        let found: BTreeSet<String> = listed(&e.server, &format!("image={encoded}"))
            .await
            .iter()
            .map(key)
            .collect();
        let want: BTreeSet<String> = terms
            .iter()
            .filter(|(t, _)| t == term)
            .map(|(_, w)| w.clone())
            .collect();
        assert!(
            want.is_subset(&found),
            "{term}: want {want:?}, found {found:?}"
        );
        searched += 1;
    }
    assert!(searched > 5, "{searched} terms");
    let nginx = listed(&e.server, "image=nginx%3A1.25.3").await;
    assert!(!nginx.is_empty());
    for w in &nginx {
        let images = w["workload"]["images"].as_array().unwrap();
        assert!(
            images
                .iter()
                .any(|i| i["repository"] == "docker.io/library/nginx" && i["tag"] == "1.25.3"),
            "{w}"
        );
    }
    for bad in ["image=UPPER%2FCase", "image=sha256%3Axyz", "kind=ConfigMap"] {
        let (status, body) = get(&e.server, &format!("/api/v1/workloads?{bad}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_parameter")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn an_opted_out_cluster_has_no_workloads() {
    let e = env(12, |_| {}).await;
    wait_all_stored(&e).await;
    let r = e
        .server
        .http()
        .patch(e.server.url(&format!("/api/v1/clusters/{}", e.cluster)))
        .json(&json!({"watchWorkloads": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["watchWorkloads"], false);
    wait_for("the workloads removed", SYNC, || async {
        listed(&e.server, "").await.is_empty()
    })
    .await;
    wait_state(&e.server, e.cluster, "ready", SYNC).await;
    let status = cluster_status(&e.server, e.cluster).await;
    assert!(
        status["kinds"].get("Deployment (kustomize)").is_none(),
        "{status}"
    );
    let flux = ok(&e.server, "/api/v1/resources?kind=ks").await;
    assert!(flux["total"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn a_forbidden_workload_kind_is_unavailable_and_the_cluster_keeps_watching() {
    let e = env(20, |sim| sim.faults().forbid_resource("deployments", true)).await;
    wait_state(&e.server, e.cluster, "ready", SYNC).await;
    wait_for("the other workloads stored", SYNC, || async {
        let services = listed(&e.server, "kind=Service").await.len();
        services == e.sim.objects().list("Service", None).len()
    })
    .await;
    let status = cluster_status(&e.server, e.cluster).await;
    for name in ["Deployment (kustomize)", "Deployment (helm)"] {
        assert_eq!(status["kinds"][name]["state"], "forbidden", "{status}");
    }
    assert_eq!(status["kinds"]["Service (kustomize)"]["state"], "watching");
    assert_eq!(status["state"], "ready", "{status}");
    assert!(listed(&e.server, "kind=Deployment").await.is_empty());
}

/// A broad image term counts its first page's total to 1,000 (the image search's cap), not to
/// the lists' 10,000, and says so; the same workloads listed without the term count exactly.
#[tokio::test]
async fn an_image_search_counts_to_its_own_cap_and_says_it_is_capped() {
    use crate::support::stream::{deployment, setup, upsert_workload, write};
    let env = setup(&[]).await;
    let ops: Vec<_> = (0..1_001)
        .map(|i| {
            let name = format!("web-{i:04}");
            upsert_workload(
                env.cluster,
                &deployment("apps", &name, "apps", "nginx:1.25.3"),
            )
        })
        .collect();
    write(&env.store, ops).await;
    let image = ok(&env.server, "/api/v1/workloads?image=nginx:1.25.3&limit=10").await;
    assert_eq!(
        (image["total"].as_i64(), image["totalCapped"].as_bool()),
        (Some(1_000), Some(true)),
        "{}",
        image["total"]
    );
    assert_eq!(image["items"].as_array().unwrap().len(), 10);
    let all = ok(&env.server, "/api/v1/workloads?kind=Deployment&limit=10").await;
    assert_eq!(
        (all["total"].as_i64(), all["totalCapped"].as_bool()),
        (Some(1_001), Some(false))
    );
}
