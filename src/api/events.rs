//! `/api/v1/events`: the Flux controllers' Kubernetes events, fleet-wide, newest first.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::resources::params;
use super::{ApiTags, AppState};
use crate::store::queries::{EventFilter, EventRow, decode_event_cursor};

/// Kubernetes event type.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Something expected happened, e.g. `ReconciliationSucceeded`.
    Normal,
    /// Something went wrong, e.g. `HealthCheckFailed`.
    Warning,
}

impl EventType {
    /// Parse the stored form (the apiserver accepts only these two).
    pub fn from_db(text: &str) -> EventType {
        if text == "Warning" {
            EventType::Warning
        } else {
            EventType::Normal
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// A controller's event about a Flux object, kept longer than Kubernetes keeps it.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct Event {
    /// Stable id of the stored event.
    pub id: i64,
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name.
    pub cluster: String,
    /// Id of the Flux object the event is about.
    pub resource_id: Uuid,
    /// API group of that object.
    pub api_group: String,
    /// Kind of that object.
    pub kind: String,
    /// Namespace of that object.
    pub namespace: String,
    /// Name of that object.
    pub name: String,
    /// `Normal` or `Warning`.
    #[oai(rename = "type")]
    pub type_: EventType,
    /// Reason, e.g. `ReconciliationSucceeded`.
    pub reason: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// How many times it occurred.
    pub count: i64,
    /// First occurrence.
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest occurrence.
    pub last_seen: Option<DateTime<Utc>>,
    /// The controller that reported it, e.g. `kustomize-controller`.
    pub reporting_controller: Option<String>,
    /// The revision the controller attached.
    pub revision: Option<String>,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Event {
        Event {
            id: row.id,
            cluster_id: row.cluster_id,
            cluster: row.cluster_name,
            resource_id: row.resource_id,
            api_group: row.api_group,
            kind: row.kind,
            namespace: row.namespace,
            name: row.name,
            type_: EventType::from_db(&row.event_type),
            reason: row.reason,
            message: row.message,
            count: row.count,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
            reporting_controller: row.reporting_controller,
            revision: row.revision,
        }
    }
}

/// A page of events, newest first.
#[derive(Object, Debug)]
pub struct EventList {
    /// The events, latest occurrence first.
    pub items: Vec<Event>,
    /// Pass as `continue` to get the next (older) page; null on the last page.
    #[oai(rename = "continue")]
    pub continue_: Option<String>,
}

#[derive(ApiResponse)]
enum EventsResponse {
    /// A page of events.
    #[oai(status = 200)]
    Ok(Json<EventList>),
}

/// Read one page of events for `filter` (shared with `/resources/{id}/events`).
pub(super) async fn page(
    state: &AppState,
    filter: &EventFilter,
    token: Option<&str>,
    limit: Option<u32>,
) -> Result<EventList, ApiError> {
    let after = params::cursor(token, decode_event_cursor)?;
    let page = state
        .store
        .list_events(filter, after.as_ref(), params::page_size(limit))
        .await?;
    Ok(EventList {
        items: page.items.into_iter().map(Event::from).collect(),
        continue_: page.next.map(|c| c.encode()),
    })
}

/// The events endpoint.
pub struct EventsApi;

#[OpenApi(prefix_path = "/api/v1/events", tag = "ApiTags::Events")]
impl EventsApi {
    /// List events
    ///
    /// The Flux controllers' events across the fleet, latest occurrence first. Filters combine
    /// with AND; repeated values of one filter with OR.
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    #[oai(path = "/", method = "get", operation_id = "listEvents")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// Cluster id or name (repeatable, up to 100).
        #[oai(default)]
        cluster: Query<Vec<String>>,
        /// Kind of the object, plural or short name, e.g. `HelmRelease`, `hr` (repeatable, up to 100).
        #[oai(default)]
        kind: Query<Vec<String>>,
        /// Namespace of the object (repeatable, up to 100).
        #[oai(default)]
        namespace: Query<Vec<String>>,
        /// Name of the object (repeatable, up to 100).
        #[oai(default)]
        name: Query<Vec<String>>,
        /// Resource id of the object (repeatable, up to 100).
        #[oai(default)]
        resource: Query<Vec<Uuid>>,
        /// Event type (repeatable, up to 100).
        #[oai(default, name = "type")]
        type_: Query<Vec<EventType>>,
        /// Only events that last occurred at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<EventsResponse, ApiError> {
        params::at_most(&[
            ("cluster", cluster.0.len()),
            ("kind", kind.0.len()),
            ("namespace", namespace.0.len()),
            ("name", name.0.len()),
            ("resource", resource.0.len()),
            ("type", type_.0.len()),
        ])?;
        let filter = EventFilter {
            resources: resource.0,
            clusters: params::values(cluster.0),
            kinds: params::kinds(&kind.0)?,
            namespaces: params::values(namespace.0),
            names: params::values(name.0),
            types: type_.0.iter().map(|t| t.as_str().to_string()).collect(),
            since: since.0,
        };
        let list = page(&state, &filter, continue_.0.as_deref(), limit.0).await?;
        Ok(EventsResponse::Ok(Json(list)))
    }
}
