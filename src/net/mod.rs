//! The HTTP server's transport: accepting connections under a global and a per-address cap,
//! the header-read and keep-alive idle deadlines, and who the client is behind a trusted proxy.
//! `app` binds a [`Server`] and runs the application from `api` on it; `api` reads the client's
//! address from the [`ClientIp`] extension of each request.
//!
//! poem's own `Server` offers neither caps nor a header deadline (its idle timeout asks hyper
//! to shut down gracefully, which leaves a half-sent head open for good), so this module runs
//! hyper's HTTP/1.1 connections itself and hands each request to the poem endpoint. HTTP/2 is
//! not served: browsers speak it only over TLS, which a proxy in front terminates.

mod conn;
mod limits;
mod proxy;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::MapToResponse;
use poem::{Endpoint, EndpointExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use limits::{Caps, Permit, Refused};
pub use proxy::{Cidr, CidrError, TrustedProxies};

use crate::metrics::{Counter, Family, Label, Metrics};

/// Largest request head (request line and headers); a longer one gets `431`. It is also the
/// read buffer's limit, which hyper checks before each read, so a connection buffers at most
/// twice this (hyper's default allows about 400 KiB, 800 KiB per half-sent head). Browsers send
/// a few KiB; nginx allows 8 KiB per header line.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How often at most a full-server or failing-accept warning is logged.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The client's address as the application should see it: the peer's, or behind a trusted
/// proxy the forwarded client's. Set on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The transport's settings (see `config::NetConfig`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most open connections, WebSocket streams included.
    pub max_connections: usize,
    /// Most open connections from one address (trusted proxies are exempt).
    pub max_connections_per_ip: usize,
    /// Longest time from accept, or from the first byte of a later request, to the end of its head.
    pub header_read_timeout: Duration,
    /// Longest wait for the next request on a keep-alive connection.
    pub idle_timeout: Duration,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
}

impl Settings {
    /// The transport's settings from the command line; `Err` names a trusted-proxy entry that
    /// is not an address or range.
    pub fn from_config(c: &crate::config::NetConfig) -> Result<Settings, CidrError> {
        let ranges = c
            .trusted_proxies
            .iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| entry.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            max_connections: c.max_connections as usize,
            max_connections_per_ip: c.max_connections_per_ip as usize,
            header_read_timeout: Duration::from_secs(c.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(c.idle_timeout_secs),
            trusted_proxies: TrustedProxies::new(ranges),
        })
    }
}

/// Errors of the transport.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Results of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What every connection task shares; made once per [`Server::run`].
struct Shared<E> {
    endpoint: MapToResponse<E>,
    local: SocketAddr,
    deadlines: conn::Deadlines,
    proxies: TrustedProxies,
    /// Cancelled when shutdown begins: each connection finishes its request and closes.
    graceful: CancellationToken,
    /// Cancelled when the grace period is over: connections are dropped.
    hard: CancellationToken,
}

impl<E: Endpoint> Shared<E> {
    fn new(endpoint: E, local: SocketAddr, s: &Settings, metrics: &Metrics) -> Shared<E> {
        let expired: Family<Label, Counter> = metrics.register(
            "fluxo_http_connections_timed_out_total",
            "Connections dropped because a request head (phase=header) or the next request \
             (phase=idle) did not arrive in time.",
            Family::default(),
        );
        let expired = |phase| expired.get_or_create_owned(&[("phase", phase)]);
        Shared {
            endpoint: endpoint.map_to_response(),
            local,
            deadlines: conn::Deadlines {
                header: s.header_read_timeout,
                idle: s.idle_timeout,
                header_expired: expired("header"),
                idle_expired: expired("idle"),
            },
            proxies: s.trusted_proxies.clone(),
            graceful: CancellationToken::new(),
            hard: CancellationToken::new(),
        }
    }
}

/// A bound listener and its limits.
pub struct Server {
    listener: TcpListener,
    local: SocketAddr,
    settings: Settings,
    metrics: Arc<Metrics>,
}

impl Server {
    /// Bind `addr`.
    pub async fn bind(
        addr: SocketAddr,
        settings: Settings,
        metrics: Arc<Metrics>,
    ) -> Result<Server> {
        let bind = |source| Error::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        Ok(Server {
            listener,
            local,
            settings,
            metrics,
        })
    }

    /// The bound address (the real port when `addr` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serve `endpoint` until `signal` resolves; then stop accepting, let open requests finish
    /// for up to `grace`, and drop what is left.
    pub async fn run<E>(self, endpoint: E, signal: impl Future<Output = ()>, grace: Duration)
    where
        E: Endpoint + 'static,
    {
        let s = &self.settings;
        let shared = Arc::new(Shared::new(endpoint, self.local, s, &self.metrics));
        let caps = Caps::new(s.max_connections, s.max_connections_per_ip, &self.metrics);
        let tracker = TaskTracker::new();
        let mut warned = None;
        let mut signal = std::pin::pin!(signal);
        loop {
            let accepted = tokio::select! {
                biased;
                _ = &mut signal => break,
                r = self.listener.accept() => r,
            };
            match accepted {
                Ok((tcp, peer)) => match admit(&caps, &shared.proxies, peer, &mut warned) {
                    Some(permit) => {
                        // Nagle's algorithm stays on (no TCP_NODELAY): hyper writes each
                        // response whole, and stream frames written while earlier ones are
                        // unacknowledged share a segment. With NODELAY every frame was a
                        // packet: at 500 changes/s to 100 subscribers the server spent 45%
                        // more CPU, mostly in the loopback TCP path, and at 2,000/s it fell
                        // seconds behind (docs/benchmarks.md, check of 2026-12-07).
                        tracker.spawn(conn::run(shared.clone(), tcp, peer, permit));
                    }
                    // Refused: closed at once, before a byte is read.
                    None => drop(tcp),
                },
                Err(e) => {
                    // Out of file descriptors, typically: pause instead of spinning.
                    if throttled(&mut warned) {
                        tracing::warn!(error = %e, "cannot accept connections");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        drop(self.listener);
        shutdown(&shared, tracker, grace).await;
    }
}

/// A place under the caps for a connection from `peer`, or `None`.
fn admit(
    caps: &Arc<Caps>,
    proxies: &TrustedProxies,
    peer: SocketAddr,
    warned: &mut Option<Instant>,
) -> Option<Permit> {
    let refused = match caps.admit(peer.ip(), proxies.contains(peer.ip())) {
        Ok(permit) => return Some(permit),
        Err(refused) => refused,
    };
    if throttled(warned) {
        let (open, from_peer) = caps.open(peer.ip());
        tracing::warn!(%peer, ?refused, open, from_peer, "connection cap reached; refusing connections");
    }
    None
}

/// True at most once per [`WARN_EVERY`]: under attack, one line a minute, not one per socket.
fn throttled(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

/// Ask every connection to finish, wait up to `grace`, then drop the rest.
async fn shutdown<E>(shared: &Shared<E>, tracker: TaskTracker, grace: Duration) {
    shared.graceful.cancel();
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            open = tracker.len(),
            "connections still open after the shutdown grace period; dropping them"
        );
        shared.hard.cancel();
        tracker.wait().await;
    }
}
