//! The fleet's objects by health as Prometheus gauges, for existing dashboards and alert
//! rules: `fluxo_cluster_objects{cluster, health}` and `fluxo_kind_objects{kind, health}`.
//!
//! Counted at each scrape from the same snapshot `/api/v1/stats` reads (`Store::fleet_counts`),
//! so the two always agree and nothing has to keep a running count in step with the writer.
//! Cardinality is bounded: registered clusters × 6 and Flux kinds × 6, never an object. Every
//! health of a cluster or kind is exported, zeros included, so `failed > 0` style rules see a
//! 0 rather than a missing series; a deleted cluster's series go at the next scrape.

use crate::flux::Health;
use crate::metrics::{EncodeLabelSet, Family, Gauge, Metrics};
use crate::store::queries::{Counted, FleetCounts};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterHealth {
    /// The cluster's name (bounded by the registry).
    cluster: String,
    health: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindHealth {
    /// A kind of the stored objects (the Flux catalogue).
    kind: String,
    health: &'static str,
}

/// The gauges. Registered at start-up; written and read by `/metrics`, one scrape at a time
/// (`scrape`), so a scrape never renders another's half-written counts.
#[derive(Debug)]
pub struct FleetGauges {
    clusters: Family<ClusterHealth, Gauge>,
    kinds: Family<KindHealth, Gauge>,
    /// Held from counting to rendering.
    pub scrape: tokio::sync::Mutex<()>,
}

impl FleetGauges {
    /// Register the series in `m`.
    pub fn register(m: &Metrics) -> FleetGauges {
        FleetGauges {
            clusters: m.register(
                "fluxo_cluster_objects",
                "Flux objects per registered cluster and health, counted at each scrape as \
                 /api/v1/stats counts them.",
                Family::default(),
            ),
            kinds: m.register(
                "fluxo_kind_objects",
                "Flux objects of the whole fleet per kind and health, counted at each scrape \
                 as /api/v1/stats counts them.",
                Family::default(),
            ),
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// Replace every value with `counts` (every registered cluster, every kind present).
    pub fn set(&self, counts: &FleetCounts) {
        self.clear();
        let names: std::collections::HashMap<_, _> = counts
            .clusters
            .iter()
            .map(|c| (c.id, c.name.as_str()))
            .collect();
        for c in &counts.clusters {
            for h in Health::SEVERITY {
                self.clusters
                    .get_or_create(&cluster(c.name.as_str(), h))
                    .set(0);
            }
        }
        // Flux objects only: workloads and roll-ups are counted for /api/v1/stats alone.
        for row in counts.counts.iter().filter(|r| r.of == Counted::Flux) {
            for h in Health::SEVERITY {
                self.kinds.get_or_create(&kind(&row.kind, h)).inc_by(0);
            }
            self.kinds
                .get_or_create(&kind(&row.kind, row.health))
                .inc_by(row.count);
            if let Some(name) = names.get(&row.cluster_id) {
                self.clusters
                    .get_or_create(&cluster(name, row.health))
                    .inc_by(row.count);
            }
        }
    }

    /// Drop every series (the counts could not be read: no value beats a stale one).
    pub fn clear(&self) {
        self.clusters.clear();
        self.kinds.clear();
    }
}

fn cluster(name: &str, health: Health) -> ClusterHealth {
    ClusterHealth {
        cluster: name.to_string(),
        health: health.as_str(),
    }
}

fn kind(kind: &str, health: Health) -> KindHealth {
    KindHealth {
        kind: kind.to_string(),
        health: health.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::{ClusterOverviewRow, Counted, HealthCountRow};
    use uuid::Uuid;

    fn row(cluster: u128, kind: &str, health: Health, count: i64) -> HealthCountRow {
        HealthCountRow {
            cluster_id: Uuid::from_u128(cluster),
            kind: kind.into(),
            health,
            of: Counted::Flux,
            count,
        }
    }

    fn cluster_row(id: u128, name: &str) -> ClusterOverviewRow {
        ClusterOverviewRow {
            id: Uuid::from_u128(id),
            name: name.into(),
            status: None,
        }
    }

    #[test]
    fn counts_become_per_cluster_and_per_kind_series_with_zeros_and_nothing_stale() {
        let m = Metrics::default();
        let g = FleetGauges::register(&m);
        g.set(&FleetCounts {
            counts: vec![
                row(1, "HelmRelease", Health::Failed, 2),
                row(1, "Kustomization", Health::Ready, 5),
                row(2, "Kustomization", Health::Ready, 1),
            ],
            clusters: vec![
                cluster_row(1, "prod"),
                cluster_row(2, "dev"),
                cluster_row(3, "gone"),
            ],
        });
        let text = m.render();
        for line in [
            "fluxo_cluster_objects{cluster=\"prod\",health=\"failed\"} 2",
            "fluxo_cluster_objects{cluster=\"prod\",health=\"ready\"} 5",
            "fluxo_cluster_objects{cluster=\"dev\",health=\"ready\"} 1",
            "fluxo_cluster_objects{cluster=\"dev\",health=\"failed\"} 0",
            "fluxo_kind_objects{kind=\"Kustomization\",health=\"ready\"} 6",
            "fluxo_kind_objects{kind=\"HelmRelease\",health=\"failed\"} 2",
            "fluxo_kind_objects{kind=\"HelmRelease\",health=\"stalled\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}:\n{text}");
        }
        assert_eq!(text.matches("fluxo_cluster_objects{").count(), 18, "{text}");
        g.set(&FleetCounts {
            counts: vec![row(2, "Kustomization", Health::Failed, 1)],
            clusters: vec![cluster_row(2, "dev")],
        });
        let text = m.render();
        assert!(
            !text.contains("prod") && !text.contains("HelmRelease"),
            "{text}"
        );
        assert!(text.contains("fluxo_cluster_objects{cluster=\"dev\",health=\"failed\"} 1"));
    }
}
