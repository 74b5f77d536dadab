//! Change-log entries (`resource_changes`): one per real change, inserted in one statement per
//! call, each getting the next seq under the log lock the batch holds.

use std::collections::HashMap;

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::flux::{ChangeOp, Health};
use crate::store::Result;
use crate::store::resources::{BatchOutcome, ResourceKey};

/// A change-log entry about to be inserted.
pub(super) struct Change<'a> {
    pub key: &'a ResourceKey,
    pub op: ChangeOp,
    /// Health before (deletes, upserts of stored objects).
    pub before: Option<Health>,
    /// Health after (upserts), or the event's type (the column holds either).
    pub after: Option<&'a str>,
    pub revision: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub message: Option<&'a str>,
    /// Content hash of the version an upsert produced.
    pub version: Option<&'a [u8]>,
    /// What changed from the version before (upserts of stored objects).
    pub summary: Option<String>,
}

impl<'a> Change<'a> {
    /// The object `key`, last of health `health`, is gone.
    pub fn delete(key: &'a ResourceKey, health: Health) -> Change<'a> {
        Change {
            key,
            op: ChangeOp::Delete,
            before: Some(health),
            after: None,
            revision: None,
            reason: None,
            message: None,
            version: None,
            summary: None,
        }
    }
}

/// The columns of the entries, one row pushed at a time.
#[derive(Default)]
struct Rows<'a> {
    clusters: Vec<Uuid>,
    ids: Vec<Uuid>,
    groups: Vec<&'a str>,
    kinds: Vec<&'a str>,
    namespaces: Vec<&'a str>,
    names: Vec<&'a str>,
    ops: Vec<&'static str>,
    before: Vec<Option<&'static str>>,
    after: Vec<Option<&'a str>>,
    revisions: Vec<Option<&'a str>>,
    reasons: Vec<Option<&'a str>>,
    messages: Vec<Option<&'a str>>,
    versions: Vec<Option<&'a [u8]>>,
    summaries: Vec<Option<&'a str>>,
}

impl<'a> Rows<'a> {
    fn push(&mut self, c: &'a Change<'a>) {
        self.clusters.push(c.key.cluster_id);
        self.ids.push(c.key.id());
        self.groups.push(&c.key.api_group);
        self.kinds.push(&c.key.kind);
        self.namespaces.push(&c.key.namespace);
        self.names.push(&c.key.name);
        self.ops.push(c.op.as_str());
        self.before.push(c.before.map(Health::as_str));
        self.after.push(c.after);
        self.revisions.push(c.revision);
        self.reasons.push(c.reason);
        self.messages.push(c.message);
        self.versions.push(c.version);
        self.summaries.push(c.summary.as_deref());
    }
}

/// Insert change-log rows; returns resource id → seq, and raises `out.max_seq`.
pub(super) async fn insert(
    tx: &Transaction<'_>,
    changes: &[Change<'_>],
    out: &mut BatchOutcome,
) -> Result<HashMap<Uuid, i64>> {
    if changes.is_empty() {
        return Ok(HashMap::new());
    }
    let mut r = Rows::default();
    for change in changes {
        r.push(change);
    }
    let rows = tx
        .query(
            "INSERT INTO resource_changes (cluster_id, resource_id, api_group, kind, namespace, name, op, \
             health_before, health_after, revision, reason, message, content_hash, summary) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], \
                                  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                                  $13::bytea[], $14::text[]) \
             RETURNING seq, resource_id",
            &[&r.clusters, &r.ids, &r.groups, &r.kinds, &r.namespaces, &r.names, &r.ops, &r.before, &r.after,
              &r.revisions, &r.reasons, &r.messages, &r.versions, &r.summaries],
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
