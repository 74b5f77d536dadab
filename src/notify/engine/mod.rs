//! The notification engine: every replica runs [`run`]; the one holding the engine's advisory
//! lock (`store::ENGINE_LOCK`, on a dedicated connection) leads. The leader, woken by each
//! committed change and every [`TICK`]:
//! 1. scans the clusters' states (cluster conditions) and the `stillFailed` timers now due;
//! 2. evaluates the change log after its cursor, a batch per transaction with the cursor;
//! 3. turns queued items whose rule's grouping window has passed into deliveries, after each
//!    batch (a backlog does not hold up the messages of its first changes);
//! 4. wakes the sender (`dispatch`), which runs beside it as its own task.
//!
//! The store's protocol (`store/notify_engine.rs`) makes it at least once: nothing is lost
//! when the leader dies, and the next leader resumes from the committed cursor and outbox.
//! When the lock's connection fails, the leader stops (sends in flight are aborted) and
//! competes for the lock again.

mod dispatch;
pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Notify;
use super::message;
use crate::store::{ChangeEntry, ClusterState, StateRow};
use plan::{Context, Mute, Rule};

pub use dispatch::{MAX_ATTEMPTS, classify};

/// The leader's evaluation period (cluster states, timers, grouping windows) when no change
/// wakes it.
const TICK: Duration = Duration::from_millis(500);
/// How often a replica that does not lead tries the lock.
const FOLLOW: Duration = Duration::from_secs(1);
/// Change-log entries per transaction.
const BATCH: i64 = 1000;
/// Shortest time between two evaluations: under a stream of commits the leader evaluates at
/// most ten times a second (each round covers every change since the last).
const MIN_GAP: Duration = Duration::from_millis(100);

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The length of `afterMinutes`' minute (60 s; tests shorten it).
    pub minute: Duration,
    /// Base of links in messages (`FLUXO_PUBLIC_URL`; empty: relative paths).
    pub base_url: String,
    /// Sends in flight per sink.
    pub per_sink: usize,
    /// How long finished deliveries are kept.
    pub retention: Duration,
}

/// Run until `cancel`: follow, lead when the lock is free, and prune the delivery log.
pub async fn run(notify: Notify, settings: Settings, cancel: CancellationToken) {
    let prune = tokio::spawn(prune(notify.clone(), settings.retention, cancel.clone()));
    while !cancel.is_cancelled() {
        match follow(&notify, &cancel).await {
            Some(lock) => {
                tracing::info!("notification engine: this replica sends");
                lead(&notify, &settings, lock, &cancel).await;
                tracing::info!("notification engine: this replica stopped sending");
            }
            None => pause(FOLLOW, &cancel).await,
        }
    }
    let _ = prune.await;
}

async fn pause(d: Duration, cancel: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = cancel.cancelled() => {}
    }
}

/// Wait until this replica holds the lock (`None`: the connection failed, or shutdown).
async fn follow(notify: &Notify, cancel: &CancellationToken) -> Option<crate::store::EngineLock> {
    let lock = match notify.store.engine_lock().await {
        Ok(lock) => lock,
        Err(e) => {
            tracing::warn!(error = %e, "notification engine: no database connection; retrying");
            return None;
        }
    };
    loop {
        match lock.try_lead().await {
            Ok(true) => return Some(lock),
            Ok(false) => pause(FOLLOW, cancel).await,
            Err(e) => {
                tracing::warn!(error = %e, "notification engine: lost its connection");
                return None;
            }
        }
        if cancel.is_cancelled() {
            return None;
        }
    }
}

/// Lead until the lock's connection fails or `cancel`.
async fn lead(
    notify: &Notify,
    settings: &Settings,
    mut lock: crate::store::EngineLock,
    cancel: &CancellationToken,
) {
    let stop = cancel.child_token();
    let wake = Arc::new(tokio::sync::Notify::new());
    let sender = tokio::spawn(dispatch::run(
        notify.clone(),
        settings.per_sink,
        wake.clone(),
        stop.clone(),
    ));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now() - MIN_GAP;
    loop {
        let alive = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            n = lock.next() => n.is_ok(),
            _ = tick.tick() => lock.check().await.is_ok(),
        };
        if !alive {
            tracing::warn!("notification engine: the lock's connection failed");
            break;
        }
        pause(MIN_GAP.saturating_sub(last.elapsed()), cancel).await;
        last = tokio::time::Instant::now();
        match evaluate(notify, settings, &wake).await {
            Ok(0) => {}
            Ok(_) => wake.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, "notification engine: evaluation failed; retrying")
            }
        }
    }
    stop.cancel();
    let _ = sender.await;
}

/// One round: scan, then changes and flush a batch at a time (`wake` the sender after each
/// batch that made deliveries while more batches follow). Returns the deliveries made.
async fn evaluate(
    notify: &Notify,
    settings: &Settings,
    wake: &tokio::sync::Notify,
) -> crate::store::Result<usize> {
    let mut ctx = context(notify, settings).await?;
    let now = chrono::Utc::now();
    let mut seen = Vec::new();
    notify
        .store
        .notify_scan(
            |clusters: &[ClusterState], held: &[StateRow], due: &[StateRow]| {
                seen = clusters.to_vec();
                plan::scan(&ctx, clusters, held, due, now)
            },
        )
        .await?;
    ctx.clusters = seen
        .into_iter()
        .map(|c| {
            let info = super::eval::ClusterInfo {
                id: c.id,
                name: c.name,
                labels: c.labels,
            };
            (info.id, info)
        })
        .collect();
    // Flush after every batch, not once after the backlog: behind by many batches, the
    // first changes' messages would otherwise wait for the last batch's evaluation.
    let mut made = 0;
    loop {
        let n = notify
            .store
            .notify_advance(BATCH, |changes: &[ChangeEntry], held: &[StateRow]| {
                plan::changes(&ctx, changes, held)
            })
            .await?;
        let flushed = flush(notify).await?;
        if flushed > 0 && n == BATCH as usize {
            wake.notify_one();
        }
        made += flushed;
        if n < BATCH as usize {
            return Ok(made);
        }
    }
}

/// Turn queued items whose window has passed into deliveries; how many were made.
async fn flush(notify: &Notify) -> crate::store::Result<usize> {
    notify
        .store
        .notify_flush(|g| {
            let items: Vec<message::Item> = g
                .items
                .iter()
                .filter_map(|i| serde_json::from_value(i.clone()).ok())
                .collect();
            let verb = message::verb(&g.condition, &g.action, g.after_minutes);
            message::summary(&verb, &items)
        })
        .await
}

/// Rules (enabled) and mutes (in force) as they are now.
async fn context(notify: &Notify, settings: &Settings) -> crate::store::Result<Context> {
    let rules = notify.store.list_rules().await?;
    let mutes = notify.store.list_mutes().await?;
    let filter = |v: &serde_json::Value| serde_json::from_value(v.clone()).unwrap_or_default();
    Ok(Context {
        rules: rules
            .iter()
            .filter(|r| r.enabled)
            .filter_map(|r| {
                Some(Rule {
                    id: r.id,
                    condition: super::Condition::parse(&r.condition)?,
                    filter: filter(&r.filter),
                    after_minutes: r.after_minutes,
                })
            })
            .collect(),
        mutes: mutes
            .iter()
            .map(|m| Mute {
                rule_id: m.rule_id,
                filter: filter(&m.filter),
            })
            .collect(),
        clusters: Default::default(),
        minute: settings.minute,
        base: settings.base_url.clone(),
    })
}

/// Retention of the delivery log and of orphaned states, hourly, on every replica (deleting
/// twice is harmless).
async fn prune(notify: Notify, retention: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        match notify.store.notify_prune(retention, 10_000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned the notification delivery log"),
            Err(e) => tracing::warn!(error = %e, "cannot prune the delivery log; retrying later"),
        }
    }
}
