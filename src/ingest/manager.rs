//! The ingest manager of one replica: claims its fair share of clusters with advisory locks,
//! runs a supervisor per claimed cluster, restarts it when the cluster's registration changes,
//! stops it when the cluster is deleted, hands clusters over when replicas join or leave, and
//! forwards sync requests. Registry changes arrive by NOTIFY, so every replica reacts at once;
//! a periodic tick (heartbeat + reconcile) is the safety net.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::Settings;
use super::metrics::{IngestMetrics, ListMetrics};
use super::supervisor::Supervisor;
use super::writer;
use crate::clusters::Registry;
use crate::store::{Claims, Notification, Store, WriteOp};

/// A running supervisor.
struct Running {
    updated_at: DateTime<Utc>,
    resync: Arc<Notify>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

struct Manager {
    store: Store,
    registry: Registry,
    settings: Arc<Settings>,
    writer: tokio::sync::mpsc::Sender<WriteOp>,
    /// Handed to every supervisor's watchers.
    lists: ListMetrics,
    running: HashMap<Uuid, Running>,
    /// When controller events were last pruned.
    pruned_at: Option<std::time::Instant>,
}

/// Start ingest; the task ends after `shutdown`, once every supervisor stopped, every claim was
/// released and the writer drained.
pub fn spawn(
    store: Store,
    registry: Registry,
    settings: Settings,
    metrics: IngestMetrics,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let settings = Arc::new(settings);
    // The writer ends when the manager (the last sender) is dropped, not on the shutdown signal:
    // queued ops are written before the process exits.
    let writer_stop = CancellationToken::new();
    let (tx, writer_task) = writer::spawn(
        store.clone(),
        settings.writer_queue,
        settings.writer_batch,
        metrics.writer,
        writer_stop.clone(),
    );
    let manager = Manager {
        store,
        registry,
        settings,
        writer: tx,
        lists: metrics.lists,
        running: HashMap::new(),
        pruned_at: None,
    };
    tokio::spawn(async move {
        manager.run(shutdown).await;
        writer_stop.cancel();
        let _ = writer_task.await;
    })
}

impl Manager {
    async fn run(mut self, shutdown: CancellationToken) {
        let mut delay = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            let claims = match self.store.claims().await {
                Ok(claims) => claims,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?delay, "ingest cannot reach the database");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            delay = Duration::from_millis(200);
            self.serve_claims(claims, &shutdown).await;
            // Claims are gone with their connection: stop everything before claiming again.
            self.stop_all(None).await;
        }
        if let Err(e) = self.store.leave(&self.settings.replica).await {
            tracing::debug!(error = %e, "cannot deregister replica");
        }
    }

    /// Work with one claims connection until it dies or shutdown.
    async fn serve_claims(&mut self, mut claims: Claims, shutdown: &CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.claim_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    // Leave first, so the others' fair share already counts us out when they
                    // hear of the released clusters.
                    if let Err(e) = self.store.leave(&self.settings.replica).await {
                        tracing::debug!(error = %e, "cannot deregister replica");
                    }
                    self.stop_all(Some(&claims)).await;
                    return;
                }
                notice = claims.next() => match notice {
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the claims connection; stopping watches and reclaiming");
                        return;
                    }
                    Ok(Notification::Sync(id)) => {
                        if let Some(r) = self.running.get(&id) {
                            r.resync.notify_one();
                        }
                    }
                    Ok(_) => self.reconcile(&claims).await,
                },
                _ = tick.tick() => self.reconcile(&claims).await,
            }
            if !claims.is_alive() {
                return;
            }
        }
    }

    /// Bring the running set in line with the registry and this replica's fair share.
    async fn reconcile(&mut self, claims: &Claims) {
        if let Err(e) = self.try_reconcile(claims).await {
            tracing::warn!(error = %e, "cannot reconcile cluster claims");
        }
    }

    async fn try_reconcile(&mut self, claims: &Claims) -> crate::store::Result<()> {
        if self
            .pruned_at
            .is_none_or(|at| at.elapsed() > Duration::from_secs(60))
        {
            self.pruned_at = Some(std::time::Instant::now());
            let pruned = self
                .store
                .prune_events(self.settings.events_retention)
                .await?;
            if pruned > 0 {
                tracing::debug!(pruned, "pruned old controller events");
            }
        }
        let window = self.settings.claim_interval * 3;
        let replicas = self
            .store
            .heartbeat(&self.settings.replica, window)
            .await?
            .max(1) as usize;
        let clusters = self.store.list_clusters().await?;
        let share = clusters.len().div_ceil(replicas);
        let current: HashMap<Uuid, DateTime<Utc>> =
            clusters.iter().map(|c| (c.id, c.updated_at)).collect();
        // Deleted or re-registered clusters: stop (and for changed ones, start again below).
        let stale: Vec<Uuid> = self
            .running
            .iter()
            .filter(|(id, r)| current.get(id) != Some(&r.updated_at))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            let deleted = !current.contains_key(&id);
            self.stop(id, if deleted { Some(claims) } else { None })
                .await;
            if !deleted {
                claims.release(id).await?;
            }
        }
        // Hand over what is above our share, newest claims first.
        while self.running.len() > share {
            let Some(id) = self.running.keys().next().copied() else {
                break;
            };
            self.stop(id, Some(claims)).await;
            self.store.notify(Notification::Cluster(id)).await?;
        }
        for cluster in clusters {
            if self.running.len() >= share {
                break;
            }
            if self.running.contains_key(&cluster.id) || !claims.try_claim(cluster.id).await? {
                continue;
            }
            tracing::info!(cluster = %cluster.name, replica = %self.settings.replica, "watching cluster");
            self.start(cluster);
        }
        Ok(())
    }

    fn start(&mut self, cluster: crate::store::ClusterRow) {
        let resync = Arc::new(Notify::new());
        let cancel = CancellationToken::new();
        let updated_at = cluster.updated_at;
        let id = cluster.id;
        let supervisor = Supervisor {
            cluster,
            registry: self.registry.clone(),
            store: self.store.clone(),
            writer: self.writer.clone(),
            settings: self.settings.clone(),
            lists: self.lists.clone(),
            resync: resync.clone(),
        };
        // Every log line of the supervisor and its watchers names the cluster (and the kind).
        let span = tracing::info_span!("cluster", cluster = %supervisor.cluster.name);
        let task = tokio::spawn(supervisor.run(cancel.clone()).instrument(span));
        self.running.insert(
            id,
            Running {
                updated_at,
                resync,
                cancel,
                task,
            },
        );
    }

    /// Stop one supervisor and wait for it; release its claim if `claims` is given.
    async fn stop(&mut self, id: Uuid, claims: Option<&Claims>) {
        if let Some(r) = self.running.remove(&id) {
            r.cancel.cancel();
            let _ = r.task.await;
        }
        if let Some(claims) = claims
            && let Err(e) = claims.release(id).await
        {
            tracing::debug!(error = %e, "cannot release claim");
        }
    }

    /// Stop every supervisor; release claims and tell other replicas when `claims` is given.
    async fn stop_all(&mut self, claims: Option<&Claims>) {
        let ids: Vec<Uuid> = self.running.keys().copied().collect();
        for r in self.running.values() {
            r.cancel.cancel();
        }
        for id in ids {
            self.stop(id, claims).await;
            if claims.is_some() {
                let _ = self.store.notify(Notification::Cluster(id)).await;
            }
        }
    }
}
