//! Every injected fault is observed by the real kube client or kube-runtime watcher.

use std::time::{Duration, Instant};

use fluxo_sim::{SimCluster, SimOptions, Verb};
use futures::{Stream, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::watcher;
use serde_json::json;

const T: Duration = Duration::from_secs(10);

fn api(
    client: kube::Client,
    kind: &str,
    plural: &str,
    group: &str,
    version: &str,
) -> Api<DynamicObject> {
    Api::all_with(
        client,
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural),
    )
}

fn kustomizations(client: kube::Client) -> Api<DynamicObject> {
    api(
        client,
        "Kustomization",
        "kustomizations",
        "kustomize.toolkit.fluxcd.io",
        "v1",
    )
}

fn ks(name: &str) -> serde_json::Value {
    json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "apps"}, "spec": {"interval": "1m0s", "path": "./", "prune": true}})
}

async fn next_event<S>(s: &mut S) -> Result<watcher::Event<DynamicObject>, watcher::Error>
where
    S: Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Unpin,
{
    tokio::time::timeout(T, s.next())
        .await
        .expect("watcher item in time")
        .expect("watcher continues")
}

async fn until_init_done<S>(s: &mut S)
where
    S: Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Unpin,
{
    while !matches!(next_event(s).await, Ok(watcher::Event::InitDone)) {}
}

fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

#[tokio::test]
async fn injected_failures_reach_the_client_and_transient_ones_are_retried() {
    let sim = SimCluster::start(SimOptions::default()).await.unwrap();
    let api = kustomizations(sim.client().unwrap());
    sim.faults().fail_next(1, 500);
    let err = api.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(api_code(&err), Some(500));
    // kube retries 503 by itself: the client succeeds, the counters show the attempts.
    sim.request_counts().reset();
    sim.faults().fail_next(2, 503);
    api.list(&ListParams::default()).await.unwrap();
    assert_eq!(sim.request_counts().get(Verb::List, "kustomizations"), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hung_apiserver_times_out_clients_until_it_recovers() {
    let sim = SimCluster::start(SimOptions::default()).await.unwrap();
    let mut cfg = sim.client_config();
    cfg.read_timeout = Some(Duration::from_millis(300));
    let api = kustomizations(kube::Client::try_from(cfg).unwrap());
    api.list(&ListParams::default()).await.unwrap();
    sim.faults().hang(Duration::from_secs(60));
    let started = Instant::now();
    let err = api.list(&ListParams::default()).await.unwrap_err();
    assert!(
        api_code(&err).is_none(),
        "a timeout, not an API error: {err}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    sim.faults().clear();
    api.list(&ListParams::default()).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_responses_are_delayed() {
    let sim = SimCluster::start(SimOptions::default()).await.unwrap();
    let api = kustomizations(sim.client().unwrap());
    sim.faults().slow(Duration::from_millis(250));
    let started = Instant::now();
    api.list(&ListParams::default()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    sim.shutdown().await;
}

#[tokio::test]
async fn refusing_one_resource_answers_403_for_it_only() {
    let sim = SimCluster::start(SimOptions::default()).await.unwrap();
    let client = sim.client().unwrap();
    let hr = api(
        client.clone(),
        "HelmRelease",
        "helmreleases",
        "helm.toolkit.fluxcd.io",
        "v2",
    );
    sim.faults().forbid_resource("helmreleases", true);
    let err = hr.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(api_code(&err), Some(403));
    kustomizations(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(sim.request_counts().get(Verb::List, "helmreleases"), 1);
    sim.faults().forbid_resource("helmreleases", false);
    hr.list(&ListParams::default()).await.unwrap();
    // A refusal with a duration ends by itself.
    sim.faults().refuse_403_for(Duration::from_secs(60));
    assert_eq!(
        api_code(&hr.list(&ListParams::default()).await.unwrap_err()),
        Some(403)
    );
    sim.faults().clear();
    hr.list(&ListParams::default()).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn restart_drops_connections_and_watchers_relist_with_the_same_objects() {
    let sim = SimCluster::start(SimOptions::default()).await.unwrap();
    sim.objects().create(ks("a")).unwrap();
    let mut w = watcher(
        kustomizations(sim.client().unwrap()),
        watcher::Config::default(),
    )
    .boxed();
    until_init_done(&mut w).await;
    let url = sim.url();
    sim.faults().restart();
    sim.objects().create(ks("b")).unwrap();
    // The dropped stream surfaces as an error or a restart; then a full relist (history is gone).
    let mut saw_init = false;
    let mut listed = Vec::new();
    loop {
        match next_event(&mut w).await {
            Ok(watcher::Event::Init) => saw_init = true,
            Ok(watcher::Event::InitApply(o)) => listed.push(o.metadata.name.unwrap()),
            Ok(watcher::Event::InitDone) if saw_init => break,
            _ => {}
        }
    }
    listed.sort();
    assert_eq!(listed, vec!["a", "b"]);
    assert_eq!(sim.url(), url);
    assert_eq!(sim.request_counts().get(Verb::List, "kustomizations"), 2);
    sim.shutdown().await;
}
