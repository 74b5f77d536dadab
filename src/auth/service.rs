//! The authentication service: checks bearer tokens and session cookies, makes sessions,
//! manages API tokens and bootstraps the first admin token. Shared by every replica through
//! PostgreSQL; only the login rate limit and the last-used throttle are per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{Error, LoginLimiter, Method, Principal, Result, Role, Scope, Settings, secret};
use crate::store::{NewSession, NewToken, Store, TokenRow};

/// How often a token's `last_used_at` is written at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Shortest `FLUXO_ADMIN_TOKEN` accepted.
pub const MIN_ADMIN_TOKEN: usize = 16;

/// Authentication against the database.
pub struct Auth {
    store: Store,
    settings: Settings,
    limiter: LoginLimiter,
    /// When each token's last use was last written (written and read by `bearer`).
    touched: Mutex<HashMap<Uuid, Instant>>,
    /// The OIDC client, when configured (discovery is lazy, at the first login).
    pub oidc: Option<super::oidc::Client>,
}

/// A principal's scope as stored (a JSON object), or none.
pub fn scope_json(scope: Option<&Scope>) -> Option<serde_json::Value> {
    scope.map(|s| serde_json::json!(s))
}

fn scope_of(value: Option<&serde_json::Value>) -> Option<Scope> {
    let map = value?.as_object()?;
    Some(
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
    )
}

/// The principal of a token row.
pub fn token_principal(row: &TokenRow, method: Method) -> Principal {
    Principal {
        subject: row.name.clone(),
        role: Role::parse(&row.role).unwrap_or(Role::Viewer),
        scope: scope_of(row.scope.as_ref()),
        method,
        token_id: Some(row.id),
        expires_at: row.expires_at,
    }
}

impl Auth {
    /// The service over `store`.
    pub fn new(store: Store, settings: Settings) -> Auth {
        let limiter = LoginLimiter::new(settings.login_attempts_per_minute);
        let oidc = settings.oidc.clone().map(super::oidc::Client::new);
        Auth {
            store,
            settings,
            limiter,
            touched: Mutex::new(HashMap::new()),
            oidc,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store (for the audit log).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Everyone's principal under `--auth=none`.
    pub fn anonymous() -> Principal {
        Principal {
            subject: "anonymous".into(),
            role: Role::Admin,
            scope: None,
            method: Method::None,
            token_id: None,
            expires_at: None,
        }
    }

    /// Count a login attempt from `addr`; refused when over the limit.
    pub fn login_attempt(&self, addr: Option<IpAddr>) -> Result<()> {
        self.limiter
            .check(addr, Instant::now())
            .map_err(Error::RateLimited)
    }

    /// The principal of an API token.
    pub async fn bearer(&self, token: &str) -> Result<Principal> {
        let digest = secret::digest(token);
        let Some((row, stored)) = self.store.token_by_digest(&digest).await? else {
            return Err(Error::Unauthenticated("unknown token"));
        };
        if !secret::equal(&stored, &digest) {
            return Err(Error::Unauthenticated("unknown token"));
        }
        if row.revoked_at.is_some() {
            return Err(Error::Revoked);
        }
        if row.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(Error::Expired);
        }
        self.touch(row.id).await;
        Ok(token_principal(&row, Method::Token))
    }

    async fn touch(&self, id: Uuid) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            if touched
                .get(&id)
                .is_some_and(|at| now.duration_since(*at) < TOUCH_EVERY)
            {
                return;
            }
            touched.insert(id, now);
        }
        if let Err(e) = self.store.touch_token(id).await {
            tracing::warn!(error = %e, "cannot record a token's last use");
        }
    }

    /// The principal of a session cookie.
    pub async fn session(&self, cookie: &str) -> Result<Principal> {
        let row = self
            .store
            .session_by_digest(&secret::digest(cookie))
            .await?
            .ok_or(Error::Unauthenticated("no such session, or it has ended"))?;
        Ok(Principal {
            subject: row.subject,
            role: Role::parse(&row.role).unwrap_or(Role::Viewer),
            scope: scope_of(row.scope.as_ref()),
            method: if row.method == "oidc" {
                Method::Oidc
            } else {
                Method::Session
            },
            token_id: row.token_id,
            expires_at: Some(row.expires_at),
        })
    }

    /// Start a session for `principal`; returns the cookie value and when it ends.
    pub async fn start_session(&self, principal: &Principal) -> Result<(String, DateTime<Utc>)> {
        let cookie = format!("fluxs_{}", secret::random());
        let ttl = chrono::Duration::from_std(self.settings.session_ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(12));
        let mut expires_at = Utc::now() + ttl;
        if let Some(limit) = principal.expires_at {
            expires_at = expires_at.min(limit);
        }
        let method = if principal.method == Method::Oidc {
            "oidc"
        } else {
            "token"
        };
        let session = NewSession {
            digest: secret::digest(&cookie),
            token_id: principal.token_id,
            subject: principal.subject.clone(),
            role: principal.role.as_str().into(),
            scope: scope_json(principal.scope.as_ref()),
            method: method.into(),
            expires_at,
        };
        self.store.insert_session(&session).await?;
        Ok((cookie, expires_at))
    }

    /// End the session of `cookie` (nothing if there is none).
    pub async fn end_session(&self, cookie: &str) -> Result<()> {
        Ok(self.store.delete_session(&secret::digest(cookie)).await?)
    }

    /// Create an API token; returns its row and the secret (shown once, never stored).
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        scope: Option<&Scope>,
        expires_at: Option<DateTime<Utc>>,
        created_by: &str,
    ) -> Result<(TokenRow, String)> {
        let token = secret::new_token();
        let row = self
            .store
            .insert_token(&NewToken {
                id: Uuid::new_v4(),
                name: name.to_string(),
                role: role.as_str().into(),
                scope: scope_json(scope),
                digest: secret::digest(&token),
                hint: secret::hint(&token),
                source: "api".into(),
                created_by: created_by.to_string(),
                expires_at,
            })
            .await?;
        Ok((row, token))
    }

    /// Install the bootstrap admin token: `FLUXO_ADMIN_TOKEN`, or, when no usable admin token
    /// exists, a generated one printed once with a banner.
    pub async fn bootstrap(&self) -> Result<()> {
        if !self.settings.enabled {
            return Ok(());
        }
        if let Some(token) = &self.settings.admin_token {
            let row = bootstrap_token(token.expose_secret(), "admin (FLUXO_ADMIN_TOKEN)", "env");
            if self.store.upsert_env_token(&row).await? {
                tracing::info!(hint = %row.hint, "admin token from FLUXO_ADMIN_TOKEN installed");
            }
            return Ok(());
        }
        let token = secret::new_token();
        let row = bootstrap_token(&token, "admin (generated at first start)", "generated");
        if self.store.insert_first_admin(&row).await? {
            banner(&token);
        }
        Ok(())
    }
}

fn bootstrap_token(token: &str, name: &str, source: &str) -> NewToken {
    NewToken {
        id: Uuid::new_v4(),
        name: name.into(),
        role: Role::Admin.as_str().into(),
        scope: None,
        digest: secret::digest(token),
        hint: secret::hint(token),
        source: source.into(),
        created_by: "bootstrap".into(),
        expires_at: None,
    }
}

/// The one time a secret is written to the log: the generated first admin token.
fn banner(token: &str) {
    let rule = "*".repeat(78);
    for line in [
        rule.as_str(),
        "No admin token existed, so one was generated. It is shown this once and never again:",
        "",
        token,
        "",
        "Use it as `Authorization: Bearer <token>` or on the login page; create named tokens",
        "with POST /api/v1/tokens and revoke this one. Set FLUXO_ADMIN_TOKEN to choose it.",
        rule.as_str(),
    ] {
        tracing::warn!("{line}");
    }
}
