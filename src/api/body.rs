//! Request body limits. The guard runs first, so a caller without a credential for a non-public
//! operation is refused before a byte of its body is read; here, after it, the limit is put on
//! the body *stream*: nothing is buffered in middleware, and the handler reading the body is
//! stopped at the limit.
//!
//! - A declared `Content-Length` over the limit is refused at once.
//! - A body without one (chunked) is counted as the handler reads it; at the limit the read
//!   fails and the request is answered 413, whatever the handler made of the failed read.
//! - Either way, up to four times the limit is read and discarded first (for at most 5 s), so a
//!   client still sending reads the 413 instead of a broken pipe.
//! - Requests that reach a public operation without a principal (logins) get a far smaller
//!   limit, [`PUBLIC_MAX_BODY`], and must deliver it within [`Limits::public_time`] (else 408):
//!   their bodies are a token or a form, anyone may send them, and a body trickled in byte by
//!   byte would otherwise hold the connection for good.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use poem::http::{StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use tokio::time::Instant;

use super::error::json_error;
use crate::auth::Principal;

/// Largest body of a request that reaches a public operation unauthenticated (a login).
pub const PUBLIC_MAX_BODY: usize = 16 * 1024;

/// Longest time spent discarding an oversized body before answering 413.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The body limits of the application.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body of an authenticated request (`FLUXO_MAX_BODY_BYTES`).
    pub max_bytes: usize,
    /// Longest time an unauthenticated body may take to arrive, from when the handler starts
    /// reading it (the header read timeout).
    pub public_time: Duration,
}

/// How a guarded body ended, when it did not end well.
const FINE: u8 = 0;
const TOO_LARGE: u8 = 1;
const TOO_SLOW: u8 = 2;

/// How much of an oversized body is read and thrown away before the 413 is sent.
fn drain_limit(max: usize) -> usize {
    max.saturating_mul(4)
}

fn too_large(max: usize) -> poem::Error {
    poem::Error::from_response(json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("request body is larger than {max} bytes"),
    ))
}

/// The answer to a body that ended with `verdict`, unless it ended well.
fn refusal(verdict: u8, max: usize) -> Option<poem::Error> {
    match verdict {
        TOO_LARGE => Some(too_large(max)),
        TOO_SLOW => Some(poem::Error::from_response(json_error(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        ))),
        _ => None,
    }
}

/// Read and discard the rest of an oversized body — at most `limit` bytes, for at most
/// `time`. Bodies beyond the limit are cut off at once.
async fn drain(stream: impl Stream<Item = io::Result<Bytes>>, mut limit: usize, time: Duration) {
    let mut stream = std::pin::pin!(stream);
    let _ = tokio::time::timeout(time, async {
        while let Some(Ok(chunk)) = stream.next().await {
            if chunk.len() >= limit {
                break;
            }
            limit -= chunk.len();
        }
    })
    .await;
}

/// `body`, failing once more than `max` bytes have come (after draining the rest) or, with a
/// `time`, once that long has passed since the first read; `verdict` says which.
fn guarded(body: Body, max: usize, time: Option<Duration>, verdict: Arc<AtomicU8>) -> Body {
    let stream = Box::pin(body.into_bytes_stream());
    let chunks = futures::stream::unfold(Some((stream, 0usize, None)), move |state| {
        let verdict = verdict.clone();
        async move {
            let (mut stream, seen, deadline) = state?;
            let deadline: Option<Instant> = deadline.or_else(|| time.map(|t| Instant::now() + t));
            let next = match deadline {
                Some(d) => tokio::time::timeout_at(d, stream.next()).await.ok(),
                None => Some(stream.next().await),
            };
            let Some(next) = next else {
                verdict.store(TOO_SLOW, Ordering::Release);
                let e = io::Error::new(io::ErrorKind::TimedOut, "request body too slow");
                return Some((Err(e), None));
            };
            let chunk = match next? {
                Ok(chunk) => chunk,
                Err(e) => return Some((Err(e), None)),
            };
            let seen = seen.saturating_add(chunk.len());
            if seen <= max {
                return Some((Ok(chunk), Some((stream, seen, deadline))));
            }
            verdict.store(TOO_LARGE, Ordering::Release);
            drain(stream, drain_limit(max), DRAIN_TIME).await;
            let e = io::Error::new(io::ErrorKind::InvalidData, "request body too large");
            Some((Err(e), None))
        }
    });
    Body::from_bytes_stream(chunks)
}

/// Refuse request bodies over the limit with 413, whether or not they declare a length, and
/// unauthenticated bodies that take too long with 408.
pub async fn limit<E: Endpoint>(
    next: E,
    mut req: Request,
    limits: Limits,
) -> poem::Result<Response> {
    // Without a principal the guard let the request through as a public operation.
    let public = req.extensions().get::<Principal>().is_none();
    let max = if public {
        limits.max_bytes.min(PUBLIC_MAX_BODY)
    } else {
        limits.max_bytes
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    match declared {
        Some(len) if len > max as u64 => {
            if len <= drain_limit(max) as u64 {
                let body = req.take_body().into_bytes_stream();
                drain(body, drain_limit(max), DRAIN_TIME).await;
            }
            return Err(too_large(max));
        }
        // hyper ends the body at the declared length; only its pace is left to watch.
        Some(len) if len == 0 || !public => return Ok(next.call(req).await?.into_response()),
        None if !chunked => return Ok(next.call(req).await?.into_response()),
        _ => {}
    }
    let verdict = Arc::new(AtomicU8::new(FINE));
    let time = public.then_some(limits.public_time);
    let body = req.take_body();
    req.set_body(guarded(body, max, time, verdict.clone()));
    let result = next.call(req).await;
    if let Some(refused) = refusal(verdict.load(Ordering::Acquire), max) {
        return Err(refused);
    }
    Ok(result?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(sizes: &[usize]) -> Body {
        let items: Vec<io::Result<Bytes>> = sizes
            .iter()
            .map(|n| Ok(Bytes::from(vec![b'x'; *n])))
            .collect();
        Body::from_bytes_stream(futures::stream::iter(items))
    }

    #[tokio::test]
    async fn a_body_within_the_limit_passes_whole() {
        let verdict = Arc::new(AtomicU8::new(FINE));
        let body = guarded(chunks(&[40, 60]), 100, None, verdict.clone());
        assert_eq!(body.into_vec().await.unwrap().len(), 100);
        assert_eq!(verdict.load(Ordering::Acquire), FINE);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_fails_the_read_and_is_marked() {
        let verdict = Arc::new(AtomicU8::new(FINE));
        let body = guarded(chunks(&[60, 60, 10]), 100, None, verdict.clone());
        assert!(body.into_vec().await.is_err());
        assert_eq!(verdict.load(Ordering::Acquire), TOO_LARGE);
    }

    #[tokio::test]
    async fn draining_an_endless_body_stops_after_the_drain_time() {
        let endless =
            futures::stream::repeat_with(|| Ok(Bytes::from_static(b"x"))).then(|c| async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                c
            });
        let start = tokio::time::Instant::now();
        drain(endless, usize::MAX, Duration::from_millis(200)).await;
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_millis(450),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn draining_stops_at_the_limit() {
        let endless = futures::stream::repeat_with(|| Ok(Bytes::from_static(b"xxxx")));
        let start = tokio::time::Instant::now();
        drain(endless, 1000, Duration::from_secs(60)).await;
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_body_that_trickles_past_its_time_fails_the_read_and_is_marked() {
        let trickle = futures::stream::repeat_with(|| Ok::<_, io::Error>(Bytes::from_static(b"x")))
            .then(|c| async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                c
            });
        let verdict = Arc::new(AtomicU8::new(FINE));
        let body = guarded(
            Body::from_bytes_stream(trickle),
            1000,
            Some(Duration::from_millis(300)),
            verdict.clone(),
        );
        let start = tokio::time::Instant::now();
        assert!(body.into_vec().await.is_err());
        assert_eq!(verdict.load(Ordering::Acquire), TOO_SLOW);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_millis(550),
            "{took:?}"
        );
    }
}
