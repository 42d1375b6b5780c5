//! The producer half of the ring: single items and claimed batches.
//!
//! It owns the tail position outright (no other thread reads it) and a
//! cached copy of the consumer's head; it never reads a slot the consumer is
//! reading, except when the ring wraps.

use super::slots::{Slot, SlotCursor};
use super::{Full, Shared};
use crate::sync::{Arc, Ordering};

/// The writing half of a ring. `Send`, not `Sync`: exactly one thread writes.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Position of the next item to write, in `head .. head + capacity`
    /// (wrapping). Owned by this half; the consumer learns of it only through
    /// slot stamps.
    tail: usize,
    /// The consumer's head as last read. Possibly stale, only ever behind the
    /// real one, so it under-states the free room and is safe to trust.
    cached_head: usize,
    /// `capacity - 1`.
    mask: usize,
}

// SAFETY: the producer moves values of `T` to the consumer's thread, which
// needs `T: Send`; everything else it holds is atomics and positions it alone
// writes, and `Shared` is reached only through this half and one `Consumer`.
unsafe impl<T: Send> Send for Producer<T> {}

impl<T> Producer<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, mask: usize) -> Self {
        Self {
            shared,
            tail: 0,
            cached_head: 0,
            mask,
        }
    }

    /// The number of slots in the ring.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Appends `value`, or hands it back in [`Full`] when the ring is full.
    ///
    /// Never blocks, allocates or overwrites. The common case writes one
    /// slot; only when the cached head says "full" does it read the
    /// consumer's head.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), Full<T>> {
        if self.free(1) == 0 {
            return Err(Full(value));
        }
        let pos = self.tail;
        self.write(pos, value);
        self.publish(pos);
        self.tail = pos.wrapping_add(1);
        Ok(())
    }

    /// Claims up to `max` free slots, to be written through the returned
    /// [`Claim`] and published together when it is dropped (or
    /// [`Claim::publish`]ed).
    ///
    /// Reads the consumer's head at most once, and only when the cached one
    /// shows fewer than `max` free slots. The claim may be shorter than `max`,
    /// even empty, when the ring is (nearly) full.
    #[inline]
    pub fn claim(&mut self, max: usize) -> Claim<'_, T> {
        let len = self.free(max);
        Claim {
            cursor: self.shared.slots.cursor(),
            start: self.tail,
            len,
            written: 0,
            producer: self,
        }
    }

    /// How many of `wanted` slots are free now, at most `wanted`: room a
    /// stage checks before it takes work whose output must not be dropped.
    /// Reads the consumer's head only when the cached one shows fewer.
    #[inline]
    pub fn room(&mut self, wanted: usize) -> usize {
        self.free(wanted)
    }

    /// How many of `wanted` slots are free, refreshing the cached head only
    /// when it shows fewer than `wanted`.
    #[inline]
    fn free(&mut self, wanted: usize) -> usize {
        let capacity = self.capacity();
        let mut free = capacity - self.tail.wrapping_sub(self.cached_head);
        if free < wanted {
            // Acquire: pairs with the consumer's `Release` store of its head,
            // so its reads of the slots it has left happen before we write
            // them again.
            self.cached_head = self.shared.head.load(Ordering::Acquire);
            free = capacity - self.tail.wrapping_sub(self.cached_head);
            if free < wanted {
                let short = &self.shared.short;
                // Relaxed: a count with one writer (so no read-modify-write
                // is needed) that publishes no other data.
                short.store(short.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            }
        }
        debug_assert!(free <= capacity);
        free.min(wanted)
    }

    /// Writes `value` into the slot of `pos` without publishing it.
    #[inline(always)]
    fn write(&self, pos: usize, value: T) {
        debug_assert!(pos.wrapping_sub(self.cached_head) < self.capacity());
        write_slot(self.shared.slot(pos, self.mask), value);
    }

    /// Makes the item at `pos` visible to the consumer.
    #[inline(always)]
    fn publish(&self, pos: usize) {
        publish_slot(self.shared.slot(pos, self.mask), pos);
    }

    /// A gauge of this ring's occupancy, for the control plane.
    pub fn gauge(&self) -> super::Gauge<T> {
        super::Gauge::new(Arc::clone(&self.shared))
    }
}

/// Writes `value` into the slot of a position in `head .. head + capacity`
/// (one `free` found room for), without publishing it.
#[inline(always)]
fn write_slot<T>(slot: &Slot<T>, value: T) {
    // SAFETY: the position is in `head .. head + capacity`, so the consumer
    // has finished with the slot's previous item and will not read it until
    // its stamp says the new position: the slot is ours.
    slot.value.with_mut(|cell| unsafe { (*cell).write(value) });
}

/// Makes the item written for `pos` into `slot` visible to the consumer.
#[inline(always)]
fn publish_slot<T>(slot: &Slot<T>, pos: usize) {
    // Release: the value written into the slot happens before the consumer's
    // `Acquire` load sees this stamp and reads it.
    slot.stamp.store(pos.wrapping_add(1), Ordering::Release);
}

/// Slots claimed by [`Producer::claim`], written in order and published
/// together when the claim is dropped.
///
/// Forgetting a claim (`mem::forget`) leaks the values written through it;
/// it never exposes them to the consumer half-written.
#[must_use = "a claim publishes what was written when it is dropped"]
pub struct Claim<'a, T> {
    producer: &'a mut Producer<T>,
    /// The producer's slots, kept here so that a loop of writes finds them
    /// in registers; the borrow of the producer keeps them alive.
    cursor: SlotCursor<T>,
    /// The producer's tail when the claim was made.
    start: usize,
    /// Slots claimed, in `0 ..= capacity`.
    len: usize,
    /// Slots written so far, in `0 ..= len`.
    written: usize,
}

impl<T> Claim<'_, T> {
    /// Slots still free in this claim.
    pub fn remaining(&self) -> usize {
        self.len - self.written
    }

    /// Whether every claimed slot has been written (or none was claimed).
    pub fn is_full(&self) -> bool {
        self.written == self.len
    }

    /// Writes `value` into the next claimed slot, or hands it back when the
    /// claim is used up. Not visible to the consumer until published.
    #[inline]
    pub fn write(&mut self, value: T) -> Result<(), Full<T>> {
        if self.written == self.len {
            return Err(Full(value));
        }
        let pos = self.start.wrapping_add(self.written);
        // SAFETY: the cursor's slots belong to the producer this claim
        // borrows, so they outlive the reference.
        write_slot(unsafe { self.cursor.get(pos) }, value);
        self.written += 1;
        Ok(())
    }

    /// Publishes the written slots, in order; the same as dropping the claim.
    pub fn publish(self) {}
}

impl<T> Drop for Claim<'_, T> {
    fn drop(&mut self) {
        for i in 0..self.written {
            let pos = self.start.wrapping_add(i);
            // SAFETY: as in `write`.
            publish_slot(unsafe { self.cursor.get(pos) }, pos);
        }
        self.producer.tail = self.start.wrapping_add(self.written);
    }
}
