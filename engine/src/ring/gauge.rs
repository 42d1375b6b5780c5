//! A gauge of a ring for the control plane: how full it is and how often
//! its producer found less room than it wanted. It reads only atomics that
//! the halves publish for it, never a slot, and costs the hot path nothing
//! but the occasional cache line when it is read.

use super::Shared;
use crate::sync::{Arc, Ordering};

/// A ring's level at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingLevel {
    /// Items in the ring.
    pub len: usize,
    /// Slots in the ring.
    pub capacity: usize,
    /// Times the producer found less room than it wanted (a full ring for
    /// a single push; fewer slots than asked for a claim or a room check).
    pub short: u64,
}

/// Anything that reports a ring's level: [`Gauge`]s of any item type, for
/// one list of them.
pub trait Level: Send + Sync {
    /// The ring's level now.
    fn level(&self) -> RingLevel;
}

/// A gauge of one ring, from [`super::Producer::gauge`].
pub struct Gauge<T> {
    shared: Arc<Shared<T>>,
}

// SAFETY: a gauge loads only the atomics `head`, `tail` and `short` and
// never touches a slot's value. The one way it reaches a `T` is by being
// the last owner of the ring and dropping the items left in it, which is
// sound on any thread when `T: Send`.
unsafe impl<T: Send> Send for Gauge<T> {}
// SAFETY: as above; through `&Gauge` only atomics are loaded.
unsafe impl<T: Send> Sync for Gauge<T> {}

impl<T> Gauge<T> {
    pub(super) fn new(shared: Arc<Shared<T>>) -> Self {
        Gauge { shared }
    }
}

impl<T: Send> Level for Gauge<T> {
    fn level(&self) -> RingLevel {
        // Relaxed: figures for display. Head is loaded first, and both only
        // grow, so `tail - head` may over-state by what was read in
        // between, never go negative (hence the clamp for the one race: a
        // stale tail read after a fresher head).
        let head = self.shared.head.load(Ordering::Relaxed);
        let produced = &self.shared.produced;
        let tail = produced.tail.load(Ordering::Relaxed);
        let capacity = self.shared.slots.len();
        let len = tail.wrapping_sub(head);
        RingLevel {
            len: if len > capacity { 0 } else { len },
            capacity,
            short: produced.short.load(Ordering::Relaxed) as u64,
        }
    }
}
