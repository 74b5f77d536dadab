//! Reading the edges (`resource_edges`): bounded breadth-first walks from one or more objects,
//! one query per depth level and direction, each level's edges both ways (those the frontier
//! declares and those that point at it) resolved against `flux_resources` in the same query.
//!
//! What is walked: an edge points from upstream to downstream; `Down` follows edges forwards
//! (what breaks if this breaks: consumers, children, dependants), `Up` backwards (what this
//! needs). Depth is counted in edges from the walk's roots. The walk stops adding nodes at
//! `max_nodes` and says so (`truncated`); which nodes are kept is deterministic (by depth, then
//! kind, namespace, name).

use std::collections::{HashMap, HashSet};

use tokio_postgres::Row;
use uuid::Uuid;

use super::types::column;
use super::{Result, Store};
use crate::flux::{EdgeType, Health};

/// Which way a walk follows edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Forwards: from an object to what depends on it or what it applied.
    Down,
    /// Backwards: from an object to what it needs.
    Up,
}

/// The state of a stored object, as lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeState {
    /// Health verdict.
    pub health: Health,
    /// Reason behind it.
    pub reason: Option<String>,
    /// Message behind it.
    pub message: Option<String>,
    /// Applied revision.
    pub revision: Option<String>,
}

/// One object of a graph: stored (with its state) or only named by an edge.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// `store::resource_id` of the key: the stored object's id, or the id it will have.
    pub id: Uuid,
    /// Cluster.
    pub cluster_id: Uuid,
    /// API group (empty for the core group).
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Edges from the nearest root (0 for a root).
    pub depth: u32,
    /// The stored object's state; `None` when no such object is stored.
    pub state: Option<NodeState>,
}

/// An edge of a graph, upstream to downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GraphEdge {
    /// Upstream end.
    pub from: Uuid,
    /// Downstream end.
    pub to: Uuid,
    /// What it means.
    pub edge_type: EdgeType,
}

/// The result of a walk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// The nodes, roots first, then by depth.
    pub nodes: Vec<GraphNode>,
    /// The edges between them.
    pub edges: Vec<GraphEdge>,
    /// More nodes were reachable within the depth than `max_nodes`.
    pub truncated: bool,
}

/// One edge found from a frontier node, with the node at its other end.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hop {
    /// The edge.
    pub edge: GraphEdge,
    /// The node at the other end (its depth is set by the walk).
    pub node: GraphNode,
}

/// The bookkeeping of a walk, without IO: which nodes and edges were found, and when to stop.
#[derive(Debug)]
pub(crate) struct Walk {
    graph: Graph,
    index: HashMap<Uuid, usize>,
    seen_edges: HashSet<GraphEdge>,
    max_nodes: usize,
}

impl Walk {
    /// A walk from `roots` (depth 0), keeping at most `max_nodes` nodes (roots included).
    pub fn new(roots: Vec<GraphNode>, max_nodes: usize) -> Walk {
        let mut walk = Walk {
            graph: Graph::default(),
            index: HashMap::new(),
            seen_edges: HashSet::new(),
            max_nodes,
        };
        for mut root in roots {
            root.depth = 0;
            walk.add(root);
        }
        walk
    }

    fn add(&mut self, node: GraphNode) -> bool {
        if self.index.contains_key(&node.id) {
            return false;
        }
        if self.graph.nodes.len() >= self.max_nodes {
            self.graph.truncated = true;
            return false;
        }
        self.index.insert(node.id, self.graph.nodes.len());
        self.graph.nodes.push(node);
        true
    }

    /// The roots' ids.
    pub fn roots(&self) -> Vec<Uuid> {
        let roots = self.graph.nodes.iter().take_while(|n| n.depth == 0);
        roots.map(|n| n.id).collect()
    }

    /// The cluster of a node found so far.
    pub fn cluster_of(&self, id: Uuid) -> Option<Uuid> {
        self.index.get(&id).map(|&i| self.graph.nodes[i].cluster_id)
    }

    /// Take the hops found from the frontier at `depth - 1`; returns the new nodes (the next
    /// frontier). Edges are kept when both ends are in the graph.
    pub fn step(&mut self, mut hops: Vec<Hop>, depth: u32) -> Vec<Uuid> {
        hops.sort_by(|a, b| {
            let key = |h: &Hop| {
                (
                    h.node.kind.clone(),
                    h.node.namespace.clone(),
                    h.node.name.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        let mut next = Vec::new();
        for Hop { edge, mut node } in hops {
            let id = node.id;
            node.depth = depth;
            if self.add(node) {
                next.push(id);
            }
            if self.index.contains_key(&id) && self.seen_edges.insert(edge) {
                self.graph.edges.push(edge);
            }
        }
        next
    }

    /// The graph found.
    pub fn finish(self) -> Graph {
        self.graph
    }
}

const NODE_COLUMNS: &str =
    "id, cluster_id, api_group, kind, namespace, name, health, reason, message, revision";

/// A node of a `flux_resources` row read with [`NODE_COLUMNS`] from column `at` on.
fn stored_node(row: &Row, at: usize) -> Result<GraphNode> {
    Ok(GraphNode {
        id: row.get(at),
        cluster_id: row.get(at + 1),
        api_group: row.get(at + 2),
        kind: row.get(at + 3),
        namespace: row.get(at + 4),
        name: row.get(at + 5),
        depth: 0,
        state: Some(NodeState {
            health: column(row, at + 6)?,
            reason: row.get(at + 7),
            message: row.get(at + 8),
            revision: row.get(at + 9),
        }),
    })
}

/// One level of a walk. `$1`: the frontier's ids; `$2`: true for `Down`. First the edges the
/// frontier declares in the walk's direction (the other end is their target, stored or not),
/// then the edges pointing at the frontier that the other end declares (always stored).
const LEVEL: &str = "\
    SELECT e.resource_id, e.target_id, e.type, e.outgoing, \
           r.id, r.cluster_id, e.target_group, e.target_kind, e.target_namespace, e.target_name, \
           r.health, r.reason, r.message, r.revision \
    FROM resource_edges e LEFT JOIN flux_resources r ON r.id = e.target_id \
    WHERE e.resource_id = ANY($1) AND e.outgoing = $2 \
    UNION ALL \
    SELECT e.resource_id, e.target_id, e.type, e.outgoing, \
           r.id, r.cluster_id, r.api_group, r.kind, r.namespace, r.name, \
           r.health, r.reason, r.message, r.revision \
    FROM resource_edges e JOIN flux_resources r ON r.id = e.resource_id \
    WHERE e.target_id = ANY($1) AND e.outgoing <> $2";

/// The hop of a [`LEVEL`] row; `walk` places unstored targets on their declarer's cluster.
fn hop(row: &Row, walk: &Walk) -> Result<Hop> {
    let (declarer, target): (Uuid, Uuid) = (row.get(0), row.get(1));
    let edge_type: EdgeType = column(row, 2)?;
    let outgoing: bool = row.get(3);
    let (from, to) = if outgoing {
        (declarer, target)
    } else {
        (target, declarer)
    };
    let stored: Option<Uuid> = row.get(4);
    let node = match stored {
        Some(_) => stored_node(row, 4)?,
        None => GraphNode {
            id: target,
            cluster_id: walk.cluster_of(declarer).unwrap_or_default(),
            api_group: row.get(6),
            kind: row.get(7),
            namespace: row.get(8),
            name: row.get(9),
            depth: 0,
            state: None,
        },
    };
    let edge = GraphEdge {
        from,
        to,
        edge_type,
    };
    Ok(Hop { edge, node })
}

impl Store {
    /// The stored objects of `ids` as graph roots (unknown ids are left out).
    pub async fn graph_nodes(&self, ids: &[Uuid]) -> Result<Vec<GraphNode>> {
        let conn = self.read_conn().await?;
        let sql = format!("SELECT {NODE_COLUMNS} FROM flux_resources WHERE id = ANY($1)");
        let rows = conn.query(&sql, &[&ids]).await?;
        rows.iter().map(|r| stored_node(r, 0)).collect()
    }

    /// Walk from `roots` in each of `directions` (each from the roots, sharing what was found)
    /// up to `depth` edges away, keeping at most `max_nodes` nodes.
    pub async fn walk(
        &self,
        roots: Vec<GraphNode>,
        directions: &[Direction],
        depth: u32,
        max_nodes: usize,
    ) -> Result<Graph> {
        let conn = self.read_conn().await?;
        let statement = conn.prepare(LEVEL).await?;
        let mut walk = Walk::new(roots, max_nodes);
        for direction in directions {
            let mut frontier = walk.roots();
            for level in 1..=depth {
                if frontier.is_empty() {
                    break;
                }
                let down = *direction == Direction::Down;
                let rows = conn.query(&statement, &[&frontier, &down]).await?;
                let hops = rows.iter().map(|r| hop(r, &walk)).collect::<Result<_>>()?;
                frontier = walk.step(hops, level);
            }
        }
        Ok(walk.finish())
    }

    /// Sources on any cluster that fetch from where `id` fetches from (`flux::source_identity`),
    /// `id` left out; empty for objects that are not sources.
    pub async fn same_source(&self, id: Uuid) -> Result<Vec<Uuid>> {
        let conn = self.read_conn().await?;
        let rows = conn
            .query(
                "SELECT other.resource_id FROM source_identities mine \
                 JOIN source_identities other ON other.identity = mine.identity \
                 WHERE mine.resource_id = $1 AND other.resource_id <> $1",
                &[&id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
