//! The change log (`resource_changes`): its entry type, reading it for live fan-out and replay,
//! the log's bounds, and its retention.
//!
//! Retention deletes a *prefix* of the log (every seq up to a cut) and records the cut in
//! `change_log_floor` in the same statement, so a reader can tell pruned history (replay
//! impossible) from seq values that were never committed (rolled-back transactions).
//!
//! # One change, its types
//!
//! A change has one type per meaning, each a plain mapping of the one before:
//!
//! | type | what it is | written / read by |
//! |------|------------|-------------------|
//! | the writer's `Change` (`store::writer`) | a change about to be logged: borrows the batch's keys | the writer only |
//! | [`ChangeEntry`] | a logged change, as stored: typed op, health and event type | history lists, the stream, the live filter |
//! | [`ChangeRow`] | a logged change with its object as stored now | the stream (replay and live) |
//! | `live::ChangeItem` | a published change: the entry, the object's health now, the encoded frame | the broadcast ring, every subscriber's filter |
//! | `api::model::Change` | the wire form of a [`ChangeEntry`] (`GET /changes`, history, detail) | API clients |
//! | `api::stream::messages::ChangeMessage` | the wire form of a [`ChangeRow`] (`{"type":"change"}`) | stream clients |

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, Row};
use uuid::Uuid;

use super::resources::{RESOURCE_COLUMN_COUNT, RESOURCE_COLUMNS, ResourceRow};
use super::types::column;
use super::versions::prune_versions;
use super::{Result, Store};
use crate::flux::{ChangeOp, EventType, Health};

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEntry {
    /// Position in the log (commit order).
    pub seq: i64,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// Cluster.
    pub cluster_id: Uuid,
    /// Cluster name; `None` once the cluster is deleted.
    pub cluster_name: Option<String>,
    /// Resource id.
    pub resource_id: Uuid,
    /// API group.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// What happened.
    pub op: ChangeOp,
    /// Health before (`None` for a new object and for events).
    pub health_before: Option<Health>,
    /// Health after (`None` for deletes and events).
    pub health_after: Option<Health>,
    /// The recorded event's type (only for [`ChangeOp::Event`]).
    pub event_type: Option<EventType>,
    /// Revision.
    pub revision: Option<String>,
    /// Reason.
    pub reason: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Content hash of the object version an upsert produced (see `store::versions`); `None`
    /// for deletes, events and changes logged before versions were kept.
    pub version: Option<Vec<u8>>,
    /// What changed from the version before (`flux::change_summary`); `None` for a first
    /// sight, deletes, events and changes logged before summaries were kept.
    pub summary: Option<String>,
}

/// Columns for [`ChangeEntry::from_row_at`], with `h` aliasing `resource_changes` and `c`
/// `clusters` (LEFT JOINed: the log outlives a cluster).
pub const CHANGE_COLUMNS: &str = "h.seq, h.at, h.cluster_id, c.name, h.resource_id, h.api_group, h.kind, \
     h.namespace, h.name, h.op, h.health_before, h.health_after, h.revision, h.reason, h.message, \
     h.content_hash, h.summary";

impl ChangeEntry {
    /// Map a row selected with [`CHANGE_COLUMNS`] starting at column `at`.
    pub fn from_row_at(r: &Row, at: usize) -> Result<ChangeEntry> {
        let op: ChangeOp = column(r, at + 9)?;
        // An event's `health_after` column holds the event's type.
        let (health_after, event_type) = match op {
            ChangeOp::Event => (None, column(r, at + 11)?),
            ChangeOp::Upsert | ChangeOp::Delete => (column(r, at + 11)?, None),
        };
        Ok(ChangeEntry {
            seq: r.get(at),
            at: r.get(at + 1),
            cluster_id: r.get(at + 2),
            cluster_name: r.get(at + 3),
            resource_id: r.get(at + 4),
            api_group: r.get(at + 5),
            kind: r.get(at + 6),
            namespace: r.get(at + 7),
            name: r.get(at + 8),
            op,
            health_before: column(r, at + 10)?,
            health_after,
            event_type,
            revision: r.get(at + 12),
            reason: r.get(at + 13),
            message: r.get(at + 14),
            version: r.get(at + 15),
            summary: r.get(at + 16),
        })
    }

    /// The health values a subscriber's health filter looks at: before and after the change;
    /// for an event, the object's health `now` (its own columns hold none).
    pub fn health_seen(&self, now: Option<Health>) -> [Option<Health>; 2] {
        match self.op {
            ChangeOp::Event => [now, None],
            ChangeOp::Upsert | ChangeOp::Delete => [self.health_before, self.health_after],
        }
    }
}

/// One entry of `resource_changes`, with the object as it is stored now (if it still exists).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// The log entry, as the history API reads it.
    pub entry: ChangeEntry,
    /// The object's current row: it may reflect later changes (`last_seq > seq`), and is `None`
    /// when the object no longer exists.
    pub resource: Option<ResourceRow>,
}

impl ChangeRow {
    /// The object's health now, if it still exists.
    pub fn health_now(&self) -> Option<Health> {
        self.resource.as_ref().map(|r| r.health)
    }
}

/// What one retention run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Change-log entries.
    pub changes: u64,
    /// Object versions no retained change referenced any more.
    pub versions: u64,
}

/// What part of the log can be replayed: changes with `floor < seq <= head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    /// Highest seq retention has removed (0 when nothing was ever pruned).
    pub floor: i64,
    /// Highest committed seq.
    pub head: i64,
}

fn change_from_row(row: &Row) -> Result<ChangeRow> {
    // RESOURCE_COLUMNS come first; `r.id` is NULL when the object is gone.
    let resource = row
        .get::<_, Option<Uuid>>(0)
        .map(|_| ResourceRow::from_row(row))
        .transpose()?;
    let entry = ChangeEntry::from_row_at(row, RESOURCE_COLUMN_COUNT)?;
    Ok(ChangeRow { entry, resource })
}

/// Up to `limit` changes with `seq > after`, in seq order, on `client` (pooled or dedicated).
pub async fn read_changes(client: &Client, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
    let sql = format!(
        "SELECT {RESOURCE_COLUMNS}, {CHANGE_COLUMNS} FROM resource_changes h \
         LEFT JOIN clusters c ON c.id = h.cluster_id LEFT JOIN flux_resources r ON r.id = h.resource_id \
         WHERE h.seq > $1 ORDER BY h.seq LIMIT $2"
    );
    let rows = client.query(&sql, &[&after, &limit]).await?;
    rows.iter().map(change_from_row).collect()
}

/// The replayable range of the log: `floor` from `change_log_floor`, `head` the highest seq
/// committed (or pruned, when retention emptied the table).
pub async fn log_bounds(client: &Client) -> Result<LogBounds> {
    let row = client
        .query_one(
            "SELECT f.pruned_through, GREATEST((SELECT max(seq) FROM resource_changes), f.pruned_through) \
             FROM change_log_floor f",
            &[],
        )
        .await?;
    Ok(LogBounds {
        floor: row.get(0),
        head: row.get(1),
    })
}

impl Store {
    /// [`read_changes`] on a connection of the API pool: stream subscribers replay through it,
    /// so a crowd of reconnecting browsers cannot take the writer's connections.
    pub async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
        let conn = self.api_conn().await?;
        read_changes(&conn, after, limit).await
    }

    /// [`log_bounds`] on a connection of the API pool (for stream subscribers).
    pub async fn change_log_bounds(&self) -> Result<LogBounds> {
        let conn = self.api_conn().await?;
        log_bounds(&conn).await
    }

    /// Delete the oldest changes beyond `max_age` or beyond the newest `max_count`, `batch` rows
    /// per statement so that no statement holds locks for long, and raise the floor with them;
    /// after each step, delete the versions of those changes' objects that no retained change
    /// references any more (see `versions`). Returns how many changes and versions were deleted.
    pub async fn prune_changes(
        &self,
        max_age: Duration,
        max_count: i64,
        batch: i64,
    ) -> Result<Pruned> {
        let mut conn = self.conn().await?;
        let (secs, batch) = (max_age.as_secs_f64(), batch.max(1));
        let mut total = Pruned::default();
        loop {
            let row = conn
                .query_one(
                    "WITH cut AS (SELECT GREATEST( \
                         (SELECT max(seq) FROM resource_changes WHERE at < now() - make_interval(secs => $1)), \
                         (SELECT seq FROM resource_changes ORDER BY seq DESC OFFSET $2 LIMIT 1)) AS seq), \
                     lo AS (SELECT min(seq) AS seq FROM resource_changes), \
                     gone AS (DELETE FROM resource_changes WHERE seq <= (SELECT seq FROM cut) \
                              AND seq < (SELECT seq FROM lo) + $3 RETURNING seq, resource_id), \
                     floor AS (UPDATE change_log_floor SET pruned_through = \
                               GREATEST(pruned_through, (SELECT max(seq) FROM gone)) \
                               WHERE EXISTS (SELECT 1 FROM gone)) \
                     SELECT count(*), COALESCE(array_agg(DISTINCT resource_id), '{}') FROM gone",
                    &[&secs, &max_count.max(0), &batch],
                )
                .await?;
            let deleted = row.get::<_, i64>(0) as u64;
            let resources: Vec<Uuid> = row.get(1);
            total.changes += deleted;
            total.versions += prune_versions(&mut conn, &resources).await?;
            if deleted < batch as u64 {
                return Ok(total);
            }
        }
    }
}
