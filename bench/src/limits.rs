//! The physical limits every queue is measured against, taken the same way
//! and in the same run as the queues.
//!
//! - The one-way limit: the producer writes a sequence number and a stamp
//!   into one cache line with one store, the consumer spins on that line.
//!   One cache-line transfer plus one clock read per message; no queue can
//!   beat it.
//! - The lossless one-way limit: the same single store and clock read per
//!   message, but each message on its own line of an array, so that a
//!   stalled consumer finds every message sent meanwhile instead of only the
//!   last; the limit for a queue's tail on a machine that stalls.
//! - The round trip: one cache line bounced between the two cores.
//! - The clock: the cost of one `clock::ticks()`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hdrhistogram::Histogram;
use redline_engine::clock;

use crate::harness::{new_histogram, pin, pinned_pair, Hop};

/// One word alone on its cache line.
#[repr(align(64))]
#[derive(Default)]
struct Line {
    word: AtomicU64,
}

/// Bits of the packed word that hold the stamp; the rest hold the sequence
/// number's low bits.
const STAMP_BITS: u32 = 48;
const STAMP_MASK: u64 = (1 << STAMP_BITS) - 1;

/// The one-way limit: the producer writes its sequence number and stamp as
/// one word (16 low bits of the sequence, 48 bits of ticks since the run
/// began: about 30 hours at 10 GHz), so a message is exactly one store to
/// one line; the consumer spins on that line.
///
/// Returns the latencies and how many sends the consumer missed: a send
/// overwrites the line, so when the producer catches up after a preemption,
/// back-to-back sends can hide one another.
pub fn one_way(hop: &Hop) -> (Histogram<u64>, u64) {
    let line = Arc::new(Line::default());
    let tx = Arc::clone(&line);
    let hop = *hop;
    let base = clock::ticks();
    pinned_pair(
        hop.cores(),
        move || {
            hop.produce(|msg| {
                let word = (msg.seq << STAMP_BITS) | (msg.stamp.wrapping_sub(base) & STAMP_MASK);
                // Release: the one store that carries the message; the
                // consumer's `Acquire` load pairs with it.
                tx.word.store(word, Ordering::Release);
            });
        },
        move || {
            let mut histogram = new_histogram();
            let (mut last_word, mut seq, mut received) = (0, None::<u64>, 0u64);
            let last = hop.total() - 1;
            while seq != Some(last) {
                let word = line.word.load(Ordering::Acquire);
                if word == last_word {
                    std::hint::spin_loop();
                    continue;
                }
                let now = clock::ticks();
                last_word = word;
                received += 1;
                // Rebuild the full sequence number from its low 16 bits,
                // assuming fewer than 65536 sends are missed in a row.
                let low = word >> STAMP_BITS;
                let next = seq.map_or(low, |s| s + ((low.wrapping_sub(s)) & 0xFFFF));
                seq = Some(next);
                if next >= hop.warmup {
                    let stamp = base.wrapping_add(word & STAMP_MASK);
                    histogram.saturating_record(now.saturating_sub(stamp));
                }
            }
            (histogram, hop.total() - received)
        },
    )
}

/// The lossless one-way limit: message `seq` is one store of the same
/// packed word into line `seq % capacity` of an array, and the consumer
/// spins on the line of the message it expects next. Still one line
/// transfer and one clock read per message, but nothing overwrites a
/// message the consumer has not read unless it falls a whole array behind
/// (`capacity` sends; 5 ms at the default interval and size), so its tail
/// counts the messages a consumer stall delays, as a queue's does, where the
/// one-line limit keeps only the last of them.
///
/// Returns the latencies and how many sends were lost to a lap.
pub fn one_way_lines(hop: &Hop) -> (Histogram<u64>, u64) {
    let lines: Arc<[Line]> = (0..hop.capacity).map(|_| Line::default()).collect();
    let tx = Arc::clone(&lines);
    let hop = *hop;
    let base = clock::ticks();
    let mask = hop.capacity as u64 - 1;
    assert!(
        hop.capacity.is_power_of_two() && hop.capacity <= 1 << 15,
        "the lossless limit needs a power-of-two capacity of at most 32768"
    );
    pinned_pair(
        hop.cores(),
        move || {
            hop.produce(|msg| {
                // `seq + 1`, so that a line never written (0) reads as
                // older than any message.
                let word =
                    ((msg.seq + 1) << STAMP_BITS) | (msg.stamp.wrapping_sub(base) & STAMP_MASK);
                // Release: the one store that carries the message; the
                // consumer's `Acquire` load pairs with it.
                tx[(msg.seq & mask) as usize]
                    .word
                    .store(word, Ordering::Release);
            });
        },
        move || {
            let mut histogram = new_histogram();
            let (mut seq, mut lost) = (0u64, 0u64);
            while seq < hop.total() {
                let line = &lines[(seq & mask) as usize];
                let word = line.word.load(Ordering::Acquire);
                // The line holds the message for `seq` when its 16 sequence
                // bits are `seq + 1`'s; the lap before (`capacity` less) or
                // a line never written reads as behind, not yet there.
                let ahead = (word >> STAMP_BITS).wrapping_sub(seq + 1) & 0xFFFF;
                if ahead >= 0x8000 {
                    std::hint::spin_loop();
                    continue;
                }
                let now = clock::ticks();
                if ahead != 0 {
                    // A later lap overwrote the message: the producer got
                    // a whole array ahead.
                    lost += 1;
                    seq += 1;
                    continue;
                }
                if seq >= hop.warmup {
                    let stamp = base.wrapping_add(word & STAMP_MASK);
                    histogram.saturating_record(now.saturating_sub(stamp));
                }
                seq += 1;
            }
            (histogram, lost)
        },
    )
}

/// The round trip of one cache line between the two cores: each side waits
/// for the other's number and answers with the next.
pub fn round_trip(hop: &Hop) -> Histogram<u64> {
    let line = Arc::new(Line::default());
    let echo = Arc::clone(&line);
    let rounds = hop.total();
    let warmup = hop.warmup;
    // The "consumer" core measures, the "producer" core echoes.
    pinned_pair(
        hop.cores(),
        move || {
            for round in 0..rounds {
                // Acquire/Release: each side's write is the other's signal;
                // nothing else is published, but the pair keeps the model
                // honest.
                while echo.word.load(Ordering::Acquire) != 2 * round + 1 {
                    std::hint::spin_loop();
                }
                echo.word.store(2 * round + 2, Ordering::Release);
            }
        },
        move || {
            let mut histogram = new_histogram();
            for round in 0..rounds {
                let start = clock::ticks();
                line.word.store(2 * round + 1, Ordering::Release);
                while line.word.load(Ordering::Acquire) != 2 * round + 2 {
                    std::hint::spin_loop();
                }
                if round >= warmup {
                    histogram.saturating_record(clock::ticks() - start);
                }
            }
            histogram
        },
    )
}

/// The cost of reading the clock, on the consumer's core.
pub fn clock_read(hop: &Hop) -> Histogram<u64> {
    let core = hop.consumer_core;
    let samples = hop.total();
    std::thread::spawn(move || {
        pin(core);
        let mut histogram = new_histogram();
        for _ in 0..samples {
            let a = clock::ticks();
            let b = clock::ticks();
            histogram.saturating_record(b - a);
        }
        histogram
    })
    .join()
    .expect("clock thread panicked")
}

/// The clock's step in nanoseconds: the most common non-zero difference
/// between back-to-back reads. Latencies are quantised to it; a virtual
/// machine's TSC can step by 10 ns or more.
pub fn clock_step_ns() -> f64 {
    let mut counts = std::collections::BTreeMap::new();
    let mut last = clock::ticks();
    for _ in 0..100_000 {
        let now = clock::ticks();
        if now > last {
            *counts.entry(now - last).or_insert(0u32) += 1;
        }
        last = now;
    }
    let step = counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or(1, |(d, _)| d);
    step as f64 * clock::ns_per_tick()
}
