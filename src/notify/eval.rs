//! What a change (or a cluster's state) means for one rule: pure, so the engine's decisions are
//! unit-tested without a database. The engine feeds it the object's health before and after a
//! logged change, or a cluster's current state, and the rule's dedupe state for that object.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::rule::{Condition, RuleFilter};
use crate::flux::Health;

/// A cluster as rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A Flux object as rules see it.
#[derive(Debug, Clone, Copy)]
pub struct ObjectRef<'a> {
    /// Kind.
    pub kind: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
}

impl RuleFilter {
    /// Does the filter cover `object` in `cluster`? For cluster conditions (`object` `None`)
    /// only the cluster parts apply.
    pub fn matches(&self, cluster: &ClusterInfo, object: Option<ObjectRef<'_>>) -> bool {
        let id = cluster.id.to_string();
        let cluster_ok = (self.clusters.is_empty()
            || self.clusters.iter().any(|c| *c == cluster.name || *c == id))
            && self
                .cluster_labels
                .iter()
                .all(|(k, v)| cluster.labels.get(k) == Some(v));
        let Some(o) = object else {
            return cluster_ok;
        };
        cluster_ok
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == o.kind))
            && (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == o.namespace))
            && o.name.starts_with(&self.name_prefix)
    }
}

/// A rule's dedupe state for one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// `stillFailed`: failed, waiting for its minutes.
    Waiting,
    /// Notified; not sent again until it recovers.
    Firing,
}

/// What the engine does for one rule and one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send a failure (queue a `firing` item) and remember it (`firing`).
    Fire,
    /// Start the `stillFailed` timer (`waiting`).
    Wait,
    /// Send the resolve of a notified failure and forget it.
    Resolve,
    /// Forget a failure that was never sent (a blip shorter than `afterMinutes`).
    Forget,
    /// Send a `recovered` message (a `recovered` rule; some rule had notified a failure).
    Recover,
    /// Nothing.
    Nothing,
}

/// An object's health change as the change log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthChange {
    /// Before (`None`: first sight).
    pub before: Option<Health>,
    /// After (`None`: deleted).
    pub after: Option<Health>,
}

fn failing(h: Option<Health>) -> bool {
    matches!(h, Some(Health::Failed | Health::Stalled))
}

impl HealthChange {
    /// Ready again, or gone: a notified failure is over.
    pub fn recovered(self) -> bool {
        matches!(self.after, None | Some(Health::Ready))
    }
}

/// The step of an object condition. `any_firing`: some rule holds a `firing` state for the
/// object (what a `recovered` rule waits for).
pub fn object_step(
    condition: Condition,
    change: HealthChange,
    held: Option<Held>,
    any_firing: bool,
) -> Step {
    let became = |h: Health| change.after == Some(h) && change.before != Some(h);
    match (condition, held) {
        (Condition::Recovered, _) if change.recovered() && any_firing => Step::Recover,
        (_, Some(Held::Firing)) if change.recovered() => Step::Resolve,
        (_, Some(Held::Waiting)) if !failing(change.after) => Step::Forget,
        (Condition::Failed, None) if became(Health::Failed) => Step::Fire,
        (Condition::Stalled, None) if became(Health::Stalled) => Step::Fire,
        (Condition::StillFailed, None) if failing(change.after) => Step::Wait,
        _ => Step::Nothing,
    }
}

/// The cluster states that count as unreachable (nothing is watched).
fn unreachable(state: &str) -> bool {
    matches!(state, "unreachable" | "unauthorized" | "forbidden")
}

/// The step of a cluster condition for a cluster in `state` (`cluster_status.state`).
pub fn cluster_step(
    condition: Condition,
    state: &str,
    held: Option<Held>,
    any_firing: bool,
) -> Step {
    let ready = state == "ready";
    match (condition, held) {
        (Condition::ClusterRecovered, _) if ready && any_firing => Step::Recover,
        (_, Some(Held::Firing)) if ready => Step::Resolve,
        (Condition::ClusterUnreachable, None) if unreachable(state) => Step::Fire,
        (Condition::ClusterDegraded, None) if state == "degraded" => Step::Fire,
        _ => Step::Nothing,
    }
}

/// Does `condition` watch clusters (not objects)?
pub fn is_cluster_condition(condition: Condition) -> bool {
    matches!(
        condition,
        Condition::ClusterUnreachable | Condition::ClusterDegraded | Condition::ClusterRecovered
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(before: Option<Health>, after: Option<Health>) -> HealthChange {
        HealthChange { before, after }
    }

    const READY: Option<Health> = Some(Health::Ready);
    const FAILED: Option<Health> = Some(Health::Failed);
    const STALLED: Option<Health> = Some(Health::Stalled);
    const PROGRESSING: Option<Health> = Some(Health::Progressing);

    #[test]
    fn a_failure_fires_once_and_resolves_when_ready_or_deleted() {
        let c = Condition::Failed;
        assert_eq!(
            object_step(c, change(READY, FAILED), None, false),
            Step::Fire
        );
        assert_eq!(
            object_step(c, change(None, FAILED), None, false),
            Step::Fire
        );
        // Already firing (dedupe), or still failed with another message: nothing.
        let held = Some(Held::Firing);
        assert_eq!(
            object_step(c, change(READY, FAILED), held, true),
            Step::Nothing
        );
        assert_eq!(
            object_step(c, change(FAILED, FAILED), None, false),
            Step::Nothing
        );
        assert_eq!(
            object_step(c, change(FAILED, PROGRESSING), held, true),
            Step::Nothing
        );
        assert_eq!(
            object_step(c, change(FAILED, READY), held, true),
            Step::Resolve
        );
        assert_eq!(
            object_step(c, change(FAILED, None), held, true),
            Step::Resolve
        );
        assert_eq!(
            object_step(c, change(FAILED, READY), None, false),
            Step::Nothing
        );
    }

    #[test]
    fn stalled_is_its_own_condition() {
        let c = Condition::Stalled;
        assert_eq!(
            object_step(c, change(READY, FAILED), None, false),
            Step::Nothing
        );
        assert_eq!(
            object_step(c, change(FAILED, STALLED), None, false),
            Step::Fire
        );
    }

    #[test]
    fn still_failed_waits_and_forgets_blips() {
        let c = Condition::StillFailed;
        assert_eq!(
            object_step(c, change(READY, FAILED), None, false),
            Step::Wait
        );
        let waiting = Some(Held::Waiting);
        assert_eq!(
            object_step(c, change(FAILED, STALLED), waiting, false),
            Step::Nothing
        );
        assert_eq!(
            object_step(c, change(FAILED, READY), waiting, false),
            Step::Forget
        );
        assert_eq!(
            object_step(c, change(FAILED, PROGRESSING), waiting, false),
            Step::Forget
        );
        let firing = Some(Held::Firing);
        assert_eq!(
            object_step(c, change(FAILED, READY), firing, true),
            Step::Resolve
        );
    }

    #[test]
    fn recovered_needs_a_notified_failure() {
        let c = Condition::Recovered;
        assert_eq!(
            object_step(c, change(FAILED, READY), None, true),
            Step::Recover
        );
        assert_eq!(
            object_step(c, change(FAILED, READY), None, false),
            Step::Nothing
        );
        assert_eq!(
            object_step(c, change(READY, FAILED), None, true),
            Step::Nothing
        );
    }

    #[test]
    fn clusters_fire_on_their_state_and_resolve_when_ready() {
        let u = Condition::ClusterUnreachable;
        assert_eq!(cluster_step(u, "unreachable", None, false), Step::Fire);
        assert_eq!(cluster_step(u, "forbidden", None, false), Step::Fire);
        assert_eq!(
            cluster_step(u, "unreachable", Some(Held::Firing), true),
            Step::Nothing
        );
        assert_eq!(
            cluster_step(u, "ready", Some(Held::Firing), true),
            Step::Resolve
        );
        assert_eq!(
            cluster_step(u, "connecting", Some(Held::Firing), true),
            Step::Nothing
        );
        let d = Condition::ClusterDegraded;
        assert_eq!(cluster_step(d, "degraded", None, false), Step::Fire);
        assert_eq!(cluster_step(d, "unreachable", None, false), Step::Nothing);
        let r = Condition::ClusterRecovered;
        assert_eq!(cluster_step(r, "ready", None, true), Step::Recover);
        assert_eq!(cluster_step(r, "ready", None, false), Step::Nothing);
    }

    #[test]
    fn filters_match_clusters_by_name_id_and_labels_and_objects_by_kind_namespace_prefix() {
        let cluster = ClusterInfo {
            id: Uuid::from_u128(1),
            name: "prod-eu".into(),
            labels: [("env".to_string(), "prod".to_string())].into(),
        };
        let web = ObjectRef {
            kind: "Kustomization",
            namespace: "apps",
            name: "web-frontend",
        };
        assert!(RuleFilter::default().matches(&cluster, Some(web)));
        let f = RuleFilter {
            clusters: vec![Uuid::from_u128(1).to_string()],
            cluster_labels: [("env".to_string(), "prod".to_string())].into(),
            kinds: vec!["Kustomization".into()],
            namespaces: vec!["apps".into()],
            name_prefix: "web".into(),
        };
        assert!(f.matches(&cluster, Some(web)));
        assert!(f.matches(&cluster, None));
        let other = RuleFilter {
            cluster_labels: [("env".to_string(), "dev".to_string())].into(),
            ..RuleFilter::default()
        };
        assert!(!other.matches(&cluster, None));
        let api = ObjectRef { name: "api", ..web };
        assert!(!f.matches(&cluster, Some(api)));
        let by_name = RuleFilter {
            clusters: vec!["prod-eu".into()],
            kinds: vec!["HelmRelease".into()],
            ..RuleFilter::default()
        };
        assert!(!by_name.matches(&cluster, Some(web)));
        assert!(by_name.matches(&cluster, None));
    }
}
