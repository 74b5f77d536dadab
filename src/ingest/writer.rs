//! The single batching writer: everything the watchers see goes through one bounded channel
//! to one task that writes batches to PostgreSQL.
//!
//! Batching is natural, not timed: the writer takes the first op, then whatever else is already
//! queued (up to `max_batch`), and writes them in one transaction. Under light load a change is
//! written alone and at once; under heavy load batches grow and per-row cost falls. A full
//! channel makes watchers wait (back-pressure); nothing is dropped. A failed batch is retried
//! until it succeeds (database restarts are survived), except after shutdown was requested,
//! when it is retried for a few seconds only: the next start relists everything anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::store::{BatchOutcome, Store, WriteOp};

/// Counters of the writer, for `/metrics` and tests. Written by the writer task only.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Batches committed.
    pub batches: AtomicU64,
    /// Ops received.
    pub ops: AtomicU64,
    /// Rows upserted (real changes).
    pub upserted: AtomicU64,
    /// Rows deleted (events and sweeps).
    pub deleted: AtomicU64,
    /// Rows removed by relist sweeps: drift a relist corrected.
    pub swept: AtomicU64,
    /// Upserts skipped as no-ops.
    pub unchanged: AtomicU64,
    /// Events stored.
    pub events: AtomicU64,
    /// Rows backstop relists had to correct (drift the watches missed).
    pub drift: AtomicU64,
    /// Failed batch attempts (retried).
    pub failures: AtomicU64,
    /// Duration of the last committed batch, in microseconds.
    pub last_commit_micros: AtomicU64,
}

impl WriterStats {
    fn record(&self, ops: usize, out: &BatchOutcome, took: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.ops.fetch_add(ops as u64, Ordering::Relaxed);
        self.upserted
            .fetch_add(out.upserted as u64, Ordering::Relaxed);
        self.deleted
            .fetch_add(out.deleted as u64, Ordering::Relaxed);
        self.swept.fetch_add(out.swept as u64, Ordering::Relaxed);
        self.unchanged
            .fetch_add(out.unchanged as u64, Ordering::Relaxed);
        self.events.fetch_add(out.events as u64, Ordering::Relaxed);
        self.drift.fetch_add(out.drift as u64, Ordering::Relaxed);
        self.last_commit_micros
            .store(took.as_micros() as u64, Ordering::Relaxed);
    }
}

impl WriterStats {
    /// Append the counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let counters: [(&str, &str, &AtomicU64); 9] = [
            (
                "fluxo_ingest_batches_total",
                "Write batches committed.",
                &self.batches,
            ),
            (
                "fluxo_ingest_ops_total",
                "Writes received from watchers.",
                &self.ops,
            ),
            (
                "fluxo_ingest_upserted_total",
                "Objects inserted or changed.",
                &self.upserted,
            ),
            (
                "fluxo_ingest_deleted_total",
                "Objects deleted (events and relist sweeps).",
                &self.deleted,
            ),
            (
                "fluxo_ingest_swept_total",
                "Objects removed by relist sweeps.",
                &self.swept,
            ),
            (
                "fluxo_ingest_unchanged_total",
                "Writes skipped because nothing changed.",
                &self.unchanged,
            ),
            (
                "fluxo_ingest_events_total",
                "Controller events stored.",
                &self.events,
            ),
            (
                "fluxo_ingest_write_failures_total",
                "Failed batch attempts (retried).",
                &self.failures,
            ),
            (
                "fluxo_resync_drift_total",
                "Objects backstop relists had to correct.",
                &self.drift,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let seconds = self.last_commit_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let name = "fluxo_ingest_last_commit_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Duration of the last committed batch.\n# TYPE {name} gauge\n{name} {seconds}"
        );
    }
}

/// Start the writer. It ends when every sender is dropped and the queue is drained.
pub fn spawn(
    store: Store,
    queue: usize,
    max_batch: usize,
    stats: Arc<WriterStats>,
    shutdown: CancellationToken,
) -> (mpsc::Sender<WriteOp>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(queue.max(1));
    let task = tokio::spawn(run(store, rx, max_batch.max(1), stats, shutdown));
    (tx, task)
}

async fn run(
    store: Store,
    mut rx: mpsc::Receiver<WriteOp>,
    max_batch: usize,
    stats: Arc<WriterStats>,
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
        write_with_retry(&store, &batch, &stats, &shutdown).await;
        batch.clear();
    }
}

async fn write_with_retry(
    store: &Store,
    batch: &[WriteOp],
    stats: &WriterStats,
    shutdown: &CancellationToken,
) {
    let mut delay = Duration::from_millis(50);
    let mut give_up_at: Option<Instant> = None;
    loop {
        let started = Instant::now();
        match store.write_batch(batch).await {
            Ok(out) => {
                stats.record(batch.len(), &out, started.elapsed());
                return;
            }
            Err(e) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
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
