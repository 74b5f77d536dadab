//! One supervisor per watched cluster: connect, discover, run one watcher per served kind plus
//! the events watcher, keep `cluster_status` current, re-discover periodically, and run the
//! backstop relist on a timer or on request.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kube::Client;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::Settings;
use super::backoff::{Backoff, FailureKind};
use super::discovery::{Discovered, discover, events_resource};
use super::metrics::ListMetrics;
use super::status::{KindState, cluster_state};
use super::watch::{KindWatch, Target, WatchReport, WatchState};
use crate::clusters::failure::Cause;
use crate::clusters::{Failure, Registry, failure};
use crate::flux::ClusterState;
use crate::store::{ClusterRow, StatusUpdate, Store, WriteOp};

/// Connect timeout of the supervisor's client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What ends one connected session of a supervisor.
enum Outcome {
    Shutdown,
    Rediscover,
}

/// Watches one cluster until cancelled.
pub struct Supervisor {
    /// The cluster, as registered when the supervisor started.
    pub cluster: ClusterRow,
    /// For building the client from stored credentials.
    pub registry: Registry,
    /// For status writes.
    pub store: Store,
    /// The writer's queue.
    pub writer: mpsc::Sender<WriteOp>,
    /// Timeouts and intervals.
    pub settings: Arc<Settings>,
    /// LIST durations, handed to each watcher.
    pub lists: ListMetrics,
    /// Notified to relist every kind now (`POST /clusters/{id}/sync`).
    pub resync: Arc<Notify>,
}

/// Status kept by the supervisor and written to `cluster_status`.
struct Status {
    update: StatusUpdate,
    kinds: BTreeMap<&'static str, KindState>,
    /// The API server stopped answering the liveness probe: since when, and why. Overrides
    /// what the watchers believe (a hung server stalls them without an error).
    silent: Option<(chrono::DateTime<Utc>, Failure)>,
    /// A state changed: write at the next flush.
    dirty: bool,
    /// Only `last_event_at` changed: write at most every 5 s.
    event_dirty: bool,
    last_write: Instant,
    /// The state last written, to log changes (not every retry).
    logged: Option<ClusterState>,
}

/// Probes in a row without an answer before the cluster counts as unreachable.
const SILENT_AFTER: u32 = 2;

impl Supervisor {
    /// Run until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut status = Status {
            update: StatusUpdate {
                state: ClusterState::Connecting,
                watched_by: Some(self.settings.replica.clone()),
                ..StatusUpdate::default()
            },
            kinds: BTreeMap::new(),
            silent: None,
            dirty: true,
            event_dirty: false,
            last_write: Instant::now(),
            logged: None,
        };
        self.write_status(&mut status).await;
        let mut backoff = Backoff::new(self.cluster.id.as_u128() as u64);
        while !shutdown.is_cancelled() {
            let discovered = match self.connect().await {
                Ok(found) => found,
                Err(failure) => {
                    tracing::debug!(error = %failure.detail, "cannot connect");
                    let kind = match failure.cause {
                        Cause::Unauthorized | Cause::Forbidden => FailureKind::Auth,
                        Cause::Unreachable | Cause::Server => FailureKind::Transient,
                    };
                    let delay = backoff.next_delay(kind);
                    status.kinds.clear();
                    status.silent = None;
                    status.update.state = state_of(failure.cause);
                    status.update.message = failure.summary;
                    status.update.detail = failure.detail;
                    status.update.next_retry_at =
                        Some(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default());
                    status.dirty = true;
                    self.write_status(&mut status).await;
                    // "Retry now" (`POST /clusters/{id}/sync`) cuts the wait short.
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => continue,
                        _ = self.resync.notified() => continue,
                        _ = shutdown.cancelled() => break,
                    }
                }
            };
            backoff.reset();
            let (client, discovered) = discovered;
            match self.watch(client, discovered, &mut status, &shutdown).await {
                Outcome::Shutdown => break,
                Outcome::Rediscover => continue,
            }
        }
    }

    /// Build the client and run discovery. The failure's summary is what viewers read in the
    /// cluster's status; its detail (which may quote the remote end) is for admins.
    async fn connect(&self) -> Result<(Client, Discovered), Failure> {
        let client = self
            .registry
            .client(&self.cluster, CONNECT_TIMEOUT, self.settings.read_timeout)
            .await
            .map_err(|e| Failure::local(e.to_string()))?;
        let found = tokio::time::timeout(self.settings.read_timeout, discover(&client))
            .await
            .map_err(|_| Failure::local("discovery timed out"))?
            .map_err(|e| failure::of_kube(&e).context("discovery failed"))?;
        Ok((client, found))
    }

    async fn watch(
        &self,
        client: Client,
        found: Discovered,
        status: &mut Status,
        shutdown: &CancellationToken,
    ) -> Outcome {
        let children = shutdown.child_token();
        let (reports_tx, mut reports) = mpsc::channel(1024);
        let mut tasks = JoinSet::new();
        let mut triggers = Vec::new();
        status.kinds = found
            .absent
            .iter()
            .map(|k| (k.kind, KindState::Absent))
            .collect();
        let mut targets: Vec<(Target, kube::api::ApiResource)> = found
            .kinds
            .iter()
            .map(|(k, r)| (Target::Kind(k), r.clone()))
            .collect();
        targets.push((Target::Events, events_resource()));
        for (target, resource) in targets {
            let trigger = Arc::new(Notify::new());
            triggers.push(trigger.clone());
            let state = KindState::Served {
                version: resource.version.clone(),
                state: WatchState::Listing,
            };
            status.kinds.insert(target.name(), state);
            let watch = KindWatch {
                cluster_id: self.cluster.id,
                target,
                resource,
                client: client.clone(),
                writer: self.writer.clone(),
                reports: reports_tx.clone(),
                resync: trigger,
                watch_timeout_secs: self.settings.watch_timeout_secs,
                lists: self.settings.lists.clone(),
                list_metrics: self.lists.clone(),
            };
            let span = tracing::info_span!("watch", kind = target.name());
            tasks.spawn(watch.run(children.clone()).instrument(span));
        }
        let (probes_tx, mut probes) = mpsc::channel(4);
        tasks.spawn(probe(
            client.clone(),
            self.settings.clone(),
            probes_tx,
            children.clone(),
        ));
        status.update.kubernetes_version = Some(found.kubernetes_version.clone());
        status.update.flux_version = found.flux_version.clone();
        status.dirty = true;
        self.write_status(status).await;

        let fingerprint = found.fingerprint();
        let mut resync_timer = tokio::time::interval_at(
            Instant::now() + self.settings.resync_interval,
            self.settings.resync_interval,
        );
        let mut rediscover_timer = tokio::time::interval_at(
            Instant::now() + self.settings.rediscover_interval,
            self.settings.rediscover_interval,
        );
        let mut flush_timer = tokio::time::interval(Duration::from_millis(200));
        for timer in [&mut resync_timer, &mut rediscover_timer, &mut flush_timer] {
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        }
        let mut awaiting_resync: HashSet<&'static str> = HashSet::new();
        let mut unreachable_since: Option<Instant> = None;
        let mut unanswered = Unanswered::default();
        let outcome = loop {
            tokio::select! {
                _ = shutdown.cancelled() => break Outcome::Shutdown,
                Some(report) = reports.recv() => self.apply_report(report, status, &mut awaiting_resync),
                Some(answer) = probes.recv() => {
                    if self.on_probe(answer, &mut unanswered, status) {
                        // The server answers again after a silence: its watches may have
                        // stalled mid-stream, so start over — fresh client, discovery and a
                        // LIST per kind — and show ready only once those answered.
                        tracing::info!("the API server answers again; relisting every kind");
                        break Outcome::Rediscover;
                    }
                }
                _ = flush_timer.tick() => {
                    self.write_status(status).await;
                    // Every watch failing for a while: start over with a fresh client (new
                    // connections, new discovery) instead of retrying on a pool that may hold
                    // connections the apiserver will never answer.
                    if status.update.state == ClusterState::Unreachable {
                        let since = *unreachable_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > self.settings.read_timeout {
                            tracing::info!("cluster unreachable; reconnecting");
                            break Outcome::Rediscover;
                        }
                    } else {
                        unreachable_since = None;
                    }
                }
                _ = resync_timer.tick() => awaiting_resync = self.start_resync(&triggers, status),
                _ = self.resync.notified() => awaiting_resync = self.start_resync(&triggers, status),
                _ = rediscover_timer.tick() => {
                    let again = tokio::time::timeout(self.settings.read_timeout, discover(&client)).await;
                    if let Ok(Ok(again)) = again && again.fingerprint() != fingerprint {
                        tracing::info!("served Flux kinds changed; restarting watches");
                        break Outcome::Rediscover;
                    }
                }
            }
        };
        children.cancel();
        while tasks.join_next().await.is_some() {}
        outcome
    }

    fn start_resync(&self, triggers: &[Arc<Notify>], status: &Status) -> HashSet<&'static str> {
        tracing::debug!("backstop relist");
        for trigger in triggers {
            trigger.notify_one();
        }
        status
            .kinds
            .iter()
            .filter(|(_, k)| matches!(k, KindState::Served { .. }))
            .map(|(n, _)| *n)
            .collect()
    }

    fn apply_report(
        &self,
        report: WatchReport,
        status: &mut Status,
        awaiting: &mut HashSet<&'static str>,
    ) {
        let Some(state) = report.state else {
            status.update.last_event_at = Some(Utc::now());
            status.event_dirty = true;
            return;
        };
        if state == WatchState::Watching && awaiting.remove(report.target) && awaiting.is_empty() {
            status.update.last_resync_at = Some(Utc::now());
        }
        if let Some(KindState::Served { state: current, .. }) = status.kinds.get_mut(report.target)
            && *current != state
        {
            *current = state;
            status.dirty = true;
        }
    }

    /// A probe's outcome. Returns true when the server answers again after a silence.
    fn on_probe(
        &self,
        answer: Result<(), Failure>,
        unanswered: &mut Unanswered,
        status: &mut Status,
    ) -> bool {
        match answer {
            Ok(()) => {
                *unanswered = Unanswered::default();
                status.silent.take().is_some()
            }
            Err(failure) => {
                let since = *unanswered.since.get_or_insert_with(|| {
                    Utc::now()
                        - chrono::Duration::from_std(self.settings.probe_timeout)
                            .unwrap_or_default()
                });
                unanswered.count += 1;
                if unanswered.count >= SILENT_AFTER && status.silent.is_none() {
                    tracing::debug!(error = %failure.detail, "the API server does not answer");
                    status.silent = Some((since, failure));
                    status.dirty = true;
                }
                false
            }
        }
    }

    /// Write status when something changed (state at once; only event times at most every 5 s).
    async fn write_status(&self, status: &mut Status) {
        let silent = status.silent.is_some();
        if let Some((since, failure)) = &status.silent {
            status.update.state = ClusterState::Unreachable;
            status.update.message = format!(
                "the API server has not answered since {} UTC ({}); its watches are stalled",
                since.format("%H:%M:%S"),
                failure.summary
            );
            status.update.detail = failure.detail.clone();
            status.update.next_retry_at = None;
        } else if !status.kinds.is_empty() {
            // Each failing kind carries its own detail.
            let summary = cluster_state(&status.kinds);
            status.update.state = summary.state;
            status.update.message = summary.message;
            status.update.detail = String::new();
            status.update.next_retry_at = summary.next_retry_at;
        }
        let event_due = status.event_dirty && status.last_write.elapsed() >= Duration::from_secs(5);
        if !status.dirty && !event_due {
            return;
        }
        status.update.kinds = status
            .kinds
            .iter()
            .map(|(name, k)| (name.to_string(), k.to_watch(silent)))
            .collect();
        match self
            .store
            .set_cluster_status(self.cluster.id, &status.update)
            .await
        {
            Ok(()) => {
                status.dirty = false;
                status.event_dirty = false;
                status.last_write = Instant::now();
                self.log_state(status);
            }
            Err(e) => tracing::warn!(error = %e, "cannot write cluster status"),
        }
    }
}

/// Probes in a row that got no answer, and since when.
#[derive(Default)]
struct Unanswered {
    count: u32,
    since: Option<chrono::DateTime<Utc>>,
}

impl Supervisor {
    /// Log a change of the cluster's state once — not every retry of a failing watch.
    fn log_state(&self, status: &mut Status) {
        let state = status.update.state;
        if Some(state) == status.logged {
            return;
        }
        let message = &status.update.message;
        match state {
            ClusterState::Ready | ClusterState::Connecting => {
                tracing::info!(%state, "cluster state")
            }
            _ => tracing::warn!(%state, %message, "cluster state"),
        }
        status.logged = Some(state);
    }
}

/// The cluster state a failure to connect puts the cluster in.
fn state_of(cause: Cause) -> ClusterState {
    match cause {
        Cause::Unauthorized => ClusterState::Unauthorized,
        Cause::Forbidden => ClusterState::Forbidden,
        Cause::Unreachable | Cause::Server => ClusterState::Unreachable,
    }
}

/// Ask the API server for its version every probe interval, with a deadline, and send each
/// outcome: a silent server (hung, or a black hole that accepts connections and drops every
/// byte) stalls watches without any error, and only an answer proves it is back.
async fn probe(
    client: Client,
    settings: Arc<Settings>,
    answers: mpsc::Sender<Result<(), Failure>>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(settings.probe_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let answer =
            match tokio::time::timeout(settings.probe_timeout, client.apiserver_version()).await {
                // An error status is an answer too: the server is there.
                Ok(Ok(_) | Err(kube::Error::Api(_))) => Ok(()),
                Ok(Err(e)) => Err(failure::of_kube(&e)),
                Err(_) => Err(Failure::local(format!(
                    "no answer to a version request within {} s",
                    settings.probe_timeout.as_secs()
                ))),
            };
        tokio::select! {
            _ = answers.send(answer) => {}
            _ = cancel.cancelled() => return,
        }
    }
}
