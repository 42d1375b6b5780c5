//! Market data sources: what the feed stage polls for quotes. [`Feed`] is
//! the one it runs, chosen in config: the synthetic walk, a replay, or
//! ITCH 5.0 over MoldUDP64 from the network.

mod held;
pub mod itch;
mod itch_books;
mod itch_feed;
mod itch_file;
mod itch_flow;
mod itch_stats;
pub mod moldudp64;
mod replay;
mod rng;
mod sequencer;
mod synthetic;

pub use itch_books::instrument_problems as itch_instrument_problems;
pub use itch_feed::{ItchConfig, ItchFeed};
pub use itch_file::load_itch;
pub use itch_flow::ItchFlow;
pub use itch_stats::{Count, FeedReport, FeedState, FeedStats, COUNTS};
pub use replay::{load as load_replay, Pace, Recorded, ReplayError, ReplayFeed};
pub use rng::SplitMix64;
pub use sequencer::{Sequencer, Verdict};
pub use synthetic::{SyntheticConfig, SyntheticFeed};

use crate::domain::Quote;

/// The market data source a feed stage runs; an enum, not a trait object,
/// so polling it is a match, not a virtual call.
#[derive(Debug)]
pub enum Feed {
    /// The seeded random walk.
    Synthetic(SyntheticFeed),
    /// Recorded quotes.
    Replay(ReplayFeed),
    /// ITCH from the network (boxed: its state is large, the others small).
    Itch(Box<ItchFeed>),
}

impl Feed {
    /// Hands `out` the quotes due by `now` (clock ticks), at most `max`;
    /// returns how many. Never allocates or blocks; only the network feed
    /// does I/O (non-blocking, on its own socket).
    #[inline]
    pub fn poll(&mut self, now: u64, max: usize, out: impl FnMut(Quote)) -> usize {
        match self {
            Feed::Synthetic(feed) => feed.poll(now, max, out),
            Feed::Replay(feed) => feed.poll(now, max, out),
            Feed::Itch(feed) => feed.poll(now, max, out),
        }
    }

    /// When its next quote is due, in clock ticks; `None` when it has no
    /// schedule (burst mode, the fastest replay pace) or nothing left.
    pub fn next_due(&self) -> Option<u64> {
        match self {
            Feed::Synthetic(feed) => feed.next_due(),
            Feed::Replay(feed) => feed.next_due(),
            Feed::Itch(_) => None,
        }
    }

    /// Whether it has nothing more to give (a finished replay); the
    /// synthetic and network feeds never finish.
    pub fn is_finished(&self) -> bool {
        match self {
            Feed::Synthetic(_) | Feed::Itch(_) => false,
            Feed::Replay(feed) => feed.is_finished(),
        }
    }
}
