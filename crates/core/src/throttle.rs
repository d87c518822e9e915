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
    /// When each address over the limit last reserved a sign-in code exchange that was not
    /// given back (see [`FailureThrottle::reserve_exchange`]).
    exchanges: Mutex<HashMap<IpAddr, Instant>>,
}

const PRUNE_ABOVE: usize = 100_000;

/// How often an address over the failure limit may still have the provider exchange a sign-in
/// code of its own flow, unless the previous exchange signed someone in: each exchange is a
/// token request with Tessera's client credentials, and an address can start flows of its own
/// and present them with forged codes (found by the fourth review of #17).
pub const EXCHANGE_EVERY: Duration = Duration::from_secs(10);

impl FailureThrottle {
    pub fn new(config: ThrottleConfig) -> FailureThrottle {
        FailureThrottle {
            config,
            windows: Mutex::new(HashMap::new()),
            exchanges: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves the sign-in code exchange an address over the failure limit may make once per
    /// [`EXCHANGE_EVERY`]; `Err(wait)` (until the next one may be made) while the last one
    /// reserved is younger and was not given back. Only for callbacks that cannot be forged by
    /// someone else (a flow of the browser presenting it), which pass the limit itself.
    pub fn reserve_exchange(&self, ip: IpAddr) -> Result<(), Duration> {
        self.reserve_exchange_at(ip, Instant::now())
    }

    /// Gives back the exchange reserved by `reserve_exchange` after it signed someone in, so a
    /// genuine sign-in never makes the next one wait.
    pub fn release_exchange(&self, ip: IpAddr) {
        self.exchanges.lock().remove(&ip);
    }

    fn reserve_exchange_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut exchanges = self.exchanges.lock();
        if exchanges.len() > PRUNE_ABOVE {
            exchanges.retain(|_, at| now.duration_since(*at) < EXCHANGE_EVERY);
        }
        if let Some(at) = exchanges.get(&ip) {
            let elapsed = now.duration_since(*at);
            if elapsed < EXCHANGE_EVERY {
                return Err(EXCHANGE_EVERY - elapsed);
            }
        }
        exchanges.insert(ip, now);
        Ok(())
    }

    /// Counts a failure; returns how long the address must wait when it is over the limit.
    pub fn record_failure(&self, ip: IpAddr) -> Option<Duration> {
        self.record_failure_at(ip, Instant::now())
    }

    /// Reserves one password attempt for `ip`, counted as a failure before the password is
    /// checked, so that concurrent attempts cannot all pass a check made before any of them
    /// failed. `Err(wait)` when the address is over the limit (the attempt may not be made);
    /// after a correct password, `forgive` gives the reservation back.
    pub fn reserve_attempt(&self, ip: IpAddr) -> Result<(), Duration> {
        match self.record_failure_at(ip, Instant::now()) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// How long `ip` must still wait when it is over the limit now, without counting anything:
    /// for requests that are refused only when they fail (a callback whose `state` is not its
    /// browser's), checked before they are decided.
    pub fn over_limit(&self, ip: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let windows = self.windows.lock();
        let (start, count) = windows.get(&ip)?;
        let elapsed = now.duration_since(*start);
        (elapsed < self.config.window && *count >= self.config.max_failures)
            .then(|| self.config.window.saturating_sub(elapsed))
    }

    /// Takes back one failure counted by `reserve_attempt` for an attempt that succeeded.
    pub fn forgive(&self, ip: IpAddr) {
        if let Some(slot) = self.windows.lock().get_mut(&ip) {
            slot.1 = slot.1.saturating_sub(1);
        }
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

    #[test]
    fn one_code_exchange_per_interval_unless_given_back() {
        let throttle = FailureThrottle::new(ThrottleConfig::default());
        let ip: IpAddr = [127, 0, 0, 1].into();
        let start = Instant::now();
        assert!(throttle.reserve_exchange_at(ip, start).is_ok());
        let wait = throttle
            .reserve_exchange_at(ip, start + Duration::from_secs(4))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(6));
        assert!(
            throttle
                .reserve_exchange_at([127, 0, 0, 2].into(), start)
                .is_ok(),
            "another address is not concerned"
        );
        assert!(
            throttle
                .reserve_exchange_at(ip, start + EXCHANGE_EVERY)
                .is_ok()
        );
        throttle.release_exchange(ip);
        assert!(
            throttle
                .reserve_exchange_at(ip, start + EXCHANGE_EVERY)
                .is_ok()
        );
    }

    #[test]
    fn reserved_attempts_count_before_they_are_decided_and_successes_are_forgiven() {
        let throttle = FailureThrottle::new(ThrottleConfig {
            max_failures: 2,
            window: Duration::from_secs(60),
        });
        let ip: IpAddr = [127, 0, 0, 1].into();
        // Two attempts in flight at once use up the allowance; the third waits.
        assert!(throttle.reserve_attempt(ip).is_ok());
        assert!(throttle.reserve_attempt(ip).is_ok());
        assert!(throttle.reserve_attempt(ip).is_err());
        assert!(throttle.over_limit(ip).is_some());
        assert!(throttle.over_limit([127, 0, 0, 3].into()).is_none());
        // A success gives its reservation back.
        let other: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..5 {
            assert!(throttle.reserve_attempt(other).is_ok());
            throttle.forgive(other);
        }
    }
}
