//! Per-key rate limiting: a token bucket (GCRA, `governor`) per API key id.
//!
//! The buckets live in this process's memory: with several replicas each grants the full rate,
//! so the effective limit is the rate times the number of replicas. Only authenticated key ids
//! get a bucket, so the map is bounded by the number of valid keys; idle buckets are dropped by
//! [`KeyRateLimiter::retain_recent`].

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// The rate every key gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: NonZeroU32,
    /// Requests that may arrive at once after a quiet spell.
    pub burst: NonZeroU32,
}

/// One token bucket per key id.
pub struct KeyRateLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl KeyRateLimiter {
    /// Buckets with `limit`.
    pub fn new(limit: RateLimit) -> Self {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Takes a token for `key_id`; `Err(wait)` when its bucket is empty.
    pub fn check(&self, key_id: &str) -> Result<(), Duration> {
        // Looked up by &String: the map's key type; allocation only on a key's first request
        // would need the raw-entry API, and one short String per request is negligible here.
        self.limiter
            .check_key(&key_id.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets buckets that are full again (idle keys).
    pub fn retain_recent(&self) {
        self.limiter.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_refills_and_is_per_key() {
        let l = KeyRateLimiter::new(RateLimit {
            per_second: NonZeroU32::new(20).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        });
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!(wait <= Duration::from_millis(50), "{wait:?}");
        assert!(l.check("b").is_ok(), "another key has its own bucket");
        std::thread::sleep(wait + Duration::from_millis(5));
        assert!(l.check("a").is_ok());
    }
}
