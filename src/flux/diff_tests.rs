use serde_json::{Value, json};

use super::*;
use crate::flux::testdata::fixture;
use crate::flux::{change_summary, sanitize, summary};

/// Two fixtures as the store keeps them (sanitized).
fn pair(before: &str, after: &str) -> (Value, Value) {
    (sanitize(&fixture(before)), sanitize(&fixture(after)))
}

/// (path, section, meaning) of every change.
fn classified(changes: &[FieldChange]) -> Vec<(String, Section, Option<Meaning>)> {
    changes
        .iter()
        .map(|c| (c.path_text(), c.section, c.meaning))
        .collect()
}

#[test]
fn a_new_commit_and_an_interval_edit_are_classified_by_section_and_meaning() {
    let (a, b) = pair("kustomization-ready", "kustomization-ready-next");
    let changes = diff(&a, &b);
    use Meaning::*;
    use Section::*;
    let want: Vec<(&str, Section, Option<Meaning>)> = vec![
        ("spec.interval", Spec, None),
        (
            "status.conditions[Ready].lastTransitionTime",
            Status,
            Some(Bookkeeping),
        ),
        ("status.conditions[Ready].message", Status, None),
        (
            "status.conditions[Ready].observedGeneration",
            Status,
            Some(Bookkeeping),
        ),
        (
            "status.conditions[Healthy].lastTransitionTime",
            Status,
            Some(Bookkeeping),
        ),
        ("status.conditions[Healthy].message", Status, None),
        (
            "status.conditions[Healthy].observedGeneration",
            Status,
            Some(Bookkeeping),
        ),
        ("status.inventory.entries[_apps__Namespace]", Status, None),
        ("status.lastAppliedRevision", Status, None),
        ("status.lastAttemptedRevision", Status, None),
        (
            "status.lastHandledReconcileAt",
            Status,
            Some(ReconcileHandled),
        ),
        ("status.observedGeneration", Status, Some(Bookkeeping)),
        (
            "metadata.annotations[\"reconcile.fluxcd.io/requestedAt\"]",
            Metadata,
            Some(ReconcileRequested),
        ),
        ("metadata.generation", Metadata, Some(Bookkeeping)),
    ];
    let want: Vec<(String, Section, Option<Meaning>)> = want
        .into_iter()
        .map(|(p, s, m)| (p.to_string(), s, m))
        .collect();
    assert_eq!(classified(&changes), want);
    let interval = &changes[0];
    assert_eq!(
        (interval.before.clone(), interval.after.clone()),
        (Some(json!("10m0s")), Some(json!("5m0s")))
    );
    assert_eq!(
        changes[7].before, None,
        "an inventory entry was added: {:?}",
        changes[7]
    );
}

#[test]
fn the_summary_names_spec_then_status_then_flux_requests_and_leaves_out_bookkeeping() {
    let (a, b) = pair("kustomization-ready", "kustomization-ready-next");
    assert_eq!(
        change_summary(&a, &b),
        "spec.interval 10m0s → 5m0s; \
         status.lastAppliedRevision main@sha1:0c2e8e1e → main@sha1:5d1f0a9b; \
         reconcile requested; reconcile handled; Ready message changed; +2 more"
    );
}

#[test]
fn helm_force_and_reset_requests_are_named() {
    let (a, b) = pair("helmrelease-ready", "helmrelease-ready-forced");
    assert_eq!(
        change_summary(&a, &b),
        "force requested; reconcile requested; reset requested"
    );
}

#[test]
fn a_suspend_shows_the_spec_field_and_the_reason() {
    let (a, b) = pair("helmrelease-ready", "helmrelease-ready-suspended");
    assert_eq!(
        change_summary(&a, &b),
        "spec.suspend set to true; suspend reason \"freeze: release train 24.18\""
    );
    // And back: resume removes both.
    assert_eq!(
        change_summary(&b, &a),
        "spec.suspend removed; suspend reason removed"
    );
}

#[test]
fn resource_version_and_managed_fields_are_never_changes() {
    let a = fixture("kustomization-ready");
    let mut b = a.clone();
    b["metadata"]["resourceVersion"] = json!("999999");
    b["metadata"]["managedFields"] = json!([]);
    assert_eq!(diff(&a, &b), vec![]);
    assert_eq!(change_summary(&a, &b), "");
}

fn with_ready(status: &str, reason: &str, message: &str) -> Value {
    json!({"status": {"conditions": [
        {"type": "Ready", "status": status, "reason": reason, "message": message,
         "lastTransitionTime": format!("2024-05-01T10:00:0{}Z", message.len() % 10)}
    ]}})
}

#[test]
fn a_condition_is_one_item_status_first_then_reason_then_message() {
    let ready = with_ready("True", "Succeeded", "ok");
    let failed = with_ready("False", "HealthCheckFailed", "deployment not ready");
    assert_eq!(
        change_summary(&ready, &failed),
        "Ready True → False (HealthCheckFailed)"
    );
    let other_reason = with_ready("True", "UpgradeSucceeded", "ok");
    assert_eq!(
        change_summary(&ready, &other_reason),
        "Ready reason Succeeded → UpgradeSucceeded"
    );
    let other_message = with_ready("True", "Succeeded", "still ok");
    assert_eq!(
        change_summary(&ready, &other_message),
        "Ready message changed"
    );
    let mut both = ready.clone();
    both["status"]["conditions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "Reconciling", "status": "True", "reason": "Progressing"}));
    assert_eq!(
        change_summary(&ready, &both),
        "Reconciling → True (Progressing)"
    );
    assert_eq!(change_summary(&both, &ready), "Reconciling removed");
}

#[test]
fn only_bookkeeping_changed_is_still_said() {
    let a = json!({"status": {"observedGeneration": 1}});
    let b = json!({"status": {"observedGeneration": 2}});
    assert_eq!(change_summary(&a, &b), "status.observedGeneration 1 → 2");
}

#[test]
fn lists_are_matched_by_identity_by_position_or_whole() {
    let a = json!({"spec": {"dependsOn": [{"name": "redis"}, {"name": "db"}],
                            "args": ["a", "b"], "hosts": ["x"]}});
    let b = json!({"spec": {"dependsOn": [{"name": "db"}, {"name": "cache"}],
                            "args": ["a", "c"], "hosts": ["x", "y"]}});
    let changes = diff(&a, &b);
    let paths: Vec<String> = changes.iter().map(FieldChange::path_text).collect();
    assert_eq!(
        paths,
        [
            "spec.args[1]",
            "spec.dependsOn[redis]",
            "spec.dependsOn[cache]",
            "spec.hosts"
        ]
    );
    assert_eq!(
        summary(&changes),
        "spec.args[1] b → c; spec.hosts [1 items] → [2 items]; spec.dependsOn 1 added, 1 removed"
    );
}

#[test]
fn helm_history_is_matched_by_version() {
    let (a, _) = pair("helmrelease-ready", "helmrelease-ready");
    let mut b = a.clone();
    let history = b["status"]["history"].as_array_mut().unwrap();
    history[0]["status"] = json!("superseded");
    history.insert(
        0,
        json!({"version": 4, "status": "deployed", "chartVersion": "6.5.5"}),
    );
    history.pop();
    let paths: Vec<String> = diff(&a, &b).iter().map(FieldChange::path_text).collect();
    assert_eq!(
        paths,
        [
            "status.history[3].status",
            "status.history[2]",
            "status.history[4]"
        ]
    );
}

#[test]
fn keys_that_are_not_identifiers_are_quoted() {
    let a = json!({"metadata": {"labels": {"app.kubernetes.io/name": "a"}}});
    let b = json!({"metadata": {"labels": {"app.kubernetes.io/name": "b"}}});
    assert_eq!(
        change_summary(&a, &b),
        "metadata.labels[\"app.kubernetes.io/name\"] a → b"
    );
}

#[test]
fn a_first_annotation_is_named_by_its_key() {
    let a = json!({"metadata": {"name": "x"}});
    let b = json!({"metadata": {"name": "x", "annotations": {"reconcile.fluxcd.io/requestedAt": "now"}}});
    let changes = diff(&a, &b);
    assert_eq!(
        classified(&changes),
        [(
            "metadata.annotations[\"reconcile.fluxcd.io/requestedAt\"]".to_string(),
            Section::Metadata,
            Some(Meaning::ReconcileRequested)
        )]
    );
    assert_eq!(summary(&changes), "reconcile requested");
    assert_eq!(
        change_summary(&b, &a),
        "metadata.annotations[\"reconcile.fluxcd.io/requestedAt\"] removed"
    );
}

#[test]
fn a_new_uid_means_the_object_was_recreated() {
    let a = json!({"metadata": {"uid": "1", "creationTimestamp": "2024-01-01T00:00:00Z"}});
    let b = json!({"metadata": {"uid": "2", "creationTimestamp": "2024-02-01T00:00:00Z"}});
    assert_eq!(change_summary(&a, &b), "recreated");
}

#[test]
fn long_values_are_cut_and_values_alike_at_the_start_show_their_ends() {
    let long = "x".repeat(100);
    let a = json!({"spec": {"path": "./short"}});
    let b = json!({"spec": {"path": long}});
    let text = change_summary(&a, &b);
    assert!(text.starts_with("spec.path ./short → xxxx"), "{text}");
    assert!(text.ends_with('…'), "{text}");
    assert!(text.chars().count() < 80, "{text}");
    let a = json!({"status": {"lastAppliedRevision": format!("main@sha1:{:040x}", 1)}});
    let b = json!({"status": {"lastAppliedRevision": format!("main@sha1:{:040x}", 2)}});
    assert_eq!(
        change_summary(&a, &b),
        format!(
            "status.lastAppliedRevision …{} → …{}",
            &format!("main@sha1:{:040x}", 1)[11..],
            &format!("main@sha1:{:040x}", 2)[11..]
        )
    );
}

#[test]
fn many_changes_end_in_a_count() {
    let a = json!({"spec": {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1}});
    let b = json!({"spec": {"a": 2, "b": 2, "c": 2, "d": 2, "e": 2, "f": 2, "g": 2}});
    assert_eq!(
        change_summary(&a, &b),
        "spec.a 1 → 2; spec.b 1 → 2; spec.c 1 → 2; spec.d 1 → 2; spec.e 1 → 2; +2 more"
    );
}

#[test]
fn every_fixture_compared_with_itself_has_no_changes() {
    for (name, object) in crate::flux::testdata::flux_objects() {
        assert_eq!(diff(&object, &object), vec![], "{name}");
    }
}
