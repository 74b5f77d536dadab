//! The simulated workload controllers (deployment, statefulset, daemonset, job, cronjob...):
//! what a rollout step writes ([`WorkloadStep`]), shared by the programmatic API, churn and the
//! answer to API clients' changes ([`handle`]).

use serde_json::{Value, json};

use super::catalog::TypeId;
use super::controller::{FAIL_ANNOTATION, Notice};
use super::meta::{self, Scope};
use super::state::Shared;
use super::status::{ApiError, Result};
use super::workloads::{next_image, pod_spec_path};
use super::workloadstatus::{Phase, phase_of, render};

/// One thing that happens to a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadStep {
    /// A rollout to a new image starts: the first container's image moves to its next tag
    /// (or digest), the generation goes up, the status shows the rollout in progress. Kinds
    /// without a pod template (Service, PVC, Ingress) only go back to progressing.
    Rollout,
    /// The rollout completes: every replica updated, ready and available.
    Complete,
    /// The rollout gets stuck (a Deployment exceeds its progress deadline, a Job fails); a
    /// rolled-out workload first starts a new rollout, which is the one that fails.
    Fail,
    /// `spec.replicas` changes (Deployment, StatefulSet) and the new count is reached.
    Scale(i64),
}

/// Apply `step` to `obj` in place (spec and status, one write); `now` stamps the status.
pub fn apply(obj: &mut Value, step: WorkloadStep, now: &str) -> Result<()> {
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let phase = match step {
        WorkloadStep::Rollout => {
            roll(obj);
            Phase::Progressing
        }
        WorkloadStep::Complete => Phase::Complete,
        WorkloadStep::Fail => {
            if phase_of(obj) == Phase::Complete {
                roll(obj);
            }
            Phase::Stuck
        }
        WorkloadStep::Scale(n)
            if matches!(kind.as_str(), "Deployment" | "StatefulSet") && n >= 0 =>
        {
            if obj["spec"]["replicas"] != json!(n) {
                obj["spec"]["replicas"] = json!(n);
                next_generation(obj);
            }
            Phase::Complete
        }
        WorkloadStep::Scale(n) => {
            return Err(ApiError::bad_request(format!(
                "cannot scale {kind} to {n} replicas"
            )));
        }
    };
    obj["status"] = render(obj, phase, now);
    Ok(())
}

/// Move the first container of the pod template to its next image (a Job's template is
/// immutable: it only runs again).
fn roll(obj: &mut Value) {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let Some(path) = pod_spec_path(kind).filter(|_| kind != "Job") else {
        return;
    };
    let pod = path.iter().fold(&mut *obj, |v, k| &mut v[*k]);
    let Some(image) = pod["containers"][0]["image"].as_str().map(next_image) else {
        return;
    };
    pod["containers"][0]["image"] = json!(image);
    next_generation(obj);
}

/// The generation the store gives a spec change, set ahead so the status written in the same
/// write can report it observed (the store keeps the value: it is the old one plus one).
fn next_generation(obj: &mut Value) {
    let g = obj["metadata"]["generation"].as_i64().unwrap_or(1);
    obj["metadata"]["generation"] = json!(g + 1);
}

/// Apply `steps` to a stored workload, in order, in one write; returns it after the write.
pub fn step(
    shared: &Shared,
    ty: TypeId,
    ns: &str,
    name: &str,
    steps: &[WorkloadStep],
) -> Result<Value> {
    let rt = shared.store.rt(ty);
    if !rt.is_workload() {
        return Err(ApiError::bad_request(format!(
            "{} is not a workload kind",
            rt.kind
        )));
    }
    let now = meta::now();
    let (_, _, obj) = shared.store.update_value(ty, ns, name, Scope::Any, |o| {
        steps.iter().try_for_each(|s| apply(o, *s, &now))
    })?;
    Ok(obj)
}

/// The kinds churn rolls out (Services, PVCs and Ingresses stay as created).
pub const CHURNED: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"];

/// What churn does to a workload in `phase`, given a uniform `draw` for the next state (stuck
/// below `failure`, rolling out below `failure + progressing`, else rolled out) and a `coin`:
/// like the Flux objects' churn, the next state does not depend on the current one, so the
/// fleet holds the mix. A rolled-out workload that stays so is scaled (Deployment,
/// StatefulSet: `replicas` ± 1 within 1..=5) or rolled out to a new image at once.
pub fn churn_steps(
    obj: &Value,
    draw: f64,
    failure: f64,
    progressing: f64,
    coin: bool,
) -> Vec<WorkloadStep> {
    let phase = phase_of(obj);
    let target = if draw < failure {
        Phase::Stuck
    } else if draw < failure + progressing {
        Phase::Progressing
    } else {
        Phase::Complete
    };
    let scalable = matches!(obj["kind"].as_str(), Some("Deployment" | "StatefulSet"));
    match (phase, target) {
        (now, want) if now == want && want != Phase::Complete => Vec::new(),
        (_, Phase::Stuck) => vec![WorkloadStep::Fail],
        (_, Phase::Progressing) => vec![WorkloadStep::Rollout],
        (Phase::Complete, Phase::Complete) if scalable && coin => {
            let n = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            vec![WorkloadStep::Scale(if n >= 5 { n - 1 } else { n + 1 })]
        }
        (Phase::Complete, Phase::Complete) => vec![WorkloadStep::Rollout, WorkloadStep::Complete],
        (_, Phase::Complete) => vec![WorkloadStep::Complete],
    }
}

/// What the controller does after an API client changed a workload: nothing, or a rollout
/// (then its outcome), or flipping to stuck/complete for the fail annotation.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    None,
    Rollout,
    Outcome(Phase),
}

/// A new or changed spec (no status yet, or a generation not observed) is rolled out; else the
/// simulator-only fail annotation pins the phase: stuck while present, complete once removed.
fn answer(obj: &Value) -> Answer {
    let st = &obj["status"];
    let unobserved = st
        .get("observedGeneration")
        .is_some_and(|g| *g != obj["metadata"]["generation"]);
    if !st.is_object() || st.as_object().is_some_and(|m| m.is_empty()) || unobserved {
        return Answer::Rollout;
    }
    let pinned = obj["metadata"]["annotations"][FAIL_ANNOTATION].is_string();
    match (pinned, phase_of(obj)) {
        (true, Phase::Stuck) | (false, Phase::Complete) => Answer::None,
        (true, _) => Answer::Outcome(Phase::Stuck),
        (false, _) => Answer::Outcome(Phase::Complete),
    }
}

fn read(shared: &Shared, n: &Notice) -> Option<Value> {
    let stored = shared.store.get(n.ty, &n.namespace, &n.name)?;
    serde_json::from_slice(&stored.bytes).ok()
}

/// Write `phase` as the status (the generation is observed), unless the object is gone.
fn write(shared: &Shared, n: &Notice, phase: Phase) {
    let now = meta::now();
    let _ = shared
        .store
        .update_value(n.ty, &n.namespace, &n.name, Scope::Any, |o| {
            o["status"] = render(o, phase, &now);
            Ok(())
        });
}

/// Answer an API client's change to a workload, like the Flux controller answers Flux objects
/// (`controller.rs`): after `delay`, a new spec starts rolling out; after another `delay` the
/// rollout completes, or gets stuck when the object carries [`FAIL_ANNOTATION`].
pub async fn handle(shared: &Shared, n: &Notice, delay: std::time::Duration) {
    tokio::time::sleep(delay).await;
    let Some(obj) = read(shared, n) else { return };
    match answer(&obj) {
        Answer::None => {}
        Answer::Outcome(phase) => write(shared, n, phase),
        Answer::Rollout => {
            write(shared, n, Phase::Progressing);
            tokio::time::sleep(delay).await;
            // Read again: the client may have pinned (or unpinned) a failure meanwhile.
            let Some(obj) = read(shared, n) else { return };
            let pinned = obj["metadata"]["annotations"][FAIL_ANNOTATION].is_string();
            write(
                shared,
                n,
                if pinned {
                    Phase::Stuck
                } else {
                    Phase::Complete
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::{Owner, object, planned};

    fn deployment() -> Value {
        let owner = Owner {
            kind: "Kustomization",
            namespace: "apps".into(),
            name: "app-0".into(),
        };
        let mut d = object(&planned("app-0", 0), "apps", &owner);
        d["metadata"]["generation"] = json!(1);
        d
    }

    #[test]
    fn a_rollout_moves_the_image_and_a_failure_exceeds_the_deadline() {
        let mut d = deployment();
        apply(&mut d, WorkloadStep::Complete, "t0").unwrap();
        assert_eq!(phase_of(&d), Phase::Complete);
        let image = d["spec"]["template"]["spec"]["containers"][0]["image"].clone();
        apply(&mut d, WorkloadStep::Rollout, "t1").unwrap();
        assert_eq!(phase_of(&d), Phase::Progressing);
        assert_ne!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            image
        );
        assert_eq!(
            (
                d["metadata"]["generation"].clone(),
                d["status"]["observedGeneration"].clone()
            ),
            (json!(2), json!(2))
        );
        apply(&mut d, WorkloadStep::Fail, "t2").unwrap();
        assert_eq!(phase_of(&d), Phase::Stuck);
        assert_eq!(
            d["status"]["conditions"][1]["reason"],
            "ProgressDeadlineExceeded"
        );
        assert_eq!(
            d["metadata"]["generation"], 2,
            "the stuck rollout is the running one"
        );
        apply(&mut d, WorkloadStep::Scale(5), "t3").unwrap();
        assert_eq!(
            (phase_of(&d), d["status"]["readyReplicas"].clone()),
            (Phase::Complete, json!(5))
        );
        let mut svc = object(
            &planned("app-0", 1),
            "apps",
            &Owner {
                kind: "Kustomization",
                namespace: "apps".into(),
                name: "app-0".into(),
            },
        );
        assert_eq!(
            apply(&mut svc, WorkloadStep::Scale(2), "t")
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn the_controller_rolls_out_new_specs_and_follows_the_fail_annotation() {
        let mut d = deployment();
        assert_eq!(answer(&d), Answer::Rollout, "no status yet");
        apply(&mut d, WorkloadStep::Complete, "t0").unwrap();
        assert_eq!(answer(&d), Answer::None);
        d["metadata"]["annotations"] = json!({FAIL_ANNOTATION: "ProgressDeadlineExceeded"});
        assert_eq!(answer(&d), Answer::Outcome(Phase::Stuck));
        d["metadata"]["generation"] = json!(7);
        assert_eq!(answer(&d), Answer::Rollout);
    }
}
