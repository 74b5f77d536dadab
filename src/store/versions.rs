//! Object versions (`resource_versions`): the writer's side — reading the version an upsert
//! replaces, archiving replaced and deleted versions — and their retention.
//!
//! Invariants, kept by the writer inside its batch transaction (under the log lock):
//! 1. Every upsert change records `content_hash`, the hash of the version it produced (the
//!    sanitized object without `resourceVersion`); deletes and events record none.
//! 2. A version that a retained change references can be read: the current version of a live
//!    object is its `flux_resources` row, and every version before it was archived into
//!    `resource_versions` by the batch that replaced or deleted it — unless the change that
//!    produced it (`last_seq`) was already pruned, when nothing can reference it any more.
//! 3. A version is stored once per (object, hash): archiving an existing one does nothing.
//!
//! Retention (`prune_versions`, after each pruning step of the change log) deletes the
//! versions of the pruned changes' objects that no retained change references; a cluster's
//! versions go with it (foreign key). Pruning does not take the log lock, so a version archived
//! by a batch while its producing change is being pruned can survive that step; it goes at the
//! latest when the change that archived it is pruned, since that step revisits every version of
//! the object.

use std::collections::HashMap;

use serde_json::Value;
use tokio_postgres::{Client, Row, Transaction};
use uuid::Uuid;

use super::Result;

/// The stored row of an object an upsert is about to write.
pub(super) struct Existing {
    /// Content hash of the stored version.
    pub hash: Vec<u8>,
    /// Stored health (the change's `health_before`).
    pub health: String,
    /// The stored object; read only when the new content differs (it is about to be replaced).
    pub object: Option<Value>,
    /// seq of the change that produced the stored version.
    pub last_seq: i64,
}

impl Existing {
    /// The stored version, to archive when it is replaced.
    pub fn into_version(self, resource_id: Uuid, cluster_id: Uuid) -> Option<Version> {
        Some(Version {
            resource_id,
            cluster_id,
            object: self.object?,
            hash: self.hash,
            last_seq: self.last_seq,
        })
    }
}

/// A version leaving `flux_resources` (replaced or deleted).
pub(super) struct Version {
    resource_id: Uuid,
    cluster_id: Uuid,
    hash: Vec<u8>,
    object: Value,
    last_seq: i64,
}

impl Version {
    /// From a row deleted with `RETURNING …, id, content_hash, object, last_seq`, where `id`
    /// is column `at`.
    pub fn gone(row: &Row, cluster_id: Uuid, at: usize) -> Version {
        Version {
            resource_id: row.get(at),
            cluster_id,
            hash: row.get(at + 1),
            object: row.get(at + 2),
            last_seq: row.get(at + 3),
        }
    }
}

/// The stored rows of `ids`, each with its object only when its hash differs from the new one
/// at the same position of `hashes` (an unchanged relist reads no objects).
pub(super) async fn read_existing(
    tx: &Transaction<'_>,
    ids: &[Uuid],
    hashes: &[Vec<u8>],
) -> Result<HashMap<Uuid, Existing>> {
    let rows = tx
        .query(
            "SELECT r.id, r.content_hash, r.health, \
                    CASE WHEN r.content_hash <> n.hash THEN r.object END, r.last_seq \
             FROM unnest($1::uuid[], $2::bytea[]) AS n(id, hash) JOIN flux_resources r ON r.id = n.id",
            &[&ids, &hashes],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let existing = Existing {
                hash: r.get(1),
                health: r.get(2),
                object: r.get(3),
                last_seq: r.get(4),
            };
            (r.get(0), existing)
        })
        .collect())
}

/// Archive versions leaving `flux_resources`, except those whose producing change retention
/// has already pruned (no change can reference them).
pub(super) async fn archive(tx: &Transaction<'_>, versions: Vec<Version>) -> Result<()> {
    if versions.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = versions.iter().map(|v| v.resource_id).collect();
    let hashes: Vec<&[u8]> = versions.iter().map(|v| v.hash.as_slice()).collect();
    let clusters: Vec<Uuid> = versions.iter().map(|v| v.cluster_id).collect();
    let objects: Vec<&Value> = versions.iter().map(|v| &v.object).collect();
    let seqs: Vec<i64> = versions.iter().map(|v| v.last_seq).collect();
    tx.execute(
        "INSERT INTO resource_versions (resource_id, content_hash, cluster_id, object) \
         SELECT v.id, v.hash, v.cluster, v.object \
         FROM unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::jsonb[], $5::int8[]) AS v(id, hash, cluster, object, seq) \
         WHERE v.seq > (SELECT pruned_through FROM change_log_floor) \
         ON CONFLICT DO NOTHING",
        &[&ids, &hashes, &clusters, &objects, &seqs],
    )
    .await?;
    Ok(())
}

/// Delete the versions of `resources` that no retained change references; returns how many.
pub(super) async fn prune_versions(conn: &Client, resources: &[Uuid]) -> Result<u64> {
    if resources.is_empty() {
        return Ok(0);
    }
    let deleted = conn
        .execute(
            "DELETE FROM resource_versions v WHERE v.resource_id = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM resource_changes ch \
                             WHERE ch.resource_id = v.resource_id AND ch.content_hash = v.content_hash)",
            &[&resources],
        )
        .await?;
    Ok(deleted)
}
