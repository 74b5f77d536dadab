//! The JSON merge-patches the `flux` CLI sends to act on objects, and how to tell that a
//! controller has handled a request.
//!
//! A request token is any string; the CLI uses the time in Go's `RFC3339Nano` layout
//! ([`go_rfc3339_nano`]). Controllers copy a handled token into
//! `status.lastHandledReconcileAt` (and, for HelmRelease, `lastHandledForceAt` /
//! `lastHandledResetAt`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::conditions::str_at;
use super::health::{is_static, is_suspended};
use super::kinds;
use super::refs::{SourceRef, source_ref};
use super::{
    Error, FORCE_REQUEST_ANNOTATION, RECONCILE_REQUEST_ANNOTATION, RESET_REQUEST_ANNOTATION,
    Result, SUSPEND_REASON_ANNOTATION,
};

/// Something a user can ask of a Flux object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `flux reconcile`: annotate `reconcile.fluxcd.io/requestedAt`.
    Reconcile,
    /// `flux suspend`: `spec.suspend: true`.
    Suspend,
    /// `flux resume`: `spec.suspend: false`.
    Resume,
    /// `flux reconcile hr --force`: one-off forced install/upgrade.
    Force,
    /// `flux reconcile hr --reset`: reset the failure counters.
    Reset,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 5] = [
        Action::Reconcile,
        Action::Suspend,
        Action::Resume,
        Action::Force,
        Action::Reset,
    ];

    /// The lowercase name used in URLs and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Reconcile => "reconcile",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Force => "force",
            Action::Reset => "reset",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownAction(s.to_owned()))
    }
}

/// Whether the action applies to the kind (named case-insensitively): reconcile for every
/// kind a controller reconciles (not the static Alert/Provider), suspend/resume for kinds
/// with `spec.suspend`, force/reset for HelmRelease only.
pub fn allowed(kind: &str, action: Action) -> bool {
    let Some(k) = kinds::by_kind(kind) else {
        return false;
    };
    match action {
        Action::Reconcile => !k.static_kind,
        Action::Suspend | Action::Resume => k.suspendable,
        Action::Force | Action::Reset => k.kind == "HelmRelease",
    }
}

/// Checks an action against the object as the CLI does: the kind must allow it, and a
/// reconcile (also forced or reset) is refused on a suspended or static object.
pub fn check(obj: &Value, action: Action) -> Result<()> {
    let kind = str_at(obj, "/kind").ok_or(Error::MissingField("kind"))?;
    if !allowed(&kind, action) {
        return Err(Error::NotAllowed {
            action: action.as_str(),
            kind,
        });
    }
    let reconciles = matches!(action, Action::Reconcile | Action::Force | Action::Reset);
    if reconciles && is_suspended(obj) {
        return Err(Error::Suspended);
    }
    if reconciles && is_static(obj) {
        return Err(Error::Static);
    }
    Ok(())
}

/// The merge-patch for an action; `reason` is used by [`Action::Suspend`] only.
pub fn patch(action: Action, token: &str, reason: Option<&str>) -> Value {
    match action {
        Action::Reconcile => reconcile(token),
        Action::Suspend => suspend(reason),
        Action::Resume => resume(token),
        Action::Force => force(token),
        Action::Reset => reset(token),
    }
}

/// `flux reconcile`: sets `reconcile.fluxcd.io/requestedAt` to the token.
pub fn reconcile(token: &str) -> Value {
    annotations_patch([(RECONCILE_REQUEST_ANNOTATION, Value::from(token))])
}

/// `flux suspend [--reason]`: `spec.suspend: true`, and the reason, when given, in the
/// `suspend.toolkit.fluxcd.io/reason` annotation as the CLI records it.
pub fn suspend(reason: Option<&str>) -> Value {
    let mut patch = match reason.filter(|r| !r.is_empty()) {
        Some(r) => annotations_patch([(SUSPEND_REASON_ANNOTATION, Value::from(r))]),
        None => json!({}),
    };
    patch["spec"] = json!({"suspend": true});
    patch
}

/// `flux resume`: `spec.suspend: false`. Beyond the CLI (which sets only that and then
/// waits for readiness), it also requests a reconcile with the token, so the caller can
/// tell when the controller has handled it ([`handled`]), and removes the suspend reason,
/// which would otherwise linger on a running object.
pub fn resume(token: &str) -> Value {
    let mut patch = annotations_patch([
        (RECONCILE_REQUEST_ANNOTATION, Value::from(token)),
        (SUSPEND_REASON_ANNOTATION, Value::Null),
    ]);
    patch["spec"] = json!({"suspend": false});
    patch
}

/// `flux reconcile hr --force`: helm-controller forces a release only when `forceAt`
/// equals `requestedAt`, so both carry the token.
pub fn force(token: &str) -> Value {
    annotations_patch([
        (RECONCILE_REQUEST_ANNOTATION, Value::from(token)),
        (FORCE_REQUEST_ANNOTATION, Value::from(token)),
    ])
}

/// `flux reconcile hr --reset`: the failure counters are reset only when `resetAt`
/// equals `requestedAt`, so both carry the token.
pub fn reset(token: &str) -> Value {
    annotations_patch([
        (RECONCILE_REQUEST_ANNOTATION, Value::from(token)),
        (RESET_REQUEST_ANNOTATION, Value::from(token)),
    ])
}

fn annotations_patch<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let annotations: Map<String, Value> =
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    json!({"metadata": {"annotations": annotations}})
}

/// What `flux reconcile … --with-source` patches: the sources first (upstream first), each
/// with the same reconcile request, then the object itself.
#[derive(Debug, Clone, PartialEq)]
pub struct WithSource {
    /// Objects to annotate before the object, upstream first.
    pub sources: Vec<SourceRef>,
    /// The patch for each source.
    pub source_patch: Value,
    /// The object's own patch.
    pub patch: Value,
}

/// The patches of `flux reconcile --with-source`. For a HelmRelease built from a chart
/// template the chain is the chart's source, then the HelmChart the controller generated
/// (`status.helmChart`, else `<namespace>-<name>` in the source's namespace), as the CLI
/// reconciles both. Fails when the object cannot be reconciled or has no source.
pub fn reconcile_with_source(obj: &Value, token: &str) -> Result<WithSource> {
    check(obj, Action::Reconcile)?;
    let kind = str_at(obj, "/kind").unwrap_or_default();
    let source = source_ref(obj)
        .filter(|_| kind != "Alert")
        .ok_or(Error::NoSource)?;
    let mut sources = vec![source.clone()];
    let chart_template = obj.pointer("/spec/chartRef").is_none();
    if kind == "HelmRelease" && chart_template {
        sources.push(generated_helm_chart(obj, &source));
    }
    Ok(WithSource {
        sources,
        source_patch: reconcile(token),
        patch: reconcile(token),
    })
}

fn generated_helm_chart(release: &Value, source: &SourceRef) -> SourceRef {
    let from_status = str_at(release, "/status/helmChart").and_then(|s| {
        s.split_once('/')
            .map(|(ns, n)| (ns.to_owned(), n.to_owned()))
    });
    let (namespace, name) = from_status.unwrap_or_else(|| {
        let ns = str_at(release, "/metadata/namespace").unwrap_or_default();
        let name = str_at(release, "/metadata/name").unwrap_or_default();
        (source.namespace.clone(), format!("{ns}-{name}"))
    });
    SourceRef {
        api_version: None,
        kind: "HelmChart".to_owned(),
        namespace,
        name,
    }
}

/// Whether the controller has handled the reconcile request `token`
/// (`status.lastHandledReconcileAt == token`). Force and reset requests carry the same
/// token in `requestedAt`, so this covers them too; see [`handled_action`] to be exact.
pub fn handled(obj: &Value, token: &str) -> bool {
    str_at(obj, "/status/lastHandledReconcileAt").as_deref() == Some(token)
}

/// Whether an action with `token` has taken effect: suspend as soon as `spec.suspend` is
/// true; reconcile and resume when [`handled`]; force and reset when, in addition,
/// `lastHandledForceAt` / `lastHandledResetAt` equal the token.
pub fn handled_action(obj: &Value, action: Action, token: &str) -> bool {
    let status_is =
        |field: &str| str_at(obj, &format!("/status/{field}")).as_deref() == Some(token);
    match action {
        Action::Suspend => is_suspended(obj),
        Action::Reconcile | Action::Resume => handled(obj, token),
        Action::Force => handled(obj, token) && status_is("lastHandledForceAt"),
        Action::Reset => handled(obj, token) && status_is("lastHandledResetAt"),
    }
}

/// A request token in the layout the `flux` CLI uses: Go's `time.RFC3339Nano`, i.e.
/// RFC 3339 with the fraction's trailing zeros (and an all-zero fraction) removed.
pub fn go_rfc3339_nano(at: DateTime<Utc>) -> String {
    let base = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = at.nanosecond() % 1_000_000_000;
    if nanos == 0 {
        return format!("{base}Z");
    }
    let fraction = format!("{nanos:09}");
    format!("{base}.{}Z", fraction.trim_end_matches('0'))
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
