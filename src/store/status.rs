//! `cluster_status`: written by the ingest supervisor that watches a cluster, read by the API.
//! Every write notifies `cluster_status` with the cluster id, so live fan-out can push it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::types::column;
use super::{Result, Store};
use crate::flux::{ClusterState, KindStatus};

/// Channel announcing cluster status changes; the payload is the cluster id.
pub const CLUSTER_STATUS_CHANNEL: &str = "cluster_status";

/// A cluster's connection and watch status.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterStatusRow {
    /// Cluster.
    pub cluster_id: Uuid,
    /// The connection state.
    pub state: ClusterState,
    /// Why (empty when ready), in words every viewer may read: no text from the remote end.
    pub message: String,
    /// Why, in full: may quote the remote end's response, so the API shows it to admins only.
    pub detail: String,
    /// Apiserver `gitVersion`.
    pub kubernetes_version: Option<String>,
    /// Flux version, from its namespace label.
    pub flux_version: Option<String>,
    /// Per kind (plus `Event`): its watch status.
    pub kinds: BTreeMap<String, KindWatchStatus>,
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

/// One kind's watch status, as stored per kind in `cluster_status.kinds` (JSON, e.g.
/// `{"state": "watching", "version": "v1"}`): written by the supervisor, read by the API and
/// by actions (which patch at the watched `version`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindWatchStatus {
    /// The watch state.
    pub state: KindStatus,
    /// The API version watched (absent when the kind is not served).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why it fails: the HTTP status and our words, never text the cluster's server sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why it fails, in full: may quote the server's answer, so the API shows it to admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the failing watch is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
}

impl KindWatchStatus {
    /// A status without a failure.
    pub fn new(state: KindStatus, version: Option<String>) -> KindWatchStatus {
        KindWatchStatus {
            state,
            version,
            message: None,
            detail: None,
            retry_at: None,
        }
    }
}

/// Columns for [`ClusterStatusRow::from_row_at`], aliasing `cluster_status` as `s`.
pub const STATUS_COLUMNS: &str = "s.cluster_id, s.state, s.message, s.kubernetes_version, s.flux_version, \
     s.kinds, s.last_event_at, s.last_resync_at, s.resync_drift_total, s.watched_by, s.updated_at, s.detail, s.next_retry_at";

impl ClusterStatusRow {
    /// Map a row selected with [`STATUS_COLUMNS`] starting at column `at`.
    pub fn from_row_at(row: &Row, at: usize) -> Result<ClusterStatusRow> {
        Ok(ClusterStatusRow {
            cluster_id: row.get(at),
            state: column(row, at + 1)?,
            message: row.get(at + 2),
            kubernetes_version: row.get(at + 3),
            flux_version: row.get(at + 4),
            kinds: column::<Json<_>>(row, at + 5)?.0,
            last_event_at: row.get(at + 6),
            last_resync_at: row.get(at + 7),
            resync_drift_total: row.get(at + 8),
            watched_by: row.get(at + 9),
            updated_at: row.get(at + 10),
            detail: row.get(at + 11),
            next_retry_at: row.get(at + 12),
        })
    }
}

/// A status write from a supervisor (drift is counted by the writer, not here).
#[derive(Debug, Clone, Default)]
pub struct StatusUpdate {
    /// See [`ClusterStatusRow`].
    pub state: ClusterState,
    /// See [`ClusterStatusRow`].
    pub message: String,
    /// See [`ClusterStatusRow`].
    pub detail: String,
    /// See [`ClusterStatusRow`].
    pub kubernetes_version: Option<String>,
    /// See [`ClusterStatusRow`].
    pub flux_version: Option<String>,
    /// See [`ClusterStatusRow`].
    pub kinds: BTreeMap<String, KindWatchStatus>,
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
                    &Json(&s.kinds),
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
        conn.query_opt(&sql, &[&cluster_id])
            .await?
            .map(|r| ClusterStatusRow::from_row_at(&r, 0))
            .transpose()
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
        conn.query(&sql, &[])
            .await?
            .iter()
            .map(|r| ClusterStatusRow::from_row_at(r, 0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kind_watches_are_stored_as_the_json_written_before_they_were_typed() {
        let v = |w: &KindWatchStatus| serde_json::to_value(w).expect("json");
        assert_eq!(
            v(&KindWatchStatus::new(KindStatus::Absent, None)),
            json!({"state": "absent"})
        );
        assert_eq!(
            v(&KindWatchStatus::new(
                KindStatus::Watching,
                Some("v1".into())
            )),
            json!({"state": "watching", "version": "v1"})
        );
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let failing = KindWatchStatus {
            message: Some("403 Forbidden".into()),
            detail: Some("the server said no".into()),
            retry_at: Some(at),
            ..KindWatchStatus::new(KindStatus::Forbidden, Some("v2".into()))
        };
        let stored = json!({"state": "forbidden", "version": "v2", "message": "403 Forbidden",
                            "detail": "the server said no", "retryAt": "2027-01-15T08:00:00Z"});
        assert_eq!(v(&failing), stored);
        assert_eq!(
            serde_json::from_value::<KindWatchStatus>(stored).expect("read back"),
            failing
        );
        assert!(serde_json::from_value::<KindWatchStatus>(json!({"state": "sleeping"})).is_err());
    }
}
