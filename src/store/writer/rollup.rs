//! Roll-up of workload health onto the Flux objects that own them (`workload_health`).
//!
//! The protocol, as invariants:
//! 1. **In the workloads' transaction.** A batch notes every owner whose roll-up may change —
//!    the new and the old owner of each workload it writes or removes, and each Flux object it
//!    stores for the first time (workloads may have arrived before their owner) — and, after
//!    its last write, recomputes their `workload_health` (the worst health of the workloads
//!    they own, by `Health::SEVERITY`; NULL when they own none).
//! 2. **A roll-up change is a change of the owner.** When an owner's roll-up changes and the
//!    batch logs no change of its own for it, a change is logged for the owner (op `upsert`,
//!    its health unchanged, no version, summary `workloads ready → failed`) and becomes its
//!    `last_seq`; so a REST read and the stream agree: the stream reads the owner's row as
//!    committed, roll-up included. An owner the batch logs anyway needs no second entry.

use std::collections::HashSet;
use std::sync::LazyLock;

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::changelog::{self, Change};
use crate::flux::{ChangeOp, Health};
use crate::store::Result;
use crate::store::resources::{BatchOutcome, ResourceKey};
use crate::store::types::column;

/// Owners whose roll-up the batch must recompute.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Owners whose roll-up may have changed.
    owners: HashSet<Uuid>,
    /// Objects the batch logs a change of (their stream entry carries the roll-up already).
    logged: HashSet<Uuid>,
}

impl Pending {
    /// Object `id` was written: a workload of `owner` (before: `old_owner`), or a Flux object
    /// (`first`: stored for the first time).
    pub fn upserted(
        &mut self,
        id: Uuid,
        owner: Option<Uuid>,
        old_owner: Option<Uuid>,
        first: bool,
    ) {
        self.logged.insert(id);
        self.owners.extend(owner);
        self.owners.extend(old_owner);
        if first {
            self.owners.insert(id);
        }
    }

    /// A workload of `owner` was removed.
    pub fn removed(&mut self, owner: Option<Uuid>) {
        self.owners.extend(owner);
    }
}

/// `w.health`'s rank in [`Health::SEVERITY`] (0 is the worst), as SQL.
static RANK_SQL: LazyLock<String> = LazyLock::new(|| {
    let ranks: Vec<String> = Health::SEVERITY
        .iter()
        .map(|h| format!("WHEN '{h}' THEN {} ", h.severity()))
        .collect();
    format!("(CASE w.health {}END)", ranks.concat())
});

/// An owner whose roll-up changed.
struct Rolled {
    key: ResourceKey,
    health: Health,
    revision: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    summary: String,
}

/// Recompute the pending owners' roll-ups; log a change for each one that changed and that
/// the batch does not log anyway.
pub(super) async fn apply(
    tx: &Transaction<'_>,
    pending: Pending,
    out: &mut BatchOutcome,
) -> Result<()> {
    if pending.owners.is_empty() {
        return Ok(());
    }
    let owners: Vec<Uuid> = pending.owners.into_iter().collect();
    let sql = format!(
        "WITH agg AS (SELECT o.id, (SELECT w.health FROM flux_resources w WHERE w.owner_id = o.id \
                                    ORDER BY {rank} LIMIT 1) AS worst \
                      FROM unnest($1::uuid[]) AS o(id)), \
         old AS (SELECT r.id, r.workload_health AS before FROM flux_resources r JOIN agg ON agg.id = r.id \
                 WHERE r.workload_health IS DISTINCT FROM agg.worst FOR UPDATE OF r) \
         UPDATE flux_resources r SET workload_health = agg.worst FROM agg, old \
         WHERE r.id = agg.id AND old.id = r.id \
         RETURNING r.id, r.cluster_id, r.api_group, r.kind, r.namespace, r.name, r.health, r.revision, \
                   r.reason, r.message, old.before, agg.worst",
        rank = RANK_SQL.as_str()
    );
    let rows = tx.query(&sql, &[&owners]).await?;
    let rolled: Vec<Rolled> = rows
        .iter()
        .filter(|r| !pending.logged.contains(&r.get::<_, Uuid>(0)))
        .map(|r| {
            let word = |i: usize| r.get::<_, Option<String>>(i).unwrap_or("none".into());
            Ok(Rolled {
                key: ResourceKey {
                    cluster_id: r.get(1),
                    api_group: r.get(2),
                    kind: r.get(3),
                    namespace: r.get(4),
                    name: r.get(5),
                },
                health: column(r, 6)?,
                revision: r.get(7),
                reason: r.get(8),
                message: r.get(9),
                summary: format!("workloads {} → {}", word(10), word(11)),
            })
        })
        .collect::<Result<_>>()?;
    log(tx, &rolled, out).await
}

/// Log the roll-up changes and make each the owner's `last_seq`.
async fn log(tx: &Transaction<'_>, rolled: &[Rolled], out: &mut BatchOutcome) -> Result<()> {
    if rolled.is_empty() {
        return Ok(());
    }
    let changes: Vec<Change> = rolled
        .iter()
        .map(|r| Change {
            key: &r.key,
            op: ChangeOp::Upsert,
            before: Some(r.health),
            after: Some(r.health.as_str()),
            revision: r.revision.as_deref(),
            reason: r.reason.as_deref(),
            message: r.message.as_deref(),
            version: None,
            summary: Some(r.summary.clone()),
        })
        .collect();
    let seqs = changelog::insert(tx, &changes, out).await?;
    let (ids, seqs): (Vec<Uuid>, Vec<i64>) = seqs.into_iter().unzip();
    tx.execute(
        "UPDATE flux_resources r SET last_seq = s.seq, updated_at = now() \
         FROM unnest($1::uuid[], $2::int8[]) AS s(id, seq) WHERE r.id = s.id",
        &[&ids, &seqs],
    )
    .await?;
    out.rolled_up += rolled.len();
    Ok(())
}
