//! The consumer half of the ring: single items and drained batches.
//!
//! It polls the stamp of the one slot it expects next and reads the value
//! from the same cache line; it never reads a producer-owned index.
//!
//! It tells the producer how far it has read (the shared head) once per
//! cache line of slots rather than once per item, at the end of each
//! drain, and whenever it finds the ring empty. Publishing per item lets a
//! producer that waits on a full ring write the slot just left, in the
//! line the consumer is still reading, and take that line away from it for
//! every item: with small items several share a line, and that ping-pong
//! costs more than the items.

use super::slots::{Slot, SlotCursor, Slots};
use super::Shared;
use crate::sync::{Arc, Ordering};

/// The reading half of a ring. `Send`, not `Sync`: exactly one thread reads.
///
/// Dropping it publishes how far it has read, so the items it has not read
/// are dropped exactly once with the ring.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Position of the next item to read, in `tail - capacity ..= tail`
    /// (wrapping). The shared head lags it while a [`Drain`] is open, and
    /// by less than a line of slots between single pops.
    head: usize,
    /// The head as last published to the shared one.
    published: usize,
    /// `capacity - 1`.
    mask: usize,
    /// `min(slots per cache line, capacity) - 1`: a pop that ends a line
    /// publishes the head (a power of two no larger than the capacity, so
    /// a consumer that reads on always reaches such a position before the
    /// items a waiting producer cannot see run out).
    line_mask: usize,
    /// Whether the last drain found all it asked for, so that the next
    /// tries its whole batch with one stamp before searching.
    behind: bool,
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
            published: 0,
            mask,
            line_mask: Slots::<T>::PER_LINE.min(mask + 1) - 1,
            behind: false,
        }
    }

    /// The number of slots in the ring.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Takes the oldest item, or `None` when the ring is empty.
    ///
    /// Never blocks or allocates. Reads one slot; writes the shared head (a
    /// line the producer reads only when it thinks the ring is full) when
    /// the item ends a cache line of slots, or when it finds the ring empty
    /// with the head not yet published. So the producer may see up to a
    /// line's worth of slots (less than 64 bytes) fewer free than there
    /// are while the consumer is busy, never more, and all of them once it
    /// has caught up.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        match self.take() {
            Some(value) => {
                if self.head & self.line_mask == 0 {
                    self.publish_head();
                }
                Some(value)
            }
            None => {
                self.caught_up();
                None
            }
        }
    }

    /// Whether the next item has not been published yet. Finding the ring
    /// empty publishes the head, as a `pop` that finds it empty does, so
    /// that a loop of `is_empty` and `pop` leaves the producer all the room
    /// there is once it has caught up.
    #[inline]
    pub fn is_empty(&mut self) -> bool {
        let empty = !self.ready(self.head);
        if empty {
            self.caught_up();
        }
        empty
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
    /// item. After a drain that found all it asked for (a consumer behind
    /// its producer), the next first loads the stamp of its last slot: one
    /// load for another full batch. The new head is published once, when
    /// the iterator is dropped. Never blocks or allocates.
    #[inline]
    pub fn drain(&mut self, max: usize) -> Drain<'_, T> {
        let max = max.min(self.capacity());
        let run = if self.behind && max > 0 && self.ready(self.head.wrapping_add(max - 1)) {
            max
        } else {
            self.published_run(max)
        };
        self.behind = max > 0 && run == max;
        let start = self.head;
        // The head moves past the whole run now, so that a forgotten drain
        // leaks the items it did not take rather than exposing them twice;
        // dropping the drain moves it back to just past what was taken.
        self.head = start.wrapping_add(run);
        Drain {
            cursor: self.shared.slots.cursor(),
            consumer: self,
            next: start,
            end: start.wrapping_add(run),
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
        self.head = pos.wrapping_add(1);
        // SAFETY: the caller proved `pos` published; the head has moved past
        // it, so it is read once.
        unsafe { self.read(pos) }
    }

    /// Moves the item at `pos` out of its slot.
    ///
    /// # Safety
    ///
    /// The item at `pos` must be published (as for `take_published`), not
    /// yet read, and the caller must make sure it is never read again (by
    /// moving `head` past it).
    #[inline(always)]
    unsafe fn read(&self, pos: usize) -> T {
        debug_assert!(self.ready(pos));
        // SAFETY: passed on from the caller.
        unsafe { read_slot(self.shared.slot(pos, self.mask)) }
    }

    /// On finding the ring empty: publishes the head if a pop left it
    /// unpublished.
    #[inline(always)]
    fn caught_up(&mut self) {
        if self.published != self.head {
            self.publish_head();
        }
    }

    /// Tells the producer how far we have read.
    #[inline(always)]
    fn publish_head(&mut self) {
        // Release: our reads of the slots before `head` happen before the
        // producer's `Acquire` load sees the new head and reuses them.
        self.shared.head.store(self.head, Ordering::Release);
        self.published = self.head;
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // A forgotten `Drain` may have left the shared head behind; the items
        // before `self.head` were moved out and must not be dropped again.
        self.publish_head();
    }
}

/// Moves the item out of `slot`.
///
/// # Safety
///
/// The slot's item must be published, not yet read, and never read again.
#[inline(always)]
unsafe fn read_slot<T>(slot: &Slot<T>) -> T {
    // SAFETY: published means initialised, and the producer will not write
    // the slot again until the shared head passes it; the caller reads it
    // once.
    slot.value
        .with(|cell| unsafe { (*cell).assume_init_read() })
}

/// Items taken by [`Consumer::drain`], all known published when it was
/// made; publishes the new head when dropped. Items not taken stay in the
/// ring; forgetting the drain (`mem::forget`) leaks them instead.
#[must_use = "a drain takes nothing until iterated"]
pub struct Drain<'a, T> {
    consumer: &'a mut Consumer<T>,
    /// The consumer's slots, kept here so that a loop of reads finds them in
    /// registers; the borrow of the consumer keeps them alive.
    cursor: SlotCursor<T>,
    /// Position of the next item to take, in `start ..= end`.
    next: usize,
    /// One past the last position proven published; `end - next` is at most
    /// the capacity.
    end: usize,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        let pos = self.next;
        self.next = pos.wrapping_add(1);
        // SAFETY: the cursor's slots belong to the consumer this drain
        // borrows; `drain` proved every position before `end` published, the
        // consumer's head is already past them, and `next` passes each once.
        Some(unsafe { read_slot(self.cursor.get(pos)) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.end.wrapping_sub(self.next);
        (remaining, Some(remaining))
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        // Items from `next` on were not taken: they stay for the next call.
        self.consumer.head = self.next;
        self.consumer.publish_head();
    }
}

impl<T> ExactSizeIterator for Drain<'_, T> {}
