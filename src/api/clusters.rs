//! `/api/v1/clusters`: the cluster registry. Credentials go in, never come out.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::auth::{Audit, permit};
use super::error::ApiError;
use super::vocabulary::{ClusterState, KindWatchState};
use super::{ApiTags, AppState};
use crate::auth::{Principal, Role, in_scope};
use crate::clusters::kubeconfig::without_userinfo;
use crate::clusters::{ClusterChanges, NewClusterInput};
use crate::store::{ClusterRow, ClusterStatusRow, KindWatchStatus, Notification};

/// How the orchestrator reaches a cluster.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "kebab-case")]
pub enum ClusterSource {
    /// From a kubeconfig given to the API.
    Kubeconfig,
    /// The cluster the orchestrator runs in, by its service account.
    InCluster,
}

/// A registered cluster. Its credentials are never returned.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct Cluster {
    /// Stable id.
    pub id: Uuid,
    /// Unique name (DNS-1123 label).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Labels, e.g. `team: payments`.
    pub labels: BTreeMap<String, String>,
    /// How it is reached.
    pub source: ClusterSource,
    /// The API server URL.
    pub server_url: String,
    /// The kubeconfig context that was kept.
    pub context: String,
    /// TLS verification is off or the server is plain HTTP (allowed explicitly).
    pub insecure: bool,
    /// The objects Flux applies (workloads: the kinds of the server's
    /// `FLUXO_WORKLOAD_KINDS`) are watched on this cluster; false when it opted out.
    pub watch_workloads: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// Connection and watch status, once a replica has started watching it.
    pub status: Option<ClusterStatus>,
}

/// Watch state of one kind on one cluster.
#[derive(Object, Debug, Clone)]
pub struct KindStatus {
    /// The watch state.
    pub state: KindWatchState,
    /// The API version watched.
    pub version: Option<String>,
    /// Why it fails: the HTTP status and our words, never text the cluster's server sent.
    pub message: Option<String>,
    /// Why it fails, in full (may quote the server's answer). Only for unscoped admins (null
    /// for other callers and on the live stream).
    pub detail: Option<String>,
    /// When the failing watch is retried (`POST /clusters/{id}/sync` retries at once).
    #[oai(rename = "retryAt")]
    pub retry_at: Option<DateTime<Utc>>,
}

/// How the orchestrator sees a cluster right now.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// Connection state.
    pub state: ClusterState,
    /// Why (empty when ready): the HTTP status and our words, never text the cluster's server
    /// sent, so it is safe for every viewer.
    pub message: String,
    /// Why, in full (may quote the server's answer; empty when `kinds` carry the reasons).
    /// Only for unscoped admins (null for other callers and on the live stream).
    pub detail: Option<String>,
    /// Kubernetes version (`gitVersion`).
    pub kubernetes_version: Option<String>,
    /// Flux version (from the `flux-system` namespace label), when readable.
    pub flux_version: Option<String>,
    /// Per kind (plus `Event`): watch state and version.
    pub kinds: BTreeMap<String, KindStatus>,
    /// Newest watch event received.
    pub last_event_at: Option<DateTime<Utc>>,
    /// Last completed backstop relist.
    pub last_resync_at: Option<DateTime<Utc>>,
    /// Objects backstop relists had to correct, ever (0 when the watches miss nothing).
    pub resync_drift_total: i64,
    /// The replica watching it.
    pub watched_by: Option<String>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
    /// When the watching replica tries again, if it waits after a failure;
    /// `POST /clusters/{id}/sync` retries at once.
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// May `principal` read what a cluster's server answered (`detail`)? Only those who may
/// register clusters, i.e. set the URLs those answers come from: unscoped admins.
pub fn reveals_detail(principal: &Principal) -> bool {
    principal.role == Role::Admin && principal.scope.is_none()
}

impl From<ClusterStatusRow> for ClusterStatus {
    /// The view without remote text (`detail` absent): safe for everyone.
    fn from(row: ClusterStatusRow) -> ClusterStatus {
        ClusterStatus::view(row, false)
    }
}

impl ClusterStatus {
    /// The view of a status row, with `detail` only when `reveal`.
    pub fn view(row: ClusterStatusRow, reveal: bool) -> ClusterStatus {
        let kinds = row
            .kinds
            .into_iter()
            .map(|(name, w)| (name, KindStatus::view(w, reveal)))
            .collect();
        ClusterStatus {
            state: row.state.into(),
            message: row.message,
            detail: Some(row.detail).filter(|_| reveal),
            kubernetes_version: row.kubernetes_version,
            flux_version: row.flux_version,
            kinds,
            last_event_at: row.last_event_at,
            last_resync_at: row.last_resync_at,
            resync_drift_total: row.resync_drift_total,
            watched_by: row.watched_by,
            updated_at: row.updated_at,
            next_retry_at: row.next_retry_at,
        }
    }
}

impl KindStatus {
    /// The view of a stored kind status, with `detail` only when `reveal`.
    fn view(w: KindWatchStatus, reveal: bool) -> KindStatus {
        KindStatus {
            state: w.state.into(),
            version: w.version,
            message: w.message,
            detail: w.detail.filter(|_| reveal),
            retry_at: w.retry_at,
        }
    }
}

impl Cluster {
    /// The API view of a registered cluster and its status, without remote text (`detail`).
    pub fn new(row: ClusterRow, status: Option<ClusterStatusRow>) -> Cluster {
        Cluster::for_principal(row, status, false)
    }

    /// The view with the status's `detail` when `reveal` (see [`reveals_detail`]).
    pub fn for_principal(
        row: ClusterRow,
        status: Option<ClusterStatusRow>,
        reveal: bool,
    ) -> Cluster {
        let mut cluster = Cluster::from(row);
        cluster.status = status.map(|s| ClusterStatus::view(s, reveal));
        cluster
    }
}

impl From<ClusterRow> for Cluster {
    fn from(row: ClusterRow) -> Cluster {
        let labels = row
            .labels
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Cluster {
            id: row.id,
            name: row.name,
            description: row.description,
            labels,
            source: if row.source == "in-cluster" {
                ClusterSource::InCluster
            } else {
                ClusterSource::Kubeconfig
            },
            // Registration refuses credentials in the URL; rows from before it did are
            // shown without them.
            server_url: without_userinfo(&row.server_url),
            context: row.context,
            insecure: row.insecure,
            watch_workloads: row.watch_workloads,
            created_at: row.created_at,
            updated_at: row.updated_at,
            status: None,
        }
    }
}

/// Every registered cluster.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct ClusterList {
    /// The clusters, by name.
    pub items: Vec<Cluster>,
    /// Seconds between backstop relists of every watched kind (`FLUXO_RESYNC_INTERVAL_SECS`);
    /// null when periodic relists are off. The first one runs this long after watching starts.
    pub resync_interval_secs: Option<u64>,
}

/// Register a cluster from a kubeconfig.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCluster {
    /// Unique name: a DNS-1123 label such as `prod-eu-1`.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Labels, e.g. `team: payments`.
    pub labels: Option<BTreeMap<String, String>>,
    /// Kubeconfig YAML. Only the chosen context's cluster and user are kept. Refused: exec
    /// plugins, auth-providers, file paths, basic auth; and unless `allowInsecure`,
    /// `insecure-skip-tls-verify` and `http://` servers.
    pub kubeconfig: String,
    /// Context to use; default: the kubeconfig's current-context.
    pub context: Option<String>,
    /// Allow `insecure-skip-tls-verify` and plain `http://` servers.
    #[oai(default)]
    pub allow_insecure: bool,
}

/// Change a cluster; omitted fields keep their value.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCluster {
    /// New unique name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New labels (replace all labels).
    pub labels: Option<BTreeMap<String, String>>,
    /// New kubeconfig YAML (same policy as on create).
    pub kubeconfig: Option<String>,
    /// Context of the new kubeconfig.
    pub context: Option<String>,
    /// Allow insecure settings in the new kubeconfig.
    #[oai(default)]
    pub allow_insecure: bool,
    /// Watch the objects Flux applies on this cluster (true) or opt out (false: its stored
    /// workloads are removed).
    pub watch_workloads: Option<bool>,
}

#[derive(ApiResponse)]
enum ListResponse {
    /// The clusters.
    #[oai(status = 200)]
    Ok(Json<ClusterList>),
}

#[derive(ApiResponse)]
enum ClusterResponse {
    /// The cluster.
    #[oai(status = 200)]
    Ok(Json<Cluster>),
}

#[derive(ApiResponse)]
enum CreatedResponse {
    /// Registered.
    #[oai(status = 201)]
    Created(Json<Cluster>),
}

#[derive(ApiResponse)]
enum DeletedResponse {
    /// Removed.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum SyncResponse {
    /// The replica watching the cluster relists every kind now.
    #[oai(status = 202)]
    Accepted,
}

/// The cluster registry endpoints.
pub struct ClustersApi;

#[OpenApi(prefix_path = "/api/v1/clusters", tag = "ApiTags::Clusters")]
impl ClustersApi {
    /// List clusters
    #[oai(path = "/", method = "get", operation_id = "listClusters")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
    ) -> Result<ListResponse, ApiError> {
        let mut statuses: std::collections::HashMap<Uuid, ClusterStatusRow> = state
            .store
            .cluster_statuses()
            .await?
            .into_iter()
            .map(|s| (s.cluster_id, s))
            .collect();
        let reveal = reveals_detail(&principal);
        let items = state
            .registry
            .list()
            .await?
            .into_iter()
            .filter(|row| in_scope(principal.scope.as_ref(), &row.labels))
            .map(|row| {
                let status = statuses.remove(&row.id);
                Cluster::for_principal(row, status, reveal)
            })
            .collect();
        Ok(ListResponse::Ok(Json(ClusterList {
            items,
            resync_interval_secs: state.resync_interval_secs,
        })))
    }

    /// Register a cluster
    #[oai(path = "/", method = "post", operation_id = "createCluster")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        body: Json<CreateCluster>,
    ) -> Result<CreatedResponse, ApiError> {
        let body = body.0;
        audit.cluster(&body.name);
        let input = NewClusterInput {
            name: body.name,
            description: body.description,
            labels: body.labels,
            kubeconfig: body.kubeconfig,
            context: body.context,
            allow_insecure: body.allow_insecure,
        };
        let row = state.registry.create(input).await?;
        let server = without_userinfo(&row.server_url);
        tracing::info!(cluster = %row.name, id = %row.id, %server, "cluster registered");
        Ok(CreatedResponse::Created(Json(row.into())))
    }

    /// Get a cluster by id or name
    #[oai(path = "/:id", method = "get", operation_id = "getCluster")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<String>,
    ) -> Result<ClusterResponse, ApiError> {
        let row = state.registry.get(&id.0).await?;
        permit(&principal, &row)?;
        let status = state.store.cluster_status(row.id).await?;
        let reveal = reveals_detail(&principal);
        Ok(ClusterResponse::Ok(Json(Cluster::for_principal(
            row, status, reveal,
        ))))
    }

    /// Relist a cluster now
    ///
    /// The backstop relist (normally every 10 minutes) runs at once on the replica that watches
    /// the cluster: every kind is listed again and the database corrected; the drift it finds is
    /// counted in `status.resyncDriftTotal`.
    #[oai(path = "/:id/sync", method = "post", operation_id = "syncCluster")]
    async fn sync(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<String>,
    ) -> Result<SyncResponse, ApiError> {
        let row = state.registry.get(&id.0).await?;
        permit(&principal, &row)?;
        state.store.notify(Notification::Sync(row.id)).await?;
        tracing::info!(cluster = %row.name, "relist requested");
        Ok(SyncResponse::Accepted)
    }

    /// Update a cluster
    #[oai(path = "/:id", method = "patch", operation_id = "updateCluster")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        id: Path<String>,
        body: Json<UpdateCluster>,
    ) -> Result<ClusterResponse, ApiError> {
        audit.cluster(&id.0);
        let body = body.0;
        let changes = ClusterChanges {
            name: body.name,
            description: body.description,
            labels: body.labels,
            kubeconfig: body.kubeconfig,
            context: body.context,
            allow_insecure: body.allow_insecure,
            watch_workloads: body.watch_workloads,
        };
        let row = state.registry.update(&id.0, changes).await?;
        audit.cluster(&row.name);
        tracing::info!(cluster = %row.name, id = %row.id, "cluster updated");
        Ok(ClusterResponse::Ok(Json(row.into())))
    }

    /// Remove a cluster
    #[oai(path = "/:id", method = "delete", operation_id = "deleteCluster")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        id: Path<String>,
    ) -> Result<DeletedResponse, ApiError> {
        audit.cluster(&id.0);
        let row = state.registry.delete(&id.0).await?;
        audit.cluster(&row.name);
        tracing::info!(cluster = %row.name, id = %row.id, "cluster removed");
        Ok(DeletedResponse::NoContent)
    }
}
