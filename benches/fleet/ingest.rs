//! Scenario 3: the maximum sustained rate of changes into PostgreSQL through the real batching
//! writer (`ingest::writer`, as the server runs it), and the commit time of its batches. The
//! queue is kept full, so the rate is the writer's and PostgreSQL's limit, not the sender's.

use std::time::{Duration, Instant};

use flux_orchestrator::flux;
use flux_orchestrator::ingest::writer::{self, WriterMetrics};
use flux_orchestrator::metrics::Metrics;
use flux_orchestrator::store::WriteOp;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::harness::{Dist, Goal, Report};
use crate::support::db::TestDb;

const SCENARIO: &str = "3 ingest";

/// A realistic Kustomization; `round` changes its status so every op is a real change.
fn kustomization(i: usize, round: usize) -> Value {
    let ready = round.is_multiple_of(2);
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": format!("app-{i}"), "namespace": format!("team-{}", i % 20), "uid": format!("uid-{i}"),
                     "resourceVersion": format!("{}", round * 100_000 + i), "generation": 1,
                     "labels": {"team": format!("t{}", i % 7)}},
        "spec": {"interval": "10m", "path": format!("./apps/{i}"), "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"observedGeneration": 1, "lastAppliedRevision": format!("main@sha1:{round:040x}"),
                   "lastAttemptedRevision": format!("main@sha1:{round:040x}"),
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                                   "reason": if ready { "ReconciliationSucceeded" } else { "HealthCheckFailed" },
                                   "message": format!("round {round}"), "lastTransitionTime": "2026-11-26T10:00:00Z",
                                   "observedGeneration": 1}]}
    })
}

pub async fn run(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    // At least a batch's worth of objects, so no batch holds two changes of one object (the
    // writer would coalesce them and the rate would count fewer rows).
    let (objects, changes) = if quick {
        (1_000, 3_000)
    } else {
        (10_000, 100_000)
    };
    let db = TestDb::create().await;
    let store = db.store();
    store.migrate().await?;
    let cluster = Uuid::new_v4();
    db.client()
        .await
        .execute(
            "INSERT INTO clusters (id, name, source, server_url, credentials) VALUES ($1, 'bench', 'kubeconfig', 'https://bench', '\\x00')",
            &[&cluster],
        )
        .await?;
    let ops: Vec<WriteOp> = (0..changes)
        .map(|n| {
            let snapshot = flux::snapshot(&kustomization(n % objects, n / objects))
                .map_err(|e| anyhow::anyhow!("not a Flux object: {e}"))?;
            Ok(WriteOp::Upsert {
                cluster_id: cluster,
                snapshot: Box::new(snapshot),
                backstop: false,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let stats = WriterMetrics::register(&Metrics::default());
    let (tx, task) = writer::spawn(
        store,
        10_000,
        1_000,
        stats.clone(),
        CancellationToken::new(),
    );
    // Sample each batch's commit time as it lands.
    let stop = CancellationToken::new();
    let sampler = {
        let (stats, stop) = (stats.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut last, mut samples) = (0, Vec::new());
            while !stop.is_cancelled() {
                let batches = stats.batches.get();
                if batches != last {
                    last = batches;
                    samples.push(stats.last_commit_seconds.get() * 1000.0);
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            samples
        })
    };
    let started = Instant::now();
    for op in ops {
        tx.send(op).await?;
    }
    drop(tx);
    task.await?;
    let elapsed = started.elapsed().as_secs_f64();
    stop.cancel();
    let commits = Dist::of(sampler.await?).ok_or_else(|| anyhow::anyhow!("no batch committed"))?;
    let upserted = stats.upserted.get();
    report.note(
        SCENARIO,
        format!(
            "{changes} changes of {objects} Kustomizations, queue 10,000, batches of ≤ 1,000; {} batches",
            stats.batches.get()
        ),
    );
    report.add(
        SCENARIO,
        "sustained write rate",
        upserted as f64 / elapsed,
        "/s",
        Some(Goal::AtLeast(5_000.0)),
    );
    report.add(SCENARIO, "batch commit p50", commits.p50, "ms", None);
    report.add(SCENARIO, "batch commit p99", commits.p99, "ms", None);
    report.check(
        SCENARIO,
        upserted == changes as u64,
        format!("{upserted} of {changes} changes written"),
    );
    Ok(())
}
