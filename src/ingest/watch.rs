//! One kube-runtime watcher per (cluster, kind): the only construction of watchers in the code.
//!
//! Each stream begins with a LIST (`Init` … `InitApply` … `InitDone`) and then watches. A relist
//! is treated as mark-and-sweep: the keys seen between `Init` and `InitDone` are sent with a
//! `Sweep`, and the writer removes stored objects of that kind that were not seen. The "epoch"
//! lives in memory, so an unchanged relist writes nothing. A `Delete` event is never the only
//! path to removing a row: the next relist sweeps whatever a lost delete left behind.
//!
//! The backstop resync restarts the stream (a fresh LIST) on the same task. Because the watch
//! events and the relist flow through one stream, and then one FIFO channel to one writer, a
//! relist can never overwrite a newer watch event with older data.
//!
//! What each event, error and timer means (permits, sweeps, drift, backoff, probation) is decided
//! by the pure state machine in `lifecycle`; this file is its shell: it polls the stream, the
//! relist trigger and the lifecycle's deadline, and performs the effects (permits, writer sends,
//! reports to the supervisor, LIST metrics, retry waits).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::lifecycle::{Effect, Input, Lifecycle, Now};
pub use super::lifecycle::{Target, WatchReport, WatchState};
use super::metrics::ListMetrics;
use crate::flux;
use crate::store::WriteOp;

/// Everything one watcher needs.
pub struct KindWatch {
    /// Cluster the objects belong to.
    pub cluster_id: Uuid,
    /// What to watch.
    pub target: Target,
    /// API resource at the version discovery chose.
    pub resource: ApiResource,
    /// Client for the cluster.
    pub client: Client,
    /// The writer's queue.
    pub writer: mpsc::Sender<WriteOp>,
    /// State reports to the supervisor.
    pub reports: mpsc::Sender<WatchReport>,
    /// Notified to run a backstop relist now.
    pub resync: Arc<Notify>,
    /// Server-side watch timeout (seconds, ≤ 60): a silent dead connection is noticed by then.
    pub watch_timeout_secs: u32,
    /// Permits for full LISTs, shared by every watch of the replica: a LIST runs only with one.
    pub lists: Arc<Semaphore>,
    /// Where each LIST's duration goes (labelled by kind only).
    pub list_metrics: ListMetrics,
}

impl KindWatch {
    /// Run until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &self.resource);
        let mut config = watcher::Config::default()
            .timeout(self.watch_timeout_secs)
            .page_size(500);
        if let Target::Workload(w) = self.target {
            // An existence selector on the family's ownership label: only what Flux applied.
            config = config.labels(w.family.name_label());
        }
        let seed = self.cluster_id.as_u128() as u64 ^ self.resource.plural.len() as u64;
        let mut lifecycle = Lifecycle::new(self.cluster_id, self.target, seed);
        let mut permit = None;
        loop {
            let stream = watcher::watcher(api.clone(), config.clone());
            tokio::select! {
                _ = shutdown.cancelled() => return,
                flow = self.drive(stream, &mut lifecycle, &mut permit, &shutdown) => {
                    if flow.is_break() {
                        return;
                    }
                }
            }
        }
    }

    /// Feed one stream to the lifecycle and perform what it says, until it asks for a restart
    /// (`Continue`: the caller starts a new stream) or the watch must stop (`Break`).
    async fn drive(
        &self,
        stream: impl futures::Stream<Item = watcher::Result<Event<DynamicObject>>>,
        lifecycle: &mut Lifecycle,
        permit: &mut Option<OwnedSemaphorePermit>,
        shutdown: &CancellationToken,
    ) -> ControlFlow<()> {
        let mut stream = std::pin::pin!(stream);
        loop {
            let next = tokio::select! {
                item = stream.next() => Next::Item(item),
                _ = self.resync.notified() => Next::Resync,
                _ = sleep_until_some(lifecycle.deadline()) => Next::Tick,
            };
            let mut effects = self.feed(lifecycle, next);
            // A permit or a retry wait leads to a further input, whose effects come next.
            loop {
                let follow = match self.perform(effects, permit, shutdown).await {
                    Performed::Done => break,
                    Performed::PermitGranted => Input::PermitGranted,
                    Performed::RetryDue => Input::RetryDue,
                    Performed::Restart => return ControlFlow::Continue(()),
                    Performed::Stop => return ControlFlow::Break(()),
                };
                effects = lifecycle.step(follow, Now::current());
            }
        }
    }

    /// What the stream or a timer brought, as the lifecycle's input.
    fn feed(&self, lifecycle: &mut Lifecycle, next: Next) -> Vec<Effect> {
        let now = Now::current();
        match next {
            Next::Item(None) => lifecycle.step(Input::End, now),
            Next::Item(Some(Ok(event))) => lifecycle.step(Input::Event(event), now),
            Next::Item(Some(Err(error))) => {
                let effects = lifecycle.step(Input::Failed(&error), now);
                self.log_failure(&error, &effects);
                effects
            }
            Next::Resync => lifecycle.step(Input::Resync, now),
            Next::Tick => {
                let effects = lifecycle.step(Input::Tick, now);
                if effects.iter().any(|e| matches!(e, Effect::ReleasePermit)) {
                    tracing::debug!(cluster = %self.cluster_id, target = self.target.name(), "LIST is slow; releasing its permit");
                }
                effects
            }
        }
    }

    fn log_failure(&self, error: &watcher::Error, effects: &[Effect]) {
        let (cluster, target) = (self.cluster_id, self.target.name());
        let retry = effects.iter().find_map(|e| match e {
            Effect::Retry(delay) => Some(*delay),
            _ => None,
        });
        match retry {
            Some(delay) => {
                tracing::debug!(cluster = %cluster, target, error = %error, retry_in = ?delay, "watch failed");
            }
            // A watch that ended mid-stream (timeout, dropped connection, 410) is restarted at
            // once by kube-runtime; nothing to report.
            None => {
                tracing::debug!(cluster = %cluster, target, error = %error, "watch ended; resuming");
            }
        }
    }

    /// Perform `effects` in order.
    async fn perform(
        &self,
        effects: Vec<Effect>,
        permit: &mut Option<OwnedSemaphorePermit>,
        shutdown: &CancellationToken,
    ) -> Performed {
        let mut then = None;
        for effect in effects {
            match effect {
                Effect::TakePermit => {
                    // Only the permit or shutdown is awaited: the stream is not polled meanwhile.
                    *permit = tokio::select! {
                        // The semaphore is never closed, so this is always a permit.
                        taken = self.lists.clone().acquire_owned() => taken.ok(),
                        _ = shutdown.cancelled() => return Performed::Stop,
                    };
                    then = Some(Performed::PermitGranted);
                }
                Effect::ReleasePermit => *permit = None,
                Effect::ObserveList(took) => self.list_metrics.observe(self.target.name(), took),
                Effect::Upsert { object, backstop } => {
                    if self.upsert(*object, backstop).await.is_err() {
                        return Performed::Stop;
                    }
                }
                Effect::Write(op) => {
                    if self.writer.send(op).await.is_err() {
                        return Performed::Stop;
                    }
                }
                Effect::Report(state) => self.report(Some(state)).await,
                Effect::EventSeen => self.report(None).await,
                Effect::Retry(delay) => {
                    if !self.wait_to_retry(delay, shutdown).await {
                        return Performed::Stop;
                    }
                    then = Some(Performed::RetryDue);
                }
                Effect::Restart => return Performed::Restart,
            }
        }
        then.unwrap_or(Performed::Done)
    }

    /// Wait out a retry delay; "retry now" (a relist request) cuts it short. False on shutdown.
    async fn wait_to_retry(&self, delay: Duration, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = self.resync.notified() => {
                tracing::debug!("retrying now, on request");
                true
            }
            _ = shutdown.cancelled() => false,
        }
    }

    /// Send a listed or changed object to the writer; `Err` when the writer is gone (shutdown).
    async fn upsert(&self, obj: DynamicObject, backstop: bool) -> Result<(), ()> {
        let mut value = match serde_json::to_value(&obj) {
            Ok(v) => v,
            Err(_) => return Ok(()),
        };
        fill_type(&mut value, &self.resource);
        let snapshot = match self.target {
            Target::Kind(_) => flux::snapshot(&value),
            Target::Workload(_) => flux::workload_snapshot(&value),
            Target::Events => {
                let Some(event) = flux::normalize_event(&value) else {
                    return Ok(());
                };
                let op = WriteOp::Event {
                    cluster_id: self.cluster_id,
                    event: Box::new(event),
                };
                return self.writer.send(op).await.map_err(|_| ());
            }
        };
        // The object itself is dropped here: the snapshot keeps what the writer stores.
        let op = match snapshot {
            Ok(snapshot) => WriteOp::Upsert {
                cluster_id: self.cluster_id,
                snapshot: Box::new(snapshot),
                backstop,
            },
            Err(e) => {
                tracing::debug!(cluster = %self.cluster_id, error = %e, "skipping object");
                return Ok(());
            }
        };
        self.writer.send(op).await.map_err(|_| ())
    }

    async fn report(&self, state: Option<WatchState>) {
        // A full report queue means the supervisor is busy; event-only reports can be dropped.
        let report = WatchReport {
            target: self.target.name(),
            state,
        };
        if report.state.is_some() {
            let _ = self.reports.send(report).await;
        } else {
            let _ = self.reports.try_send(report);
        }
    }
}

/// What woke the shell up.
// Moved once per event; boxing the event would allocate for each object for nothing.
#[allow(clippy::large_enum_variant)]
enum Next {
    /// The stream's next item (`None`: it ended).
    Item(Option<watcher::Result<Event<DynamicObject>>>),
    /// A relist was requested.
    Resync,
    /// The lifecycle's deadline came.
    Tick,
}

/// How performing a step's effects ended.
enum Performed {
    /// All performed; wait for the next input.
    Done,
    /// All performed; the permit asked for was granted.
    PermitGranted,
    /// All performed; the retry wait is over.
    RetryDue,
    /// Start a new stream.
    Restart,
    /// Stop watching (shutdown, or the writer is gone).
    Stop,
}

/// List items may come without `apiVersion`/`kind`; fill them from the resource.
fn fill_type(value: &mut serde_json::Value, resource: &ApiResource) {
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| resource.api_version.clone().into());
        map.entry("kind")
            .or_insert_with(|| resource.kind.clone().into());
    }
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
