//! One supervisor per watched cluster: connect, discover, run one watcher per served kind plus
//! the events watcher, keep `cluster_status` current, re-discover periodically, and run the
//! backstop relist on a timer or on request.
//!
//! This file owns the cluster across connections (connect, retry, the status it writes); one
//! connected session — the watchers, the liveness probe, the timers, and when to start over — is
//! `session`.

mod session;

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::Client;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Settings;
use super::backoff::{Backoff, FailureKind};
use super::discovery::{Discovered, discover};
use super::metrics::ListMetrics;
use super::status::{KindState, cluster_state};
use super::watch::{WatchReport, WatchState};
use crate::clusters::failure::Cause;
use crate::clusters::{Failure, Registry, failure};
use crate::flux::ClusterState;
use crate::store::{ClusterRow, StatusUpdate, Store, WriteOp};
use session::{Outcome, Session};

/// Connect timeout of the supervisor's client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Event times alone are written at most this often.
const EVENT_WRITE_INTERVAL: Duration = Duration::from_secs(5);

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

/// Status kept by the supervisor and written to `cluster_status`. Written and read by the
/// supervisor's task only (its session included).
struct Status {
    update: StatusUpdate,
    kinds: BTreeMap<&'static str, KindState>,
    /// The API server stopped answering the liveness probe: since when, and why. Overrides
    /// what the watchers believe (a hung server stalls them without an error).
    silent: Option<(DateTime<Utc>, Failure)>,
    /// A state changed: write at the next flush.
    dirty: bool,
    /// Only `last_event_at` changed: write at most every [`EVENT_WRITE_INTERVAL`].
    event_dirty: bool,
    last_write: Instant,
    /// The state last written, to log changes (not every retry).
    logged: Option<ClusterState>,
}

impl Status {
    /// A cluster about to connect for the first time, watched by `replica`.
    fn new(replica: String, now: Instant) -> Status {
        Status {
            update: StatusUpdate {
                state: ClusterState::Connecting,
                watched_by: Some(replica),
                ..StatusUpdate::default()
            },
            kinds: BTreeMap::new(),
            silent: None,
            dirty: true,
            event_dirty: false,
            last_write: now,
            logged: None,
        }
    }

    /// Connecting failed: no kinds are known, the cause names the state; retried after `delay`.
    fn connect_failed(&mut self, failure: Failure, delay: Duration, now: DateTime<Utc>) {
        self.kinds.clear();
        self.silent = None;
        self.update.state = state_of(failure.cause);
        self.update.message = failure.summary;
        self.update.detail = failure.detail;
        self.update.next_retry_at =
            Some(now + chrono::Duration::from_std(delay).unwrap_or_default());
        self.dirty = true;
    }

    /// Connected: the versions discovery found.
    fn connected(&mut self, found: &Discovered) {
        self.update.kubernetes_version = Some(found.kubernetes_version.clone());
        self.update.flux_version = found.flux_version.clone();
        self.dirty = true;
    }

    /// A watcher's report. `awaiting` holds the kinds a backstop relist still waits for: when
    /// the last of them is watching again, the relist is complete.
    fn on_report(
        &mut self,
        report: WatchReport,
        awaiting: &mut HashSet<&'static str>,
        now: DateTime<Utc>,
    ) {
        let Some(state) = report.state else {
            self.update.last_event_at = Some(now);
            self.event_dirty = true;
            return;
        };
        if state == WatchState::Watching && awaiting.remove(report.target) && awaiting.is_empty() {
            self.update.last_resync_at = Some(now);
        }
        if let Some(KindState::Served { state: current, .. }) = self.kinds.get_mut(report.target)
            && *current != state
        {
            *current = state;
            self.dirty = true;
        }
    }

    /// The kinds served (watched), for a backstop relist to wait for.
    fn served(&self) -> HashSet<&'static str> {
        self.kinds
            .iter()
            .filter(|(_, k)| matches!(k, KindState::Served { .. }))
            .map(|(n, _)| *n)
            .collect()
    }

    /// Whether the cluster counts as unreachable now.
    fn unreachable(&self) -> bool {
        self.update.state == ClusterState::Unreachable
    }

    /// Bring the state and message in line with the kinds and the probe, and say whether a
    /// write is due (a state changed; or only event times, and the last write is old enough).
    fn due(&mut self, now: Instant) -> bool {
        if let Some((since, failure)) = &self.silent {
            self.update.state = ClusterState::Unreachable;
            self.update.message = format!(
                "the API server has not answered since {} UTC ({}); its watches are stalled",
                since.format("%H:%M:%S"),
                failure.summary
            );
            self.update.detail = failure.detail.clone();
            self.update.next_retry_at = None;
        } else if !self.kinds.is_empty() {
            // Each failing kind carries its own detail.
            let summary = cluster_state(&self.kinds);
            self.update.state = summary.state;
            self.update.message = summary.message;
            self.update.detail = String::new();
            self.update.next_retry_at = summary.next_retry_at;
        }
        let event_due = self.event_dirty && now - self.last_write >= EVENT_WRITE_INTERVAL;
        if !self.dirty && !event_due {
            return false;
        }
        let silent = self.silent.is_some();
        self.update.kinds = self
            .kinds
            .iter()
            .map(|(name, k)| (name.to_string(), k.to_watch(silent)))
            .collect();
        true
    }

    /// The update was written at `now`.
    fn written(&mut self, now: Instant) {
        self.dirty = false;
        self.event_dirty = false;
        self.last_write = now;
    }
}

impl Supervisor {
    /// Run until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut status = Status::new(self.settings.replica.clone(), Instant::now());
        self.write_status(&mut status).await;
        let mut backoff = Backoff::new(self.cluster.id.as_u128() as u64);
        while !shutdown.is_cancelled() {
            let (client, found) = match self.connect().await {
                Ok(connected) => connected,
                Err(failure) => {
                    let waited = self
                        .wait_to_reconnect(failure, &mut backoff, &mut status, &shutdown)
                        .await;
                    match waited {
                        ControlFlow::Continue(()) => continue,
                        ControlFlow::Break(()) => break,
                    }
                }
            };
            backoff.reset();
            match Session::run(&self, client, found, &mut status, &shutdown).await {
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

    /// Show why connecting failed, then wait for the next attempt: `Break` on shutdown.
    async fn wait_to_reconnect(
        &self,
        failure: Failure,
        backoff: &mut Backoff,
        status: &mut Status,
        shutdown: &CancellationToken,
    ) -> ControlFlow<()> {
        tracing::debug!(error = %failure.detail, "cannot connect");
        let kind = match failure.cause {
            Cause::Unauthorized | Cause::Forbidden => FailureKind::Auth,
            Cause::Unreachable | Cause::Server => FailureKind::Transient,
        };
        let delay = backoff.next_delay(kind);
        status.connect_failed(failure, delay, Utc::now());
        self.write_status(status).await;
        // "Retry now" (`POST /clusters/{id}/sync`) cuts the wait short.
        tokio::select! {
            _ = tokio::time::sleep(delay) => ControlFlow::Continue(()),
            _ = self.resync.notified() => ControlFlow::Continue(()),
            _ = shutdown.cancelled() => ControlFlow::Break(()),
        }
    }

    /// Write status when something changed (state at once; only event times at most every 5 s).
    async fn write_status(&self, status: &mut Status) {
        if !status.due(Instant::now()) {
            return;
        }
        match self
            .store
            .set_cluster_status(self.cluster.id, &status.update)
            .await
        {
            Ok(()) => {
                status.written(Instant::now());
                self.log_state(status);
            }
            Err(e) => tracing::warn!(error = %e, "cannot write cluster status"),
        }
    }

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

#[cfg(test)]
mod tests;
