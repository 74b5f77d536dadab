//! One subscriber's view of the log: replay from the database, then live items, with no gap
//! and no duplicate at the seam.
//!
//! The seam: the broadcast receiver is taken *before* the database is read, so every change
//! committed after the read is in the receiver, and live items at or below the last replayed
//! seq are skipped. A subscriber that lags a whole ring behind right after a replay (the replay
//! took long) replays the difference from the database again; one that lags later is slow.

use std::collections::{HashSet, VecDeque};

use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::{Filter, Frame, Hub, Item, Visibility};
use crate::store;

/// How many times in a row a subscription may fall back to the database after lagging.
const MAX_CATCHUPS: u8 = 3;

/// Why a subscriber must refetch its state and subscribe again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// `since` is older than the retained log (or more than the longest replay behind).
    TooOld,
    /// The subscriber fell behind the broadcast, or stopped reading.
    Slow,
    /// `since` is ahead of the log: it comes from another database or a restored one.
    UnknownSeq,
}

impl ResyncReason {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResyncReason::TooOld => "too_old",
            ResyncReason::Slow => "slow",
            ResyncReason::UnknownSeq => "unknown_seq",
        }
    }
}

/// Why a subscription could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The subscriber must resync.
    #[error("resync: {}", .0.as_str())]
    Resync(ResyncReason),
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The next thing to send to a subscriber.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A `change` message.
    Change {
        /// Its seq.
        seq: i64,
        /// The encoded message.
        frame: Frame,
    },
    /// A `cluster` message.
    Cluster(Frame),
    /// Replay is complete; live changes follow. Everything up to `seq` has been sent.
    Subscribed {
        /// The position the subscription is at.
        seq: i64,
    },
    /// The subscription ended; the subscriber must resync.
    Resync(ResyncReason),
}

/// A subscription: filter, position, and the frames ready to send.
pub struct Subscription {
    hub: Hub,
    rx: Receiver<Item>,
    filter: Filter,
    /// The clusters the subscriber's credential may see, checked after the filter.
    visibility: Visibility,
    /// Clusters whose messages were sent; one that leaves the visibility gets a removal.
    shown: HashSet<Uuid>,
    /// Highest seq handled: sent, queued, or filtered out.
    position: i64,
    replaying: bool,
    acked: bool,
    /// No live change handled since the last replay; a lag now is the replay's fault.
    fresh: bool,
    catchups: u8,
    queue: VecDeque<Outgoing>,
}

impl Subscription {
    /// Start after `since` (replaying from the database) or, without it, at the live head.
    /// The initial status of every matching cluster comes first. Nothing of a cluster outside
    /// `visibility` is ever queued.
    pub async fn start(
        hub: &Hub,
        since: Option<i64>,
        filter: Filter,
        visibility: Visibility,
    ) -> Result<Subscription, StartError> {
        let rx = hub.receiver();
        let snapshot = hub.cluster_snapshot(&filter, &visibility);
        let shown = snapshot.iter().map(|(id, _)| *id).collect();
        let queue = snapshot
            .into_iter()
            .map(|(_, frame)| Outgoing::Cluster(frame))
            .collect();
        let (position, replaying) = match (since, hub.head()) {
            (None, Some(head)) => (head, false),
            (None, None) => (hub.store().change_log_bounds().await?.head, true),
            (Some(since), _) => {
                let bounds = hub.store().change_log_bounds().await?;
                if since > bounds.head {
                    return Err(StartError::Resync(ResyncReason::UnknownSeq));
                }
                if since < bounds.floor || bounds.head - since > hub.settings().max_replay {
                    return Err(StartError::Resync(ResyncReason::TooOld));
                }
                (since, true)
            }
        };
        let mut sub = Subscription {
            hub: hub.clone(),
            rx,
            filter,
            visibility,
            shown,
            position,
            replaying,
            acked: false,
            fresh: true,
            catchups: 0,
            queue,
        };
        if !replaying {
            sub.acked = true;
            sub.queue.push_back(Outgoing::Subscribed { seq: position });
        }
        Ok(sub)
    }

    /// Where a new subscription must start to continue this one without gap or duplicate:
    /// before the first change still queued, or after everything handled.
    pub fn resume_point(&self) -> i64 {
        self.queue
            .iter()
            .find_map(|o| match o {
                Outgoing::Change { seq, .. } => Some(seq - 1),
                _ => None,
            })
            .unwrap_or(self.position)
    }

    /// The next message for the subscriber. Cancel-safe: nothing is lost when the future is
    /// dropped before it completes. After `Resync`, drop the subscription.
    pub async fn next(&mut self) -> Result<Outgoing, store::Error> {
        loop {
            if let Some(out) = self.queue.pop_front() {
                return Ok(out);
            }
            if self.replaying {
                self.replay_page().await?;
                continue;
            }
            match self.rx.recv().await {
                Ok(item) => {
                    if let Some(out) = self.accept(item) {
                        return Ok(out);
                    }
                }
                Err(RecvError::Lagged(_)) if self.fresh && self.catchups < MAX_CATCHUPS => {
                    self.catchups += 1;
                    self.rx = self.hub.receiver();
                    self.replaying = true;
                }
                Err(RecvError::Lagged(_)) => return Ok(Outgoing::Resync(ResyncReason::Slow)),
                // The hub is gone: the server is shutting down; nothing more will come.
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// Read one page after `position`, queue the matching changes, and finish the replay when
    /// the page is short.
    async fn replay_page(&mut self) -> Result<(), store::Error> {
        let store = self.hub.store();
        let page_size = self.hub.settings().page_size;
        let rows = store.changes_after(self.position, page_size).await?;
        // A hole right after `position` is either a rolled-back seq or pruned changes.
        if rows.first().map(|r| r.entry.seq) != Some(self.position + 1) {
            let bounds = store.change_log_bounds().await?;
            if bounds.floor > self.position {
                self.queue.push_back(Outgoing::Resync(ResyncReason::TooOld));
                return Ok(());
            }
        }
        for row in &rows {
            self.position = row.entry.seq;
            if self.filter.matches(&row.entry, row.health_now())
                && self
                    .hub
                    .cluster_visible(row.entry.cluster_id, &self.visibility)
            {
                let frame = self.hub.codec().change(row);
                self.queue.push_back(Outgoing::Change {
                    seq: row.entry.seq,
                    frame,
                });
                self.hub.metrics().replayed.inc();
            }
        }
        if (rows.len() as i64) < page_size {
            self.replaying = false;
            self.fresh = true;
            if !self.acked {
                self.acked = true;
                self.queue
                    .push_back(Outgoing::Subscribed { seq: self.position });
            }
        }
        Ok(())
    }

    fn accept(&mut self, item: Item) -> Option<Outgoing> {
        match item {
            Item::Change(change) => {
                if change.seq() <= self.position {
                    return None;
                }
                self.position = change.seq();
                self.fresh = false;
                self.catchups = 0;
                let frame = change.frame.clone();
                (self.filter.matches(&change.entry, change.health_now)
                    && self
                        .hub
                        .cluster_visible(change.entry.cluster_id, &self.visibility))
                .then_some(Outgoing::Change {
                    seq: change.seq(),
                    frame,
                })
            }
            Item::Cluster(c) => {
                let id = c.view.cluster.id;
                if !self.filter.matches_cluster(id, Some(&c.view.cluster.name)) {
                    return None;
                }
                if self.visibility.allows(&c.view.cluster.labels) {
                    self.shown.insert(id);
                    return Some(Outgoing::Cluster(c.frame.clone()));
                }
                // Relabelled out of the scope: the subscriber is told it is gone, once.
                self.shown
                    .remove(&id)
                    .then(|| Outgoing::Cluster(self.hub.codec().cluster(&c.view, true)))
            }
            Item::Reset => Some(Outgoing::Resync(ResyncReason::TooOld)),
        }
    }
}
