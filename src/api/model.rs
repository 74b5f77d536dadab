//! API types shared by several endpoints: the resource summary that the list API returns and
//! the live stream carries, and the change that the history API returns and the stream carries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use uuid::Uuid;

pub use super::vocabulary::{ChangeOp, EventType, Health};
use crate::store::{ChangeEntry, ResourceRow};

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

/// The Flux object that applied a workload, as its ownership labels name it.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct OwnerView {
    /// Its id: `GET /api/v1/resources/{id}` answers it once it is stored.
    pub id: Uuid,
    /// `Kustomization` or `HelmRelease`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// One container's image.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct ImageView {
    /// The container's name.
    pub container: String,
    /// An init container.
    pub init: bool,
    /// The `image` field as written, e.g. `nginx:1.25.3`.
    pub image: String,
    /// Normalised repository, e.g. `docker.io/library/nginx` (the reference as written when
    /// it cannot be parsed).
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// Digest, if any (`sha256:…`).
    pub digest: Option<String>,
}

impl From<crate::flux::WorkloadImage> for ImageView {
    fn from(i: crate::flux::WorkloadImage) -> ImageView {
        ImageView {
            container: i.container,
            init: i.init,
            image: i.image,
            repository: i.repository,
            tag: i.tag,
            digest: i.digest,
        }
    }
}

/// What a workload (an object Flux applies: Deployment, Service, …) carries beside the common
/// fields. Its `health` is kstatus's verdict mapped (Current → ready, InProgress and
/// Terminating → progressing, Failed → failed, Unknown → unknown); `reason` and `message` are
/// kstatus's.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct WorkloadView {
    /// The Flux object that applied it; null when its labels name none.
    pub owner: Option<OwnerView>,
    /// kstatus's verdict: `Current`, `InProgress`, `Failed`, `Terminating` or `Unknown`.
    pub kstatus: Option<String>,
    /// Ready replicas (a Job: succeeded completions), where the kind has them.
    pub ready_replicas: Option<i64>,
    /// Desired replicas (a Job: wanted completions).
    pub desired_replicas: Option<i64>,
    /// Its containers' images (containers, then init containers). Lists and the detail carry
    /// them; null in the live stream (a rollout's change names them in its `summary`).
    pub images: Option<Vec<ImageView>>,
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
    /// Flux objects: the worst health of the workloads it applied (by the `health` sort's
    /// severity), e.g. `failed` for a Kustomization that is ready while one of its
    /// Deployments failed; null when it owns no watched workload. A change of it is a change
    /// of the object (history and stream, summary `workloads ready → failed`).
    pub workload_health: Option<Health>,
    /// Workloads only: owner, kstatus, replicas and images; null for Flux objects.
    pub workload: Option<WorkloadView>,
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
        let workload = row.workload.as_ref().map(|w| WorkloadView {
            owner: owner(w.owner_id, &row.namespace, &row.labels),
            kstatus: w.kstatus.clone(),
            ready_replicas: w.ready_replicas,
            desired_replicas: w.desired_replicas,
            images: None,
        });
        ResourceSummary {
            id: row.id,
            cluster_id: row.cluster_id,
            cluster: row.cluster_name,
            api_group: row.api_group,
            api_version: row.api_version,
            kind: row.kind,
            namespace: row.namespace,
            name: row.name,
            health: row.health.into(),
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
            workload_health: row.workload_health.map(Health::from),
            workload,
        }
    }
}

/// A workload's owner: its id as stored, kind and name from the ownership labels.
fn owner(id: Option<Uuid>, namespace: &str, labels: &serde_json::Value) -> Option<OwnerView> {
    let object = serde_json::json!({ "metadata": { "namespace": namespace, "labels": labels } });
    let named = crate::flux::owner_of(&object)?;
    Some(OwnerView {
        id: id?,
        kind: named.kind,
        namespace: named.namespace,
        name: named.name,
    })
}

/// One committed change of a Flux object.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct Change {
    /// Position in the change log; seq order is commit order (the live stream's `seq`).
    pub seq: i64,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name; null once the cluster is deleted.
    pub cluster: Option<String>,
    /// Resource id.
    pub resource_id: Uuid,
    /// API group.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// What happened.
    pub op: ChangeOp,
    /// Health before (null for a new object and for events).
    pub health_before: Option<Health>,
    /// Health after (null for deletes and events).
    pub health_after: Option<Health>,
    /// Type of the recorded event (only for `event`).
    pub event_type: Option<EventType>,
    /// Revision at the change.
    pub revision: Option<String>,
    /// Condition or event reason.
    pub reason: Option<String>,
    /// Condition or event message.
    pub message: Option<String>,
    /// What changed from the object's previous version, e.g. `spec.interval 10m0s → 5m0s;
    /// Ready True → False (HealthCheckFailed); reconcile requested`. Null for a first sight,
    /// deletes, events, and changes logged before summaries were kept.
    pub summary: Option<String>,
    /// The object version this change produced (hex content hash; the versions and diff
    /// endpoints take the change's `seq`); null for deletes, events, and changes logged before
    /// versions were kept.
    pub version: Option<String>,
}

impl From<ChangeEntry> for Change {
    fn from(row: ChangeEntry) -> Change {
        Change {
            seq: row.seq,
            at: row.at,
            cluster_id: row.cluster_id,
            cluster: row.cluster_name,
            resource_id: row.resource_id,
            api_group: row.api_group,
            kind: row.kind,
            namespace: row.namespace,
            name: row.name,
            op: row.op.into(),
            health_before: row.health_before.map(Health::from),
            health_after: row.health_after.map(Health::from),
            event_type: row.event_type.map(EventType::from),
            revision: row.revision,
            reason: row.reason,
            message: row.message,
            summary: row.summary,
            version: row.version.map(hex::encode),
        }
    }
}
