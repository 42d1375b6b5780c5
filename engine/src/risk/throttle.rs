//! The order-rate throttle: a token bucket on the hot path's clock.

/// A token bucket: `burst` tokens at most, refilled at one token every
/// `ticks_per_token` clock ticks. Integer arithmetic only.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    burst: u64,
    tokens: u64,
    ticks_per_token: u64,
    /// The clock time up to which refills have been counted.
    refilled_to: u64,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilling at `per_second`, on a
    /// clock of `ticks_per_second`, starting at `now`.
    pub fn new(burst: u32, per_second: u32, ticks_per_second: f64, now: u64) -> Self {
        TokenBucket {
            burst: u64::from(burst.max(1)),
            tokens: u64::from(burst.max(1)),
            ticks_per_token: (ticks_per_second / f64::from(per_second.max(1))).max(1.0) as u64,
            refilled_to: now,
        }
    }

    /// Refills at `per_second` into a bucket of `burst` from `now` on,
    /// keeping the tokens it has up to the new burst.
    pub fn set_rate(&mut self, burst: u32, per_second: u32, ticks_per_second: f64, now: u64) {
        self.refill(now);
        let fresh = TokenBucket::new(burst, per_second, ticks_per_second, now);
        self.tokens = self.tokens.min(fresh.burst);
        self.burst = fresh.burst;
        self.ticks_per_token = fresh.ticks_per_token;
        self.refilled_to = now;
    }

    /// Whether a token is there at `now` (without taking it).
    #[inline]
    pub fn has_token(&mut self, now: u64) -> bool {
        self.refill(now);
        self.tokens > 0
    }

    /// Takes a token; call only after `has_token` said yes.
    #[inline]
    pub fn take(&mut self) {
        self.tokens = self.tokens.saturating_sub(1);
    }

    fn refill(&mut self, now: u64) {
        let earned = now.saturating_sub(self.refilled_to) / self.ticks_per_token;
        if earned > 0 {
            self.tokens = (self.tokens + earned).min(self.burst);
            self.refilled_to += earned * self.ticks_per_token;
        }
        if self.tokens == self.burst {
            // A full bucket earns nothing while it waits.
            self.refilled_to = self.refilled_to.max(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;

    #[test]
    fn allows_a_burst_then_the_rate() {
        // 10 per second on a clock of 1000 ticks per second: one per 100.
        let mut bucket = TokenBucket::new(3, 10, 1000.0, 0);
        for _ in 0..3 {
            assert!(bucket.has_token(0));
            bucket.take();
        }
        assert!(!bucket.has_token(99));
        assert!(bucket.has_token(100));
        bucket.take();
        assert!(!bucket.has_token(150));
        assert!(bucket.has_token(10_000), "refills");
        for _ in 0..3 {
            assert!(bucket.has_token(10_000));
            bucket.take();
        }
        assert!(!bucket.has_token(10_000), "never above the burst");
    }
}
