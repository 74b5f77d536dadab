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

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::backoff::{Backoff, FailureKind};
use super::metrics::ListMetrics;
use crate::clusters::failure::Cause;
use crate::flux::{self, FluxKind};
use crate::store::{ResourceKey, WriteOp};

/// What a watcher watches.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A Flux kind.
    Kind(&'static FluxKind),
    /// core/v1 Events (only those about Flux objects are kept).
    Events,
}

impl Target {
    /// The name used in cluster status and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Kind(k) => k.kind,
            Target::Events => "Event",
        }
    }
}

/// What a watcher tells its supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchState {
    /// Listing (first time or after a restart).
    Listing,
    /// Listed and watching.
    Watching,
    /// Failing; the message says why.
    Failing {
        /// Why, without text from the remote end (every viewer reads it).
        message: String,
        /// Why, in full (may quote the remote end's response; admins only).
        detail: String,
        /// Credentials (401), permissions (403), network, or the server.
        cause: Cause,
        /// When the watcher tries again (sooner on "retry now").
        retry_at: chrono::DateTime<chrono::Utc>,
    },
}

/// A state change of one watcher, sent to the supervisor.
#[derive(Debug, Clone)]
pub struct WatchReport {
    /// Which watcher.
    pub target: &'static str,
    /// Its new state, or `None` when only an event arrived.
    pub state: Option<WatchState>,
}

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
        let config = watcher::Config::default()
            .timeout(self.watch_timeout_secs)
            .page_size(500);
        let mut backoff =
            Backoff::new(self.cluster_id.as_u128() as u64 ^ self.resource.plural.len() as u64);
        // Newest resourceVersion seen in a watch event; at a backstop restart it becomes the
        // boundary: relisted objects newer than it are changes the watch had not delivered yet
        // (not drift), older ones that differ from the database are drift.
        let mut last_rv: u64 = 0;
        let mut backstop: Option<u64> = None;
        loop {
            let stream = watcher::watcher(api.clone(), config.clone());
            let restart = tokio::select! {
                _ = shutdown.cancelled() => return,
                restart = self.consume(stream, &mut backoff, backstop, &mut last_rv, &shutdown) => restart,
            };
            match restart {
                Restart::Shutdown => return,
                Restart::Backstop => backstop = Some(last_rv),
            }
        }
    }

    async fn consume(
        &self,
        stream: impl futures::Stream<Item = watcher::Result<Event<DynamicObject>>>,
        backoff: &mut Backoff,
        mut backstop: Option<u64>,
        last_rv: &mut u64,
        shutdown: &CancellationToken,
    ) -> Restart {
        let mut stream = std::pin::pin!(stream);
        let mut seen: Option<HashSet<(String, String)>> = None;
        // Held from `Init` (emitted before the LIST request) to `InitDone` or a failure, so at
        // most `lists` permits' worth of LIST pages are parsed and in memory at once. A LIST
        // that makes no progress for LIST_STALL (a hung apiserver) gives its permit back, so a
        // few unreachable clusters cannot hold up the others' lists.
        let mut list_permit: Option<OwnedSemaphorePermit> = None;
        let mut stall_at: Option<tokio::time::Instant> = None;
        // When the current LIST got its permit (its wait for one is not the LIST's time).
        let mut list_started: Option<tokio::time::Instant> = None;
        // After a failure the watcher retries on the next poll; a retry that has not failed
        // within PROBATION is taken as a re-established watch (kube-runtime emits no event for
        // a successful re-watch, and a quiet kind may send nothing for minutes).
        let mut probation: Option<tokio::time::Instant> = None;
        loop {
            let event = tokio::select! {
                event = stream.next() => event,
                _ = self.resync.notified() => return Restart::Backstop,
                _ = sleep_until_some(stall_at) => {
                    tracing::debug!(cluster = %self.cluster_id, target = self.target.name(), "LIST is slow; releasing its permit");
                    (list_permit, stall_at) = (None, None);
                    continue;
                }
                _ = sleep_until_some(probation) => {
                    probation = None;
                    let state = if seen.is_some() { WatchState::Listing } else { WatchState::Watching };
                    self.report(Some(state)).await;
                    continue;
                }
            };
            let result = match event {
                None => return Restart::Backstop,
                Some(Ok(event)) => {
                    backoff.reset();
                    if matches!(event, Event::Init) && list_permit.is_none() {
                        list_permit = tokio::select! {
                            permit = self.lists.clone().acquire_owned() => permit.ok(),
                            _ = shutdown.cancelled() => return Restart::Shutdown,
                        };
                    }
                    match event {
                        Event::Init => list_started = Some(tokio::time::Instant::now()),
                        Event::InitDone => {
                            list_permit = None;
                            if let Some(started) = list_started.take() {
                                self.list_metrics
                                    .observe(self.target.name(), started.elapsed());
                            }
                        }
                        _ => {}
                    }
                    stall_at = list_permit
                        .as_ref()
                        .map(|_| tokio::time::Instant::now() + LIST_STALL);
                    if probation.take().is_some() && !matches!(event, Event::Init | Event::InitDone)
                    {
                        let state = if seen.is_some() {
                            WatchState::Listing
                        } else {
                            WatchState::Watching
                        };
                        self.report(Some(state)).await;
                    }
                    self.handle(event, &mut seen, &mut backstop, last_rv).await
                }
                Some(Err(e)) if is_routine(&e) => {
                    (list_permit, stall_at, list_started) = (None, None, None);
                    // A watch that ended mid-stream (timeout, dropped connection, 410) is
                    // restarted at once by kube-runtime; nothing to report.
                    tracing::debug!(cluster = %self.cluster_id, target = self.target.name(), error = %e, "watch ended; resuming");
                    Ok(())
                }
                Some(Err(e)) => {
                    (list_permit, stall_at, list_started) = (None, None, None);
                    let kind = classify(&e);
                    let delay = backoff.next_delay(kind);
                    tracing::debug!(cluster = %self.cluster_id, target = self.target.name(), error = %e, retry_in = ?delay, "watch failed");
                    let failure = crate::clusters::failure::of_watch(&e);
                    let state = WatchState::Failing {
                        message: failure.summary,
                        detail: failure.detail,
                        cause: failure.cause,
                        retry_at: chrono::Utc::now()
                            + chrono::Duration::from_std(delay).unwrap_or_default(),
                    };
                    self.report(Some(state)).await;
                    // "Retry now" (a relist request) cuts the wait short.
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.resync.notified() => {
                            tracing::debug!("retrying now, on request");
                        }
                        _ = shutdown.cancelled() => return Restart::Shutdown,
                    }
                    probation = Some(tokio::time::Instant::now() + PROBATION);
                    Ok(())
                }
            };
            if result.is_err() {
                return Restart::Shutdown;
            }
        }
    }

    /// Handle one event; `Err` when the writer is gone (shutdown).
    async fn handle(
        &self,
        event: Event<DynamicObject>,
        seen: &mut Option<HashSet<(String, String)>>,
        backstop: &mut Option<u64>,
        last_rv: &mut u64,
    ) -> Result<(), ()> {
        match event {
            Event::Init => {
                *seen = Some(HashSet::new());
                self.report(Some(WatchState::Listing)).await;
            }
            Event::InitApply(obj) => {
                if let (Some(seen), Some(key)) = (seen.as_mut(), object_key(&obj)) {
                    seen.insert(key);
                }
                let drift_candidate =
                    backstop.is_some_and(|boundary| rv_of(&obj).is_none_or(|rv| rv <= boundary));
                *last_rv = (*last_rv).max(rv_of(&obj).unwrap_or(0));
                self.apply(obj, drift_candidate).await?;
            }
            Event::InitDone => {
                if let (Target::Kind(kind), Some(seen)) = (self.target, seen.take()) {
                    let sweep = WriteOp::Sweep {
                        cluster_id: self.cluster_id,
                        api_group: kind.group.to_string(),
                        kind: kind.kind.to_string(),
                        seen,
                        backstop: backstop.is_some(),
                    };
                    self.writer.send(sweep).await.map_err(|_| ())?;
                }
                *backstop = None;
                self.report(Some(WatchState::Watching)).await;
            }
            Event::Apply(obj) => {
                *last_rv = (*last_rv).max(rv_of(&obj).unwrap_or(0));
                self.apply(obj, false).await?;
                self.report(None).await;
            }
            Event::Delete(obj) => {
                *last_rv = (*last_rv).max(rv_of(&obj).unwrap_or(0));
                if let (Target::Kind(kind), Some((namespace, name))) =
                    (self.target, object_key(&obj))
                {
                    let key = ResourceKey {
                        cluster_id: self.cluster_id,
                        api_group: kind.group.to_string(),
                        kind: kind.kind.to_string(),
                        namespace,
                        name,
                    };
                    self.writer
                        .send(WriteOp::Delete(key))
                        .await
                        .map_err(|_| ())?;
                }
                self.report(None).await;
            }
        }
        Ok(())
    }

    async fn apply(&self, obj: DynamicObject, backstop: bool) -> Result<(), ()> {
        let mut value = match serde_json::to_value(&obj) {
            Ok(v) => v,
            Err(_) => return Ok(()),
        };
        fill_type(&mut value, &self.resource);
        let op = match self.target {
            Target::Kind(_) => match flux::snapshot(&value) {
                Ok(snapshot) => WriteOp::Upsert {
                    cluster_id: self.cluster_id,
                    snapshot: Box::new(snapshot),
                    backstop,
                },
                Err(e) => {
                    tracing::debug!(cluster = %self.cluster_id, error = %e, "skipping object");
                    return Ok(());
                }
            },
            Target::Events => match flux::normalize_event(&value) {
                Some(event) => WriteOp::Event {
                    cluster_id: self.cluster_id,
                    event: Box::new(event),
                },
                None => return Ok(()),
            },
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

enum Restart {
    Shutdown,
    Backstop,
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

/// resourceVersion as a number: opaque by contract, an etcd revision in practice.
fn rv_of(obj: &DynamicObject) -> Option<u64> {
    obj.metadata.resource_version.as_deref()?.parse().ok()
}

fn object_key(obj: &DynamicObject) -> Option<(String, String)> {
    Some((
        obj.metadata.namespace.clone().unwrap_or_default(),
        obj.metadata.name.clone()?,
    ))
}

/// How long a retried watch must go without failing to count as re-established.
const PROBATION: std::time::Duration = std::time::Duration::from_secs(1);

/// A LIST holding a permit with no event for this long gives the permit back.
const LIST_STALL: std::time::Duration = std::time::Duration::from_secs(10);

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The first failure of an established watch stream (it broke or expired) is routine: the
/// watcher re-watches (or relists after 410) on the next poll. Failures to list or to start a
/// watch are real and reported.
fn is_routine(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::WatchFailed(_) => true,
        watcher::Error::WatchError(s) => s.code == 410,
        _ => false,
    }
}

/// 401/403 are retried slowly; everything else is transient.
pub fn classify(e: &watcher::Error) -> FailureKind {
    let status = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
        watcher::Error::WatchError(s) => Some(s.code),
        _ => None,
    };
    match status {
        Some(401 | 403) => FailureKind::Auth,
        _ => FailureKind::Transient,
    }
}
