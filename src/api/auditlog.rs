//! `GET /api/v1/audit`: who did what, when, from where, with what result. Admin only.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

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
}
