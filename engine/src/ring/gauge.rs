//! A gauge of a ring for the control plane: how full it is and how often
//! its producer found less room than it wanted. It reads the consumer's
//! head and slot stamps, never a value, and costs the halves nothing but
//! the few cache lines it reads when it is read.

use super::Shared;
use crate::sync::{Arc, Ordering};

/// A ring's level at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingLevel {
    /// Items in the ring, counted from the head the consumer last
    /// published: between single pops of small items that may include up
    /// to a cache line's worth it has already read.
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

// SAFETY: a gauge loads only atomics (the head, slot stamps, `short`) and
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
        let shared = &self.shared;
        let capacity = shared.slots.len();
        let mask = capacity - 1;
        // Relaxed throughout: figures for display. The items published
        // and not yet taken are the positions from the head whose stamps
        // say so, a run the producer only extends and the consumer only
        // shortens; a binary search over it reads about log2(capacity)
        // stamps.
        let head = shared.head.load(Ordering::Relaxed);
        let published = |k: usize| {
            let pos = head.wrapping_add(k);
            shared.slot(pos, mask).stamp.load(Ordering::Relaxed) == pos.wrapping_add(1)
        };
        let (mut lo, mut hi) = (0, capacity);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if published(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        RingLevel {
            len: lo,
            capacity,
            short: shared.short.load(Ordering::Relaxed) as u64,
        }
    }
}
