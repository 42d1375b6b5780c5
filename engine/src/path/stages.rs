//! The decision path's stages as the runtime runs them: each owns its part
//! of the path and polls its inputs. In the fused topology one stage runs
//! the whole path with direct calls; in the pipeline each part has its own
//! thread and rings join them.

use super::decide::Decide;
use crate::clock;
use crate::domain::Quote;
use crate::feed::Feed;
use crate::ring;
use crate::stage::Stage;

/// Quotes a feed makes, or a decide stage drains, per poll at most.
pub const BATCH: usize = 64;

/// The whole path on one thread: quotes go from the feed to decide by a
/// direct call, no ring hop.
pub struct FusedPath {
    /// Market data.
    pub feed: Feed,
    /// Everything after it.
    pub decide: Decide,
}

impl Stage for FusedPath {
    #[inline]
    fn poll(&mut self) -> usize {
        let decide = &mut self.decide;
        self.feed
            .poll(clock::ticks(), BATCH, |quote| decide.on_quote(quote))
    }
}

/// The pipeline's feed stage: makes quotes only as far as the ring to the
/// decide stage has room, so a slow decide stage holds quotes back in the
/// feed (which catches up later) instead of losing them.
pub struct FeedStage {
    /// Market data.
    pub feed: Feed,
    /// To the decide stage.
    pub quotes: ring::Producer<Quote>,
}

impl Stage for FeedStage {
    #[inline]
    fn poll(&mut self) -> usize {
        let mut claim = self.quotes.claim(BATCH);
        let room = claim.remaining();
        self.feed.poll(clock::ticks(), room, |quote| {
            // `room` slots were claimed, so every write fits.
            let _ = claim.write(quote);
        })
    }
}

/// The pipeline's decide stage: drains quotes into [`Decide`].
pub struct DecideStage {
    /// From the feed stage.
    pub quotes: ring::Consumer<Quote>,
    /// The state.
    pub decide: Decide,
}

impl Stage for DecideStage {
    #[inline]
    fn poll(&mut self) -> usize {
        let mut taken = 0;
        for quote in self.quotes.drain(BATCH) {
            self.decide.on_quote(quote);
            taken += 1;
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::{InstrumentId, InstrumentSpec, Instruments};
    use crate::feed::{SyntheticConfig, SyntheticFeed};
    use crate::path::PathCounters;

    fn instruments() -> Instruments {
        let spec = |symbol: &str| InstrumentSpec {
            symbol: symbol.into(),
            tick_size: "0.25".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "50".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        };
        Instruments::new(&[spec("A"), spec("B"), spec("C")]).unwrap()
    }

    fn burst_feed(instruments: &Instruments) -> Feed {
        let config = SyntheticConfig {
            seed: 9,
            rate: 0,
            spread_ticks: 1,
            max_step_ticks: 2,
            size_lots: 5,
        };
        Feed::Synthetic(SyntheticFeed::new(instruments, &config, 0, 1e9))
    }

    #[test]
    fn pipeline_stages_see_what_the_fused_path_sees() {
        let instruments = instruments();
        let fused_counters = Arc::new(PathCounters::default());
        let mut fused = FusedPath {
            feed: burst_feed(&instruments),
            decide: Decide::new(&instruments, Arc::clone(&fused_counters)),
        };
        let counters = Arc::new(PathCounters::default());
        let (tx, rx) = ring::new(16);
        let mut feed = FeedStage {
            feed: burst_feed(&instruments),
            quotes: tx,
        };
        let mut decide = DecideStage {
            quotes: rx,
            decide: Decide::new(&instruments, Arc::clone(&counters)),
        };
        // The ring holds 16: the feed stage makes only what fits, and
        // nothing is lost while the decide stage catches up.
        let mut made = 0;
        while made < 1024 {
            made += feed.poll();
            assert!(feed.poll() == 0, "a full ring holds the feed back");
            decide.poll();
        }
        while fused_counters.quotes() < 1024 {
            fused.poll();
        }
        assert_eq!(counters.quotes(), 1024);
        assert_eq!(fused_counters.quotes(), 1024);
        for id in 0..3 {
            let id = InstrumentId(id);
            let (a, b) = (fused.decide.latest(id), decide.decide.latest(id));
            assert_eq!(
                a.map(|q| (q.seq, q.bid, q.ask)),
                b.map(|q| (q.seq, q.bid, q.ask))
            );
        }
    }
}
