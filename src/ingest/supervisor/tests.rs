use super::*;
use crate::flux::KindStatus;

fn served(status: &mut Status, names: &[&'static str]) {
    for name in names {
        let state = KindState::Served {
            version: "v1".into(),
            state: WatchState::Listing,
            optional: false,
        };
        status.kinds.insert(name, state);
    }
}

fn report(target: &'static str, state: Option<WatchState>) -> WatchReport {
    WatchReport { target, state }
}

#[test]
fn a_new_status_is_connecting_and_written_at_once() {
    let now = Instant::now();
    let mut status = Status::new("replica-a".into(), now);
    assert!(status.due(now));
    assert_eq!(status.update.state, ClusterState::Connecting);
    assert_eq!(status.update.watched_by.as_deref(), Some("replica-a"));
    status.written(now);
    assert!(!status.due(now), "nothing changed since");
}

#[test]
fn a_failure_to_connect_names_its_cause_and_forgets_the_kinds() {
    let now = Utc::now();
    let mut status = Status::new("r".into(), Instant::now());
    served(&mut status, &["Kustomization"]);
    let failure = Failure {
        summary: "refused".into(),
        detail: "401 from the server".into(),
        cause: Cause::Unauthorized,
    };
    status.connect_failed(failure, Duration::from_secs(60), now);
    assert!(status.due(Instant::now()));
    assert_eq!(status.update.state, ClusterState::Unauthorized);
    assert_eq!(
        (
            status.update.message.as_str(),
            status.update.detail.as_str()
        ),
        ("refused", "401 from the server")
    );
    assert_eq!(
        status.update.next_retry_at,
        Some(now + chrono::Duration::seconds(60))
    );
    assert!(status.update.kinds.is_empty());
}

#[test]
fn a_state_report_is_written_at_the_next_flush_and_only_when_it_changes() {
    let now = Instant::now();
    let mut status = Status::new("r".into(), now);
    served(&mut status, &["Kustomization"]);
    status.written(now);
    let mut awaiting = HashSet::new();
    status.on_report(
        report("Kustomization", Some(WatchState::Listing)),
        &mut awaiting,
        Utc::now(),
    );
    assert!(!status.due(now), "the same state again");
    status.on_report(
        report("Kustomization", Some(WatchState::Watching)),
        &mut awaiting,
        Utc::now(),
    );
    assert!(status.due(now));
    assert_eq!(status.update.state, ClusterState::Ready);
    assert_eq!(
        status.update.kinds["Kustomization"].state,
        KindStatus::Watching
    );
}

#[test]
fn event_times_alone_are_written_at_most_every_five_seconds() {
    let start = Instant::now();
    let mut status = Status::new("r".into(), start);
    status.written(start);
    let seen = Utc::now();
    status.on_report(report("Kustomization", None), &mut HashSet::new(), seen);
    assert_eq!(status.update.last_event_at, Some(seen));
    assert!(!status.due(start + EVENT_WRITE_INTERVAL - Duration::from_millis(1)));
    assert!(status.due(start + EVENT_WRITE_INTERVAL));
}

#[test]
fn a_backstop_relist_is_complete_when_the_last_served_kind_watches_again() {
    let mut status = Status::new("r".into(), Instant::now());
    served(&mut status, &["Kustomization", "HelmRelease"]);
    status.kinds.insert("Bucket", KindState::Absent);
    let mut awaiting = status.served();
    assert_eq!(awaiting.len(), 2, "absent kinds are not awaited");
    let done = Utc::now();
    status.on_report(
        report("HelmRelease", Some(WatchState::Watching)),
        &mut awaiting,
        done,
    );
    assert_eq!(status.update.last_resync_at, None);
    status.on_report(
        report("Kustomization", Some(WatchState::Watching)),
        &mut awaiting,
        done,
    );
    assert_eq!(status.update.last_resync_at, Some(done));
}

#[test]
fn a_silent_server_makes_the_cluster_unreachable_and_its_watching_kinds_stalled() {
    let now = Instant::now();
    let mut status = Status::new("r".into(), now);
    served(&mut status, &["Kustomization"]);
    status.on_report(
        report("Kustomization", Some(WatchState::Watching)),
        &mut HashSet::new(),
        Utc::now(),
    );
    let since = Utc::now();
    status.silent = Some((since, Failure::local("no answer within 10 s")));
    assert!(status.due(now));
    assert!(status.unreachable());
    assert!(
        status.update.message.contains("has not answered since"),
        "{}",
        status.update.message
    );
    assert_eq!(
        status.update.kinds["Kustomization"].state,
        KindStatus::Stalled
    );
}
