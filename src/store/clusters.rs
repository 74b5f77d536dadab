//! Queries on the cluster registry. Credentials are written here but read only through
//! [`Store::cluster_credentials`], so no listing can carry them by accident.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::resources::{CHANGES_CHANNEL, LOG_LOCK};
use super::{Error, Result, Store};

/// Channel announcing registry changes (payload: cluster id), so every replica's ingest
/// manager starts, restarts or stops watchers at once.
pub const CLUSTERS_CHANNEL: &str = "fluxo_clusters";
/// Channel asking the replica that watches a cluster to relist it now (payload: cluster id).
pub const SYNC_CHANNEL: &str = "fluxo_cluster_sync";

/// A registered cluster, without its credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRow {
    /// Stable id.
    pub id: Uuid,
    /// Unique DNS-1123 label.
    pub name: String,
    /// Free text.
    pub description: String,
    /// `kubeconfig` or `in-cluster`.
    pub source: String,
    /// The API server URL.
    pub server_url: String,
    /// The kubeconfig context that was kept.
    pub context: String,
    /// TLS verification or plain HTTP was allowed explicitly.
    pub insecure: bool,
    /// Label map (string → string).
    pub labels: serde_json::Value,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// Whether the objects Flux applies (workloads) are watched on this cluster (the server's
    /// `FLUXO_WORKLOAD_KINDS` say which kinds); false: the cluster opted out.
    pub watch_workloads: bool,
}

/// A cluster to insert.
#[derive(Debug, Clone)]
pub struct NewCluster {
    /// See [`ClusterRow`].
    pub id: Uuid,
    /// See [`ClusterRow`].
    pub name: String,
    /// See [`ClusterRow`].
    pub description: String,
    /// See [`ClusterRow`].
    pub source: String,
    /// See [`ClusterRow`].
    pub server_url: String,
    /// See [`ClusterRow`].
    pub context: String,
    /// See [`ClusterRow`].
    pub insecure: bool,
    /// Encrypted credentials (sealed by `clusters::crypto`).
    pub credentials: Vec<u8>,
    /// See [`ClusterRow`].
    pub labels: serde_json::Value,
}

/// New connection details, replacing the old ones together.
#[derive(Debug, Clone)]
pub struct Connection {
    /// See [`ClusterRow`].
    pub server_url: String,
    /// See [`ClusterRow`].
    pub context: String,
    /// See [`ClusterRow`].
    pub insecure: bool,
    /// Encrypted credentials.
    pub credentials: Vec<u8>,
}

/// A partial update; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ClusterUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New labels (replace the whole map).
    pub labels: Option<serde_json::Value>,
    /// New kubeconfig-derived connection.
    pub connection: Option<Connection>,
    /// Watch workloads (true) or opt out (false).
    pub watch_workloads: Option<bool>,
}

const COLUMNS: &str = "id, name, description, source, server_url, context, insecure, labels, \
     created_at, updated_at, watch_workloads";

fn from_row(row: &Row) -> ClusterRow {
    ClusterRow {
        id: row.get(0),
        name: row.get(1),
        description: row.get(2),
        source: row.get(3),
        server_url: row.get(4),
        context: row.get(5),
        insecure: row.get(6),
        labels: row.get(7),
        created_at: row.get(8),
        updated_at: row.get(9),
        watch_workloads: row.get(10),
    }
}

/// Map a unique violation on `name` to [`Error::Conflict`].
fn conflict(name: &str) -> impl FnOnce(tokio_postgres::Error) -> Error + '_ {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            Error::Conflict(format!("a cluster named {name:?}"))
        } else {
            Error::Query(e)
        }
    }
}

impl Store {
    /// Insert a cluster; [`Error::Conflict`] if the name is taken.
    pub async fn insert_cluster(&self, c: &NewCluster) -> Result<ClusterRow> {
        // The row and its notification commit together, on one pooled connection (a second
        // connection taken while holding the first can exhaust the pool under a burst of
        // registrations: every request holding one and waiting for another).
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let sql = format!(
            "INSERT INTO clusters (id, name, description, source, server_url, context, insecure, \
             credentials, labels) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        );
        let row = tx
            .query_one(
                &sql,
                &[
                    &c.id,
                    &c.name,
                    &c.description,
                    &c.source,
                    &c.server_url,
                    &c.context,
                    &c.insecure,
                    &c.credentials,
                    &c.labels,
                ],
            )
            .await
            .map_err(conflict(&c.name))?;
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&CLUSTERS_CHANNEL, &c.id.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(from_row(&row))
    }

    /// Every cluster, by name.
    pub async fn list_clusters(&self) -> Result<Vec<ClusterRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {COLUMNS} FROM clusters ORDER BY name");
        Ok(conn.query(&sql, &[]).await?.iter().map(from_row).collect())
    }

    /// One cluster by id.
    pub async fn get_cluster(&self, id: Uuid) -> Result<Option<ClusterRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {COLUMNS} FROM clusters WHERE id = $1");
        Ok(conn.query_opt(&sql, &[&id]).await?.as_ref().map(from_row))
    }

    /// One cluster by name.
    pub async fn get_cluster_by_name(&self, name: &str) -> Result<Option<ClusterRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {COLUMNS} FROM clusters WHERE name = $1");
        Ok(conn.query_opt(&sql, &[&name]).await?.as_ref().map(from_row))
    }

    /// The encrypted credentials of a cluster (for building its kube client).
    pub async fn cluster_credentials(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt("SELECT credentials FROM clusters WHERE id = $1", &[&id])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Apply a partial update; `None` when the cluster does not exist.
    pub async fn update_cluster(&self, id: Uuid, u: &ClusterUpdate) -> Result<Option<ClusterRow>> {
        // Row and notification in one transaction on one connection, as in `insert_cluster`.
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let c = u.connection.as_ref();
        let sql = format!(
            "UPDATE clusters SET name = COALESCE($2, name), description = COALESCE($3, description), \
             labels = COALESCE($4, labels), server_url = COALESCE($5, server_url), \
             context = COALESCE($6, context), insecure = COALESCE($7, insecure), \
             credentials = COALESCE($8, credentials), \
             watch_workloads = COALESCE($9, watch_workloads), updated_at = now() \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        let row = tx
            .query_opt(
                &sql,
                &[
                    &id,
                    &u.name,
                    &u.description,
                    &u.labels,
                    &c.map(|c| &c.server_url),
                    &c.map(|c| &c.context),
                    &c.map(|c| c.insecure),
                    &c.map(|c| &c.credentials),
                    &u.watch_workloads,
                ],
            )
            .await
            .map_err(conflict(u.name.as_deref().unwrap_or_default()))?;
        if row.is_some() {
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&CLUSTERS_CHANNEL, &id.to_string()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(row.as_ref().map(from_row))
    }

    /// Delete a cluster with everything stored about it. Its objects' removal is logged as
    /// `delete` changes (under the log lock) so live subscribers see them go.
    pub async fn delete_cluster(&self, id: Uuid) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
            .await?;
        let max: Option<i64> = tx
            .query_one(
                "WITH logged AS (INSERT INTO resource_changes (cluster_id, resource_id, api_group, kind, namespace, \
                 name, op, health_before) SELECT cluster_id, id, api_group, kind, namespace, name, 'delete', health \
                 FROM flux_resources WHERE cluster_id = $1 ORDER BY api_group, kind, namespace, name RETURNING seq) \
                 SELECT max(seq) FROM logged",
                &[&id],
            )
            .await?
            .get(0);
        let deleted = tx
            .execute("DELETE FROM clusters WHERE id = $1", &[&id])
            .await?
            == 1;
        if let Some(seq) = max {
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&CHANGES_CHANNEL, &seq.to_string()],
            )
            .await?;
        }
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&CLUSTERS_CHANNEL, &id.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }
}
