//! `/api/v1/workloads`: the objects Flux applies (Deployments, StatefulSets, Services, …)
//! across the fleet, with their owner, kstatus health, replicas and images — filtered
//! ("where does nginx:1.25 run?"), sorted and keyset-paginated like `/resources`. One workload
//! in detail is `GET /api/v1/resources/{id}` (workloads share the resource table and ids).

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::model::{Health, ImageView};
use super::params::{self, bad_param};
use super::resources::{ResourceList, ResourceSort, SharedFilters, list_page};
use super::{ApiTags, AppState};
use crate::flux::{self, ImageQuery};
use crate::store::queries::{Class, ResourceFilter};

#[derive(ApiResponse)]
enum ListResponse {
    /// A page of workloads.
    #[oai(status = 200)]
    Ok(Json<ResourceList>),
}

/// Workload kinds as users type them (`Deployment`, `deployments`), as stored.
fn kinds(values: &[String]) -> Result<Vec<String>, ApiError> {
    values
        .iter()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            flux::workload_kind(v)
                .map(|k| k.kind.to_string())
                .ok_or_else(|| {
                    let known: Vec<&str> = flux::WORKLOAD_KINDS.iter().map(|k| k.kind).collect();
                    bad_param(
                        "kind",
                        format!("{v:?} is not a workload kind (one of {})", known.join(", ")),
                    )
                })
        })
        .collect()
}

/// The image search term, parsed; an empty term searches nothing.
fn image_query(term: Option<String>) -> Result<Option<ImageQuery>, ApiError> {
    term.filter(|t| !t.trim().is_empty())
        .map(|t| ImageQuery::parse(&t).map_err(|e| bad_param("image", e)))
        .transpose()
}

/// Fill in the images of the page's workloads.
async fn with_images(state: &AppState, mut list: ResourceList) -> Result<ResourceList, ApiError> {
    let ids: Vec<Uuid> = list.items.iter().map(|r| r.id).collect();
    let mut images = state.store.workload_images(&ids).await?;
    for item in &mut list.items {
        if let Some(w) = item.workload.as_mut() {
            let found = images.remove(&item.id).unwrap_or_default();
            w.images = Some(found.into_iter().map(ImageView::from).collect());
        }
    }
    Ok(list)
}

/// The workloads endpoints.
pub struct WorkloadsApi;

#[OpenApi(prefix_path = "/api/v1/workloads", tag = "ApiTags::Workloads")]
impl WorkloadsApi {
    /// List workloads
    ///
    /// The objects Flux applies (Deployment, StatefulSet, DaemonSet, Job, CronJob, Service,
    /// Ingress, PersistentVolumeClaim — the server's `FLUXO_WORKLOAD_KINDS`) on every cluster
    /// that does not opt out, selected by Flux's ownership labels. Filters combine with AND;
    /// repeated values of one filter with OR. Pages are keyset-paginated: pass `continue` from
    /// the previous page. Each item's `workload` carries its owner, kstatus, replicas and
    /// images.
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    #[oai(path = "/", method = "get", operation_id = "listWorkloads")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// Cluster id or name (repeatable, up to 100).
        #[oai(default)]
        cluster: Query<Vec<String>>,
        /// Kind or plural, e.g. `Deployment`, `deployments` (repeatable, up to 100).
        #[oai(default)]
        kind: Query<Vec<String>>,
        /// Namespace (repeatable, up to 100).
        #[oai(default)]
        namespace: Query<Vec<String>>,
        /// Health (repeatable, up to 100).
        #[oai(default)]
        health: Query<Vec<Health>>,
        /// Owner: the id of the Kustomization or HelmRelease that applied them (repeatable,
        /// up to 100).
        #[oai(default)]
        owner: Query<Vec<Uuid>>,
        /// Image search: a repository or a path above it (`nginx`, `ghcr.io/acme`), with
        /// `:tag` an exact tag (`nginx:1.25.3`), `:tag` alone a tag in any repository, a digest
        /// or its beginning (`sha256:9f86d0`, `@sha256:9f86d0`); at most 512 bytes
        /// (400 `invalid_parameter` for a reference no registry would accept).
        #[oai(validator(max_length = 512))]
        image: Query<Option<String>>,
        /// Label selector as kubectl's `-l` (see `listResources`).
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
    ) -> Result<ListResponse, ApiError> {
        params::at_most(&[("owner", owner.0.len())])?;
        let order = sort.0.order();
        let shared = SharedFilters::new(cluster.0, namespace.0, health.0, label.0, q.0);
        let filter = ResourceFilter {
            kinds: kinds(&kind.0)?,
            class: Class::Workloads,
            image: image_query(image.0)?,
            owners: owner.0,
            ..shared.filter(kind.0.len())?
        };
        let after = params::cursor(continue_.0.as_deref(), |t| order.decode_cursor(t))?;
        let limit = params::page_size(limit.0);
        let list = list_page(&state, &filter, order, after, limit, None).await?;
        Ok(ListResponse::Ok(Json(with_images(&state, list).await?)))
    }
}
