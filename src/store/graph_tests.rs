use super::*;

fn node(name: &str) -> GraphNode {
    GraphNode {
        id: Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()),
        cluster_id: Uuid::nil(),
        api_group: String::new(),
        kind: "ConfigMap".into(),
        namespace: "apps".into(),
        name: name.into(),
        depth: 7,
        state: None,
    }
}

fn hop(from: &str, to: &str) -> Hop {
    Hop {
        edge: GraphEdge {
            from: node(from).id,
            to: node(to).id,
            edge_type: EdgeType::Inventory,
        },
        node: node(to),
    }
}

fn names(graph: &Graph) -> Vec<(&str, u32)> {
    graph
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.depth))
        .collect()
}

#[test]
fn a_walk_numbers_nodes_by_their_distance_and_keeps_each_edge_once() {
    let mut walk = Walk::new(vec![node("root")], 100);
    assert_eq!(walk.roots(), [node("root").id]);
    let next = walk.step(
        vec![hop("root", "b"), hop("root", "a"), hop("root", "a")],
        1,
    );
    assert_eq!(
        next,
        [node("a").id, node("b").id],
        "sorted by kind, namespace, name"
    );
    // A diamond and a cycle back to the root: no node twice, every distinct edge once.
    let next = walk.step(vec![hop("a", "c"), hop("b", "c"), hop("c", "root")], 2);
    assert_eq!(next, [node("c").id]);
    let graph = walk.finish();
    assert_eq!(names(&graph), [("root", 0), ("a", 1), ("b", 1), ("c", 2)]);
    assert_eq!(graph.edges.len(), 5);
    assert!(!graph.truncated);
}

#[test]
fn a_walk_stops_at_max_nodes_and_drops_the_edges_to_what_it_left_out() {
    let mut walk = Walk::new(vec![node("root")], 3);
    let next = walk.step(
        vec![hop("root", "c"), hop("root", "b"), hop("root", "a")],
        1,
    );
    assert_eq!(next, [node("a").id, node("b").id]);
    // Edges between kept nodes still count once the graph is full.
    assert!(walk.step(vec![hop("a", "b")], 2).is_empty());
    let graph = walk.finish();
    assert!(graph.truncated);
    assert_eq!(names(&graph), [("root", 0), ("a", 1), ("b", 1)]);
    let targets: Vec<Uuid> = graph.edges.iter().map(|e| e.to).collect();
    assert_eq!(targets, [node("a").id, node("b").id, node("b").id]);
}

#[test]
fn several_roots_are_all_at_depth_zero() {
    let walk = Walk::new(vec![node("x"), node("y"), node("x")], 10);
    assert_eq!(walk.roots(), [node("x").id, node("y").id]);
    assert_eq!(walk.cluster_of(node("y").id), Some(Uuid::nil()));
    assert_eq!(walk.cluster_of(node("z").id), None);
}
