//! What the decision path publishes for the control plane: plain counters,
//! each written by one stage thread and read by the side thread.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

/// The path's counters. Each has one writer (the stage that owns the
/// event) and is read about once a second; each sits on its own line so
/// that readers never slow a writer down with false sharing.
#[derive(Debug, Default)]
pub struct PathCounters {
    /// Quotes the decide stage has processed.
    quotes: CachePadded<AtomicU64>,
}

impl PathCounters {
    /// Quotes processed so far.
    pub fn quotes(&self) -> u64 {
        // Relaxed: a statistic; it publishes no other data.
        self.quotes.load(Ordering::Relaxed)
    }

    /// Sets the quote count; only the decide stage calls it.
    #[inline]
    pub(crate) fn set_quotes(&self, count: u64) {
        // Relaxed: a plain store of a count only this thread writes.
        self.quotes.store(count, Ordering::Relaxed);
    }
}
