//! `/api/v1/stats`: counts for the fleet overview — by cluster × kind × health, fleet totals,
//! and each cluster's connection status.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::clusters::ClusterStatus;
use super::error::ApiError;
use super::history;
use super::{ApiTags, AppState};
use crate::flux::Health;
use crate::store::queries::{ClusterOverviewRow, Counted, FleetCounts, HealthCountRow};

/// Resources per health verdict.
#[derive(Object, Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCounts {
    /// All of them.
    pub total: i64,
    /// Ready.
    pub ready: i64,
    /// Progressing.
    pub progressing: i64,
    /// Failed.
    pub failed: i64,
    /// Stalled.
    pub stalled: i64,
    /// Suspended.
    pub suspended: i64,
    /// Unknown.
    pub unknown: i64,
}

impl HealthCounts {
    fn add(&mut self, health: Health, n: i64) {
        self.total += n;
        *match health {
            Health::Ready => &mut self.ready,
            Health::Progressing => &mut self.progressing,
            Health::Failed => &mut self.failed,
            Health::Stalled => &mut self.stalled,
            Health::Suspended => &mut self.suspended,
            Health::Unknown => &mut self.unknown,
        } += n;
    }
}

/// Counts of one kind.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct KindCounts {
    /// Kind, e.g. `Kustomization`.
    pub kind: String,
    /// Its resources per health.
    pub health: HealthCounts,
}

/// One cluster in the overview.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ClusterStats {
    /// Cluster id.
    pub id: Uuid,
    /// Cluster name.
    pub name: String,
    /// Connection and watch status; null until the ingest has reported on the cluster.
    pub status: Option<ClusterStatus>,
    /// Its resources per health.
    pub health: HealthCounts,
    /// Its resources per kind and health, by kind.
    pub kinds: Vec<KindCounts>,
    /// Its workloads (the objects Flux applies) per health.
    pub workloads: HealthCounts,
    /// Its Flux objects that own workloads, per the roll-up of their workloads' health
    /// (`workloadHealth`): `failed` counts objects with a failed workload.
    pub workload_health: HealthCounts,
}

/// The fleet overview.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct FleetStats {
    /// All Flux objects per health.
    pub health: HealthCounts,
    /// All Flux objects per kind and health, by kind.
    pub kinds: Vec<KindCounts>,
    /// All workloads (the objects Flux applies) per health.
    pub workloads: HealthCounts,
    /// Flux objects that own workloads, per the roll-up of their workloads' health.
    pub workload_health: HealthCounts,
    /// Every registered cluster, by name, with its counts.
    pub clusters: Vec<ClusterStats>,
    /// The time the counts show the fleet at (`asOf`; clusters then have no status); null
    /// for the live fleet.
    #[oai(rename = "asOf")]
    pub as_of: Option<DateTime<Utc>>,
}

fn kind_list(kinds: BTreeMap<String, HealthCounts>) -> Vec<KindCounts> {
    kinds
        .into_iter()
        .map(|(kind, health)| KindCounts { kind, health })
        .collect()
}

/// Counts folded from rows: Flux objects in total and per kind, workloads, roll-ups.
#[derive(Default)]
struct Folded {
    health: HealthCounts,
    kinds: BTreeMap<String, HealthCounts>,
    workloads: HealthCounts,
    workload_health: HealthCounts,
}

impl Folded {
    fn of<'a>(rows: impl Iterator<Item = &'a HealthCountRow>) -> Folded {
        let mut f = Folded::default();
        for row in rows {
            match row.of {
                Counted::Flux => {
                    f.health.add(row.health, row.count);
                    let kind = f.kinds.entry(row.kind.clone()).or_default();
                    kind.add(row.health, row.count);
                }
                Counted::Workloads => f.workloads.add(row.health, row.count),
                Counted::RollUp => f.workload_health.add(row.health, row.count),
            }
        }
        f
    }
}

fn cluster_stats(c: ClusterOverviewRow, counts: &[HealthCountRow]) -> ClusterStats {
    let f = Folded::of(counts.iter().filter(|r| r.cluster_id == c.id));
    ClusterStats {
        id: c.id,
        name: c.name,
        status: c.status.map(ClusterStatus::from),
        health: f.health,
        kinds: kind_list(f.kinds),
        workloads: f.workloads,
        workload_health: f.workload_health,
    }
}

/// Fold the per cluster × kind × health counts into the overview.
pub fn fleet_stats(rows: FleetCounts) -> FleetStats {
    let f = Folded::of(rows.counts.iter());
    let clusters = rows
        .clusters
        .into_iter()
        .map(|c| cluster_stats(c, &rows.counts))
        .collect();
    FleetStats {
        health: f.health,
        kinds: kind_list(f.kinds),
        workloads: f.workloads,
        workload_health: f.workload_health,
        clusters,
        as_of: None,
    }
}

#[derive(ApiResponse)]
enum StatsResponse {
    /// The overview.
    #[oai(status = 200)]
    Ok(Json<FleetStats>),
}

/// The fleet overview endpoint.
pub struct StatsApi;

#[OpenApi(prefix_path = "/api/v1/stats", tag = "ApiTags::Stats")]
impl StatsApi {
    /// Fleet overview
    ///
    /// Resource counts by cluster, kind and health, read in one consistent snapshot, with each
    /// cluster's watch status; with `asOf`, of the fleet as it was then (rebuilt from the
    /// change log, without cluster status).
    #[oai(path = "/", method = "get", operation_id = "getStats")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&crate::auth::Principal>,
        /// Count the fleet as it was at this time (RFC 3339); before the oldest retained
        /// change 410 `history_pruned`.
        #[oai(name = "asOf")]
        as_of: Query<Option<DateTime<Utc>>>,
    ) -> Result<StatsResponse, ApiError> {
        let mut rows = match as_of.0 {
            Some(at) => {
                history::reachable(&state, at).await?;
                state.store.fleet_counts_as_of(at).await?
            }
            None => state.store.fleet_counts().await?,
        };
        if let Some(scope) = principal.scope.as_ref() {
            // A scoped caller's fleet is the clusters in its scope.
            let allowed: std::collections::HashSet<uuid::Uuid> = state
                .registry
                .list()
                .await?
                .into_iter()
                .filter(|c| crate::auth::in_scope(Some(scope), &c.labels))
                .map(|c| c.id)
                .collect();
            rows.clusters.retain(|c| allowed.contains(&c.id));
            rows.counts.retain(|r| allowed.contains(&r.cluster_id));
        }
        let stats = FleetStats {
            as_of: as_of.0,
            ..fleet_stats(rows)
        };
        Ok(StatsResponse::Ok(Json(stats)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::vocabulary::ClusterState;
    use crate::flux;
    use crate::store::ClusterStatusRow;

    fn count(cluster: u128, kind: &str, health: Health, count: i64) -> HealthCountRow {
        HealthCountRow {
            cluster_id: Uuid::from_u128(cluster),
            kind: kind.into(),
            health,
            of: Counted::Flux,
            count,
        }
    }

    #[test]
    fn workloads_and_roll_ups_are_counted_apart_from_flux_objects() {
        let of = |row: HealthCountRow, of: Counted| HealthCountRow { of, ..row };
        let rows = FleetCounts {
            counts: vec![
                count(1, "Kustomization", Health::Ready, 2),
                of(
                    count(1, "Deployment", Health::Failed, 1),
                    Counted::Workloads,
                ),
                of(count(1, "Service", Health::Ready, 4), Counted::Workloads),
                of(
                    count(1, "Kustomization", Health::Failed, 1),
                    Counted::RollUp,
                ),
            ],
            clusters: vec![cluster(1, "a", None)],
        };
        let stats = fleet_stats(rows);
        assert_eq!((stats.health.total, stats.kinds.len()), (2, 1));
        assert_eq!((stats.workloads.total, stats.workloads.failed), (5, 1));
        assert_eq!(stats.workload_health.failed, 1);
        let a = &stats.clusters[0];
        assert_eq!((a.workloads.total, a.workload_health.failed), (5, 1));
    }

    fn cluster(id: u128, name: &str, state: Option<flux::ClusterState>) -> ClusterOverviewRow {
        let status = state.map(|state| ClusterStatusRow {
            cluster_id: Uuid::from_u128(id),
            state,
            message: String::new(),
            detail: String::new(),
            kubernetes_version: Some("v1.31.0".into()),
            flux_version: None,
            kinds: Default::default(),
            last_event_at: None,
            last_resync_at: None,
            resync_drift_total: 0,
            watched_by: None,
            updated_at: chrono::Utc::now(),
            next_retry_at: None,
        });
        ClusterOverviewRow {
            id: Uuid::from_u128(id),
            name: name.into(),
            status,
        }
    }

    #[test]
    fn counts_fold_into_fleet_kind_and_cluster_totals() {
        let rows = FleetCounts {
            counts: vec![
                count(1, "HelmRelease", Health::Failed, 2),
                count(1, "Kustomization", Health::Ready, 5),
                count(2, "Kustomization", Health::Ready, 1),
                count(2, "Kustomization", Health::Stalled, 3),
            ],
            clusters: vec![
                cluster(1, "a", Some(flux::ClusterState::Ready)),
                cluster(2, "b", None),
                cluster(3, "empty", Some(flux::ClusterState::Unreachable)),
            ],
        };
        let stats = fleet_stats(rows);
        assert_eq!(
            (
                stats.health.total,
                stats.health.ready,
                stats.health.failed,
                stats.health.stalled
            ),
            (11, 6, 2, 3)
        );
        assert_eq!(stats.kinds.len(), 2);
        assert_eq!(
            (stats.kinds[1].kind.as_str(), stats.kinds[1].health.total),
            ("Kustomization", 9)
        );
        let [a, b, empty] = &stats.clusters[..] else {
            panic!("three clusters")
        };
        assert_eq!((a.health.total, a.kinds.len()), (7, 2));
        let status = a.status.as_ref().expect("status");
        assert_eq!(
            (status.state, status.kubernetes_version.as_deref()),
            (ClusterState::Ready, Some("v1.31.0"))
        );
        assert_eq!((b.health.stalled, b.status.is_none()), (3, true));
        assert_eq!((empty.health.total, empty.kinds.len()), (0, 0));
    }
}
