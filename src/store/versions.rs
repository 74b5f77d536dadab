//! Object versions (`resource_versions`): the writer's side — reading the version an upsert
//! replaces, storing the version it produces — and their retention.
//!
//! A version is a sanitized object without `metadata.resourceVersion` (what the content hash
//! covers), stored once per (object, hash). Invariants:
//! 1. The object of every stored resource is its current version here (`flux_resources` keeps
//!    no copy): the writer stores the version in the batch that makes it current, and retention
//!    never deletes a current version.
//! 2. Every upsert change records `content_hash`, the version it produced; deletes and events
//!    record none. A version stays while a retained change references it.
//! 3. Storing a version that exists does nothing: a change costs one object write, as it did
//!    when `flux_resources` held the object, and an unchanged relist writes and reads none.
//!
//! Retention (`prune_versions`, after each pruning step of the change log) deletes the versions
//! of the pruned changes' objects that no retained change references and that are not current;
//! a version left unreferenced without a prune of its object (an object's first version, once
//! replaced) goes when a later change of the object is pruned. A cluster's versions go with it
//! (foreign key). Retention takes the log lock: otherwise a batch making an old version current
//! again (an object flipping back) could find it present, store nothing, and commit while the
//! pruning statement, reading from before that commit, deletes it.

use std::collections::HashMap;

use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::Result;
use super::resources::LOG_LOCK;
use crate::flux::Health;

/// The stored row of an object an upsert is about to write.
pub(super) struct Existing {
    /// Content hash of the stored version.
    pub hash: Vec<u8>,
    /// Stored health (the change's `health_before`).
    pub health: Health,
    /// A workload's stored owner (its roll-up must be recomputed when the owner changes).
    pub owner: Option<Uuid>,
    /// The stored version's object; read only when the new content differs (for the change's
    /// summary).
    pub object: Option<Value>,
}

/// A version an upsert produces.
pub(super) struct NewVersion<'a> {
    /// The object.
    pub resource_id: Uuid,
    /// Its cluster.
    pub cluster_id: Uuid,
    /// Content hash of `object`.
    pub hash: &'a [u8],
    /// The snapshot's object (sanitized, without `resourceVersion`).
    pub object: &'a Value,
}

/// The stored rows of `ids`, each with its current version's object only when its hash differs
/// from the new one at the same position of `hashes` (an unchanged relist reads no objects).
pub(super) async fn read_existing(
    tx: &Transaction<'_>,
    ids: &[Uuid],
    hashes: &[Vec<u8>],
) -> Result<HashMap<Uuid, Existing>> {
    let rows = tx
        .query(
            // One index lookup per id (the LIMIT keeps the planner from turning this into a
            // hash join over the whole table, which cost 3x on an unchanged relist of 10,000
            // objects and grew with the table's dead rows).
            "SELECT n.id, r.content_hash, r.health, r.owner_id, \
                    CASE WHEN r.content_hash <> n.hash THEN \
                        (SELECT object FROM resource_versions v \
                         WHERE v.resource_id = n.id AND v.content_hash = r.content_hash) END \
             FROM unnest($1::uuid[], $2::bytea[]) AS n(id, hash) \
             CROSS JOIN LATERAL (SELECT content_hash, health, owner_id FROM flux_resources \
                                 WHERE id = n.id LIMIT 1) r",
            &[&ids, &hashes],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let existing = Existing {
                hash: r.get(1),
                health: r.get(2),
                owner: r.get(3),
                object: r.get(4),
            };
            (r.get(0), existing)
        })
        .collect())
}

/// Store the versions upserts produce (known ones are left as they are).
pub(super) async fn store_versions(
    tx: &Transaction<'_>,
    versions: &[NewVersion<'_>],
) -> Result<()> {
    if versions.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = versions.iter().map(|v| v.resource_id).collect();
    let clusters: Vec<Uuid> = versions.iter().map(|v| v.cluster_id).collect();
    let hashes: Vec<&[u8]> = versions.iter().map(|v| v.hash).collect();
    let objects: Vec<&Value> = versions.iter().map(|v| v.object).collect();
    tx.execute(
        "INSERT INTO resource_versions (resource_id, content_hash, cluster_id, object) \
         SELECT id, hash, cluster, object \
         FROM unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::jsonb[]) AS v(id, hash, cluster, object) \
         ON CONFLICT DO NOTHING",
        &[&ids, &hashes, &clusters, &objects],
    )
    .await?;
    Ok(())
}

/// Delete the versions of `resources` that no retained change references and that are no
/// object's current version; returns how many.
pub(super) async fn prune_versions(
    conn: &mut deadpool_postgres::Object,
    resources: &[Uuid],
) -> Result<u64> {
    if resources.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
        .await?;
    let deleted = tx
        .execute(
            "DELETE FROM resource_versions v WHERE v.resource_id = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM resource_changes ch \
                             WHERE ch.resource_id = v.resource_id AND ch.content_hash = v.content_hash) \
             AND NOT EXISTS (SELECT 1 FROM flux_resources r \
                             WHERE r.id = v.resource_id AND r.content_hash = v.content_hash)",
            &[&resources],
        )
        .await?;
    tx.commit().await?;
    Ok(deleted)
}
