//! `GET /api/v1/audit`: who did what, when, from where, with what result. Admin only.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use poem::Body;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use tokio_util::sync::CancellationToken;

use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::store::{AuditEntry, AuditFilter};

/// One audited request.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Increasing id; pass the last one as `before` for the next page.
    pub id: i64,
    /// When.
    pub at: Option<DateTime<Utc>>,
    /// Token name, OIDC user, or `anonymous`.
    pub actor: String,
    /// `token`, `session`, `oidc`, `none` or `anonymous`.
    pub auth_method: String,
    /// The actor's role.
    pub role: Option<String>,
    /// Client address.
    pub remote: String,
    /// Operation id, e.g. `suspendResource`.
    pub operation: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Cluster acted on.
    pub cluster: Option<String>,
    /// Object acted on, e.g. `Kustomization/apps/podinfo`.
    pub object: Option<String>,
    /// The reason given (suspend).
    pub reason: Option<String>,
    /// HTTP status of the answer.
    pub status: i32,
    /// `ok`, `denied`, `refused`, `rate_limited` or `failed`.
    pub result: String,
}

impl From<AuditEntry> for AuditRecord {
    fn from(e: AuditEntry) -> AuditRecord {
        AuditRecord {
            id: e.id,
            at: e.at,
            actor: e.actor,
            auth_method: e.auth_method,
            role: e.role,
            remote: e.remote,
            operation: e.operation,
            method: e.method,
            path: e.path,
            cluster: e.cluster,
            object: e.object,
            reason: e.reason,
            status: e.status,
            result: e.result,
        }
    }
}

/// A page of the audit log.
#[derive(Object, Debug)]
pub struct AuditList {
    /// Newest first.
    pub items: Vec<AuditRecord>,
}

#[derive(ApiResponse)]
enum ExportResponse {
    /// Every entry in the range, oldest first, one JSON `AuditRecord` per line.
    #[oai(status = 200)]
    Ok(ExportBody, #[oai(header = "Content-Disposition")] String),
}

/// The export's bytes: NDJSON, or the same bytes labelled `application/octet-stream` for a
/// client that asks for that alone (generated clients that cannot read NDJSON take a download).
#[derive(ResponseContent)]
enum ExportBody {
    #[oai(content_type = "application/x-ndjson")]
    Ndjson(Binary<Body>),
    Download(Binary<Body>),
}

impl ExportBody {
    /// The body labelled as `accept` prefers.
    fn labelled(body: Body, accept: Option<&str>) -> ExportBody {
        if download_only(accept) {
            ExportBody::Download(Binary(body))
        } else {
            ExportBody::Ndjson(Binary(body))
        }
    }
}

/// True when an `Accept` header names `application/octet-stream` and not NDJSON.
fn download_only(accept: Option<&str>) -> bool {
    let types: Vec<&str> = accept
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| t.split(';').next())
        .map(str::trim)
        .collect();
    types.contains(&"application/octet-stream") && !types.contains(&"application/x-ndjson")
}

/// Rows read per page of an export.
const EXPORT_PAGE: i64 = 1000;

/// The NDJSON body of an export: pages read one after the other while the client takes them,
/// so an export of any size holds one page in memory.
fn export_body(
    state: Arc<AppState>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Body {
    let pages = futures::stream::try_unfold(Some(0i64), move |after| {
        let state = state.clone();
        async move {
            let Some(after) = after else {
                return Ok(None);
            };
            let rows = state
                .store
                .audit_range(after, from, to, EXPORT_PAGE)
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let next = (rows.len() as i64 == EXPORT_PAGE).then(|| rows.last().map(|r| r.id));
            let mut chunk = String::new();
            for row in rows {
                chunk.push_str(&AuditRecord::from(row).to_json_string());
                chunk.push('\n');
            }
            Ok::<_, std::io::Error>(Some((Bytes::from(chunk), next.flatten())))
        }
    });
    Body::from_bytes_stream(pages)
}

#[derive(ApiResponse)]
enum AuditResponse {
    /// A page of entries.
    #[oai(status = 200)]
    Ok(Json<AuditList>),
}

/// The audit log endpoint.
pub struct AuditApi;

#[OpenApi(prefix_path = "/api/v1/audit", tag = "ApiTags::Audit")]
impl AuditApi {
    /// Read the audit log
    ///
    /// Every mutating request (and every login) with who, when, from where, what and the
    /// result, newest first.
    #[oai(path = "/", method = "get", operation_id = "listAudit")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// Only entries older than this id.
        before: Query<Option<i64>>,
        /// Only this actor.
        actor: Query<Option<String>>,
        /// Only this operation id.
        operation: Query<Option<String>>,
        /// Only this cluster (name).
        cluster: Query<Option<String>>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
    ) -> Result<AuditResponse, ApiError> {
        let filter = AuditFilter {
            before: before.0,
            actor: actor.0,
            operation: operation.0,
            cluster: cluster.0,
        };
        let rows = state
            .store
            .list_audit(&filter, i64::from(limit.0.unwrap_or(100)))
            .await?;
        let items = rows.into_iter().map(AuditRecord::from).collect();
        Ok(AuditResponse::Ok(Json(AuditList { items })))
    }

    /// Export the audit log (NDJSON)
    ///
    /// Every entry at or after `from` and before `to` (both optional, RFC 3339), oldest first,
    /// one JSON object per line (the `AuditRecord` schema), for archiving beyond the retention
    /// period (`FLUXO_AUDIT_RETENTION_DAYS`) or a SIEM. A `from` after `to` is an empty range.
    /// Sent as `application/x-ndjson`, or as `application/octet-stream` to a client whose
    /// `Accept` names only that.
    #[oai(path = "/export", method = "get", operation_id = "exportAudit")]
    async fn export(
        &self,
        state: Data<&Arc<AppState>>,
        req: &poem::Request,
        /// Entries at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Entries before this time.
        to: Query<Option<DateTime<Utc>>>,
    ) -> Result<ExportResponse, ApiError> {
        let name = format!(
            "attachment; filename=\"audit-{}.ndjson\"",
            Utc::now().format("%Y%m%dT%H%M%SZ")
        );
        let accept = req
            .headers()
            .get(poem::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let body = export_body(state.0.clone(), from.0, to.0);
        Ok(ExportResponse::Ok(ExportBody::labelled(body, accept), name))
    }
}

/// Delete audit entries older than `max_age`, every hour until `cancel` (every replica runs it;
/// deleting old rows twice is harmless).
pub async fn retention(
    store: crate::store::Store,
    max_age: std::time::Duration,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        loop {
            match store.prune_audit(max_age, 10_000).await {
                Ok(0) => break,
                Ok(n) => tracing::info!(deleted = n, "pruned the audit log"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot prune the audit log; retrying later");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::download_only;

    #[test]
    fn the_export_is_a_download_only_for_clients_that_accept_nothing_else() {
        assert!(!download_only(None));
        assert!(!download_only(Some("*/*")));
        assert!(!download_only(Some("application/x-ndjson")));
        assert!(download_only(Some("application/octet-stream")));
        assert!(download_only(Some(
            "text/plain, application/octet-stream;q=0.9"
        )));
        assert!(!download_only(Some(
            "application/octet-stream, application/x-ndjson"
        )));
    }
}
