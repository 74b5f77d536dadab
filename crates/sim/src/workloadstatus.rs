//! Workload `status` as the Kubernetes controllers write it, for the three places a rollout can
//! be in ([`Phase`]): the fields kstatus reads (`observedGeneration`, replica counts, the
//! Deployment's `Available`/`Progressing` conditions, StatefulSet revisions, DaemonSet
//! scheduling counts, Job conditions, PVC phase, load-balancer ingress). Zero counts are left
//! out, as the apiserver's `omitempty` does.

use serde_json::{Map, Value, json};

use super::fluxspec::hex_digest;
use super::workloads::pod_spec_path;

/// Where a workload's rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Rolled out: every replica updated, ready and available (a Job complete, a PVC bound, a
    /// load balancer with an address).
    Complete,
    /// Rolling out: some replicas still run the old template (a Job running, a PVC pending).
    Progressing,
    /// Stuck: a new pod never gets ready. A Deployment reports `Progressing=False` with
    /// `ProgressDeadlineExceeded`, a Job `Failed`; StatefulSets and DaemonSets only show fewer
    /// ready pods (kstatus cannot tell them from a slow rollout).
    Stuck,
}

/// Nodes a DaemonSet runs on.
const NODES: i64 = 3;

/// The status of `obj` (metadata and spec as they are now, the previous status for what the
/// controllers keep) in `phase`, written at `now`.
pub fn render(obj: &Value, phase: Phase, now: &str) -> Value {
    match obj["kind"].as_str().unwrap_or_default() {
        "Deployment" => deployment(obj, phase, now),
        "StatefulSet" => statefulset(obj, phase),
        "DaemonSet" => daemonset(obj, phase),
        "Job" => job(obj, phase, now),
        "CronJob" => cronjob(obj, phase, now),
        "PersistentVolumeClaim" => match phase {
            Phase::Complete => json!({"phase": "Bound", "accessModes": obj["spec"]["accessModes"],
                "capacity": {"storage": obj["spec"]["resources"]["requests"]["storage"]}}),
            _ => json!({"phase": "Pending"}),
        },
        "Service" if obj["spec"]["type"] != "LoadBalancer" => json!({"loadBalancer": {}}),
        _ => match phase {
            Phase::Complete => load_balancer(obj),
            _ => json!({"loadBalancer": {}}),
        },
    }
}

/// The phase the status of `obj` shows (a workload without status is progressing).
pub fn phase_of(obj: &Value) -> Phase {
    let st = &obj["status"];
    let n = |f: &str| st[f].as_i64().unwrap_or(0);
    let cond = |t: &str| {
        st["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
    };
    let replicas = desired(obj);
    match obj["kind"].as_str().unwrap_or_default() {
        "Deployment"
            if cond("Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") =>
        {
            Phase::Stuck
        }
        "Deployment" if n("updatedReplicas") < replicas => Phase::Progressing,
        "StatefulSet" if st["currentRevision"] != st["updateRevision"] => {
            match n("readyReplicas") < replicas {
                true => Phase::Stuck,
                false => Phase::Progressing,
            }
        }
        "DaemonSet" if n("numberReady") < n("desiredNumberScheduled") => Phase::Stuck,
        "DaemonSet" if n("updatedNumberScheduled") < n("desiredNumberScheduled") => {
            Phase::Progressing
        }
        "Job" if cond("Failed").is_some_and(|c| c["status"] == "True") => Phase::Stuck,
        "Job" if cond("Complete").is_none_or(|c| c["status"] != "True") => Phase::Progressing,
        "CronJob" if st["active"].as_array().is_some_and(|a| !a.is_empty()) => Phase::Progressing,
        "PersistentVolumeClaim" if st["phase"] != "Bound" => Phase::Progressing,
        "Ingress" if st["loadBalancer"]["ingress"].is_null() => Phase::Progressing,
        "Service"
            if obj["spec"]["type"] == "LoadBalancer" && st["loadBalancer"]["ingress"].is_null() =>
        {
            Phase::Progressing
        }
        _ if !st.is_object() => Phase::Progressing,
        _ => Phase::Complete,
    }
}

/// `spec.replicas` (1 when unset, as the controllers default it).
fn desired(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1)
}

/// The pod-template hash a controller names its ReplicaSet / revision after.
fn template_hash(obj: &Value) -> String {
    let template = pod_spec_path(obj["kind"].as_str().unwrap_or_default())
        .map_or(Value::Null, |path| {
            path.iter().fold(obj, |v, k| &v[*k]).clone()
        });
    hex_digest(&[&template.to_string()], 10)
}

/// Insert the non-zero counts.
fn counts(st: &mut Map<String, Value>, fields: &[(&str, i64)]) {
    for (k, v) in fields.iter().filter(|(_, v)| *v != 0) {
        st.insert((*k).to_string(), json!(v));
    }
}

/// A Deployment condition, keeping its transition time while its status holds.
fn deployment_condition(
    obj: &Value,
    ty: &str,
    (status, reason, msg): (&str, &str, &str),
    now: &str,
) -> Value {
    let since = obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty && c["status"] == status))
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(now);
    json!({"type": ty, "status": status, "reason": reason, "message": msg, "lastUpdateTime": now, "lastTransitionTime": since})
}

/// The deployment controller's `Progressing` condition per phase: status, reason, and the
/// message after `ReplicaSet "<name>-<hash>"`.
fn progress_words(phase: Phase) -> (&'static str, &'static str, &'static str) {
    match phase {
        Phase::Complete => (
            "True",
            "NewReplicaSetAvailable",
            "has successfully progressed.",
        ),
        Phase::Progressing => ("True", "ReplicaSetUpdated", "is progressing."),
        Phase::Stuck => (
            "False",
            "ProgressDeadlineExceeded",
            "has timed out progressing.",
        ),
    }
}

fn deployment(obj: &Value, phase: Phase, now: &str) -> Value {
    let n = desired(obj);
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let (updated, ready) = match phase {
        Phase::Complete => (n, n),
        Phase::Progressing => (n / 2, n),
        Phase::Stuck => (1.min(n), n - 1),
    };
    // maxUnavailable 25%, rounded down: fewer available pods than that loses availability.
    let availability = match ready >= n - n / 4 {
        true => (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        ),
        false => (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        ),
    };
    let available = deployment_condition(obj, "Available", availability, now);
    let (status, reason, tail) = progress_words(phase);
    let msg = format!("ReplicaSet \"{name}-{}\" {tail}", template_hash(obj));
    let progress = deployment_condition(obj, "Progressing", (status, reason, &msg), now);
    let mut st = Map::new();
    st.insert(
        "observedGeneration".into(),
        obj["metadata"]["generation"].clone(),
    );
    counts(
        &mut st,
        &[
            ("replicas", n),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", ready),
            ("unavailableReplicas", n - ready),
        ],
    );
    st.insert("conditions".into(), json!([available, progress]));
    Value::Object(st)
}

fn statefulset(obj: &Value, phase: Phase) -> Value {
    let n = desired(obj);
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let update = format!("{name}-{}", template_hash(obj));
    let (updated, ready) = match phase {
        Phase::Complete => (n, n),
        Phase::Progressing => (n / 2, n),
        Phase::Stuck => (1.min(n), n - 1),
    };
    // Pods still on the current revision: all of them once the update revision is current.
    let on_current = if phase == Phase::Complete {
        n
    } else {
        n - updated
    };
    let current = match phase {
        Phase::Complete => update.clone(),
        _ => obj["status"]["currentRevision"]
            .as_str()
            .map_or_else(|| format!("{name}-0000000000"), str::to_string),
    };
    let mut st = Map::new();
    st.insert(
        "observedGeneration".into(),
        obj["metadata"]["generation"].clone(),
    );
    counts(
        &mut st,
        &[
            ("replicas", n),
            ("readyReplicas", ready),
            ("availableReplicas", ready),
            ("currentReplicas", on_current),
            ("updatedReplicas", updated),
        ],
    );
    st.insert("currentRevision".into(), json!(current));
    st.insert("updateRevision".into(), json!(update));
    st.insert("collisionCount".into(), json!(0));
    Value::Object(st)
}

fn daemonset(obj: &Value, phase: Phase) -> Value {
    let (updated, ready) = match phase {
        Phase::Complete => (NODES, NODES),
        Phase::Progressing => (1, NODES),
        Phase::Stuck => (1, NODES - 1),
    };
    let mut st = Map::new();
    st.insert(
        "observedGeneration".into(),
        obj["metadata"]["generation"].clone(),
    );
    st.insert("numberMisscheduled".into(), json!(0));
    counts(
        &mut st,
        &[
            ("desiredNumberScheduled", NODES),
            ("currentNumberScheduled", NODES),
            ("updatedNumberScheduled", updated),
            ("numberReady", ready),
            ("numberAvailable", ready),
            ("numberUnavailable", NODES - ready),
        ],
    );
    Value::Object(st)
}

fn job(obj: &Value, phase: Phase, now: &str) -> Value {
    let started = obj["status"]["startTime"].as_str().unwrap_or(now);
    let cond = |ty: &str, reason: &str, msg: &str| json!({"type": ty, "status": "True", "reason": reason, "message": msg, "lastProbeTime": now, "lastTransitionTime": now});
    match phase {
        Phase::Complete => {
            let msg = "Reached expected number of succeeded pods";
            json!({"startTime": started, "completionTime": now, "succeeded": 1, "ready": 0, "terminating": 0,
                "uncountedTerminatedPods": {}, "conditions": [cond("SuccessCriteriaMet", "CompletionsReached", msg), cond("Complete", "CompletionsReached", msg)]})
        }
        Phase::Progressing => {
            json!({"startTime": now, "active": 1, "ready": 1, "terminating": 0, "uncountedTerminatedPods": {}})
        }
        Phase::Stuck => {
            let msg = "Job has reached the specified backoff limit";
            let failed = obj["spec"]["backoffLimit"].as_i64().unwrap_or(6) + 1;
            json!({"startTime": started, "failed": failed, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                "conditions": [cond("FailureTarget", "BackoffLimitExceeded", msg), cond("Failed", "BackoffLimitExceeded", msg)]})
        }
    }
}

fn cronjob(obj: &Value, phase: Phase, now: &str) -> Value {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    let last_success = obj["status"]["lastSuccessfulTime"].clone();
    match phase {
        Phase::Progressing => {
            let job = format!(
                "{name}-{}",
                hex_digest(&[name, now], 8)
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            );
            let mut st = json!({"lastScheduleTime": now, "active": [{"apiVersion": "batch/v1", "kind": "Job", "name": job, "namespace": ns}]});
            if !last_success.is_null() {
                st["lastSuccessfulTime"] = last_success;
            }
            st
        }
        Phase::Complete => json!({"lastScheduleTime": now, "lastSuccessfulTime": now}),
        Phase::Stuck if last_success.is_null() => json!({"lastScheduleTime": now}),
        Phase::Stuck => json!({"lastScheduleTime": now, "lastSuccessfulTime": last_success}),
    }
}

/// A Service of type LoadBalancer or an Ingress with its address.
fn load_balancer(obj: &Value) -> Value {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let n = u8::from_str_radix(&hex_digest(&[name, "lb"], 2), 16).unwrap_or(0);
    json!({"loadBalancer": {"ingress": [{"ip": format!("203.0.113.{}", n % 250 + 2), "ipMode": "VIP"}]}})
}
