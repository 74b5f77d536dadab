//! Reading the change log for live fan-out and replay, the log's bounds, and its retention.
//!
//! Retention deletes a *prefix* of the log (every seq up to a cut) and records the cut in
//! `change_log_floor` in the same statement, so a reader can tell pruned history (replay
//! impossible) from seq values that were never committed (rolled-back transactions).

use std::time::Duration;

use tokio_postgres::{Client, Row};
use uuid::Uuid;

use super::queries::ChangeEntry;
use super::resources::{RESOURCE_COLUMNS, ResourceRow};
use super::versions::prune_versions;
use super::{Result, Store};

/// One entry of `resource_changes`, with the object as it is stored now (if it still exists).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// The log entry, as the history API reads it.
    pub entry: ChangeEntry,
    /// The object's current row: it may reflect later changes (`last_seq > seq`), and is `None`
    /// when the object no longer exists.
    pub resource: Option<ResourceRow>,
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

const CHANGE_COLUMNS: &str = "ch.seq, ch.at, ch.cluster_id, c.name, ch.resource_id, ch.api_group, ch.kind, \
     ch.namespace, ch.name, ch.op, ch.health_before, ch.health_after, ch.revision, ch.reason, ch.message, \
     ch.content_hash, ch.summary";

fn change_from_row(row: &Row) -> ChangeRow {
    // RESOURCE_COLUMNS come first (25 of them); `r.id` is NULL when the object is gone.
    let resource = row
        .get::<_, Option<Uuid>>(0)
        .map(|_| ResourceRow::from_row(row));
    let at = 25;
    let entry = ChangeEntry {
        seq: row.get(at),
        at: row.get(at + 1),
        cluster_id: row.get(at + 2),
        cluster_name: row.get(at + 3),
        resource_id: row.get(at + 4),
        api_group: row.get(at + 5),
        kind: row.get(at + 6),
        namespace: row.get(at + 7),
        name: row.get(at + 8),
        op: row.get(at + 9),
        health_before: row.get(at + 10),
        health_after: row.get(at + 11),
        revision: row.get(at + 12),
        reason: row.get(at + 13),
        message: row.get(at + 14),
        version: row.get(at + 15),
        summary: row.get(at + 16),
    };
    ChangeRow { entry, resource }
}

/// Up to `limit` changes with `seq > after`, in seq order, on `client` (pooled or dedicated).
pub async fn read_changes(client: &Client, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
    let sql = format!(
        "SELECT {RESOURCE_COLUMNS}, {CHANGE_COLUMNS} FROM resource_changes ch \
         LEFT JOIN clusters c ON c.id = ch.cluster_id LEFT JOIN flux_resources r ON r.id = ch.resource_id \
         WHERE ch.seq > $1 ORDER BY ch.seq LIMIT $2"
    );
    let rows = client.query(&sql, &[&after, &limit]).await?;
    Ok(rows.iter().map(change_from_row).collect())
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
