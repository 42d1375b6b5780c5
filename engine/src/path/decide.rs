//! The decide stage's state: the market as it has seen it. Strategy and the
//! risk gate join it here; so far it keeps each instrument's latest quote
//! and counts what it processed.

use std::sync::Arc;

use super::counters::PathCounters;
use crate::domain::{InstrumentId, Instruments, Quote};

/// The decide stage's state; owned by one thread.
pub struct Decide {
    /// The latest quote of each instrument; allocated once, here.
    latest: Box<[Option<Quote>]>,
    quotes: u64,
    counters: Arc<PathCounters>,
}

impl Decide {
    /// State for `instruments`, publishing into `counters`.
    pub fn new(instruments: &Instruments, counters: Arc<PathCounters>) -> Self {
        Decide {
            latest: vec![None; instruments.len()].into_boxed_slice(),
            quotes: 0,
            counters,
        }
    }

    /// Takes one quote. Never allocates, blocks or logs.
    #[inline]
    pub fn on_quote(&mut self, quote: Quote) {
        if let Some(latest) = self.latest.get_mut(quote.instrument.index()) {
            *latest = Some(quote);
        }
        self.quotes += 1;
        self.counters.set_quotes(self.quotes);
    }

    /// The latest quote of `instrument`, if one arrived.
    pub fn latest(&self, instrument: InstrumentId) -> Option<&Quote> {
        self.latest.get(instrument.index())?.as_ref()
    }
}
