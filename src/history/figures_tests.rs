use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;
use crate::flux::Health::{self, Failed, Progressing, Ready, Stalled};
use crate::store::reliability::ObjectKey;

/// 2026-03-01T00:00:00Z plus `s` seconds.
fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_323_200 + s, 0).unwrap()
}

fn step(s: i64, before: Option<Health>, after: Option<Health>) -> Step {
    Step {
        at: t(s),
        before,
        after,
    }
}

fn day(from: i64, to: i64) -> Span {
    Span {
        start: t(from),
        from: t(from),
        to: t(to),
    }
}

fn ready() -> Carry {
    Carry {
        health: Some(Ready),
        broken_since: None,
    }
}

#[test]
fn time_failed_and_stalled_is_measured_inside_the_span_only() {
    let steps = [
        step(100, Some(Ready), Some(Failed)),
        step(400, Some(Failed), Some(Stalled)),
        step(1000, Some(Stalled), Some(Ready)),
    ];
    let (f, end) = fold(ready(), &steps, day(0, 3600));
    assert_eq!(f.observed_secs, 3600.0);
    assert_eq!(f.failed_secs, 300.0);
    assert_eq!(f.stalled_secs, 600.0);
    assert_eq!((f.failures, f.transitions, f.recoveries), (1, 3, 1));
    assert_eq!(f.recovery_secs, 900.0);
    assert_eq!(end, ready());
    // The same history counted from 200 s on: the failure and its start are before the span,
    // the recovery inside it reaches back to the spell's start.
    let span = Span {
        start: t(0),
        from: t(200),
        to: t(3600),
    };
    let (f, _) = fold(ready(), &steps, span);
    assert_eq!((f.failed_secs, f.stalled_secs), (200.0, 600.0));
    assert_eq!((f.failures, f.transitions, f.recoveries), (0, 2, 1));
    assert_eq!(f.recovery_secs, 900.0);
}

#[test]
fn a_spell_across_midnight_is_split_and_recovers_on_the_second_day() {
    let fail = [step(86_400 - 600, Some(Ready), Some(Failed))];
    let (first, end) = fold(ready(), &fail, day(0, 86_400));
    assert_eq!(first.failed_secs, 600.0);
    assert_eq!((first.failures, first.recoveries), (1, 0));
    assert_eq!(end.health, Some(Failed));
    assert_eq!(end.broken_since, Some(t(86_400 - 600)));
    let recover = [step(86_400 + 900, Some(Failed), Some(Ready))];
    let (second, end) = fold(end, &recover, day(86_400, 2 * 86_400));
    assert_eq!(second.failed_secs, 900.0);
    assert_eq!((second.failures, second.recoveries), (0, 1));
    assert_eq!(second.recovery_secs, 1500.0);
    assert_eq!(end, ready());
}

#[test]
fn an_object_still_failed_at_the_end_has_no_recovery_yet() {
    let steps = [step(60, Some(Ready), Some(Failed))];
    let (f, end) = fold(ready(), &steps, day(0, 600));
    assert_eq!(f.failed_secs, 540.0);
    assert_eq!((f.failures, f.recoveries), (1, 0));
    assert_eq!(f.recovery_secs, 0.0);
    assert_eq!(end.broken_since, Some(t(60)));
}

#[test]
fn flapping_counts_every_change_and_progressing_does_not_end_a_spell() {
    let steps = [
        step(10, Some(Ready), Some(Failed)),
        step(20, Some(Failed), Some(Progressing)),
        step(30, Some(Progressing), Some(Failed)),
        step(40, Some(Failed), Some(Ready)),
        step(50, Some(Ready), Some(Failed)),
        step(60, Some(Failed), Some(Ready)),
    ];
    let (f, _) = fold(ready(), &steps, day(0, 100));
    assert_eq!(f.transitions, 6);
    assert_eq!(f.failures, 3);
    assert_eq!(f.recoveries, 2);
    assert_eq!(f.recovery_secs, 30.0 + 10.0);
    assert_eq!(f.failed_secs, 30.0);
}

#[test]
fn appearing_failed_is_a_failure_and_a_deletion_ends_the_spell_without_recovery() {
    let steps = [step(100, None, Some(Failed)), step(400, Some(Failed), None)];
    let (f, end) = fold(Carry::default(), &steps, day(0, 1000));
    assert_eq!(f.observed_secs, 300.0);
    assert_eq!(f.failed_secs, 300.0);
    assert_eq!((f.failures, f.transitions, f.recoveries), (1, 0, 0));
    assert_eq!(end, Carry::default());
}

#[test]
fn without_a_known_state_the_first_change_tells_the_health_before_it() {
    // History before the log: the object was failed from the span's start.
    let steps = [step(300, Some(Failed), Some(Ready))];
    let (f, _) = fold(Carry::default(), &steps, day(0, 1000));
    assert_eq!(f.observed_secs, 1000.0);
    assert_eq!(f.failed_secs, 300.0);
    assert_eq!((f.recoveries, f.recovery_secs), (1, 300.0));
}

#[test]
fn fold_all_keeps_unchanged_objects_and_leaves_out_those_that_never_existed() {
    let key = |name: &str| ObjectKey {
        cluster_id: Uuid::nil(),
        cluster: Some("a".into()),
        api_group: "g".into(),
        kind: "K".into(),
        namespace: "n".into(),
        name: name.into(),
    };
    let (still, changed) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let failed = Carry {
        health: Some(Failed),
        broken_since: Some(t(-50)),
    };
    let states: States = HashMap::from([(still, (key("still"), failed))]);
    let steps: Steps = HashMap::from([(changed, (key("new"), vec![step(10, None, Some(Ready))]))]);
    let mut out = fold_all(states, steps, day(0, 100));
    out.sort_by_key(|o| o.id);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].figures.failed_secs, 100.0);
    assert_eq!(out[0].end, failed);
    assert_eq!(out[1].figures.observed_secs, 90.0);
    assert_eq!(out[1].end, ready());
}
