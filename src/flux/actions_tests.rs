use super::*;
use crate::flux::testdata::fixture;
use chrono::TimeZone;
use serde_json::json;

const TOKEN: &str = "2024-05-01T10:40:00.5Z";

#[test]
fn reconcile_patch_sets_only_the_requested_at_annotation() {
    assert_eq!(
        reconcile(TOKEN),
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": TOKEN}}})
    );
}

#[test]
fn suspend_patch_sets_spec_suspend_and_the_cli_reason_annotation() {
    assert_eq!(suspend(None), json!({"spec": {"suspend": true}}));
    assert_eq!(suspend(Some("")), json!({"spec": {"suspend": true}}));
    assert_eq!(
        suspend(Some("incident INC-4711")),
        json!({
            "metadata": {"annotations": {"suspend.toolkit.fluxcd.io/reason": "incident INC-4711"}},
            "spec": {"suspend": true}
        })
    );
}

#[test]
fn resume_patch_unsuspends_requests_a_reconcile_and_clears_the_reason() {
    assert_eq!(
        resume(TOKEN),
        json!({
            "metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": TOKEN,
                "suspend.toolkit.fluxcd.io/reason": null
            }},
            "spec": {"suspend": false}
        })
    );
}

#[test]
fn force_and_reset_patches_repeat_the_token_in_requested_at() {
    let annotations = |v: Value| v["metadata"]["annotations"].clone();
    assert_eq!(
        annotations(force(TOKEN)),
        json!({"reconcile.fluxcd.io/requestedAt": TOKEN, "reconcile.fluxcd.io/forceAt": TOKEN})
    );
    assert_eq!(
        annotations(reset(TOKEN)),
        json!({"reconcile.fluxcd.io/requestedAt": TOKEN, "reconcile.fluxcd.io/resetAt": TOKEN})
    );
    assert_eq!(patch(Action::Force, TOKEN, None), force(TOKEN));
    assert_eq!(
        patch(Action::Suspend, TOKEN, Some("why")),
        suspend(Some("why"))
    );
}

#[test]
fn actions_round_trip_through_their_names() {
    for a in Action::ALL {
        assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        assert_eq!(serde_json::to_value(a).expect("json"), json!(a.as_str()));
    }
    assert_eq!("Reconcile".parse::<Action>(), Ok(Action::Reconcile));
    assert_eq!(
        "delete".parse::<Action>(),
        Err(Error::UnknownAction("delete".into()))
    );
}

#[test]
fn force_and_reset_are_allowed_for_helmreleases_only() {
    assert!(allowed("HelmRelease", Action::Force));
    assert!(allowed("helmrelease", Action::Reset));
    assert!(!allowed("Kustomization", Action::Force));
    assert!(!allowed("GitRepository", Action::Reset));
}

#[test]
fn static_kinds_cannot_be_reconciled_but_can_be_suspended() {
    assert!(!allowed("Alert", Action::Reconcile));
    assert!(!allowed("Provider", Action::Reconcile));
    assert!(allowed("Alert", Action::Suspend));
    assert!(allowed("Receiver", Action::Reconcile));
    assert!(allowed("ImageUpdateAutomation", Action::Resume));
    assert!(!allowed("Deployment", Action::Reconcile));
}

#[test]
fn check_refuses_to_reconcile_suspended_or_static_objects_like_the_cli() {
    let suspended = fixture("helmrelease-suspended");
    assert_eq!(check(&suspended, Action::Reconcile), Err(Error::Suspended));
    assert_eq!(check(&suspended, Action::Force), Err(Error::Suspended));
    assert_eq!(check(&suspended, Action::Resume), Ok(()));
    let oci = fixture("helmrepository-oci-static");
    assert_eq!(check(&oci, Action::Reconcile), Err(Error::Static));
    let ks = fixture("kustomization-ready");
    assert_eq!(
        check(&ks, Action::Force),
        Err(Error::NotAllowed {
            action: "force",
            kind: "Kustomization".into()
        })
    );
    assert_eq!(check(&ks, Action::Reconcile), Ok(()));
}

#[test]
fn kustomization_with_source_reconciles_its_git_repository_first() {
    let w = reconcile_with_source(&fixture("kustomization-ready"), TOKEN).expect("with source");
    let names: Vec<_> = w
        .sources
        .iter()
        .map(|s| (s.kind.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(names, [("GitRepository", "flux-system")]);
    assert_eq!(w.source_patch, reconcile(TOKEN));
    assert_eq!(w.patch, reconcile(TOKEN));
}

#[test]
fn helmrelease_with_source_reconciles_the_repository_then_the_generated_chart() {
    let w = reconcile_with_source(&fixture("helmrelease-ready"), TOKEN).expect("with source");
    let chain: Vec<_> = w
        .sources
        .iter()
        .map(|s| format!("{}/{}/{}", s.kind, s.namespace, s.name))
        .collect();
    assert_eq!(
        chain,
        [
            "HelmRepository/flux-system/podinfo",
            "HelmChart/flux-system/apps-podinfo"
        ]
    );
}

#[test]
fn helmrelease_chart_name_is_derived_when_the_status_lacks_it() {
    let mut hr = fixture("helmrelease-ready");
    hr["status"]["helmChart"] = Value::Null;
    let w = reconcile_with_source(&hr, TOKEN).expect("with source");
    assert_eq!(w.sources[1].name, "apps-podinfo");
    assert_eq!(w.sources[1].namespace, "flux-system");
}

#[test]
fn helmrelease_chart_ref_reconciles_only_the_referenced_source() {
    let w =
        reconcile_with_source(&fixture("helmrelease-oci-chartref"), TOKEN).expect("with source");
    assert_eq!(w.sources.len(), 1);
    assert_eq!(w.sources[0].kind, "OCIRepository");
}

#[test]
fn with_source_fails_for_objects_without_a_source() {
    let repo = fixture("gitrepository-ready");
    assert_eq!(reconcile_with_source(&repo, TOKEN), Err(Error::NoSource));
    let suspended = fixture("helmrelease-suspended");
    assert_eq!(
        reconcile_with_source(&suspended, TOKEN),
        Err(Error::Suspended)
    );
}

#[test]
fn handled_compares_the_token_with_last_handled_reconcile_at() {
    let ks = fixture("kustomization-ready");
    assert!(handled(&ks, "2024-05-01T10:00:00.891234567Z"));
    assert!(!handled(&ks, TOKEN));
    assert!(!handled(&fixture("kustomization-first-reconcile"), TOKEN));
}

#[test]
fn handled_action_checks_force_and_reset_fields() {
    let hr = fixture("helmrelease-install-failed");
    let token = "2024-05-01T10:40:00Z";
    assert!(handled_action(&hr, Action::Force, token));
    assert!(handled_action(&hr, Action::Reconcile, token));
    assert!(!handled_action(&hr, Action::Reset, token));
    assert!(handled_action(
        &fixture("bucket-suspended"),
        Action::Suspend,
        token
    ));
    assert!(!handled_action(
        &fixture("bucket-ready"),
        Action::Suspend,
        token
    ));
}

#[test]
fn tokens_use_go_rfc3339_nano_with_trailing_zeros_trimmed() {
    let at = Utc
        .with_ymd_and_hms(2024, 5, 1, 10, 40, 0)
        .single()
        .expect("time");
    assert_eq!(go_rfc3339_nano(at), "2024-05-01T10:40:00Z");
    let half = at + chrono::Duration::milliseconds(500);
    assert_eq!(go_rfc3339_nano(half), TOKEN);
    let nanos = at + chrono::Duration::nanoseconds(891_234_567);
    assert_eq!(go_rfc3339_nano(nanos), "2024-05-01T10:40:00.891234567Z");
}
