//! Request counters per verb and resource, for benchmarks and tests that assert how often a
//! client listed, watched or patched; and the bytes on the wire in each direction.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::state::Shared;

/// Request verb, as the simulator classifies requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verb {
    /// Collection GET.
    List,
    /// Collection GET with `watch=true`.
    Watch,
    /// Object GET.
    Get,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// `/api`, `/apis`, `/version`, `/openapi`...
    Discovery,
}

impl Verb {
    /// Upper-case name, as in `snapshot()` keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "LIST",
            Self::Watch => "WATCH",
            Self::Get => "GET",
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Discovery => "DISCOVERY",
        }
    }
}

/// Counters: written by the request path and the connections, read by [`RequestCounts`].
#[derive(Debug, Default)]
pub struct CountState {
    requests: Mutex<BTreeMap<(Verb, String), u64>>,
    /// Bytes written to clients' TCP connections (TLS records included).
    bytes_sent: AtomicU64,
    /// Bytes read from clients' TCP connections.
    bytes_received: AtomicU64,
    /// Client connections accepted, and those still open.
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
}

impl CountState {
    /// Count one request (resource is the plural, or the path for discovery).
    pub fn add(&self, verb: Verb, resource: &str) {
        let mut m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(&(verb, resource.to_string())) {
            Some(n) => *n += 1,
            None => {
                m.insert((verb, resource.to_string()), 1);
            }
        }
    }
}

/// Live view of a cluster's request counters.
#[derive(Clone)]
pub struct RequestCounts {
    pub(crate) shared: Arc<Shared>,
}

impl RequestCounts {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Verb, String), u64>> {
        self.shared
            .counts
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes the server wrote to its clients' TCP connections (TLS records included).
    pub fn bytes_sent(&self) -> u64 {
        self.shared.counts.bytes_sent.load(Ordering::Relaxed)
    }

    /// Bytes the server read from its clients' TCP connections.
    pub fn bytes_received(&self) -> u64 {
        self.shared.counts.bytes_received.load(Ordering::Relaxed)
    }

    /// Client TCP connections accepted since the start (or the last [`Self::reset`]).
    pub fn connections_accepted(&self) -> u64 {
        self.shared
            .counts
            .connections_accepted
            .load(Ordering::Relaxed)
    }

    /// Client TCP connections open now (an HTTP/2 client multiplexes its requests on one).
    pub fn connections_open(&self) -> u64 {
        self.shared.counts.connections_open.load(Ordering::Relaxed)
    }

    /// Requests with `verb` on `resource` (plural, e.g. `kustomizations`).
    pub fn get(&self, verb: Verb, resource: &str) -> u64 {
        self.map()
            .get(&(verb, resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests with `verb` on any resource.
    pub fn total(&self, verb: Verb) -> u64 {
        self.map()
            .iter()
            .filter(|((v, _), _)| *v == verb)
            .map(|(_, n)| n)
            .sum()
    }

    /// All counters as `"LIST kustomizations" → n`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.map()
            .iter()
            .map(|((v, r), n)| (format!("{} {r}", v.as_str()), *n))
            .collect()
    }

    /// Zero every counter.
    pub fn reset(&self) {
        self.map().clear();
        self.shared.counts.bytes_sent.store(0, Ordering::Relaxed);
        self.shared
            .counts
            .bytes_received
            .store(0, Ordering::Relaxed);
        self.shared
            .counts
            .connections_accepted
            .store(0, Ordering::Relaxed);
    }
}

/// A client connection that counts itself and its bytes into the cluster's [`CountState`].
pub struct Counted<S> {
    inner: S,
    shared: Arc<super::state::Shared>,
}

impl<S> Counted<S> {
    /// Count `inner`'s traffic into `shared.counts`.
    pub fn new(inner: S, shared: Arc<super::state::Shared>) -> Self {
        let counts = &shared.counts;
        counts.connections_accepted.fetch_add(1, Ordering::Relaxed);
        counts.connections_open.fetch_add(1, Ordering::Relaxed);
        Self { inner, shared }
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        let open = &self.shared.counts.connections_open;
        open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        self.shared
            .counts
            .bytes_received
            .fetch_add(read, Ordering::Relaxed);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.shared
                .counts
                .bytes_sent
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
