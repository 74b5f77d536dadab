//! Simulated workloads look and behave like the ones Flux applies: ownership labels and
//! inventories, status that kstatus (`flux::workload_status`) reads as the simulator meant it,
//! images that parse, rollouts by the controller and by churn.

use std::collections::BTreeSet;
use std::time::Duration;

use flux_orchestrator::flux::{self, ImageQuery, KStatus};
use fluxo_sim::workloadstatus::phase_of;
use fluxo_sim::{
    ChurnOptions, FAIL_ANNOTATION, FluxFlavor, Phase, Scenario, SimCluster, SimOptions,
    WorkloadStep, spawn_churn,
};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

async fn populated(flavor: FluxFlavor, scenario: Scenario) -> SimCluster {
    let sim = SimCluster::start(SimOptions {
        flavor,
        controller_delay: Duration::from_millis(20),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let report = scenario.populate(&sim).unwrap();
    assert_eq!(report.workloads, scenario.workloads);
    sim
}

fn scenario(workloads: usize) -> Scenario {
    Scenario {
        namespaces: 2,
        objects_per_kind: 4,
        workloads,
        ..Scenario::default()
    }
}

/// Every workload of the cluster.
fn workloads(sim: &SimCluster) -> Vec<Value> {
    let objects = sim.objects();
    objects
        .workload_kinds()
        .into_iter()
        .flat_map(|(_, kind)| objects.list(kind, None))
        .collect()
}

/// `(owner kind, namespace, name)` from a workload's ownership labels.
fn owner_of(obj: &Value) -> (String, String, String) {
    let labels = &obj["metadata"]["labels"];
    let label = |k: &str| labels[k].as_str().unwrap_or_default().to_string();
    match labels.get("helm.toolkit.fluxcd.io/name") {
        Some(_) => (
            "HelmRelease".into(),
            label("helm.toolkit.fluxcd.io/namespace"),
            label("helm.toolkit.fluxcd.io/name"),
        ),
        None => (
            "Kustomization".into(),
            label("kustomize.toolkit.fluxcd.io/namespace"),
            label("kustomize.toolkit.fluxcd.io/name"),
        ),
    }
}

fn inventory_id(obj: &Value) -> String {
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|av| av.rsplit_once('/'))
        .map_or("", |(g, _)| g);
    let md = &obj["metadata"];
    format!(
        "{}_{}_{group}_{}",
        md["namespace"].as_str().unwrap(),
        md["name"].as_str().unwrap(),
        obj["kind"].as_str().unwrap()
    )
}

#[tokio::test]
async fn workloads_carry_their_owners_labels_and_fill_their_inventories() {
    let sim = populated(FluxFlavor::Flux29, scenario(60)).await;
    let all = workloads(&sim);
    assert_eq!(all.len(), 60);
    let mut listed = BTreeSet::new();
    for kind in ["Kustomization", "HelmRelease"] {
        for owner in sim.objects().list(kind, None) {
            for e in owner["status"]["inventory"]["entries"]
                .as_array()
                .into_iter()
                .flatten()
            {
                listed.insert((
                    kind.to_string(),
                    owner["metadata"]["name"].as_str().unwrap().to_string(),
                    e["id"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    let owned: BTreeSet<(String, String, String)> = all
        .iter()
        .map(|w| {
            let (kind, ns, name) = owner_of(w);
            assert_eq!(
                ns, w["metadata"]["namespace"],
                "owners apply in their namespace"
            );
            (kind, name, inventory_id(w))
        })
        .collect();
    assert_eq!(
        owned, listed,
        "inventories list exactly the labelled workloads"
    );
    assert!(owned.iter().any(|(k, _, _)| k == "HelmRelease"));

    // The ingest's selectors: label existence, one watch per label family.
    let client = sim.client().unwrap();
    let deployments: Api<Deployment> = Api::all(client.clone());
    for (label, family) in [
        ("kustomize.toolkit.fluxcd.io/name", "Kustomization"),
        ("helm.toolkit.fluxcd.io/name", "HelmRelease"),
    ] {
        let list = deployments
            .list(&ListParams::default().labels(label))
            .await
            .unwrap();
        let want = all
            .iter()
            .filter(|w| w["kind"] == "Deployment" && owner_of(w).0 == family)
            .count();
        assert_eq!((list.items.len(), want > 0), (want, true), "{label}");
    }
    let none = deployments
        .list(
            &ListParams::default()
                .labels("!kustomize.toolkit.fluxcd.io/name,!helm.toolkit.fluxcd.io/name"),
        )
        .await
        .unwrap();
    assert!(none.items.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn legacy_helm_releases_label_their_workloads_but_keep_no_inventory() {
    let sim = populated(FluxFlavor::Legacy, scenario(30)).await;
    let helm_owned = workloads(&sim)
        .iter()
        .filter(|w| owner_of(w).0 == "HelmRelease")
        .count();
    assert!(helm_owned > 0);
    for hr in sim.objects().list("HelmRelease", None) {
        assert!(
            hr["status"].get("inventory").is_none(),
            "helm-controller < 1.5"
        );
    }
    sim.shutdown().await;
}

/// What kstatus makes of a workload in each simulated phase.
fn expected(kind: &str, phase: Phase) -> KStatus {
    match (kind, phase) {
        (_, Phase::Complete) => KStatus::Current,
        // kstatus reads no load-balancer address, and a CronJob is always current.
        ("CronJob" | "Service" | "Ingress", _) => KStatus::Current,
        ("Deployment" | "Job", Phase::Stuck) => KStatus::Failed,
        _ => KStatus::InProgress,
    }
}

#[tokio::test]
async fn simulated_workload_states_are_what_kstatus_computes_and_deserialize_as_typed_objects() {
    let sim = populated(
        FluxFlavor::Flux29,
        Scenario {
            failure_ratio: 0.3,
            progressing_ratio: 0.3,
            ..scenario(200)
        },
    )
    .await;
    let mut seen = BTreeSet::new();
    for w in workloads(&sim) {
        let kind = w["kind"].as_str().unwrap();
        let (phase, status) = (phase_of(&w), flux::workload_status(&w));
        assert_eq!(
            status.status,
            expected(kind, phase),
            "{kind} {phase:?}: {w}"
        );
        seen.insert((kind.to_string(), format!("{:?}", status.status)));
    }
    for want in ["Current", "InProgress", "Failed"] {
        assert!(
            seen.contains(&("Deployment".into(), want.into())),
            "{seen:?}"
        );
    }
    // The shapes are the API's: the typed k8s-openapi objects read every list.
    let client = sim.client().unwrap();
    assert!(lists_some::<Deployment>(&client).await);
    assert!(lists_some::<StatefulSet>(&client).await);
    assert!(lists_some::<DaemonSet>(&client).await);
    assert!(lists_some::<Job>(&client).await);
    assert!(lists_some::<CronJob>(&client).await);
    assert!(lists_some::<Service>(&client).await);
    assert!(lists_some::<PersistentVolumeClaim>(&client).await);
    assert!(lists_some::<Ingress>(&client).await);
    sim.shutdown().await;
}

/// A cluster-wide LIST of `K` parses into typed objects and is not empty.
async fn lists_some<K>(client: &kube::Client) -> bool
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let list = Api::<K>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    !list.items.is_empty()
}

#[tokio::test]
async fn every_simulated_image_parses_and_is_found_by_tag_and_by_digest() {
    // 8 owners × 10: every component, so every image shape.
    let sim = populated(FluxFlavor::Flux29, scenario(80)).await;
    let images: Vec<flux::ImageRef> = workloads(&sim)
        .iter()
        .flat_map(flux::workload_images)
        .map(|c| c.parsed.unwrap_or_else(|e| panic!("{}: {e}", c.image)))
        .collect();
    assert!(
        images.iter().any(|i| i.repository.contains(":5000/")),
        "a registry with a port"
    );
    assert!(
        images.iter().any(|i| i.tag.is_none() && i.digest.is_some()),
        "digest only"
    );
    assert!(
        images.iter().any(|i| i.tag.is_some() && i.digest.is_some()),
        "tag and digest"
    );
    assert!(
        images
            .iter()
            .any(|i| i.repository == "docker.io/library/nginx"),
        "Docker Hub short name"
    );
    for image in &images {
        let mut terms = vec![image.repository.clone()];
        if let Some(t) = &image.tag {
            terms.push(format!("{}:{t}", image.repository));
        }
        if let Some(d) = &image.digest {
            terms.push(d[..19].to_string());
        }
        for term in terms {
            let q = ImageQuery::parse(&term).unwrap();
            assert!(q.matches(image), "{term} finds {image:?}");
        }
    }
    sim.shutdown().await;
}

async fn wait_for(api: &Api<Deployment>, name: &str, want: KStatus, reason: Option<&str>) -> Value {
    let cond = move |d: Option<&Deployment>| {
        d.is_some_and(|d| {
            let v = serde_json::to_value(d).unwrap();
            let s = flux::workload_status(&v);
            s.status == want && s.reason.as_deref() == reason
        })
    };
    let found = tokio::time::timeout(T, await_condition(api.clone(), name, cond))
        .await
        .expect("status in time")
        .unwrap()
        .expect("exists");
    serde_json::to_value(found).unwrap()
}

#[tokio::test]
async fn the_controller_rolls_out_a_patched_image_and_pins_a_stuck_rollout() {
    let sim = populated(
        FluxFlavor::Flux29,
        Scenario {
            failure_ratio: 0.0,
            progressing_ratio: 0.0,
            ..scenario(10)
        },
    )
    .await;
    let api: Api<Deployment> = Api::namespaced(sim.client().unwrap(), "apps");
    let name = "app-0-web";
    let image = |d: &Value| d["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    let before = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
    // A merge patch replaces the whole list, as `kubectl patch --type merge` would.
    let mut containers = before["spec"]["template"]["spec"]["containers"].clone();
    containers[0]["image"] = json!("ghcr.io/acme/app-0:9.9.9");
    let patch = json!({"spec": {"template": {"spec": {"containers": containers}}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let done = wait_for(&api, name, KStatus::Current, None).await;
    assert_eq!(image(&done), "ghcr.io/acme/app-0:9.9.9");
    assert_eq!(
        (
            done["metadata"]["generation"].clone(),
            done["status"]["observedGeneration"].clone()
        ),
        (
            json!(before["metadata"]["generation"].as_i64().unwrap() + 1),
            done["metadata"]["generation"].clone()
        )
    );

    let pin = json!({"metadata": {"annotations": {FAIL_ANNOTATION: "ProgressDeadlineExceeded"}},
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&pin))
        .await
        .unwrap();
    let stuck = wait_for(
        &api,
        name,
        KStatus::Failed,
        Some("ProgressDeadlineExceeded"),
    )
    .await;
    assert_eq!(
        flux::workload_status(&stuck).status.health(),
        flux::Health::Failed
    );
    let unpin = json!({"metadata": {"annotations": {FAIL_ANNOTATION: null}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&unpin))
        .await
        .unwrap();
    wait_for(&api, name, KStatus::Current, None).await;

    // The programmatic API: one step at a time, one write each.
    let o = sim.objects();
    let rolled = o
        .workload("Deployment", "apps", name, WorkloadStep::Rollout)
        .unwrap();
    assert_eq!(
        flux::workload_status(&rolled).reason.as_deref(),
        Some("LessUpdated")
    );
    assert_ne!(image(&rolled), image(&done));
    let failed = o
        .workload("Deployment", "apps", name, WorkloadStep::Fail)
        .unwrap();
    assert_eq!(flux::workload_status(&failed).status, KStatus::Failed);
    let scaled = o
        .workload("Deployment", "apps", name, WorkloadStep::Scale(5))
        .unwrap();
    let s = flux::workload_status(&scaled);
    assert_eq!(
        (s.status, s.replicas.map(|r| (r.ready, r.desired))),
        (KStatus::Current, Some((5, 5)))
    );
    let err = o
        .workload("Service", "apps", name, WorkloadStep::Scale(2))
        .unwrap_err();
    assert_eq!(err.code, 400);
    assert_eq!(
        o.workload("Kustomization", "apps", "app-0", WorkloadStep::Complete)
            .unwrap_err()
            .code,
        400
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn churn_rolls_workloads_out_to_new_images_and_some_get_stuck() {
    let sim = populated(
        FluxFlavor::Flux29,
        Scenario {
            failure_ratio: 0.0,
            progressing_ratio: 0.0,
            ..scenario(100)
        },
    )
    .await;
    let images = |sim: &SimCluster| -> BTreeSet<String> {
        workloads(sim)
            .iter()
            .flat_map(flux::workload_images)
            .map(|c| c.image)
            .collect()
    };
    let before = images(&sim);
    let churn = spawn_churn(
        &sim,
        ChurnOptions {
            rate: 400.0,
            failure_ratio: 0.2,
            progressing_ratio: 0.2,
            workload_share: 1.0,
            ..ChurnOptions::default()
        },
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    churn.stop().await;
    let after = images(&sim);
    assert!(
        after.difference(&before).count() >= 5,
        "new images rolled out"
    );
    let statuses: Vec<KStatus> = workloads(&sim)
        .iter()
        .filter(|w| w["kind"] == "Deployment")
        .map(|w| flux::workload_status(w).status)
        .collect();
    assert!(
        statuses.contains(&KStatus::Failed) && statuses.contains(&KStatus::InProgress),
        "{statuses:?}"
    );
    sim.shutdown().await;
}
