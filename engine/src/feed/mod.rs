//! Market data sources: what the feed stage polls for quotes. [`Feed`] is
//! the one it runs, chosen in config: the synthetic walk or a replay.

mod replay;
mod rng;
mod synthetic;

pub use replay::{load as load_replay, Pace, Recorded, ReplayError, ReplayFeed};
pub use rng::SplitMix64;
pub use synthetic::{SyntheticConfig, SyntheticFeed};

use crate::domain::Quote;

/// The market data source a feed stage runs; an enum, not a trait object,
/// so polling it is a match, not a virtual call.
#[derive(Debug, Clone)]
pub enum Feed {
    /// The seeded random walk.
    Synthetic(SyntheticFeed),
    /// Recorded quotes.
    Replay(ReplayFeed),
}

impl Feed {
    /// Hands `out` the quotes due by `now` (clock ticks), at most `max`;
    /// returns how many. Never allocates, blocks or does I/O.
    #[inline]
    pub fn poll(&mut self, now: u64, max: usize, out: impl FnMut(Quote)) -> usize {
        match self {
            Feed::Synthetic(feed) => feed.poll(now, max, out),
            Feed::Replay(feed) => feed.poll(now, max, out),
        }
    }

    /// When its next quote is due, in clock ticks; `None` when it has no
    /// schedule (burst mode, the fastest replay pace) or nothing left.
    pub fn next_due(&self) -> Option<u64> {
        match self {
            Feed::Synthetic(feed) => feed.next_due(),
            Feed::Replay(feed) => feed.next_due(),
        }
    }

    /// Whether it has nothing more to give (a finished replay); the
    /// synthetic feed never finishes.
    pub fn is_finished(&self) -> bool {
        match self {
            Feed::Synthetic(_) => false,
            Feed::Replay(feed) => feed.is_finished(),
        }
    }
}
