//! Brute-force protection: counts failed authentications per client address in a fixed window.
//!
//! Only failures are counted and only failures are refused: a request with a valid credential is
//! never turned away, whatever its address did before.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

#[derive(Clone, Copy, Debug)]
pub struct ThrottleConfig {
    /// Failures allowed per window before further failures are answered 429.
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 60,
            window: Duration::from_secs(60),
        }
    }
}

pub struct FailureThrottle {
    config: ThrottleConfig,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

const PRUNE_ABOVE: usize = 100_000;

impl FailureThrottle {
    pub fn new(config: ThrottleConfig) -> FailureThrottle {
        FailureThrottle {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a failure; returns how long the address must wait when it is over the limit.
    pub fn record_failure(&self, ip: IpAddr) -> Option<Duration> {
        self.record_failure_at(ip, Instant::now())
    }

    /// How long the address must still wait, without counting anything. Password logins ask
    /// this first: unlike 190-bit tokens, passwords can be guessed, so an address over the
    /// limit may not try one, right or wrong.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let windows = self.windows.lock();
        let (start, count) = windows.get(&ip)?;
        let elapsed = now.duration_since(*start);
        (elapsed < self.config.window && *count > self.config.max_failures)
            .then(|| self.config.window.saturating_sub(elapsed))
    }

    fn record_failure_at(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let window = self.config.window;
        let mut windows = self.windows.lock();
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let slot = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(slot.0) >= window {
            *slot = (now, 0);
        }
        slot.1 = slot.1.saturating_add(1);
        (slot.1 > self.config.max_failures)
            .then(|| window.saturating_sub(now.duration_since(slot.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_over_the_limit_are_throttled_until_the_window_ends() {
        let throttle = FailureThrottle::new(ThrottleConfig {
            max_failures: 3,
            window: Duration::from_secs(60),
        });
        let ip: IpAddr = [127, 0, 0, 1].into();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.record_failure_at(ip, start), None);
        }
        assert!(throttle.record_failure_at(ip, start).is_some());
        let other: IpAddr = [127, 0, 0, 2].into();
        assert_eq!(throttle.record_failure_at(other, start), None);
        let later = start + Duration::from_secs(61);
        assert_eq!(throttle.record_failure_at(ip, later), None);
    }
}
