use super::*;
use crate::flux::testdata::fixture;
use serde_json::json;

fn revs(name: &str) -> Revisions {
    revisions(&fixture(name))
}

#[test]
fn kustomization_revision_is_the_last_applied_and_attempted_one() {
    let r = revs("kustomization-health-check-failed");
    assert_eq!(
        r.revision.as_deref(),
        Some("main@sha1:9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c")
    );
    assert_eq!(
        r.last_attempted.as_deref(),
        Some("main@sha1:0c2e8e1e0ed0b2b1d61a6f8a9b5f7e4c3d2a1b0f")
    );
    assert_eq!(revs("kustomization-first-reconcile"), Revisions::default());
}

#[test]
fn sources_report_their_artifact_revision() {
    let cases = [
        (
            "gitrepository-ready",
            "main@sha1:0c2e8e1e0ed0b2b1d61a6f8a9b5f7e4c3d2a1b0f",
        ),
        (
            "helmrepository-ready",
            "sha256:ab36d0a6b2c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0",
        ),
        (
            "ocirepository-ready",
            "6.5.4@sha256:3c5e0e6e8f37a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6",
        ),
        (
            "bucket-ready",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("helmchart-ready", "6.5.4"),
    ];
    for (name, want) in cases {
        assert_eq!(revision(&fixture(name)).as_deref(), Some(want), "{name}");
    }
    assert_eq!(
        revs("helmchart-ready").detail.as_deref(),
        Some("podinfo@6.5.4")
    );
    assert_eq!(revision(&fixture("helmrepository-oci-static")), None);
    assert_eq!(revision(&fixture("ocirepository-stalled")), None);
}

#[test]
fn helmrelease_revision_is_the_latest_history_chart_version_like_flux_get_hr() {
    let r = revs("helmrelease-ready");
    assert_eq!(r.revision.as_deref(), Some("6.5.4"));
    assert_eq!(r.last_attempted.as_deref(), Some("6.5.4"));
    assert_eq!(
        r.detail.as_deref(),
        Some("podinfo@6.5.4 app 6.5.4, release apps/podinfo.v3 deployed")
    );
    let oci = revs("helmrelease-oci-chartref");
    assert_eq!(oci.revision.as_deref(), Some("6.5.4+3c5e0e6e8f37"));
}

#[test]
fn helmrelease_history_is_read_by_release_version_not_position() {
    let mut hr = fixture("helmrelease-upgrade-stalled");
    let history = hr["status"]["history"].as_array_mut().expect("history");
    history.reverse();
    let r = revisions(&hr);
    assert_eq!(r.revision.as_deref(), Some("4.10.1"));
    assert!(
        r.detail
            .is_some_and(|d| d.ends_with("ingress-nginx/ingress-nginx.v9 failed"))
    );
}

#[test]
fn helmrelease_without_history_falls_back_to_the_last_attempted_revision() {
    let r = revs("helmrelease-artifact-failed");
    assert_eq!(r.revision.as_deref(), Some("19.3.2"));
    assert_eq!(r.detail, None);
    let v2beta1 = json!({"kind": "HelmRelease", "status": {
        "lastAppliedRevision": "1.2.3", "lastAttemptedRevision": "1.2.4"}});
    assert_eq!(revision(&v2beta1).as_deref(), Some("1.2.3"));
}

#[test]
fn image_policy_revision_is_the_latest_ref_in_v1_and_latest_image_in_v1beta2() {
    let v1 = revs("imagepolicy-v1-ready");
    assert_eq!(
        v1.revision.as_deref(),
        Some(
            "ghcr.io/stefanprodan/podinfo:6.6.2@sha256:8d1ed3e7b9c4a5f6e0d2c1b3a4958677e6f5d4c3b2a190817263544536271809"
        )
    );
    assert_eq!(
        v1.detail.as_deref(),
        Some("previous ghcr.io/stefanprodan/podinfo:6.6.1")
    );
    let v1beta2 = revs("imagepolicy-v1beta2-ready");
    assert_eq!(
        v1beta2.revision.as_deref(),
        Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:main-3f2a1b0-1714464000")
    );
}

#[test]
fn image_repository_revision_is_the_scan_hash_else_the_tag_count() {
    let r = revs("imagerepository-ready");
    assert_eq!(
        r.revision.as_deref(),
        Some("sha256:2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a")
    );
    assert_eq!(
        r.detail.as_deref(),
        Some("62 tags, scanned at 2024-05-01T10:25:00Z")
    );
    let old = revs("imagerepository-auth-failed");
    assert_eq!(old.revision.as_deref(), Some("17 tags"));
}

#[test]
fn image_update_automation_revision_is_the_last_push_commit() {
    let r = revs("imageupdateautomation-ready");
    assert_eq!(
        r.revision.as_deref(),
        Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
    );
    assert_eq!(r.detail.as_deref(), Some("pushed at 2024-05-01T10:26:40Z"));
}

#[test]
fn notification_kinds_have_no_revision() {
    for name in [
        "alert-v1beta3",
        "provider-v1beta3",
        "receiver-ready",
        "alert-v1beta2-ready",
    ] {
        assert_eq!(revision(&fixture(name)), None, "{name}");
    }
    assert!(
        revs("receiver-ready")
            .detail
            .is_some_and(|p| p.starts_with("/hook/"))
    );
}
