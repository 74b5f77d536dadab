//! `/api/v1/resources`: Flux objects across the fleet — filtered, sorted, keyset-paginated
//! lists; one object in detail; its full change history and events.

mod detail;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use detail::{Inventory, ResourceCondition, ResourceDetail};

use super::auth::permit;
use super::changes::ChangeList;
use super::error::ApiError;
use super::events::EventList;
use super::history;
use super::model::{Health, ResourceSummary};
use super::params;
use super::{ApiTags, AppState};
use crate::auth::Principal;
use crate::clusters;
use crate::flux;
use crate::store::queries::{
    ChangeFilter, Cursor, EventFilter, ResourceFilter, ResourceOrder, SortField, Subjects,
};

/// Sort order of a resource list; `-` reverses it. Ties are broken by namespace, name, kind, id.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResourceSort {
    /// By name, A→Z (the default, as in Argo CD and `flux get`).
    #[default]
    #[oai(rename = "name")]
    Name,
    /// By name, Z→A.
    #[oai(rename = "-name")]
    NameDesc,
    /// By namespace, then name.
    #[oai(rename = "namespace")]
    Namespace,
    /// By namespace descending.
    #[oai(rename = "-namespace")]
    NamespaceDesc,
    /// By kind, then namespace and name.
    #[oai(rename = "kind")]
    Kind,
    /// By kind descending.
    #[oai(rename = "-kind")]
    KindDesc,
    /// By cluster name, then namespace and name.
    #[oai(rename = "cluster")]
    Cluster,
    /// By cluster name descending.
    #[oai(rename = "-cluster")]
    ClusterDesc,
    /// Least recently changed first.
    #[oai(rename = "updated")]
    Updated,
    /// Most recently changed first.
    #[oai(rename = "-updated")]
    UpdatedDesc,
    /// Worst first: failed, stalled, progressing, unknown, suspended, ready; then by name.
    #[oai(rename = "health")]
    Health,
    /// Best first.
    #[oai(rename = "-health")]
    HealthDesc,
    /// Problems first: worst health first (as `health`), then the most recently changed first.
    #[oai(rename = "severity")]
    Severity,
    /// Best health first, then the least recently changed first.
    #[oai(rename = "-severity")]
    SeverityDesc,
}

impl ResourceSort {
    pub(super) fn order(self) -> ResourceOrder {
        use ResourceSort::*;
        let (field, descending) = match self {
            Name => (SortField::Name, false),
            NameDesc => (SortField::Name, true),
            Namespace => (SortField::Namespace, false),
            NamespaceDesc => (SortField::Namespace, true),
            Kind => (SortField::Kind, false),
            KindDesc => (SortField::Kind, true),
            Cluster => (SortField::Cluster, false),
            ClusterDesc => (SortField::Cluster, true),
            Updated => (SortField::Updated, false),
            UpdatedDesc => (SortField::Updated, true),
            Health => (SortField::Health, false),
            HealthDesc => (SortField::Health, true),
            Severity => (SortField::Severity, false),
            SeverityDesc => (SortField::Severity, true),
        };
        ResourceOrder { field, descending }
    }
}

/// A page of resources.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct ResourceList {
    /// The resources, in the requested order.
    pub items: Vec<ResourceSummary>,
    /// Pass as `continue` (with the same sort) to get the next page; null on the last page.
    /// Sorted by name, namespace, kind or cluster, a walk through all pages returns every
    /// resource that existed throughout the walk exactly once, even while resources change.
    /// Sorted by `updated`, `health` or `severity`, a resource that changes during the walk
    /// can move past the cursor (seen twice) or behind it (not seen): the live stream carries
    /// such changes.
    #[oai(rename = "continue")]
    pub continue_: Option<String>,
    /// How many resources match the filters, counted on the first page only (null on later
    /// pages). Counting stops at 10,000 (at 1,000 for an image search): when more match,
    /// `total` is that cap and `totalCapped` is true.
    pub total: Option<i64>,
    /// More than `total` resources match.
    pub total_capped: bool,
    /// The change-log position the page reflects: every change with a `seq` up to this one
    /// is in it (later ones may be too). Read from the database that answered, which may be a
    /// standby lagging the live stream: a client that saw the stream at a later seq holds
    /// changes this page may not show yet. Null for `asOf` lists.
    pub seq: Option<i64>,
    /// The time the list shows the fleet at (`asOf`); null for the live fleet.
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(ApiResponse)]
enum ListResponse {
    /// A page of resources.
    #[oai(status = 200)]
    Ok(Json<ResourceList>),
}

#[derive(ApiResponse)]
enum DetailResponse {
    /// The resource.
    #[oai(status = 200)]
    Ok(Json<ResourceDetail>),
}

#[derive(ApiResponse)]
enum ChangesResponse {
    /// A page of the resource's changes.
    #[oai(status = 200)]
    Ok(Json<ChangeList>),
}

#[derive(ApiResponse)]
enum EventsResponse {
    /// A page of the resource's events.
    #[oai(status = 200)]
    Ok(Json<EventList>),
}

/// A page and, on the first page, the total, read concurrently; of the fleet as it was at
/// `as_of` when given.
pub(super) async fn list_page(
    state: &AppState,
    filter: &ResourceFilter,
    order: ResourceOrder,
    after: Option<Cursor>,
    limit: usize,
    as_of: Option<DateTime<Utc>>,
) -> Result<ResourceList, ApiError> {
    let store = &state.store;
    let page = async {
        match as_of {
            Some(at) => {
                store
                    .list_resources_as_of(at, filter, order, after.as_ref(), limit)
                    .await
            }
            None => {
                store
                    .list_resources(filter, order, after.as_ref(), limit)
                    .await
            }
        }
    };
    let cap = if filter.image.is_some() {
        params::IMAGE_TOTAL_CAP
    } else {
        params::TOTAL_CAP
    };
    let (page, total) = if after.is_some() {
        (page.await?, None)
    } else {
        let count = async {
            match as_of {
                Some(at) => store.count_resources_as_of(at, filter, cap).await,
                None => store.count_resources(filter, cap).await,
            }
        };
        let (page, total) = futures::try_join!(page, count)?;
        (page, Some(total))
    };
    Ok(ResourceList {
        items: page.items.into_iter().map(ResourceSummary::from).collect(),
        continue_: page.next.map(|c| c.encode()),
        total: total.map(|t| t.count),
        total_capped: total.is_some_and(|t| t.capped),
        seq: page.position,
        as_of,
    })
}

/// What a list of the fleet at a moment cannot do: filter by labels (the log keeps none) or
/// sort by severity (answered one health at a time from the live table's index); then 410
/// when `at` is before the retained history. Without `at` (the live list) all is allowed.
async fn as_of_allowed(
    state: &AppState,
    at: Option<DateTime<Utc>>,
    labels: &[String],
    sort: ResourceSort,
) -> Result<(), ApiError> {
    let Some(at) = at else {
        return Ok(());
    };
    if labels.iter().any(|l| !l.trim().is_empty()) {
        return Err(params::bad_param(
            "label",
            "not supported with `asOf`: the change log keeps no labels",
        ));
    }
    if matches!(sort, ResourceSort::Severity | ResourceSort::SeverityDesc) {
        return Err(params::bad_param(
            "sort",
            "`severity` is not supported with `asOf`; use `health`, `updated` or a name order",
        ));
    }
    history::reachable(state, at).await
}

async fn detail(state: &AppState, id: Uuid) -> Result<ResourceDetail, ApiError> {
    let found = state.store.resource(id).await?;
    let found = found.ok_or_else(|| ApiError::not_found(format!("resource {id} not found")))?;
    let changes = ChangeFilter {
        subjects: Subjects::resource(id),
        ..Default::default()
    };
    let events = EventFilter {
        subjects: Subjects::resource(id),
        ..Default::default()
    };
    let limit = params::DETAIL_HISTORY;
    let (changes, events) = futures::try_join!(
        state.store.history(&changes, None, limit),
        state.store.history(&events, None, limit)
    )?;
    let row = found.row;
    let inventory = match Inventory::of(row.cluster_id, &found.object) {
        Some(inventory) => {
            let healths = state.store.healths(&inventory.ids()).await?;
            Some(inventory.with_health(&healths))
        }
        None => None,
    };
    let mut resource = ResourceSummary::from(row.clone());
    if let Some(w) = resource.workload.as_mut() {
        let images = state.store.workload_images(&[id]).await?.remove(&id);
        w.images = Some(
            images
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        );
    }
    Ok(ResourceDetail {
        revision_detail: row.revision_detail,
        generation: row.generation,
        observed_generation: row.observed_generation,
        created_at: row.created_at,
        conditions: flux::conditions(&found.object)
            .into_iter()
            .map(ResourceCondition::from)
            .collect(),
        inventory,
        object: found.object,
        resource,
        changes: changes.items.into_iter().map(Into::into).collect(),
        events: events.items.into_iter().map(Into::into).collect(),
    })
}

/// The resource exists or left history behind, on a cluster `principal` may see. Checked on
/// the rows the handler reads (not only in the guard), so the check and the use cannot
/// disagree; a deleted object is placed on its cluster by its history, and one whose cluster
/// is gone too is visible only to unscoped callers.
pub(super) async fn visible(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<(), ApiError> {
    let not_found = || ApiError::not_found(format!("resource {id} not found and has no history"));
    let cluster_id = state
        .store
        .resource_cluster(id)
        .await?
        .ok_or_else(not_found)?;
    cluster_visible(state, principal, cluster_id, not_found).await
}

/// Cluster `cluster_id` of a row a handler read is one `principal` may see; a deleted
/// cluster only for unscoped callers (`not_found` for the others).
pub(super) async fn cluster_visible(
    state: &AppState,
    principal: &Principal,
    cluster_id: Uuid,
    not_found: impl Fn() -> ApiError,
) -> Result<(), ApiError> {
    match state.registry.get(&cluster_id.to_string()).await {
        Ok(cluster) => permit(principal, &cluster),
        Err(clusters::Error::NotFound(_)) if principal.scope.is_some() => Err(not_found()),
        Err(clusters::Error::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The filters the resource and the workload lists share, as the query gave them.
pub(super) struct SharedFilters {
    pub cluster: Vec<String>,
    pub namespace: Vec<String>,
    pub health: Vec<Health>,
    pub label: Vec<String>,
    pub q: Option<String>,
}

impl SharedFilters {
    /// The values as the query gave them.
    pub(super) fn new(
        cluster: Vec<String>,
        namespace: Vec<String>,
        health: Vec<Health>,
        label: Vec<String>,
        q: Option<String>,
    ) -> SharedFilters {
        SharedFilters {
            cluster,
            namespace,
            health,
            label,
            q,
        }
    }

    /// The filter with the shared values set, after the repeat limits (`kinds`: how many
    /// `kind` values came, which the caller resolves).
    pub(super) fn filter(self, kinds: usize) -> Result<ResourceFilter, ApiError> {
        params::at_most(&[
            ("cluster", self.cluster.len()),
            ("kind", kinds),
            ("namespace", self.namespace.len()),
            ("health", self.health.len()),
        ])?;
        Ok(ResourceFilter {
            clusters: params::values(self.cluster),
            namespaces: params::values(self.namespace),
            health: self.health.into_iter().map(Into::into).collect(),
            labels: params::labels(&self.label)?,
            text: self.q.filter(|q| !q.is_empty()),
            ..Default::default()
        })
    }

    /// Another repeatable health filter (`name`), within the repeat limit.
    pub(super) fn healths(
        &self,
        name: &str,
        values: Vec<Health>,
    ) -> Result<Vec<flux::Health>, ApiError> {
        params::at_most(&[(name, values.len())])?;
        Ok(values.into_iter().map(Into::into).collect())
    }
}

/// The resources endpoints.
pub struct ResourcesApi;

#[OpenApi(prefix_path = "/api/v1/resources", tag = "ApiTags::Resources")]
impl ResourcesApi {
    /// List resources
    ///
    /// Flux objects across all clusters. Filters combine with AND; repeated values of one
    /// filter with OR. Pages are keyset-paginated: pass `continue` from the previous page.
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    #[oai(path = "/", method = "get", operation_id = "listResources")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// Cluster id or name (repeatable, up to 100).
        #[oai(default)]
        cluster: Query<Vec<String>>,
        /// Kind, plural or short name, e.g. `Kustomization`, `kustomization`, `ks`, `hr`
        /// (repeatable, up to 100).
        #[oai(default)]
        kind: Query<Vec<String>>,
        /// Namespace (repeatable, up to 100).
        #[oai(default)]
        namespace: Query<Vec<String>>,
        /// Health (repeatable, up to 100).
        #[oai(default)]
        health: Query<Vec<Health>>,
        /// Roll-up of the workloads it applied (`workloadHealth`), e.g. `failed`: objects
        /// with a failed workload, whatever their own health (repeatable, up to 100).
        #[oai(default, name = "workloadHealth")]
        workload_health: Query<Vec<Health>>,
        /// Label selector as kubectl's `-l`: `key=value`, `key!=value`, `key`, `!key`,
        /// `key in (a,b)`, `key notin (a,b)`, comma-separated; repeated parameters AND together.
        /// At most 20 requirements and 4,096 bytes in all, 100 values per set
        /// (400 `invalid_selector`).
        #[oai(default)]
        label: Query<Vec<String>>,
        /// Case-insensitive substring of the name or the status message.
        q: Query<Option<String>>,
        /// Sort order (default `name`).
        #[oai(default)]
        sort: Query<ResourceSort>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
        /// The fleet as it was at this time (RFC 3339), from the change log; not with `label`
        /// or `sort=severity` (400); before the oldest retained change 410 `history_pruned`.
        #[oai(name = "asOf")]
        as_of: Query<Option<DateTime<Utc>>>,
    ) -> Result<ListResponse, ApiError> {
        as_of_allowed(&state, as_of.0, &label.0, sort.0).await?;
        let order = sort.0.order();
        let shared = SharedFilters::new(cluster.0, namespace.0, health.0, label.0, q.0);
        let filter = ResourceFilter {
            kinds: params::kinds(&kind.0)?,
            workload_health: shared.healths("workloadHealth", workload_health.0)?,
            ..shared.filter(kind.0.len())?
        };
        let after = params::cursor(continue_.0.as_deref(), |t| order.decode_cursor(t))?;
        let limit = params::page_size(limit.0);
        Ok(ListResponse::Ok(Json(
            list_page(&state, &filter, order, after, limit, as_of.0).await?,
        )))
    }

    /// Get a resource
    ///
    /// The object as last seen, its conditions, its inventory (Kustomizations), and its 50
    /// newest changes and events.
    #[oai(path = "/:id", method = "get", operation_id = "getResource")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
    ) -> Result<DetailResponse, ApiError> {
        visible(&state, &principal, id.0).await?;
        Ok(DetailResponse::Ok(Json(detail(&state, id.0).await?)))
    }

    /// List a resource's changes
    ///
    /// The whole retained change history of one resource, newest first; also after the resource
    /// was deleted.
    #[oai(
        path = "/:id/changes",
        method = "get",
        operation_id = "listResourceChanges"
    )]
    async fn changes(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<ChangesResponse, ApiError> {
        visible(&state, &principal, id.0).await?;
        let filter = ChangeFilter {
            subjects: Subjects::resource(id.0),
            ..Default::default()
        };
        Ok(ChangesResponse::Ok(Json(
            history::page(&state, &filter, continue_.0.as_deref(), limit.0).await?,
        )))
    }

    /// List a resource's events
    ///
    /// The controllers' stored events about one resource, latest occurrence first.
    #[oai(
        path = "/:id/events",
        method = "get",
        operation_id = "listResourceEvents"
    )]
    async fn events(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<EventsResponse, ApiError> {
        visible(&state, &principal, id.0).await?;
        let filter = EventFilter {
            subjects: Subjects::resource(id.0),
            ..Default::default()
        };
        Ok(EventsResponse::Ok(Json(
            history::page(&state, &filter, continue_.0.as_deref(), limit.0).await?,
        )))
    }
}
