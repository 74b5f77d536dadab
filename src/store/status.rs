//! `cluster_status`: written by the ingest supervisor that watches a cluster, read by the API.
//! Every write notifies `cluster_status` with the cluster id, so live fan-out can push it.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Result, Store};

/// Channel announcing cluster status changes; the payload is the cluster id.
pub const CLUSTER_STATUS_CHANNEL: &str = "cluster_status";

/// A cluster's connection and watch status.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterStatusRow {
    /// Cluster.
    pub cluster_id: Uuid,
    /// `connecting`, `ready`, `degraded`, `unreachable`, `unauthorized` or `forbidden`.
    pub state: String,
    /// Why (empty when ready), in words every viewer may read: no text from the remote end.
    pub message: String,
    /// Why, in full: may quote the remote end's response, so the API shows it to admins only.
    pub detail: String,
    /// Apiserver `gitVersion`.
    pub kubernetes_version: Option<String>,
    /// Flux version, from its namespace label.
    pub flux_version: Option<String>,
    /// Per kind: `{"state": ..., "version": ..., "message": ..., "detail": ...}` (`detail` as
    /// above: admins only).
    pub kinds: serde_json::Value,
    /// Newest watch event received.
    pub last_event_at: Option<DateTime<Utc>>,
    /// Last completed backstop relist.
    pub last_resync_at: Option<DateTime<Utc>>,
    /// Rows backstop relists had to correct, ever (should stay 0).
    pub resync_drift_total: i64,
    /// Replica that watches it.
    pub watched_by: Option<String>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
    /// When the watching replica tries again (a failing kind, or the connection), if it is
    /// waiting; `POST /clusters/{id}/sync` retries at once.
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// Columns for [`ClusterStatusRow::from_row`], aliasing `cluster_status` as `s`.
pub const STATUS_COLUMNS: &str = "s.cluster_id, s.state, s.message, s.kubernetes_version, s.flux_version, \
     s.kinds, s.last_event_at, s.last_resync_at, s.resync_drift_total, s.watched_by, s.updated_at, s.detail, s.next_retry_at";

impl ClusterStatusRow {
    /// Map a row selected with [`STATUS_COLUMNS`] starting at column `at`.
    pub fn from_row_at(row: &Row, at: usize) -> ClusterStatusRow {
        ClusterStatusRow {
            cluster_id: row.get(at),
            state: row.get(at + 1),
            message: row.get(at + 2),
            kubernetes_version: row.get(at + 3),
            flux_version: row.get(at + 4),
            kinds: row.get(at + 5),
            last_event_at: row.get(at + 6),
            last_resync_at: row.get(at + 7),
            resync_drift_total: row.get(at + 8),
            watched_by: row.get(at + 9),
            updated_at: row.get(at + 10),
            detail: row.get(at + 11),
            next_retry_at: row.get(at + 12),
        }
    }
}

/// A status write from a supervisor (drift is counted by the writer, not here).
#[derive(Debug, Clone, Default)]
pub struct StatusUpdate {
    /// See [`ClusterStatusRow`].
    pub state: String,
    /// See [`ClusterStatusRow`].
    pub message: String,
    /// See [`ClusterStatusRow`].
    pub detail: String,
    /// See [`ClusterStatusRow`].
    pub kubernetes_version: Option<String>,
    /// See [`ClusterStatusRow`].
    pub flux_version: Option<String>,
    /// See [`ClusterStatusRow`].
    pub kinds: serde_json::Value,
    /// See [`ClusterStatusRow`].
    pub last_event_at: Option<DateTime<Utc>>,
    /// See [`ClusterStatusRow`].
    pub last_resync_at: Option<DateTime<Utc>>,
    /// See [`ClusterStatusRow`].
    pub watched_by: Option<String>,
    /// See [`ClusterStatusRow`].
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Write a cluster's status and notify. A cluster deleted meanwhile is ignored.
    pub async fn set_cluster_status(&self, cluster_id: Uuid, s: &StatusUpdate) -> Result<()> {
        let conn = self.conn().await?;
        let written = conn
            .execute(
                "INSERT INTO cluster_status (cluster_id, state, message, kubernetes_version, flux_version, kinds, \
                 last_event_at, last_resync_at, watched_by, detail, next_retry_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() WHERE EXISTS (SELECT 1 FROM clusters WHERE id = $1) \
                 ON CONFLICT (cluster_id) DO UPDATE SET state = EXCLUDED.state, message = EXCLUDED.message, \
                 detail = EXCLUDED.detail, \
                 kubernetes_version = EXCLUDED.kubernetes_version, flux_version = EXCLUDED.flux_version, \
                 kinds = EXCLUDED.kinds, last_event_at = EXCLUDED.last_event_at, \
                 last_resync_at = EXCLUDED.last_resync_at, watched_by = EXCLUDED.watched_by, \
                 next_retry_at = EXCLUDED.next_retry_at, updated_at = now()",
                &[
                    &cluster_id,
                    &s.state,
                    &s.message,
                    &s.kubernetes_version,
                    &s.flux_version,
                    &s.kinds,
                    &s.last_event_at,
                    &s.last_resync_at,
                    &s.watched_by,
                    &s.detail,
                    &s.next_retry_at,
                ],
            )
            .await?;
        if written > 0 {
            conn.execute(
                "SELECT pg_notify($1, $2)",
                &[&CLUSTER_STATUS_CHANNEL, &cluster_id.to_string()],
            )
            .await?;
        }
        Ok(())
    }

    /// One cluster's status, if a supervisor has written it.
    pub async fn cluster_status(&self, cluster_id: Uuid) -> Result<Option<ClusterStatusRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {STATUS_COLUMNS} FROM cluster_status s WHERE s.cluster_id = $1");
        Ok(conn
            .query_opt(&sql, &[&cluster_id])
            .await?
            .map(|r| ClusterStatusRow::from_row_at(&r, 0)))
    }

    /// Delete controller events last seen before `older_than` ago; returns how many.
    pub async fn prune_events(&self, older_than: std::time::Duration) -> Result<u64> {
        let conn = self.conn().await?;
        let secs = older_than.as_secs_f64();
        Ok(conn
            .execute(
                "DELETE FROM flux_events WHERE COALESCE(last_seen, first_seen, now()) < now() - make_interval(secs => $1::float8)",
                &[&secs],
            )
            .await?)
    }

    /// Every cluster's status.
    pub async fn cluster_statuses(&self) -> Result<Vec<ClusterStatusRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {STATUS_COLUMNS} FROM cluster_status s");
        Ok(conn
            .query(&sql, &[])
            .await?
            .iter()
            .map(|r| ClusterStatusRow::from_row_at(r, 0))
            .collect())
    }
}
