//! The simulator speaks the Kubernetes API protocol to the real kube client and kube-runtime
//! watcher: discovery, list pagination, watch resume/relist, bookmarks, streaming lists,
//! merge patch, authentication.

use std::time::Duration;

use fluxo_sim::{FluxFlavor, KubeconfigAuth, Scenario, SimCluster, SimOptions, Verb};
use futures::{Stream, StreamExt};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, WatchEvent,
    WatchParams,
};
use kube::discovery::Discovery;
use kube::runtime::watcher;
use serde_json::json;

const T: Duration = Duration::from_secs(10);

async fn start(opts: SimOptions) -> SimCluster {
    SimCluster::start(opts).await.expect("start simulator")
}

fn kustomizations(client: kube::Client, ns: Option<&str>) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "kustomizations");
    match ns {
        Some(ns) => Api::namespaced_with(client, ns, &ar),
        None => Api::all_with(client, &ar),
    }
}

fn ks(ns: &str, name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "10m0s", "path": "./", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "repo"}},
    })
}

/// Next watcher event that is not an error (errors are how kube reports a dropped stream).
async fn next_event<S>(s: &mut S) -> watcher::Event<DynamicObject>
where
    S: Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(T, s.next())
            .await
            .expect("watcher event in time")
        {
            Some(Ok(ev)) => return ev,
            Some(Err(_)) => continue,
            None => panic!("watcher ended"),
        }
    }
}

/// Drain events until `InitDone`, returning how many objects the init delivered.
async fn until_init_done<S>(s: &mut S) -> usize
where
    S: Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Unpin,
{
    let mut n = 0;
    loop {
        match next_event(s).await {
            watcher::Event::InitApply(_) => n += 1,
            watcher::Event::InitDone => return n,
            _ => {}
        }
    }
}

#[tokio::test]
async fn discovery_finds_every_flux_kind_at_its_served_version() {
    let sim = start(SimOptions::default()).await;
    let client = sim.client().unwrap();
    let plain = Discovery::new(client.clone()).run().await.unwrap();
    let aggregated = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    let expect = [
        (
            "source.toolkit.fluxcd.io",
            "v1",
            [
                "GitRepository",
                "HelmRepository",
                "HelmChart",
                "OCIRepository",
                "Bucket",
            ]
            .as_slice(),
        ),
        ("kustomize.toolkit.fluxcd.io", "v1", &["Kustomization"]),
        ("helm.toolkit.fluxcd.io", "v2", &["HelmRelease"]),
        (
            "notification.toolkit.fluxcd.io",
            "v1beta3",
            &["Alert", "Provider"],
        ),
        ("notification.toolkit.fluxcd.io", "v1", &["Receiver"]),
        (
            "image.toolkit.fluxcd.io",
            "v1",
            &["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"],
        ),
        ("", "v1", &["Namespace", "Event"]),
    ];
    for d in [&plain, &aggregated] {
        for (group, version, kinds) in expect {
            let g = d
                .get(group)
                .unwrap_or_else(|| panic!("group {group:?} discovered"));
            let served: Vec<String> = g
                .versioned_resources(version)
                .into_iter()
                .map(|(ar, _)| ar.kind)
                .collect();
            for k in kinds {
                assert!(
                    served.iter().any(|s| s == k),
                    "{k} at {group}/{version}: {served:?}"
                );
            }
        }
        let (ar, caps) = d
            .get("kustomize.toolkit.fluxcd.io")
            .unwrap()
            .recommended_kind("Kustomization")
            .unwrap();
        assert_eq!(ar.plural, "kustomizations");
        assert!(caps.supports_operation("watch"));
        assert!(
            caps.subresources
                .iter()
                .any(|(sub, _)| sub.plural == "kustomizations/status" || sub.plural == "status")
        );
    }
    assert_eq!(client.apiserver_version().await.unwrap().major, "1");
    sim.shutdown().await;
}

#[tokio::test]
async fn legacy_flavor_serves_older_versions_and_no_ocirepository() {
    let sim = start(SimOptions {
        flavor: FluxFlavor::Legacy,
        aggregated_discovery: false,
        ..SimOptions::named("legacy")
    })
    .await;
    let d = Discovery::new(sim.client().unwrap()).run().await.unwrap();
    let kinds_at = |g: &str, v: &str| -> Vec<String> {
        d.get(g)
            .unwrap()
            .versioned_resources(v)
            .into_iter()
            .map(|(ar, _)| ar.kind)
            .collect()
    };
    assert_eq!(
        d.get("source.toolkit.fluxcd.io")
            .unwrap()
            .preferred_version_or_latest(),
        "v1"
    );
    assert_eq!(
        kinds_at("source.toolkit.fluxcd.io", "v1"),
        vec!["GitRepository"]
    );
    let beta = kinds_at("source.toolkit.fluxcd.io", "v1beta2");
    assert!(
        beta.contains(&"HelmRepository".to_string()) && beta.contains(&"GitRepository".to_string())
    );
    assert!(!beta.contains(&"OCIRepository".to_string()));
    assert_eq!(
        kinds_at("helm.toolkit.fluxcd.io", "v2beta2"),
        vec!["HelmRelease"]
    );
    assert_eq!(kinds_at("image.toolkit.fluxcd.io", "v1beta2").len(), 3);
    // The same GitRepository is served at both versions, each with its own apiVersion.
    Scenario {
        objects_per_kind: 2,
        kinds: Some(vec!["GitRepository".into()]),
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    for v in ["v1", "v1beta2"] {
        let gvk = GroupVersionKind::gvk("source.toolkit.fluxcd.io", v, "GitRepository");
        let api: Api<DynamicObject> = Api::all_with(
            sim.client().unwrap(),
            &ApiResource::from_gvk_with_plural(&gvk, "gitrepositories"),
        );
        let list = api.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), 2);
        assert_eq!(
            list.items[0].types.as_ref().unwrap().api_version,
            format!("source.toolkit.fluxcd.io/{v}")
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn list_paginates_with_limit_and_continue_at_one_resource_version() {
    let sim = start(SimOptions::default()).await;
    Scenario {
        namespaces: 2,
        objects_per_kind: 7,
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    let api = kustomizations(sim.client().unwrap(), None);
    let mut lp = ListParams::default().limit(3);
    let (mut names, mut rvs, mut pages) = (Vec::new(), Vec::new(), 0);
    loop {
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        rvs.push(page.metadata.resource_version.clone().unwrap());
        names.extend(page.items.iter().map(|o| {
            format!(
                "{}/{}",
                o.metadata.namespace.clone().unwrap(),
                o.metadata.name.clone().unwrap()
            )
        }));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = ListParams::default().limit(3).continue_token(&c),
            None => break,
        }
        // A change between pages must not change the list's resourceVersion.
        sim.objects()
            .patch(
                "Kustomization",
                "apps",
                "app-0",
                &json!({"metadata": {"labels": {"page": pages.to_string()}}}),
            )
            .unwrap();
    }
    assert_eq!((pages, names.len()), (3, 7));
    assert!(rvs.iter().all(|r| r == &rvs[0]));
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "no duplicates across pages");
    let apps = kustomizations(sim.client().unwrap(), Some("apps"))
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(apps.items.len(), 4);
    let team = api
        .list(&ListParams::default().labels("team=team-1"))
        .await
        .unwrap();
    assert!(
        team.items
            .iter()
            .all(|o| o.metadata.labels.as_ref().unwrap()["team"] == "team-1")
            && !team.items.is_empty()
    );
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=app-1"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn watcher_resumes_without_relist_after_a_dropped_connection() {
    let sim = start(SimOptions::default()).await;
    let objects = sim.objects();
    objects.create(ks("apps", "a")).unwrap();
    let api = kustomizations(sim.client().unwrap(), None);
    let mut w = watcher(api, watcher::Config::default()).boxed();
    assert!(matches!(next_event(&mut w).await, watcher::Event::Init));
    assert_eq!(until_init_done(&mut w).await, 1);
    objects.create(ks("apps", "b")).unwrap();
    assert!(
        matches!(next_event(&mut w).await, watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some("b"))
    );
    sim.faults().drop_watches();
    objects.create(ks("apps", "c")).unwrap();
    objects.delete("Kustomization", "apps", "a").unwrap();
    assert!(
        matches!(next_event(&mut w).await, watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some("c"))
    );
    assert!(
        matches!(next_event(&mut w).await, watcher::Event::Delete(o) if o.metadata.name.as_deref() == Some("a"))
    );
    let counts = sim.request_counts();
    assert_eq!(counts.get(Verb::List, "kustomizations"), 1, "no relist");
    assert_eq!(
        counts.get(Verb::Watch, "kustomizations"),
        2,
        "one resumed watch"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn watcher_relists_after_compaction_answers_410() {
    let sim = start(SimOptions::default()).await;
    let objects = sim.objects();
    objects.create(ks("apps", "a")).unwrap();
    let mut w = watcher(
        kustomizations(sim.client().unwrap(), None),
        watcher::Config::default(),
    )
    .boxed();
    assert!(matches!(next_event(&mut w).await, watcher::Event::Init));
    until_init_done(&mut w).await;
    objects.create(ks("apps", "b")).unwrap();
    assert!(matches!(next_event(&mut w).await, watcher::Event::Apply(_)));
    sim.faults().compact();
    sim.faults().drop_watches();
    // The resume gets an in-stream 410 Expired: the watcher starts over with a fresh LIST.
    assert!(matches!(next_event(&mut w).await, watcher::Event::Init));
    assert_eq!(until_init_done(&mut w).await, 2);
    assert_eq!(sim.request_counts().get(Verb::List, "kustomizations"), 2);
    // A raw resume from the compacted version reports Expired.
    let api = kustomizations(sim.client().unwrap(), None);
    let mut raw = api
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(T, raw.next()).await.unwrap() {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bookmarks_arrive_periodically_and_advance_the_resource_version() {
    let sim = start(SimOptions {
        bookmark_interval: Duration::from_millis(100),
        ..SimOptions::default()
    })
    .await;
    sim.objects().create(ks("apps", "a")).unwrap();
    let rv = sim.objects().resource_version();
    // Writes to another type advance the global resourceVersion; the bookmark reports it.
    sim.objects().ensure_namespace("elsewhere").unwrap();
    let api = kustomizations(sim.client().unwrap(), None);
    let mut s = api
        .watch(&WatchParams::default().timeout(10), &rv.to_string())
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(T, s.next()).await.unwrap() {
        Some(Ok(WatchEvent::Bookmark(b))) => {
            assert!(b.metadata.resource_version.parse::<u64>().unwrap() > rv)
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn streaming_list_watcher_reaches_init_done_without_a_list() {
    let sim = start(SimOptions::default()).await;
    Scenario {
        objects_per_kind: 5,
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    let api = kustomizations(sim.client().unwrap(), None);
    let mut w = watcher(api, watcher::Config::default().streaming_lists()).boxed();
    assert!(matches!(next_event(&mut w).await, watcher::Event::Init));
    assert_eq!(until_init_done(&mut w).await, 5);
    sim.objects().create(ks("apps", "late")).unwrap();
    assert!(
        matches!(next_event(&mut w).await, watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some("late"))
    );
    let counts = sim.request_counts();
    assert_eq!(
        (
            counts.get(Verb::List, "kustomizations"),
            counts.get(Verb::Watch, "kustomizations")
        ),
        (0, 1)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn merge_patch_bumps_generation_only_on_spec_change() {
    let sim = start(SimOptions {
        controller: false,
        ..SimOptions::default()
    })
    .await;
    sim.objects().create(ks("apps", "a")).unwrap();
    let api = kustomizations(sim.client().unwrap(), Some("apps"));
    let pp = PatchParams::default();
    let o = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"metadata": {"annotations": {"x": "1"}}})),
        )
        .await
        .unwrap();
    assert_eq!(o.metadata.generation, Some(1));
    let o = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"spec": {"suspend": true, "prune": null}})),
        )
        .await
        .unwrap();
    assert_eq!(o.metadata.generation, Some(2));
    assert_eq!(o.data["spec"]["suspend"], true);
    assert!(
        o.data["spec"].get("prune").is_none(),
        "null removes the field"
    );
    // Status goes through /status only; the main resource ignores it.
    let o = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"status": {"observedGeneration": 2}})),
        )
        .await
        .unwrap();
    assert!(o.data.get("status").is_none());
    let o = api
        .patch_status(
            "a",
            &pp,
            &Patch::Merge(json!({"status": {"observedGeneration": 2}, "spec": {"path": "./x"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            o.data["status"]["observedGeneration"].clone(),
            o.data["spec"]["path"].clone()
        ),
        (json!(2), json!("./"))
    );
    // A stale resourceVersion precondition conflicts.
    let err = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "spec": {"path": "./y"}})),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 409));
    let err = api.get("missing").await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound"));
    sim.shutdown().await;
}

#[tokio::test]
async fn authentication_accepts_token_and_client_cert_and_rejects_others() {
    let sim = start(SimOptions::default()).await;
    let ok = kustomizations(
        kube::Client::try_from(sim.client_config_with(KubeconfigAuth::ClientCert)).unwrap(),
        None,
    );
    ok.list(&ListParams::default()).await.unwrap();
    let mut bad = sim.client_config();
    bad.auth_info = serde_json::from_value(json!({"token": "wrong"})).unwrap();
    let err = kustomizations(kube::Client::try_from(bad).unwrap(), None)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 401 && s.reason == "Unauthorized"));
    sim.faults().refuse_403(true);
    let err = ok.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(s) if s.code == 403 && s.message.contains("cannot list resource \"kustomizations\""))
    );
    sim.faults().refuse_403(false);
    ok.list(&ListParams::default()).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_objects_and_watchers_see_it() {
    let sim = start(SimOptions::default()).await;
    sim.objects().create(ks("doomed", "a")).unwrap();
    sim.objects().create(ks("apps", "b")).unwrap();
    let mut w = watcher(
        kustomizations(sim.client().unwrap(), None),
        watcher::Config::default(),
    )
    .boxed();
    until_init_done(&mut w).await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(sim.client().unwrap());
    namespaces
        .delete("doomed", &Default::default())
        .await
        .unwrap();
    assert!(
        matches!(next_event(&mut w).await, watcher::Event::Delete(o) if o.metadata.name.as_deref() == Some("a"))
    );
    assert!(sim.objects().get("Kustomization", "doomed", "a").is_none());
    assert!(sim.objects().get("Kustomization", "apps", "b").is_some());
    assert!(namespaces.get_opt("doomed").await.unwrap().is_none());
    sim.shutdown().await;
}
