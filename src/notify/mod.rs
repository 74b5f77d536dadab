//! Fleet notifications (issue #19): sinks, rules and mutes, and sending a test message.
//!
//! # Layout
//! - `sink`: sink kinds, URL and secret checks, the sealed credentials' shape (pure).
//! - `rule`: rule and mute filters (the stream's filter language plus cluster labels) and
//!   conditions (pure).
//! - `payload`: the webhook signature and message bodies (pure).
//! - `send`: the HTTP client, through the outbound address policy.
//! - `eval`: what a change or a cluster state means for one rule (pure).
//! - `message`: grouped messages: items, summary, webhook and Alertmanager bodies (pure).
//! - `engine`: the leader (one replica, advisory lock) that follows the change log with a
//!   committed cursor, groups, dedupes and sends through the outbox (`engine/dispatch.rs`).

pub mod engine;
pub mod eval;
pub mod message;
pub mod payload;
pub mod rule;
mod send;
pub mod sink;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::clusters::SecretKey;
use crate::egress::Policy;
use crate::store::{MuteRow, NewSink, RuleRow, SinkRow, Store};

pub use rule::{Condition, RuleFilter};
pub use sink::SinkKind;

/// How long a sink's host name may take to resolve when it is created.
const LOOKUP: Duration = Duration::from_secs(3);

/// Errors of the notification service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input is refused; the message starts with the field's name.
    #[error("{0}")]
    Invalid(String),
    /// The sink's address is refused by the outbound address policy.
    #[error("url: {0}")]
    Egress(#[source] crate::egress::Refused),
    /// No such sink, rule or mute.
    #[error("{0} not found")]
    NotFound(String),
    /// The stored credentials cannot be opened (another key, damaged data).
    #[error(transparent)]
    Crypto(#[from] crate::clusters::CryptoError),
    /// The database.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// Result of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A sink to create.
#[derive(Debug, Clone)]
pub struct NewSinkInput {
    /// Unique name.
    pub name: String,
    /// Its kind.
    pub kind: SinkKind,
    /// The full URL (sealed).
    pub url: String,
    /// The webhook's signing secret (sealed).
    pub secret: Option<String>,
    /// Plain http:// allowed.
    pub allow_insecure: bool,
    /// Who asks.
    pub actor: String,
}

/// What a test send got back: the sink's HTTP status, or why there was none (never the URL).
pub type TestOutcome = std::result::Result<u16, String>;

/// Sinks, rules and mutes over the store, sealing credentials with the cluster key.
#[derive(Clone)]
pub struct Notify {
    store: Store,
    key: SecretKey,
    egress: Arc<Policy>,
    http: Option<send::Http>,
}

fn invalid(message: String) -> Error {
    Error::Invalid(message)
}

impl Notify {
    /// The service; sinks are reached only where `egress` allows. Without TLS roots the
    /// service still manages configuration, and test sends answer with the reason.
    pub fn new(store: Store, key: SecretKey, egress: Arc<Policy>) -> Notify {
        let http = send::Http::new(egress.clone())
            .inspect_err(|e| tracing::warn!(error = %e, "notification sinks cannot be reached"))
            .ok();
        Notify {
            store,
            key,
            egress,
            http,
        }
    }

    /// Create a sink: URL, secret and address checked, credentials sealed.
    pub async fn create_sink(&self, input: NewSinkInput) -> Result<SinkRow> {
        crate::clusters::validate::name(&input.name).map_err(|e| invalid(format!("name: {e}")))?;
        let accepted = sink::accept_url(&input.url, input.allow_insecure).map_err(invalid)?;
        sink::check_secret(input.kind, input.secret.as_deref()).map_err(invalid)?;
        crate::egress::check_host(&self.egress, &accepted.host, LOOKUP)
            .await
            .map_err(Error::Egress)?;
        let id = Uuid::new_v4();
        let credentials = sink::Credentials {
            url: input.url,
            secret: input.secret,
        };
        // A struct of two strings always serializes.
        let plain = serde_json::to_vec(&credentials).unwrap_or_default();
        let new = NewSink {
            row: SinkRow {
                id,
                name: input.name,
                kind: input.kind.as_str().into(),
                endpoint: accepted.endpoint,
                insecure: accepted.insecure,
                created_by: input.actor,
                created_at: Utc::now(),
            },
            credentials: self.key.seal(id, &plain),
        };
        Ok(self.store.insert_sink(&new).await?)
    }

    /// Every sink (never their credentials).
    pub async fn list_sinks(&self) -> Result<Vec<SinkRow>> {
        Ok(self.store.list_sinks().await?)
    }

    /// Delete a sink that no rule sends to.
    pub async fn delete_sink(&self, id: Uuid) -> Result<SinkRow> {
        self.store
            .delete_sink(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("sink {id}")))
    }

    /// Send a test message to a sink; what it answered, or why it did not (an unreachable
    /// sink is an outcome, not an error).
    pub async fn test_sink(&self, id: Uuid) -> Result<(SinkRow, TestOutcome)> {
        let (row, creds) = self
            .credentials(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("sink {id}")))?;
        let Some(http) = self.http.as_ref() else {
            return Ok((row, Err("no TLS root certificates on this server".into())));
        };
        let now = Utc::now();
        let (url, headers, body) = match SinkKind::parse(&row.kind) {
            Some(SinkKind::Alertmanager) => {
                let body = payload::alertmanager_test(&row.name, now).to_string();
                let url = format!("{}/api/v2/alerts", creds.url.trim_end_matches('/'));
                (url, Vec::new(), body.into_bytes())
            }
            Some(kind @ (SinkKind::Slack | SinkKind::Teams)) => {
                let summary = format!("test message from flux-orchestrator to sink {}", row.name);
                let e = message::Envelope {
                    key: Uuid::new_v4(),
                    action: "test",
                    rule: "",
                    condition: "",
                    sink: &row.name,
                    summary: &summary,
                    items: &[],
                    at: now,
                };
                let body = match kind {
                    SinkKind::Slack => message::slack(&e),
                    _ => message::teams(&e),
                };
                (creds.url, Vec::new(), body.to_string().into_bytes())
            }
            _ => {
                let body = payload::webhook_test(&row.name, Uuid::new_v4(), now).to_string();
                let headers = signed_headers(creds.secret.as_deref().unwrap_or(""), now, &body);
                (creds.url, headers, body.into_bytes())
            }
        };
        let outcome = http.post(&url, &headers, body).await.map_err(|e| e.0);
        Ok((row, outcome))
    }

    /// A sink and its opened credentials; `None` if it does not exist.
    async fn credentials(&self, id: Uuid) -> Result<Option<(SinkRow, sink::Credentials)>> {
        let Some((row, sealed)) = self.store.sink_credentials(id).await? else {
            return Ok(None);
        };
        let plain = self.key.open(id, &sealed)?;
        let creds: sink::Credentials = serde_json::from_slice(&plain)
            .map_err(|_| Error::Crypto(crate::clusters::CryptoError::Open))?;
        Ok(Some((row, creds)))
    }

    /// Create a rule: filter parsed like the stream's, condition and minutes checked.
    pub async fn create_rule(&self, rule: RuleRow, filter: RuleFilter) -> Result<RuleRow> {
        crate::clusters::validate::name(&rule.name).map_err(|e| invalid(format!("name: {e}")))?;
        let condition = Condition::parse(&rule.condition)
            .ok_or_else(|| invalid(format!("condition: unknown {:?}", rule.condition)))?;
        condition
            .check_minutes(rule.after_minutes)
            .map_err(invalid)?;
        if !(0..=3600).contains(&rule.group_window_secs) {
            return Err(invalid("groupWindowSecs: 0–3600 seconds".into()));
        }
        let filter = filter.validated().map_err(invalid)?;
        let row = RuleRow {
            filter: serde_json::to_value(filter).unwrap_or_default(),
            ..rule
        };
        Ok(self.store.insert_rule(&row).await?)
    }

    /// Every rule.
    pub async fn list_rules(&self) -> Result<Vec<RuleRow>> {
        Ok(self.store.list_rules().await?)
    }

    /// Delete a rule and its mutes.
    pub async fn delete_rule(&self, id: Uuid) -> Result<RuleRow> {
        self.store
            .delete_rule(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("rule {id}")))
    }

    /// Create a mute ending in the future, at most 90 days ahead.
    pub async fn create_mute(&self, mute: MuteRow, filter: RuleFilter) -> Result<MuteRow> {
        let now = Utc::now();
        if mute.expires_at <= now || mute.expires_at > now + chrono::Duration::days(90) {
            return Err(invalid(
                "expiresAt: in the future, at most 90 days ahead".into(),
            ));
        }
        let reason = mute.reason.trim();
        if reason.is_empty() || reason.len() > 500 || reason.chars().any(char::is_control) {
            return Err(invalid("reason: printable text of 1–500 characters".into()));
        }
        let filter = filter.validated().map_err(invalid)?;
        let row = MuteRow {
            filter: serde_json::to_value(filter).unwrap_or_default(),
            ..mute
        };
        Ok(self.store.insert_mute(&row).await?)
    }

    /// Mutes in force.
    pub async fn list_mutes(&self) -> Result<Vec<MuteRow>> {
        Ok(self.store.list_mutes().await?)
    }

    /// End a mute now.
    pub async fn expire_mute(&self, id: Uuid) -> Result<MuteRow> {
        self.store
            .expire_mute(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("mute {id} (or it has expired)")))
    }
}

/// The webhook's signature headers for `body` sent at `at`.
fn signed_headers(secret: &str, at: DateTime<Utc>, body: &str) -> Vec<(&'static str, String)> {
    let ts = at.timestamp();
    vec![
        ("x-fluxo-timestamp", ts.to_string()),
        (
            "x-fluxo-signature",
            payload::signature(secret, ts, body.as_bytes()),
        ),
    ]
}
