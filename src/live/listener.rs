//! The listener: a dedicated PostgreSQL connection that LISTENs for committed changes and
//! cluster updates, reads the change log after the last seq it published (on every NOTIFY and
//! on a short timer, as a safety net), and publishes in seq order.
//!
//! When the connection drops it reconnects with backoff and catches up from its last seq, so
//! subscribers see no gap. The catch-up reads go over the same connection, which doubles as
//! its health check: a dead connection fails the next poll within the query timeout. The
//! connection is the store's [`Listener`]; this module keeps only catch-up and publish policy.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{ChangeItem, ClusterItem, ClusterView, Hub, Item};
use crate::store::{self, ChangeRow, Channel, ClusterStatusRow, Listener, Notification, Role};

const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// Bound on every query of the listener; a hung connection is abandoned after it.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the listener lost its connection.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("the database did not answer within {QUERY_TIMEOUT:?}")]
    Timeout,
}

/// What the notifications since the last pass asked for.
#[derive(Debug, Default)]
struct Wake {
    /// Highest seq announced.
    announced: i64,
    /// Clusters whose status or registry entry changed.
    clusters: BTreeSet<Uuid>,
}

impl Wake {
    fn absorb(&mut self, notification: Notification) {
        match notification {
            Notification::Changes { seq } => self.announced = self.announced.max(seq),
            Notification::ClusterStatus(id) | Notification::Cluster(id) => {
                self.clusters.insert(id);
            }
            Notification::Sync(_) => {}
        }
    }
}

async fn bounded<T, E: Into<Error>>(f: impl Future<Output = Result<T, E>>) -> Result<T, Error> {
    tokio::time::timeout(QUERY_TIMEOUT, f)
        .await
        .map_err(|_| Error::Timeout)?
        .map_err(Into::into)
}

/// Follow the log until `cancel`, reconnecting with backoff.
pub(super) async fn run(hub: Hub, cancel: CancellationToken) {
    let mut retry = FIRST_RETRY;
    // Last seq published; survives reconnects so the catch-up starts there.
    let mut position: Option<i64> = None;
    while !cancel.is_cancelled() {
        let result = follow(&hub, &mut position, &cancel, &mut retry).await;
        hub.metrics().listener_connected.set(0);
        if cancel.is_cancelled() {
            break;
        }
        if let Err(e) = result {
            tracing::warn!(error = %e, retry_in = ?retry, "live listener lost the database; reconnecting");
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = cancel.cancelled() => break,
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

async fn follow(
    hub: &Hub,
    position: &mut Option<i64>,
    cancel: &CancellationToken,
    retry: &mut Duration,
) -> Result<(), Error> {
    let channels = [Channel::Changes, Channel::ClusterStatus, Channel::Clusters];
    let mut listener = bounded(hub.store().listen(Role::Listener, &channels)).await?;
    *retry = FIRST_RETRY;
    hub.metrics().listener_connected.set(1);
    hub.metrics().listener_connects.inc();
    reload_clusters(hub).await?;
    tracing::info!(position = ?*position, "live listener is following the change log");
    let mut wake = Wake::default();
    loop {
        catch_up(hub, &listener, position, wake.announced).await?;
        let changed = std::mem::take(&mut wake.clusters);
        if !changed.is_empty() {
            publish_clusters(hub, changed).await?;
        }
        tokio::select! {
            notification = listener.next() => wake.absorb(notification?),
            _ = tokio::time::sleep(hub.settings().poll_interval) => {}
            _ = cancel.cancelled() => return Ok(()),
        }
        // Take everything that arrived meanwhile: one pass serves them all.
        while let Some(notification) = listener.try_next() {
            wake.absorb(notification?);
        }
    }
}

/// Publish every change after `position`, page by page. The first time, start at the head.
async fn catch_up(
    hub: &Hub,
    listener: &Listener,
    position: &mut Option<i64>,
    announced: i64,
) -> Result<(), Error> {
    let Some(mut last) = *position else {
        let head = bounded(listener.log_bounds()).await?.head;
        hub.shared.head.store(head, Ordering::Release);
        hub.metrics().head_seq.set(head);
        *position = Some(head);
        return Ok(());
    };
    let page = hub.settings().page_size;
    loop {
        let rows = bounded(listener.read_changes(last, page)).await?;
        if rows.first().map(|r| r.entry.seq) != Some(last + 1)
            && bounded(listener.log_bounds()).await?.floor > last
        {
            tracing::error!(
                after = last,
                "changes were pruned before the listener could publish them; subscribers must resync"
            );
            publish(hub, Item::Reset);
        }
        // A change of a cluster the cache does not know yet (registered a moment ago, its
        // notification not handled) would be hidden from scoped subscribers, which see only
        // clusters they can place: learn those clusters first.
        let unknown: BTreeSet<Uuid> = rows
            .iter()
            .map(|r| r.entry.cluster_id)
            .filter(|id| hub.cluster(*id).is_none())
            .collect();
        if !unknown.is_empty() {
            publish_clusters(hub, unknown).await?;
        }
        let read = rows.len() as i64;
        for row in rows {
            last = row.entry.seq;
            publish_change(hub, row);
            *position = Some(last);
        }
        if read < page {
            hub.metrics().broadcast_lag.set((announced - last).max(0));
            return Ok(());
        }
    }
}

fn publish_change(hub: &Hub, row: ChangeRow) {
    let (seq, at) = (row.entry.seq, row.entry.at);
    // A kind another replica discovered: this replica's API accepts it in filters from now.
    crate::flux::learn(&row.entry.api_group, "", &row.entry.kind);
    let item = ChangeItem::new(row, hub.codec());
    // The head moves before the item is published: a subscription that reads head = N finds
    // every change above N in its receiver (see `Subscription::start`).
    hub.shared.head.store(seq, Ordering::Release);
    let metrics = hub.metrics();
    metrics.head_seq.set(seq);
    metrics.published.inc();
    publish(hub, Item::Change(Arc::new(item)));
    // Measured once the frame is handed over. `at` is the database's clock: a clock ahead of
    // ours reads as no delay rather than a negative one.
    let delay = (chrono::Utc::now() - at).max(chrono::TimeDelta::zero());
    metrics.publish_delay_ms.set(delay.num_milliseconds());
    metrics
        .change_to_frame
        .observe(delay.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
}

fn publish(hub: &Hub, item: Item) {
    // An error only means nobody is subscribed right now.
    let _ = hub.shared.tx.send(item);
}

/// Replace the cluster cache after (re)connecting and publish every entry: updates missed while
/// disconnected reach subscribers this way.
async fn reload_clusters(hub: &Hub) -> Result<(), Error> {
    let store = hub.store();
    let rows = bounded(store.list_clusters()).await?;
    let mut statuses: HashMap<Uuid, ClusterStatusRow> = bounded(store.cluster_statuses())
        .await?
        .into_iter()
        .map(|s| (s.cluster_id, s))
        .collect();
    let views: Vec<ClusterView> = rows
        .into_iter()
        .map(|cluster| ClusterView {
            status: statuses.remove(&cluster.id),
            cluster,
        })
        .collect();
    let known: Vec<Uuid> = hub
        .shared
        .clusters
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .copied()
        .collect();
    let ids = known
        .into_iter()
        .chain(views.iter().map(|v| v.cluster.id))
        .collect();
    apply_clusters(hub, ids, views);
    Ok(())
}

/// Re-read the clusters a notification named and publish them (or their removal).
async fn publish_clusters(hub: &Hub, ids: BTreeSet<Uuid>) -> Result<(), Error> {
    let store = hub.store();
    let mut views = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(cluster) = bounded(store.get_cluster(*id)).await? {
            let status = bounded(store.cluster_status(*id)).await?;
            views.push(ClusterView { cluster, status });
        }
    }
    apply_clusters(hub, ids, views);
    Ok(())
}

/// Update the cache and publish: `views` for clusters that exist, a removal for the other `ids`.
fn apply_clusters(hub: &Hub, ids: BTreeSet<Uuid>, views: Vec<ClusterView>) {
    let codec = hub.codec();
    let mut items = Vec::with_capacity(ids.len());
    {
        let mut cache = hub
            .shared
            .clusters
            .write()
            .unwrap_or_else(|e| e.into_inner());
        for id in ids
            .iter()
            .filter(|id| !views.iter().any(|v| v.cluster.id == **id))
        {
            if let Some(old) = cache.remove(id) {
                let frame = codec.cluster(&old.view, true);
                items.push(Arc::new(ClusterItem {
                    view: old.view.clone(),
                    frame,
                }));
            }
        }
        for view in views {
            let item = Arc::new(ClusterItem {
                frame: codec.cluster(&view, false),
                view,
            });
            cache.insert(item.view.cluster.id, item.clone());
            items.push(item);
        }
    }
    for item in items {
        publish(hub, Item::Cluster(item));
    }
}
