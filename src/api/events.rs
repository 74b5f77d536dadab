//! `/api/v1/events`: the Flux controllers' Kubernetes events, fleet-wide, newest first.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::history::{self, HistoryPage};
use super::model::EventType;
use super::params;
use super::{ApiTags, AppState};
use crate::store::queries::{EventFilter, EventRow};

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
        let e = row.event;
        Event {
            id: row.id,
            cluster_id: row.cluster_id,
            cluster: row.cluster_name,
            resource_id: row.resource_id,
            api_group: e.involved.api_group,
            kind: e.involved.kind,
            namespace: e.involved.namespace,
            name: e.involved.name,
            type_: e.event_type.into(),
            reason: e.reason,
            message: e.message,
            count: e.count,
            first_seen: e.first_seen,
            last_seen: e.last_seen,
            reporting_controller: e.reporting_controller,
            revision: e.revision,
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

impl HistoryPage for EventList {
    type Query = EventFilter;
    type Item = Event;

    fn new(items: Vec<Event>, continue_: Option<String>) -> EventList {
        EventList { items, continue_ }
    }
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
            subjects: history::subjects(resource.0, cluster.0, &kind.0, namespace.0, name.0)?,
            types: type_.0.into_iter().map(Into::into).collect(),
            since: since.0,
        };
        let list = history::page(&state, &filter, continue_.0.as_deref(), limit.0).await?;
        Ok(EventsResponse::Ok(Json(list)))
    }
}
