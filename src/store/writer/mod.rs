//! The batched write path: one transaction per batch, written by one writer task per replica
//! (`ingest::writer`).
//!
//! The protocol, as invariants:
//!
//! 1. **Seq order is commit order.** A batch first takes the log lock
//!    (`pg_advisory_xact_lock(LOG_LOCK)`), so that across writers and replicas a reader that
//!    has seen seq N never later finds a committed seq below N.
//! 2. **Deleted clusters drop out, the others stay.** The batch's clusters are read `FOR KEY
//!    SHARE`: ops of clusters deleted meanwhile are dropped (a foreign-key violation would
//!    otherwise poison the batch forever), and the rest cannot be deleted until commit.
//! 3. **Only real changes are written.** Ops are coalesced per object (the last wins). An
//!    upsert whose content hash equals the stored one writes nothing (`upserts`); a real change
//!    writes its row, one change-log entry (`changelog`) with the version it produced and what
//!    changed, and that version (`super::versions`: the object lives there), and makes the
//!    object's edges those of the new version (`super::edges`); a Kustomization's or
//!    HelmRelease's attempted and applied revisions are recorded (`super::rollouts`). A stored
//!    object's version is read only when the hashes differ, so an unchanged relist reads no
//!    objects and writes no edges or rollout rows.
//! 4. **A sweep is a barrier.** What came before it in the batch is written first; then every
//!    stored object of the kind that the relist did not see is deleted and logged (`sweep`).
//! 5. **Roll-ups follow their workloads.** After the last write, the owners of the workloads
//!    written or removed get their `workload_health` recomputed, and a changed roll-up is
//!    logged as a change of the owner (`rollup` states the protocol).
//! 6. **Drift is counted where it is found.** Rows a backstop relist changed or removed are
//!    added to `cluster_status.resync_drift_total`, in the same transaction.
//! 7. **Readers are told inside the transaction.** `NOTIFY flux_changes '<max seq>'` is sent
//!    before commit, so it is delivered exactly when the changes become visible.
//!
//! A batch can be retried as a whole after a failure: an already-committed batch compares equal
//! and writes nothing the second time.

mod changelog;
mod events;
mod rollup;
mod sweep;
mod upserts;

use std::collections::{HashMap, HashSet};

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::resources::{BatchOutcome, CHANGES_CHANNEL, LOG_LOCK, ResourceKey, WriteOp, coalesce};
use super::{Result, Store};
use upserts::Upsert;

impl Store {
    /// Apply `ops` in one transaction: coalesced per object, in order, writing only real changes.
    /// Takes a slice so that a caller can retry the same batch after a failure.
    pub async fn write_batch(&self, ops: &[WriteOp]) -> Result<BatchOutcome> {
        let ops = coalesce(ops);
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
            .await?;
        let mut batch = Batch::default();
        for (op, superseded) in of_live_clusters(&tx, ops).await? {
            batch.add(&tx, op, superseded).await?;
        }
        batch.flush(&tx).await?;
        rollup::apply(&tx, std::mem::take(&mut batch.rollup), &mut batch.out).await?;
        let out = batch.finish(&tx).await?;
        tx.commit().await?;
        Ok(out)
    }
}

/// The ops of clusters that still exist, which are kept from deletion until commit.
async fn of_live_clusters<'a>(
    tx: &Transaction<'_>,
    ops: Vec<(&'a WriteOp, bool)>,
) -> Result<Vec<(&'a WriteOp, bool)>> {
    let mut clusters: Vec<Uuid> = ops.iter().map(|(op, _)| op.cluster_id()).collect();
    clusters.sort_unstable();
    clusters.dedup();
    let live: HashSet<Uuid> = tx
        .query(
            "SELECT id FROM clusters WHERE id = ANY($1) FOR KEY SHARE",
            &[&clusters],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(ops
        .into_iter()
        .filter(|(op, _)| live.contains(&op.cluster_id()))
        .collect())
}

/// One batch in its transaction: the upserts and deletes waiting for the next barrier, the
/// drift found per cluster, and what the batch did.
#[derive(Default)]
struct Batch<'a> {
    upserts: Vec<Upsert<'a>>,
    deletes: Vec<&'a ResourceKey>,
    drift: HashMap<Uuid, i64>,
    rollup: rollup::Pending,
    out: BatchOutcome,
}

impl<'a> Batch<'a> {
    /// Take one op; `superseded`: a later op of the batch is about the same object.
    async fn add(&mut self, tx: &Transaction<'_>, op: &'a WriteOp, superseded: bool) -> Result<()> {
        match op {
            WriteOp::Upsert {
                cluster_id,
                snapshot,
                backstop,
            } => self.upserts.push(Upsert {
                cluster_id: *cluster_id,
                snapshot: snapshot.as_ref(),
                // An upsert superseded in the same batch is the watch catching up, not drift.
                backstop: *backstop && !superseded,
            }),
            WriteOp::Delete(key) => self.deletes.push(key),
            WriteOp::Event { cluster_id, event } => {
                events::write_event(tx, *cluster_id, event, &mut self.out).await?
            }
            WriteOp::Sweep {
                cluster_id,
                api_group,
                kind,
                seen,
                backstop,
                label,
            } => {
                // A sweep is a barrier: what came before it is written first.
                self.flush(tx).await?;
                let kind = sweep::Kind {
                    cluster_id: *cluster_id,
                    api_group,
                    kind,
                    label: *label,
                };
                let swept = sweep::sweep(tx, &kind, seen, &mut self.out, &mut self.rollup).await?;
                if *backstop && swept > 0 {
                    *self.drift.entry(*cluster_id).or_default() += swept as i64;
                }
            }
        }
        Ok(())
    }

    /// Write the pending upserts, then the pending deletes.
    async fn flush(&mut self, tx: &Transaction<'_>) -> Result<()> {
        if !self.upserts.is_empty() {
            let upserts = std::mem::take(&mut self.upserts);
            for (cluster_id, backstop) in
                upserts::write(tx, upserts, &mut self.out, &mut self.rollup).await?
            {
                if backstop {
                    *self.drift.entry(cluster_id).or_default() += 1;
                }
            }
        }
        if !self.deletes.is_empty() {
            let deletes = std::mem::take(&mut self.deletes);
            sweep::delete(tx, deletes, &mut self.out, &mut self.rollup).await?;
        }
        Ok(())
    }

    /// Count the drift per cluster and tell readers; what the batch did.
    async fn finish(mut self, tx: &Transaction<'_>) -> Result<BatchOutcome> {
        for (cluster_id, n) in &self.drift {
            self.out.drift += *n as usize;
            tx.execute(
                "UPDATE cluster_status SET resync_drift_total = resync_drift_total + $2 WHERE cluster_id = $1",
                &[cluster_id, n],
            )
            .await?;
        }
        if let Some(seq) = self.out.max_seq {
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&CHANGES_CHANNEL, &seq.to_string()],
            )
            .await?;
        }
        Ok(self.out)
    }
}
