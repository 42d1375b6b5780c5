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

    /// Takes the items already published when it is called, up to `max`,
    /// through the returned iterator, synchronising with the producer once
    /// for the whole batch rather than once per item.
    ///
    /// The producer publishes slots in order, so one published slot proves
    /// every slot before it published. The drain gallops (is the first item
    /// there? the first 2? 4? ...) and then bisects to the exact end of the
    /// published run: one stamp load on an empty ring, two for a lone item,
    /// about `2 * log2(max)` for a full batch, and then no stamp at all per
    /// item. The new head is published once, when the iterator is dropped.
    /// Never blocks or allocates.
    #[inline]
    pub fn drain(&mut self, max: usize) -> Drain<'_, T> {
        let run = self.published_run(max.min(self.capacity()));
        Drain {
            consumer: self,
            remaining: run,
        }
    }

    /// How many items from `head` on are published, up to `max`.
    #[inline]
    fn published_run(&self, max: usize) -> usize {
        let head = self.head;
        let first_published = |n: usize| self.ready(head.wrapping_add(n - 1));
        // `lo` items are proven published; the first `hi` are not (or `hi` is
        // past `max`, where nothing is asked).
        let (mut lo, mut hi) = (0, max + 1);
        let mut n = 1;
        while n <= max {
            if !first_published(n) {
                hi = n;
                break;
            }
            lo = n;
            if n == max {
                break;
            }
            n = (n * 2).min(max);
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if first_published(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
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
        if !self.ready(self.head) {
            return None;
        }
        // SAFETY: `ready` just saw the item at `head` published.
        Some(unsafe { self.take_published() })
    }

    /// Reads the item at `head` and advances the local head without
    /// publishing it.
    ///
    /// # Safety
    ///
    /// The item at `head` must be published, as proven by an `Acquire` load
    /// of its stamp or of the stamp of a later position.
    #[inline(always)]
    unsafe fn take_published(&mut self) -> T {
        let pos = self.head;
        debug_assert!(self.ready(pos));
        let slot = self.shared.slot(pos, self.mask);
        // SAFETY: the caller proved position `pos` published, and the
        // producer will not write the slot again until the shared head
        // passes `pos`; advancing `head` below means we read it once.
        let value = slot
            .value
            .with(|cell| unsafe { (*cell).assume_init_read() });
        self.head = pos.wrapping_add(1);
        value
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

/// Items taken by [`Consumer::drain`], all known published when it was
/// made; publishes the new head when dropped.
#[must_use = "a drain takes nothing until iterated"]
pub struct Drain<'a, T> {
    consumer: &'a mut Consumer<T>,
    /// Items proven published and not yet taken, in `0 ..= capacity`.
    remaining: usize,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // SAFETY: `drain` proved the next `remaining` items published.
        Some(unsafe { self.consumer.take_published() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        self.consumer.publish_head();
    }
}

impl<T> ExactSizeIterator for Drain<'_, T> {}
