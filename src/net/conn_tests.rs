//! The phases and deadlines of a connection, on an in-memory socket. Real time with short
//! timeouts (tokio's paused clock would need its `test-util` feature, which rebuilds every
//! dependency of the test build).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::{Instant, sleep};

use super::*;
use crate::metrics::Metrics;
use crate::net::limits::Caps;

const HEADER: Duration = Duration::from_millis(300);
const IDLE: Duration = Duration::from_millis(600);
/// Scheduling slack allowed on top of a deadline.
const SLACK: Duration = Duration::from_millis(250);

/// A watched server end of an in-memory connection, and the client end.
fn connection() -> (DuplexStream, Arc<Phase>, Watched<DuplexStream>, Deadlines) {
    let (client, server) = tokio::io::duplex(1024);
    let deadlines = Deadlines {
        header: HEADER,
        idle: IDLE,
        header_expired: Counter::default(),
        idle_expired: Counter::default(),
    };
    let caps = Caps::new(10, 10, &Metrics::default());
    let permit = caps.admit("192.0.2.1".parse().unwrap(), false).unwrap();
    let phase = Arc::new(Phase::new());
    let io = Watched::new(server, phase.clone(), deadlines.clone(), permit);
    (client, phase, io, deadlines)
}

/// Read until the socket fails; the error.
async fn read_until_error(io: &mut Watched<DuplexStream>) -> io::Error {
    let mut buf = [0u8; 64];
    loop {
        match io.read(&mut buf).await {
            Ok(0) => panic!("the socket closed instead of failing"),
            Ok(_) => {}
            Err(e) => return e,
        }
    }
}

fn assert_about(took: Duration, expected: Duration) {
    assert!(
        took >= expected - Duration::from_millis(5) && took < expected + SLACK,
        "took {took:?}, expected about {expected:?}"
    );
}

fn empty_body(phase: &Arc<Phase>) -> Tracked {
    Tracked {
        body: BoxBody::from(poem::Body::empty()),
        phase: phase.clone(),
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_dropped_at_the_header_deadline() {
    let (_client, _phase, mut io, deadlines) = connection();
    let start = Instant::now();
    let e = read_until_error(&mut io).await;
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert_about(start.elapsed(), HEADER);
    assert_eq!(deadlines.header_expired.get(), 1);
}

#[tokio::test]
async fn trickling_a_head_in_does_not_move_the_header_deadline() {
    let (mut client, _phase, mut io, _) = connection();
    let start = Instant::now();
    let trickle = async {
        loop {
            sleep(Duration::from_millis(50)).await;
            if client.write_all(b"x").await.is_err() {
                break;
            }
        }
    };
    let e = tokio::select! {
        e = read_until_error(&mut io) => e,
        _ = trickle => panic!("the writer stopped first"),
    };
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert_about(start.elapsed(), HEADER);
}

#[tokio::test]
async fn a_busy_connection_has_no_deadline_and_an_answered_one_idles_until_the_idle_deadline() {
    let (mut client, phase, mut io, deadlines) = connection();
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 64];
    assert!(io.read(&mut buf).await.unwrap() > 0);
    phase.busy();
    // A slow handler (or a slow body) is cut by neither timeout.
    let read = tokio::time::timeout(IDLE + HEADER, io.read(&mut buf)).await;
    assert!(read.is_err(), "a busy connection must not fail its reads");
    drop(empty_body(&phase));
    let answered = Instant::now();
    let e = read_until_error(&mut io).await;
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert_about(answered.elapsed(), IDLE);
    assert_eq!(
        (deadlines.header_expired.get(), deadlines.idle_expired.get()),
        (0, 1)
    );
}

#[tokio::test]
async fn the_first_byte_after_idle_starts_a_header_deadline() {
    let (mut client, phase, mut io, _) = connection();
    phase.busy();
    phase.answered();
    sleep(HEADER).await;
    client.write_all(b"G").await.unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(io.read(&mut buf).await.unwrap(), 1);
    let head_began = Instant::now();
    let e = read_until_error(&mut io).await;
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    // Not the idle deadline, which was IDLE - HEADER away.
    assert_about(head_began.elapsed(), HEADER);
}

#[tokio::test]
async fn an_upgraded_connection_never_times_out() {
    let (_client, phase, mut io, _) = connection();
    phase.busy();
    phase.upgraded();
    // hyper drops the 101 response's body after the upgrade; that must not make it idle.
    drop(empty_body(&phase));
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(IDLE * 2, io.read(&mut buf)).await;
    assert!(
        read.is_err(),
        "an upgraded connection must not fail its reads"
    );
}

#[test]
fn only_head_and_idle_phases_have_deadlines() {
    let (_client, phase, _io, deadlines) = connection();
    assert!(matches!(
        phase.deadline(&deadlines),
        Some((_, Expiry::Header))
    ));
    phase.busy();
    assert!(phase.deadline(&deadlines).is_none());
    phase.answered();
    assert!(matches!(
        phase.deadline(&deadlines),
        Some((_, Expiry::Idle))
    ));
    phase.bytes_read();
    assert!(matches!(
        phase.deadline(&deadlines),
        Some((_, Expiry::Header))
    ));
    phase.upgraded();
    phase.answered();
    phase.bytes_read();
    assert!(phase.deadline(&deadlines).is_none());
}
