//! `/api/v1/resources/{id}/graph` and `/impact`: what an object deploys, needs and feeds, read
//! from the edges the writer keeps (`store::graph`).
//!
//! Scope: a caller sees a graph only when it may see the root's cluster (the guard and
//! [`visible`]); nodes on clusters outside its scope — or on clusters deleted meanwhile — are
//! left out with their edges, so an impact never names another team's objects.

use std::collections::HashMap;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::model::Health;
use super::resources::visible;
use super::vocabulary::EdgeType;
use super::{ApiTags, AppState};
use crate::auth::{Principal, in_scope};
use crate::flux;
use crate::store::{Direction, Graph, GraphEdge, GraphNode};

/// Depth of a graph when `depth` is absent.
const DEFAULT_DEPTH: u32 = 3;
/// Depth of an impact walk: far enough for any real chain of sources, parents and dependants.
const IMPACT_DEPTH: u32 = 10;
/// Most nodes in one answer; more set `truncated`.
pub const MAX_NODES: usize = 1_000;

/// Which edges a graph follows from its root.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[oai(rename_all = "lowercase")]
pub enum GraphDirection {
    /// Downstream: consumers, applied objects, dependants (what breaks if this breaks).
    #[default]
    Down,
    /// Upstream: sources, parents, dependencies (what this needs).
    Up,
    /// Both, each walked from the root.
    Both,
}

impl GraphDirection {
    fn walks(self) -> &'static [Direction] {
        match self {
            GraphDirection::Down => &[Direction::Down],
            GraphDirection::Up => &[Direction::Up],
            GraphDirection::Both => &[Direction::Down, Direction::Up],
        }
    }
}

/// One object of a graph.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct GraphNodeView {
    /// The object's id (UUIDv5 of cluster, group, kind, namespace, name): `GET
    /// /api/v1/resources/{id}` answers it when `stored`.
    pub id: Uuid,
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name.
    pub cluster: String,
    /// API group (empty for the core group).
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object is stored: a Flux object that was seen. False for objects only named by an
    /// edge: a Flux object not seen (yet, or any more) or an object of a kind not watched.
    pub stored: bool,
    /// Its kind is watched: a Flux kind, or a stored workload (Deployments, Services, … that
    /// ingest watches, with their kstatus health). Objects of other kinds (ConfigMaps, …)
    /// appear as leaves with health `unknown`.
    pub watched: bool,
    /// Health; `unknown` when not stored.
    pub health: Health,
    /// Reason behind the health.
    pub reason: Option<String>,
    /// Message behind the health.
    pub message: Option<String>,
    /// Applied revision.
    pub revision: Option<String>,
    /// Edges from the root (0 for the root; in an impact, for each cluster's sources).
    pub depth: u32,
}

/// An edge of a graph, from upstream to downstream.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct GraphEdgeView {
    /// Upstream node's id.
    pub from: Uuid,
    /// Downstream node's id.
    pub to: Uuid,
    /// What the edge means.
    #[oai(rename = "type")]
    pub type_: EdgeType,
}

/// An object's graph.
#[derive(Object, Debug, Clone)]
pub struct ResourceGraph {
    /// The root's id.
    pub root: Uuid,
    /// The nodes: the root first, then by distance from it.
    pub nodes: Vec<GraphNodeView>,
    /// The edges between the nodes.
    pub edges: Vec<GraphEdgeView>,
    /// More nodes were within the depth than the 1,000 returned.
    pub truncated: bool,
}

/// What is downstream of a source on one cluster.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ImpactCluster {
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name.
    pub cluster: String,
    /// The object itself or, on other clusters, the sources fetching from the same place
    /// (depth 0), then everything downstream of them.
    pub nodes: Vec<GraphNodeView>,
}

/// Everything that fails when an object fails, across the fleet.
#[derive(Object, Debug, Clone)]
pub struct Impact {
    /// The object's id.
    pub root: Uuid,
    /// Per cluster, the object's own cluster first, then by name.
    pub clusters: Vec<ImpactCluster>,
    /// The edges between the nodes.
    pub edges: Vec<GraphEdgeView>,
    /// More nodes were downstream than the 1,000 returned.
    pub truncated: bool,
}

#[derive(ApiResponse)]
enum GraphResponse {
    /// The graph.
    #[oai(status = 200)]
    Ok(Json<ResourceGraph>),
}

#[derive(ApiResponse)]
enum ImpactResponse {
    /// What is downstream, by cluster.
    #[oai(status = 200)]
    Ok(Json<Impact>),
}

/// Names of the clusters `principal` may see, by id.
async fn visible_clusters(
    state: &AppState,
    principal: &Principal,
) -> Result<HashMap<Uuid, String>, ApiError> {
    let clusters = state.registry.list().await?;
    Ok(clusters
        .into_iter()
        .filter(|c| in_scope(principal.scope.as_ref(), &c.labels))
        .map(|c| (c.id, c.name))
        .collect())
}

/// The stored root, after the scope check on its cluster; 404 when it is not stored.
async fn root(state: &AppState, principal: &Principal, id: Uuid) -> Result<GraphNode, ApiError> {
    visible(state, principal, id).await?;
    let mut nodes = state.store.graph_nodes(&[id]).await?;
    nodes
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("resource {id} not found")))
}

fn node_view(node: GraphNode, cluster: &str) -> GraphNodeView {
    let watched = node.state.is_some() || flux::is_flux_group(&node.api_group);
    let (stored, health, reason, message, revision) = match node.state {
        Some(s) => (true, s.health.into(), s.reason, s.message, s.revision),
        None => (false, Health::Unknown, None, None, None),
    };
    GraphNodeView {
        id: node.id,
        cluster_id: node.cluster_id,
        cluster: cluster.to_owned(),
        api_group: node.api_group,
        kind: node.kind,
        namespace: node.namespace,
        name: node.name,
        stored,
        watched,
        health,
        reason,
        message,
        revision,
        depth: node.depth,
    }
}

/// The graph's nodes on the clusters of `names` and the edges between them.
fn in_scope_views(
    graph: Graph,
    names: &HashMap<Uuid, String>,
) -> (Vec<GraphNodeView>, Vec<GraphEdgeView>) {
    let nodes: Vec<GraphNodeView> = graph
        .nodes
        .into_iter()
        .filter_map(|n| {
            let cluster = names.get(&n.cluster_id)?;
            Some(node_view(n, cluster))
        })
        .collect();
    let kept: std::collections::HashSet<Uuid> = nodes.iter().map(|n| n.id).collect();
    let edges = graph
        .edges
        .into_iter()
        .filter(|e| kept.contains(&e.from) && kept.contains(&e.to))
        .map(
            |GraphEdge {
                 from,
                 to,
                 edge_type,
             }| GraphEdgeView {
                from,
                to,
                type_: edge_type.into(),
            },
        )
        .collect();
    (nodes, edges)
}

/// Group impact nodes by cluster: `first`'s cluster first, then by cluster name.
fn by_cluster(nodes: Vec<GraphNodeView>, first: Uuid) -> Vec<ImpactCluster> {
    let mut groups: Vec<ImpactCluster> = Vec::new();
    for node in nodes {
        match groups.iter_mut().find(|g| g.cluster_id == node.cluster_id) {
            Some(group) => group.nodes.push(node),
            None => groups.push(ImpactCluster {
                cluster_id: node.cluster_id,
                cluster: node.cluster.clone(),
                nodes: vec![node],
            }),
        }
    }
    groups.sort_by(|a, b| {
        (a.cluster_id != first, &a.cluster).cmp(&(b.cluster_id != first, &b.cluster))
    });
    groups
}

/// The graph and impact endpoints.
pub struct GraphApi;

#[OpenApi(prefix_path = "/api/v1/resources", tag = "ApiTags::Resources")]
impl GraphApi {
    /// Get a resource's graph
    ///
    /// The objects around one Flux object, up to `depth` edges away: downstream (what it feeds,
    /// applies, and what depends on it), upstream (its sources, parents and dependencies), or
    /// both. Objects only named by an edge — not seen yet, or of kinds that are not watched —
    /// are nodes too (`stored: false`). At most 1,000 nodes (`truncated`).
    #[oai(path = "/:id/graph", method = "get", operation_id = "getResourceGraph")]
    async fn graph(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
        /// Edges from the root to follow, 1–10 (default 3).
        #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
        depth: Query<Option<u32>>,
        /// Which way to follow edges (default `down`).
        #[oai(default)]
        direction: Query<GraphDirection>,
    ) -> Result<GraphResponse, ApiError> {
        let root = root(&state, &principal, id.0).await?;
        let names = visible_clusters(&state, &principal).await?;
        let depth = depth.0.unwrap_or(DEFAULT_DEPTH);
        let graph = state
            .store
            .walk(vec![root], direction.0.walks(), depth, MAX_NODES)
            .await?;
        let truncated = graph.truncated;
        let (nodes, edges) = in_scope_views(graph, &names);
        Ok(GraphResponse::Ok(Json(ResourceGraph {
            root: id.0,
            nodes,
            edges,
            truncated,
        })))
    }

    /// Get a resource's impact
    ///
    /// Everything transitively downstream of one Flux object — consumers, what they applied,
    /// their dependants — grouped by cluster, with health. For a source (GitRepository,
    /// OCIRepository, HelmRepository, Bucket) also the sources on every cluster that fetch from
    /// the same place (same URL and ref; same bucket) and what is downstream of them: what else
    /// breaks when that repository breaks. Clusters outside the caller's scope are left out. At
    /// most 1,000 nodes (`truncated`).
    #[oai(
        path = "/:id/impact",
        method = "get",
        operation_id = "getResourceImpact"
    )]
    async fn impact(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
    ) -> Result<ImpactResponse, ApiError> {
        let root = root(&state, &principal, id.0).await?;
        let names = visible_clusters(&state, &principal).await?;
        let same = state.store.same_source(id.0).await?;
        let mut others: Vec<GraphNode> = state.store.graph_nodes(&same).await?;
        others.retain(|n| names.contains_key(&n.cluster_id));
        others.sort_by(|a, b| {
            (a.cluster_id, &a.namespace, &a.name).cmp(&(b.cluster_id, &b.namespace, &b.name))
        });
        let mut roots = vec![root.clone()];
        roots.extend(others);
        let graph = state
            .store
            .walk(roots, &[Direction::Down], IMPACT_DEPTH, MAX_NODES)
            .await?;
        let truncated = graph.truncated;
        let (nodes, edges) = in_scope_views(graph, &names);
        Ok(ImpactResponse::Ok(Json(Impact {
            root: id.0,
            clusters: by_cluster(nodes, root.cluster_id),
            edges,
            truncated,
        })))
    }
}
