use super::*;
use crate::flux::testdata::{fixture, flux_objects};
use serde_json::json;

#[test]
fn sanitize_removes_managed_fields_and_the_last_applied_annotation() {
    let ks = fixture("kustomization-ready");
    assert!(ks.to_string().contains("hunter2-do-not-leak"));
    let clean = sanitize(&ks);
    assert!(clean.pointer("/metadata/managedFields").is_none());
    let annotations = clean
        .pointer("/metadata/annotations")
        .expect("annotations kept");
    assert!(annotations.get(LAST_APPLIED_ANNOTATION).is_none());
    assert_eq!(annotations.get("fluxcd.io/team"), Some(&json!("platform")));
    // The spec is the user's own and stays; the leak was the annotation's copy.
    let leaks = clean.to_string().matches("hunter2-do-not-leak").count();
    assert_eq!(leaks, 1);
    assert_eq!(clean.get("status"), ks.get("status"));
}

#[test]
fn sanitize_drops_an_annotations_map_it_empties() {
    let repo = sanitize(&fixture("gitrepository-ready"));
    assert!(repo.pointer("/metadata/annotations").is_none());
    assert!(repo.pointer("/metadata/managedFields").is_none());
    assert_eq!(repo.pointer("/metadata/name"), Some(&json!("flux-system")));
}

#[test]
fn sanitize_leaves_objects_without_metadata_alone() {
    let odd = json!({"kind": "Thing", "metadata": "not an object"});
    assert_eq!(sanitize(&odd), odd);
}

#[test]
fn helmrelease_snapshot_carries_identity_health_revision_and_references() {
    let s = snapshot(&fixture("helmrelease-ready")).expect("snapshot");
    assert_eq!(s.api_group, "helm.toolkit.fluxcd.io");
    assert_eq!(s.api_version, "v2");
    assert_eq!(
        (s.kind.as_str(), s.namespace.as_str(), s.name.as_str()),
        ("HelmRelease", "apps", "podinfo")
    );
    assert_eq!(
        s.uid.as_deref(),
        Some("9d8c7b6a-5f4e-4d3c-8b2a-190f8e7d6c5b")
    );
    assert_eq!(s.resource_version.as_deref(), Some("919460"));
    assert_eq!((s.generation, s.observed_generation), (Some(4), Some(4)));
    assert_eq!(s.health, Health::Ready);
    assert_eq!(s.reason.as_deref(), Some("UpgradeSucceeded"));
    assert_eq!(s.revision.as_deref(), Some("6.5.4"));
    assert!(!s.suspended);
    assert_eq!(
        s.source_ref.map(|r| r.kind),
        Some("HelmRepository".to_owned())
    );
    assert_eq!(s.depends_on.len(), 2);
    assert_eq!(
        s.last_handled_reconcile_at.as_deref(),
        Some("2024-05-01T10:05:00.123456789Z")
    );
    assert!(s.last_transition_at.is_some());
}

#[test]
fn suspended_snapshot_is_flagged_and_uses_the_served_version() {
    let s = snapshot(&fixture("helmrelease-suspended")).expect("snapshot");
    assert!(s.suspended);
    assert_eq!(s.health, Health::Suspended);
    assert_eq!(s.api_version, "v2beta2");
}

#[test]
fn every_flux_fixture_snapshots_without_secrets_or_managed_fields() {
    for (name, obj) in flux_objects() {
        let s = snapshot(&obj).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            s.object.pointer("/metadata/managedFields").is_none(),
            "{name}"
        );
        assert!(
            !s.object.to_string().contains(LAST_APPLIED_ANNOTATION),
            "{name}"
        );
        assert!(
            s.object.pointer("/metadata/resourceVersion").is_none()
                && s.resource_version
                    == obj["metadata"]["resourceVersion"]
                        .as_str()
                        .map(String::from),
            "{name}: the resourceVersion is kept apart from the content"
        );
        assert!(!s.namespace.is_empty(), "{name}");
    }
}

#[test]
fn snapshot_serialises_health_in_lowercase() {
    let s = snapshot(&fixture("helmrelease-install-failed")).expect("snapshot");
    let value = serde_json::to_value(&s).expect("json");
    assert_eq!(value["health"], json!("failed"));
    let back: ResourceSnapshot = serde_json::from_value(value).expect("round trip");
    assert_eq!(back, s);
}

#[test]
fn snapshot_rejects_objects_missing_identity() {
    let no_kind =
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "metadata": {"name": "a"}});
    assert_eq!(snapshot(&no_kind), Err(Error::MissingField("kind")));
    let no_name = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {}});
    assert_eq!(
        snapshot(&no_name),
        Err(Error::MissingField("metadata.name"))
    );
    let no_version = json!({"kind": "Kustomization", "metadata": {"name": "a"}});
    assert_eq!(
        snapshot(&no_version),
        Err(Error::MissingField("apiVersion"))
    );
}

#[test]
fn snapshot_rejects_kinds_outside_the_flux_catalogue() {
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}});
    assert_eq!(
        snapshot(&deploy),
        Err(Error::NotFluxKind {
            group: "apps".into(),
            kind: "Deployment".into()
        })
    );
    let wrong_group = json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "metadata": {"name": "a"}});
    assert!(matches!(
        snapshot(&wrong_group),
        Err(Error::NotFluxKind { .. })
    ));
}
