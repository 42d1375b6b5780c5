//! The synthetic feed: a seeded random walk of each instrument's price,
//! quoted with a fixed spread, paced open loop at a configured rate or
//! unpaced for throughput runs. The embedded default's market data.
//!
//! The quotes depend only on the seed and the instruments, never on time,
//! so two runs with the same config see the same market; only the receive
//! stamps differ.

use serde::{Deserialize, Serialize};

use super::rng::SplitMix64;
use crate::domain::{InstrumentId, Instruments, Price, Qty, Quote};

/// `[feed.synthetic]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Seeds the walk: the same seed gives the same quotes.
    pub seed: u64,
    /// Quotes per second over all instruments, paced open loop; 0 sends
    /// as fast as the stage polls (burst mode, for throughput runs).
    pub rate: u64,
    /// Ticks between bid and ask; at least 1.
    pub spread_ticks: i64,
    /// Each quote moves its instrument's bid by a uniform step of
    /// `-max_step_ticks ..= max_step_ticks`.
    pub max_step_ticks: i64,
    /// Lots shown at the bid and at the ask; at least 1.
    pub size_lots: i64,
}

impl SyntheticConfig {
    /// What is wrong with it, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.spread_ticks < 1 {
            problems.push((
                "spread_ticks",
                format!("must be at least 1, got {}", self.spread_ticks),
            ));
        }
        if !(0..=1_000_000).contains(&self.max_step_ticks) {
            problems.push((
                "max_step_ticks",
                format!("must be in 0 ..= 1000000, got {}", self.max_step_ticks),
            ));
        }
        if self.size_lots < 1 {
            problems.push((
                "size_lots",
                format!("must be at least 1, got {}", self.size_lots),
            ));
        }
        if self.rate > 100_000_000 {
            problems.push((
                "rate",
                format!("at most 100000000 quotes/s, got {}", self.rate),
            ));
        }
        problems
    }
}

/// The feed itself: owned by the feed stage, polled in its loop.
#[derive(Debug, Clone)]
pub struct SyntheticFeed {
    rng: SplitMix64,
    /// Each instrument's bid, in ticks; allocated once, here.
    bids: Box<[i64]>,
    spread: i64,
    max_step: i64,
    size: Qty,
    /// The instrument of the next quote: round robin.
    next_instrument: usize,
    /// The sequence number of the next quote.
    seq: u64,
    /// Clock ticks between quotes; 0 in burst mode.
    interval: u64,
    /// When the next quote is due, in clock ticks.
    next_due: u64,
}

impl SyntheticFeed {
    /// A feed over `instruments`, starting each bid at its reference price,
    /// with its first quote due at `now` (clock ticks). `ticks_per_second`
    /// converts the rate (see [`crate::clock`]).
    pub fn new(
        instruments: &Instruments,
        config: &SyntheticConfig,
        now: u64,
        ticks_per_second: f64,
    ) -> Self {
        let interval = if config.rate == 0 {
            0
        } else {
            (ticks_per_second / config.rate as f64).max(1.0) as u64
        };
        SyntheticFeed {
            rng: SplitMix64::new(config.seed),
            bids: instruments.iter().map(|i| i.reference.0).collect(),
            spread: config.spread_ticks,
            max_step: config.max_step_ticks,
            size: Qty(config.size_lots),
            next_instrument: 0,
            seq: 0,
            interval,
            next_due: now,
        }
    }

    /// Hands `out` every quote due by `now` (clock ticks), at most `max`,
    /// and returns how many. Open loop: a feed that fell behind (its stage
    /// was descheduled) catches up, `max` at a time. In burst mode every
    /// call makes `max`. Never allocates, blocks or reads a clock.
    #[inline]
    pub fn poll(&mut self, now: u64, max: usize, mut out: impl FnMut(Quote)) -> usize {
        let mut made = 0;
        while made < max && (self.interval == 0 || self.next_due <= now) {
            out(self.next_quote(now));
            self.next_due = self.next_due.wrapping_add(self.interval);
            made += 1;
        }
        made
    }

    /// When the next quote is due; `None` in burst mode.
    pub fn next_due(&self) -> Option<u64> {
        (self.interval > 0).then_some(self.next_due)
    }

    fn next_quote(&mut self, received: u64) -> Quote {
        let index = self.next_instrument;
        self.next_instrument = (index + 1) % self.bids.len();
        // The walk reflects off one tick so that prices stay positive.
        let stepped = self.bids[index] + self.rng.symmetric(self.max_step);
        let bid = if stepped < 1 { 2 - stepped } else { stepped };
        self.bids[index] = bid;
        let quote = Quote {
            instrument: InstrumentId(index as u16),
            bid: Price(bid),
            bid_qty: self.size,
            ask: Price(bid + self.spread),
            ask_qty: self.size,
            seq: self.seq,
            received,
        };
        self.seq += 1;
        quote
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstrumentSpec;

    fn instruments(n: usize) -> Instruments {
        let specs: Vec<InstrumentSpec> = (0..n)
            .map(|i| InstrumentSpec {
                symbol: format!("S{i}"),
                tick_size: "0.01".parse().unwrap(),
                lot_size: "1".parse().unwrap(),
                multiplier: "1".parse().unwrap(),
                reference_price: "0.05".parse().unwrap(),
            })
            .collect();
        Instruments::new(&specs).unwrap()
    }

    fn config(seed: u64, rate: u64) -> SyntheticConfig {
        SyntheticConfig {
            seed,
            rate,
            spread_ticks: 2,
            max_step_ticks: 3,
            size_lots: 10,
        }
    }

    fn burst(seed: u64, n: usize) -> Vec<Quote> {
        let mut feed = SyntheticFeed::new(&instruments(4), &config(seed, 0), 0, 1e9);
        let mut quotes = Vec::new();
        feed.poll(0, n, |q| quotes.push(q));
        quotes
    }

    #[test]
    fn the_same_seed_gives_the_same_quotes() {
        assert_eq!(burst(42, 10_000), burst(42, 10_000));
        assert_ne!(burst(42, 100), burst(43, 100));
    }

    #[test]
    fn quotes_are_sane_round_robin_and_sequenced() {
        // A reference price of 5 ticks and steps of up to 3 hit the floor.
        let quotes = burst(1, 20_000);
        for (i, q) in quotes.iter().enumerate() {
            assert_eq!(q.seq, i as u64);
            assert_eq!(q.instrument, InstrumentId((i % 4) as u16));
            assert!(q.bid.0 >= 1, "bid {} at {i}", q.bid.0);
            assert_eq!(q.ask.0 - q.bid.0, 2);
            assert_eq!((q.bid_qty, q.ask_qty), (Qty(10), Qty(10)));
        }
        let moved = quotes.windows(5).filter(|w| w[0].bid != w[4].bid).count();
        assert!(moved > 10_000, "the walk moves: {moved}");
    }

    #[test]
    fn paced_feed_sends_exactly_what_is_due() {
        // 1000 quotes/s on a clock of 1e6 ticks/s: one every 1000 ticks.
        let mut feed = SyntheticFeed::new(&instruments(2), &config(5, 1000), 0, 1e6);
        let mut seen = Vec::new();
        assert_eq!(
            feed.poll(0, 100, |q| seen.push(q)),
            1,
            "the first is due at once"
        );
        assert_eq!(feed.poll(999, 100, |q| seen.push(q)), 0);
        assert_eq!(feed.poll(1000, 100, |q| seen.push(q)), 1);
        // Behind by ten intervals: catches up, at most `max` a call.
        assert_eq!(feed.poll(11_000, 4, |q| seen.push(q)), 4);
        assert_eq!(feed.poll(11_000, 100, |q| seen.push(q)), 6);
        assert_eq!(seen.last().unwrap().received, 11_000);
        assert_eq!(seen.len(), 12);
    }

    #[test]
    fn config_problems_are_named_by_key() {
        let mut bad = config(0, 0);
        bad.spread_ticks = 0;
        bad.size_lots = 0;
        bad.max_step_ticks = -1;
        let keys: Vec<&str> = bad.problems().iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["spread_ticks", "max_step_ticks", "size_lots"]);
        assert!(config(0, 100_000).problems().is_empty());
    }
}
