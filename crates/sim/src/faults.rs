//! Fault injection: the shared [`FaultState`] the server consults on every request, and the
//! public [`Faults`] handle tests and the admin endpoint use to flip it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::state::Shared;
use super::status::ApiError;

/// Fault switches. Written by [`Faults`]; read by the request path and watch streams.
#[derive(Debug)]
pub struct FaultState {
    hang_until: Mutex<Option<Instant>>,
    slow: Mutex<Duration>,
    /// (remaining count, HTTP code) of injected failures.
    fail_next: Mutex<(u32, u16)>,
    refuse_until: Mutex<Option<Instant>>,
    forbidden: Mutex<HashSet<String>>,
    /// Bumped to end every running watch stream abruptly.
    pub drop_watches: watch::Sender<u64>,
    /// Bumped to close every connection (restart).
    pub drop_connections: watch::Sender<u64>,
}

impl Default for FaultState {
    fn default() -> Self {
        Self {
            hang_until: Mutex::new(None),
            slow: Mutex::new(Duration::ZERO),
            fail_next: Mutex::new((0, 500)),
            refuse_until: Mutex::new(None),
            forbidden: Mutex::new(HashSet::new()),
            drop_watches: watch::channel(0).0,
            drop_connections: watch::channel(0).0,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FaultState {
    /// When the current hang ends, if one is active.
    pub fn hang_deadline(&self) -> Option<Instant> {
        let mut h = lock(&self.hang_until);
        match *h {
            Some(t) if t > Instant::now() => Some(t),
            Some(_) => {
                *h = None;
                None
            }
            None => None,
        }
    }

    /// Extra latency per request.
    pub fn slow(&self) -> Duration {
        *lock(&self.slow)
    }

    /// Take one injected failure, if any remain.
    pub fn take_failure(&self) -> Option<ApiError> {
        let mut f = lock(&self.fail_next);
        if f.0 == 0 {
            return None;
        }
        f.0 -= 1;
        Some(ApiError::injected(f.1))
    }

    /// Whether every request is refused with 403 now.
    pub fn refusing(&self) -> bool {
        lock(&self.refuse_until).is_some_and(|t| t > Instant::now())
    }

    /// Whether requests for this plural are refused with 403.
    pub fn is_forbidden(&self, plural: &str) -> bool {
        let f = lock(&self.forbidden);
        !f.is_empty() && f.contains(plural)
    }
}

/// Public handle to flip faults on a running [`SimCluster`](super::SimCluster).
#[derive(Clone)]
pub struct Faults {
    pub(crate) shared: Arc<Shared>,
}

impl Faults {
    /// End every running watch stream abruptly (the connection is cut mid-stream, like a
    /// load balancer dropping it). Clients resume from their last resourceVersion.
    pub fn drop_watches(&self) {
        self.shared.faults.drop_watches.send_modify(|e| *e += 1);
    }

    /// Forget all retained watch history: resuming from any version older than now answers
    /// `410 Expired`, and continue tokens expire. Running watches are not interrupted.
    pub fn compact(&self) {
        self.shared.store.compact();
    }

    /// Accept requests but answer none for `d` (requests arriving meanwhile are held, then
    /// their connection is closed unanswered); running watches stall for the same time.
    pub fn hang(&self, d: Duration) {
        *lock(&self.shared.faults.hang_until) = Some(Instant::now() + d);
    }

    /// Fail the next `n` requests with `code` (500, 503, 504, 429...) and a Status body.
    pub fn fail_next(&self, n: u32, code: u16) {
        *lock(&self.shared.faults.fail_next) = (n, code);
    }

    /// Refuse every authenticated request with 403 (`true`) or stop refusing (`false`).
    pub fn refuse_403(&self, on: bool) {
        let until = on.then(|| Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600));
        *lock(&self.shared.faults.refuse_until) = until;
    }

    /// Refuse every request with 403 for `d`.
    pub fn refuse_403_for(&self, d: Duration) {
        *lock(&self.shared.faults.refuse_until) = Some(Instant::now() + d);
    }

    /// Refuse requests for one resource (plural, e.g. `helmreleases`) with 403, or stop.
    pub fn forbid_resource(&self, plural: &str, on: bool) {
        let mut f = lock(&self.shared.faults.forbidden);
        if on {
            f.insert(plural.to_string());
        } else {
            f.remove(plural);
        }
    }

    /// Delay every response (and watch start) by `d`; `Duration::ZERO` turns it off.
    pub fn slow(&self, d: Duration) {
        *lock(&self.shared.faults.slow) = d;
    }

    /// Simulate an apiserver restart: every connection (watches included) is closed, and
    /// watch history is gone (old resourceVersions answer 410). Objects, resourceVersions,
    /// address and certificates stay the same.
    pub fn restart(&self) {
        self.shared.store.compact();
        self.shared.faults.drop_connections.send_modify(|e| *e += 1);
        self.shared.faults.drop_watches.send_modify(|e| *e += 1);
    }

    /// Retain only `n` watch events per resource type from now on (the excess is evicted on
    /// the next write of each type), so slow watchers and old resumes hit 410 sooner.
    pub fn set_history_limit(&self, n: usize) {
        self.shared.store.set_history_limit(n);
    }

    /// Turn every fault off.
    pub fn clear(&self) {
        let f = &self.shared.faults;
        *lock(&f.hang_until) = None;
        *lock(&f.slow) = Duration::ZERO;
        *lock(&f.fail_next) = (0, 500);
        *lock(&f.refuse_until) = None;
        lock(&f.forbidden).clear();
    }
}
