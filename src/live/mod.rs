//! Live fan-out: a LISTEN connection follows the committed change log and publishes each change,
//! in seq order, to a bounded in-process broadcast; subscriptions add filters and replay by seq.
//!
//! | file | owns |
//! |------|------|
//! | `listener` | the dedicated LISTEN connection, catch-up reads, reconnects, publishing |
//! | `subscription` | one subscriber's view: replay from the database, the seam to live, lag |
//! | `filter` | which changes a subscriber wants |
//! | `retention` | pruning `resource_changes` by age and count |
//! | `metrics` | the live counters |
//!
//! The broadcast ring is the per-client queue: every subscriber reads the same ring of shared,
//! pre-encoded frames, so an idle subscriber costs a ring cursor, not a buffer. A subscriber
//! that falls a whole ring behind is told to resync; the listener never waits for anyone.

mod filter;
mod listener;
mod metrics;
mod retention;
mod subscription;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

pub use filter::{Filter, FilterError, MAX_ENTRIES};
pub use metrics::{LiveMetrics, SubscriberGuard};
pub use subscription::{Outgoing, ResyncReason, StartError, Subscription};

use crate::flux::Health;
use crate::metrics::Metrics;
use crate::store::{ChangeEntry, ChangeRow, ClusterRow, ClusterStatusRow, Store};

/// Which clusters a subscriber may see: all, or those whose labels match a credential's scope.
/// A change of a cluster that cannot be placed (unknown, deleted) is not visible to a scoped
/// subscriber: the check fails closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Every cluster.
    #[default]
    All,
    /// Clusters carrying every one of these labels.
    Scoped(crate::auth::Scope),
}

impl Visibility {
    /// True when a cluster with `labels` is visible.
    pub fn allows(&self, labels: &serde_json::Value) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Scoped(scope) => crate::auth::in_scope(Some(scope), labels),
        }
    }
}

/// A text frame as sent on the wire; clones share the bytes.
pub type Frame = tokio_tungstenite::tungstenite::Utf8Bytes;

/// Encodes store rows as stream frames. Implemented by the API layer, which owns the wire
/// format; called once per published change, whatever the number of subscribers.
pub trait Codec: Send + Sync + 'static {
    /// A `change` message.
    fn change(&self, row: &ChangeRow) -> Frame;
    /// A `cluster` message; `removed` when the cluster left the registry.
    fn cluster(&self, view: &ClusterView, removed: bool) -> Frame;
}

/// A registered cluster with its status, as `cluster` messages carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    /// The registry entry.
    pub cluster: ClusterRow,
    /// Status written by the watching replica; `None` before the first write.
    pub status: Option<ClusterStatusRow>,
}

/// Tuning of live fan-out, from [`crate::config::LiveConfig`] ([`Settings::from_config`]).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Broadcast ring capacity: how many published items a subscriber may fall behind.
    pub queue: usize,
    /// Safety-net poll of the change log when no NOTIFY arrives.
    pub poll_interval: Duration,
    /// Rows per database read (listener catch-up and replay).
    pub page_size: i64,
    /// Longest replay served; a `since` further behind the head gets `resync: too_old`.
    pub max_replay: i64,
    /// Interval of heartbeat messages and WebSocket pings.
    pub heartbeat: Duration,
    /// A client that sends nothing (not even a pong) for this long is disconnected.
    pub idle_timeout: Duration,
    /// A frame that cannot be written within this time marks the client as stalled.
    pub send_timeout: Duration,
    /// Changes older than this are pruned.
    pub retention_age: Duration,
    /// At most this many changes are kept.
    pub retention_count: i64,
    /// How often retention runs.
    pub prune_interval: Duration,
    /// Most streams one principal may hold open (0: no limit).
    pub max_streams_per_principal: usize,
    /// Most subscribe messages per stream connection per minute (0: no limit).
    pub subscribes_per_minute: u32,
}

impl Settings {
    /// The live settings from the command line, with lower bounds applied.
    pub fn from_config(c: &crate::config::LiveConfig) -> Settings {
        let ms = |v: u64| Duration::from_millis(v.max(10));
        // "Unlimited" is a century: far enough, and safe in SQL interval arithmetic.
        let hours = match c.changes_retention_hours {
            0 => 100 * 365 * 24,
            hours => hours,
        };
        let count = if c.changes_retention_count <= 0 {
            i64::MAX
        } else {
            c.changes_retention_count
        };
        Settings {
            queue: c.stream_queue.clamp(16, 1 << 20),
            poll_interval: ms(c.stream_poll_ms),
            page_size: 500,
            max_replay: c.stream_max_replay.max(0),
            heartbeat: ms(c.stream_heartbeat_ms),
            idle_timeout: ms(c.stream_idle_timeout_ms),
            send_timeout: ms(c.stream_send_timeout_ms),
            retention_age: Duration::from_secs(hours.saturating_mul(3600)),
            retention_count: count,
            prune_interval: Duration::from_secs(c.changes_prune_interval_secs.max(1)),
            max_streams_per_principal: c.stream_max_per_principal,
            subscribes_per_minute: c.stream_subscribes_per_minute,
        }
    }
}

/// Published to every subscriber. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Item {
    /// A committed change.
    Change(Arc<ChangeItem>),
    /// A cluster's status or registry entry changed.
    Cluster(Arc<ClusterItem>),
    /// The listener lost changes (pruned while it was disconnected): everyone must resync.
    Reset,
}

/// A published change: the log entry and the object's health now (what filters look at), and
/// its encoded frame. One per change, shared by every subscriber.
#[derive(Debug)]
pub struct ChangeItem {
    /// The log entry.
    pub entry: ChangeEntry,
    /// The object's health when the change was read; `None` when it no longer exists.
    pub health_now: Option<Health>,
    /// The encoded `change` message.
    pub frame: Frame,
}

impl ChangeItem {
    /// Encode `row` with `codec` and keep what filters need: the entry is moved, not copied,
    /// and the object's row is dropped (the frame carries it).
    pub fn new(row: ChangeRow, codec: &dyn Codec) -> ChangeItem {
        let frame = codec.change(&row);
        ChangeItem {
            health_now: row.health_now(),
            entry: row.entry,
            frame,
        }
    }

    /// Log position.
    pub fn seq(&self) -> i64 {
        self.entry.seq
    }
}

/// A cluster message with what filters need.
#[derive(Debug)]
pub struct ClusterItem {
    /// The cluster as encoded.
    pub view: ClusterView,
    /// The encoded `cluster` message.
    pub frame: Frame,
}

/// State shared by the listener, the retention task and every subscription.
struct Shared {
    store: Store,
    settings: Settings,
    codec: Arc<dyn Codec>,
    /// Written by the listener only; every subscription holds a receiver.
    tx: broadcast::Sender<Item>,
    /// Highest seq published (-1 before the listener first connects). Written by the listener
    /// *before* it publishes that seq, read by new subscriptions as their starting point.
    head: AtomicI64,
    /// Latest cluster message per cluster. Written by the listener before publishing, read by
    /// new subscriptions for their initial snapshot.
    clusters: RwLock<BTreeMap<Uuid, Arc<ClusterItem>>>,
    metrics: LiveMetrics,
    /// Every WebSocket session, so that shutdown can wait for them.
    sessions: TaskTracker,
    shutdown: CancellationToken,
}

/// Handle to live fan-out. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

impl Hub {
    /// Build the hub; nothing runs until [`Hub::run`].
    pub fn new(
        store: Store,
        settings: Settings,
        codec: Arc<dyn Codec>,
        metrics: &Metrics,
        shutdown: CancellationToken,
    ) -> Hub {
        let (tx, _) = broadcast::channel(settings.queue.max(16));
        let shared = Shared {
            store,
            settings,
            codec,
            tx,
            head: AtomicI64::new(-1),
            clusters: RwLock::default(),
            metrics: LiveMetrics::register(metrics),
            sessions: TaskTracker::new(),
            shutdown,
        };
        Hub {
            shared: Arc::new(shared),
        }
    }

    /// Once `ready` says the schema is in place, follow the change log and prune it until
    /// shutdown; then wait for every session to end.
    pub async fn run(self, ready: impl Future<Output = bool>) {
        let cancel = self.shared.shutdown.clone();
        if ready.await {
            tokio::join!(
                listener::run(self.clone(), cancel.clone()),
                retention::run(self.clone(), cancel)
            );
        }
        self.shared.sessions.close();
        self.shared.sessions.wait().await;
    }

    /// Run a WebSocket session as a task that shutdown waits for.
    pub fn spawn_session(&self, session: impl Future<Output = ()> + Send + 'static) {
        self.shared.sessions.spawn(session);
    }

    /// Cancelled when the server shuts down.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shared.shutdown
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The counters.
    pub fn metrics(&self) -> &LiveMetrics {
        &self.shared.metrics
    }

    /// The wire encoder.
    pub fn codec(&self) -> &dyn Codec {
        &*self.shared.codec
    }

    /// Highest seq published, if the listener has connected once.
    pub fn head(&self) -> Option<i64> {
        Some(self.shared.head.load(Ordering::Acquire)).filter(|h| *h >= 0)
    }

    fn store(&self) -> &Store {
        &self.shared.store
    }

    fn receiver(&self) -> broadcast::Receiver<Item> {
        self.shared.tx.subscribe()
    }

    /// The latest message of every cluster that passes `filter` and is visible.
    fn cluster_snapshot(&self, filter: &Filter, visibility: &Visibility) -> Vec<(Uuid, Frame)> {
        let clusters = self
            .shared
            .clusters
            .read()
            .unwrap_or_else(|e| e.into_inner());
        clusters
            .values()
            .filter(|c| filter.matches_cluster(c.view.cluster.id, Some(&c.view.cluster.name)))
            .filter(|c| visibility.allows(&c.view.cluster.labels))
            .map(|c| (c.view.cluster.id, c.frame.clone()))
            .collect()
    }

    /// The cached message of cluster `id`, if the listener knows it.
    fn cluster(&self, id: Uuid) -> Option<Arc<ClusterItem>> {
        self.shared
            .clusters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// True when changes of cluster `id` are visible: its labels are known and match.
    fn cluster_visible(&self, id: Uuid, visibility: &Visibility) -> bool {
        match visibility {
            Visibility::All => true,
            Visibility::Scoped(_) => self
                .cluster(id)
                .is_some_and(|c| visibility.allows(&c.view.cluster.labels)),
        }
    }
}
