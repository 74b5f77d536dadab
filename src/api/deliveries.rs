//! `GET /api/v1/notifications/deliveries`: the delivery log (the notification engine's
//! outbox), newest first: what was sent where, and what is still retrying or failed.
//! Viewers may read it, like rules and mutes; it holds no sink URL or secret.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::params::{bad_param, page_size};
use super::{ApiTags, AppState};
use crate::store::{DeliveryFilter, DeliveryRow};

/// Where a delivery stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Committed, not attempted yet.
    Pending,
    /// The sink answered 2xx.
    Sent,
    /// An attempt failed; another is due at `nextAttemptAt`.
    Retrying,
    /// Given up: a final answer (4xx), the sink deleted, or every attempt failed.
    Failed,
}

impl DeliveryState {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One message to one sink.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct Delivery {
    /// Position in the log.
    pub id: i64,
    /// The idempotency key, the same on every attempt (webhook: `X-Fluxo-Delivery` and the
    /// body's `id`).
    pub key: Uuid,
    /// The rule (null once deleted).
    pub rule_id: Option<Uuid>,
    /// The rule's name when the message was made.
    pub rule_name: String,
    /// The sink.
    pub sink_id: Uuid,
    /// The sink's name when the message was made.
    pub sink_name: String,
    /// `firing`, `resolved` or `recovered`.
    pub action: String,
    /// The rule's condition.
    pub condition: String,
    /// One line: "revision main@sha1:ab12 failed on 7 clusters: …".
    pub summary: String,
    /// The objects (or clusters) the message is about.
    pub items: serde_json::Value,
    /// `pending`, `sent`, `retrying` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (pending, retrying).
    pub next_attempt_at: DateTime<Utc>,
    /// The sink's last HTTP status.
    pub last_status: Option<i32>,
    /// Why the last attempt failed (never the sink's URL).
    pub last_error: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Delivery {
        Delivery {
            id: r.id,
            key: r.key,
            rule_id: r.rule_id,
            rule_name: r.rule_name,
            sink_id: r.sink_id,
            sink_name: r.sink_name,
            action: r.action,
            condition: r.condition,
            summary: r.summary,
            items: r.message["items"].clone(),
            state: r.state,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A page of the delivery log, newest first.
#[derive(Object, Debug)]
pub struct DeliveryList {
    /// The deliveries.
    pub items: Vec<Delivery>,
    /// Pass as `continue` to get the next (older) page; null on the last page.
    #[oai(rename = "continue")]
    pub continue_: Option<String>,
}

#[derive(ApiResponse)]
enum DeliveriesResponse {
    /// A page of deliveries.
    #[oai(status = 200)]
    Ok(Json<DeliveryList>),
}

/// The `continue` token: the last id of the previous page.
fn before(token: Option<&str>) -> Result<Option<i64>, ApiError> {
    match token.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match t.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(bad_param("continue", "not a token from a previous page")),
        },
    }
}

/// The delivery log endpoint.
pub struct DeliveriesApi;

#[OpenApi(
    prefix_path = "/api/v1/notifications/deliveries",
    tag = "ApiTags::Notifications"
)]
impl DeliveriesApi {
    /// List notification deliveries
    ///
    /// The notification engine's delivery log, newest first: every message to every sink,
    /// with its state, attempts and the sink's last answer. Filters combine with AND.
    #[oai(
        path = "/",
        method = "get",
        operation_id = "listNotificationDeliveries"
    )]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// Only deliveries to this sink.
        sink: Query<Option<Uuid>>,
        /// Only deliveries of this rule.
        rule: Query<Option<Uuid>>,
        /// Only deliveries in this state.
        #[oai(name = "state")]
        delivery_state: Query<Option<DeliveryState>>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<DeliveriesResponse, ApiError> {
        let filter = DeliveryFilter {
            sink: sink.0,
            rule: rule.0,
            state: delivery_state.0.map(|s| s.as_str().to_string()),
            before: before(continue_.0.as_deref())?,
        };
        let size = page_size(limit.0);
        let mut rows = state
            .store
            .list_deliveries(&filter, size as i64 + 1)
            .await?;
        let more = rows.len() > size;
        rows.truncate(size);
        let continue_ = more
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten();
        Ok(DeliveriesResponse::Ok(Json(DeliveryList {
            items: rows.into_iter().map(Delivery::from).collect(),
            continue_,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::before;

    #[test]
    fn the_token_is_a_positive_id_and_empty_means_the_first_page() {
        assert_eq!(before(None).ok(), Some(None));
        assert_eq!(before(Some("")).ok(), Some(None));
        assert_eq!(before(Some("42")).ok(), Some(Some(42)));
        assert!(before(Some("0")).is_err());
        assert!(before(Some("abc")).is_err());
    }
}
