//! One simulated reconciliation: render a Flux object's status for an outcome in a single write,
//! then emit the Event its controller would. Shared by the controller, churn and scenarios.

use serde_json::Value;

use super::catalog::TypeId;
use super::events::{self, EventSpec};
use super::fluxreasons::as_attempted;
use super::fluxspec::{initial_revision, next_revision};
use super::fluxstatus::{Health, Render, current_revision, health_of, render};
use super::meta::{self, Scope};
use super::state::Shared;
use super::status::Result;

/// What to do to the object.
pub struct Step {
    /// The outcome.
    pub health: Health,
    /// Move to the next revision (a new commit, chart version, tag...).
    pub advance: bool,
}

/// Apply `step` to an object; `extra` may adjust the object in the same write (e.g. set
/// `lastHandledReconcileAt`). Returns the object after the write, if it exists.
pub fn reconcile(
    shared: &Shared,
    ty: TypeId,
    ns: &str,
    name: &str,
    step: Step,
    extra: impl FnOnce(&mut Value),
) -> Result<Value> {
    let rt = shared.store.rt(ty);
    let kind = rt.kind;
    let has_status = rt.has_status && rt.is_flux();
    let mut event: Option<EventSpec> = None;
    let (_, changed, obj) = shared.store.update_value(ty, ns, name, Scope::Any, |obj| {
        if has_status {
            let before = health_of(obj);
            let cur = current_revision(obj).unwrap_or_else(|| initial_revision(kind, ns, name));
            let revision = if step.advance {
                next_revision(kind, &cur)
            } else {
                cur.clone()
            };
            let now = meta::now();
            let health = as_attempted(obj, step.health.clone(), &revision);
            let status = render(&Render {
                obj,
                flavor: shared.opts.flavor,
                health: &health,
                revision: &revision,
                now: &now,
            });
            obj["status"] = status;
            event = event_for(
                kind,
                before.as_ref(),
                &health,
                revision != cur,
                obj,
                &revision,
            );
        }
        extra(obj);
        Ok(())
    })?;
    if changed && let Some(ev) = event {
        events::record(shared, &obj, &ev);
    }
    Ok(obj)
}

/// The Event a controller emits for a transition (none for quiet no-change reconciliations).
fn event_for(
    kind: &str,
    before: Option<&Health>,
    after: &Health,
    new_revision: bool,
    obj: &Value,
    revision: &str,
) -> Option<EventSpec> {
    let (event_type, reason, message) = match after {
        Health::Failed {
            reason, message, ..
        } => ("Warning", reason.clone(), message.clone()),
        Health::Progressing => return None,
        Health::Ready => {
            let recovered = before.is_some_and(|b| *b != Health::Ready);
            let (reason, message) = success_event(kind, obj, new_revision, recovered)?;
            ("Normal", reason.to_string(), message)
        }
    };
    Some(EventSpec {
        event_type,
        reason,
        message,
        revision: Some(revision.to_string()),
    })
}

/// The reason and message of a successful reconciliation's Normal event: a Kustomization
/// reports every run; the others a new revision or a recovery only.
fn success_event(
    kind: &str,
    obj: &Value,
    new_revision: bool,
    recovered: bool,
) -> Option<(&'static str, String)> {
    let ready_msg = || {
        obj["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let changed = new_revision || recovered;
    match kind {
        "Kustomization" => {
            let interval = obj["spec"]["interval"].as_str().unwrap_or("10m0s");
            let message = format!("Reconciliation finished in 1.2s, next run in {interval}");
            Some(("ReconciliationSucceeded", message))
        }
        "HelmRelease" if changed => Some(("UpgradeSucceeded", ready_msg())),
        "HelmChart" if changed => Some(("ChartPullSucceeded", ready_msg())),
        "GitRepository" | "OCIRepository" | "Bucket" | "HelmRepository" if changed => {
            Some(("NewArtifact", ready_msg()))
        }
        "ImagePolicy" if new_revision => Some(("Succeeded", ready_msg())),
        "ImageUpdateAutomation" if new_revision => {
            let commit = obj["status"]["lastPushCommit"].as_str().unwrap_or_default();
            Some((
                "Succeeded",
                format!("pushed commit '{commit}' to branch 'main'"),
            ))
        }
        _ if recovered => Some(("Succeeded", ready_msg())),
        _ => None,
    }
}
