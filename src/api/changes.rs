//! `/api/v1/changes`: the change log, fleet-wide, newest first, filterable and paginated.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::history::{self, HistoryPage};
use super::model::{Change, ChangeOp};
use super::params::{self, MAX_LIMIT};
use super::{ApiTags, AppState};
use crate::store::queries::ChangeFilter;

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

impl HistoryPage for ChangeList {
    type Query = ChangeFilter;
    type Item = Change;

    fn new(items: Vec<Change>, continue_: Option<String>) -> ChangeList {
        ChangeList { items, continue_ }
    }
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
            subjects: history::subjects(resource.0, cluster.0, &kind.0, namespace.0, vec![])?,
            ops: op.0.into_iter().map(Into::into).collect(),
            since: since.0,
            before: before.0,
        };
        let list = history::page(&state, &filter, continue_.0.as_deref(), limit.0).await?;
        Ok(ChangesResponse::Ok(Json(list)))
    }
}

const _: () = assert!(MAX_LIMIT == 1000, "the limit validators above say 1000");
