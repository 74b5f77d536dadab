use super::*;
use crate::flux::testdata::{fixture, flux_objects};
use serde_json::json;

fn health_of(name: &str) -> StatusSummary {
    summarize(&fixture(name))
}

#[test]
fn every_fixture_gets_the_health_a_flux_user_would_expect() {
    let expected = [
        ("alert-v1beta2-ready", Health::Ready),
        ("alert-v1beta3", Health::Ready),
        ("bucket-ready", Health::Ready),
        ("bucket-suspended", Health::Suspended),
        ("gitrepository-auth-failed", Health::Failed),
        ("gitrepository-ready", Health::Ready),
        ("gitrepository-reconciling", Health::Progressing),
        ("helmchart-pull-failed", Health::Stalled),
        ("helmchart-ready", Health::Ready),
        ("helmrelease-artifact-failed", Health::Failed),
        ("helmrelease-install-failed", Health::Failed),
        ("helmrelease-oci-chartref", Health::Ready),
        ("helmrelease-ready", Health::Ready),
        ("helmrelease-ready-forced", Health::Ready),
        ("helmrelease-ready-suspended", Health::Suspended),
        ("helmrelease-suspended", Health::Suspended),
        ("helmrelease-upgrade-stalled", Health::Stalled),
        ("helmrepository-oci-static", Health::Ready),
        ("helmrepository-ready", Health::Ready),
        ("imagepolicy-v1-ready", Health::Ready),
        ("imagepolicy-v1beta2-ready", Health::Ready),
        ("imagerepository-auth-failed", Health::Failed),
        ("imagerepository-ready", Health::Ready),
        ("imageupdateautomation-ready", Health::Ready),
        ("kustomization-build-failed", Health::Failed),
        ("kustomization-dependency-not-ready", Health::Failed),
        ("kustomization-first-reconcile", Health::Progressing),
        ("kustomization-health-check-failed", Health::Failed),
        ("kustomization-new-generation", Health::Progressing),
        ("kustomization-progressing", Health::Progressing),
        ("kustomization-ready", Health::Ready),
        ("kustomization-ready-next", Health::Ready),
        ("ocirepository-ready", Health::Ready),
        ("ocirepository-stalled", Health::Stalled),
        ("provider-v1beta3", Health::Ready),
        ("receiver-ready", Health::Ready),
    ];
    let objects = flux_objects();
    assert_eq!(
        objects.len(),
        expected.len(),
        "a fixture lacks an expectation"
    );
    for (name, obj) in objects {
        let (_, want) = expected.iter().find(|(n, _)| *n == name).expect(name);
        assert_eq!(summarize(&obj).health, *want, "{name}");
    }
}

#[test]
fn helmrelease_install_failed_is_failed_with_reason() {
    let s = health_of("helmrelease-install-failed");
    assert_eq!(s.health, Health::Failed);
    assert_eq!(s.reason.as_deref(), Some("InstallFailed"));
    let message = s.message.expect("message");
    assert!(
        message.starts_with("Helm install failed for release apps/redis"),
        "{message}"
    );
}

#[test]
fn failure_being_retried_is_failed_not_progressing() {
    // Flux keeps Reconciling=True (ProgressingWithRetry) next to Ready=False.
    let s = health_of("kustomization-health-check-failed");
    assert_eq!(s.health, Health::Failed);
    assert_eq!(s.reason.as_deref(), Some("HealthCheckFailed"));
    let s = health_of("gitrepository-auth-failed");
    assert_eq!(
        (s.health, s.reason.as_deref()),
        (Health::Failed, Some("AuthenticationFailed"))
    );
}

#[test]
fn kustomization_build_failed_reports_the_build_error() {
    let s = health_of("kustomization-build-failed");
    assert_eq!(s.reason.as_deref(), Some("BuildFailed"));
    assert!(
        s.message
            .is_some_and(|m| m.starts_with("kustomize build failed"))
    );
}

#[test]
fn helmrelease_artifact_failed_is_failed_with_reason() {
    let s = health_of("helmrelease-artifact-failed");
    assert_eq!(
        (s.health, s.reason.as_deref()),
        (Health::Failed, Some("ArtifactFailed"))
    );
}

#[test]
fn stalled_wins_over_ready_false_and_reports_the_stalled_reason() {
    let s = health_of("helmrelease-upgrade-stalled");
    assert_eq!(s.health, Health::Stalled);
    assert_eq!(s.reason.as_deref(), Some("RetriesExceeded"));
    assert_eq!(
        s.message.as_deref(),
        Some("Failed to upgrade after 4 attempt(s)")
    );
    assert_eq!(
        health_of("ocirepository-stalled").reason.as_deref(),
        Some("URLInvalid")
    );
}

#[test]
fn ready_object_reports_ready_reason_time_and_generations() {
    let s = health_of("kustomization-ready");
    assert_eq!(s.health, Health::Ready);
    assert_eq!(s.reason.as_deref(), Some("ReconciliationSucceeded"));
    assert_eq!(
        s.last_transition_at.map(|t| t.to_rfc3339()),
        Some("2024-05-01T10:00:09+00:00".to_owned())
    );
    assert_eq!((s.generation, s.observed_generation), (Some(1), Some(1)));
}

#[test]
fn reconciling_object_is_progressing_with_the_reconciling_message() {
    let s = health_of("kustomization-progressing");
    assert_eq!(
        (s.health, s.reason.as_deref()),
        (Health::Progressing, Some("Progressing"))
    );
    assert_eq!(s.message.as_deref(), Some("Reconciliation in progress"));
}

#[test]
fn new_generation_not_yet_observed_is_progressing_despite_ready_true() {
    let s = health_of("kustomization-new-generation");
    assert_eq!(s.health, Health::Progressing);
    assert_eq!((s.generation, s.observed_generation), (Some(3), Some(2)));
    assert_eq!(
        s.message.as_deref(),
        Some("waiting for the controller to observe generation 3 (last observed 2)")
    );
}

#[test]
fn fresh_object_with_default_observed_generation_is_progressing() {
    let s = health_of("kustomization-first-reconcile");
    assert_eq!(
        (s.health, s.observed_generation),
        (Health::Progressing, Some(-1))
    );
    assert!(s.message.is_some_and(|m| m.contains("first time")));
}

#[test]
fn ready_condition_observed_generation_counts_when_status_has_none() {
    let obj = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"generation": 4},
        "status": {"conditions": [{"type": "Ready", "status": "True", "observedGeneration": 3}]}
    });
    let s = summarize(&obj);
    assert_eq!(
        (s.health, s.observed_generation),
        (Health::Progressing, Some(3))
    );
}

#[test]
fn suspended_object_is_suspended_with_the_cli_reason_even_if_behind() {
    let s = health_of("bucket-suspended");
    assert_eq!(s.health, Health::Suspended);
    assert_eq!(s.reason.as_deref(), Some("Suspended"));
    assert_eq!(
        s.message.as_deref(),
        Some("storage migration, ticket OPS-1234")
    );
}

#[test]
fn static_notification_objects_without_status_are_ready() {
    for name in [
        "alert-v1beta3",
        "provider-v1beta3",
        "helmrepository-oci-static",
    ] {
        let s = health_of(name);
        assert_eq!((s.health, s.reason), (Health::Ready, None), "{name}");
    }
}

#[test]
fn suspended_static_object_is_suspended() {
    let mut alert = fixture("alert-v1beta3");
    alert["spec"]["suspend"] = json!(true);
    assert_eq!(summarize(&alert).health, Health::Suspended);
}

#[test]
fn object_without_status_is_unknown() {
    let obj = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "x", "generation": 1}, "spec": {}
    });
    assert_eq!(summarize(&obj).health, Health::Unknown);
    let odd = json!({"kind": "GitRepository", "status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}});
    assert_eq!(summarize(&odd).health, Health::Unknown);
}

#[test]
fn annotation_pointer_escapes_slashes() {
    let obj = fixture("bucket-suspended");
    let pointer = annotation_pointer(SUSPEND_REASON_ANNOTATION);
    assert_eq!(
        pointer,
        "/metadata/annotations/suspend.toolkit.fluxcd.io~1reason"
    );
    assert!(obj.pointer(&pointer).is_some());
}
