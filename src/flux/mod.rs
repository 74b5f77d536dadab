//! Knowledge of Flux: the kinds catalogue, health from conditions, revisions, action patches.
//! Pure functions only: no IO, no tokio, no SQL, no HTTP.
//!
//! Objects are taken as `&serde_json::Value` (what a `DynamicObject` serialises to), so
//! nothing here depends on a kube client.
//!
//! | file | owns |
//! |------|------|
//! | `kinds` | the catalogue: group, kind, plural, versions, controller, short name |
//! | `conditions` | reading `status.conditions` |
//! | `health` | [`Health`] and [`summarize`]: the verdict and its rules |
//! | `revision` | per-kind revision extraction |
//! | `rollout` | what a consumer (Kustomization, HelmRelease) attempted and applied, and what it rolls out (source identity + chart) |
//! | `refs` | `sourceRef` and `dependsOn` |
//! | `edges` | the edges an object declares: source, chart, dependsOn, inventory, image, alert, receiver |
//! | `snapshot` | [`sanitize`] and the normalised [`ResourceSnapshot`] |
//! | `events` | the controllers' Kubernetes events, normalised to [`FluxEvent`] |
//! | `actions` | the merge-patches the `flux` CLI sends: reconcile, suspend, resume, force, reset |
//! | `diff` | what changed between two versions: fields by path, spec/status/metadata, Flux meanings |
//! | `summary` | one line per change for history: "spec.interval 10m0s → 5m0s; reconcile requested" |
//! | `kstatus` (rules per kind in `kstatus_rules.rs`, a child module) | health of what Flux applies (Deployments, Jobs, PVCs...) as kstatus computes it, mapped to [`Health`] |
//! | `images` | container image references: parse and normalise, search terms, a workload's images |
//! | `workloads` | the workload kinds we watch, their watches (kind × owner label family), owners from labels, a workload's snapshot |
//! | `vocabulary` | the domain's words, defined once: [`Health`] (with its severity order), [`ClusterState`], [`ChangeOp`], [`KindStatus`], [`EventType`] |

mod actions;
mod conditions;
mod diff;
mod edges;
mod events;
mod health;
mod images;
mod inventory;
mod kinds;
mod kstatus;
mod refs;
mod revision;
mod rollout;
mod snapshot;
mod summary;
#[cfg(test)]
mod testdata;
mod vocabulary;
mod workloads;

pub use actions::{
    Action, WithSource, allowed, check, force, go_rfc3339_nano, handled, handled_action, patch,
    reconcile, reconcile_with_source, reset, resume, suspend,
};
pub use conditions::{Condition, conditions};
pub use diff::{FieldChange, Meaning, PathSegment, Section, diff, path_text};
pub use edges::{Edge, edges, source_identity};
pub use events::{FluxEvent, InvolvedObject, is_flux_event, normalize_event};
pub use health::{StatusSummary, is_static, is_suspended, summarize};
pub use images::{ContainerImage, ImageQuery, ImageRef, workload_images};
pub use inventory::{
    AppliedRef, InventoryItem, KindInventory, inventory, inventory_by_kind, parse_inventory_id,
};
pub use kinds::{
    FLUX_GROUPS, FLUX_KINDS, FluxKind, OPERATOR_GROUP, Served, all as all_kinds,
    by_api_version_kind, by_group_kind, by_kind, by_plural, by_short, group_of, is_flux_group,
    learn, lookup, pick_version, register, version_of,
};
pub use kstatus::{KStatus, Replicas, WorkloadStatus, compute as workload_status};
pub use refs::{ObjectRef, SourceRef, depends_on, source_ref};
pub use revision::{Revisions, last_attempted_revision, revision, revisions};
pub use rollout::{CONSUMER_KINDS, Observation, chart, is_consumer, observe, rollout_source};
pub use snapshot::{ResourceSnapshot, sanitize, snapshot, workload_snapshot};
pub use summary::{MAX_ITEMS, MAX_VALUE, summary};
pub use vocabulary::{ChangeOp, ClusterState, EdgeType, EventType, Health, KindStatus};
pub use workloads::{
    OwnerFamily, OwnerRef, WORKLOAD_KINDS, WORKLOAD_WATCHES, WorkloadImage, WorkloadInfo,
    WorkloadKind, WorkloadWatch, owner_of, workload_kind,
};

/// What changed from `before` to `after`, in one line (see [`summary`]); empty when nothing
/// but `metadata.resourceVersion` changed.
pub fn change_summary(before: &serde_json::Value, after: &serde_json::Value) -> String {
    summary(&diff(before, after))
}

/// Annotation whose change asks a controller to reconcile now (`meta.ReconcileRequestAnnotation`).
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
/// HelmRelease: one-off forced install/upgrade when equal to the reconcile request token.
pub const FORCE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/forceAt";
/// HelmRelease: reset of the failure counters when equal to the reconcile request token.
pub const RESET_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/resetAt";
/// Why an object was suspended, as `flux suspend --reason` records it.
pub const SUSPEND_REASON_ANNOTATION: &str = "suspend.toolkit.fluxcd.io/reason";
/// kubectl's copy of the last applied manifest; may hold secrets (CVE-2023-40029).
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Errors of the Flux knowledge module.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A field every Kubernetes object has is missing or not a string.
    #[error("object has no {0}")]
    MissingField(&'static str),
    /// The object's group and kind are not in the Flux catalogue.
    #[error("{kind} in group {group:?} is not a Flux kind")]
    NotFluxKind {
        /// The object's API group.
        group: String,
        /// The object's kind.
        kind: String,
    },
    /// A word that is not in its vocabulary (see `vocabulary`), e.g. health `"red"`.
    #[error("unknown {vocabulary} {word:?}")]
    UnknownWord {
        /// Which vocabulary, e.g. `health`, `cluster state`.
        vocabulary: &'static str,
        /// The refused word.
        word: String,
    },
    /// An action name that is not one of the known actions.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// The action does not apply to the kind (e.g. `force` on a Kustomization).
    #[error("{action} is not supported for {kind}")]
    NotAllowed {
        /// The action's name.
        action: &'static str,
        /// The kind.
        kind: String,
    },
    /// Reconcile was asked of a suspended object (the `flux` CLI refuses too).
    #[error("resource is suspended")]
    Suspended,
    /// Reconcile was asked of a static object, which no controller reconciles.
    #[error("reconciliation not supported by the object")]
    Static,
    /// Reconcile with source was asked of an object without a source reference.
    #[error("object has no source reference")]
    NoSource,
    /// A container image reference (or an image search term) no registry would accept.
    #[error("invalid image reference {image:?}: {why}")]
    InvalidImage {
        /// The reference as given.
        image: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// Result of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
