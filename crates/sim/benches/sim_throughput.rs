//! Simulator throughput: populate 100,000 objects (time, RSS), page through them with the kube
//! client, and watch events delivered per second to the real kube client — replaying a retained
//! backlog, and live while a producer writes. Plain `main`, prints figures.
//!
//! `cargo bench -p fluxo-sim --bench sim_throughput` (env `SIM_BENCH_OBJECTS`, `SIM_BENCH_EVENTS` to resize).

use std::time::{Duration, Instant};

use fluxo_sim::{Scenario, SimCluster, SimOptions};
use futures::StreamExt;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use serde_json::json;

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn kustomizations(client: kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    Api::all_with(
        client,
        &ApiResource::from_gvk_with_plural(&gvk, "kustomizations"),
    )
}

/// Write `n` status changes to Kustomizations, round-robin, from a blocking thread.
fn produce(sim: &SimCluster, n: usize) -> tokio::task::JoinHandle<Duration> {
    let objects = sim.objects();
    let keys = objects.keys("Kustomization");
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        for i in 0..n {
            let (ns, name) = &keys[i % keys.len()];
            let patch = json!({"status": {"lastAttemptedRevision": format!("main@sha1:{i:040x}")}});
            objects
                .patch("Kustomization", ns, name, &patch)
                .expect("patch");
        }
        started.elapsed()
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let total = env_or("SIM_BENCH_OBJECTS", 100_000);
    let events = env_or("SIM_BENCH_EVENTS", 100_000);
    let opts = SimOptions {
        controller: false,
        history_limit: events + 10,
        ..SimOptions::named("bench")
    };
    let sim = SimCluster::start(opts).await?;
    populate(&sim, total)?;
    let api = kustomizations(sim.client()?);
    list_pages(&api).await?;
    watch_replay(&sim, &api, events).await?;
    watch_live(&sim, &api, events).await?;
    println!("RSS at end: {:.0} MiB", rss_mib());
    sim.shutdown().await;
    Ok(())
}

/// Populate about `total` objects over every kind.
fn populate(sim: &SimCluster, total: usize) -> anyhow::Result<()> {
    let kinds = sim.objects().kinds().len() - 2;
    let rss0 = rss_mib();
    let scenario = Scenario {
        namespaces: 20,
        objects_per_kind: total.div_ceil(kinds),
        events: false,
        ..Scenario::default()
    };
    let report = scenario.populate(sim).map_err(|e| anyhow::anyhow!("{e}"))?;
    let secs = report.elapsed.as_secs_f64();
    println!(
        "populate: {} objects in {secs:.2} s ({:.0} objects/s), RSS {:.0} MiB (+{:.0} MiB)",
        report.objects,
        report.objects as f64 / secs,
        rss_mib(),
        rss_mib() - rss0
    );
    Ok(())
}

/// LIST every Kustomization in pages of 500.
async fn list_pages(api: &Api<DynamicObject>) -> anyhow::Result<()> {
    let started = Instant::now();
    let (mut listed, mut lp) = (0usize, ListParams::default().limit(500));
    loop {
        let page = api.list(&lp).await?;
        listed += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = ListParams::default().limit(500).continue_token(&c),
            None => break,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "list: {listed} Kustomizations in pages of 500 in {secs:.2} s ({:.0} objects/s)",
        listed as f64 / secs
    );
    Ok(())
}

/// Replay: a retained backlog of `events` changes streamed to kube's watch client as fast as
/// it parses.
async fn watch_replay(
    sim: &SimCluster,
    api: &Api<DynamicObject>,
    events: usize,
) -> anyhow::Result<()> {
    let rv0 = sim.objects().resource_version();
    let produced = produce(sim, events).await?;
    println!(
        "produce: {events} status changes in {:.2} s ({:.0} writes/s)",
        produced.as_secs_f64(),
        events as f64 / produced.as_secs_f64()
    );
    let started = Instant::now();
    let mut stream = api
        .watch(&WatchParams::default().timeout(290), &rv0.to_string())
        .await?
        .boxed();
    let mut seen = 0usize;
    while seen < events {
        match tokio::time::timeout(Duration::from_secs(30), stream.next()).await? {
            Some(Ok(WatchEvent::Modified(_))) => seen += 1,
            Some(Ok(_)) => {}
            Some(Err(e)) => anyhow::bail!("watch error: {e}"),
            None => anyhow::bail!("watch ended after {seen} events"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "watch replay: {seen} events to kube Api::watch in {secs:.2} s ({:.0} events/s)",
        seen as f64 / secs
    );
    Ok(())
}

/// Live: a kube-runtime watcher while a producer writes `events` changes.
async fn watch_live(
    sim: &SimCluster,
    api: &Api<DynamicObject>,
    events: usize,
) -> anyhow::Result<()> {
    let mut w = watcher(api.clone(), watcher::Config::default()).boxed();
    while !matches!(w.next().await, Some(Ok(watcher::Event::InitDone))) {}
    let started = Instant::now();
    let producer = produce(sim, events);
    let mut seen = 0usize;
    while seen < events {
        match tokio::time::timeout(Duration::from_secs(30), w.next()).await? {
            Some(Ok(watcher::Event::Apply(_))) => seen += 1,
            Some(_) => {}
            None => anyhow::bail!("watcher ended after {seen} events"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let produced = producer.await?;
    println!(
        "watch live: {seen} events to kube-runtime watcher in {secs:.2} s ({:.0} events/s; producer {:.0} writes/s)",
        seen as f64 / secs,
        events as f64 / produced.as_secs_f64()
    );
    Ok(())
}
