//! Retention of `resource_changes` by age and by count. Every replica runs it; deleting a prefix
//! of the log twice is harmless. Replay notices pruned history and answers `resync: too_old`.

use tokio_util::sync::CancellationToken;

use super::Hub;

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
            Ok(0) => {}
            Ok(n) => {
                hub.metrics().pruned.inc_by(n);
                tracing::info!(deleted = n, "pruned the change log");
            }
            Err(e) => tracing::warn!(error = %e, "cannot prune the change log; retrying later"),
        }
    }
}
