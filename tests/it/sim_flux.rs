//! Simulated Flux objects look and behave like Flux's: scenario shapes, the built-in
//! controller's answers to reconcile/suspend/force/reset, Events, churn.

use std::time::Duration;

use fluxo_sim::{ChurnOptions, Health, Scenario, SimCluster, SimOptions, spawn_churn};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::runtime::wait::await_condition;
use kube::runtime::watcher;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

fn api(client: kube::Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    let (group, version, plural) = match kind {
        "Kustomization" => ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
        "HelmRelease" => ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
        _ => ("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
    };
    Api::namespaced_with(
        client,
        ns,
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural),
    )
}

async fn wait_for(
    api: &Api<DynamicObject>,
    name: &str,
    f: impl Fn(&Value) -> bool,
) -> DynamicObject {
    let cond = move |o: Option<&DynamicObject>| o.is_some_and(|o| f(&o.data));
    let found = tokio::time::timeout(T, await_condition(api.clone(), name, cond))
        .await
        .expect("condition in time")
        .unwrap();
    found.expect("object exists")
}

fn ready(v: &Value) -> Option<&Value> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
}

#[tokio::test]
async fn scenario_objects_carry_flux_status_shapes_and_references() {
    let sim = SimCluster::start(SimOptions::default()).await.unwrap();
    let report = Scenario {
        namespaces: 2,
        objects_per_kind: 12,
        failure_ratio: 0.3,
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    assert_eq!(report.objects, 13 * 12);
    assert!(report.failing > 0);
    let o = sim.objects();
    let ks = o.get("Kustomization", "apps", "app-1").unwrap();
    assert_eq!(
        ks["spec"]["sourceRef"],
        json!({"kind": "GitRepository", "name": "repo-0"})
    );
    assert_eq!(ks["spec"]["dependsOn"], json!([{"name": "app-0"}]));
    assert!(
        o.get("GitRepository", "apps", "repo-0").is_some(),
        "referenced sources exist"
    );
    let all_ks = o.list("Kustomization", None);
    let healthy = all_ks
        .iter()
        .find(|k| ready(k).is_some_and(|r| r["status"] == "True"))
        .unwrap();
    let st = &healthy["status"];
    assert_eq!(st["observedGeneration"], healthy["metadata"]["generation"]);
    assert_eq!(ready(healthy).unwrap()["reason"], "ReconciliationSucceeded");
    assert!(
        st["lastAppliedRevision"]
            .as_str()
            .unwrap()
            .starts_with("main@sha1:")
    );
    assert_eq!(st["lastAppliedRevision"], st["lastAttemptedRevision"]);
    assert!(!st["inventory"]["entries"].as_array().unwrap().is_empty());
    assert!(st["history"].as_array().is_some());
    let failing = all_ks
        .iter()
        .find(|k| ready(k).is_some_and(|r| r["status"] == "False"))
        .unwrap();
    let reason = ready(failing).unwrap()["reason"].as_str().unwrap();
    assert!(
        [
            "HealthCheckFailed",
            "ArtifactFailed",
            "BuildFailed",
            "ReconciliationFailed"
        ]
        .contains(&reason),
        "{reason}"
    );
    let hr = o
        .list("HelmRelease", None)
        .into_iter()
        .find(|h| ready(h).is_some_and(|r| r["status"] == "True"))
        .unwrap();
    assert_eq!(hr["status"]["history"][0]["status"], "deployed");
    assert!(hr["status"]["helmChart"].as_str().unwrap().contains('/'));
    let git = o
        .list("GitRepository", None)
        .into_iter()
        .find(|g| ready(g).is_some_and(|r| r["status"] == "True"))
        .unwrap();
    assert_eq!(
        git["status"]["artifact"]["revision"]
            .as_str()
            .map(|r| r.starts_with("main@sha1:")),
        Some(true)
    );
    // Failing objects got Warning events from their controller.
    let events: Api<Event> = Api::all(sim.client().unwrap());
    let warnings = events
        .list(&ListParams::default().fields("type=Warning"))
        .await
        .unwrap();
    assert_eq!(warnings.items.len(), report.failing);
    let ev = &warnings.items[0];
    assert!(
        ev.reporting_component
            .as_deref()
            .is_some_and(|c| c.ends_with("-controller"))
    );
    assert!(ev.involved_object.kind.is_some() && ev.involved_object.uid.is_some());
    // A programmatic reconciliation renders the outcome and emits the controller's Event.
    let failed = o
        .reconcile(
            "HelmRelease",
            "apps",
            "release-0",
            Health::Failed {
                reason: "UpgradeFailed".into(),
                message: "timed out".into(),
                stalled: false,
            },
            true,
        )
        .unwrap();
    assert_eq!(ready(&failed).unwrap()["reason"], "UpgradeFailed");
    let evs = events
        .list(&ListParams::default().fields("involvedObject.name=release-0,reason=UpgradeFailed"))
        .await
        .unwrap();
    assert_eq!(
        evs.items[0].reporting_component.as_deref(),
        Some("helm-controller")
    );
    // Same seed, same objects.
    let again = SimCluster::start(SimOptions::default()).await.unwrap();
    Scenario {
        namespaces: 2,
        objects_per_kind: 12,
        failure_ratio: 0.3,
        ..Scenario::default()
    }
    .populate(&again)
    .unwrap();
    let strip = |v: Value| {
        (
            v["status"]["conditions"][0]["reason"].clone(),
            v["spec"].clone(),
            v["status"]["lastAttemptedRevision"].clone(),
        )
    };
    assert_eq!(
        o.list("Kustomization", None)
            .into_iter()
            .map(strip)
            .collect::<Vec<_>>(),
        again
            .objects()
            .list("Kustomization", None)
            .into_iter()
            .map(strip)
            .collect::<Vec<_>>()
    );
    again.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn controller_answers_reconcile_requests_and_spec_changes_but_not_when_suspended() {
    let sim = SimCluster::start(SimOptions {
        controller_delay: Duration::from_millis(20),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    Scenario {
        namespaces: 1,
        objects_per_kind: 3,
        failure_ratio: 0.0,
        progressing_ratio: 0.0,
        suspended_ratio: 0.0,
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    let ks = api(sim.client().unwrap(), "apps", "Kustomization");
    let pp = PatchParams::default();
    let at = "2025-06-01T10:00:00.000000000Z";
    ks.patch(
        "app-0",
        &pp,
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    for name in ["app-0", "app-1"] {
        ks.patch(
            name,
            &pp,
            &Patch::Merge(
                json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": at}}}),
            ),
        )
        .await
        .unwrap();
    }
    let done = wait_for(&ks, "app-1", |v| {
        v["status"]["lastHandledReconcileAt"] == at
            && ready(v).is_some_and(|r| r["status"] == "True")
    })
    .await;
    assert_eq!(done.data["status"]["observedGeneration"], json!(1));
    let suspended = ks.get("app-0").await.unwrap();
    assert_ne!(
        suspended.data["status"]["lastHandledReconcileAt"], at,
        "suspended objects are not reconciled"
    );
    // Resuming changes the spec: a new generation, observed after reconciliation.
    ks.patch(
        "app-0",
        &pp,
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    let resumed = wait_for(&ks, "app-0", |v| {
        v["status"]["observedGeneration"] == json!(3)
    })
    .await;
    assert_eq!(resumed.data["status"]["lastHandledReconcileAt"], at);
    // A pinned failure is reported with its reason and a Warning event.
    ks.patch("app-2", &pp, &Patch::Merge(json!({"metadata": {"annotations": {"sim.flux-orchestrator.io/fail": "HealthCheckFailed", "reconcile.fluxcd.io/requestedAt": "t2"}}}))).await.unwrap();
    let failed = wait_for(&ks, "app-2", |v| {
        v["status"]["lastHandledReconcileAt"] == "t2"
    })
    .await;
    assert_eq!(ready(&failed.data).unwrap()["reason"], "HealthCheckFailed");
    let events: Api<Event> = Api::namespaced(sim.client().unwrap(), "apps");
    let evs = events
        .list(&ListParams::default().fields("involvedObject.name=app-2,reason=HealthCheckFailed"))
        .await
        .unwrap();
    assert_eq!(
        evs.items[0].reporting_component.as_deref(),
        Some("kustomize-controller")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn helm_release_force_and_reset_requests_are_handled() {
    let sim = SimCluster::start(SimOptions {
        controller_delay: Duration::from_millis(20),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    Scenario {
        namespaces: 1,
        objects_per_kind: 1,
        failure_ratio: 1.0,
        kinds: Some(vec!["HelmRelease".into()]),
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    let hr = api(sim.client().unwrap(), "apps", "HelmRelease");
    let before = hr.get("release-0").await.unwrap();
    assert!(before.data["status"]["failures"].as_i64().unwrap() >= 1);
    let anns = json!({"reconcile.fluxcd.io/requestedAt": "t1", "reconcile.fluxcd.io/forceAt": "t1", "reconcile.fluxcd.io/resetAt": "t1"});
    hr.patch(
        "release-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": anns}})),
    )
    .await
    .unwrap();
    let after = wait_for(&hr, "release-0", |v| {
        v["status"]["lastHandledForceAt"] == "t1"
    })
    .await;
    let st = &after.data["status"];
    assert_eq!(
        (
            st["lastHandledResetAt"].clone(),
            st["lastHandledReconcileAt"].clone()
        ),
        (json!("t1"), json!("t1"))
    );
    assert!(
        st.get("failures").is_none(),
        "reset clears the failure counters"
    );
    assert_eq!(ready(&after.data).unwrap()["reason"], "UpgradeSucceeded");
    sim.shutdown().await;
}

#[tokio::test]
async fn churn_flips_statuses_and_advances_revisions() {
    let sim = SimCluster::start(SimOptions::default()).await.unwrap();
    Scenario {
        namespaces: 2,
        objects_per_kind: 4,
        kinds: Some(vec!["Kustomization".into(), "GitRepository".into()]),
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    let gvk = GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let all: Api<DynamicObject> = Api::all_with(
        sim.client().unwrap(),
        &ApiResource::from_gvk_with_plural(&gvk, "kustomizations"),
    );
    let mut w = watcher(all, watcher::Config::default()).boxed();
    let churn = spawn_churn(
        &sim,
        ChurnOptions {
            rate: 500.0,
            // Many transitions of each kind, to see them all in a few dozen changes.
            failure_ratio: 0.3,
            progressing_ratio: 0.3,
            wave_every: Some(Duration::from_millis(100)),
            wave_size: 2,
            ..ChurnOptions::default()
        },
    );
    let (mut reasons, mut revisions) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    let mut applied = 0;
    while applied < 60 || reasons.len() < 3 {
        match tokio::time::timeout(T, w.next())
            .await
            .expect("churn events in time")
        {
            Some(Ok(watcher::Event::Apply(o))) => {
                applied += 1;
                if let Some(r) = ready(&o.data) {
                    reasons.insert(r["reason"].as_str().unwrap_or_default().to_string());
                }
                revisions.insert(o.data["status"]["lastAttemptedRevision"].to_string());
            }
            Some(_) => {}
            None => panic!("watcher ended"),
        }
    }
    assert!(
        reasons.contains("Progressing") && reasons.contains("ReconciliationSucceeded"),
        "{reasons:?}"
    );
    assert!(revisions.len() > 4);
    assert!(churn.changes() > 0);
    churn.stop().await;
    assert!(
        sim.objects()
            .keys("Kustomization")
            .iter()
            .any(|(_, n)| n.starts_with("wave-"))
    );
    sim.shutdown().await;
}

/// The mean shares of (failing, progressing) objects over ten looks at a cluster whose objects
/// all started Ready and were then churned five times each on average; between two looks every
/// object changes once on average, so the looks are nearly independent at any churn speed.
async fn churned_mix(churn: ChurnOptions) -> (f64, f64) {
    let sim = SimCluster::start(SimOptions {
        controller: false,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let kinds = ["Kustomization", "HelmRelease", "GitRepository"];
    let objects = 60 * kinds.len() as u64;
    Scenario {
        namespaces: 3,
        objects_per_kind: 60,
        failure_ratio: 0.0,
        progressing_ratio: 0.0,
        suspended_ratio: 0.0,
        kinds: Some(kinds.iter().map(|k| k.to_string()).collect()),
        events: false,
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    let churn = spawn_churn(
        &sim,
        ChurnOptions {
            rate: 3_000.0,
            ..churn
        },
    );
    let (mut failing, mut progressing, mut seen) = (0u32, 0u32, 0u32);
    for look in 5..15 {
        while churn.changes() < look * objects {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for kind in kinds {
            for obj in sim.objects().list(kind, None) {
                seen += 1;
                match ready(&obj).and_then(|r| r["status"].as_str()) {
                    Some("False") => failing += 1,
                    Some("True") => {}
                    _ => progressing += 1,
                }
            }
        }
    }
    churn.stop().await;
    sim.shutdown().await;
    let mix = (
        f64::from(failing) / f64::from(seen),
        f64::from(progressing) / f64::from(seen),
    );
    eprintln!(
        "churned mix: {:.3} failing, {:.3} progressing",
        mix.0, mix.1
    );
    mix
}

#[tokio::test]
async fn churn_keeps_most_objects_ready_with_the_configured_mix() {
    // The defaults: a realistic fleet, not ~40% of it Reconciling.
    let (failing, progressing) = churned_mix(ChurnOptions::default()).await;
    assert!(
        (0.03..=0.13).contains(&failing) && (0.01..=0.08).contains(&progressing),
        "default mix: {failing:.3} failing, {progressing:.3} progressing"
    );
    let (failing, progressing) = churned_mix(ChurnOptions {
        failure_ratio: 0.20,
        progressing_ratio: 0.10,
        ..ChurnOptions::default()
    })
    .await;
    assert!(
        (0.14..=0.26).contains(&failing) && (0.05..=0.15).contains(&progressing),
        "configured 20%/10%: {failing:.3} failing, {progressing:.3} progressing"
    );
}
