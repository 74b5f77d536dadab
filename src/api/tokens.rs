//! `/api/v1/tokens`: API tokens — created (the secret is shown once), listed, revoked. Admin only.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::auth::Audit;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::auth::{Principal, Role, Scope};
use crate::store::TokenRow;

/// A role.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum RoleName {
    /// Read everything in scope.
    Viewer,
    /// Viewer, plus reconcile, suspend, resume, force, reset and relist.
    Operator,
    /// Operator, plus clusters, tokens and the audit log.
    Admin,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Role {
        match r {
            RoleName::Viewer => Role::Viewer,
            RoleName::Operator => Role::Operator,
            RoleName::Admin => Role::Admin,
        }
    }
}

impl From<Role> for RoleName {
    fn from(r: Role) -> RoleName {
        match r {
            Role::Viewer => RoleName::Viewer,
            Role::Operator => RoleName::Operator,
            Role::Admin => RoleName::Admin,
        }
    }
}

/// An API token. Its secret is never returned after creation.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ApiToken {
    /// Stable id (revoke with it).
    pub id: Uuid,
    /// Name given at creation.
    pub name: String,
    /// What it may do.
    pub role: RoleName,
    /// Cluster labels it is limited to (every one must match); null: every cluster.
    pub scope: Option<BTreeMap<String, String>>,
    /// The secret's first characters, to recognise it.
    pub hint: String,
    /// `api`, `env` (FLUXO_ADMIN_TOKEN) or `generated` (first start).
    pub source: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working; null: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ApiToken {
    fn from(row: TokenRow) -> ApiToken {
        let p = crate::auth::token_principal(&row, crate::auth::Method::Token);
        ApiToken {
            id: row.id,
            name: row.name,
            role: p.role.into(),
            scope: p.scope,
            hint: row.hint,
            source: row.source,
            created_by: row.created_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// Create a token.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// A name saying who or what uses it, e.g. `ci-deploy`.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: String,
    /// What it may do.
    pub role: RoleName,
    /// Limit it to clusters having all these labels, e.g. `{"team": "payments"}`.
    pub scope: Option<BTreeMap<String, String>>,
    /// When it stops working (must be in the future); omitted: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new token and its secret.
#[derive(Object, Debug)]
pub struct CreatedToken {
    /// The secret: shown this once, stored only as a hash. Send it as `Authorization: Bearer`.
    pub token: String,
    /// The token's details.
    #[oai(flatten)]
    pub details: ApiToken,
}

/// Every token.
#[derive(Object, Debug)]
pub struct TokenList {
    /// Newest first, revoked ones included.
    pub items: Vec<ApiToken>,
}

#[derive(ApiResponse)]
enum ListResponse {
    /// The tokens.
    #[oai(status = 200)]
    Ok(Json<TokenList>),
}

#[derive(ApiResponse)]
enum CreatedResponse {
    /// Created; the secret is in `token`.
    #[oai(status = 201)]
    Created(Json<CreatedToken>),
}

#[derive(ApiResponse)]
enum RevokedResponse {
    /// Revoked; its sessions ended.
    #[oai(status = 204)]
    NoContent,
}

fn checked_scope(scope: Option<BTreeMap<String, String>>) -> Result<Option<Scope>, ApiError> {
    let Some(scope) = scope.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let bad = |s: &String| s.trim().is_empty() || s.len() > 253;
    if scope.len() > 16 || scope.iter().any(|(k, v)| bad(k) || bad(v)) {
        return Err(ApiError::bad_request(
            "invalid",
            "scope: at most 16 labels, keys and values of 1–253 characters",
        ));
    }
    Ok(Some(scope))
}

/// Token endpoints.
pub struct TokensApi;

#[OpenApi(prefix_path = "/api/v1/tokens", tag = "ApiTags::Tokens")]
impl TokensApi {
    /// List API tokens
    #[oai(path = "/", method = "get", operation_id = "listTokens")]
    async fn list(&self, state: Data<&Arc<AppState>>) -> Result<ListResponse, ApiError> {
        let items = state.store.list_tokens().await?;
        let items = items.into_iter().map(ApiToken::from).collect();
        Ok(ListResponse::Ok(Json(TokenList { items })))
    }

    /// Create an API token
    ///
    /// The response carries the secret once; only its SHA-256 is stored.
    #[oai(path = "/", method = "post", operation_id = "createToken")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        audit: Data<&Audit>,
        body: Json<CreateToken>,
    ) -> Result<CreatedResponse, ApiError> {
        let body = body.0;
        let name = body.name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "invalid",
                "name: printable text, not blank",
            ));
        }
        if body.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(ApiError::bad_request(
                "invalid",
                "expiresAt must be in the future",
            ));
        }
        let scope = checked_scope(body.scope)?;
        audit.object(format!("token/{name}"));
        let (row, token) = state
            .auth
            .create_token(
                name,
                body.role.into(),
                scope.as_ref(),
                body.expires_at,
                &principal.subject,
            )
            .await?;
        let details = ApiToken::from(row);
        Ok(CreatedResponse::Created(Json(CreatedToken {
            token,
            details,
        })))
    }

    /// Revoke an API token
    ///
    /// The token stops working at once, and so do the browser sessions made from it.
    #[oai(path = "/:id", method = "delete", operation_id = "revokeToken")]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        id: Path<Uuid>,
    ) -> Result<RevokedResponse, ApiError> {
        let row = state
            .store
            .revoke_token(id.0)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("token {} not found", id.0)))?;
        audit.object(format!("token/{}", row.name));
        Ok(RevokedResponse::NoContent)
    }
}
