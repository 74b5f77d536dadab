//! The built-in "controllers": after API clients change a Flux object they answer like Flux
//! does, after [`SimOptions::controller_delay`](super::SimOptions): `Reconciling` first, then
//! Ready (or the failure the object is pinned to), with `observedGeneration`,
//! `lastHandledReconcileAt` and HelmRelease `lastHandledForceAt`/`lastHandledResetAt` updated.
//! Suspended objects are left alone. Workloads changed by API clients are answered by the
//! simulated workload controllers (`workloadctl.rs`).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::catalog::TypeId;
use super::fluxreasons::failure;
use super::fluxstatus::Health;
use super::reconcile::{Step, reconcile};
use super::state::Shared;
use super::workloadctl;

/// Annotation that requests a reconciliation (`flux reconcile`).
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// HelmRelease: force a one-off install/upgrade.
pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
/// HelmRelease: reset the failure counters.
pub const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";
/// Simulator-only annotation: pin the outcome of every reconciliation to this failure reason
/// (e.g. `HealthCheckFailed`); remove it to let the object recover. On a workload (any value)
/// it makes the rollout stuck (`ProgressDeadlineExceeded`, a failed Job) until removed.
pub const FAIL_ANNOTATION: &str = "sim.flux-orchestrator.io/fail";

/// An API client changed a Flux object.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Its type.
    pub ty: TypeId,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// Run until shutdown: each notice is handled in its own task after the configured delay.
pub async fn run(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Notice>) {
    loop {
        let notice = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            n = rx.recv() => match n { Some(n) => n, None => return },
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let delay = shared.opts.controller_delay;
            let shutdown = shared.shutdown.clone();
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = handle(&shared, &notice, delay) => {}
            }
        });
    }
}

/// What the object asks for that the controller has not answered yet.
#[derive(Debug, Default, PartialEq)]
struct Pending {
    requested_at: Option<String>,
    force_at: Option<String>,
    reset_at: Option<String>,
    new_generation: bool,
}

fn pending(obj: &Value) -> Option<Pending> {
    if obj["spec"]["suspend"] == json!(true) {
        return None;
    }
    let ann = &obj["metadata"]["annotations"];
    let st = &obj["status"];
    let unhandled = |key: &str, handled: &str| -> Option<String> {
        let want = ann[key].as_str()?;
        (st[handled].as_str() != Some(want)).then(|| want.to_string())
    };
    let is_hr = obj["kind"] == "HelmRelease";
    let p = Pending {
        requested_at: unhandled(REQUESTED_AT, "lastHandledReconcileAt"),
        force_at: if is_hr {
            unhandled(FORCE_AT, "lastHandledForceAt")
        } else {
            None
        },
        reset_at: if is_hr {
            unhandled(RESET_AT, "lastHandledResetAt")
        } else {
            None
        },
        new_generation: obj["metadata"]["generation"] != st["observedGeneration"]
            || st.get("conditions").is_none(),
    };
    (p != Pending::default()).then_some(p)
}

fn outcome(obj: &Value) -> Health {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let md = &obj["metadata"];
    match md["annotations"][FAIL_ANNOTATION].as_str() {
        Some(reason) => {
            let (ns, name) = (
                md["namespace"].as_str().unwrap_or_default(),
                md["name"].as_str().unwrap_or_default(),
            );
            let pinned = (0..4)
                .map(|i| failure(kind, ns, name, i))
                .find(|h| matches!(h, Health::Failed { reason: r, .. } if r == reason));
            pinned.unwrap_or_else(|| Health::Failed {
                reason: reason.to_string(),
                message: format!("simulated failure: {reason}"),
                stalled: false,
            })
        }
        None => Health::Ready,
    }
}

async fn handle(shared: &Shared, n: &Notice, delay: std::time::Duration) {
    let rt = shared.store.rt(n.ty);
    if rt.is_workload() {
        return workloadctl::handle(shared, n, delay).await;
    }
    if !rt.has_status || !rt.is_flux() {
        return;
    }
    tokio::time::sleep(delay).await;
    let Some(obj) = shared.store.get(n.ty, &n.namespace, &n.name) else {
        return;
    };
    let Ok(obj) = serde_json::from_slice::<Value>(&obj.bytes) else {
        return;
    };
    if pending(&obj).is_none() {
        return;
    }
    let progressing = Step {
        health: Health::Progressing,
        advance: false,
    };
    if reconcile(shared, n.ty, &n.namespace, &n.name, progressing, |_| {}).is_err() {
        return;
    }
    tokio::time::sleep(delay).await;
    // Read again: the object may have changed (or been suspended/deleted) meanwhile.
    let Some(obj) = shared.store.get(n.ty, &n.namespace, &n.name) else {
        return;
    };
    let Ok(obj) = serde_json::from_slice::<Value>(&obj.bytes) else {
        return;
    };
    let Some(p) = pending(&obj) else { return };
    let step = Step {
        health: outcome(&obj),
        advance: false,
    };
    let _ = reconcile(shared, n.ty, &n.namespace, &n.name, step, move |o| {
        let st = &mut o["status"];
        if let Some(at) = p.requested_at {
            st["lastHandledReconcileAt"] = json!(at);
        }
        if let Some(at) = p.force_at {
            st["lastHandledForceAt"] = json!(at);
        }
        if let Some(at) = p.reset_at {
            st["lastHandledResetAt"] = json!(at);
            if let Some(m) = st.as_object_mut() {
                for key in ["failures", "installFailures", "upgradeFailures"] {
                    m.remove(key);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspended_objects_have_nothing_pending() {
        let mut obj = json!({"kind": "Kustomization", "metadata": {"generation": 2, "annotations": {REQUESTED_AT: "t1"}},
            "spec": {"suspend": true}, "status": {"observedGeneration": 1, "conditions": []}});
        assert_eq!(pending(&obj), None);
        obj["spec"]["suspend"] = json!(false);
        let p = pending(&obj).unwrap();
        assert_eq!(
            (p.requested_at.as_deref(), p.new_generation),
            (Some("t1"), true)
        );
        obj["status"] =
            json!({"observedGeneration": 2, "lastHandledReconcileAt": "t1", "conditions": []});
        assert_eq!(pending(&obj), None);
    }
}
