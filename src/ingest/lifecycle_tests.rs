use kube::api::{ApiResource, GroupVersionKind};
use kube::core::Status;

use super::*;
use crate::clusters::failure::Cause;
use crate::flux::by_group_kind;

const GROUP: &str = "kustomize.toolkit.fluxcd.io";

fn kustomizations() -> Target {
    Target::Kind(by_group_kind(GROUP, "Kustomization").expect("a Flux kind"))
}

fn watch(target: Target) -> Lifecycle {
    Lifecycle::new(Uuid::nil(), target, 7)
}

/// Explicit instants: `t(ms)` is `ms` milliseconds after one fixed start.
struct Clock(Now);

impl Clock {
    fn new() -> Clock {
        Clock(Now::current())
    }

    fn t(&self, ms: u64) -> Now {
        let d = Duration::from_millis(ms);
        Now {
            at: self.0.at + d,
            wall: self.0.wall + chrono::Duration::from_std(d).expect("small"),
        }
    }
}

fn object(name: &str, rv: Option<&str>) -> DynamicObject {
    let gvk = GroupVersionKind::gvk(GROUP, "v1", "Kustomization");
    let mut o = DynamicObject::new(name, &ApiResource::from_gvk(&gvk)).within("flux-system");
    o.metadata.resource_version = rv.map(str::to_string);
    o
}

fn api_error(code: u16) -> kube::Error {
    kube::Error::Api(Status::failure("no", "Failure").with_code(code).boxed())
}

/// Effects in a few words, so that a test reads as the sequence it expects.
fn words(effects: &[Effect]) -> Vec<String> {
    effects.iter().map(word).collect()
}

fn word(effect: &Effect) -> String {
    match effect {
        Effect::TakePermit => "take permit".into(),
        Effect::ReleasePermit => "release permit".into(),
        Effect::ObserveList(d) => format!("list took {} ms", d.as_millis()),
        Effect::Upsert { object, backstop } => format!(
            "upsert {}{}",
            object.metadata.name.as_deref().unwrap_or("?"),
            if *backstop { " (drift?)" } else { "" }
        ),
        Effect::Write(WriteOp::Delete(key)) => format!("delete {}/{}", key.namespace, key.name),
        Effect::Write(WriteOp::Sweep { seen, backstop, .. }) => {
            let mut names: Vec<&str> = seen.iter().map(|(_, n)| n.as_str()).collect();
            names.sort_unstable();
            let drift = if *backstop { " (backstop)" } else { "" };
            format!("sweep all but [{}]{drift}", names.join(","))
        }
        Effect::Write(op) => format!("write {op:?}"),
        Effect::Report(WatchState::Failing { cause, .. }) => format!("report failing ({cause:?})"),
        Effect::Report(state) => format!("report {state:?}"),
        Effect::EventSeen => "event seen".into(),
        Effect::Retry(d) => format!("retry in {} ms", d.as_millis()),
        Effect::Restart => "restart".into(),
    }
}

/// A watch whose first LIST (of `names`) finished at `t(5)`.
fn listed(target: Target, clock: &Clock, names: &[&str]) -> Lifecycle {
    let mut w = watch(target);
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(1));
    for (i, name) in names.iter().enumerate() {
        let rv = (i + 1).to_string();
        w.step(
            Input::Event(Event::InitApply(object(name, Some(&rv)))),
            clock.t(2),
        );
    }
    w.step(Input::Event(Event::InitDone), clock.t(5));
    w
}

#[test]
fn init_waits_for_a_list_permit_before_listing() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    assert_eq!(
        words(&w.step(Input::Event(Event::Init), clock.t(0))),
        ["take permit"]
    );
    assert_eq!(
        w.deadline(),
        None,
        "no stall clock while waiting for a permit"
    );
    assert_eq!(
        words(&w.step(Input::PermitGranted, clock.t(300))),
        ["report Listing"]
    );
    assert_eq!(w.deadline(), Some(clock.t(300).at + LIST_STALL));
}

#[test]
fn a_permit_granted_unasked_changes_nothing() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &[]);
    assert!(w.step(Input::PermitGranted, clock.t(10)).is_empty());
    assert_eq!(w.deadline(), None);
}

#[test]
fn init_with_the_permit_still_held_lists_without_asking_again() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    let again = w.step(Input::Event(Event::Init), clock.t(50));
    assert_eq!(words(&again), ["report Listing"]);
}

#[test]
fn a_first_list_upserts_each_object_and_sweeps_what_it_did_not_return() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(100));
    let a = w.step(
        Input::Event(Event::InitApply(object("a", Some("7")))),
        clock.t(200),
    );
    let b = w.step(
        Input::Event(Event::InitApply(object("b", None))),
        clock.t(300),
    );
    assert_eq!(
        (words(&a), words(&b)),
        (vec!["upsert a".to_string()], vec!["upsert b".to_string()])
    );
    let done = w.step(Input::Event(Event::InitDone), clock.t(1_100));
    assert_eq!(
        words(&done),
        [
            "release permit",
            "list took 1000 ms",
            "sweep all but [a,b]",
            "report Watching"
        ]
    );
    assert_eq!(w.deadline(), None);
}

#[test]
fn the_sweep_names_the_cluster_group_and_kind() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    let done = w.step(Input::Event(Event::InitDone), clock.t(1));
    let Some(Effect::Write(WriteOp::Sweep {
        cluster_id,
        api_group,
        kind,
        seen,
        ..
    })) = done.get(2)
    else {
        panic!("{:?}", words(&done));
    };
    assert_eq!(
        (cluster_id, api_group.as_str(), kind.as_str()),
        (&Uuid::nil(), GROUP, "Kustomization")
    );
    assert!(seen.is_empty(), "an empty list sweeps everything");
}

#[test]
fn events_are_never_swept_nor_deleted() {
    let clock = Clock::new();
    let mut w = watch(Target::Events);
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    w.step(
        Input::Event(Event::InitApply(object("e", None))),
        clock.t(1),
    );
    let done = w.step(Input::Event(Event::InitDone), clock.t(2));
    assert_eq!(
        words(&done),
        ["release permit", "list took 2 ms", "report Watching"]
    );
    let gone = w.step(Input::Event(Event::Delete(object("e", None))), clock.t(3));
    assert_eq!(words(&gone), ["event seen"]);
}

#[test]
fn a_watch_event_upserts_and_tells_the_supervisor_an_event_arrived() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &["a"]);
    let fx = w.step(
        Input::Event(Event::Apply(object("a", Some("9")))),
        clock.t(10),
    );
    assert_eq!(words(&fx), ["upsert a", "event seen"]);
    assert_eq!(w.deadline(), None, "no permit, no stall clock");
}

#[test]
fn a_delete_event_deletes_the_object_by_namespace_and_name() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &["a"]);
    let fx = w.step(
        Input::Event(Event::Delete(object("a", Some("9")))),
        clock.t(10),
    );
    assert_eq!(words(&fx), ["delete flux-system/a", "event seen"]);
    let mut nameless = object("x", None);
    nameless.metadata.name = None;
    let fx = w.step(Input::Event(Event::Delete(nameless)), clock.t(11));
    assert_eq!(
        words(&fx),
        ["event seen"],
        "nothing to delete without a name"
    );
}

#[test]
fn a_list_without_progress_gives_its_permit_back_after_the_stall_time() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    let stall = LIST_STALL.as_millis() as u64;
    assert!(
        w.step(Input::Tick, clock.t(stall - 1)).is_empty(),
        "not yet"
    );
    assert_eq!(
        words(&w.step(Input::Tick, clock.t(stall))),
        ["release permit"]
    );
    assert_eq!(w.deadline(), None);
    // The LIST goes on without its permit, and finishes without releasing it twice.
    w.step(
        Input::Event(Event::InitApply(object("a", None))),
        clock.t(stall + 5),
    );
    assert_eq!(w.deadline(), None, "no permit, no stall clock");
    let done = w.step(Input::Event(Event::InitDone), clock.t(stall + 10));
    assert_eq!(
        words(&done),
        ["list took 10010 ms", "sweep all but [a]", "report Watching"]
    );
}

#[test]
fn each_page_of_a_list_moves_the_stall_deadline() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    w.step(
        Input::Event(Event::InitApply(object("a", None))),
        clock.t(9_000),
    );
    assert_eq!(w.deadline(), Some(clock.t(9_000).at + LIST_STALL));
    assert!(w.step(Input::Tick, clock.t(10_000)).is_empty());
}

#[test]
fn a_routine_failure_releases_the_permit_and_reports_nothing() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    let gone =
        watcher::Error::WatchError(Status::failure("gone", "Expired").with_code(410).boxed());
    assert_eq!(
        words(&w.step(Input::Failed(&gone), clock.t(5))),
        ["release permit"]
    );
    assert_eq!(w.deadline(), None);
    let broken = watcher::Error::WatchFailed(api_error(500));
    assert!(
        w.step(Input::Failed(&broken), clock.t(6)).is_empty(),
        "nothing held, nothing said"
    );
    // The next LIST asks for a permit again, and its time starts then.
    assert_eq!(
        words(&w.step(Input::Event(Event::Init), clock.t(7))),
        ["take permit"]
    );
}

#[test]
fn a_failed_list_is_reported_with_its_retry_time_and_retried_after_the_backoff() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    let refused = watcher::Error::InitialListFailed(api_error(503));
    let fx = w.step(Input::Failed(&refused), clock.t(40));
    assert_eq!(
        words(&fx),
        [
            "release permit",
            "report failing (Server)",
            "retry in 100 ms"
        ]
    );
    let Some(Effect::Report(WatchState::Failing {
        retry_at, message, ..
    })) = fx.get(1)
    else {
        unreachable!("checked above");
    };
    assert_eq!(*retry_at, clock.t(140).wall);
    assert!(message.contains("listing failed"), "{message}");
}

#[test]
fn refused_credentials_are_retried_once_a_minute() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    for (i, code) in [401u16, 403, 401].into_iter().enumerate() {
        let refused = watcher::Error::WatchStartFailed(api_error(code));
        let fx = w.step(Input::Failed(&refused), clock.t(i as u64));
        let cause = if code == 401 {
            Cause::Unauthorized
        } else {
            Cause::Forbidden
        };
        assert_eq!(
            words(&fx),
            [
                format!("report failing ({cause:?})"),
                "retry in 60000 ms".into()
            ]
        );
    }
}

#[test]
fn failures_back_off_until_an_event_arrives() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    let refused = watcher::Error::InitialListFailed(api_error(500));
    let delay = |fx: &[Effect]| match fx.last() {
        Some(Effect::Retry(d)) => *d,
        _ => panic!("{:?}", words(fx)),
    };
    assert_eq!(
        delay(&w.step(Input::Failed(&refused), clock.t(0))),
        Duration::from_millis(100)
    );
    assert!(delay(&w.step(Input::Failed(&refused), clock.t(1))) >= Duration::from_millis(200));
    w.step(Input::Event(Event::Init), clock.t(2));
    assert_eq!(
        delay(&w.step(Input::Failed(&refused), clock.t(3))),
        Duration::from_millis(100)
    );
}

#[test]
fn a_retry_that_survives_its_probation_reports_the_watch_re_established() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &["a"]);
    let broken = watcher::Error::WatchStartFailed(api_error(500));
    w.step(Input::Failed(&broken), clock.t(10));
    assert!(w.step(Input::RetryDue, clock.t(110)).is_empty());
    let probation = PROBATION.as_millis() as u64;
    assert_eq!(w.deadline(), Some(clock.t(110 + probation).at));
    assert!(
        w.step(Input::Tick, clock.t(109 + probation)).is_empty(),
        "not yet"
    );
    let fx = w.step(Input::Tick, clock.t(110 + probation));
    assert_eq!(words(&fx), ["report Watching"]);
    assert_eq!(w.deadline(), None);
}

#[test]
fn a_retry_that_fails_during_a_list_reports_listing_once_it_survives() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    let broken = watcher::Error::InitialListFailed(api_error(500));
    w.step(Input::Failed(&broken), clock.t(1));
    w.step(Input::RetryDue, clock.t(101));
    let fx = w.step(Input::Tick, clock.t(1_101));
    assert_eq!(
        words(&fx),
        ["report Listing"],
        "the keys of the interrupted list are kept"
    );
}

#[test]
fn an_event_during_probation_reports_the_watch_re_established_at_once() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &["a"]);
    let broken = watcher::Error::WatchStartFailed(api_error(500));
    w.step(Input::Failed(&broken), clock.t(10));
    w.step(Input::RetryDue, clock.t(110));
    let fx = w.step(
        Input::Event(Event::Apply(object("a", Some("3")))),
        clock.t(200),
    );
    assert_eq!(words(&fx), ["report Watching", "upsert a", "event seen"]);
    assert_eq!(w.deadline(), None, "the probation is over");
}

#[test]
fn a_relist_during_probation_ends_it_and_reports_only_listing() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &["a"]);
    let broken = watcher::Error::WatchStartFailed(api_error(500));
    w.step(Input::Failed(&broken), clock.t(10));
    w.step(Input::RetryDue, clock.t(110));
    assert_eq!(
        words(&w.step(Input::Event(Event::Init), clock.t(200))),
        ["take permit"]
    );
    assert_eq!(
        words(&w.step(Input::PermitGranted, clock.t(250))),
        ["report Listing"]
    );
    assert_eq!(
        w.deadline(),
        Some(clock.t(250).at + LIST_STALL),
        "only the stall clock is left"
    );
}

#[test]
fn stall_and_probation_share_one_deadline_the_earlier() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    w.step(Input::RetryDue, clock.t(0));
    assert_eq!(w.deadline(), Some(clock.t(0).at + PROBATION));
    assert_eq!(
        words(&w.step(Input::Tick, clock.t(1_000))),
        ["report Listing"]
    );
    assert_eq!(w.deadline(), Some(clock.t(0).at + LIST_STALL));
}

#[test]
fn a_relist_request_restarts_the_stream_and_gives_the_permit_back() {
    let clock = Clock::new();
    let mut w = watch(kustomizations());
    w.step(Input::Event(Event::Init), clock.t(0));
    w.step(Input::PermitGranted, clock.t(0));
    assert_eq!(
        words(&w.step(Input::Resync, clock.t(1))),
        ["release permit", "restart"]
    );
    assert_eq!(w.deadline(), None);
    let mut ended = listed(kustomizations(), &clock, &[]);
    assert_eq!(
        words(&ended.step(Input::End, clock.t(9))),
        ["restart"],
        "nothing held"
    );
}

#[test]
fn a_backstop_relist_marks_only_objects_not_newer_than_the_last_watch_event_as_drift() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &["a", "b"]);
    w.step(
        Input::Event(Event::Apply(object("a", Some("50")))),
        clock.t(10),
    );
    w.step(Input::Resync, clock.t(11));
    w.step(Input::Event(Event::Init), clock.t(12));
    w.step(Input::PermitGranted, clock.t(12));
    let items = [("a", Some("50")), ("b", Some("51")), ("c", None)];
    let upserts: Vec<String> = items
        .iter()
        .flat_map(|(name, rv)| {
            words(&w.step(
                Input::Event(Event::InitApply(object(name, *rv))),
                clock.t(13),
            ))
        })
        .collect();
    assert_eq!(
        upserts,
        ["upsert a (drift?)", "upsert b", "upsert c (drift?)"]
    );
    let done = w.step(Input::Event(Event::InitDone), clock.t(20));
    assert_eq!(words(&done)[2], "sweep all but [a,b,c] (backstop)");
    // The backstop is over: the next relist that is not a restart (after a 410) is not one.
    let gone =
        watcher::Error::WatchError(Status::failure("gone", "Expired").with_code(410).boxed());
    w.step(Input::Failed(&gone), clock.t(21));
    w.step(Input::Event(Event::Init), clock.t(22));
    w.step(Input::PermitGranted, clock.t(22));
    let fx = w.step(
        Input::Event(Event::InitApply(object("a", Some("40")))),
        clock.t(23),
    );
    assert_eq!(words(&fx), ["upsert a"]);
}

#[test]
fn delete_events_move_the_drift_boundary_too() {
    let clock = Clock::new();
    let mut w = listed(kustomizations(), &clock, &["a"]);
    w.step(
        Input::Event(Event::Delete(object("z", Some("70")))),
        clock.t(10),
    );
    w.step(Input::End, clock.t(11));
    w.step(Input::Event(Event::Init), clock.t(12));
    w.step(Input::PermitGranted, clock.t(12));
    let fx = w.step(
        Input::Event(Event::InitApply(object("a", Some("70")))),
        clock.t(13),
    );
    assert_eq!(words(&fx), ["upsert a (drift?)"]);
}

#[test]
fn only_api_statuses_401_and_403_are_auth_failures() {
    assert_eq!(
        classify(&watcher::Error::InitialListFailed(api_error(401))),
        FailureKind::Auth
    );
    assert_eq!(
        classify(&watcher::Error::WatchFailed(api_error(403))),
        FailureKind::Auth
    );
    assert_eq!(
        classify(&watcher::Error::InitialListFailed(api_error(500))),
        FailureKind::Transient
    );
    assert_eq!(
        classify(&watcher::Error::NoResourceVersion),
        FailureKind::Transient
    );
    assert!(!is_routine(&watcher::Error::NoResourceVersion));
}
