//! Login attempts per client address: a fixed window per minute, kept in memory per replica.
//! Failed and successful attempts both count, so a password-spraying client is slowed either way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; beyond it, windows that ended are dropped.
const MAX_TRACKED: usize = 10_000;

/// Counts login attempts per address.
pub struct LoginLimiter {
    per_minute: u32,
    /// (window start, attempts in it) per address; written and read by `check`.
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl LoginLimiter {
    /// Allow `per_minute` attempts per address per minute (0: unlimited).
    pub fn new(per_minute: u32) -> LoginLimiter {
        LoginLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Count an attempt from `addr`; `Err(seconds to wait)` when over the limit.
    pub fn check(&self, addr: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        let (Some(addr), true) = (addr, self.per_minute > 0) else {
            return Ok(());
        };
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(addr).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.per_minute {
            let wait = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(wait.as_secs().max(1));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_over_the_limit_wait_for_the_next_minute() {
        let limiter = LoginLimiter::new(3);
        let (a, b) = (
            Some("10.0.0.1".parse().unwrap()),
            Some("10.0.0.2".parse().unwrap()),
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(a, t0).is_ok());
        }
        assert!(limiter.check(a, t0).is_err());
        assert!(
            limiter.check(b, t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(limiter.check(a, t0 + WINDOW).is_ok());
    }
}
