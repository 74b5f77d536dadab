//! `/api/v1/clusters`: the cluster registry. Credentials go in, never come out.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::clusters::{ClusterChanges, NewClusterInput};
use crate::store::ClusterRow;

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
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
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
            server_url: row.server_url,
            context: row.context,
            insecure: row.insecure,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Every registered cluster.
#[derive(Object, Debug)]
pub struct ClusterList {
    /// The clusters, by name.
    pub items: Vec<Cluster>,
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

/// The cluster registry endpoints.
pub struct ClustersApi;

#[OpenApi(prefix_path = "/api/v1/clusters", tag = "ApiTags::Clusters")]
impl ClustersApi {
    /// List clusters
    #[oai(path = "/", method = "get", operation_id = "listClusters")]
    async fn list(&self, state: Data<&Arc<AppState>>) -> Result<ListResponse, ApiError> {
        let items = state.registry.list().await?.into_iter().map(Cluster::from).collect();
        Ok(ListResponse::Ok(Json(ClusterList { items })))
    }

    /// Register a cluster
    #[oai(path = "/", method = "post", operation_id = "createCluster")]
    async fn create(&self, state: Data<&Arc<AppState>>, body: Json<CreateCluster>) -> Result<CreatedResponse, ApiError> {
        let body = body.0;
        let input = NewClusterInput {
            name: body.name,
            description: body.description,
            labels: body.labels,
            kubeconfig: body.kubeconfig,
            context: body.context,
            allow_insecure: body.allow_insecure,
        };
        let row = state.registry.create(input).await?;
        tracing::info!(cluster = %row.name, id = %row.id, server = %row.server_url, "cluster registered");
        Ok(CreatedResponse::Created(Json(row.into())))
    }

    /// Get a cluster by id or name
    #[oai(path = "/:id", method = "get", operation_id = "getCluster")]
    async fn get(&self, state: Data<&Arc<AppState>>, id: Path<String>) -> Result<ClusterResponse, ApiError> {
        Ok(ClusterResponse::Ok(Json(state.registry.get(&id.0).await?.into())))
    }

    /// Update a cluster
    #[oai(path = "/:id", method = "patch", operation_id = "updateCluster")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        id: Path<String>,
        body: Json<UpdateCluster>,
    ) -> Result<ClusterResponse, ApiError> {
        let body = body.0;
        let changes = ClusterChanges {
            name: body.name,
            description: body.description,
            labels: body.labels,
            kubeconfig: body.kubeconfig,
            context: body.context,
            allow_insecure: body.allow_insecure,
        };
        let row = state.registry.update(&id.0, changes).await?;
        tracing::info!(cluster = %row.name, id = %row.id, "cluster updated");
        Ok(ClusterResponse::Ok(Json(row.into())))
    }

    /// Remove a cluster
    #[oai(path = "/:id", method = "delete", operation_id = "deleteCluster")]
    async fn delete(&self, state: Data<&Arc<AppState>>, id: Path<String>) -> Result<DeletedResponse, ApiError> {
        let row = state.registry.delete(&id.0).await?;
        tracing::info!(cluster = %row.name, id = %row.id, "cluster removed");
        Ok(DeletedResponse::NoContent)
    }
}
