//! Health of a Flux object from `spec.suspend`, its conditions and generations.
//!
//! The rules, in order (first match wins):
//! 1. `spec.suspend: true` → [`Health::Suspended`]; the message is the reason given with
//!    `flux suspend --reason` (annotation `suspend.toolkit.fluxcd.io/reason`), if any.
//! 2. A *static* object without a `Ready` condition → [`Health::Ready`]. Static objects have
//!    no reconciler status in Flux 2.x: notification `Alert`/`Provider` v1beta3 have no
//!    `status` at all, and an OCI `HelmRepository` (`spec.type: oci`) is a data container
//!    whose status carries no conditions. Nothing can be wrong with them that a status
//!    would report, so they count as ready. Older (v1beta2) objects that do carry a `Ready`
//!    condition are judged by the rules below.
//! 3. `Stalled=True` → [`Health::Stalled`] (the controller gave up until the spec changes).
//! 4. `observedGeneration < metadata.generation` → [`Health::Progressing`]: the controller
//!    has not acted on the latest spec, so any `Ready` verdict is about an older one. The
//!    observed generation is `status.observedGeneration`, else the `Ready` condition's.
//!    A fresh object has `status: {observedGeneration: -1}` (the CRDs' default), so it is
//!    Progressing until first reconciled.
//! 5. `Ready=False` → [`Health::Failed`], *even when* `Reconciling=True`: Flux keeps
//!    `Reconciling=True` (reason `ProgressingWithRetry`) on every failure it will retry, and
//!    keeps `Ready=False` while a retry runs, so kstatus' "Reconciling wins" would hide
//!    every failing object as progressing.
//! 6. `Reconciling=True` → [`Health::Progressing`] (Flux removes it when a run succeeds).
//! 7. `Ready=True` → [`Health::Ready`]; `Ready=Unknown` → [`Health::Progressing`].
//! 8. Anything else — no status, no conditions, an odd `Ready` status → [`Health::Unknown`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SUSPEND_REASON_ANNOTATION;
use super::conditions::{Condition, conditions, find, str_at};
use super::kinds;
use super::vocabulary::Health;

/// What [`summarize`] concludes about an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSummary {
    /// The verdict.
    pub health: Health,
    /// Reason of the condition behind the verdict, e.g. `InstallFailed`.
    pub reason: Option<String>,
    /// Message of the condition behind the verdict.
    pub message: Option<String>,
    /// When that condition last changed.
    pub last_transition_at: Option<DateTime<Utc>>,
    /// `status.observedGeneration`, else the `Ready` condition's.
    pub observed_generation: Option<i64>,
    /// `metadata.generation`.
    pub generation: Option<i64>,
}

/// Whether `spec.suspend` is true.
pub fn is_suspended(obj: &Value) -> bool {
    obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)
}

/// Whether the object has no reconciler status by design (see the module docs, rule 2).
pub fn is_static(obj: &Value) -> bool {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    match kinds::by_api_version_kind(api_version, kind) {
        Some(k) if k.static_kind => true,
        Some(k) if k.kind == "HelmRepository" => {
            obj.pointer("/spec/type").and_then(Value::as_str) == Some("oci")
        }
        _ => false,
    }
}

/// Judges an object's health by the rules in the module docs.
pub fn summarize(obj: &Value) -> StatusSummary {
    let conds = conditions(obj);
    let ready = find(&conds, "Ready");
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = obj
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .or_else(|| ready.and_then(|c| c.observed_generation));
    let (health, basis) = verdict(obj, &conds, generation, observed);
    let mut summary = StatusSummary {
        health,
        reason: None,
        message: None,
        last_transition_at: ready.and_then(|c| c.last_transition_time),
        observed_generation: observed,
        generation,
    };
    match basis {
        Basis::Condition(c) => {
            summary.reason.clone_from(&c.reason);
            summary.message.clone_from(&c.message);
            summary.last_transition_at = c.last_transition_time.or(summary.last_transition_at);
        }
        Basis::Suspended => {
            summary.reason = Some("Suspended".to_owned());
            summary.message = str_at(obj, &annotation_pointer(SUSPEND_REASON_ANNOTATION));
        }
        Basis::Unobserved => {
            summary.message = Some(unobserved_message(generation, observed));
        }
        Basis::Nothing => {}
    }
    summary
}

/// What a verdict was drawn from, to fill in reason and message.
enum Basis<'a> {
    Condition(&'a Condition),
    Suspended,
    Unobserved,
    Nothing,
}

fn verdict<'a>(
    obj: &Value,
    conds: &'a [Condition],
    generation: Option<i64>,
    observed: Option<i64>,
) -> (Health, Basis<'a>) {
    let ready = find(conds, "Ready");
    let reconciling = find(conds, "Reconciling").filter(|c| c.is_true());
    if is_suspended(obj) {
        return (Health::Suspended, Basis::Suspended);
    }
    if ready.is_none() && is_static(obj) {
        return (Health::Ready, Basis::Nothing);
    }
    if let Some(stalled) = find(conds, "Stalled").filter(|c| c.is_true()) {
        return (Health::Stalled, Basis::Condition(stalled));
    }
    if matches!((generation, observed), (Some(g), Some(o)) if o < g) {
        return match reconciling {
            Some(c) => (Health::Progressing, Basis::Condition(c)),
            None => (Health::Progressing, Basis::Unobserved),
        };
    }
    match (ready, reconciling) {
        (Some(r), _) if r.is_false() => (Health::Failed, Basis::Condition(r)),
        (_, Some(c)) => (Health::Progressing, Basis::Condition(c)),
        (Some(r), None) if r.is_true() => (Health::Ready, Basis::Condition(r)),
        (Some(r), None) if r.status == "Unknown" => (Health::Progressing, Basis::Condition(r)),
        _ => (Health::Unknown, Basis::Nothing),
    }
}

fn unobserved_message(generation: Option<i64>, observed: Option<i64>) -> String {
    match (generation, observed) {
        (Some(g), Some(o)) if o >= 0 => {
            format!("waiting for the controller to observe generation {g} (last observed {o})")
        }
        _ => "waiting for the controller to reconcile the object for the first time".to_owned(),
    }
}

/// JSON pointer to an annotation; `/` in the key is escaped as `~1` (RFC 6901).
pub(crate) fn annotation_pointer(key: &str) -> String {
    format!(
        "/metadata/annotations/{}",
        key.replace('~', "~0").replace('/', "~1")
    )
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
