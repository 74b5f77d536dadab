//! What a rollout is made of: the revisions a consumer of a source (a Kustomization or a
//! HelmRelease) has attempted and applied, read from one snapshot, and the chart that, with its
//! source's identity ([`super::source_identity`]), names what a HelmRelease rolls out.
//!
//! A consumer has *applied* a revision when it is Ready at it: health `ready` with that
//! revision as its applied one (`status.lastAppliedRevision`, a HelmRelease's deployed chart
//! version). It has *attempted* its `lastAttemptedRevision` (or, without one, its applied
//! revision), Ready or not.

use serde_json::Value;

use super::conditions::str_at;
use super::snapshot::ResourceSnapshot;
use super::vocabulary::Health;

/// The kinds that consume a source and apply its revisions.
pub const CONSUMER_KINDS: &[&str] = &["Kustomization", "HelmRelease"];

/// The revisions one snapshot of a consumer tells about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation<'a> {
    /// The revision it attempted last (seen at least once).
    pub attempted: Option<&'a str>,
    /// The revision it is Ready at (applied), if Ready.
    pub applied: Option<&'a str>,
}

/// Whether `kind` of `group` consumes sources (a Flux Kustomization or HelmRelease).
pub fn is_consumer(group: &str, kind: &str) -> bool {
    CONSUMER_KINDS.contains(&kind) && group.ends_with("fluxcd.io")
}

/// The revisions `s` attempted and applied; `None` for anything but a consumer (workloads
/// included) and for a consumer that names no revision yet.
pub fn observe(s: &ResourceSnapshot) -> Option<Observation<'_>> {
    if s.workload.is_some() || !is_consumer(&s.api_group, &s.kind) {
        return None;
    }
    let revision = s.revision.as_deref();
    let applied = revision.filter(|_| s.health == Health::Ready);
    let attempted = s.last_attempted_revision.as_deref().or(revision);
    if attempted.is_none() && applied.is_none() {
        return None;
    }
    Some(Observation { attempted, applied })
}

/// The chart a HelmRelease installs from its source, when it names one by template
/// (`spec.chart.spec.chart`: a chart name in a Helm repository, a path in a Git repository or
/// bucket); `None` for a HelmRelease whose `chartRef` is the chart itself (an OCIRepository
/// or a HelmChart) and for other kinds.
pub fn chart(obj: &Value) -> Option<String> {
    if str_at(obj, "/kind").as_deref() != Some("HelmRelease") {
        return None;
    }
    str_at(obj, "/spec/chart/spec/chart")
}

/// What a consumer rolls out: its source's identity, with the chart for a HelmRelease that
/// names one (`…|chart=podinfo`).
pub fn rollout_source(identity: &str, chart: Option<&str>) -> String {
    match chart {
        Some(c) => format!("{identity}|chart={c}"),
        None => identity.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::snapshot;
    use crate::flux::testdata::fixture;

    #[test]
    fn a_ready_kustomization_has_applied_its_revision() {
        let s = snapshot(&fixture("kustomization-ready")).unwrap();
        let o = observe(&s).unwrap();
        assert_eq!(o.applied, s.revision.as_deref());
        assert!(o.applied.is_some());
        assert_eq!(o.attempted, s.last_attempted_revision.as_deref());
    }

    #[test]
    fn a_failing_kustomization_attempted_a_revision_it_has_not_applied() {
        let s = snapshot(&fixture("kustomization-health-check-failed")).unwrap();
        let o = observe(&s).unwrap();
        assert_eq!(o.applied, None);
        assert!(o.attempted.is_some());
    }

    #[test]
    fn a_ready_helmrelease_has_applied_its_chart_version_and_names_its_chart() {
        let obj = fixture("helmrelease-ready");
        let s = snapshot(&obj).unwrap();
        let o = observe(&s).unwrap();
        assert_eq!(o.applied, s.revision.as_deref());
        assert!(o.applied.is_some());
        assert!(chart(&obj).is_some());
        assert_eq!(chart(&fixture("helmrelease-oci-chartref")), None);
    }

    #[test]
    fn sources_and_other_kinds_are_no_consumers() {
        for name in ["gitrepository-ready", "helmchart-ready", "alert-v1beta3"] {
            let s = snapshot(&fixture(name)).unwrap();
            assert_eq!(observe(&s), None, "{name}");
        }
        assert!(!is_consumer("apps", "Kustomization"));
        assert!(is_consumer("kustomize.toolkit.fluxcd.io", "Kustomization"));
        assert_eq!(chart(&fixture("kustomization-ready")), None);
    }

    #[test]
    fn a_rollout_source_adds_the_chart_to_the_identity() {
        assert_eq!(rollout_source("Git|u|b", None), "Git|u|b");
        assert_eq!(
            rollout_source("HelmRepository|u", Some("podinfo")),
            "HelmRepository|u|chart=podinfo"
        );
    }
}
