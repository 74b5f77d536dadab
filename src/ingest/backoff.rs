//! Retry policy for watchers (our own, not kube-runtime's default).
//!
//! - The first retry is fast (100 ms): most failures are a dropped connection.
//! - Then exponential, capped at 10 s, plus up to 1 s of additive jitter so that many watchers
//!   failing together (an apiserver restart) do not come back in lockstep.
//! - 401/403 are not transient: retried no more than once a minute. kube's default backoff resets
//!   on every `Init` and retries a standing 403 every ~1.2 s (~3,000 requests an hour).
//! - The policy resets only after a success (an event received), not on a retry.

use std::time::Duration;

/// Longest wait between retries of transient failures.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// Wait between retries when the apiserver refuses our credentials.
pub const AUTH_DELAY: Duration = Duration::from_secs(60);
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_JITTER_MS: u64 = 1000;

/// How a failure should be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Connection drops, timeouts, 5xx, 410 handled by the watcher itself.
    Transient,
    /// 401 or 403: our credentials or RBAC are wrong; someone has to fix them.
    Auth,
}

/// Exponential backoff state for one watcher.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
    jitter_seed: u64,
}

impl Backoff {
    /// A fresh policy; `seed` varies the jitter between watchers.
    pub fn new(seed: u64) -> Backoff {
        Backoff {
            failures: 0,
            jitter_seed: seed | 1,
        }
    }

    /// Forget past failures (call on success).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the next retry of a failure of this kind.
    pub fn next_delay(&mut self, kind: FailureKind) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if kind == FailureKind::Auth {
            return AUTH_DELAY;
        }
        if self.failures == 1 {
            return FIRST_DELAY;
        }
        let exp = FIRST_DELAY.saturating_mul(1u32 << (self.failures - 1).min(10));
        exp.min(MAX_DELAY) + Duration::from_millis(self.jitter() % (MAX_JITTER_MS + 1))
    }

    /// xorshift64: cheap, deterministic per seed, good enough to spread retries.
    fn jitter(&mut self) -> u64 {
        let mut x = self.jitter_seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter_seed = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_retry_is_fast_then_grows_to_the_cap_with_bounded_jitter() {
        let mut b = Backoff::new(42);
        assert_eq!(b.next_delay(FailureKind::Transient), FIRST_DELAY);
        let mut last = Duration::ZERO;
        for _ in 0..20 {
            let d = b.next_delay(FailureKind::Transient);
            assert!(
                d <= MAX_DELAY + Duration::from_millis(MAX_JITTER_MS),
                "{d:?}"
            );
            last = d;
        }
        assert!(last >= MAX_DELAY, "reaches the cap: {last:?}");
    }

    #[test]
    fn auth_failures_wait_a_minute_every_time() {
        let mut b = Backoff::new(1);
        for _ in 0..5 {
            assert_eq!(b.next_delay(FailureKind::Auth), AUTH_DELAY);
        }
        let requests_per_hour = 3600 / AUTH_DELAY.as_secs();
        assert!(requests_per_hour <= 60);
    }

    #[test]
    fn reset_after_success_makes_the_next_retry_fast_again() {
        let mut b = Backoff::new(7);
        for _ in 0..5 {
            b.next_delay(FailureKind::Transient);
        }
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay(FailureKind::Transient), FIRST_DELAY);
    }

    #[test]
    fn jitter_differs_between_watchers() {
        let delays = |seed| {
            let mut b = Backoff::new(seed);
            (0..6)
                .map(|_| b.next_delay(FailureKind::Transient))
                .collect::<Vec<_>>()
        };
        assert_ne!(delays(1), delays(2));
    }
}
