//! From the command line's words to the API's ids: clusters by name, id or label selector,
//! objects by KIND/NAME/namespace/cluster through the list API's filters, all pages.

use std::num::NonZeroU32;

use fluxo_client::types::{Cluster, Health, ResourceSummary};

use super::api::Api;
use super::args::{Filters, ObjectRef};
use super::error::{Error, Result};

/// Page size for walking lists (the API's maximum).
const PAGE: u32 = 1000;

/// The list filters of a command, resolved.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Cluster names or ids; `None`: every cluster.
    pub clusters: Option<Vec<String>>,
    /// Kinds (as typed; the server knows plurals and short names).
    pub kinds: Vec<String>,
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// Healths.
    pub health: Vec<Health>,
    /// Object label selector.
    pub labels: Option<String>,
    /// Exact object name.
    pub name: Option<String>,
}

/// Every cluster.
pub async fn clusters(api: &Api) -> Result<Vec<Cluster>> {
    let list = api
        .client
        .list_clusters()
        .send()
        .await
        .map_err(|e| api.err(e))?;
    Ok(list.into_inner().items)
}

/// The clusters whose labels match `selector`.
pub fn select_clusters<'a>(all: &'a [Cluster], selector: &str) -> Result<Vec<&'a Cluster>> {
    let requirements = fluxo_selector::parse(selector)
        .map_err(|e| Error::Usage(format!("invalid cluster selector {selector:?}: {e}")))?;
    Ok(all
        .iter()
        .filter(|c| {
            requirements
                .iter()
                .all(|r| r.matches(|k| c.labels.get(k).map(String::as_str)))
        })
        .collect())
}

/// One cluster by name or id.
pub async fn cluster(api: &Api, name: &str) -> Result<Cluster> {
    clusters(api)
        .await?
        .into_iter()
        .find(|c| c.name == name || c.id.to_string() == name)
        .ok_or_else(|| Error::Usage(format!("no cluster named {name:?}")))
}

/// The cluster filter of `filters`: `--cluster` values, narrowed by `-l` to the clusters its
/// selector matches. `Some(empty)` when nothing matches.
pub async fn cluster_filter(api: &Api, filters: &Filters) -> Result<Option<Vec<String>>> {
    let Some(selector) = &filters.cluster_selector else {
        return Ok((!filters.clusters.is_empty()).then(|| filters.clusters.clone()));
    };
    let all = clusters(api).await?;
    let named = |c: &Cluster| {
        filters.clusters.is_empty()
            || filters
                .clusters
                .iter()
                .any(|n| *n == c.name || *n == c.id.to_string())
    };
    Ok(Some(
        select_clusters(&all, selector)?
            .into_iter()
            .filter(|c| named(c))
            .map(|c| c.id.to_string())
            .collect(),
    ))
}

/// Parse `--health` values.
pub fn healths(values: &[String]) -> Result<Vec<Health>> {
    values
        .iter()
        .map(|v| {
            v.parse::<Health>().map_err(|_| {
                Error::Usage(format!(
                    "unknown health {v:?}: one of ready, progressing, failed, stalled, suspended, unknown"
                ))
            })
        })
        .collect()
}

/// Every object matching `query`, all pages, sorted by cluster, kind, namespace and name.
pub async fn list(api: &Api, query: &Query) -> Result<Vec<ResourceSummary>> {
    if query.clusters.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = api
            .client
            .list_resources()
            .limit(NonZeroU32::new(PAGE).unwrap_or(NonZeroU32::MIN))
            .kind(query.kinds.clone())
            .namespace(query.namespaces.clone())
            .health(query.health.clone())
            .cluster(query.clusters.clone().unwrap_or_default());
        if let Some(labels) = &query.labels {
            req = req.label(vec![labels.clone()]);
        }
        if let Some(name) = &query.name {
            req = req.q(name.clone());
        }
        if let Some(c) = cursor.take() {
            req = req.continue_(c);
        }
        let page = req.send().await.map_err(|e| api.err(e))?.into_inner();
        items.extend(
            page.items
                .into_iter()
                .filter(|r| query.name.as_ref().is_none_or(|n| *n == r.name)),
        );
        match page.continue_ {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    items.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    Ok(items)
}

fn sort_key(r: &ResourceSummary) -> (&str, &str, &str, &str) {
    (&r.cluster, &r.kind, &r.namespace, &r.name)
}

/// The one object `object` names.
pub async fn object(api: &Api, object: &ObjectRef) -> Result<ResourceSummary> {
    let query = Query {
        clusters: object.cluster.clone().map(|c| vec![c]),
        kinds: vec![object.kind.clone()],
        namespaces: vec![object.namespace.clone()],
        name: Some(object.name.clone()),
        ..Query::default()
    };
    let found = list(api, &query).await?;
    one(found, object)
}

/// Exactly one match, or an error saying what to add.
pub fn one(mut found: Vec<ResourceSummary>, object: &ObjectRef) -> Result<ResourceSummary> {
    let what = format!("{} {}/{}", object.kind, object.namespace, object.name);
    match found.len() {
        0 => Err(Error::Usage(match &object.cluster {
            Some(c) => format!("{what} not found on cluster {c:?}"),
            None => format!("{what} not found on any cluster"),
        })),
        1 => Ok(found.remove(0)),
        _ => {
            let clusters: Vec<&str> = found.iter().map(|r| r.cluster.as_str()).collect();
            Err(Error::Usage(format!(
                "{what} exists on {} clusters ({}): pass --cluster",
                found.len(),
                clusters.join(", ")
            )))
        }
    }
}

/// `Kind/namespace/name` on `cluster`, for messages.
pub fn describe(r: &ResourceSummary) -> String {
    format!("{}/{}/{} on {}", r.kind, r.namespace, r.name, r.cluster)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn cluster(name: &str, labels: serde_json::Value) -> Cluster {
        serde_json::from_value(json!({
            "id": Uuid::new_v4(), "name": name, "description": "", "labels": labels,
            "source": "kubeconfig", "serverUrl": "https://x", "context": "c", "insecure": false,
            "watchWorkloads": true,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    pub(crate) fn summary(cluster: &str, name: &str) -> ResourceSummary {
        serde_json::from_value(json!({
            "id": Uuid::new_v4(), "cluster": cluster, "clusterId": Uuid::new_v4(),
            "apiGroup": "kustomize.toolkit.fluxcd.io", "apiVersion": "v1", "kind": "Kustomization",
            "namespace": "flux-system", "name": name, "health": "ready", "labels": {},
            "dependsOn": [], "seq": 1, "suspended": false, "updatedAt": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn cluster_selectors_match_labels_as_kubectl_does() {
        let all = vec![
            cluster("a", json!({"env": "prod", "region": "eu"})),
            cluster("b", json!({"env": "dev"})),
            cluster("c", json!({})),
        ];
        let names = |sel: &str| -> Vec<String> {
            select_clusters(&all, sel)
                .unwrap()
                .iter()
                .map(|c| c.name.clone())
                .collect()
        };
        assert_eq!(names("env=prod"), ["a"]);
        assert_eq!(names("env!=prod"), ["b", "c"]);
        assert_eq!(names("env in (prod,dev),!region"), ["b"]);
        assert!(select_clusters(&all, "env in (").is_err());
    }

    #[test]
    fn an_object_on_several_clusters_asks_for_the_cluster() {
        let object = ObjectRef {
            kind: "ks".into(),
            name: "apps".into(),
            namespace: "flux-system".into(),
            cluster: None,
        };
        let err = one(vec![summary("a", "apps"), summary("b", "apps")], &object).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ks flux-system/apps exists on 2 clusters (a, b): pass --cluster"
        );
        assert!(
            one(vec![], &object)
                .unwrap_err()
                .to_string()
                .contains("not found on any cluster")
        );
        assert_eq!(
            one(vec![summary("a", "apps")], &object).unwrap().cluster,
            "a"
        );
    }

    #[test]
    fn unknown_healths_are_refused_with_the_choices() {
        assert_eq!(healths(&["failed".into()]).unwrap(), vec![Health::Failed]);
        assert!(
            healths(&["broken".into()])
                .unwrap_err()
                .to_string()
                .contains("one of ready")
        );
    }
}
