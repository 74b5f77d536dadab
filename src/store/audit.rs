//! The audit log: one row per mutating request (and per login), newest first.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{Result, Store};

/// One audited request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditEntry {
    /// Row id (0 before insertion); pages are keyed by it.
    pub id: i64,
    /// When (set by the database).
    pub at: Option<DateTime<Utc>>,
    /// Token name, OIDC subject, or `anonymous`.
    pub actor: String,
    /// `token`, `session`, `oidc`, `none` or `anonymous`.
    pub auth_method: String,
    /// The actor's role, when authenticated.
    pub role: Option<String>,
    /// The client's address.
    pub remote: String,
    /// The OpenAPI operation id (or the route for non-API paths).
    pub operation: String,
    /// HTTP method.
    pub method: String,
    /// Request path (no query string: it may carry secrets).
    pub path: String,
    /// The cluster acted on, by name.
    pub cluster: Option<String>,
    /// The object acted on, e.g. `Kustomization/apps/podinfo` or `token/ci`.
    pub object: Option<String>,
    /// The reason the caller gave (suspend).
    pub reason: Option<String>,
    /// The HTTP status of the answer.
    pub status: i32,
    /// `ok`, `denied`, `failed` or the error code.
    pub result: String,
}

/// Which audit entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries with an id below this (the next page).
    pub before: Option<i64>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this operation id.
    pub operation: Option<String>,
    /// Only this cluster name.
    pub cluster: Option<String>,
}

const COLUMNS: &str = "id, at, actor, auth_method, role, remote, operation, method, path, \
                       cluster, object, reason, status, result";

fn from_row(row: &Row) -> AuditEntry {
    AuditEntry {
        id: row.get(0),
        at: Some(row.get(1)),
        actor: row.get(2),
        auth_method: row.get(3),
        role: row.get(4),
        remote: row.get(5),
        operation: row.get(6),
        method: row.get(7),
        path: row.get(8),
        cluster: row.get(9),
        object: row.get(10),
        reason: row.get(11),
        status: row.get(12),
        result: row.get(13),
    }
}

impl Store {
    /// Append an entry.
    pub async fn insert_audit(&self, e: &AuditEntry) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO audit_log (actor, auth_method, role, remote, operation, method, path, \
             cluster, object, reason, status, result) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &e.actor,
                &e.auth_method,
                &e.role,
                &e.remote,
                &e.operation,
                &e.method,
                &e.path,
                &e.cluster,
                &e.object,
                &e.reason,
                &e.status,
                &e.result,
            ],
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` entries matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>> {
        let conn = self.read_conn().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log \
             WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR actor = $2) \
               AND ($3::text IS NULL OR operation = $3) AND ($4::text IS NULL OR cluster = $4) \
             ORDER BY id DESC LIMIT $5"
        );
        let rows = conn
            .query(
                &sql,
                &[
                    &filter.before,
                    &filter.actor,
                    &filter.operation,
                    &filter.cluster,
                    &limit,
                ],
            )
            .await?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// Up to `limit` entries with an id above `after`, at or after `from` and before `to`,
    /// oldest first (the export pages through them by id; the `at` index bounds each page).
    pub async fn audit_range(
        &self,
        after: i64,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log \
             WHERE id > $1 AND ($2::timestamptz IS NULL OR at >= $2) \
               AND ($3::timestamptz IS NULL OR at < $3) \
             ORDER BY id LIMIT $4"
        );
        let rows = conn.query(&sql, &[&after, &from, &to, &limit]).await?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// Delete up to `batch` entries older than `max_age`; returns how many went.
    pub async fn prune_audit(&self, max_age: std::time::Duration, batch: i64) -> Result<u64> {
        let conn = self.conn().await?;
        let seconds = max_age.as_secs_f64();
        Ok(conn
            .execute(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log \
                 WHERE at < now() - make_interval(secs => $1) ORDER BY id LIMIT $2)",
                &[&seconds, &batch],
            )
            .await?)
    }
}
