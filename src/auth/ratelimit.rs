//! Per-address fixed windows of one minute, kept in memory per replica:
//! - [`LoginLimiter`] counts every login attempt (failed and successful alike, so a
//!   password-spraying client is slowed either way), before the request body is read;
//! - [`FailureLimiter`] counts failed credential lookups (unknown bearer tokens and session
//!   cookies) and refuses an address that guesses too often, reporting the moment it first
//!   crosses the limit so the guesses are audited once per window, not once per guess.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; beyond it, windows that ended are dropped.
const MAX_TRACKED: usize = 10_000;

/// Windows per address: (window start, count in it).
struct Windows {
    per_minute: u32,
    /// Written and read by the limiter's methods only.
    map: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Windows {
    fn new(per_minute: u32) -> Windows {
        Windows {
            per_minute,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Apply `f` to the current window of `addr` (started afresh when the last one ended).
    fn with<T>(&self, addr: IpAddr, now: Instant, f: impl FnOnce(&mut (Instant, u32)) -> T) -> T {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = map.entry(addr).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        f(entry)
    }

    fn wait(start: Instant, now: Instant) -> u64 {
        WINDOW
            .saturating_sub(now.duration_since(start))
            .as_secs()
            .max(1)
    }
}

/// Counts login attempts per address.
pub struct LoginLimiter(Windows);

/// An attempt over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Seconds until the window ends.
    pub wait: u64,
    /// The first refusal of this window (audited; the ones after it are not).
    pub first: bool,
}

impl LoginLimiter {
    /// Allow `per_minute` attempts per address per minute (0: unlimited).
    pub fn new(per_minute: u32) -> LoginLimiter {
        LoginLimiter(Windows::new(per_minute))
    }

    /// Count an attempt from `addr`; refused when over the limit.
    pub fn check(&self, addr: Option<IpAddr>, now: Instant) -> Result<(), Refused> {
        let (Some(addr), true) = (addr, self.0.per_minute > 0) else {
            return Ok(());
        };
        let limit = self.0.per_minute;
        self.0.with(addr, now, |(start, count)| {
            *count = count.saturating_add(1);
            if *count > limit {
                Err(Refused {
                    wait: Windows::wait(*start, now),
                    first: *count == limit + 1,
                })
            } else {
                Ok(())
            }
        })
    }
}

/// What recording a failed lookup means for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Still under the limit.
    Counted,
    /// This failure crossed the limit: audit it (once per window), then refuse the address.
    LimitReached {
        /// Failures in the window so far.
        failures: u32,
    },
}

/// Counts failed credential lookups per address.
pub struct FailureLimiter(Windows);

impl FailureLimiter {
    /// Allow `per_minute` failed lookups per address per minute (0: unlimited).
    pub fn new(per_minute: u32) -> FailureLimiter {
        FailureLimiter(Windows::new(per_minute))
    }

    /// `Some(seconds to wait)` when `addr` has used up its failures for this window.
    pub fn blocked(&self, addr: Option<IpAddr>, now: Instant) -> Option<u64> {
        let (Some(addr), true) = (addr, self.0.per_minute > 0) else {
            return None;
        };
        let limit = self.0.per_minute;
        self.0.with(addr, now, |(start, count)| {
            (*count >= limit).then(|| Windows::wait(*start, now))
        })
    }

    /// Record a failed lookup from `addr`.
    pub fn fail(&self, addr: Option<IpAddr>, now: Instant) -> Failure {
        let (Some(addr), true) = (addr, self.0.per_minute > 0) else {
            return Failure::Counted;
        };
        let limit = self.0.per_minute;
        self.0.with(addr, now, |(_, count)| {
            *count = count.saturating_add(1);
            if *count == limit {
                Failure::LimitReached { failures: *count }
            } else {
                Failure::Counted
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> (Option<IpAddr>, Option<IpAddr>) {
        (
            Some("10.0.0.1".parse().unwrap()),
            Some("10.0.0.2".parse().unwrap()),
        )
    }

    #[test]
    fn attempts_over_the_limit_wait_for_the_next_minute() {
        let limiter = LoginLimiter::new(3);
        let (a, b) = addrs();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(a, t0).is_ok());
        }
        assert!(limiter.check(a, t0).is_err_and(|r| r.first));
        assert!(
            limiter.check(a, t0).is_err_and(|r| !r.first),
            "only the first refusal of a window is marked"
        );
        assert!(
            limiter.check(b, t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(limiter.check(a, t0 + WINDOW).is_ok());
    }

    #[test]
    fn failed_lookups_block_an_address_and_report_the_crossing_once_per_window() {
        let limiter = FailureLimiter::new(3);
        let (a, b) = addrs();
        let t0 = Instant::now();
        assert_eq!(limiter.blocked(a, t0), None);
        assert_eq!(limiter.fail(a, t0), Failure::Counted);
        assert_eq!(limiter.fail(a, t0), Failure::Counted);
        assert_eq!(
            limiter.fail(a, t0),
            Failure::LimitReached { failures: 3 },
            "the third failure crosses the limit"
        );
        assert!(limiter.blocked(a, t0).is_some());
        assert_eq!(limiter.fail(a, t0), Failure::Counted, "reported only once");
        assert_eq!(
            limiter.blocked(b, t0),
            None,
            "other addresses are not affected"
        );
        assert_eq!(
            limiter.blocked(a, t0 + WINDOW),
            None,
            "a new window starts afresh"
        );
    }

    #[test]
    fn zero_means_unlimited_and_unknown_addresses_are_not_limited() {
        let limiter = FailureLimiter::new(0);
        let (a, _) = addrs();
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(limiter.fail(a, t0), Failure::Counted);
        }
        assert_eq!(limiter.blocked(a, t0), None);
        assert_eq!(FailureLimiter::new(1).blocked(None, t0), None);
    }
}
