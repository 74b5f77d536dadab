//! What changed between two versions of a Flux object: a structural diff that names each
//! changed field by its path, says whether it is spec, status or metadata, and recognises the
//! fields that mean something to Flux (a reconcile request, a suspend reason, a handled
//! request) or are mere bookkeeping that follows other changes.
//!
//! Objects are compared as the store keeps them (sanitized: no `managedFields`, no kubectl
//! last-applied annotation). `metadata.resourceVersion` is never a change: the apiserver bumps
//! it on every write, including ones that change nothing, and the store's content hash leaves
//! it out for the same reason.
//!
//! Lists are matched element by element where Kubernetes lists have an identity: conditions by
//! `type`, inventory entries by `id`, HelmRelease history by `version`, others by `name` when
//! it is unique. Other lists are compared by position when their length is unchanged, and as a
//! whole otherwise.

use serde_json::{Map, Value};

use super::{
    FORCE_REQUEST_ANNOTATION, RECONCILE_REQUEST_ANNOTATION, RESET_REQUEST_ANNOTATION,
    SUSPEND_REASON_ANNOTATION,
};

/// Which part of the object a changed field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// `spec` (and any other desired-state field outside `metadata` and `status`).
    Spec,
    /// `status`: what the controller reports.
    Status,
    /// `apiVersion`, `kind`, `metadata` (labels, annotations, finalizers…).
    Metadata,
}

impl Section {
    /// Lower-case name: `spec`, `status`, `metadata`.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Spec => "spec",
            Section::Status => "status",
            Section::Metadata => "metadata",
        }
    }
}

/// What a change means to Flux, beyond its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Meaning {
    /// `reconcile.fluxcd.io/requestedAt` changed: someone asked for a reconcile now.
    ReconcileRequested,
    /// HelmRelease `reconcile.fluxcd.io/forceAt`: a one-off forced install or upgrade.
    ForceRequested,
    /// HelmRelease `reconcile.fluxcd.io/resetAt`: a reset of the remediation counters.
    ResetRequested,
    /// `suspend.toolkit.fluxcd.io/reason` was set, changed or removed.
    SuspendReason,
    /// `status.lastHandledReconcileAt`: the controller acted on a reconcile request.
    ReconcileHandled,
    /// `status.lastHandledForceAt`: the controller acted on a force request.
    ForceHandled,
    /// `status.lastHandledResetAt`: the controller acted on a reset request.
    ResetHandled,
    /// `metadata.uid` changed: the object was deleted and created again.
    Recreated,
    /// `metadata.deletionTimestamp` appeared: the object is being deleted.
    Deleting,
    /// Bookkeeping that follows other changes (`generation`, `observedGeneration`, transition
    /// and update times): shown in diffs, left out of summaries.
    Bookkeeping,
}

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A field of an object.
    Key(String),
    /// A list element by position.
    Index(usize),
    /// A list element by its identity: the value of its `key` field.
    Item {
        /// The identifying field (`type`, `id`, `version`, `name`).
        key: &'static str,
        /// Its value.
        value: String,
    },
}

/// One changed field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Where the field is.
    pub path: Vec<PathSegment>,
    /// Spec, status or metadata.
    pub section: Section,
    /// The value before; `None` when the field was added.
    pub before: Option<Value>,
    /// The value after; `None` when the field was removed.
    pub after: Option<Value>,
    /// What it means to Flux, if anything beyond its values.
    pub meaning: Option<Meaning>,
}

impl FieldChange {
    /// The path as people read it: `spec.interval`, `metadata.annotations["a/b"]`,
    /// `status.conditions[Ready].status`, `spec.values.hosts[0]`.
    pub fn path_text(&self) -> String {
        path_text(&self.path)
    }
}

/// The path as people read it (see [`FieldChange::path_text`]).
pub fn path_text(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(k) if is_identifier(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Key(k) => out.push_str(&format!("[{}]", Value::from(k.as_str()))),
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
            PathSegment::Item { value, .. } => out.push_str(&format!("[{value}]")),
        }
    }
    out
}

fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Every changed field from `before` to `after`, in path order, spec before status before
/// metadata.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(&mut Vec::new(), Some(before), Some(after), &mut out);
    out.sort_by_key(|c| c.section);
    out
}

fn walk(
    path: &mut Vec<PathSegment>,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    if before == after || ignored(path) {
        return;
    }
    let empty = Map::new();
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => objects(path, a, b, out),
        // A first annotation or label is about its key, not about the map appearing.
        (None, Some(Value::Object(b))) if keyed_map(path) => objects(path, &empty, b, out),
        (Some(Value::Object(a)), None) if keyed_map(path) => objects(path, a, &empty, out),
        (Some(Value::Array(a)), Some(Value::Array(b))) if lists(path, a, b, out) => {}
        _ => out.push(FieldChange {
            section: section_of(path),
            meaning: meaning_of(path, after),
            path: path.clone(),
            before: before.cloned(),
            after: after.cloned(),
        }),
    }
}

fn objects(
    path: &mut Vec<PathSegment>,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    out: &mut Vec<FieldChange>,
) {
    // Both maps are sorted (serde_json's default map), so the merged keys are too.
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        path.push(PathSegment::Key(key.clone()));
        walk(path, a.get(key), b.get(key), out);
        path.pop();
    }
}

/// Compare two lists element by element if they can be matched; false to compare them whole.
fn lists(
    path: &mut Vec<PathSegment>,
    a: &[Value],
    b: &[Value],
    out: &mut Vec<FieldChange>,
) -> bool {
    if let Some(key) = identity(a, b) {
        let id = |v: &Value| v.get(key).map(scalar_text).unwrap_or_default();
        let mut ids: Vec<String> = a.iter().chain(b).map(id).collect();
        // Keep the order of first appearance, old list first.
        let mut seen = std::collections::HashSet::new();
        ids.retain(|i| seen.insert(i.clone()));
        for value in ids {
            let find = |list: &'_ [Value]| list.iter().find(|v| id(v) == value).cloned();
            let (x, y) = (find(a), find(b));
            path.push(PathSegment::Item { key, value });
            walk(path, x.as_ref(), y.as_ref(), out);
            path.pop();
        }
        return true;
    }
    if a.len() != b.len() {
        return false;
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        path.push(PathSegment::Index(i));
        walk(path, Some(x), Some(y), out);
        path.pop();
    }
    true
}

/// The field that identifies the elements of both lists, if every element is an object with a
/// distinct scalar value in it.
fn identity(a: &[Value], b: &[Value]) -> Option<&'static str> {
    const KEYS: [&str; 4] = ["type", "id", "version", "name"];
    let unique = |list: &[Value], key: &str| {
        let mut values = std::collections::HashSet::new();
        list.iter().all(|v| {
            v.get(key)
                .filter(|k| k.is_string() || k.is_number())
                .is_some_and(|k| values.insert(scalar_text(k)))
        })
    };
    if a.is_empty() && b.is_empty() {
        return None;
    }
    KEYS.into_iter().find(|k| unique(a, k) && unique(b, k))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn key_at(path: &[PathSegment], i: usize) -> Option<&str> {
    match path.get(i) {
        Some(PathSegment::Key(k)) => Some(k),
        _ => None,
    }
}

/// `metadata.annotations` and `metadata.labels`: each key is a change of its own.
fn keyed_map(path: &[PathSegment]) -> bool {
    path.len() == 2
        && key_at(path, 0) == Some("metadata")
        && matches!(key_at(path, 1), Some("annotations" | "labels"))
}

/// Never a change: the apiserver's write counter and what the sanitizer strips.
fn ignored(path: &[PathSegment]) -> bool {
    key_at(path, 0) == Some("metadata")
        && path.len() == 2
        && matches!(key_at(path, 1), Some("resourceVersion" | "managedFields"))
}

fn section_of(path: &[PathSegment]) -> Section {
    match key_at(path, 0) {
        Some("status") => Section::Status,
        Some("metadata" | "apiVersion" | "kind") => Section::Metadata,
        _ => Section::Spec,
    }
}

fn meaning_of(path: &[PathSegment], after: Option<&Value>) -> Option<Meaning> {
    let keys: Vec<Option<&str>> = (0..path.len()).map(|i| key_at(path, i)).collect();
    match keys.as_slice() {
        [Some("metadata"), Some("annotations"), Some(a)] => match *a {
            RECONCILE_REQUEST_ANNOTATION if after.is_some() => Some(Meaning::ReconcileRequested),
            FORCE_REQUEST_ANNOTATION if after.is_some() => Some(Meaning::ForceRequested),
            RESET_REQUEST_ANNOTATION if after.is_some() => Some(Meaning::ResetRequested),
            SUSPEND_REASON_ANNOTATION => Some(Meaning::SuspendReason),
            _ => None,
        },
        [Some("metadata"), Some("uid")] => Some(Meaning::Recreated),
        [Some("metadata"), Some("deletionTimestamp")] if after.is_some() => Some(Meaning::Deleting),
        [Some("metadata"), Some("generation" | "creationTimestamp")] => Some(Meaning::Bookkeeping),
        [Some("status"), Some("lastHandledReconcileAt")] => Some(Meaning::ReconcileHandled),
        [Some("status"), Some("lastHandledForceAt")] => Some(Meaning::ForceHandled),
        [Some("status"), Some("lastHandledResetAt")] => Some(Meaning::ResetHandled),
        [
            Some("status"),
            Some("observedGeneration" | "lastAttemptedGeneration"),
        ] => Some(Meaning::Bookkeeping),
        [
            Some("status"),
            Some("conditions"),
            None,
            Some("lastTransitionTime" | "observedGeneration"),
        ] => Some(Meaning::Bookkeeping),
        [Some("status"), .., Some("lastUpdateTime")] => Some(Meaning::Bookkeeping),
        _ => None,
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
