use super::*;

const TIMEOUT: Duration = Duration::from_secs(10);

fn status() -> Status {
    Status::new("r".into(), Instant::now())
}

fn unanswered() -> Result<(), Failure> {
    Err(Failure::local("no answer to a version request within 10 s"))
}

#[test]
fn one_unanswered_probe_is_no_silence_yet() {
    let (mut dog, mut status) = (Watchdog::default(), status());
    assert!(!dog.on_probe(unanswered(), &mut status, TIMEOUT, Utc::now()));
    assert!(status.silent.is_none());
}

#[test]
fn two_unanswered_probes_in_a_row_make_the_server_silent_since_the_first_was_sent() {
    let (mut dog, mut status) = (Watchdog::default(), status());
    let first = Utc::now();
    dog.on_probe(unanswered(), &mut status, TIMEOUT, first);
    status.written(Instant::now());
    dog.on_probe(
        unanswered(),
        &mut status,
        TIMEOUT,
        first + chrono::Duration::seconds(20),
    );
    let (since, _) = status.silent.as_ref().expect("silent");
    assert_eq!(*since, first - chrono::Duration::seconds(10));
    assert!(status.dirty, "written at the next flush");
}

#[test]
fn an_answer_between_two_unanswered_probes_starts_the_count_again() {
    let (mut dog, mut status) = (Watchdog::default(), status());
    dog.on_probe(unanswered(), &mut status, TIMEOUT, Utc::now());
    assert!(
        !dog.on_probe(Ok(()), &mut status, TIMEOUT, Utc::now()),
        "there was no silence"
    );
    dog.on_probe(unanswered(), &mut status, TIMEOUT, Utc::now());
    assert!(status.silent.is_none());
}

#[test]
fn an_answer_after_a_silence_starts_the_session_over() {
    let (mut dog, mut status) = (Watchdog::default(), status());
    dog.on_probe(unanswered(), &mut status, TIMEOUT, Utc::now());
    dog.on_probe(unanswered(), &mut status, TIMEOUT, Utc::now());
    assert!(dog.on_probe(Ok(()), &mut status, TIMEOUT, Utc::now()));
    assert!(status.silent.is_none());
}

#[test]
fn an_unreachable_cluster_is_given_up_after_the_limit() {
    let mut dog = Watchdog::default();
    let t = Instant::now();
    assert!(!dog.gives_up(true, t, TIMEOUT));
    assert!(
        !dog.gives_up(true, t + TIMEOUT, TIMEOUT),
        "not longer than the limit yet"
    );
    assert!(dog.gives_up(true, t + TIMEOUT + Duration::from_millis(1), TIMEOUT));
}

#[test]
fn a_cluster_reachable_again_restarts_the_unreachable_clock() {
    let mut dog = Watchdog::default();
    let t = Instant::now();
    dog.gives_up(true, t, TIMEOUT);
    assert!(!dog.gives_up(false, t + TIMEOUT, TIMEOUT));
    assert!(
        !dog.gives_up(true, t + 2 * TIMEOUT, TIMEOUT),
        "unreachable only since now"
    );
}
