//! Retention of `resource_changes` by age and by count, and with it of the object versions
//! (`resource_versions`) no retained change references. Every replica runs it; deleting a
//! prefix of the log twice is harmless. Replay notices pruned history and answers
//! `resync: too_old`.

use tokio_util::sync::CancellationToken;

use super::Hub;
use crate::store::Pruned;

/// Rows deleted per statement, so that pruning a large backlog never holds locks for long.
const BATCH: i64 = 10_000;

/// Prune every `prune_interval` until `cancel`.
pub(super) async fn run(hub: Hub, cancel: CancellationToken) {
    let settings = hub.settings().clone();
    let mut tick = tokio::time::interval(settings.prune_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let prune =
            hub.store()
                .prune_changes(settings.retention_age, settings.retention_count, BATCH);
        let result = tokio::select! {
            r = prune => r,
            _ = cancel.cancelled() => return,
        };
        match result {
            Ok(pruned) if pruned == Pruned::default() => {}
            Ok(pruned) => {
                hub.metrics().pruned.inc_by(pruned.changes);
                tracing::info!(
                    deleted = pruned.changes,
                    versions = pruned.versions,
                    "pruned the change log and the object versions it no longer references"
                );
            }
            Err(e) => tracing::warn!(error = %e, "cannot prune the change log; retrying later"),
        }
    }
}
