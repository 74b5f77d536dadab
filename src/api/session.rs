//! `/api/v1/session`: browser sessions. `POST` trades an API token for an HttpOnly,
//! SameSite=Strict session cookie; `GET` says who is logged in; `DELETE` logs out.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::auth::{self, Audit, SESSION_COOKIE};
use super::error::ApiError;
use super::tokens::RoleName;
use super::{ApiTags, AppState};
use crate::auth::{Principal, Settings};

/// Who is logged in.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Token name or OIDC user (`anonymous` without authentication).
    pub subject: String,
    /// What they may do.
    pub role: RoleName,
    /// Cluster labels they are limited to; null: every cluster.
    pub scope: Option<BTreeMap<String, String>>,
    /// `token`, `session`, `oidc` or `none`.
    pub method: String,
    /// When the credential stops working, if known.
    pub expires_at: Option<DateTime<Utc>>,
    /// False when the server runs with `--auth=none` (show `warning`).
    pub auth_enabled: bool,
    /// A banner the UI must show, e.g. that authentication is off.
    pub warning: Option<String>,
    /// True when OIDC login is configured (`GET /auth/oidc/login`).
    pub oidc: bool,
}

/// Log in with an API token.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct LoginRequest {
    /// An API token (`fluxo_…` or the bootstrap admin token).
    #[oai(validator(max_length = 512))]
    pub token: String,
}

/// The warning shown while authentication is off.
pub const AUTH_OFF_WARNING: &str =
    "Authentication is off (--auth=none): anyone who can reach this address is an admin.";

/// The JSON description of a principal.
pub fn info(p: &Principal, settings: &Settings) -> SessionInfo {
    SessionInfo {
        subject: p.subject.clone(),
        role: p.role.into(),
        scope: p.scope.clone(),
        method: p.method.as_str().into(),
        expires_at: p.expires_at,
        auth_enabled: settings.enabled,
        warning: (!settings.enabled).then(|| AUTH_OFF_WARNING.to_string()),
        oidc: settings.oidc.is_some(),
    }
}

/// The `Set-Cookie` value of a session (`None`: clear it).
pub fn cookie(value: Option<(&str, DateTime<Utc>)>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some((v, until)) => {
            let age = (until - Utc::now()).num_seconds().max(0);
            format!(
                "{SESSION_COOKIE}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{secure}"
            )
        }
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[derive(ApiResponse)]
enum InfoResponse {
    /// The caller.
    #[oai(status = 200)]
    Ok(Json<SessionInfo>),
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// Logged in; the session cookie is set.
    #[oai(status = 200)]
    Ok(Json<SessionInfo>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
enum LogoutResponse {
    /// Logged out; the cookie is cleared.
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] String),
}

/// Log in with `token` from `req`'s address: audited, origin-checked (the guard has already
/// rate-limited it).
pub async fn login(
    state: &AppState,
    req: &Request,
    token: &str,
    audit: &Audit,
) -> Result<(Principal, String, DateTime<Utc>), ApiError> {
    let auth = &state.auth;
    // The guard counted this attempt against the login rate limit before the body was read.
    // A login form posted from another site would log the victim into the attacker's account.
    let has_origin = req.headers().contains_key("origin");
    if (auth::session_cookie(req).is_some() || has_origin) && !auth::same_origin(auth, req) {
        return Err(ApiError::forbidden(
            "cross_origin",
            "log in from this server's own pages",
        ));
    }
    let principal = auth.bearer(token.trim()).await?;
    audit.actor(&principal);
    let (value, until) = auth.start_session(&principal).await?;
    Ok((principal, value, until))
}

/// Session endpoints.
pub struct SessionApi;

#[OpenApi(prefix_path = "/api/v1/session", tag = "ApiTags::Session")]
impl SessionApi {
    /// Who am I
    ///
    /// The caller's name, role, scope and how they authenticated; `authEnabled: false` with a
    /// `warning` when the server runs without authentication.
    #[oai(path = "/", method = "get", operation_id = "getSession")]
    async fn get(&self, state: Data<&Arc<AppState>>, principal: Data<&Principal>) -> InfoResponse {
        InfoResponse::Ok(Json(info(&principal, state.auth.settings())))
    }

    /// Log in with an API token
    ///
    /// Sets the session cookie (HttpOnly, SameSite=Strict, Secure behind TLS). Limited to a few
    /// attempts per minute per address. Requests made with the cookie that change something
    /// must carry this server's `Origin`.
    #[oai(path = "/", method = "post", operation_id = "createSession")]
    async fn create(
        &self,
        req: &Request,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        body: Json<LoginRequest>,
    ) -> Result<LoginResponse, ApiError> {
        let (principal, value, until) = login(&state, req, &body.0.token, &audit).await?;
        let settings = state.auth.settings();
        let mut info = info(&principal, settings);
        info.expires_at = Some(until);
        let set = cookie(Some((&value, until)), settings.secure_cookies);
        Ok(LoginResponse::Ok(Json(info), set))
    }

    /// Log out
    #[oai(path = "/", method = "delete", operation_id = "deleteSession")]
    async fn delete(
        &self,
        req: &Request,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
    ) -> Result<LogoutResponse, ApiError> {
        // Logging out without a session changes nothing: not worth an audit row (anyone could
        // fill the table with them).
        let ended = match auth::session_cookie(req) {
            Some(value) => state.auth.end_session(value).await?,
            None => None,
        };
        match ended {
            Some(subject) => audit.actor_name(&subject),
            None => audit.skip(),
        }
        Ok(LogoutResponse::NoContent(cookie(
            None,
            state.auth.settings().secure_cookies,
        )))
    }
}
