//! Reading object versions: the changes that produced a version of one object (newest first),
//! one version by the seq of the change that produced it, and the object of a version
//! (`store::versions`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::cursor::{Cursor, CursorError, KeyType, KeyValue};
use super::list::Page;
use crate::flux::{ChangeOp, Health};
use crate::store::types::column;
use crate::store::{Result, Store};

/// A version of an object, named by the change that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    /// seq of the change that produced it.
    pub seq: i64,
    /// When that change was committed.
    pub at: DateTime<Utc>,
    /// Cluster of the object (for scope checks).
    pub cluster_id: Uuid,
    /// Content hash: the version's identity within the object.
    pub hash: Vec<u8>,
    /// What changed from the version before (`flux::change_summary`), if recorded.
    pub summary: Option<String>,
    /// Health after the change.
    pub health: Option<Health>,
    /// The change created the object (or was its first sight): no version before it.
    pub created: bool,
}

impl VersionRef {
    /// Map a row selected with [`COLUMNS`] (only upserts have a content hash, so `health_after`
    /// is a health, never an event's type).
    fn from_row(r: &Row) -> Result<VersionRef> {
        Ok(VersionRef {
            seq: r.get(0),
            at: r.get(1),
            cluster_id: r.get(2),
            hash: r.get(3),
            summary: r.get(4),
            health: column(r, 5)?,
            created: r.get(6),
        })
    }
}

const COLUMNS: &str =
    "seq, at, cluster_id, content_hash, summary, health_after, health_before IS NULL";

/// What a seq names, for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionAt {
    /// The change at that seq produced this version of the object.
    Found(VersionRef),
    /// Retention has pruned the change log up to and beyond that seq.
    Pruned,
    /// The change at that seq produced a version of the object, but it was logged before
    /// versions were kept.
    NotRecorded,
    /// No change at that seq produced a version of the object (another object's change, a
    /// delete, an event, or no change at all).
    NotAVersion,
}

const VERSION_SORT: &str = "-version";
const VERSION_KEYS: [KeyType; 1] = [KeyType::Int];

/// Read a `continue` token of a version list.
pub fn decode_version_cursor(token: &str) -> Result<Cursor, CursorError> {
    Cursor::decode(token, VERSION_SORT, &VERSION_KEYS)
}

impl Store {
    /// Up to `limit` versions of object `id`, newest first, after `after`.
    pub async fn list_versions(
        &self,
        id: Uuid,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<VersionRef>> {
        let conn = self.read_conn().await?;
        let before = match after.and_then(|c| c.keys.first()) {
            Some(KeyValue::Int(seq)) => *seq,
            _ => i64::MAX,
        };
        let rows = conn
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM resource_changes WHERE resource_id = $1 AND seq < $2 \
                     AND content_hash IS NOT NULL ORDER BY seq DESC LIMIT $3"
                ),
                &[&id, &before, &(limit as i64 + 1)],
            )
            .await?;
        let rows = rows
            .iter()
            .map(VersionRef::from_row)
            .collect::<Result<Vec<_>>>()?;
        let cursor = |v: &VersionRef| Cursor {
            sort: VERSION_SORT.into(),
            keys: vec![KeyValue::Int(v.seq)],
        };
        Ok(Page::from_rows(rows, limit, cursor))
    }

    /// The version of object `id` that the change at `seq` produced.
    pub async fn version_at(&self, id: Uuid, seq: i64) -> Result<VersionAt> {
        let conn = self.read_conn().await?;
        let row = conn
            .query_one(
                "SELECT ch.seq, ch.at, ch.cluster_id, ch.content_hash, ch.summary, ch.health_after, \
                        ch.health_before IS NULL, ch.op, f.pruned_through \
                 FROM change_log_floor f \
                 LEFT JOIN resource_changes ch ON ch.seq = $2 AND ch.resource_id = $1",
                &[&id, &seq],
            )
            .await?;
        let (logged, hash, op, floor): (Option<i64>, Option<Vec<u8>>, Option<ChangeOp>, i64) =
            (row.get(0), row.get(3), column(&row, 7)?, row.get(8));
        Ok(match (logged, hash, op) {
            (Some(_), Some(_), _) => VersionAt::Found(VersionRef::from_row(&row)?),
            (Some(_), None, Some(ChangeOp::Upsert)) => VersionAt::NotRecorded,
            (None, ..) if seq <= floor => VersionAt::Pruned,
            _ => VersionAt::NotAVersion,
        })
    }

    /// The newest retained version of object `id` produced before `seq`.
    pub async fn version_before(&self, id: Uuid, seq: i64) -> Result<Option<VersionRef>> {
        let conn = self.read_conn().await?;
        let row = conn
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM resource_changes WHERE resource_id = $1 AND seq < $2 \
                     AND content_hash IS NOT NULL ORDER BY seq DESC LIMIT 1"
                ),
                &[&id, &seq],
            )
            .await?;
        row.as_ref().map(VersionRef::from_row).transpose()
    }

    /// The object of version `hash` of object `id` (without `metadata.resourceVersion`), or
    /// `None` when it is no longer kept (its cluster was deleted).
    pub async fn version_object(&self, id: Uuid, hash: &[u8]) -> Result<Option<Value>> {
        let conn = self.read_conn().await?;
        let row = conn
            .query_opt(
                "SELECT object FROM resource_versions WHERE resource_id = $1 AND content_hash = $2",
                &[&id, &hash],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}
