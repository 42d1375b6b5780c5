//! Where the path's time comes from: the wall clock, or (for reproducible
//! runs) the feed's own schedule.

use serde::{Deserialize, Serialize};

use crate::clock;

/// The path's time source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    /// `clock::ticks()`: quotes arrive at their pace, stamps measure real
    /// latency.
    #[default]
    Wall,
    /// Time is the due time of the next quote, and every stamp is that
    /// time: the run goes as fast as the path can, and the same config and
    /// seed give the same decisions every time (a backtest). Fused topology
    /// only.
    Simulated,
}

impl TimeSource {
    /// A stamp for a point passed at path time `now`: the clock now, or
    /// `now` itself in simulated time.
    #[inline(always)]
    pub fn stamp(self, now: u64) -> u64 {
        match self {
            TimeSource::Wall => clock::ticks(),
            TimeSource::Simulated => now,
        }
    }
}
