//! The consumer half of the ring: single items and drained batches.
//!
//! It polls the stamp of the one slot it expects next and reads the value
//! from the same cache line; it never reads a producer-owned index.

use super::Shared;
use crate::sync::{Arc, Ordering};

/// The reading half of a ring. `Send`, not `Sync`: exactly one thread reads.
///
/// Dropping it publishes how far it has read, so the items it has not read
/// are dropped exactly once with the ring.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Position of the next item to read, in `tail - capacity ..= tail`
    /// (wrapping). The shared head lags it while a [`Drain`] is open.
    head: usize,
    /// `capacity - 1`.
    mask: usize,
}

// SAFETY: the consumer takes values of `T` that were made on the producer's
// thread, which needs `T: Send`; everything else it holds is atomics and
// positions it alone writes.
unsafe impl<T: Send> Send for Consumer<T> {}

impl<T> Consumer<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, mask: usize) -> Self {
        Self {
            shared,
            head: 0,
            mask,
        }
    }

    /// The number of slots in the ring.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Takes the oldest item, or `None` when the ring is empty.
    ///
    /// Never blocks or allocates. Reads one slot, and writes the shared head
    /// (a line the producer reads only when it thinks the ring is full).
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let value = self.take()?;
        self.publish_head();
        Some(value)
    }

    /// Whether the next item has not been published yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        !self.ready(self.head)
    }

    /// Takes up to `max` items through the returned iterator; the new head is
    /// published once, when the iterator is dropped.
    #[inline]
    pub fn drain(&mut self, max: usize) -> Drain<'_, T> {
        Drain {
            consumer: self,
            remaining: max,
        }
    }

    /// Whether the item at `pos` has been published.
    #[inline(always)]
    fn ready(&self, pos: usize) -> bool {
        // Acquire: pairs with the producer's `Release` store of the stamp, so
        // the value it wrote before the stamp is visible to our read of it.
        self.shared
            .slot(pos, self.mask)
            .stamp
            .load(Ordering::Acquire)
            == pos.wrapping_add(1)
    }

    /// Reads the next item, if published, and advances the local head
    /// without publishing it.
    #[inline(always)]
    fn take(&mut self) -> Option<T> {
        let pos = self.head;
        if !self.ready(pos) {
            return None;
        }
        let slot = self.shared.slot(pos, self.mask);
        // SAFETY: the stamp says the producer published position `pos` into
        // this slot, and it will not write the slot again until the shared
        // head passes `pos`; advancing `head` below means we read it once.
        let value = slot
            .value
            .with(|cell| unsafe { (*cell).assume_init_read() });
        self.head = pos.wrapping_add(1);
        Some(value)
    }

    /// Tells the producer how far we have read.
    #[inline(always)]
    fn publish_head(&self) {
        // Release: our reads of the slots before `head` happen before the
        // producer's `Acquire` load sees the new head and reuses them.
        self.shared.head.store(self.head, Ordering::Release);
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // A forgotten `Drain` may have left the shared head behind; the items
        // before `self.head` were moved out and must not be dropped again.
        self.publish_head();
    }
}

/// Items taken by [`Consumer::drain`]; publishes the new head when dropped.
#[must_use = "a drain takes nothing until iterated"]
pub struct Drain<'a, T> {
    consumer: &'a mut Consumer<T>,
    /// Items this drain may still take.
    remaining: usize,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.remaining == 0 {
            return None;
        }
        let value = self.consumer.take()?;
        self.remaining -= 1;
        Some(value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        self.consumer.publish_head();
    }
}
