//! The bounded single-producer single-consumer ring that joins hot-path stages.
//!
//! # Design
//!
//! Every slot carries a sequence *stamp* beside its value, and slots are laid
//! out so that none straddles a cache line ([`slots`]): an item of up to 56
//! bytes and its stamp share one line. The producer writes the value, then the stamp (`Release`); the
//! consumer polls the stamp of the slot it expects next (`Acquire`) and reads
//! the value from the same line. A message therefore costs the consumer one
//! cache-line transfer: it never reads a shared tail index first, which is
//! what puts index-based rings (rtrb, the disruptor crate) at 1.3x–1.5x of the
//! one-line limit. The stamp scheme is crossbeam's `ArrayQueue` (Dmitry
//! Vyukov's bounded queue, <https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>)
//! reduced to one producer and one consumer: the stamp for position `pos` is
//! `pos + 1`, unique per lap because the capacity is a power of two.
//!
//! The consumer publishes how far it has read in a shared `head` index on its
//! own cache line: once per cache line of slots, at the end of a drain, and
//! when it finds the ring empty, so that a producer waiting on a full ring
//! never writes into the line the consumer is still reading. The producer
//! keeps a cached copy of it and re-reads the shared one only when the
//! cached copy says the ring is full, so in the common case neither side
//! touches a line the other one writes, apart from the slot itself.
//!
//! For the control plane, a [`Gauge`] reports occupancy from the head and
//! the slot stamps (the published items are the run of stamps from the
//! head, found by binary search) at no cost to the halves, and the producer
//! counts, on its slow path only, how often it found less room than it
//! wanted.
//!
//! Batches amortise what can be amortised: [`Producer::claim`] checks for room
//! once for several slots and publishes them together, [`Consumer::drain`]
//! reads several slots and publishes the new head once.
//!
//! # Costs and guarantees
//!
//! Construction allocates the slots; nothing after it allocates, locks,
//! blocks or makes a syscall. `push` never blocks and never overwrites: a full
//! ring hands the value back in [`Full`]. Dropping both halves drops the items
//! still in the ring exactly once.

mod consumer;
mod gauge;
mod producer;
mod slots;

pub use consumer::{Consumer, Drain};
pub use gauge::{Gauge, Level, RingLevel};
pub use producer::{Claim, Producer};

use std::fmt;

use crossbeam_utils::CachePadded;

use self::slots::{Slot, Slots};
use crate::sync::{Arc, AtomicUsize, Ordering};

/// Creates a ring of `capacity` slots and returns its two halves.
///
/// The slots are allocated here, once; nothing after this call allocates.
///
/// # Panics
///
/// If `capacity` is zero or not a power of two. Configuration is validated
/// before rings are built, so a running engine never reaches this.
pub fn new<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        short: CachePadded::new(AtomicUsize::new(0)),
        slots: Slots::new(capacity),
    });
    let mask = capacity - 1;
    (
        Producer::new(Arc::clone(&shared), mask),
        Consumer::new(shared, mask),
    )
}

/// The error of a push into a full ring; it hands the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring is full")
    }
}

impl<T> std::error::Error for Full<T> {}

/// What the two halves share.
struct Shared<T> {
    /// Position of the next item the consumer will read; positions count up
    /// from 0 and wrap at `usize::MAX` (never reached in practice). Written
    /// only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// Times the producer found less room than it wanted; written only by
    /// the producer, with `Relaxed` stores (a count that publishes no other
    /// data).
    short: CachePadded<AtomicUsize>,
    /// The slots; the length is a power of two.
    slots: Slots<T>,
}

impl<T> Shared<T> {
    /// The slot that holds position `pos`.
    #[inline(always)]
    fn slot(&self, pos: usize, mask: usize) -> &Slot<T> {
        debug_assert_eq!(mask, self.slots.len() - 1);
        // `mask` is `len - 1` with `len` a power of two, so the index is in
        // `0 .. len`.
        self.slots.get(pos & mask)
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both halves are gone (this is the last `Arc`), and the consumer
        // published its final head when it was dropped; the `Arc` drop
        // synchronises with both, so `Relaxed` loads see their last writes.
        let mask = self.slots.len() - 1;
        let mut pos = self.head.load(Ordering::Relaxed);
        for _ in 0..self.slots.len() {
            let slot = self.slot(pos, mask);
            if slot.stamp.load(Ordering::Relaxed) != pos.wrapping_add(1) {
                break;
            }
            // SAFETY: the stamp says the producer published position `pos`,
            // and `pos >= head` says the consumer has not read it, so the
            // value is initialised and owned by the ring; each position is
            // visited once.
            slot.value
                .with_mut(|value| unsafe { (*value).assume_init_drop() });
            pos = pos.wrapping_add(1);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
