//! Event-driven ingest: per-cluster supervisors running kube-runtime watchers, feeding one
//! batching writer into PostgreSQL; cluster claims so that each cluster is watched by exactly
//! one replica; the backstop relist; and actions (merge-patches) on Flux objects.
//!
//! | file | owns |
//! |------|------|
//! | `manager` | claims clusters (advisory locks, fair share), starts/stops supervisors |
//! | `supervisor` | one cluster: connect, discover, status; a connected session runs the watchers, probe and backstop |
//! | `watch` | one kind's watcher: the shell that polls the stream and performs the lifecycle's effects |
//! | `lifecycle` | a watch's life as a pure state machine: permits, relist as mark-and-sweep, drift, backoff |
//! | `writer` | the single batching writer |
//! | `metrics` | what ingest measures: writer counters, batch commit and LIST durations |
//! | `discovery`, `status`, `backoff` | served kinds; cluster state; retry policy |
//! | `actions` | reconcile / suspend / resume / force / reset patches |

pub mod actions;
pub mod backoff;
mod discovery;
mod lifecycle;
mod manager;
pub mod metrics;
pub mod status;
mod supervisor;
pub mod watch;
pub mod writer;

use std::time::Duration;

pub use manager::spawn;
pub use metrics::{IngestMetrics, ListMetrics, WriterMetrics};

/// Ingest timing and identity, from [`crate::config::IngestConfig`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// This replica's id (for claims and `cluster_status.watched_by`).
    pub replica: String,
    /// Server-side watch timeout, seconds (≤ 60).
    pub watch_timeout_secs: u32,
    /// Read timeout of kube clients (must exceed the watch timeout).
    pub read_timeout: Duration,
    /// Period of the backstop relist.
    pub resync_interval: Duration,
    /// Period of re-discovery (CRDs installed later are picked up).
    pub rediscover_interval: Duration,
    /// Period of the claim/heartbeat loop.
    pub claim_interval: Duration,
    /// Capacity of the writer queue.
    pub writer_queue: usize,
    /// Permits for full LISTs in flight, shared by every watch of this replica.
    pub lists: std::sync::Arc<tokio::sync::Semaphore>,
    /// Most ops per batch.
    pub writer_batch: usize,
    /// How long controller events are kept.
    pub events_retention: Duration,
    /// Period of the liveness probe of each watched cluster (`GET /version`).
    pub probe_interval: Duration,
    /// Deadline of one probe; two probes in a row without an answer mark the cluster
    /// unreachable, and only an answer brings it back.
    pub probe_timeout: Duration,
}
