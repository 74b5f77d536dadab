//! The process-wide metrics registry: named counters and gauges backed by atomics, rendered in
//! the Prometheus text format at `GET /metrics`.
//!
//! A module registers what it counts once, at start-up, and keeps the returned handles
//! (cheap clones of an `Arc`); incrementing is a relaxed atomic add. Registering the same name
//! and labels twice returns the same series, so handles can be re-created freely.
//!
//! ```
//! use flux_orchestrator::metrics::Metrics;
//! let metrics = Metrics::default();
//! let sent = metrics.counter("fluxo_example_sent_total", "Frames sent.");
//! sent.inc();
//! assert!(metrics.render().contains("fluxo_example_sent_total 1"));
//! ```

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A monotonically increasing count.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Add one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Add `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Set the value.
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// Add `n` (may be negative).
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
enum Value {
    Counter(Counter),
    Gauge(Gauge),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Counter(c) => c.get().to_string(),
            Value::Gauge(g) => g.get().to_string(),
        }
    }
}

/// One metric name with its help text and every labelled series.
#[derive(Debug)]
struct Family {
    name: String,
    help: String,
    kind: &'static str,
    /// (rendered label set such as `reason="slow"`, value)
    series: Vec<(String, Value)>,
}

/// The registry. Written at registration (start-up), read by `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    families: Mutex<Vec<Family>>,
}

fn label_text(labels: &[(&str, &str)]) -> String {
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    parts.join(",")
}

impl Metrics {
    /// A counter without labels.
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        self.counter_with(name, help, &[])
    }

    /// A counter series with labels, e.g. `&[("reason", "slow")]`.
    pub fn counter_with(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Counter {
        let made = self.series(name, help, "counter", labels, || {
            Value::Counter(Counter::default())
        });
        match made {
            Value::Counter(c) => c,
            // The name is registered as a gauge: hand out a detached counter rather than fail.
            Value::Gauge(_) => Counter::default(),
        }
    }

    /// A gauge without labels.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.gauge_with(name, help, &[])
    }

    /// A gauge series with labels.
    pub fn gauge_with(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Gauge {
        match self.series(name, help, "gauge", labels, || {
            Value::Gauge(Gauge::default())
        }) {
            Value::Gauge(g) => g,
            Value::Counter(_) => Gauge::default(),
        }
    }

    fn series(
        &self,
        name: &str,
        help: &str,
        kind: &'static str,
        labels: &[(&str, &str)],
        new: impl Fn() -> Value,
    ) -> Value {
        let labels = label_text(labels);
        // A poisoned lock only means another registration panicked; the data is still valid.
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let index = match families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                families.push(Family {
                    name: name.to_string(),
                    help: help.to_string(),
                    kind,
                    series: Vec::new(),
                });
                families.len() - 1
            }
        };
        let family = &mut families[index];
        if let Some((_, value)) = family.series.iter().find(|(l, _)| *l == labels) {
            return value.clone();
        }
        let value = new();
        family.series.push((labels, value.clone()));
        value
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for f in families.iter() {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help.replace('\n', " "));
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
            for (labels, value) in &f.series {
                let _ = if labels.is_empty() {
                    writeln!(out, "{} {}", f.name, value.text())
                } else {
                    writeln!(out, "{}{{{labels}}} {}", f.name, value.text())
                };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_render_with_help_type_and_labels() {
        let m = Metrics::default();
        m.counter_with(
            "fluxo_resyncs_total",
            "Resyncs sent.",
            &[("reason", "slow")],
        )
        .add(2);
        m.counter_with(
            "fluxo_resyncs_total",
            "Resyncs sent.",
            &[("reason", "too_old")],
        )
        .inc();
        m.gauge("fluxo_subscribers", "Connected subscribers.")
            .set(-1);
        let text = m.render();
        assert_eq!(
            text,
            "# HELP fluxo_resyncs_total Resyncs sent.\n# TYPE fluxo_resyncs_total counter\n\
             fluxo_resyncs_total{reason=\"slow\"} 2\nfluxo_resyncs_total{reason=\"too_old\"} 1\n\
             # HELP fluxo_subscribers Connected subscribers.\n# TYPE fluxo_subscribers gauge\nfluxo_subscribers -1\n"
        );
    }

    #[test]
    fn registering_twice_returns_the_same_series() {
        let m = Metrics::default();
        m.counter("a_total", "A.").inc();
        m.counter("a_total", "A.").inc();
        assert_eq!(m.counter("a_total", "A.").get(), 2);
        assert_eq!(m.render().matches("# TYPE a_total").count(), 1);
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.gauge_with("g", "G.", &[("v", "a\"b\\c")]).set(1);
        assert!(
            m.render().contains("g{v=\"a\\\"b\\\\c\"} 1"),
            "{}",
            m.render()
        );
    }
}
