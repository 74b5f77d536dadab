//! The server's metrics registry (one per running app): the official `prometheus-client`
//! crate's [`Registry`] behind a lock, rendered at `GET /metrics` in the Prometheus text format,
//! version 0.0.4 (what every Prometheus scrapes; the crate writes it, not us).
//!
//! A module registers what it measures once, at start-up, and keeps the handles — the crate's
//! [`Counter`], [`Gauge`], [`Histogram`] and [`Family`] (labelled series), cheap clones of an
//! `Arc`. Names are given as exposed: a counter is registered as `…_total` (the crate adds the
//! suffix itself, so it is taken off first). Registering a name again hands back the first
//! handle, so handles can be re-created freely.
//!
//! Labels are bounded by construction: label values are `&'static str` from code (a reason, an
//! operation id of the spec, a kind of the Flux catalogue, a status class), never an object or
//! user. The one exception is the fleet gauges (`api/fleet_gauges.rs`): per registered
//! cluster by name, bounded by the registry.
//!
//! ```
//! use flux_orchestrator::metrics::Metrics;
//! let metrics = Metrics::default();
//! let sent = metrics.counter("fluxo_example_sent_total", "Frames sent.");
//! sent.inc();
//! assert!(metrics.render().contains("fluxo_example_sent_total 1"));
//! ```

use std::any::Any;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry};

pub use prometheus_client::encoding::EncodeLabelSet;
pub use prometheus_client::metrics::counter::Counter;
pub use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::Histogram;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// A gauge holding seconds (or any fraction).
pub type FloatGauge = Gauge<f64, AtomicU64>;

/// One fixed label, e.g. `[("reason", "slow")]`, for families whose values are all in code.
pub type Label = [(&'static str, &'static str); 1];

/// Histogram buckets in seconds for latencies inside the process or one round trip to the
/// database: 1 ms to 10 s.
pub const FAST_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Histogram buckets in seconds for work against remote servers (a LIST of a kind): 10 ms to
/// 5 minutes.
pub const SLOW_SECONDS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// A histogram over `buckets`; every series of a family gets the same.
pub fn histogram(buckets: &'static [f64]) -> Histogram {
    Histogram::new(buckets.iter().copied())
}

/// The registry. Written at registration (start-up), read by `/metrics`.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    registry: Registry,
    /// Handles by exposed name, so a second registration returns the first handle instead of
    /// exporting the name twice (which Prometheus refuses).
    handles: HashMap<String, Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Register `metric` as `name` (as exposed) with `help`; returns the handle to keep.
    pub fn register<M: Metric + Clone>(&self, name: &str, help: &str, metric: M) -> M {
        // A poisoned lock only means another registration panicked; the data is still valid.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = inner.handles.get(name) {
            if let Some(same) = existing.downcast_ref::<M>() {
                return same.clone();
            }
            tracing::warn!(
                name,
                "a metric name is registered twice with different types; the second is not exported"
            );
            return metric;
        }
        let base = match metric.metric_type() {
            MetricType::Counter => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        // The crate ends every help text with a full stop.
        let help = help.trim_end().trim_end_matches('.');
        inner.registry.register(base, help, metric.clone());
        inner
            .handles
            .insert(name.to_string(), Box::new(metric.clone()));
        metric
    }

    /// A counter without labels (`name` ends in `_total`).
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        self.register(name, help, Counter::default())
    }

    /// A gauge without labels.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.register(name, help, Gauge::default())
    }

    /// Series computed at each scrape (e.g. the database pools' state).
    pub fn collector(&self, collector: impl Collector) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.registry.register_collector(Box::new(collector));
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        // Writing to a String cannot fail, and the crate's encoders fail only when writing
        // fails; a failure would leave a partial text, which Prometheus reports.
        let _ = prometheus_text::encode(&mut out, &inner.registry);
        out
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
