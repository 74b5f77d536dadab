//! kstatus's rules for the built-in kinds (step 4 of `kstatus.rs`): each reads the fields its
//! controller writes and finds the first thing not yet done, in kstatus's order.

use serde_json::Value;

use super::{KStatus, WorkloadStatus, condition, int};

/// The first count that falls short: `(short, reason, message)` checks in order.
fn first_short(checks: &[(bool, &str, String)]) -> Option<WorkloadStatus> {
    checks
        .iter()
        .find(|(short, _, _)| *short)
        .map(|(_, reason, message)| in_progress(reason, message.clone()))
}

fn in_progress(reason: &str, message: String) -> WorkloadStatus {
    WorkloadStatus {
        status: KStatus::InProgress,
        reason: Some(reason.to_string()),
        message,
        replicas: None,
    }
}

fn failed(reason: &str, message: String) -> WorkloadStatus {
    WorkloadStatus {
        status: KStatus::Failed,
        reason: Some(reason.to_string()),
        message,
        replicas: None,
    }
}

fn current(message: String) -> WorkloadStatus {
    WorkloadStatus {
        status: KStatus::Current,
        reason: None,
        message,
        replicas: None,
    }
}

/// A failed rollout (`Progressing` with `ProgressDeadlineExceeded`) fails; otherwise every
/// replica must exist, be updated, available and ready, and the controller must have said
/// the new ReplicaSet is available (or have no deadline to judge by) and the Deployment too.
pub(super) fn deployment(obj: &Value) -> WorkloadStatus {
    let progressing = condition(obj, "Progressing");
    if let Some(c) = progressing.filter(|c| c["reason"] == "ProgressDeadlineExceeded") {
        let message = c["message"]
            .as_str()
            .unwrap_or("Progress deadline exceeded");
        return failed("ProgressDeadlineExceeded", message.to_string());
    }
    let spec = int(obj, &["spec", "replicas"], 1);
    let [replicas, updated, ready, available] = [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ]
    .map(|f| int(obj, &["status", f], 0));
    let short = first_short(&[
        (
            spec > replicas,
            "LessReplicas",
            format!("Replicas: {replicas}/{spec}"),
        ),
        (
            spec > updated,
            "LessUpdated",
            format!("Updated: {updated}/{spec}"),
        ),
        (
            replicas > spec,
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        ),
        (
            updated > available,
            "LessAvailable",
            format!("Available: {available}/{updated}"),
        ),
        (spec > ready, "LessReady", format!("Ready: {ready}/{spec}")),
    ]);
    if let Some(s) = short {
        return s;
    }
    // Without a deadline the controller never reports progress, so there is nothing to wait on.
    let no_deadline = obj["spec"]["progressDeadlineSeconds"]
        .as_i64()
        .is_none_or(|d| d == i64::from(i32::MAX));
    let new_rs_available = progressing
        .is_some_and(|c| c["status"] == "True" && c["reason"] == "NewReplicaSetAvailable");
    if !(no_deadline || new_rs_available) {
        return in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available".into());
    }
    if !condition(obj, "Available").is_some_and(|c| c["status"] == "True") {
        return in_progress("DeploymentNotAvailable", "Deployment not Available".into());
    }
    current(format!("Deployment is available. Replicas: {replicas}"))
}

/// StatefulSets set no conditions: only counts and revisions tell (never Failed). `OnDelete`
/// updates are the user's to make, so they are always current.
pub(super) fn statefulset(obj: &Value) -> WorkloadStatus {
    if obj["spec"]["updateStrategy"]["type"] == "OnDelete" {
        return current("StatefulSet is using the ondelete update strategy".into());
    }
    let spec = int(obj, &["spec", "replicas"], 1);
    let [replicas, ready, current_n, updated] = [
        "replicas",
        "readyReplicas",
        "currentReplicas",
        "updatedReplicas",
    ]
    .map(|f| int(obj, &["status", f], 0));
    let partition = int(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
        -1,
    );
    let short = first_short(&[
        (
            spec > replicas,
            "LessReplicas",
            format!("Replicas: {replicas}/{spec}"),
        ),
        (spec > ready, "LessReady", format!("Ready: {ready}/{spec}")),
        (
            replicas > spec,
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        ),
    ]);
    if let Some(s) = short {
        return s;
    }
    if partition != -1 {
        if updated < spec - partition {
            return in_progress(
                "PartitionRollout",
                format!("updated: {updated}/{}", spec - partition),
            );
        }
        return current(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > current_n {
        return in_progress("LessCurrent", format!("current: {current_n}/{spec}"));
    }
    if obj["status"]["currentRevision"] != obj["status"]["updateRevision"] {
        return in_progress(
            "RevisionMismatch",
            "Waiting for updated revision to match current".into(),
        );
    }
    current(format!(
        "All replicas scheduled as expected. Replicas: {replicas}"
    ))
}

/// A DaemonSet must have been observed (generation and observedGeneration both set), then
/// be scheduled, updated, available and ready on every node it wants.
pub(super) fn daemonset(obj: &Value) -> WorkloadStatus {
    let kind = "DaemonSet";
    if obj["metadata"]["generation"].as_i64().is_none() {
        return in_progress(
            "NoGeneration",
            format!("{kind} metadata.generation not found"),
        );
    }
    if obj["status"]["observedGeneration"].as_i64().is_none() {
        return in_progress(
            "NoObservedGeneration",
            format!("{kind} status.observedGeneration not found"),
        );
    }
    let desired = int(obj, &["status", "desiredNumberScheduled"], -1);
    if desired == -1 {
        return in_progress(
            "NoDesiredNumber",
            "Missing .status.desiredNumberScheduled".into(),
        );
    }
    let [scheduled, updated, available, ready] = [
        "currentNumberScheduled",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberReady",
    ]
    .map(|f| int(obj, &["status", f], 0));
    let short = first_short(&[
        (
            desired > scheduled,
            "LessCurrent",
            format!("Current: {scheduled}/{desired}"),
        ),
        (
            desired > updated,
            "LessUpdated",
            format!("Updated: {updated}/{desired}"),
        ),
        (
            desired > available,
            "LessAvailable",
            format!("Available: {available}/{desired}"),
        ),
        (
            desired > ready,
            "LessReady",
            format!("Ready: {ready}/{desired}"),
        ),
    ]);
    short.unwrap_or_else(|| {
        current(format!(
            "All replicas scheduled as expected. Replicas: {desired}"
        ))
    })
}

/// A ReplicaSet with a `ReplicaFailure` waits on its pods; else every replica must be
/// labelled, available and ready, and no extra pod left.
pub(super) fn replicaset(obj: &Value) -> WorkloadStatus {
    if condition(obj, "ReplicaFailure").is_some_and(|c| c["status"] == "True") {
        return in_progress(
            "ReplicaFailure",
            "Replica Failure condition. Check Pods".into(),
        );
    }
    let spec = int(obj, &["spec", "replicas"], 1);
    let [replicas, ready, available, labelled] = [
        "replicas",
        "readyReplicas",
        "availableReplicas",
        "fullyLabeledReplicas",
    ]
    .map(|f| int(obj, &["status", f], 0));
    let short = first_short(&[
        (
            spec > labelled,
            "LessLabelled",
            format!("Labelled: {labelled}/{spec}"),
        ),
        (
            spec > available,
            "LessAvailable",
            format!("Available: {available}/{spec}"),
        ),
        (spec > ready, "LessReady", format!("Ready: {ready}/{spec}")),
        (
            replicas > spec,
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        ),
    ]);
    short.unwrap_or_else(|| current(format!("ReplicaSet is available. Replicas: {replicas}")))
}

/// Flux's Job rule: Current once `Complete`, Failed once `Failed`, in progress until then
/// (upstream kstatus calls a started Job Current, and a suspended one too).
pub(super) fn job(obj: &Value) -> WorkloadStatus {
    let parallelism = int(obj, &["spec", "parallelism"], 1);
    let completions = int(obj, &["spec", "completions"], parallelism);
    let [succeeded, failed_pods] = ["succeeded", "failed"].map(|f| int(obj, &["status", f], 0));
    let conditions = obj["status"]["conditions"].as_array().into_iter().flatten();
    for c in conditions.filter(|c| c["status"] == "True") {
        match c["type"].as_str() {
            Some("Complete") => {
                return current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                ));
            }
            Some("Failed") => {
                return failed(
                    "JobFailed",
                    format!("Job Failed. failed: {failed_pods}/{completions}"),
                );
            }
            _ => {}
        }
    }
    in_progress("JobInProgress", "Job in progress".into())
}

/// A LoadBalancer Service waits for its cluster IP; any other Service is ready.
pub(super) fn service(obj: &Value) -> WorkloadStatus {
    let lb = obj["spec"]["type"] == "LoadBalancer";
    if lb && obj["spec"]["clusterIP"].as_str().is_none_or(str::is_empty) {
        return in_progress(
            "NoIPAssigned",
            "ClusterIP not set. Service type: LoadBalancer".into(),
        );
    }
    current("Service is ready".into())
}

/// A claim is ready once Bound.
pub(super) fn pvc(obj: &Value) -> WorkloadStatus {
    match obj["status"]["phase"].as_str() {
        Some("Bound") => current("PVC is Bound".into()),
        phase => in_progress(
            "NotBound",
            format!("PVC is not Bound. phase: {}", phase.unwrap_or("unknown")),
        ),
    }
}

/// A Pod by phase: finished either way is Current; Running is Current when Ready, Failed
/// when a container crash-loops; Pending fails when unschedulable (kstatus gives a new Pod 15 s
/// to be scheduled; that needs a clock, so here an `Unschedulable` Pod fails at once).
pub(super) fn pod(obj: &Value) -> WorkloadStatus {
    match obj["status"]["phase"].as_str().unwrap_or_default() {
        "Succeeded" => current("Pod has completed successfully".into()),
        "Failed" => current("Pod has completed, but not successfully".into()),
        "Running" if condition(obj, "Ready").is_some_and(|c| c["status"] == "True") => {
            current("Pod is Ready".into())
        }
        "Running" => {
            let looping: Vec<&str> = obj["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["state"]["waiting"]["reason"] == "CrashLoopBackOff")
                .filter_map(|c| c["name"].as_str())
                .collect();
            match looping.is_empty() {
                true => in_progress(
                    "PodRunningNotReady",
                    "Pod is running but is not Ready".into(),
                ),
                false => failed(
                    "ContainerCrashLooping",
                    format!("Containers in CrashLoop state: {}", looping.join(",")),
                ),
            }
        }
        "Pending"
            if condition(obj, "PodScheduled")
                .is_some_and(|c| c["status"] == "False" && c["reason"] == "Unschedulable") =>
        {
            failed("PodUnschedulable", "Pod could not be scheduled".into())
        }
        "Pending" => in_progress("PodPending", "Pod is in the Pending phase".into()),
        "" => in_progress("PodNotObserved", "Pod phase not available".into()),
        other => WorkloadStatus {
            status: KStatus::Unknown,
            reason: Some("UnknownPhase".into()),
            message: format!("unknown phase {other}"),
            replicas: None,
        },
    }
}
