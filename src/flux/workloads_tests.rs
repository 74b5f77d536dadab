use serde_json::{Value, json};

use super::*;
use crate::flux::Health;
use crate::flux::workload_snapshot;

fn fixture(name: &str) -> Value {
    let text = match name {
        "deployment-available" => include_str!("fixtures/workloads/deployment-available.yaml"),
        "deployment-progress-deadline-exceeded" => {
            include_str!("fixtures/workloads/deployment-progress-deadline-exceeded.yaml")
        }
        "pvc-bound" => include_str!("fixtures/workloads/pvc-bound.yaml"),
        _ => panic!("no fixture {name}"),
    };
    serde_yaml::from_str(text).expect("fixture parses")
}

#[test]
fn a_deployment_snapshot_carries_owner_health_replicas_and_images() {
    let s = workload_snapshot(&fixture("deployment-available")).unwrap();
    assert_eq!(
        (s.api_group.as_str(), s.api_version.as_str()),
        ("apps", "v1")
    );
    assert_eq!(
        (s.kind.as_str(), s.namespace.as_str()),
        ("Deployment", "apps")
    );
    assert_eq!(s.health, Health::Ready);
    assert!(s.object.pointer("/metadata/resourceVersion").is_none());
    let w = s.workload.expect("a workload");
    assert_eq!(
        w.owner,
        Some(OwnerRef {
            group: "kustomize.toolkit.fluxcd.io".into(),
            kind: "Kustomization".into(),
            namespace: "flux-system".into(),
            name: "apps".into(),
        })
    );
    assert_eq!(w.kstatus, "Current");
    assert_eq!((w.ready_replicas, w.desired_replicas), (Some(3), Some(3)));
    let refs: Vec<(&str, Option<&str>, bool)> = w
        .images
        .iter()
        .map(|i| (i.repository.as_str(), i.tag.as_deref(), i.init))
        .collect();
    assert_eq!(
        refs,
        vec![
            ("ghcr.io/stefanprodan/podinfo", Some("6.5.4"), false),
            ("docker.io/library/nginx", Some("1.25.3"), false),
            (
                "registry.acme.internal:5000/tools/wait-for",
                Some("1.2"),
                true
            ),
        ]
    );
    assert!(
        w.images[2]
            .digest
            .as_deref()
            .unwrap()
            .starts_with("sha256:9f86d0")
    );
}

#[test]
fn a_stuck_rollout_is_failed_with_kstatus_reason() {
    let s = workload_snapshot(&fixture("deployment-progress-deadline-exceeded")).unwrap();
    assert_eq!(s.health, Health::Failed);
    assert_eq!(s.reason.as_deref(), Some("ProgressDeadlineExceeded"));
    assert_eq!(s.workload.unwrap().kstatus, "Failed");
}

#[test]
fn kinds_without_pods_have_no_images_and_no_replicas() {
    let s = workload_snapshot(&fixture("pvc-bound")).unwrap();
    let w = s.workload.unwrap();
    assert!(w.images.is_empty());
    assert_eq!(w.desired_replicas, None);
    assert_eq!(s.api_group, "");
}

#[test]
fn the_owner_comes_from_the_kustomization_labels_first_then_the_helm_release() {
    let helm = json!({"metadata": {"namespace": "web", "labels": {
        "helm.toolkit.fluxcd.io/name": "podinfo",
        "helm.toolkit.fluxcd.io/namespace": "flux-system"}}});
    assert_eq!(owner_of(&helm).unwrap().kind, "HelmRelease");
    assert_eq!(owner_of(&helm).unwrap().namespace, "flux-system");
    let both = json!({"metadata": {"namespace": "web", "labels": {
        "helm.toolkit.fluxcd.io/name": "podinfo",
        "kustomize.toolkit.fluxcd.io/name": "apps"}}});
    let owner = owner_of(&both).unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.namespace.as_str()),
        ("Kustomization", "web")
    );
    assert_eq!(
        owner_of(&json!({"metadata": {"labels": {"app": "x"}}})),
        None
    );
}

#[test]
fn an_unparsable_image_is_kept_as_written() {
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "UPPER/Case"}]}}}});
    let w = workload_snapshot(&obj).unwrap().workload.unwrap();
    assert_eq!(w.images[0].repository, "UPPER/Case");
    assert_eq!(w.images[0].tag, None);
}

#[test]
fn workload_kinds_are_found_by_kind_or_plural_and_every_one_has_two_watches() {
    assert_eq!(workload_kind("deployment").unwrap().kind, "Deployment");
    assert_eq!(
        workload_kind("Ingresses").unwrap().group,
        "networking.k8s.io"
    );
    assert_eq!(workload_kind("ConfigMap"), None);
    for kind in &WORKLOAD_KINDS {
        let names: Vec<&str> = WORKLOAD_WATCHES
            .iter()
            .filter(|w| w.kind == kind)
            .map(|w| w.name)
            .collect();
        assert_eq!(names.len(), 2, "{}", kind.kind);
        assert!(names.iter().all(|n| n.starts_with(kind.kind)), "{names:?}");
    }
    assert_eq!(WORKLOAD_KINDS[5].api_version(), "v1");
    assert_eq!(WORKLOAD_KINDS[0].api_version(), "apps/v1");
}
