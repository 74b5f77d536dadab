//! Edges between objects (`resource_edges`) and where sources fetch from
//! (`source_identities`): the writer's side, and the one-time backfill of objects stored before
//! the edges existed.
//!
//! The protocol, as invariants:
//! 1. **Edges follow the object, in its transaction.** The edges of an object are exactly
//!    `flux::edges` of its current version: the writer rewrites them in the batch that stores a
//!    new version, and only then (an unchanged object — a hash-skipped upsert — writes none).
//!    Rewriting deletes the edges the new version no longer declares and inserts the others with
//!    `ON CONFLICT DO NOTHING`, so a status-only change of a Kustomization with a large
//!    inventory writes no edge rows.
//! 2. **An edge is kept by its declaring object only.** It references the declaring row
//!    (`resource_id`, foreign key with `ON DELETE CASCADE`: a deleted object or cluster takes
//!    its edges along) and names its other end by key; `target_id` is `store::resource_id` of
//!    that key, equal to the target's `flux_resources.id` once it is stored, so an edge to an
//!    object not yet seen (or deleted) stays and resolves when the object appears.
//! 3. **The backfill runs under the log lock.** Objects stored before migration 0011 are listed
//!    in `resource_edges_backfill`; start-up takes them in chunks, each in one transaction under
//!    `LOG_LOCK` (so no batch of the writer interleaves), computing their edges from the
//!    current version. Replicas starting together share the list: a chunk is claimed by
//!    deleting it.

use std::collections::HashSet;

use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::resources::{LOG_LOCK, resource_id};
use super::{Result, Store};
use crate::flux;

/// An object whose edges to write: its id, cluster and current version's object.
pub(crate) struct Declaring<'a> {
    /// The object's id.
    pub id: Uuid,
    /// Its cluster.
    pub cluster_id: Uuid,
    /// Its current version (sanitized).
    pub object: &'a Value,
}

/// The edge rows to write, one column per vector.
#[derive(Default)]
struct EdgeRows {
    ids: Vec<Uuid>,
    targets: Vec<Uuid>,
    types: Vec<&'static str>,
    outgoing: Vec<bool>,
    groups: Vec<String>,
    kinds: Vec<String>,
    namespaces: Vec<String>,
    names: Vec<String>,
}

impl EdgeRows {
    fn push(&mut self, d: &Declaring<'_>, edge: flux::Edge) {
        let outgoing = edge.outgoing();
        let t = edge.target;
        self.ids.push(d.id);
        self.targets.push(resource_id(
            d.cluster_id,
            &t.group,
            &t.kind,
            &t.namespace,
            &t.name,
        ));
        self.types.push(edge.edge_type.as_str());
        self.outgoing.push(outgoing);
        self.groups.push(t.group);
        self.kinds.push(t.kind);
        self.namespaces.push(t.namespace);
        self.names.push(t.name);
    }
}

/// Make the edges and source identity of each of `objects` those of its current version.
pub(crate) async fn write(tx: &Transaction<'_>, objects: &[Declaring<'_>]) -> Result<()> {
    if objects.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = objects.iter().map(|d| d.id).collect();
    let mut rows = EdgeRows::default();
    for d in objects {
        for edge in flux::edges(d.object) {
            rows.push(d, edge);
        }
    }
    tx.execute(
        "DELETE FROM resource_edges e WHERE e.resource_id = ANY($1) AND NOT EXISTS ( \
             SELECT 1 FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS n(r, t, ty) \
             WHERE n.r = e.resource_id AND n.t = e.target_id AND n.ty = e.type)",
        &[&ids, &rows.ids, &rows.targets, &rows.types],
    )
    .await?;
    if !rows.ids.is_empty() {
        tx.execute(
            "INSERT INTO resource_edges (resource_id, target_id, type, outgoing, target_group, \
                 target_kind, target_namespace, target_name) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bool[], $5::text[], \
                 $6::text[], $7::text[], $8::text[]) \
             ON CONFLICT DO NOTHING",
            &[
                &rows.ids,
                &rows.targets,
                &rows.types,
                &rows.outgoing,
                &rows.groups,
                &rows.kinds,
                &rows.namespaces,
                &rows.names,
            ],
        )
        .await?;
    }
    write_identities(tx, objects, &ids).await
}

/// Store each source's `flux::source_identity`; remove it from objects that have none.
async fn write_identities(
    tx: &Transaction<'_>,
    objects: &[Declaring<'_>],
    ids: &[Uuid],
) -> Result<()> {
    let (with, identities): (Vec<Uuid>, Vec<String>) = objects
        .iter()
        .filter_map(|d| flux::source_identity(d.object).map(|i| (d.id, i)))
        .unzip();
    let with_set: HashSet<Uuid> = with.iter().copied().collect();
    let without: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| !with_set.contains(id))
        .collect();
    if !without.is_empty() {
        tx.execute(
            "DELETE FROM source_identities WHERE resource_id = ANY($1)",
            &[&without],
        )
        .await?;
    }
    if !with.is_empty() {
        tx.execute(
            "INSERT INTO source_identities (resource_id, identity) \
             SELECT * FROM unnest($1::uuid[], $2::text[]) \
             ON CONFLICT (resource_id) DO UPDATE SET identity = EXCLUDED.identity \
             WHERE source_identities.identity <> EXCLUDED.identity",
            &[&with, &identities],
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// Write the edges of up to `chunk` objects still waiting for the backfill; returns how
    /// many were taken from the list (0: the backfill is done).
    pub async fn backfill_edges(&self, chunk: i64) -> Result<usize> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
            .await?;
        let taken: Vec<Uuid> = tx
            .query(
                "DELETE FROM resource_edges_backfill WHERE resource_id IN \
                 (SELECT resource_id FROM resource_edges_backfill LIMIT $1) RETURNING resource_id",
                &[&chunk],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let rows = tx
            .query(
                "SELECT r.id, r.cluster_id, v.object FROM flux_resources r \
                 JOIN resource_versions v ON v.resource_id = r.id AND v.content_hash = r.content_hash \
                 WHERE r.id = ANY($1)",
                &[&taken],
            )
            .await?;
        let objects: Vec<(Uuid, Uuid, Value)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let declaring: Vec<Declaring> = objects
            .iter()
            .map(|(id, cluster_id, object)| Declaring {
                id: *id,
                cluster_id: *cluster_id,
                object,
            })
            .collect();
        write(&tx, &declaring).await?;
        tx.commit().await?;
        Ok(taken.len())
    }
}
