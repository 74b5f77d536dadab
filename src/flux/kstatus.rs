//! The health of what Flux applies, computed the way Flux's own health checks compute it: the
//! rules of kstatus (sigs.k8s.io/cli-utils `pkg/kstatus/status`, Flux runs its fork), written
//! again here, not translated line by line. In order:
//!
//! 1. `metadata.deletionTimestamp` set → **Terminating**.
//! 2. `metadata.generation` ≠ `status.observedGeneration` (both present) → **InProgress**
//!    (`LatestGenerationNotObserved`).
//! 3. The first `Reconciling=True` → **InProgress**, or `Stalled=True` → **Failed**, with the
//!    condition's reason and message.
//! 4. The kind's own rule: Deployment, StatefulSet, DaemonSet, ReplicaSet (`apps`), Job and
//!    CronJob (`batch`), Service, PersistentVolumeClaim, Pod, ConfigMap and Secret (core). The
//!    Job rule is Flux's (`fluxcd/pkg/runtime/statusreaders`): a running Job is InProgress
//!    until it completes, where upstream kstatus calls it Current once started.
//! 5. Any other kind (Ingress, HelmRelease, a CRD...): upstream kstatus says **Current**. We
//!    also read `Ready`, as Flux-style objects report failure there without `Stalled`:
//!    `Ready=False` → **Failed**, `Ready=Unknown` → **InProgress**, else Current.
//!
//! **Unknown** is for objects no rule can read (no kind, a Pod in a phase Kubernetes does not
//! have). kstatus's NotFound is the caller's business: an object we do not have.

use serde_json::Value;

use super::Health;

/// kstatus's verdict on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KStatus {
    /// Fully reconciled: the latest spec is rolled out and available.
    Current,
    /// Getting there: a rollout, a pending claim, a running Job, an unobserved generation.
    InProgress,
    /// Will not get there without a change: a progress deadline exceeded, a failed Job,
    /// `Stalled=True`.
    Failed,
    /// Being deleted (`deletionTimestamp` set; finalizers still running).
    Terminating,
    /// The object cannot be judged.
    Unknown,
}

impl KStatus {
    /// Our health word for it. Terminating counts as **progressing**: the object is moving
    /// to its end state by itself (finalizers run, pods stop) and needs no action yet, like a
    /// rollout; the vocabulary keeps no word of its own for it (a new word would be a
    /// migration and an API change for a state that lasts seconds).
    pub fn health(self) -> Health {
        match self {
            KStatus::Current => Health::Ready,
            KStatus::InProgress | KStatus::Terminating => Health::Progressing,
            KStatus::Failed => Health::Failed,
            KStatus::Unknown => Health::Unknown,
        }
    }
}

/// Ready and desired replicas (a Job: succeeded and wanted completions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    /// Ready (or succeeded) now.
    pub ready: i64,
    /// Wanted.
    pub desired: i64,
}

/// kstatus's verdict with its reason and message, and the replica counts where the kind
/// has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadStatus {
    /// The verdict.
    pub status: KStatus,
    /// Why, as a CamelCase word (`LessUpdated`, `ProgressDeadlineExceeded`, `JobFailed`);
    /// `None` when Current.
    pub reason: Option<String>,
    /// kstatus's message, e.g. `Updated: 1/3`.
    pub message: String,
    /// Ready/desired replicas of a Deployment, StatefulSet, ReplicaSet, DaemonSet or Job.
    pub replicas: Option<Replicas>,
}

impl WorkloadStatus {
    fn new(status: KStatus, reason: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.map(str::to_string),
            message: message.into(),
            replicas: None,
        }
    }

    fn current(message: impl Into<String>) -> Self {
        Self::new(KStatus::Current, None, message)
    }

    fn in_progress(reason: &str, message: impl Into<String>) -> Self {
        Self::new(KStatus::InProgress, Some(reason), message)
    }

    fn failed(reason: &str, message: impl Into<String>) -> Self {
        Self::new(KStatus::Failed, Some(reason), message)
    }
}

/// The status of `obj` (an object as the API server returns it).
pub fn compute(obj: &Value) -> WorkloadStatus {
    let Some(kind) = obj["kind"].as_str().filter(|k| !k.is_empty()) else {
        return WorkloadStatus::new(KStatus::Unknown, Some("NoKind"), "The object has no kind");
    };
    let mut status = generic(obj, kind).unwrap_or_else(|| by_kind(obj, kind));
    status.replicas = replicas(obj, kind);
    status
}

/// The API group of `obj` (empty for core).
fn group_of(obj: &Value) -> &str {
    obj["apiVersion"]
        .as_str()
        .and_then(|av| av.rsplit_once('/'))
        .map_or("", |(g, _)| g)
}

/// An integer field of `obj` at `path`, or `default`.
pub(super) fn int(obj: &Value, path: &[&str], default: i64) -> i64 {
    path.iter()
        .fold(obj, |v, k| &v[*k])
        .as_i64()
        .unwrap_or(default)
}

/// The first condition of `type_` in `status.conditions`.
pub(super) fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn text(c: &Value, field: &str) -> String {
    c[field].as_str().unwrap_or_default().to_string()
}

/// Steps 1-3: deletion, generation, the standard conditions.
fn generic(obj: &Value, kind: &str) -> Option<WorkloadStatus> {
    if obj["metadata"]["deletionTimestamp"]
        .as_str()
        .is_some_and(|t| !t.is_empty())
    {
        return Some(WorkloadStatus::new(
            KStatus::Terminating,
            Some("Terminating"),
            "Resource scheduled for deletion",
        ));
    }
    let generation = obj["metadata"]["generation"].as_i64();
    let observed = obj["status"]["observedGeneration"].as_i64();
    if let (Some(g), Some(o)) = (generation, observed)
        && g != o
    {
        let message = format!("{kind} generation is {g}, but latest observed generation is {o}");
        return Some(WorkloadStatus::in_progress(
            "LatestGenerationNotObserved",
            message,
        ));
    }
    let conditions = obj["status"]["conditions"].as_array()?;
    conditions.iter().find_map(|c| {
        let (reason, message) = (text(c, "reason"), text(c, "message"));
        match (c["type"].as_str(), c["status"].as_str()) {
            (Some("Reconciling"), Some("True")) => {
                Some(WorkloadStatus::in_progress(&reason, message))
            }
            (Some("Stalled"), Some("True")) => Some(WorkloadStatus::failed(&reason, message)),
            _ => None,
        }
    })
}

/// Steps 4 and 5: the kind's rule, or the Ready condition.
fn by_kind(obj: &Value, kind: &str) -> WorkloadStatus {
    match (group_of(obj), kind) {
        ("apps" | "extensions", "Deployment") => rules::deployment(obj),
        ("apps", "StatefulSet") => rules::statefulset(obj),
        ("apps" | "extensions", "DaemonSet") => rules::daemonset(obj),
        ("apps" | "extensions", "ReplicaSet") => rules::replicaset(obj),
        ("batch", "Job") => rules::job(obj),
        ("", "Service") => rules::service(obj),
        ("", "PersistentVolumeClaim") => rules::pvc(obj),
        ("", "Pod") => rules::pod(obj),
        ("batch", "CronJob") | ("", "ConfigMap" | "Secret") => {
            WorkloadStatus::current("Resource is always ready")
        }
        _ => ready_condition(obj),
    }
}

/// Kinds without a rule: `Ready=False` fails, `Ready=Unknown` is in progress.
fn ready_condition(obj: &Value) -> WorkloadStatus {
    match condition(obj, "Ready") {
        Some(c) if c["status"] == "False" => {
            let reason = c["reason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .unwrap_or("NotReady");
            WorkloadStatus::failed(reason, text(c, "message"))
        }
        Some(c) if c["status"] == "Unknown" => {
            let reason = c["reason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .unwrap_or("ReadyUnknown");
            WorkloadStatus::in_progress(reason, text(c, "message"))
        }
        _ => WorkloadStatus::current("Resource is current"),
    }
}

/// Ready/desired replicas where the kind has them.
fn replicas(obj: &Value, kind: &str) -> Option<Replicas> {
    let (ready, desired) = match kind {
        "Deployment" | "StatefulSet" | "ReplicaSet" => (
            int(obj, &["status", "readyReplicas"], 0),
            int(obj, &["spec", "replicas"], 1),
        ),
        "DaemonSet" => (
            int(obj, &["status", "numberReady"], 0),
            int(obj, &["status", "desiredNumberScheduled"], 0),
        ),
        "Job" => {
            let parallelism = int(obj, &["spec", "parallelism"], 1);
            (
                int(obj, &["status", "succeeded"], 0),
                int(obj, &["spec", "completions"], parallelism),
            )
        }
        _ => return None,
    };
    Some(Replicas { ready, desired })
}

#[path = "kstatus_rules.rs"]
mod rules;

#[cfg(test)]
#[path = "kstatus_tests.rs"]
mod tests;
