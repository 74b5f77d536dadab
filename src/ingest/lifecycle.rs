//! The life of one kind's watch as a pure state machine: what kube-runtime's events, the
//! stream's errors, timers and LIST permits do, as [`Effect`]s that `watch.rs` performs. No IO,
//! no clock of its own: every input comes with the time ([`Now`]), so each transition is unit
//! tested with explicit instants.
//!
//! Invariants (the reasons are in `docs/architecture.md`, "Watcher" to "Backstop"):
//!
//! - **LIST permits.** A permit is asked for at `Init` (kube-runtime emits it before the LIST
//!   request) and nothing else happens until it is granted; it is given back at `InitDone`, on
//!   any stream error, at a restart, and when the LIST makes no progress for [`LIST_STALL`].
//! - **Relist is mark-and-sweep.** The keys seen between `Init` and `InitDone` go out with a
//!   `Sweep` at `InitDone` (Flux kinds and workloads, a workload watch's limited to its owner
//!   label family; Events are never swept).
//! - **Drift.** After a restart (a backstop relist) the newest resourceVersion seen in a watch
//!   event is the boundary: relisted objects at or below it (or without one) are drift
//!   candidates, newer ones are changes the watch had not delivered yet.
//! - **Failures.** The first failure of an established stream (it broke or expired, or 410) is
//!   routine: kube-runtime resumes on the next poll, nothing is reported. Any other failure is
//!   reported with its retry time and waited out with [`Backoff`]; a retry that does not fail
//!   within [`PROBATION`] counts as re-established (kube-runtime emits no event for a successful
//!   re-watch). The backoff resets on every event received.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use kube::runtime::watcher::{self, Event};
use tokio::time::Instant;
use uuid::Uuid;

use super::backoff::{Backoff, FailureKind};
use crate::clusters::failure::{self, Cause};
use crate::flux::{FluxKind, WorkloadWatch};
use crate::store::{ResourceKey, WriteOp};

/// What a watcher watches.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A Flux kind.
    Kind(&'static FluxKind),
    /// A workload kind, selected by one owner family's label.
    Workload(&'static WorkloadWatch),
    /// core/v1 Events (only those about Flux objects are kept).
    Events,
}

impl Target {
    /// The name used in cluster status and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Kind(k) => k.kind,
            Target::Workload(w) => w.name,
            Target::Events => "Event",
        }
    }

    /// The group and kind of the objects (Flux kinds and workloads; Events have none), and
    /// the label a sweep is limited to (a workload watch's owner family).
    fn swept(&self) -> Option<(&'static str, &'static str, Option<&'static str>)> {
        match self {
            Target::Kind(k) => Some((k.group, k.kind, None)),
            Target::Workload(w) => Some((w.kind.group, w.kind.kind, Some(w.family.name_label()))),
            Target::Events => None,
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

/// How long a retried watch must go without failing to count as re-established.
pub const PROBATION: Duration = Duration::from_secs(1);

/// A LIST holding a permit with no event for this long gives the permit back.
pub const LIST_STALL: Duration = Duration::from_secs(10);

/// The time an input happened, on both clocks: deadlines use the monotonic one, the retry time
/// shown to users the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// Monotonic time (tokio's, so that a paused test clock applies).
    pub at: Instant,
    /// Wall-clock time.
    pub wall: DateTime<Utc>,
}

impl Now {
    /// The current time on both clocks.
    pub fn current() -> Now {
        Now {
            at: Instant::now(),
            wall: Utc::now(),
        }
    }
}

/// What happens to a watch.
// Moved once per event; boxing the event would allocate for each object for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Input<'a> {
    /// The stream delivered an event.
    Event(Event<DynamicObject>),
    /// The stream failed.
    Failed(&'a watcher::Error),
    /// The stream ended.
    End,
    /// A relist was requested (backstop timer or `POST /clusters/{id}/sync`).
    Resync,
    /// The deadline [`Lifecycle::deadline`] named has come.
    Tick,
    /// The permit [`Effect::TakePermit`] asked for was granted.
    PermitGranted,
    /// The wait [`Effect::Retry`] asked for is over (or was cut short on request).
    RetryDue,
}

/// What the shell must do, in order.
#[derive(Debug)]
pub enum Effect {
    /// Wait for a LIST permit (and nothing else), then feed [`Input::PermitGranted`].
    TakePermit,
    /// Give the LIST permit back.
    ReleasePermit,
    /// A LIST finished after this long (its wait for a permit not included).
    ObserveList(Duration),
    /// Convert the object (a Flux object or an Event) and send it to the writer;
    /// `backstop`: a drift candidate of a backstop relist.
    Upsert {
        /// The object as the stream delivered it.
        object: Box<DynamicObject>,
        /// Seen by a backstop relist and not newer than the last watch event.
        backstop: bool,
    },
    /// Send this delete or sweep to the writer.
    Write(WriteOp),
    /// Tell the supervisor the watch's new state.
    Report(WatchState),
    /// Tell the supervisor an event arrived (may be dropped when it is busy).
    EventSeen,
    /// Wait this long (a relist request cuts it short), then feed [`Input::RetryDue`].
    Retry(Duration),
    /// End this stream and start a new one, which relists.
    Restart,
}

/// Where the stream's LIST permit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Permit {
    #[default]
    None,
    Asked,
    Held,
}

/// State of one stream, forgotten at a restart.
#[derive(Debug, Default)]
struct Stream {
    /// Keys seen since `Init`, until `InitDone`: `Some` while listing.
    seen: Option<HashSet<(String, String)>>,
    permit: Permit,
    /// When a permit-holding LIST that makes no progress gives its permit back.
    stall_at: Option<Instant>,
    /// When the current LIST got its permit.
    list_started: Option<Instant>,
    /// When a retried watch that has not failed counts as re-established.
    probation: Option<Instant>,
}

/// One kind's watch, across the streams of its restarts.
#[derive(Debug)]
pub struct Lifecycle {
    cluster_id: Uuid,
    target: Target,
    backoff: Backoff,
    /// Newest resourceVersion seen in any event.
    last_rv: u64,
    /// The drift boundary of a backstop relist in progress (`last_rv` at its restart).
    backstop: Option<u64>,
    stream: Stream,
}

impl Lifecycle {
    /// A watch that has not started yet; `seed` varies the backoff's jitter.
    pub fn new(cluster_id: Uuid, target: Target, seed: u64) -> Lifecycle {
        Lifecycle {
            cluster_id,
            target,
            backoff: Backoff::new(seed),
            last_rv: 0,
            backstop: None,
            stream: Stream::default(),
        }
    }

    /// The next time [`Input::Tick`] is due, if any.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.stream.stall_at, self.stream.probation) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Take one input.
    pub fn step(&mut self, input: Input<'_>, now: Now) -> Vec<Effect> {
        match input {
            Input::Event(event) => self.on_event(event, now),
            Input::Failed(error) => self.on_failure(error, now),
            Input::End | Input::Resync => self.restart(),
            Input::Tick => self.on_tick(now),
            Input::PermitGranted if self.stream.permit == Permit::Asked => {
                self.stream.permit = Permit::Held;
                self.proceed(Event::Init, now)
            }
            Input::PermitGranted => Vec::new(),
            Input::RetryDue => {
                self.stream.probation = Some(now.at + PROBATION);
                Vec::new()
            }
        }
    }

    fn on_event(&mut self, event: Event<DynamicObject>, now: Now) -> Vec<Effect> {
        self.backoff.reset();
        if matches!(event, Event::Init) && self.stream.permit == Permit::None {
            self.stream.permit = Permit::Asked;
            return vec![Effect::TakePermit];
        }
        self.proceed(event, now)
    }

    /// An event with the permit question settled: permit and timers, then the event itself.
    fn proceed(&mut self, event: Event<DynamicObject>, now: Now) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::Init => self.stream.list_started = Some(now.at),
            Event::InitDone => {
                self.release(&mut effects);
                if let Some(started) = self.stream.list_started.take() {
                    effects.push(Effect::ObserveList(now.at - started));
                }
            }
            _ => {}
        }
        let holds = self.stream.permit == Permit::Held;
        self.stream.stall_at = holds.then(|| now.at + LIST_STALL);
        // Init and InitDone report their own state; any other event ends a probation at once.
        if self.stream.probation.take().is_some() && !matches!(event, Event::Init | Event::InitDone)
        {
            effects.push(Effect::Report(self.settled()));
        }
        self.handle(event, &mut effects);
        effects
    }

    fn handle(&mut self, event: Event<DynamicObject>, effects: &mut Vec<Effect>) {
        match event {
            Event::Init => {
                self.stream.seen = Some(HashSet::new());
                effects.push(Effect::Report(WatchState::Listing));
            }
            Event::InitApply(object) => {
                if let (Some(seen), Some(key)) = (self.stream.seen.as_mut(), object_key(&object)) {
                    seen.insert(key);
                }
                let rv = rv_of(&object);
                let backstop = self
                    .backstop
                    .is_some_and(|boundary| rv.is_none_or(|rv| rv <= boundary));
                self.last_rv = self.last_rv.max(rv.unwrap_or(0));
                let object = Box::new(object);
                effects.push(Effect::Upsert { object, backstop });
            }
            Event::InitDone => self.on_listed(effects),
            Event::Apply(object) => {
                self.last_rv = self.last_rv.max(rv_of(&object).unwrap_or(0));
                let object = Box::new(object);
                effects.push(Effect::Upsert {
                    object,
                    backstop: false,
                });
                effects.push(Effect::EventSeen);
            }
            Event::Delete(object) => {
                self.last_rv = self.last_rv.max(rv_of(&object).unwrap_or(0));
                if let Some(key) = self.key(&object) {
                    effects.push(Effect::Write(WriteOp::Delete(key)));
                }
                effects.push(Effect::EventSeen);
            }
        }
    }

    /// `InitDone`: sweep what the LIST did not return, and the backstop (if any) is over.
    fn on_listed(&mut self, effects: &mut Vec<Effect>) {
        let seen = self.stream.seen.take();
        if let (Some((group, kind, label)), Some(seen)) = (self.target.swept(), seen) {
            effects.push(Effect::Write(WriteOp::Sweep {
                cluster_id: self.cluster_id,
                api_group: group.to_string(),
                kind: kind.to_string(),
                seen,
                backstop: self.backstop.is_some(),
                label,
            }));
        }
        self.backstop = None;
        effects.push(Effect::Report(WatchState::Watching));
    }

    fn on_failure(&mut self, error: &watcher::Error, now: Now) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.release(&mut effects);
        self.stream.list_started = None;
        if is_routine(error) {
            return effects;
        }
        let delay = self.backoff.next_delay(classify(error));
        let failure = failure::of_watch(error);
        effects.push(Effect::Report(WatchState::Failing {
            message: failure.summary,
            detail: failure.detail,
            cause: failure.cause,
            retry_at: now.wall + chrono::Duration::from_std(delay).unwrap_or_default(),
        }));
        effects.push(Effect::Retry(delay));
        effects
    }

    fn on_tick(&mut self, now: Now) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.stream.stall_at.is_some_and(|at| at <= now.at) {
            self.release(&mut effects);
        }
        if self.stream.probation.is_some_and(|at| at <= now.at) {
            self.stream.probation = None;
            effects.push(Effect::Report(self.settled()));
        }
        effects
    }

    /// A new stream: its relist is a backstop whose boundary is the newest event seen so far.
    fn restart(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.release(&mut effects);
        self.stream = Stream::default();
        self.backstop = Some(self.last_rv);
        effects.push(Effect::Restart);
        effects
    }

    /// Give the permit back, if held, and stop watching for a stall.
    fn release(&mut self, effects: &mut Vec<Effect>) {
        if self.stream.permit == Permit::Held {
            effects.push(Effect::ReleasePermit);
        }
        self.stream.permit = Permit::None;
        self.stream.stall_at = None;
    }

    /// The state of a watch that has not failed lately: listing, or watching.
    fn settled(&self) -> WatchState {
        if self.stream.seen.is_some() {
            WatchState::Listing
        } else {
            WatchState::Watching
        }
    }

    /// The key of a deleted object, for Flux kinds and workloads (Events are never deleted).
    fn key(&self, object: &DynamicObject) -> Option<ResourceKey> {
        let (group, kind, _) = self.target.swept()?;
        let (namespace, name) = object_key(object)?;
        Some(ResourceKey {
            cluster_id: self.cluster_id,
            api_group: group.to_string(),
            kind: kind.to_string(),
            namespace,
            name,
        })
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

/// The first failure of an established watch stream (it broke or expired) is routine: the
/// watcher re-watches (or relists after 410) on the next poll. Failures to list or to start a
/// watch are real and reported.
pub fn is_routine(e: &watcher::Error) -> bool {
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

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
