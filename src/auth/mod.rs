//! Who may do what: roles, principals, API tokens, browser sessions, the login rate limit and
//! OIDC. SQL lives in `store` (tokens, sessions, audit); HTTP (the guard) in `api::auth`.

pub mod oidc;
mod ratelimit;
pub mod secret;
mod service;
mod settings;

use std::collections::BTreeMap;
use std::time::Duration;

pub use ratelimit::{Failure, FailureLimiter, LoginLimiter, Refused};
pub use service::{Auth, MIN_ADMIN_TOKEN, token_principal};

/// What a principal may do. Each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read everything (within its scope).
    Viewer,
    /// Viewer, plus reconcile, suspend, resume, force, reset and relist.
    Operator,
    /// Operator, plus clusters, tokens, audit log and settings.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The lower-case name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parse a role name (case-insensitive).
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// Cluster labels a principal is limited to: a cluster is in scope when it has every one.
pub type Scope = BTreeMap<String, String>;

/// True when a cluster with `labels` is inside `scope` (no scope: every cluster).
pub fn in_scope(scope: Option<&Scope>, labels: &serde_json::Value) -> bool {
    scope.is_none_or(|scope| {
        scope
            .iter()
            .all(|(k, v)| labels.get(k).and_then(|x| x.as_str()) == Some(v.as_str()))
    })
}

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `Authorization: Bearer` API token.
    Token,
    /// Session cookie made from an API token.
    Session,
    /// Session cookie made by an OIDC login.
    Oidc,
    /// `--auth=none`: everyone is an admin (loopback only).
    None,
}

impl Method {
    /// Name in the audit log and `GET /api/v1/session`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Token => "token",
            Method::Session => "session",
            Method::Oidc => "oidc",
            Method::None => "none",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// Token name, OIDC subject (email when known) or `anonymous`.
    pub subject: String,
    /// What it may do.
    pub role: Role,
    /// Cluster labels it is limited to.
    pub scope: Option<Scope>,
    /// How it authenticated.
    pub method: Method,
    /// The API token behind it, if any.
    pub token_id: Option<uuid::Uuid>,
    /// When its credential stops working, if known.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Settings of authentication (from `config::AuthConfig`, [`Settings::from_config`]).
#[derive(Debug, Clone)]
pub struct Settings {
    /// False with `--auth=none`: every request is an admin.
    pub enabled: bool,
    /// Value of `FLUXO_ADMIN_TOKEN`, if set.
    pub admin_token: Option<secrecy::SecretString>,
    /// How long a browser session lasts.
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (served over TLS, directly or by a proxy).
    pub secure_cookies: bool,
    /// The URL browsers use, e.g. `https://flux.example.com` (Origin checks, OIDC redirect).
    pub public_url: Option<String>,
    /// Origins allowed to call the API cross-origin (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_minute: u32,
    /// Failed credential lookups (unknown bearer tokens, unknown session cookies) allowed per
    /// client address per minute; beyond it the address gets 429 without a lookup.
    pub failed_lookups_per_minute: u32,
    /// OIDC login, when configured.
    pub oidc: Option<oidc::OidcSettings>,
}

/// Errors of authentication and token management.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credential, or one that matches nothing.
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    /// The credential has expired.
    #[error("the credential has expired")]
    Expired,
    /// The credential was revoked.
    #[error("the credential was revoked")]
    Revoked,
    /// Too many login attempts from one address.
    #[error("too many login attempts; retry in {0} s")]
    RateLimited(u64),
    /// The caller's input is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The OIDC login failed.
    #[error("OIDC login failed: {0}")]
    Oidc(#[from] oidc::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// Result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_viewer_operator_admin() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(Role::parse(" Operator "), Some(Role::Operator));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_scope_matches_clusters_having_every_label() {
        let scope = Scope::from([("team".to_string(), "payments".to_string())]);
        let labels = serde_json::json!({"team": "payments", "env": "prod"});
        assert!(in_scope(Some(&scope), &labels));
        assert!(!in_scope(
            Some(&scope),
            &serde_json::json!({"team": "search"})
        ));
        assert!(!in_scope(Some(&scope), &serde_json::json!({})));
        assert!(in_scope(None, &serde_json::json!({})));
    }
}
