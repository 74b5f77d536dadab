//! The single batching writer: everything the watchers see goes through one bounded channel
//! to one task that writes batches to PostgreSQL.
//!
//! Batching is natural, not timed: the writer takes the first op, then whatever else is already
//! queued (up to `max_batch`), and writes them in one transaction. Under light load a change is
//! written alone and at once; under heavy load batches grow and per-row cost falls. A full
//! channel makes watchers wait (back-pressure); nothing is dropped. A failed batch is retried
//! until it succeeds (database restarts are survived), except after shutdown was requested,
//! when it is retried for a few seconds only: the next start relists everything anyway.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use super::metrics::WriterMetrics;
use crate::store::{Store, WriteOp};

/// Start the writer. It ends when every sender is dropped and the queue is drained.
pub fn spawn(
    store: Store,
    queue: usize,
    max_batch: usize,
    metrics: WriterMetrics,
    shutdown: CancellationToken,
) -> (mpsc::Sender<WriteOp>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(queue.max(1));
    let task = tokio::spawn(run(store, rx, max_batch.max(1), metrics, shutdown));
    (tx, task)
}

async fn run(
    store: Store,
    mut rx: mpsc::Receiver<WriteOp>,
    max_batch: usize,
    metrics: WriterMetrics,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        write_with_retry(&store, &batch, &metrics, &shutdown).await;
        batch.clear();
    }
}

async fn write_with_retry(
    store: &Store,
    batch: &[WriteOp],
    metrics: &WriterMetrics,
    shutdown: &CancellationToken,
) {
    let mut delay = Duration::from_millis(50);
    let mut give_up_at: Option<Instant> = None;
    loop {
        let started = Instant::now();
        match store.write_batch(batch).await {
            Ok(out) => {
                metrics.record(batch.len(), &out, started.elapsed());
                return;
            }
            Err(e) => {
                metrics.failures.inc();
                tracing::warn!(error = %e, ops = batch.len(), retry_in = ?delay, "batch write failed; retrying");
            }
        }
        if shutdown.is_cancelled() {
            let deadline =
                *give_up_at.get_or_insert_with(|| Instant::now() + Duration::from_secs(5));
            if Instant::now() > deadline {
                tracing::warn!(
                    ops = batch.len(),
                    "shutting down with an unwritten batch; the next start relists"
                );
                return;
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}
