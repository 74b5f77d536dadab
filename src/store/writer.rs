//! The batched write path: one transaction per batch, under the log lock (see `resources`).
//!
//! Versions (see `versions`): an upsert that changes a stored object reads the stored version
//! (only then: an unchanged relist reads no objects), records in its change the hash of the
//! version it produces and a summary of what changed, and stores the new version in
//! `resource_versions` (where the object lives; `flux_resources` keeps no copy), in the same
//! transaction.

use std::collections::HashMap;

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::resources::{
    BatchOutcome, CHANGES_CHANNEL, LOG_LOCK, ResourceKey, WriteOp, coalesce, content_hash,
};
use super::versions::{Existing, NewVersion, read_existing, store_versions};
use super::{Result, Store};
use crate::flux::{self, FluxEvent, ResourceSnapshot};

/// A change-log entry about to be inserted.
struct Change<'a> {
    key: &'a ResourceKey,
    op: &'static str,
    before: Option<String>,
    after: Option<String>,
    revision: Option<&'a str>,
    reason: Option<&'a str>,
    message: Option<&'a str>,
    /// Content hash of the version an upsert produced.
    version: Option<&'a [u8]>,
    /// What changed from the version before (upserts of stored objects).
    summary: Option<String>,
}

impl Store {
    /// Apply `ops` in one transaction: coalesced per object, in order, writing only real changes.
    /// Takes a slice so that a caller can retry the same batch after a failure.
    pub async fn write_batch(&self, ops: &[WriteOp]) -> Result<BatchOutcome> {
        let ops = coalesce(ops);
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
            .await?;
        let mut out = BatchOutcome::default();
        // Ops of clusters deleted meanwhile are dropped; the rest are kept from deletion until commit.
        let mut clusters: Vec<Uuid> = ops.iter().map(|(op, _)| op.cluster_id()).collect();
        clusters.sort_unstable();
        clusters.dedup();
        let live: std::collections::HashSet<Uuid> = tx
            .query(
                "SELECT id FROM clusters WHERE id = ANY($1) FOR KEY SHARE",
                &[&clusters],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let ops: Vec<(&WriteOp, bool)> = ops
            .into_iter()
            .filter(|(op, _)| live.contains(&op.cluster_id()))
            .collect();
        let mut upserts: Vec<(Uuid, &ResourceSnapshot, bool)> = Vec::new();
        let mut drift: HashMap<Uuid, i64> = HashMap::new();
        let mut deletes: Vec<&ResourceKey> = Vec::new();
        for (op, superseded) in ops {
            match op {
                WriteOp::Upsert {
                    cluster_id,
                    snapshot,
                    backstop,
                } => upserts.push((*cluster_id, snapshot, *backstop && !superseded)),
                WriteOp::Delete(key) => deletes.push(key),
                WriteOp::Event { cluster_id, event } => {
                    write_event(&tx, *cluster_id, event, &mut out).await?
                }
                WriteOp::Sweep {
                    cluster_id,
                    api_group,
                    kind,
                    seen,
                    backstop,
                } => {
                    // A sweep is a barrier: what came before it is written first.
                    flush(&tx, &mut upserts, &mut deletes, &mut drift, &mut out).await?;
                    let (namespaces, names): (Vec<String>, Vec<String>) =
                        seen.iter().cloned().unzip();
                    let rows = tx
                        .query(
                            "DELETE FROM flux_resources WHERE cluster_id = $1 AND api_group = $2 AND kind = $3 \
                             AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[]) AS s(ns, n) \
                                             WHERE s.ns = namespace AND s.n = name) \
                             RETURNING namespace, name, health",
                            &[cluster_id, api_group, kind, &namespaces, &names],
                        )
                        .await?;
                    let keys: Vec<(ResourceKey, String)> = rows
                        .iter()
                        .map(|r| {
                            let key = ResourceKey {
                                cluster_id: *cluster_id,
                                api_group: api_group.clone(),
                                kind: kind.clone(),
                                namespace: r.get(0),
                                name: r.get(1),
                            };
                            (key, r.get(2))
                        })
                        .collect();
                    log_deletes(&tx, &keys, &mut out).await?;
                    out.swept += keys.len();
                    if *backstop && !keys.is_empty() {
                        *drift.entry(*cluster_id).or_default() += keys.len() as i64;
                    }
                }
            }
        }
        flush(&tx, &mut upserts, &mut deletes, &mut drift, &mut out).await?;
        for (cluster_id, n) in &drift {
            out.drift += *n as usize;
            tx.execute(
                "UPDATE cluster_status SET resync_drift_total = resync_drift_total + $2 WHERE cluster_id = $1",
                &[cluster_id, n],
            )
            .await?;
        }
        if let Some(seq) = out.max_seq {
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&CHANGES_CHANNEL, &seq.to_string()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}

async fn flush(
    tx: &Transaction<'_>,
    upserts: &mut Vec<(Uuid, &ResourceSnapshot, bool)>,
    deletes: &mut Vec<&ResourceKey>,
    drift: &mut HashMap<Uuid, i64>,
    out: &mut BatchOutcome,
) -> Result<()> {
    if !upserts.is_empty() {
        for (cluster_id, backstop) in write_upserts(tx, std::mem::take(upserts), out).await? {
            if backstop {
                *drift.entry(cluster_id).or_default() += 1;
            }
        }
    }
    if !deletes.is_empty() {
        let ids: Vec<Uuid> = deletes.iter().map(|k| k.id()).collect();
        let rows = tx
            .query(
                "DELETE FROM flux_resources WHERE id = ANY($1) RETURNING id, health",
                &[&ids],
            )
            .await?;
        let health: HashMap<Uuid, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let gone: Vec<(ResourceKey, String)> = std::mem::take(deletes)
            .into_iter()
            .filter_map(|k| health.get(&k.id()).map(|h| ((*k).clone(), h.clone())))
            .collect();
        log_deletes(tx, &gone, out).await?;
    }
    Ok(())
}

async fn log_deletes(
    tx: &Transaction<'_>,
    gone: &[(ResourceKey, String)],
    out: &mut BatchOutcome,
) -> Result<()> {
    let changes: Vec<Change> = gone
        .iter()
        .map(|(key, health)| Change {
            key,
            op: "delete",
            before: Some(health.clone()),
            after: None,
            revision: None,
            reason: None,
            message: None,
            version: None,
            summary: None,
        })
        .collect();
    insert_changes(tx, &changes, out).await?;
    out.deleted += gone.len();
    Ok(())
}

/// Insert change-log rows; returns resource id → seq.
async fn insert_changes(
    tx: &Transaction<'_>,
    changes: &[Change<'_>],
    out: &mut BatchOutcome,
) -> Result<HashMap<Uuid, i64>> {
    if changes.is_empty() {
        return Ok(HashMap::new());
    }
    let col = |f: &dyn Fn(&Change) -> Option<String>| changes.iter().map(f).collect::<Vec<_>>();
    let clusters: Vec<Uuid> = changes.iter().map(|c| c.key.cluster_id).collect();
    let ids: Vec<Uuid> = changes.iter().map(|c| c.key.id()).collect();
    let groups = col(&|c| Some(c.key.api_group.clone()));
    let kinds = col(&|c| Some(c.key.kind.clone()));
    let namespaces = col(&|c| Some(c.key.namespace.clone()));
    let names = col(&|c| Some(c.key.name.clone()));
    let ops = col(&|c| Some(c.op.to_string()));
    let before = col(&|c| c.before.clone());
    let after = col(&|c| c.after.clone());
    let revisions = col(&|c| c.revision.map(str::to_string));
    let reasons = col(&|c| c.reason.map(str::to_string));
    let messages = col(&|c| c.message.map(str::to_string));
    let versions: Vec<Option<&[u8]>> = changes.iter().map(|c| c.version).collect();
    let summaries = col(&|c| c.summary.clone());
    let rows = tx
        .query(
            "INSERT INTO resource_changes (cluster_id, resource_id, api_group, kind, namespace, name, op, \
             health_before, health_after, revision, reason, message, content_hash, summary) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], \
                                  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                                  $13::bytea[], $14::text[]) \
             RETURNING seq, resource_id",
            &[&clusters, &ids, &groups, &kinds, &namespaces, &names, &ops, &before, &after, &revisions, &reasons,
              &messages, &versions, &summaries],
        )
        .await?;
    let mut seqs = HashMap::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = row.get(0);
        out.max_seq = Some(out.max_seq.map_or(seq, |m| m.max(seq)));
        seqs.insert(row.get(1), seq);
    }
    Ok(seqs)
}

/// Write the upserts that change something; returns (cluster, backstop) of each written row.
async fn write_upserts(
    tx: &Transaction<'_>,
    items: Vec<(Uuid, &ResourceSnapshot, bool)>,
    out: &mut BatchOutcome,
) -> Result<Vec<(Uuid, bool)>> {
    let keys: Vec<ResourceKey> = items
        .iter()
        .map(|(c, s, _)| ResourceKey::of(*c, s))
        .collect();
    let ids: Vec<Uuid> = keys.iter().map(ResourceKey::id).collect();
    let hashes: Vec<Vec<u8>> = items
        .iter()
        .map(|(_, s, _)| content_hash(&s.object))
        .collect();
    let mut existing: HashMap<Uuid, Existing> = read_existing(tx, &ids, &hashes).await?;
    let changed: Vec<usize> = (0..items.len())
        .filter(|&i| existing.get(&ids[i]).is_none_or(|e| e.hash != hashes[i]))
        .collect();
    out.unchanged += items.len() - changed.len();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let changes: Vec<Change> = changed
        .iter()
        .map(|&i| upsert_change(&keys[i], items[i].1, existing.remove(&ids[i]), &hashes[i]))
        .collect();
    let new_versions: Vec<NewVersion> = changed
        .iter()
        .map(|&i| NewVersion {
            resource_id: ids[i],
            cluster_id: items[i].0,
            hash: &hashes[i],
            object: &items[i].1.object,
        })
        .collect();
    store_versions(tx, &new_versions).await?;
    let seqs = insert_changes(tx, &changes, out).await?;
    upsert_rows(tx, &items, &changed, &ids, &hashes, &seqs).await?;
    out.upserted += changed.len();
    Ok(changed.iter().map(|&i| (items[i].0, items[i].2)).collect())
}

/// The change-log entry of an upsert that changes `old` (`None`: first sight) into `s`.
fn upsert_change<'a>(
    key: &'a ResourceKey,
    s: &'a ResourceSnapshot,
    old: Option<Existing>,
    hash: &'a [u8],
) -> Change<'a> {
    let summary = old
        .as_ref()
        .and_then(|e| e.object.as_ref())
        .map(|o| flux::change_summary(o, &s.object));
    Change {
        key,
        op: "upsert",
        before: old.map(|e| e.health),
        after: Some(s.health.as_str().to_string()),
        revision: s.revision.as_deref(),
        reason: s.reason.as_deref(),
        message: s.message.as_deref(),
        version: Some(hash),
        summary,
    }
}

/// Insert or update the `flux_resources` rows of the `changed` items, each with the seq of the
/// change that wrote it.
async fn upsert_rows(
    tx: &Transaction<'_>,
    items: &[(Uuid, &ResourceSnapshot, bool)],
    changed: &[usize],
    ids: &[Uuid],
    hashes: &[Vec<u8>],
    seqs: &HashMap<Uuid, i64>,
) -> Result<()> {
    let pick = |f: &dyn Fn(&ResourceSnapshot) -> Option<String>| {
        changed.iter().map(|&i| f(items[i].1)).collect::<Vec<_>>()
    };
    let clusters: Vec<Uuid> = changed.iter().map(|&i| items[i].0).collect();
    let row_ids: Vec<Uuid> = changed.iter().map(|&i| ids[i]).collect();
    let groups = pick(&|s| Some(s.api_group.clone()));
    let kinds = pick(&|s| Some(s.kind.clone()));
    let namespaces = pick(&|s| Some(s.namespace.clone()));
    let names = pick(&|s| Some(s.name.clone()));
    let versions = pick(&|s| Some(s.api_version.clone()));
    let uids = pick(&|s| s.uid.clone());
    let rvs = pick(&|s| s.resource_version.clone());
    let healths = pick(&|s| Some(s.health.as_str().to_string()));
    let reasons = pick(&|s| s.reason.clone());
    let messages = pick(&|s| s.message.clone());
    let revisions = pick(&|s| s.revision.clone());
    let attempted = pick(&|s| s.last_attempted_revision.clone());
    let details = pick(&|s| s.revision_detail.clone());
    let handled = pick(&|s| s.last_handled_reconcile_at.clone());
    let generations: Vec<Option<i64>> = changed.iter().map(|&i| items[i].1.generation).collect();
    let observed: Vec<Option<i64>> = changed
        .iter()
        .map(|&i| items[i].1.observed_generation)
        .collect();
    let suspended: Vec<bool> = changed.iter().map(|&i| items[i].1.suspended).collect();
    let source_refs: Vec<Option<serde_json::Value>> = changed
        .iter()
        .map(|&i| items[i].1.source_ref.as_ref().map(to_json))
        .collect();
    let depends: Vec<serde_json::Value> = changed
        .iter()
        .map(|&i| to_json(&items[i].1.depends_on))
        .collect();
    let labels: Vec<serde_json::Value> = changed
        .iter()
        .map(|&i| {
            items[i]
                .1
                .object
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}))
        })
        .collect();
    let row_hashes: Vec<Vec<u8>> = changed.iter().map(|&i| hashes[i].clone()).collect();
    let last_seqs: Vec<i64> = row_ids
        .iter()
        .map(|id| seqs.get(id).copied().unwrap_or_default())
        .collect();
    let transitions: Vec<Option<chrono::DateTime<chrono::Utc>>> = changed
        .iter()
        .map(|&i| items[i].1.last_transition_at)
        .collect();
    tx.execute(
        "INSERT INTO flux_resources (cluster_id, api_group, kind, namespace, name, id, api_version, uid, \
         resource_version, health, reason, message, revision, last_attempted_revision, revision_detail, \
         last_handled_reconcile_at, generation, observed_generation, suspended, source_ref, depends_on, \
         labels, content_hash, last_seq, last_transition_at) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], \
             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], \
             $14::text[], $15::text[], $16::text[], $17::int8[], $18::int8[], $19::bool[], $20::jsonb[], \
             $21::jsonb[], $22::jsonb[], $23::bytea[], $24::int8[], $25::timestamptz[]) \
         ON CONFLICT (cluster_id, api_group, kind, namespace, name) DO UPDATE SET \
             api_version = EXCLUDED.api_version, uid = EXCLUDED.uid, resource_version = EXCLUDED.resource_version, \
             health = EXCLUDED.health, reason = EXCLUDED.reason, message = EXCLUDED.message, \
             revision = EXCLUDED.revision, last_attempted_revision = EXCLUDED.last_attempted_revision, \
             revision_detail = EXCLUDED.revision_detail, \
             last_handled_reconcile_at = EXCLUDED.last_handled_reconcile_at, generation = EXCLUDED.generation, \
             observed_generation = EXCLUDED.observed_generation, suspended = EXCLUDED.suspended, \
             source_ref = EXCLUDED.source_ref, depends_on = EXCLUDED.depends_on, labels = EXCLUDED.labels, \
             content_hash = EXCLUDED.content_hash, last_seq = EXCLUDED.last_seq, \
             last_transition_at = EXCLUDED.last_transition_at, updated_at = now()",
        &[
            &clusters, &groups, &kinds, &namespaces, &names, &row_ids, &versions, &uids, &rvs, &healths, &reasons,
            &messages, &revisions, &attempted, &details, &handled, &generations, &observed, &suspended,
            &source_refs, &depends, &labels, &row_hashes, &last_seqs, &transitions,
        ],
    )
    .await?;
    Ok(())
}

async fn write_event(
    tx: &Transaction<'_>,
    cluster_id: Uuid,
    e: &FluxEvent,
    out: &mut BatchOutcome,
) -> Result<()> {
    let Some(uid) = e.uid.as_deref() else {
        return Ok(());
    };
    let key = ResourceKey {
        cluster_id,
        api_group: e.involved.api_group.clone(),
        kind: e.involved.kind.clone(),
        namespace: e.involved.namespace.clone(),
        name: e.involved.name.clone(),
    };
    let written = tx
        .query_opt(
            "INSERT INTO flux_events (cluster_id, uid, resource_id, api_group, kind, namespace, name, type, reason, \
             message, count, first_seen, last_seen, reporting_controller, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (cluster_id, uid) DO UPDATE SET count = EXCLUDED.count, last_seen = EXCLUDED.last_seen, \
                 message = EXCLUDED.message, reason = EXCLUDED.reason, revision = EXCLUDED.revision \
             WHERE flux_events.count IS DISTINCT FROM EXCLUDED.count \
                OR flux_events.last_seen IS DISTINCT FROM EXCLUDED.last_seen \
                OR flux_events.message IS DISTINCT FROM EXCLUDED.message \
             RETURNING id",
            &[
                &cluster_id, &uid, &key.id(), &key.api_group, &key.kind, &key.namespace, &key.name, &e.event_type,
                &e.reason, &e.message, &e.count, &e.first_seen, &e.last_seen, &e.reporting_controller, &e.revision,
            ],
        )
        .await?;
    if written.is_some() {
        let change = Change {
            key: &key,
            op: "event",
            before: None,
            after: Some(e.event_type.to_string()),
            revision: e.revision.as_deref(),
            reason: e.reason.as_deref(),
            message: e.message.as_deref(),
            version: None,
            summary: None,
        };
        insert_changes(tx, &[change], out).await?;
        out.events += 1;
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    // Plain data structs serialise infallibly.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
