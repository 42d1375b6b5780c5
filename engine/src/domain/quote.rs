//! The market data event: one instrument's top of book.

use super::units::{InstrumentId, Price, Qty};

/// Top of book for one instrument, as a feed produced it. Fits, with a ring
/// slot's stamp, in one cache line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quote {
    /// Which instrument.
    pub instrument: InstrumentId,
    /// Best bid, in ticks.
    pub bid: Price,
    /// Lots at the best bid.
    pub bid_qty: Qty,
    /// Best ask, in ticks; above the bid.
    pub ask: Price,
    /// Lots at the best ask.
    pub ask_qty: Qty,
    /// The feed's sequence number: 0, 1, 2, ... across instruments.
    pub seq: u64,
    /// `clock::ticks()` when the engine received (or made) it.
    pub received: u64,
}

impl Quote {
    /// The mid price in half-ticks (`bid + ask`), exact.
    #[inline]
    pub fn mid_x2(&self) -> i64 {
        self.bid.0 + self.ask.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_and_a_stamp_fit_one_cache_line() {
        assert!(std::mem::size_of::<Quote>() + 8 <= 64);
    }
}
