//! `/api/v1/changes`: the change log, fleet-wide, newest first, filterable and paginated.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::events::EventType;
use super::model::Health;
use super::resources::params::{self, MAX_LIMIT};
use super::stream::messages::ChangeOp;
use super::{ApiTags, AppState};
use crate::store::queries::{ChangeEntry, ChangeFilter, decode_change_cursor};

fn op_from_db(op: &str) -> ChangeOp {
    match op {
        "delete" => ChangeOp::Delete,
        "event" => ChangeOp::Event,
        _ => ChangeOp::Upsert,
    }
}

fn op_to_db(op: ChangeOp) -> &'static str {
    match op {
        ChangeOp::Upsert => "upsert",
        ChangeOp::Delete => "delete",
        ChangeOp::Event => "event",
    }
}

/// One committed change of a Flux object.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct Change {
    /// Position in the change log; seq order is commit order (the live stream's `seq`).
    pub seq: i64,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name; null once the cluster is deleted.
    pub cluster: Option<String>,
    /// Resource id.
    pub resource_id: Uuid,
    /// API group.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// What happened.
    pub op: ChangeOp,
    /// Health before (null for a new object and for events).
    pub health_before: Option<Health>,
    /// Health after (null for deletes and events).
    pub health_after: Option<Health>,
    /// Type of the recorded event (only for `event`).
    pub event_type: Option<EventType>,
    /// Revision at the change.
    pub revision: Option<String>,
    /// Condition or event reason.
    pub reason: Option<String>,
    /// Condition or event message.
    pub message: Option<String>,
    /// What changed from the object's previous version, e.g. `spec.interval 10m0s → 5m0s;
    /// Ready True → False (HealthCheckFailed); reconcile requested`. Null for a first sight,
    /// deletes, events, and changes logged before summaries were kept.
    pub summary: Option<String>,
    /// The object version this change produced (hex content hash; the versions and diff
    /// endpoints take the change's `seq`); null for deletes, events, and changes logged before
    /// versions were kept.
    pub version: Option<String>,
}

impl From<ChangeEntry> for Change {
    fn from(row: ChangeEntry) -> Change {
        let op = op_from_db(&row.op);
        let health = |h: Option<String>| {
            if op == ChangeOp::Event {
                None
            } else {
                h.as_deref().map(Health::from_db)
            }
        };
        let event_type = match op {
            ChangeOp::Event => row.health_after.as_deref().map(EventType::from_db),
            _ => None,
        };
        Change {
            seq: row.seq,
            at: row.at,
            cluster_id: row.cluster_id,
            cluster: row.cluster_name,
            resource_id: row.resource_id,
            api_group: row.api_group,
            kind: row.kind,
            namespace: row.namespace,
            name: row.name,
            op,
            health_before: health(row.health_before),
            health_after: health(row.health_after),
            event_type,
            revision: row.revision,
            reason: row.reason,
            message: row.message,
            summary: row.summary,
            version: row.version.map(hex::encode),
        }
    }
}

/// A page of the change log, newest first.
#[derive(Object, Debug)]
pub struct ChangeList {
    /// The entries, highest seq first.
    pub items: Vec<Change>,
    /// Pass as `continue` to get the next (older) page; null on the last page.
    #[oai(rename = "continue")]
    pub continue_: Option<String>,
}

#[derive(ApiResponse)]
enum ChangesResponse {
    /// A page of changes.
    #[oai(status = 200)]
    Ok(Json<ChangeList>),
}

/// Read one page of changes for `filter` (shared with `/resources/{id}/changes`).
pub(super) async fn page(
    state: &AppState,
    filter: &ChangeFilter,
    token: Option<&str>,
    limit: Option<u32>,
) -> Result<ChangeList, ApiError> {
    let after = params::cursor(token, decode_change_cursor)?;
    let page = state
        .store
        .list_changes(filter, after.as_ref(), params::page_size(limit))
        .await?;
    Ok(ChangeList {
        items: page.items.into_iter().map(Change::from).collect(),
        continue_: page.next.map(|c| c.encode()),
    })
}

/// The change-log endpoint.
pub struct ChangesApi;

#[OpenApi(prefix_path = "/api/v1/changes", tag = "ApiTags::Changes")]
impl ChangesApi {
    /// List changes
    ///
    /// Every committed change of every Flux object, newest first. Filters combine with AND;
    /// repeated values of one filter with OR.
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    #[oai(path = "/", method = "get", operation_id = "listChanges")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// Resource id (repeatable, up to 100).
        #[oai(default)]
        resource: Query<Vec<Uuid>>,
        /// Cluster id or name (repeatable, up to 100).
        #[oai(default)]
        cluster: Query<Vec<String>>,
        /// Kind, plural or short name, e.g. `Kustomization`, `ks`, `hr` (repeatable, up to 100).
        #[oai(default)]
        kind: Query<Vec<String>>,
        /// Namespace (repeatable, up to 100).
        #[oai(default)]
        namespace: Query<Vec<String>>,
        /// Operation (repeatable, up to 100).
        #[oai(default)]
        op: Query<Vec<ChangeOp>>,
        /// Only changes with a seq greater than this.
        since: Query<Option<i64>>,
        /// Only changes with a seq less than this.
        before: Query<Option<i64>>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<ChangesResponse, ApiError> {
        params::at_most(&[
            ("resource", resource.0.len()),
            ("cluster", cluster.0.len()),
            ("kind", kind.0.len()),
            ("namespace", namespace.0.len()),
            ("op", op.0.len()),
        ])?;
        let filter = ChangeFilter {
            resources: resource.0,
            clusters: params::values(cluster.0),
            kinds: params::kinds(&kind.0)?,
            namespaces: params::values(namespace.0),
            ops: op.0.iter().map(|o| op_to_db(*o).to_string()).collect(),
            since: since.0,
            before: before.0,
        };
        let list = page(&state, &filter, continue_.0.as_deref(), limit.0).await?;
        Ok(ChangesResponse::Ok(Json(list)))
    }
}

const _: () = assert!(MAX_LIMIT == 1000, "the limit validators above say 1000");
