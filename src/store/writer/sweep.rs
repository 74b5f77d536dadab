//! Removing objects: delete events (by id) and sweeps (every stored object of a kind — of a
//! workload watch's label family — that a relist did not see). Each removal is logged as a `delete` change with the health the object
//! last had; an object already gone logs nothing.

use std::collections::{HashMap, HashSet};

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::changelog::{self, Change};
use super::rollup::Pending;
use crate::flux::Health;
use crate::store::Result;
use crate::store::resources::{BatchOutcome, ResourceKey};

/// The kind a sweep covers, in one cluster.
pub(super) struct Kind<'a> {
    pub cluster_id: Uuid,
    pub api_group: &'a str,
    pub kind: &'a str,
    /// Only objects with this label (a workload watch's owner family).
    pub label: Option<&'static str>,
}

/// Delete the stored objects of `kind` not in `seen` (namespace, name); returns how many.
pub(super) async fn sweep(
    tx: &Transaction<'_>,
    kind: &Kind<'_>,
    seen: &HashSet<(String, String)>,
    out: &mut BatchOutcome,
    rollup: &mut Pending,
) -> Result<usize> {
    let (namespaces, names): (Vec<&str>, Vec<&str>) =
        seen.iter().map(|(ns, n)| (ns.as_str(), n.as_str())).unzip();
    let rows = tx
        .query(
            "DELETE FROM flux_resources WHERE cluster_id = $1 AND api_group = $2 AND kind = $3 \
             AND ($6::text IS NULL OR labels ? $6) \
             AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[]) AS s(ns, n) \
                             WHERE s.ns = namespace AND s.n = name) \
             RETURNING namespace, name, health, owner_id",
            &[
                &kind.cluster_id,
                &kind.api_group,
                &kind.kind,
                &namespaces,
                &names,
                &kind.label,
            ],
        )
        .await?;
    let gone: Vec<(ResourceKey, Health)> = rows
        .iter()
        .map(|r| {
            rollup.removed(r.get(3));
            let key = ResourceKey {
                cluster_id: kind.cluster_id,
                api_group: kind.api_group.to_string(),
                kind: kind.kind.to_string(),
                namespace: r.get(0),
                name: r.get(1),
            };
            (key, r.get(2))
        })
        .collect();
    log_deletes(tx, &gone, out).await?;
    out.swept += gone.len();
    Ok(gone.len())
}

/// Delete the objects of `keys` that are stored.
pub(super) async fn delete(
    tx: &Transaction<'_>,
    keys: Vec<&ResourceKey>,
    out: &mut BatchOutcome,
    rollup: &mut Pending,
) -> Result<()> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.id()).collect();
    let rows = tx
        .query(
            "DELETE FROM flux_resources WHERE id = ANY($1) RETURNING id, health, owner_id",
            &[&ids],
        )
        .await?;
    for row in &rows {
        rollup.removed(row.get(2));
    }
    let health: HashMap<Uuid, Health> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let gone: Vec<(ResourceKey, Health)> = keys
        .into_iter()
        .filter_map(|k| health.get(&k.id()).map(|h| (k.clone(), *h)))
        .collect();
    log_deletes(tx, &gone, out).await
}

async fn log_deletes(
    tx: &Transaction<'_>,
    gone: &[(ResourceKey, Health)],
    out: &mut BatchOutcome,
) -> Result<()> {
    let changes: Vec<Change> = gone
        .iter()
        .map(|(key, health)| Change::delete(key, *health))
        .collect();
    changelog::insert(tx, &changes, out).await?;
    out.deleted += gone.len();
    Ok(())
}
