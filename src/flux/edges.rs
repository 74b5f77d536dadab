//! Edges between the objects of one cluster, read from one Flux object: what it takes its input
//! from, what it depends on, and what it applied. Each edge is declared by the object it is read
//! from and names the object at its other end by group, kind, namespace and name, which need not
//! exist (yet); the store resolves it when asked.
//!
//! Direction: an edge points from upstream to downstream (see [`EdgeType`]), so "what breaks if
//! X breaks" is everything downstream of X. Namespaces left out default to the declaring
//! object's own, as the controllers resolve them.
//!
//! Left out on purpose: `*` wildcards and `matchLabels` selectors of an Alert's event sources
//! and a Receiver's resources (they name sets, not objects), and edges from an object to itself
//! (the bootstrap Kustomization lists itself in its inventory).

use serde_json::Value;

use super::conditions::{non_empty, str_at};
use super::inventory::{AppliedRef, inventory};
use super::kinds::{by_kind, group_of};
use super::vocabulary::EdgeType;

/// One edge as declared by an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    /// What the edge means.
    pub edge_type: EdgeType,
    /// The object at the other end, in the same cluster.
    pub target: AppliedRef,
}

impl Edge {
    /// The declaring object is the edge's upstream end (see [`EdgeType::declared_upstream`]).
    pub fn outgoing(&self) -> bool {
        self.edge_type.declared_upstream()
    }
}

/// Every edge `obj` declares, sorted and without duplicates or self-edges.
pub fn edges(obj: &Value) -> Vec<Edge> {
    let kind = str_at(obj, "/kind").unwrap_or_default();
    let own = Own {
        namespace: str_at(obj, "/metadata/namespace").unwrap_or_default(),
    };
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut out = Vec::new();
    match kind.as_str() {
        "Kustomization" => {
            own.push(&mut out, EdgeType::Source, spec.get("sourceRef"), None);
            own.depends_on(&mut out, spec, "Kustomization");
            inventory_edges(&mut out, obj);
        }
        "HelmRelease" => helm_release(&mut out, &own, obj),
        "HelmChart" => own.push(&mut out, EdgeType::Source, spec.get("sourceRef"), None),
        "ImageUpdateAutomation" => own.push(
            &mut out,
            EdgeType::Source,
            spec.get("sourceRef"),
            Some("GitRepository"),
        ),
        "ImagePolicy" => own.push(
            &mut out,
            EdgeType::ImageRepository,
            spec.get("imageRepositoryRef"),
            Some("ImageRepository"),
        ),
        "Alert" => {
            let provider = spec.get("providerRef");
            own.push(&mut out, EdgeType::Provider, provider, Some("Provider"));
            own.each(&mut out, EdgeType::EventSource, spec.get("eventSources"));
        }
        "Receiver" => own.each(&mut out, EdgeType::Receiver, spec.get("resources")),
        _ => {}
    }
    let me = self_ref(obj, &kind, &own.namespace);
    out.retain(|e| Some(&e.target) != me.as_ref());
    out.sort();
    out.dedup();
    out
}

/// HelmRelease: its chart's source (`spec.chartRef`, else the chart template's
/// `spec.chart.spec.sourceRef`), the HelmChart made for it (`status.helmChart`, `ns/name`),
/// and `spec.dependsOn`.
fn helm_release(out: &mut Vec<Edge>, own: &Own, obj: &Value) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let source = spec
        .get("chartRef")
        .or_else(|| spec.pointer("/chart/spec/sourceRef"));
    own.push(out, EdgeType::Source, source, None);
    if let Some((namespace, name)) = str_at(obj, "/status/helmChart")
        .as_deref()
        .and_then(|c| c.split_once('/'))
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty())
    {
        out.push(Edge {
            edge_type: EdgeType::Chart,
            target: flux_ref("HelmChart", None, namespace, name),
        });
    }
    own.depends_on(out, spec, "HelmRelease");
}

/// One inventory edge per entry of `status.inventory`.
fn inventory_edges(out: &mut Vec<Edge>, obj: &Value) {
    out.extend(inventory(obj).into_iter().flatten().map(|item| Edge {
        edge_type: EdgeType::Inventory,
        target: item.object,
    }));
}

/// The declaring object's namespace, the default of its references.
struct Own {
    namespace: String,
}

impl Own {
    /// The edge of a reference `{apiVersion?, kind?, name, namespace?}`; `default_kind` when
    /// the reference has no kind. Nothing for a missing reference, name or kind, or a wildcard.
    fn push(
        &self,
        out: &mut Vec<Edge>,
        edge_type: EdgeType,
        reference: Option<&Value>,
        default_kind: Option<&str>,
    ) {
        let Some(reference) = reference else { return };
        let Some(kind) = non_empty(reference.get("kind")).or(default_kind.map(str::to_owned))
        else {
            return;
        };
        let Some(name) = non_empty(reference.get("name")) else {
            return;
        };
        let namespace = non_empty(reference.get("namespace")).unwrap_or(self.namespace.clone());
        if name.contains('*') || namespace.contains('*') {
            return;
        }
        let api_version = non_empty(reference.get("apiVersion"));
        out.push(Edge {
            edge_type,
            target: flux_ref(&kind, api_version.as_deref(), &namespace, &name),
        });
    }

    /// One edge per reference of a list (`eventSources`, `resources`).
    fn each(&self, out: &mut Vec<Edge>, edge_type: EdgeType, list: Option<&Value>) {
        for reference in list.and_then(Value::as_array).into_iter().flatten() {
            self.push(out, edge_type, Some(reference), None);
        }
    }

    /// `spec.dependsOn`: objects of the declaring object's own kind.
    fn depends_on(&self, out: &mut Vec<Edge>, spec: &Value, kind: &str) {
        let deps = spec.get("dependsOn").and_then(Value::as_array);
        for dep in deps.into_iter().flatten() {
            self.push(out, EdgeType::DependsOn, Some(dep), Some(kind));
        }
    }
}

/// A reference to an object of a Flux kind: the group from `apiVersion` when the reference pins
/// one, else from the catalogue (kind names are unique across the Flux groups); an unknown kind
/// keeps the empty group.
fn flux_ref(kind: &str, api_version: Option<&str>, namespace: &str, name: &str) -> AppliedRef {
    let known = by_kind(kind);
    let group = match api_version {
        Some(v) if v.contains('/') => group_of(v).to_owned(),
        _ => known.map(|k| k.group.to_owned()).unwrap_or_default(),
    };
    AppliedRef {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        group,
        kind: known.map_or(kind, |k| k.kind).to_owned(),
    }
}

/// Where a source object fetches from, comparable across clusters — what else breaks when that
/// repository breaks: `kind|url|ref` for GitRepository and OCIRepository (the ref's fields in
/// name order), `kind|url` for HelmRepository, `Bucket|endpoint|bucketName|prefix`. URLs lose a
/// trailing `/` and, for Git, `.git`. `None` for other kinds and sources without a URL.
pub fn source_identity(obj: &Value) -> Option<String> {
    let kind = str_at(obj, "/kind")?;
    let url = |trim_git: bool| {
        str_at(obj, "/spec/url").map(|u| {
            let u = u.trim().trim_end_matches('/');
            let u = if trim_git {
                u.trim_end_matches(".git")
            } else {
                u
            };
            u.to_owned()
        })
    };
    let parts = match kind.as_str() {
        "GitRepository" => vec![url(true)?, reference(obj)],
        "OCIRepository" => vec![url(false)?, reference(obj)],
        "HelmRepository" => vec![url(false)?],
        "Bucket" => vec![
            str_at(obj, "/spec/endpoint")?,
            str_at(obj, "/spec/bucketName")?,
            str_at(obj, "/spec/prefix").unwrap_or_default(),
        ],
        _ => return None,
    };
    Some(format!("{kind}|{}", parts.join("|")))
}

/// `spec.ref` as `key=value` pairs in key order (`branch=main`), whatever order it was written in.
fn reference(obj: &Value) -> String {
    let fields: std::collections::BTreeMap<&str, String> = obj
        .pointer("/spec/ref")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.as_str(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// The declaring object as an edge target, to leave out edges to itself.
fn self_ref(obj: &Value, kind: &str, namespace: &str) -> Option<AppliedRef> {
    Some(AppliedRef {
        namespace: namespace.to_owned(),
        name: str_at(obj, "/metadata/name")?,
        group: group_of(&str_at(obj, "/apiVersion")?).to_owned(),
        kind: kind.to_owned(),
    })
}

#[cfg(test)]
#[path = "edges_tests.rs"]
mod tests;
