//! One connected session of a supervisor: a client, one watcher per served kind plus the events
//! watcher and the workload watchers (kind × owner label family, unless the cluster opted out), the liveness probe, and the timers (status flush, backstop relist, re-discovery),
//! until the session must start over or shut down.
//!
//! A session starts over (fresh client, discovery, a LIST per kind) when the API server answers
//! again after a silence (its watches may have stalled mid-stream), when the cluster has been
//! unreachable for longer than the read timeout (the connection pool may hold connections the
//! server will never answer), and when re-discovery finds the served kinds changed. The
//! bookkeeping behind those decisions is [`Watchdog`]'s, pure and unit-tested.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::Client;
use kube::api::ApiResource;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Settings, Status, Supervisor};
use crate::clusters::{Failure, failure};
use crate::flux::{self, WorkloadWatch};
use crate::ingest::discovery::{Discovered, discover, events_resource, workload_resource};
use crate::ingest::status::KindState;
use crate::ingest::watch::{KindWatch, Target, WatchReport, WatchState};
use crate::store::WriteOp;

/// Probes in a row without an answer before the cluster counts as unreachable.
const SILENT_AFTER: u32 = 2;

/// Period of status writes (when something changed).
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// What ends one connected session of a supervisor.
pub(super) enum Outcome {
    Shutdown,
    Rediscover,
}

/// What woke the session up.
enum Step {
    Shutdown,
    Report(WatchReport),
    Probe(Result<(), Failure>),
    Flush,
    Resync,
    Rediscover,
}

/// A session's decisions that depend only on what it saw, and when.
#[derive(Debug, Default)]
struct Watchdog {
    /// Kinds a backstop relist still waits for.
    awaiting_resync: HashSet<&'static str>,
    /// Since when the cluster is unreachable, as of the last flush.
    unreachable_since: Option<Instant>,
    /// Probes in a row that got no answer.
    unanswered: u32,
    /// When the first of them was sent (an answer was due a probe timeout later).
    unanswered_since: Option<DateTime<Utc>>,
}

impl Watchdog {
    /// A probe's outcome, at `now` (when the answer, or its deadline, came). True when the
    /// server answers again after a silence.
    fn on_probe(
        &mut self,
        answer: Result<(), Failure>,
        status: &mut Status,
        probe_timeout: Duration,
        now: DateTime<Utc>,
    ) -> bool {
        let failure = match answer {
            Ok(()) => {
                (self.unanswered, self.unanswered_since) = (0, None);
                return status.silent.take().is_some();
            }
            Err(failure) => failure,
        };
        let since = *self.unanswered_since.get_or_insert_with(|| {
            now - chrono::Duration::from_std(probe_timeout).unwrap_or_default()
        });
        self.unanswered += 1;
        if self.unanswered >= SILENT_AFTER && status.silent.is_none() {
            tracing::debug!(error = %failure.detail, "the API server does not answer");
            status.silent = Some((since, failure));
            status.dirty = true;
        }
        false
    }

    /// At each flush: whether the cluster has been unreachable for longer than `limit`.
    fn gives_up(&mut self, unreachable: bool, now: Instant, limit: Duration) -> bool {
        if !unreachable {
            self.unreachable_since = None;
            return false;
        }
        let since = *self.unreachable_since.get_or_insert(now);
        now - since > limit
    }
}

/// The session's periodic work.
struct Timers {
    flush: Interval,
    resync: Interval,
    rediscover: Interval,
}

impl Timers {
    fn new(settings: &Settings) -> Timers {
        let periodic = |period: Duration| {
            let mut timer = tokio::time::interval_at(Instant::now() + period, period);
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
            timer
        };
        let mut flush = tokio::time::interval(FLUSH_INTERVAL);
        flush.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Timers {
            flush,
            resync: periodic(settings.resync_interval),
            rediscover: periodic(settings.rediscover_interval),
        }
    }
}

/// One connected session.
pub(super) struct Session<'a> {
    supervisor: &'a Supervisor,
    client: Client,
    /// The served kinds this session watches, to notice when re-discovery differs.
    fingerprint: Vec<(&'static str, String)>,
    /// Cancels the watchers and the probe.
    children: CancellationToken,
    tasks: JoinSet<()>,
    /// One relist trigger per watcher.
    triggers: Vec<Arc<Notify>>,
    reports: mpsc::Receiver<WatchReport>,
    probes: mpsc::Receiver<Result<(), Failure>>,
    watchdog: Watchdog,
}

impl<'a> Session<'a> {
    /// Watch the cluster `found` describes until shutdown or until the session must start over.
    pub(super) async fn run(
        supervisor: &'a Supervisor,
        client: Client,
        found: Discovered,
        status: &mut Status,
        shutdown: &CancellationToken,
    ) -> Outcome {
        let (reports_tx, reports) = mpsc::channel(1024);
        let (probes_tx, probes) = mpsc::channel(4);
        let mut session = Session {
            supervisor,
            client,
            fingerprint: found.fingerprint(),
            children: shutdown.child_token(),
            tasks: JoinSet::new(),
            triggers: Vec::new(),
            reports,
            probes,
            watchdog: Watchdog::default(),
        };
        session.spawn_watches(&found, status, &reports_tx);
        session.sweep_unwatched().await;
        session.spawn_probe(probes_tx);
        status.connected(&found);
        supervisor.write_status(status).await;
        let outcome = session.watch(status, shutdown).await;
        session.children.cancel();
        while session.tasks.join_next().await.is_some() {}
        outcome
    }

    /// One watcher per served kind and one for Events; every kind starts out listing.
    fn spawn_watches(
        &mut self,
        found: &Discovered,
        status: &mut Status,
        reports: &mpsc::Sender<WatchReport>,
    ) {
        status.kinds = found
            .absent
            .iter()
            .map(|k| (k.kind, KindState::Absent))
            .collect();
        let mut targets: Vec<(Target, ApiResource)> = found
            .kinds
            .iter()
            .map(|(k, r)| (Target::Kind(k), r.clone()))
            .collect();
        targets.push((Target::Events, events_resource()));
        targets.extend(
            self.workload_watches()
                .iter()
                .map(|w| (Target::Workload(w), workload_resource(w.kind))),
        );
        for (target, resource) in targets {
            let state = KindState::Served {
                version: resource.version.clone(),
                state: WatchState::Listing,
                optional: matches!(target, Target::Workload(_)),
            };
            status.kinds.insert(target.name(), state);
            self.spawn_watch(target, resource, reports.clone());
        }
    }

    /// The workload watches of this cluster: the server's, unless the cluster opted out.
    fn workload_watches(&self) -> &'a [&'static WorkloadWatch] {
        let sup = self.supervisor;
        match sup.cluster.watch_workloads {
            true => &sup.settings.workloads,
            false => &[],
        }
    }

    /// Remove the stored workloads no watch of this session covers (kinds the server no longer
    /// watches, or every kind of a cluster that opted out): an empty sweep of each.
    async fn sweep_unwatched(&self) {
        let watched = self.workload_watches();
        for w in flux::WORKLOAD_WATCHES.iter() {
            if watched.iter().any(|x| std::ptr::eq(*x, w)) {
                continue;
            }
            let sweep = WriteOp::Sweep {
                cluster_id: self.supervisor.cluster.id,
                api_group: w.kind.group.to_string(),
                kind: w.kind.kind.to_string(),
                seen: HashSet::new(),
                backstop: false,
                label: Some(w.family.name_label()),
            };
            if self.supervisor.writer.send(sweep).await.is_err() {
                return;
            }
        }
    }

    fn spawn_watch(
        &mut self,
        target: Target,
        resource: ApiResource,
        reports: mpsc::Sender<WatchReport>,
    ) {
        let sup = self.supervisor;
        let trigger = Arc::new(Notify::new());
        self.triggers.push(trigger.clone());
        let watch = KindWatch {
            cluster_id: sup.cluster.id,
            target,
            resource,
            client: self.client.clone(),
            writer: sup.writer.clone(),
            reports,
            resync: trigger,
            watch_timeout_secs: sup.settings.watch_timeout_secs,
            lists: sup.settings.lists.clone(),
            list_metrics: sup.lists.clone(),
        };
        let span = tracing::info_span!("watch", kind = target.name());
        self.tasks
            .spawn(watch.run(self.children.clone()).instrument(span));
    }

    fn spawn_probe(&mut self, answers: mpsc::Sender<Result<(), Failure>>) {
        let settings = self.supervisor.settings.clone();
        let probe = probe(
            self.client.clone(),
            settings,
            answers,
            self.children.clone(),
        );
        self.tasks.spawn(probe);
    }

    async fn watch(&mut self, status: &mut Status, shutdown: &CancellationToken) -> Outcome {
        let mut timers = Timers::new(&self.supervisor.settings);
        loop {
            let step = tokio::select! {
                _ = shutdown.cancelled() => Step::Shutdown,
                Some(report) = self.reports.recv() => Step::Report(report),
                Some(answer) = self.probes.recv() => Step::Probe(answer),
                _ = timers.flush.tick() => Step::Flush,
                _ = timers.resync.tick() => Step::Resync,
                _ = self.supervisor.resync.notified() => Step::Resync,
                _ = timers.rediscover.tick() => Step::Rediscover,
            };
            if let ControlFlow::Break(outcome) = self.handle(step, status).await {
                return outcome;
            }
        }
    }

    async fn handle(&mut self, step: Step, status: &mut Status) -> ControlFlow<Outcome> {
        match step {
            Step::Shutdown => ControlFlow::Break(Outcome::Shutdown),
            Step::Report(report) => {
                let awaiting = &mut self.watchdog.awaiting_resync;
                status.on_report(report, awaiting, Utc::now());
                ControlFlow::Continue(())
            }
            Step::Probe(answer) => self.on_probe(answer, status),
            Step::Flush => self.on_flush(status).await,
            Step::Resync => {
                self.start_resync(status);
                ControlFlow::Continue(())
            }
            Step::Rediscover => self.rediscover().await,
        }
    }

    fn on_probe(
        &mut self,
        answer: Result<(), Failure>,
        status: &mut Status,
    ) -> ControlFlow<Outcome> {
        let timeout = self.supervisor.settings.probe_timeout;
        if self.watchdog.on_probe(answer, status, timeout, Utc::now()) {
            // The server answers again after a silence: its watches may have stalled
            // mid-stream, so start over — fresh client, discovery and a LIST per kind — and
            // show ready only once those answered.
            tracing::info!("the API server answers again; relisting every kind");
            return ControlFlow::Break(Outcome::Rediscover);
        }
        ControlFlow::Continue(())
    }

    async fn on_flush(&mut self, status: &mut Status) -> ControlFlow<Outcome> {
        self.supervisor.write_status(status).await;
        // Every watch failing for a while: start over with a fresh client (new connections,
        // new discovery) instead of retrying on a pool that may hold connections the
        // apiserver will never answer.
        let limit = self.supervisor.settings.read_timeout;
        if self
            .watchdog
            .gives_up(status.unreachable(), Instant::now(), limit)
        {
            tracing::info!("cluster unreachable; reconnecting");
            return ControlFlow::Break(Outcome::Rediscover);
        }
        ControlFlow::Continue(())
    }

    /// A backstop relist: every watcher restarts its stream; it is complete when every
    /// served kind is watching again.
    fn start_resync(&mut self, status: &Status) {
        tracing::debug!("backstop relist");
        for trigger in &self.triggers {
            trigger.notify_one();
        }
        self.watchdog.awaiting_resync = status.served();
    }

    async fn rediscover(&self) -> ControlFlow<Outcome> {
        let timeout = self.supervisor.settings.read_timeout;
        let again = tokio::time::timeout(timeout, discover(&self.client)).await;
        if let Ok(Ok(again)) = again
            && again.fingerprint() != self.fingerprint
        {
            tracing::info!("served Flux kinds changed; restarting watches");
            return ControlFlow::Break(Outcome::Rediscover);
        }
        ControlFlow::Continue(())
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

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
