//! One client connection: hyper's HTTP/1.1 server on a socket that enforces the header and idle
//! deadlines.
//!
//! # The phases of a connection
//!
//! | phase      | begins                                   | deadline after it begins |
//! |------------|------------------------------------------|--------------------------|
//! | `Head`     | accept, or the first byte after `Idle`   | `header_read_timeout`    |
//! | `Busy`     | the application receives the request     | none                     |
//! | `Idle`     | the response body has been handed over   | `idle_timeout`           |
//! | `Upgraded` | a `101 Switching Protocols` response     | none, for good           |
//!
//! Invariants:
//! - Every change of phase happens on the connection's own task: hyper polls the socket, the
//!   service future and the response body from the one connection future. [`Phase`] is atomic
//!   only so it can be shared (`Arc`); a phase and the time it began are one word, never torn.
//! - The deadline is enforced inside the socket's `poll_read`: hyper is reading whenever it
//!   waits for a request head (`Head`, `Idle`), so the timer is polled exactly then, and its
//!   expiry is a read error that makes hyper drop the connection. No task per connection, no
//!   lock, no clock read per byte (only when a phase begins).
//! - Trickling bytes does not move a `Head` deadline: it runs from the head's first byte.
//! - A WebSocket (`Upgraded`) keeps the socket, and with it the connection's [`Permit`], until
//!   the stream ends; its liveness is the stream's own heartbeat and idle timeout.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::limits::Permit;
use super::{ClientIp, Shared};
use crate::metrics::Counter;

/// poem's response body type.
type BoxBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

const HEAD: u64 = 0;
const BUSY: u64 = 1;
const IDLE: u64 = 2;
const UPGRADED: u64 = 3;

/// The connection's phase and when it began (milliseconds since `origin`), in one word.
#[derive(Debug)]
pub(super) struct Phase {
    origin: Instant,
    /// `began_ms << 2 | phase`; written and read on the connection's task only (module doc).
    word: AtomicU64,
}

impl Phase {
    /// A new connection, waiting for its first head.
    pub(super) fn new() -> Phase {
        Phase {
            origin: Instant::now(),
            word: AtomicU64::new(HEAD),
        }
    }

    fn get(&self) -> (u64, u64) {
        let word = self.word.load(Ordering::Relaxed);
        (word & 3, word >> 2)
    }

    fn set(&self, phase: u64) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX >> 2);
        self.word.store(ms << 2 | phase, Ordering::Relaxed);
    }

    /// Bytes arrived: after `Idle` they are the first of a new head.
    fn bytes_read(&self) {
        if self.get().0 == IDLE {
            self.set(HEAD);
        }
    }

    /// The application has the request.
    fn busy(&self) {
        if self.get().0 != UPGRADED {
            self.set(BUSY);
        }
    }

    /// The response body is done (or dropped): wait for the next request.
    fn answered(&self) {
        if self.get().0 == BUSY {
            self.set(IDLE);
        }
    }

    /// The socket now belongs to a WebSocket.
    fn upgraded(&self) {
        self.set(UPGRADED);
    }

    /// When the connection must be dropped unless the phase changes, and which timeout that is.
    fn deadline(&self, limits: &Deadlines) -> Option<(Instant, Expiry)> {
        let (phase, began) = self.get();
        let (timeout, expiry) = match phase {
            HEAD => (limits.header, Expiry::Header),
            IDLE => (limits.idle, Expiry::Idle),
            _ => return None,
        };
        Some((self.origin + Duration::from_millis(began) + timeout, expiry))
    }
}

/// Which deadline expired.
#[derive(Debug, Clone, Copy)]
enum Expiry {
    Header,
    Idle,
}

/// The two timeouts and the counters of connections they ended.
#[derive(Debug, Clone)]
pub(super) struct Deadlines {
    /// Longest time from a head's first byte (or accept) to its end.
    pub header: Duration,
    /// Longest wait for the next request after a response.
    pub idle: Duration,
    /// Connections dropped at the header deadline.
    pub header_expired: Counter,
    /// Connections dropped at the idle deadline.
    pub idle_expired: Counter,
}

/// A socket that fails its reads once the current phase's deadline has passed.
pub(super) struct Watched<IO> {
    io: IO,
    phase: Arc<Phase>,
    deadlines: Deadlines,
    /// The deadline timer, made on first use and moved with the phase.
    timer: Option<Pin<Box<Sleep>>>,
    /// Holds the connection's place under the caps until the socket is dropped.
    _permit: Permit,
}

impl<IO> Watched<IO> {
    /// Watch `io` with `phase` and `deadlines`.
    pub(super) fn new(
        io: IO,
        phase: Arc<Phase>,
        deadlines: Deadlines,
        permit: Permit,
    ) -> Watched<IO> {
        Watched {
            io,
            phase,
            deadlines,
            timer: None,
            _permit: permit,
        }
    }

    /// `Ready(Err)` once the deadline of the current phase has passed; otherwise the timer is
    /// armed to wake the task then.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((deadline, expiry)) = self.phase.deadline(&self.deadlines) else {
            return Poll::Pending;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let (counter, what) = match expiry {
            Expiry::Header => (
                &self.deadlines.header_expired,
                "request head not received in time",
            ),
            Expiry::Idle => (&self.deadlines.idle_expired, "keep-alive connection idle"),
        };
        counter.inc();
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.phase.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => this.poll_deadline(cx),
            failed => failed,
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A response body that moves the connection to `Idle` when hyper is done with it.
pub(super) struct Tracked {
    body: BoxBody,
    phase: Arc<Phase>,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.phase.answered();
    }
}

/// Serve HTTP/1.1 on an admitted connection until it closes, is upgraded, or the server stops
/// (gracefully: the request in flight finishes; hard: at once).
pub(super) async fn run<E>(
    shared: Arc<Shared<E>>,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    permit: Permit,
) where
    E: Endpoint + 'static,
{
    let phase = Arc::new(Phase::new());
    let io = Watched::new(tcp, phase.clone(), shared.deadlines.clone(), permit);
    let (graceful, hard) = (shared.graceful.clone(), shared.hard.clone());
    let service = hyper::service::service_fn(move |req| {
        let (shared, phase) = (shared.clone(), phase.clone());
        async move { Ok::<_, Infallible>(respond(&shared, &phase, peer, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(super::MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let ended = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = graceful.cancelled() => None,
        _ = hard.cancelled() => return,
    };
    let result = match ended {
        Some(r) => r,
        None => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                r = conn => r,
                _ = hard.cancelled() => return,
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

/// Hand one request to the application, naming the client, and track its response.
async fn respond<E: Endpoint>(
    shared: &Shared<E>,
    phase: &Arc<Phase>,
    peer: SocketAddr,
    req: http::Request<Incoming>,
) -> http::Response<Tracked> {
    phase.busy();
    let client = shared.proxies.client_ip(peer.ip(), req.headers());
    let local = LocalAddr(Addr::SocketAddr(shared.local));
    let remote = RemoteAddr(Addr::SocketAddr(peer));
    let mut req = poem::Request::from((req, local, remote, Scheme::HTTP));
    req.extensions_mut().insert(ClientIp(client));
    // Boxed: hyper keeps room for the service future in every connection from the start, and
    // the application's future is large: unboxed, 2,000 held half-sent heads plus 200 bodies
    // grew RSS by 84 MiB instead of 47.
    let resp = Box::pin(shared.endpoint.get_response(req)).await;
    if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        phase.upgraded();
    }
    let resp: http::Response<BoxBody> = resp.into();
    resp.map(|body| Tracked {
        body,
        phase: phase.clone(),
    })
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
