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

use crate::config::IngestConfig;
use crate::flux::{self, WorkloadWatch};

pub use manager::spawn;
pub use metrics::{IngestMetrics, ListMetrics, WriterMetrics};

/// Ingest timing and identity, from [`IngestConfig`].
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
    /// Permits for full LISTs in flight, shared by every watch of this replica (workload
    /// watches included).
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
    /// The workload watches of every cluster that does not opt out (kind × owner family of
    /// `FLUXO_WORKLOAD_KINDS`); empty: workloads are not watched.
    pub workloads: Vec<&'static WorkloadWatch>,
}

/// The watches of the workload kinds `names` (kinds or plurals, any case; blanks ignored):
/// one per kind and owner family. Errs on a name that is no workload kind.
pub fn workload_watches(names: &[String]) -> Result<Vec<&'static WorkloadWatch>, String> {
    let mut kinds = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let kind = flux::workload_kind(name).ok_or_else(|| {
            let known: Vec<&str> = flux::WORKLOAD_KINDS.iter().map(|k| k.kind).collect();
            format!(
                "{name:?} is not a workload kind (one of {})",
                known.join(", ")
            )
        })?;
        kinds.push(kind);
    }
    Ok(flux::WORKLOAD_WATCHES
        .iter()
        .filter(|w| kinds.contains(&w.kind))
        .collect())
}

impl Settings {
    /// The ingest settings from the command line, with defaults resolved; builds the LIST
    /// permits every watch of this replica shares.
    pub fn from_config(c: &IngestConfig) -> Settings {
        let host = Some(c.hostname.trim())
            .filter(|h| !h.is_empty())
            .unwrap_or("replica");
        let replica = c.replica_id.clone().unwrap_or_else(|| {
            format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
        });
        // "Never" is ten years: far enough, and safe to add to an Instant.
        let resync = match c.resync_interval_secs {
            0 => 10 * 365 * 86_400,
            secs => secs,
        };
        Settings {
            replica,
            watch_timeout_secs: c.watch_timeout_secs,
            read_timeout: Duration::from_secs(
                c.kube_read_timeout_secs
                    .max(u64::from(c.watch_timeout_secs) + 2),
            ),
            resync_interval: Duration::from_secs(resync),
            rediscover_interval: Duration::from_secs(c.rediscover_interval_secs.max(1)),
            claim_interval: Duration::from_secs(c.claim_interval_secs.max(1)),
            writer_queue: c.writer_queue,
            writer_batch: c.writer_batch,
            lists: std::sync::Arc::new(tokio::sync::Semaphore::new(
                c.max_concurrent_lists as usize,
            )),
            events_retention: Duration::from_secs(c.events_retention_hours.max(1) * 3600),
            probe_interval: Duration::from_secs(c.probe_interval_secs),
            probe_timeout: Duration::from_secs(c.probe_timeout_secs),
            // Checked at start-up (`app`): a wrong name stops the server before this runs.
            workloads: workload_watches(&c.workload_kinds).unwrap_or_default(),
        }
    }
}
