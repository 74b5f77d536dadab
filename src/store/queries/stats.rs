//! Counts for the fleet overview, read in one snapshot so that the totals agree.

use tokio_postgres::IsolationLevel;
use uuid::Uuid;

use crate::flux::Health;
use crate::store::types::column;
use crate::store::{ClusterStatusRow, Result, STATUS_COLUMNS, Store};

/// How many resources of one kind in one cluster have one health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCountRow {
    /// Cluster.
    pub cluster_id: Uuid,
    /// Kind.
    pub kind: String,
    /// Health (for [`Counted::RollUp`], the roll-up).
    pub health: Health,
    /// What is counted.
    pub of: Counted,
    /// Number of resources.
    pub count: i64,
}

/// What a [`HealthCountRow`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Flux objects by their health.
    Flux,
    /// Workloads by their health.
    Workloads,
    /// Flux objects that own workloads, by the roll-up of their workloads' health.
    RollUp,
}

/// A registered cluster with its status, if the ingest has written one.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOverviewRow {
    /// Cluster id.
    pub id: Uuid,
    /// Cluster name.
    pub name: String,
    /// Status written by the replica that watches it; `None` before the first write.
    pub status: Option<ClusterStatusRow>,
}

/// Everything the overview needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetCounts {
    /// Counts by cluster × kind × health (only non-zero combinations), of Flux objects,
    /// workloads and roll-ups.
    pub counts: Vec<HealthCountRow>,
    /// Every registered cluster, by name.
    pub clusters: Vec<ClusterOverviewRow>,
}

impl Store {
    /// Counts by cluster × kind × health and every cluster's status, from one snapshot.
    pub async fn fleet_counts(&self) -> Result<FleetCounts> {
        let mut conn = self.read_conn().await?;
        let tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let counts = tx
            .query(
                "SELECT cluster_id, kind, health, CASE WHEN workload THEN 1 ELSE 0 END, count(*) \
                 FROM flux_resources GROUP BY 1, 2, 3, 4 \
                 UNION ALL SELECT cluster_id, kind, workload_health, 2, count(*) FROM flux_resources \
                 WHERE workload_health IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 4, 1, 2, 3",
                &[],
            )
            .await?;
        let sql = format!(
            "SELECT c.id, c.name, {STATUS_COLUMNS} FROM clusters c \
             LEFT JOIN cluster_status s ON s.cluster_id = c.id ORDER BY c.name"
        );
        let clusters = tx.query(&sql, &[]).await?;
        tx.commit().await?;
        let counts = counts
            .iter()
            .map(|r| {
                Ok(HealthCountRow {
                    cluster_id: r.get(0),
                    kind: r.get(1),
                    health: column(r, 2)?,
                    of: match r.get::<_, i32>(3) {
                        0 => Counted::Flux,
                        1 => Counted::Workloads,
                        _ => Counted::RollUp,
                    },
                    count: r.get(4),
                })
            })
            .collect::<Result<_>>()?;
        let clusters = clusters
            .iter()
            .map(|r| {
                Ok(ClusterOverviewRow {
                    id: r.get(0),
                    name: r.get(1),
                    // `s.cluster_id` is NULL when the LEFT JOIN found no status row.
                    status: r
                        .get::<_, Option<Uuid>>(2)
                        .map(|_| ClusterStatusRow::from_row_at(r, 2))
                        .transpose()?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(FleetCounts { counts, clusters })
    }
}
