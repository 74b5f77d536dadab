//! Scenario 2: the earlier prototype's method as a baseline, in the same run. The same simulated
//! fleet and the same stream of status changes are observed twice:
//!
//! - **watches**: the real server (one watch per kind per cluster), change → committed row;
//! - **polling**: a poller that lists every kind of every cluster every 10 s and writes what it
//!   lists through the same batching writer (with the same no-op skip) into a fresh database
//!   on the same PostgreSQL, change → committed row.
//!
//! The simulators count every request and every byte on the wire (TLS included), so each
//! method's apiserver cost per hour comes from what it really sent and received. The prototype
//! polled every 5 minutes; running that for real would take an hour of bench time, so its figures
//! are derived from the measured 10 s poller: its cost per cycle times 12 cycles an hour, and
//! its latency as the wait for the next cycle (uniform over the interval) plus the measured
//! time a cycle takes to reach a change. The 10 s run checks that model against a measurement.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flux_orchestrator::flux;
use flux_orchestrator::ingest::writer::{self, WriterMetrics};
use flux_orchestrator::metrics::Metrics;
use flux_orchestrator::store::WriteOp;
use fluxo_sim::Verb;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::harness::{self, Dist, Fleet, FleetSpec, Marks, Report, RowWatch};
use crate::support::db::TestDb;

const SCENARIO: &str = "2 polling";

struct Plan {
    clusters: usize,
    per_kind: usize,
    /// Marked changes per second across the fleet.
    rate: f64,
    /// Seconds each method is observed.
    window: f64,
    /// The measured poller's interval.
    interval: f64,
}

/// The prototype's interval.
const PROTOTYPE_INTERVAL: f64 = 300.0;
/// The server's default backstop relist and re-discovery intervals, in seconds.
const BACKSTOP_INTERVAL: f64 = 600.0;
const REDISCOVER_INTERVAL: f64 = 300.0;

/// Requests and bytes the fleet's simulators served since their counters were reset.
#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    requests: u64,
    lists: u64,
    watches: u64,
    bytes: u64,
}

fn cost(fleet: &Fleet) -> Cost {
    let mut c = Cost::default();
    for sim in &fleet.sims {
        let counts = sim.request_counts();
        c.requests += counts.snapshot().values().sum::<u64>();
        c.lists += counts.total(Verb::List);
        c.watches += counts.total(Verb::Watch);
        c.bytes += counts.bytes_sent() + counts.bytes_received();
    }
    c
}

fn reset(fleet: &Fleet) {
    for sim in &fleet.sims {
        sim.request_counts().reset();
    }
}

pub async fn run(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let plan = if quick {
        Plan {
            clusters: 2,
            per_kind: 10,
            rate: 10.0,
            window: 3.0,
            interval: 1.0,
        }
    } else {
        Plan {
            clusters: 10,
            per_kind: 154,
            rate: 10.0,
            window: 60.0,
            interval: 10.0,
        }
    };
    let fleet = Fleet::start(FleetSpec {
        prefix: "poll",
        clusters: plan.clusters,
        per_kind: plan.per_kind,
        namespaces: 8,
        kinds: None,
        events: false,
        workloads: 0,
    })
    .await?;
    let kinds = fleet.kinds();
    let mut targets = Vec::new();
    let keys: Vec<Vec<(String, String)>> = fleet
        .sims
        .iter()
        .map(|s| harness::markable(s, "Kustomization"))
        .collect();
    for j in 0..plan.per_kind {
        for (c, ks) in keys.iter().enumerate() {
            if let Some((ns, name)) = ks.get(j) {
                targets.push((c, "Kustomization", ns.clone(), name.clone()));
            }
        }
    }
    let total = (plan.rate * plan.window) as usize;
    let marks = Marks::new(2 * total);
    report.note(
        SCENARIO,
        format!(
            "{} clusters × {} objects ({} kinds), {} status changes/s for {} s per method; poller interval {} s",
            plan.clusters,
            fleet.objects / plan.clusters,
            kinds.len(),
            plan.rate,
            plan.window,
            plan.interval
        ),
    );

    // Watches: the real server. Its apiserver cost per hour has three parts, each measured:
    // the steady watches over the window, the backstop relist (every 10 minutes by default)
    // and re-discovery (every 5 minutes), whose cost is registration minus a relist.
    let db = TestDb::create().await;
    let server = harness::server(&db.url(), &[]).await;
    reset(&fleet);
    let ids = fleet.register(&server).await?;
    let dbc = harness::db(&db.url()).await?;
    let want = fleet.objects as i64;
    harness::until("initial sync", Duration::from_secs(120), || async {
        let synced = harness::resource_rows(&dbc).await? == want
            && harness::clusters_watching(&dbc).await? == plan.clusters as i64;
        Ok(synced.then_some(()))
    })
    .await?;
    let registration = cost(&fleet);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rows = RowWatch::start(&db.url(), marks.clone()).await?;
    reset(&fleet);
    let started = Instant::now();
    harness::drive(&fleet, &targets, &marks, 0, total, plan.rate).await;
    let ours = rows.finish(total, Duration::from_secs(10)).await?;
    let ours_secs = started.elapsed().as_secs_f64();
    let steady = cost(&fleet);
    reset(&fleet);
    harness::relist_all(&server, &dbc, &ids, Duration::from_secs(120)).await?;
    let relist = cost(&fleet);
    let rediscovery = Cost {
        requests: registration.requests.saturating_sub(relist.requests),
        lists: 0,
        watches: 0,
        bytes: registration.bytes.saturating_sub(relist.bytes),
    };
    let hour = 3600.0;
    let per_hour = |f: fn(&Cost) -> u64| {
        f(&steady) as f64 * hour / ours_secs
            + f(&relist) as f64 * hour / BACKSTOP_INTERVAL
            + f(&rediscovery) as f64 * hour / REDISCOVER_INTERVAL
    };
    let ours_requests = per_hour(|c| c.requests);
    let ours_bytes = per_hour(|c| c.bytes);
    for id in ids {
        server
            .http()
            .delete(server.url(&format!("/api/v1/clusters/{id}")))
            .send()
            .await?;
    }
    drop(server);

    // Polling: list everything every `interval`, write through the same writer.
    let poll_db = TestDb::create().await;
    let store = poll_db.store();
    store.migrate().await?;
    let poll_client = poll_db.client().await;
    let mut clusters = Vec::new();
    for sim in &fleet.sims {
        let id = Uuid::new_v4();
        poll_client
            .execute(
                "INSERT INTO clusters (id, name, source, server_url, credentials) VALUES ($1, $2, 'kubeconfig', $3, '\\x00')",
                &[&id, &sim.name(), &sim.url()],
            )
            .await?;
        clusters.push((id, sim.client()?));
    }
    let resources: Vec<ApiResource> = fleet.sims[0]
        .objects()
        .kinds()
        .into_iter()
        .filter(|(_, k)| kinds.contains(k))
        .map(|(api_version, kind)| {
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
            ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
        })
        .collect();
    let stats = WriterMetrics::register(&Metrics::default());
    let shutdown = CancellationToken::new();
    let (tx, writer_task) = writer::spawn(store, 10_000, 1_000, stats.clone(), shutdown.clone());
    let poller = Poller {
        clusters,
        resources,
        tx,
        errors: Arc::new(AtomicU64::new(0)),
    };
    // The first cycle loads every object (not measured); then the measured window.
    poller.cycle().await;
    harness::until(
        "poller's first cycle written",
        Duration::from_secs(120),
        || async {
            let n = harness::resource_rows(&poll_client).await?;
            Ok((n == want).then_some(()))
        },
    )
    .await?;
    let rows = RowWatch::start(&poll_db.url(), marks.clone()).await?;
    reset(&fleet);
    let stop = CancellationToken::new();
    let poll_task = {
        let (stop, interval) = (stop.clone(), Duration::from_secs_f64(plan.interval));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut cycles = Vec::new();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => break,
                }
                let t = Instant::now();
                poller.cycle().await;
                cycles.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (poller, cycles)
        })
    };
    harness::drive(&fleet, &targets, &marks, total, total, plan.rate).await;
    let polled = rows
        .finish(total, Duration::from_secs_f64(plan.interval * 2.0 + 10.0))
        .await?;
    stop.cancel();
    let (poller, cycles) = poll_task.await?;
    let poll_cost = cost(&fleet);
    let errors = poller.errors.load(Ordering::Relaxed);
    drop(poller);
    writer_task.await?;
    shutdown.cancel();

    // Figures.
    let ours_lat = Dist::of(ours.iter().map(|(_, l)| *l).collect())
        .ok_or_else(|| anyhow::anyhow!("no change reached the server's database"))?;
    let polled_lat = Dist::of(polled.iter().map(|(_, l)| *l).collect())
        .ok_or_else(|| anyhow::anyhow!("no change reached the poller's database"))?;
    let cycle = Dist::of(cycles.clone()).unwrap_or_default();
    let n_cycles = cycles.len().max(1) as f64;
    report.dist(SCENARIO, "watches: change → row", &ours_lat, None, None);
    report.dist(
        SCENARIO,
        &format!("{:.0} s poller: change → row (measured)", plan.interval),
        &polled_lat,
        None,
        None,
    );
    report.add(
        SCENARIO,
        "poll cycle (all clusters and kinds) p50",
        cycle.p50,
        "ms",
        None,
    );
    // Model: latency = wait for the next cycle (uniform over the interval) + `extra`, the
    // measured mean delay beyond the uniform part.
    let mean = polled.iter().map(|(_, l)| *l).sum::<f64>() / polled.len() as f64;
    let extra = (mean - plan.interval * 1000.0 / 2.0).max(0.0);
    let model = |interval_s: f64, q: f64| q * interval_s * 1000.0 + extra;
    report.add(
        SCENARIO,
        format!("{:.0} s poller p50 (model, check)", plan.interval),
        model(plan.interval, 0.5),
        "ms",
        None,
    );
    report.add(
        SCENARIO,
        format!("{:.0} s poller p99 (model, check)", plan.interval),
        model(plan.interval, 0.99),
        "ms",
        None,
    );
    let proto_p50 = model(PROTOTYPE_INTERVAL, 0.5);
    let proto_p99 = model(PROTOTYPE_INTERVAL, 0.99);
    report.add(SCENARIO, "5 min poller p50 (model)", proto_p50, "ms", None);
    report.add(SCENARIO, "5 min poller p99 (model)", proto_p99, "ms", None);
    report.add(
        SCENARIO,
        format!("latency ratio p50, watches / {:.0} s poller", plan.interval),
        ours_lat.p50 / polled_lat.p50,
        "×",
        None,
    );
    report.add(
        SCENARIO,
        "latency ratio p50, watches / 5 min poller",
        ours_lat.p50 / proto_p50,
        "×",
        None,
    );
    report.add(
        SCENARIO,
        "latency ratio p99, watches / 5 min poller",
        ours_lat.p99 / proto_p99,
        "×",
        None,
    );
    let per_cycle = |x: u64| x as f64 / n_cycles;
    report.add(
        SCENARIO,
        "watches: apiserver requests per hour",
        ours_requests,
        "req",
        None,
    );
    report.add(
        SCENARIO,
        "watches: apiserver MiB per hour",
        ours_bytes / 1048576.0,
        "MiB",
        None,
    );
    for (label, interval) in [
        (format!("{:.0} s poller", plan.interval), plan.interval),
        ("5 min poller".to_string(), PROTOTYPE_INTERVAL),
    ] {
        report.add(
            SCENARIO,
            format!("{label}: apiserver requests per hour"),
            per_cycle(poll_cost.requests) * hour / interval,
            "req",
            None,
        );
        report.add(
            SCENARIO,
            format!("{label}: apiserver MiB per hour"),
            per_cycle(poll_cost.bytes) * hour / interval / 1048576.0,
            "MiB",
            None,
        );
    }
    report.note(
        SCENARIO,
        format!(
            "watches: {} requests ({} WATCH) and {:.2} MiB in the {:.0} s window, plus per hour 6 backstop relists of {} LISTs / {:.1} MiB and 12 re-discoveries of {} requests / {:.2} MiB; poller: {} cycles, {} LIST requests and {:.1} MiB per cycle; {errors} list errors",
            steady.requests,
            steady.watches,
            steady.bytes as f64 / 1048576.0,
            ours_secs,
            relist.lists,
            relist.bytes as f64 / 1048576.0,
            rediscovery.requests,
            rediscovery.bytes as f64 / 1048576.0,
            cycles.len(),
            per_cycle(poll_cost.lists),
            per_cycle(poll_cost.bytes) / 1048576.0,
        ),
    );
    report.check(
        SCENARIO,
        ours.len() == total,
        format!(
            "watches: {} of {total} changes reached the database",
            ours.len()
        ),
    );
    report.check(
        SCENARIO,
        polled.len() == total && errors == 0,
        format!(
            "poller: {} of {total} changes reached the database, {errors} list errors",
            polled.len()
        ),
    );
    fleet.shutdown().await;
    Ok(())
}

/// The prototype's method: list every kind of every cluster, write every object.
struct Poller {
    clusters: Vec<(Uuid, kube::Client)>,
    resources: Vec<ApiResource>,
    tx: mpsc::Sender<WriteOp>,
    errors: Arc<AtomicU64>,
}

impl Poller {
    /// One full cycle: every cluster (4 at a time), every kind in turn.
    async fn cycle(&self) {
        use futures::StreamExt;
        futures::stream::iter(&self.clusters)
            .for_each_concurrent(4, |(id, client)| async move {
                for ar in &self.resources {
                    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
                    let Ok(list) = api.list(&ListParams::default()).await else {
                        self.errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    for obj in list.items {
                        let Ok(mut value) = serde_json::to_value(&obj) else {
                            continue;
                        };
                        value["apiVersion"] = ar.api_version.clone().into();
                        value["kind"] = ar.kind.clone().into();
                        let Ok(snapshot) = flux::snapshot(&value) else {
                            continue;
                        };
                        let op = WriteOp::Upsert {
                            cluster_id: *id,
                            snapshot: Box::new(snapshot),
                            backstop: false,
                        };
                        if self.tx.send(op).await.is_err() {
                            return;
                        }
                    }
                }
            })
            .await;
    }
}
