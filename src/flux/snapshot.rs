//! The normalised snapshot of one Flux object, as ingest stores it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::str_at;
use super::health::{is_suspended, summarize};
use super::kinds::{self, group_of, version_of};
use super::refs::{ObjectRef, SourceRef, depends_on, source_ref};
use super::revision::revisions;
use super::vocabulary::Health;
use super::workloads::{WorkloadInfo, assess};
use super::{Error, LAST_APPLIED_ANNOTATION, Result};

/// One Flux object, normalised: identity, health verdict, revision, references, and the
/// sanitized object itself. Built by [`snapshot`]; written by ingest, read by store and api.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSnapshot {
    /// API group, e.g. `helm.toolkit.fluxcd.io`.
    pub api_group: String,
    /// Version the object was read at, e.g. `v2`.
    pub api_version: String,
    /// Kind as the catalogue spells it.
    pub kind: String,
    /// Namespace (every Flux kind is namespaced; empty if the object lacks one).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `metadata.uid`.
    pub uid: Option<String>,
    /// `metadata.resourceVersion`.
    pub resource_version: Option<String>,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// The generation the controller last observed.
    pub observed_generation: Option<i64>,
    /// The verdict of [`summarize`].
    pub health: Health,
    /// Reason behind the verdict.
    pub reason: Option<String>,
    /// Message behind the verdict.
    pub message: Option<String>,
    /// Applied/produced revision (see [`revisions`]).
    pub revision: Option<String>,
    /// Revision of the last attempt, where the kind records it.
    pub last_attempted_revision: Option<String>,
    /// Kind-specific revision context for people.
    pub revision_detail: Option<String>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// The source the object consumes.
    pub source_ref: Option<SourceRef>,
    /// `spec.dependsOn`, namespaces defaulted.
    pub depends_on: Vec<ObjectRef>,
    /// `status.lastHandledReconcileAt`: the last reconcile request token handled.
    pub last_handled_reconcile_at: Option<String>,
    /// When the condition behind the verdict last changed.
    pub last_transition_at: Option<DateTime<Utc>>,
    /// What a workload (an object Flux applies, see `workloads`) carries beside the common
    /// fields; `None` for Flux objects.
    #[serde(default)]
    pub workload: Option<Box<WorkloadInfo>>,
    /// The object without managed fields, kubectl's last-applied annotation and
    /// `metadata.resourceVersion` (kept in `resource_version`): its content, as stored once per
    /// version and hashed to tell real changes from no-op writes.
    pub object: Value,
}

/// Normalises a Flux object. Fails only when `apiVersion`, `kind` or `metadata.name` is
/// missing, or the group/kind is not in the Flux catalogue.
pub fn snapshot(obj: &Value) -> Result<ResourceSnapshot> {
    let api_version = str_at(obj, "/apiVersion").ok_or(Error::MissingField("apiVersion"))?;
    let kind = str_at(obj, "/kind").ok_or(Error::MissingField("kind"))?;
    let name = str_at(obj, "/metadata/name").ok_or(Error::MissingField("metadata.name"))?;
    let group = group_of(&api_version);
    let flux_kind = kinds::by_group_kind(group, &kind).ok_or_else(|| Error::NotFluxKind {
        group: group.to_owned(),
        kind: kind.clone(),
    })?;
    let status = summarize(obj);
    let revs = revisions(obj);
    Ok(ResourceSnapshot {
        api_group: flux_kind.group.to_owned(),
        api_version: version_of(&api_version).to_owned(),
        kind: flux_kind.kind.to_owned(),
        namespace: str_at(obj, "/metadata/namespace").unwrap_or_default(),
        name,
        uid: str_at(obj, "/metadata/uid"),
        resource_version: str_at(obj, "/metadata/resourceVersion"),
        generation: status.generation,
        observed_generation: status.observed_generation,
        health: status.health,
        reason: status.reason,
        message: status.message,
        revision: revs.revision,
        last_attempted_revision: revs.last_attempted,
        revision_detail: revs.detail,
        suspended: is_suspended(obj),
        source_ref: source_ref(obj),
        depends_on: depends_on(obj),
        last_handled_reconcile_at: str_at(obj, "/status/lastHandledReconcileAt"),
        last_transition_at: status.last_transition_at,
        workload: None,
        object: content_of(obj),
    })
}

/// [`sanitize`]d, without `metadata.resourceVersion`: the apiserver bumps it on every write,
/// including ones that change nothing, so it is not part of what an object version is.
pub(super) fn content_of(obj: &Value) -> Value {
    let mut content = sanitize(obj);
    if let Some(meta) = content.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    content
}

/// Normalises a workload: identity, health by kstatus (with its reason and message), owner,
/// replicas, images, and the sanitized object. Fails only when `apiVersion`, `kind` or
/// `metadata.name` is missing.
pub fn workload_snapshot(obj: &Value) -> Result<ResourceSnapshot> {
    let api_version = str_at(obj, "/apiVersion").ok_or(Error::MissingField("apiVersion"))?;
    let kind = str_at(obj, "/kind").ok_or(Error::MissingField("kind"))?;
    let name = str_at(obj, "/metadata/name").ok_or(Error::MissingField("metadata.name"))?;
    let a = assess(obj);
    let int = |path: &str| obj.pointer(path).and_then(Value::as_i64);
    Ok(ResourceSnapshot {
        api_group: group_of(&api_version).to_owned(),
        api_version: version_of(&api_version).to_owned(),
        kind,
        namespace: str_at(obj, "/metadata/namespace").unwrap_or_default(),
        name,
        uid: str_at(obj, "/metadata/uid"),
        resource_version: str_at(obj, "/metadata/resourceVersion"),
        generation: int("/metadata/generation"),
        observed_generation: int("/status/observedGeneration"),
        health: a.health,
        reason: a.reason,
        message: a.message,
        revision: None,
        last_attempted_revision: None,
        revision_detail: None,
        suspended: false,
        source_ref: None,
        depends_on: Vec::new(),
        last_handled_reconcile_at: None,
        last_transition_at: None,
        workload: Some(Box::new(a.info)),
        object: content_of(obj),
    })
}

/// A copy of the object without `metadata.managedFields` (noise) and without the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation, which repeats the whole
/// manifest as applied and so can carry secrets (Argo CD's CVE-2023-40029). An
/// annotations map left empty is removed too.
pub fn sanitize(obj: &Value) -> Value {
    let mut clean = obj.clone();
    if let Some(meta) = clean.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        let emptied = meta
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
            .map(|annotations| {
                annotations.remove(LAST_APPLIED_ANNOTATION);
                annotations.is_empty()
            });
        if emptied == Some(true) {
            meta.remove("annotations");
        }
    }
    clean
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
