//! API types shared by several endpoints: the resource summary that the list API returns and
//! the live stream carries, and the health enum.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use crate::store::ResourceRow;

/// Health of a Flux object, derived from its conditions (see `flux::summarize`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[oai(rename_all = "lowercase")]
pub enum Health {
    /// Ready=True at the current generation.
    Ready,
    /// Reconciling, or the controller has not observed the newest generation yet.
    Progressing,
    /// Ready=False.
    Failed,
    /// Stalled=True: the controller gave up until the object changes.
    Stalled,
    /// `spec.suspend: true`.
    Suspended,
    /// No status to judge by.
    Unknown,
}

impl Health {
    /// Parse the stored form; unknown text maps to `Unknown`.
    pub fn from_db(text: &str) -> Health {
        match text {
            "ready" => Health::Ready,
            "progressing" => Health::Progressing,
            "failed" => Health::Failed,
            "stalled" => Health::Stalled,
            "suspended" => Health::Suspended,
            _ => Health::Unknown,
        }
    }

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ready => "ready",
            Health::Progressing => "progressing",
            Health::Failed => "failed",
            Health::Stalled => "stalled",
            Health::Suspended => "suspended",
            Health::Unknown => "unknown",
        }
    }
}

/// A reference to the source an object consumes.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct SourceRefView {
    /// Kind, e.g. `GitRepository`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Pinned apiVersion, when the reference has one.
    pub api_version: Option<String>,
}

/// A dependency (`spec.dependsOn`).
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ObjectRefView {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// One Flux object as lists and the live stream show it (no full object).
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct ResourceSummary {
    /// Stable id (UUIDv5 of cluster, group, kind, namespace, name).
    pub id: Uuid,
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name.
    pub cluster: String,
    /// API group, e.g. `kustomize.toolkit.fluxcd.io`.
    pub api_group: String,
    /// API version it was read at, e.g. `v1`.
    pub api_version: String,
    /// Kind, e.g. `Kustomization`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Health verdict.
    pub health: Health,
    /// Reason of the condition behind the verdict, e.g. `HealthCheckFailed`.
    pub reason: Option<String>,
    /// Message of the condition behind the verdict.
    pub message: Option<String>,
    /// Applied revision, e.g. `main@sha1:1a2b3c…`.
    pub revision: Option<String>,
    /// Last attempted revision, where the kind records it.
    pub last_attempted_revision: Option<String>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// The source it consumes.
    pub source_ref: Option<SourceRefView>,
    /// Objects it depends on.
    pub depends_on: Vec<ObjectRefView>,
    /// Object labels.
    pub labels: BTreeMap<String, String>,
    /// The last reconcile request the controller handled (`status.lastHandledReconcileAt`).
    pub last_handled_reconcile_at: Option<String>,
    /// When the condition behind the verdict last changed.
    pub last_transition_at: Option<DateTime<Utc>>,
    /// When we stored the newest change.
    pub updated_at: DateTime<Utc>,
    /// seq of the change that last wrote this object.
    pub seq: i64,
}

fn string_map(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &serde_json::Value, key: &str) -> Option<String> {
    value.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

impl From<ResourceRow> for ResourceSummary {
    fn from(row: ResourceRow) -> ResourceSummary {
        let source_ref = row.source_ref.as_ref().and_then(|r| {
            Some(SourceRefView {
                kind: text(r, "kind")?,
                namespace: text(r, "namespace")?,
                name: text(r, "name")?,
                api_version: text(r, "apiVersion"),
            })
        });
        let depends_on = row
            .depends_on
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|d| {
                        Some(ObjectRefView {
                            namespace: text(d, "namespace")?,
                            name: text(d, "name")?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        ResourceSummary {
            id: row.id,
            cluster_id: row.cluster_id,
            cluster: row.cluster_name,
            api_group: row.api_group,
            api_version: row.api_version,
            kind: row.kind,
            namespace: row.namespace,
            name: row.name,
            health: Health::from_db(&row.health),
            reason: row.reason,
            message: row.message,
            revision: row.revision,
            last_attempted_revision: row.last_attempted_revision,
            suspended: row.suspended,
            source_ref,
            depends_on,
            labels: string_map(&row.labels),
            last_handled_reconcile_at: row.last_handled_reconcile_at,
            last_transition_at: row.last_transition_at,
            updated_at: row.updated_at,
            seq: row.last_seq,
        }
    }
}
