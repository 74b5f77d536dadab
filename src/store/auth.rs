//! Queries on API tokens and browser sessions. Only SHA-256 digests of the secrets are stored;
//! a row is looked up by the digest of what the caller presented.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Result, Store};

/// Advisory lock key for the bootstrap of the first admin token ("fluxboot" in ASCII), so
/// replicas starting together generate at most one.
const BOOTSTRAP_LOCK: i64 = 0x666c_7578_626f_6f74;

/// What installing the `FLUXO_ADMIN_TOKEN` token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvToken {
    /// There was none; it is installed.
    Installed,
    /// The variable changed: the old token and its sessions are gone, the new one installed.
    Replaced,
    /// The same token is already installed.
    Unchanged,
    /// The same token is installed and was revoked: it stays revoked.
    Revoked,
}

/// An API token, without its secret (which is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    /// Stable id.
    pub id: Uuid,
    /// Free-form name given at creation.
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// Cluster labels the token is limited to (all must match), or none.
    pub scope: Option<serde_json::Value>,
    /// The first characters of the secret, to recognise it.
    pub hint: String,
    /// `api`, `env` or `generated`.
    pub source: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful use (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to insert.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// See [`TokenRow`].
    pub id: Uuid,
    /// See [`TokenRow`].
    pub name: String,
    /// See [`TokenRow`].
    pub role: String,
    /// See [`TokenRow`].
    pub scope: Option<serde_json::Value>,
    /// SHA-256 of the secret.
    pub digest: Vec<u8>,
    /// See [`TokenRow`].
    pub hint: String,
    /// See [`TokenRow`].
    pub source: String,
    /// See [`TokenRow`].
    pub created_by: String,
    /// See [`TokenRow`].
    pub expires_at: Option<DateTime<Utc>>,
}

/// A live browser session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// The API token it was made from, if any (its revocation ends the session).
    pub token_id: Option<Uuid>,
    /// Who is logged in (token name or OIDC subject).
    pub subject: String,
    /// Role at login.
    pub role: String,
    /// Cluster label scope at login.
    pub scope: Option<serde_json::Value>,
    /// `token` or `oidc`.
    pub method: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// A session to insert.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie value.
    pub digest: Vec<u8>,
    /// See [`SessionRow`].
    pub token_id: Option<Uuid>,
    /// See [`SessionRow`].
    pub subject: String,
    /// See [`SessionRow`].
    pub role: String,
    /// See [`SessionRow`].
    pub scope: Option<serde_json::Value>,
    /// See [`SessionRow`].
    pub method: String,
    /// See [`SessionRow`].
    pub expires_at: DateTime<Utc>,
}

const TOKEN_COLUMNS: &str = "id, name, role, scope, hint, source, created_by, created_at, \
                             expires_at, last_used_at, revoked_at";

fn token_from_row(row: &Row) -> TokenRow {
    TokenRow {
        id: row.get(0),
        name: row.get(1),
        role: row.get(2),
        scope: row.get(3),
        hint: row.get(4),
        source: row.get(5),
        created_by: row.get(6),
        created_at: row.get(7),
        expires_at: row.get(8),
        last_used_at: row.get(9),
        revoked_at: row.get(10),
    }
}

impl Store {
    /// Insert a token.
    pub async fn insert_token(&self, t: &NewToken) -> Result<TokenRow> {
        let conn = self.conn().await?;
        let sql = format!(
            "INSERT INTO api_tokens (id, name, role, scope, digest, hint, source, created_by, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {TOKEN_COLUMNS}"
        );
        let row = conn
            .query_one(
                &sql,
                &[
                    &t.id,
                    &t.name,
                    &t.role,
                    &t.scope,
                    &t.digest,
                    &t.hint,
                    &t.source,
                    &t.created_by,
                    &t.expires_at,
                ],
            )
            .await?;
        Ok(token_from_row(&row))
    }

    /// The token whose secret has this digest, revoked or not.
    pub async fn token_by_digest(&self, digest: &[u8]) -> Result<Option<(TokenRow, Vec<u8>)>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS}, digest FROM api_tokens WHERE digest = $1");
        let row = conn.query_opt(&sql, &[&digest]).await?;
        Ok(row.map(|r| (token_from_row(&r), r.get(11))))
    }

    /// Every token, newest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id");
        let rows = conn.query(&sql, &[]).await?;
        Ok(rows.iter().map(token_from_row).collect())
    }

    /// Revoke a token and end its sessions; `None` if there is no such token.
    pub async fn revoke_token(&self, id: Uuid) -> Result<Option<TokenRow>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 \
             RETURNING {TOKEN_COLUMNS}"
        );
        let row = tx.query_opt(&sql, &[&id]).await?;
        tx.execute("DELETE FROM sessions WHERE token_id = $1", &[&id])
            .await?;
        tx.commit().await?;
        Ok(row.as_ref().map(token_from_row))
    }

    /// Record a use of a token.
    pub async fn touch_token(&self, id: Uuid) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE api_tokens SET last_used_at = now() WHERE id = $1",
            &[&id],
        )
        .await?;
        Ok(())
    }

    /// Make `token` the one token from `FLUXO_ADMIN_TOKEN` (under the bootstrap lock, so
    /// replicas starting together agree). The same value is the same token: if an admin
    /// revoked it, it stays revoked. A new value is a new token: the previous row goes, and
    /// with it (by the foreign key) every session made from it.
    pub async fn install_env_token(&self, token: &NewToken) -> Result<EnvToken> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BOOTSTRAP_LOCK])
            .await?;
        let current = tx
            .query_opt(
                "SELECT id, digest, revoked_at IS NOT NULL FROM api_tokens WHERE source = 'env'",
                &[],
            )
            .await?;
        let outcome = match current {
            Some(row) if row.get::<_, Vec<u8>>(1) == token.digest => {
                return Ok(if row.get(2) {
                    EnvToken::Revoked
                } else {
                    EnvToken::Unchanged
                });
            }
            Some(row) => {
                tx.execute(
                    "DELETE FROM api_tokens WHERE id = $1",
                    &[&row.get::<_, Uuid>(0)],
                )
                .await?;
                EnvToken::Replaced
            }
            None => EnvToken::Installed,
        };
        tx.execute(
            "INSERT INTO api_tokens (id, name, role, digest, hint, source, created_by) \
             VALUES ($1, $2, 'admin', $3, $4, 'env', $5)",
            &[
                &token.id,
                &token.name,
                &token.digest,
                &token.hint,
                &token.created_by,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Insert `token` only if no usable admin token exists (under a lock, so concurrent
    /// replicas make one at most). Returns true when it was inserted.
    pub async fn insert_first_admin(&self, token: &NewToken) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BOOTSTRAP_LOCK])
            .await?;
        let usable = tx
            .query_one(
                "SELECT count(*) FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > now())",
                &[],
            )
            .await?
            .get::<_, i64>(0);
        if usable > 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO api_tokens (id, name, role, digest, hint, source, created_by) \
             VALUES ($1, $2, 'admin', $3, $4, 'generated', $5)",
            &[
                &token.id,
                &token.name,
                &token.digest,
                &token.hint,
                &token.created_by,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Insert a session.
    pub async fn insert_session(&self, s: &NewSession) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO sessions (digest, token_id, subject, role, scope, method, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &s.digest,
                &s.token_id,
                &s.subject,
                &s.role,
                &s.scope,
                &s.method,
                &s.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// The unexpired session with this digest whose token (if any) is still usable.
    pub async fn session_by_digest(&self, digest: &[u8]) -> Result<Option<SessionRow>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT s.token_id, s.subject, s.role, s.scope, s.method, s.expires_at \
                 FROM sessions s LEFT JOIN api_tokens t ON t.id = s.token_id \
                 WHERE s.digest = $1 AND s.expires_at > now() AND (s.token_id IS NULL OR \
                   (t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())))",
                &[&digest],
            )
            .await?;
        Ok(row.map(|r| SessionRow {
            token_id: r.get(0),
            subject: r.get(1),
            role: r.get(2),
            scope: r.get(3),
            method: r.get(4),
            expires_at: r.get(5),
        }))
    }

    /// End a session (logout) and drop expired ones.
    pub async fn delete_session(&self, digest: &[u8]) -> Result<Option<String>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "WITH gone AS (DELETE FROM sessions WHERE digest = $1 OR expires_at < now() \
                               RETURNING digest, subject, expires_at) \
                 SELECT subject FROM gone WHERE digest = $1 AND expires_at >= now()",
                &[&digest],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}
