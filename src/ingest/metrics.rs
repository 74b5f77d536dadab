//! What ingest measures, registered in the process-wide [`Metrics`] registry: the writer's
//! counters and batch commit times, and how long each kind's LIST takes.

use std::time::Duration;

use crate::metrics::{self, Counter, EncodeLabelSet, Family, FloatGauge, Histogram, Metrics};
use crate::store::BatchOutcome;

/// Handles to ingest's series. Cheap to clone.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    /// The writer's.
    pub writer: WriterMetrics,
    /// The watchers'.
    pub lists: ListMetrics,
}

impl IngestMetrics {
    /// Register ingest's series in `m`.
    pub fn register(m: &Metrics) -> IngestMetrics {
        IngestMetrics {
            writer: WriterMetrics::register(m),
            lists: ListMetrics::register(m),
        }
    }
}

/// The writer's series. Written by the writer task only; read by `/metrics` and benchmarks.
#[derive(Debug, Clone)]
pub struct WriterMetrics {
    /// Batches committed.
    pub batches: Counter,
    /// Ops received.
    pub ops: Counter,
    /// Rows upserted (real changes).
    pub upserted: Counter,
    /// Rows deleted (events and sweeps).
    pub deleted: Counter,
    /// Rows removed by relist sweeps: drift a relist corrected.
    pub swept: Counter,
    /// Upserts skipped as no-ops.
    pub unchanged: Counter,
    /// Events stored.
    pub events: Counter,
    /// Rows backstop relists had to correct (drift the watches missed).
    pub drift: Counter,
    /// Failed batch attempts (retried).
    pub failures: Counter,
    /// Duration of the last committed batch, seconds.
    pub last_commit_seconds: FloatGauge,
    /// Duration of every committed batch (one transaction: log lock, writes, NOTIFY, commit).
    pub commit_seconds: Histogram,
}

impl WriterMetrics {
    /// Register the writer's series in `m`.
    pub fn register(m: &Metrics) -> WriterMetrics {
        WriterMetrics {
            batches: m.counter("fluxo_ingest_batches_total", "Write batches committed."),
            ops: m.counter("fluxo_ingest_ops_total", "Writes received from watchers."),
            upserted: m.counter(
                "fluxo_ingest_upserted_total",
                "Objects inserted or changed.",
            ),
            deleted: m.counter(
                "fluxo_ingest_deleted_total",
                "Objects deleted (events and relist sweeps).",
            ),
            swept: m.counter(
                "fluxo_ingest_swept_total",
                "Objects removed by relist sweeps.",
            ),
            unchanged: m.counter(
                "fluxo_ingest_unchanged_total",
                "Writes skipped because nothing changed.",
            ),
            events: m.counter("fluxo_ingest_events_total", "Controller events stored."),
            failures: m.counter(
                "fluxo_ingest_write_failures_total",
                "Failed batch attempts (retried).",
            ),
            drift: m.counter(
                "fluxo_resync_drift_total",
                "Objects backstop relists had to correct.",
            ),
            last_commit_seconds: m.register(
                "fluxo_ingest_last_commit_seconds",
                "Duration of the last committed batch.",
                FloatGauge::default(),
            ),
            commit_seconds: m.register(
                "fluxo_ingest_batch_commit_seconds",
                "Duration of each committed write batch (one transaction).",
                metrics::histogram(metrics::FAST_SECONDS),
            ),
        }
    }

    /// Count a committed batch of `ops` ops that took `took`.
    pub(super) fn record(&self, ops: usize, out: &BatchOutcome, took: Duration) {
        let n = |v: usize| v as u64;
        self.batches.inc();
        self.ops.inc_by(n(ops));
        self.upserted.inc_by(n(out.upserted));
        self.deleted.inc_by(n(out.deleted));
        self.swept.inc_by(n(out.swept));
        self.unchanged.inc_by(n(out.unchanged));
        self.events.inc_by(n(out.events));
        self.drift.inc_by(n(out.drift));
        self.last_commit_seconds.set(took.as_secs_f64());
        self.commit_seconds.observe(took.as_secs_f64());
    }
}

/// The label of [`ListMetrics`]: a kind of the Flux catalogue, or `Event`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// How long full LISTs take, per kind (no cluster label: a fleet of 500 clusters would make
/// 500 times the series). Written by every watcher.
#[derive(Debug, Clone)]
pub struct ListMetrics {
    seconds: Family<KindLabel, Histogram>,
}

impl ListMetrics {
    /// Register the series in `m`.
    pub fn register(m: &Metrics) -> ListMetrics {
        let seconds = m.register(
            "fluxo_ingest_list_seconds",
            "Duration of full LISTs (initial, relist, backstop) by kind: from holding a LIST \
             permit to the last object handed to the writer.",
            Family::new_with_constructor(slow_histogram as fn() -> Histogram),
        );
        ListMetrics { seconds }
    }

    /// A LIST of `kind` took `took`.
    pub fn observe(&self, kind: &'static str, took: Duration) {
        self.seconds
            .get_or_create(&KindLabel { kind })
            .observe(took.as_secs_f64());
    }
}

fn slow_histogram() -> Histogram {
    metrics::histogram(metrics::SLOW_SECONDS)
}
