use super::*;
use crate::flux::{ChangeOp, EventType, Health};
use uuid::Uuid;

const T0: i64 = 1_714_557_600; // 2024-05-01T10:00:00Z

/// Entry `seq` at T0 + `secs` about object `obj` on cluster `cluster`.
fn entry(seq: i64, secs: i64, obj: u128, cluster: &str) -> ChangeEntry {
    ChangeEntry {
        seq,
        at: DateTime::from_timestamp(T0 + secs, 0).unwrap(),
        cluster_id: Uuid::from_u128(cluster.len() as u128),
        cluster_name: Some(cluster.into()),
        resource_id: Uuid::from_u128(obj),
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        kind: "Kustomization".into(),
        namespace: "apps".into(),
        name: format!("app-{obj}"),
        op: ChangeOp::Upsert,
        health_before: Some(Health::Ready),
        health_after: Some(Health::Failed),
        event_type: None,
        revision: Some("main@sha1:ab12".into()),
        reason: None,
        message: None,
        version: None,
        summary: None,
    }
}

fn failed(seq: i64, secs: i64, obj: u128, cluster: &str) -> ChangeEntry {
    entry(seq, secs, obj, cluster)
}

fn event(seq: i64, secs: i64, obj: u128) -> ChangeEntry {
    ChangeEntry {
        op: ChangeOp::Event,
        health_before: None,
        health_after: None,
        event_type: Some(EventType::Warning),
        ..entry(seq, secs, obj, "a")
    }
}

fn seqs(slot: &Slot) -> Vec<i64> {
    match slot {
        Slot::One(e) => vec![e.seq],
        Slot::Burst(b) => b.members.iter().map(|m| m.seq).collect(),
    }
}

#[test]
fn failures_of_several_objects_within_the_window_become_one_burst_in_place_of_the_newest() {
    // Newest first: an event between the failures stays single and in order.
    let entries = vec![
        failed(9, 40, 1, "a"),
        event(8, 39, 1),
        failed(7, 20, 2, "bb"),
        failed(6, 0, 3, "ccc"),
        event(5, -10, 4),
    ];
    let slots = group(entries, Duration::from_secs(60));
    let got: Vec<Vec<i64>> = slots.iter().map(seqs).collect();
    assert_eq!(got, vec![vec![9, 7, 6], vec![8], vec![5]]);
    let Slot::Burst(b) = &slots[0] else {
        panic!("a burst")
    };
    assert_eq!(b.transition, Transition::Became(Health::Failed));
    assert_eq!(
        b.summary(),
        "3 objects on 3 clusters became Failed within 40 s, revision main@sha1:ab12"
    );
    assert_eq!((b.newest().seq, b.oldest().seq), (9, 6));
}

#[test]
fn an_entry_beyond_the_window_from_the_newest_member_starts_the_next_burst() {
    let entries = vec![
        failed(4, 100, 1, "a"),
        failed(3, 50, 2, "a"),
        failed(2, 39, 3, "a"),
        failed(1, 0, 4, "a"),
    ];
    let got: Vec<Vec<i64>> = group(entries, Duration::from_secs(60))
        .iter()
        .map(seqs)
        .collect();
    assert_eq!(got, vec![vec![4, 3], vec![2, 1]]);
}

#[test]
fn one_object_flapping_and_different_transitions_are_not_bursts() {
    let recovered = ChangeEntry {
        health_before: Some(Health::Failed),
        health_after: Some(Health::Ready),
        ..entry(2, 5, 2, "a")
    };
    let entries = vec![failed(3, 10, 1, "a"), recovered, failed(1, 0, 1, "a")];
    let slots = group(entries, Duration::from_secs(60));
    assert!(slots.iter().all(|s| matches!(s, Slot::One(_))), "{slots:?}");
    assert_eq!(slots.len(), 3);
}

#[test]
fn a_window_of_zero_groups_only_entries_of_the_same_instant() {
    let entries = vec![
        failed(3, 10, 1, "a"),
        failed(2, 10, 2, "a"),
        failed(1, 9, 3, "a"),
    ];
    let slots = group(entries, Duration::ZERO);
    let got: Vec<Vec<i64>> = slots.iter().map(seqs).collect();
    assert_eq!(got, vec![vec![3, 2], vec![1]]);
    let Slot::Burst(b) = &slots[0] else {
        panic!("a burst")
    };
    assert_eq!(
        b.summary(),
        "2 objects on 1 cluster became Failed at once, revision main@sha1:ab12"
    );
}

#[test]
fn appearances_and_deletions_group_and_mixed_revisions_are_counted() {
    let appeared = |seq, obj, rev: &str| ChangeEntry {
        health_before: None,
        revision: Some(rev.into()),
        ..entry(seq, 0, obj, "a")
    };
    let deleted = |seq, obj| ChangeEntry {
        op: ChangeOp::Delete,
        health_after: None,
        revision: None,
        ..entry(seq, 0, obj, "a")
    };
    let entries = vec![
        appeared(4, 1, "x"),
        deleted(3, 9),
        appeared(2, 2, "y"),
        deleted(1, 8),
    ];
    let slots = group(entries, Duration::from_secs(60));
    let summaries: Vec<String> = slots
        .iter()
        .map(|s| match s {
            Slot::Burst(b) => b.summary(),
            Slot::One(_) => "one".into(),
        })
        .collect();
    assert_eq!(
        summaries,
        [
            "2 objects on 1 cluster appeared at once, 2 revisions",
            "2 objects on 1 cluster were deleted at once"
        ]
    );
}
