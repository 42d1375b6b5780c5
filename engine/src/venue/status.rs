//! Whether the venue takes orders now, as the strategy sees it: the FIX
//! gateway sets it as its session logs on and goes down, the decide stage
//! reads it into each event's [`crate::strategy::Context`], so that a
//! strategy can wait out an outage instead of sending orders that come
//! straight back refused `VENUE_DOWN`. The simulated venue is always up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;

/// A shared view of the venue's session: one writer (the venue), any
/// number of readers. Cloning shares it.
#[derive(Debug, Clone)]
pub struct VenueStatus(Arc<CachePadded<AtomicBool>>);

impl VenueStatus {
    /// A venue that takes orders from the start.
    pub fn up() -> Self {
        VenueStatus(Arc::new(CachePadded::new(AtomicBool::new(true))))
    }

    /// A venue that takes none until [`VenueStatus::set`] says otherwise.
    pub fn down() -> Self {
        VenueStatus(Arc::new(CachePadded::new(AtomicBool::new(false))))
    }

    /// Whether it takes orders. A hint: the gateway itself still refuses
    /// what it cannot send, so a stale answer costs one refusal.
    #[inline]
    pub fn is_up(&self) -> bool {
        // Relaxed: the flag orders nothing else; a reader a little behind
        // the gateway sees the change on a later event.
        self.0.load(Ordering::Relaxed)
    }

    /// Records whether it takes orders. Writes only on a change, so the
    /// readers' copy of the line stays valid between changes.
    #[inline]
    pub fn set(&self, up: bool) {
        // Relaxed, as in `is_up`; the load first keeps an unchanged flag
        // from invalidating the readers' line.
        if self.0.load(Ordering::Relaxed) != up {
            self.0.store(up, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::VenueStatus;

    #[test]
    fn clones_share_one_flag() {
        let venue = VenueStatus::down();
        let reader = venue.clone();
        assert!(!reader.is_up());
        venue.set(true);
        assert!(reader.is_up());
        venue.set(false);
        assert!(!reader.is_up());
        assert!(VenueStatus::up().is_up());
    }
}
