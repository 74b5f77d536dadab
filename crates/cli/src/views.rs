//! `events`, `history KIND NAME` and `tree KIND NAME`: read-only views of one object or the
//! fleet's controller events.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;

use fluxo_client::types::{Change, GraphDirection, GraphNodeView, ResourceGraph};
use uuid::Uuid;

use super::api::Api;
use super::args::{EventsArgs, ObjectArgs, Output, TreeArgs};
use super::error::{Error, Result};
use super::output::{print, structured};
use super::resolve;
use super::table::{Table, truncate};

/// `events`.
pub async fn events(api: &Api, args: &EventsArgs) -> Result<()> {
    let clusters = resolve::cluster_filter(api, &args.filters).await?;
    if clusters.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::Usage(
            "no cluster matches the cluster selector".into(),
        ));
    }
    let types = args
        .event_type
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|_| Error::Usage(format!("unknown event type {t:?}: Normal or Warning")))
        })
        .collect::<Result<Vec<_>>>()?;
    let limit = NonZeroU32::new(args.limit.clamp(1, 1000)).unwrap_or(NonZeroU32::MIN);
    let page = api
        .client
        .list_events()
        .cluster(clusters.unwrap_or_default())
        .namespace(args.filters.namespaces.clone())
        .kind(args.kind.clone())
        .name(args.name.clone())
        .type_(types)
        .limit(limit)
        .send()
        .await
        .map_err(|e| api.err(e))?
        .into_inner();
    if matches!(args.output, Output::Json | Output::Yaml) {
        return structured(&page.items, args.output);
    }
    let wide = args.output == Output::Wide;
    let mut t = Table::new([
        "LAST SEEN",
        "CLUSTER",
        "TYPE",
        "REASON",
        "OBJECT",
        "MESSAGE",
    ]);
    for e in &page.items {
        let message = e.message.clone().unwrap_or_default();
        t.row([
            e.last_seen
                .map(|s| s.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            e.cluster.clone(),
            e.type_.to_string(),
            e.reason.clone().unwrap_or_default(),
            format!("{}/{}/{}", e.kind, e.namespace, e.name),
            if wide {
                message
            } else {
                truncate(&message, 80)
            },
        ]);
    }
    print(&t.render())
}

/// `history KIND NAME`: the whole change log of the object, newest first.
pub async fn history(api: &Api, args: &ObjectArgs) -> Result<()> {
    let r = resolve::object(api, &args.object).await?;
    let mut items: Vec<Change> = Vec::new();
    let mut cursor = None;
    loop {
        let mut req = api
            .client
            .list_resource_changes()
            .id(r.id)
            .limit(NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN));
        if let Some(c) = cursor.take() {
            req = req.continue_(c);
        }
        let page = req.send().await.map_err(|e| api.err(e))?.into_inner();
        items.extend(page.items);
        match page.continue_ {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    if matches!(args.output, Output::Json | Output::Yaml) {
        return structured(&items, args.output);
    }
    print(&history_table(&items, args.output == Output::Wide).render())
}

/// The change log as a table.
pub fn history_table(items: &[Change], wide: bool) -> Table {
    let mut t = Table::new([
        "SEQ", "AT", "OP", "HEALTH", "REVISION", "SUMMARY", "MESSAGE",
    ]);
    for c in items {
        let health = match (c.health_before, c.health_after) {
            (Some(b), Some(a)) if b != a => format!("{b} → {a}"),
            (_, Some(a)) => a.to_string(),
            (Some(b), None) => format!("{b} → gone"),
            (None, None) => String::new(),
        };
        let message = c.message.clone().unwrap_or_default();
        let summary = c.summary.clone().unwrap_or_default();
        let cut = |text: String| if wide { text } else { truncate(&text, 60) };
        t.row([
            c.seq.to_string(),
            c.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            c.op.to_string(),
            health,
            c.revision.clone().unwrap_or_default(),
            cut(summary),
            cut(message),
        ]);
    }
    t
}

/// `tree KIND NAME`.
pub async fn tree(api: &Api, args: &TreeArgs) -> Result<()> {
    let r = resolve::object(api, &args.object).await?;
    let direction = if args.up {
        GraphDirection::Up
    } else {
        GraphDirection::Down
    };
    let depth = NonZeroU32::new(args.depth).unwrap_or(NonZeroU32::MIN);
    let graph = api
        .client
        .get_resource_graph()
        .id(r.id)
        .depth(depth)
        .direction(direction)
        .send()
        .await
        .map_err(|e| api.err(e))?
        .into_inner();
    print(&render_tree(&graph, args.up))
}

fn label(n: &GraphNodeView) -> String {
    let ns = if n.namespace.is_empty() {
        String::new()
    } else {
        format!("{}/", n.namespace)
    };
    let health = if n.watched {
        format!(" ({})", n.health)
    } else {
        String::new()
    };
    format!("{}/{ns}{}{health}", n.kind, n.name)
}

/// The graph as an indented tree from its root, like `flux tree`; a node reached twice is
/// printed again without its children (marked `…`).
pub fn render_tree(graph: &ResourceGraph, up: bool) -> String {
    let nodes: HashMap<Uuid, &GraphNodeView> = graph.nodes.iter().map(|n| (n.id, n)).collect();
    let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for e in &graph.edges {
        let (parent, child) = if up { (e.to, e.from) } else { (e.from, e.to) };
        children.entry(parent).or_default().push(child);
    }
    for list in children.values_mut() {
        list.sort_by_key(|id| {
            nodes
                .get(id)
                .map(|n| (n.kind.clone(), n.namespace.clone(), n.name.clone()))
        });
        list.dedup();
    }
    let mut out = nodes.get(&graph.root).map(|n| label(n)).unwrap_or_default();
    out.push('\n');
    let mut seen = HashSet::from([graph.root]);
    walk(graph.root, "", &nodes, &children, &mut seen, &mut out);
    if graph.truncated {
        out.push_str("… (truncated at 1,000 objects)\n");
    }
    out
}

fn walk(
    id: Uuid,
    prefix: &str,
    nodes: &HashMap<Uuid, &GraphNodeView>,
    children: &HashMap<Uuid, Vec<Uuid>>,
    seen: &mut HashSet<Uuid>,
    out: &mut String,
) {
    let Some(kids) = children.get(&id) else {
        return;
    };
    for (i, kid) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let Some(node) = nodes.get(kid) else { continue };
        let first_visit = seen.insert(*kid);
        let more = if first_visit || !children.contains_key(kid) {
            ""
        } else {
            " …"
        };
        out.push_str(&format!(
            "{prefix}{}{}{more}\n",
            if last { "└── " } else { "├── " },
            label(node)
        ));
        if first_visit {
            let next = format!("{prefix}{}", if last { "    " } else { "│   " });
            walk(*kid, &next, nodes, children, seen, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(id: u128, kind: &str, name: &str, watched: bool) -> serde_json::Value {
        json!({
            "id": Uuid::from_u128(id), "kind": kind, "name": name, "namespace": "flux-system",
            "apiGroup": "", "cluster": "prod", "clusterId": Uuid::nil(), "depth": 0,
            "health": "ready", "stored": watched, "watched": watched,
        })
    }

    #[test]
    fn the_tree_is_indented_like_flux_tree_and_survives_cycles() {
        let graph: ResourceGraph = serde_json::from_value(json!({
            "root": Uuid::from_u128(1), "truncated": false,
            "nodes": [node(1, "Kustomization", "flux-system", true), node(2, "GitRepository", "flux-system", true),
                      node(3, "Kustomization", "apps", true), node(4, "Deployment", "web", false)],
            "edges": [
                {"from": Uuid::from_u128(1), "to": Uuid::from_u128(3), "type": "inventory"},
                {"from": Uuid::from_u128(1), "to": Uuid::from_u128(2), "type": "inventory"},
                {"from": Uuid::from_u128(3), "to": Uuid::from_u128(4), "type": "inventory"},
                {"from": Uuid::from_u128(3), "to": Uuid::from_u128(1), "type": "dependsOn"},
            ],
        }))
        .unwrap();
        assert_eq!(
            render_tree(&graph, false),
            "Kustomization/flux-system/flux-system (ready)\n\
             ├── GitRepository/flux-system/flux-system (ready)\n\
             └── Kustomization/flux-system/apps (ready)\n\
             \u{20}   ├── Deployment/flux-system/web\n\
             \u{20}   └── Kustomization/flux-system/flux-system (ready) …\n"
        );
    }
}
