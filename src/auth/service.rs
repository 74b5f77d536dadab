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

use super::{
    Error, Failure, FailureLimiter, LoginLimiter, Method, Principal, Refused, Result, Role, Scope,
    Settings, secret,
};
use crate::store::{EnvToken, NewSession, NewToken, Store, TokenRow};

/// How long a positive re-check of a credential stands for other connections using it.
const RECHECK_EVERY: Duration = Duration::from_secs(2);
/// Credentials remembered by the re-check at most; beyond it, stale entries are dropped.
const MAX_RECHECKED: usize = 10_000;

/// How often a token's `last_used_at` is written at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Shortest `FLUXO_ADMIN_TOKEN` accepted: 32 characters of `openssl rand -base64 32` carry
/// about 190 bits, beyond guessing at any rate the failure limit allows.
pub const MIN_ADMIN_TOKEN: usize = 32;

/// Authentication against the database.
pub struct Auth {
    store: Store,
    settings: Settings,
    limiter: LoginLimiter,
    /// Failed credential lookups per address (read and written by the guard through
    /// `guessing_blocked` / `lookup_failed`).
    failures: FailureLimiter,
    /// When each token's last use was last written (written and read by `bearer`).
    touched: Mutex<HashMap<Uuid, Instant>>,
    /// Credentials (by digest) found valid by a re-check, and when: open streams of one
    /// credential share one lookup per [`RECHECK_EVERY`]. Written and read by `recheck_*`.
    rechecked: Mutex<HashMap<Vec<u8>, Instant>>,
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
        let failures = FailureLimiter::new(settings.failed_lookups_per_minute);
        let oidc = settings.oidc.clone().map(super::oidc::Client::new);
        Auth {
            store,
            settings,
            limiter,
            failures,
            touched: Mutex::new(HashMap::new()),
            rechecked: Mutex::new(HashMap::new()),
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
    pub fn login_attempt(&self, addr: Option<IpAddr>) -> Result<(), Refused> {
        self.limiter.check(addr, Instant::now())
    }

    /// `Some(seconds to wait)` when `addr` failed too many credential lookups this minute.
    pub fn guessing_blocked(&self, addr: Option<IpAddr>) -> Option<u64> {
        self.failures.blocked(addr, Instant::now())
    }

    /// Count a failed credential lookup from `addr`.
    pub fn lookup_failed(&self, addr: Option<IpAddr>) -> Failure {
        self.failures.fail(addr, Instant::now())
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

    /// Re-check an API token held by a long-lived connection.
    pub async fn recheck_bearer(&self, token: &str) -> Result<()> {
        let digest = secret::digest(token);
        if self.recently_rechecked(&digest) {
            return Ok(());
        }
        self.bearer(token).await?;
        self.rechecked(digest);
        Ok(())
    }

    /// Re-check a session cookie held by a long-lived connection.
    pub async fn recheck_session(&self, cookie: &str) -> Result<()> {
        let digest = secret::digest(cookie);
        if self.recently_rechecked(&digest) {
            return Ok(());
        }
        self.session(cookie).await?;
        self.rechecked(digest);
        Ok(())
    }

    fn recently_rechecked(&self, digest: &[u8]) -> bool {
        let map = self.rechecked.lock().unwrap_or_else(|e| e.into_inner());
        map.get(digest)
            .is_some_and(|at| at.elapsed() < RECHECK_EVERY)
    }

    fn rechecked(&self, digest: Vec<u8>) {
        let mut map = self.rechecked.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_RECHECKED {
            map.retain(|_, at| at.elapsed() < RECHECK_EVERY);
        }
        map.insert(digest, Instant::now());
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
    /// Returns the subject of the session that ended, `None` if there was no live one.
    pub async fn end_session(&self, cookie: &str) -> Result<Option<String>> {
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
            match self.store.install_env_token(&row).await? {
                EnvToken::Installed => {
                    tracing::info!(hint = %row.hint, "admin token from FLUXO_ADMIN_TOKEN installed")
                }
                EnvToken::Replaced => tracing::warn!(
                    hint = %row.hint,
                    "FLUXO_ADMIN_TOKEN changed: the previous bootstrap token and its sessions are gone"
                ),
                EnvToken::Unchanged => {}
                EnvToken::Revoked => tracing::error!(
                    hint = %row.hint,
                    "FLUXO_ADMIN_TOKEN holds a token that was REVOKED; it stays revoked and \
                     grants nothing. Set a new value to install a new bootstrap token"
                ),
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
