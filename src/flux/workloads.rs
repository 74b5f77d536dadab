//! The objects Flux applies that we watch ("workloads"): which kinds, how a watch selects them
//! (one label family per watch: label selectors cannot OR), who owns one (the ownership labels
//! kustomize-controller and helm-controller set), and the normalised snapshot ingest stores —
//! health by kstatus ([`super::workload_status`]), replicas and container images.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::str_at;
use super::images::workload_images;
use super::kstatus::{KStatus, compute};

/// A kind of object Flux applies that can be watched, at the version every supported
/// Kubernetes release serves (no discovery needed: these are built in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadKind {
    /// API group (empty for core).
    pub group: &'static str,
    /// Version, e.g. `v1`.
    pub version: &'static str,
    /// Kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// Plural resource name, e.g. `deployments`.
    pub plural: &'static str,
}

const fn wk(group: &'static str, kind: &'static str, plural: &'static str) -> WorkloadKind {
    WorkloadKind {
        group,
        version: "v1",
        kind,
        plural,
    }
}

/// Every workload kind we know how to watch, in the order the default setting lists them.
pub const WORKLOAD_KINDS: [WorkloadKind; 8] = [
    wk("apps", "Deployment", "deployments"),
    wk("apps", "StatefulSet", "statefulsets"),
    wk("apps", "DaemonSet", "daemonsets"),
    wk("batch", "Job", "jobs"),
    wk("batch", "CronJob", "cronjobs"),
    wk("", "Service", "services"),
    wk("networking.k8s.io", "Ingress", "ingresses"),
    wk("", "PersistentVolumeClaim", "persistentvolumeclaims"),
];

impl WorkloadKind {
    /// `apiVersion` as objects carry it: `apps/v1`, or `v1` for core.
    pub fn api_version(&self) -> String {
        match self.group {
            "" => self.version.to_string(),
            g => format!("{g}/{}", self.version),
        }
    }
}

/// A workload kind by its kind or plural name, case-insensitively (`deployment`,
/// `Deployments`, `pvc` is not accepted: only the names the API uses).
pub fn workload_kind(name: &str) -> Option<&'static WorkloadKind> {
    let name = name.trim();
    WORKLOAD_KINDS
        .iter()
        .find(|k| k.kind.eq_ignore_ascii_case(name) || k.plural.eq_ignore_ascii_case(name))
}

/// The controller whose ownership labels select a watch's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerFamily {
    /// kustomize-controller: `kustomize.toolkit.fluxcd.io/name` + `/namespace`.
    Kustomize,
    /// helm-controller: `helm.toolkit.fluxcd.io/name` + `/namespace`.
    Helm,
}

impl OwnerFamily {
    /// Both families; an object labelled by both is owned by the Kustomization.
    pub const ALL: [OwnerFamily; 2] = [OwnerFamily::Kustomize, OwnerFamily::Helm];

    /// The owner's API group, which is also the labels' prefix.
    pub fn group(self) -> &'static str {
        match self {
            OwnerFamily::Kustomize => "kustomize.toolkit.fluxcd.io",
            OwnerFamily::Helm => "helm.toolkit.fluxcd.io",
        }
    }

    /// The owner's kind.
    pub fn owner_kind(self) -> &'static str {
        match self {
            OwnerFamily::Kustomize => "Kustomization",
            OwnerFamily::Helm => "HelmRelease",
        }
    }

    /// The label naming the owner; its existence is the watch's label selector.
    pub fn name_label(self) -> &'static str {
        match self {
            OwnerFamily::Kustomize => "kustomize.toolkit.fluxcd.io/name",
            OwnerFamily::Helm => "helm.toolkit.fluxcd.io/name",
        }
    }

    /// The label naming the owner's namespace.
    pub fn namespace_label(self) -> &'static str {
        match self {
            OwnerFamily::Kustomize => "kustomize.toolkit.fluxcd.io/namespace",
            OwnerFamily::Helm => "helm.toolkit.fluxcd.io/namespace",
        }
    }

    /// Short word for names and logs.
    pub fn word(self) -> &'static str {
        match self {
            OwnerFamily::Kustomize => "kustomize",
            OwnerFamily::Helm => "helm",
        }
    }
}

/// One watch of workloads: a kind, selected by one family's ownership label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadWatch {
    /// The kind.
    pub kind: &'static WorkloadKind,
    /// Whose labels select the objects.
    pub family: OwnerFamily,
    /// The watch's name in the cluster's status, e.g. `Deployment (kustomize)`.
    pub name: &'static str,
}

const fn ww(kind: usize, family: OwnerFamily, name: &'static str) -> WorkloadWatch {
    WorkloadWatch {
        kind: &WORKLOAD_KINDS[kind],
        family,
        name,
    }
}

use OwnerFamily::{Helm, Kustomize};

/// Every watch of every workload kind: one per kind and family (label selectors cannot OR).
pub static WORKLOAD_WATCHES: [WorkloadWatch; 16] = [
    ww(0, Kustomize, "Deployment (kustomize)"),
    ww(0, Helm, "Deployment (helm)"),
    ww(1, Kustomize, "StatefulSet (kustomize)"),
    ww(1, Helm, "StatefulSet (helm)"),
    ww(2, Kustomize, "DaemonSet (kustomize)"),
    ww(2, Helm, "DaemonSet (helm)"),
    ww(3, Kustomize, "Job (kustomize)"),
    ww(3, Helm, "Job (helm)"),
    ww(4, Kustomize, "CronJob (kustomize)"),
    ww(4, Helm, "CronJob (helm)"),
    ww(5, Kustomize, "Service (kustomize)"),
    ww(5, Helm, "Service (helm)"),
    ww(6, Kustomize, "Ingress (kustomize)"),
    ww(6, Helm, "Ingress (helm)"),
    ww(7, Kustomize, "PersistentVolumeClaim (kustomize)"),
    ww(7, Helm, "PersistentVolumeClaim (helm)"),
];

/// The Flux object that applied a workload, from its ownership labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRef {
    /// `kustomize.toolkit.fluxcd.io` or `helm.toolkit.fluxcd.io`.
    pub group: String,
    /// `Kustomization` or `HelmRelease`.
    pub kind: String,
    /// The owner's namespace (the object's own when the label is missing).
    pub namespace: String,
    /// The owner's name.
    pub name: String,
}

/// The owner named by `obj`'s labels: the Kustomization's labels first, then the HelmRelease's.
pub fn owner_of(obj: &Value) -> Option<OwnerRef> {
    let labels = obj.pointer("/metadata/labels")?;
    OwnerFamily::ALL.into_iter().find_map(|family| {
        let name = labels.get(family.name_label())?.as_str()?;
        let namespace = labels
            .get(family.namespace_label())
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| str_at(obj, "/metadata/namespace"))
            .unwrap_or_default();
        Some(OwnerRef {
            group: family.group().to_string(),
            kind: family.owner_kind().to_string(),
            namespace,
            name: name.to_string(),
        })
    })
}

/// One container's image, parsed for search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadImage {
    /// The container's name.
    pub container: String,
    /// An init container.
    pub init: bool,
    /// The `image` field as written.
    pub image: String,
    /// Normalised repository (`docker.io/library/nginx`); the reference as written when it
    /// cannot be parsed.
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// Digest, if any.
    pub digest: Option<String>,
}

/// What ingest keeps of a workload beside the common snapshot fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadInfo {
    /// Who applied it; `None` when the labels name no owner (then it is stored unowned).
    pub owner: Option<OwnerRef>,
    /// kstatus's verdict: `Current`, `InProgress`, `Failed`, `Terminating`, `Unknown`.
    pub kstatus: String,
    /// Ready replicas (a Job: succeeded completions), where the kind has them.
    pub ready_replicas: Option<i64>,
    /// Desired replicas (a Job: wanted completions).
    pub desired_replicas: Option<i64>,
    /// The containers' images, containers first, then init containers.
    pub images: Vec<WorkloadImage>,
}

impl KStatus {
    /// kstatus's own word.
    pub fn as_str(self) -> &'static str {
        match self {
            KStatus::Current => "Current",
            KStatus::InProgress => "InProgress",
            KStatus::Failed => "Failed",
            KStatus::Terminating => "Terminating",
            KStatus::Unknown => "Unknown",
        }
    }
}

/// The images of `obj`, parsed where they parse.
fn images_of(obj: &Value) -> Vec<WorkloadImage> {
    workload_images(obj)
        .into_iter()
        .map(|c| {
            let (repository, tag, digest) = match c.parsed {
                Ok(r) => (r.repository, r.tag, r.digest),
                Err(_) => (c.image.clone(), None, None),
            };
            WorkloadImage {
                container: c.container,
                init: c.init,
                image: c.image,
                repository,
                tag,
                digest,
            }
        })
        .collect()
}

/// What kstatus and the labels say of a workload: its health (with reason and message) and
/// what ingest keeps beside the common snapshot fields.
pub(super) struct Assessment {
    pub health: super::vocabulary::Health,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub info: WorkloadInfo,
}

/// Assess `obj`, a workload (see `snapshot::workload_snapshot`).
pub(super) fn assess(obj: &Value) -> Assessment {
    let status = compute(obj);
    let replicas = status.replicas;
    Assessment {
        health: status.status.health(),
        reason: status.reason,
        message: Some(status.message).filter(|m| !m.is_empty()),
        info: WorkloadInfo {
            owner: owner_of(obj),
            kstatus: status.status.as_str().to_string(),
            ready_replicas: replicas.map(|r| r.ready),
            desired_replicas: replicas.map(|r| r.desired),
            images: images_of(obj),
        },
    }
}

#[cfg(test)]
#[path = "workloads_tests.rs"]
mod tests;
