//! The physical limits every queue is measured against, taken the same way
//! and in the same run as the queues.
//!
//! - The one-way limit: the producer writes a sequence number and a stamp
//!   into one cache line, the consumer spins on that line. One cache-line
//!   transfer plus one clock read per message; no queue can beat it.
//! - The round trip: one cache line bounced between the two cores.
//! - The clock: the cost of one `clock::ticks()`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hdrhistogram::Histogram;
use redline_engine::clock;

use crate::harness::{new_histogram, pin, pinned_pair, Hop};

/// Two words alone on one cache line.
#[repr(align(64))]
#[derive(Default)]
struct Line {
    seq: AtomicU64,
    stamp: AtomicU64,
}

/// The end-of-run stamp.
const DONE: u64 = u64::MAX;

/// The one-way limit: a stamped cache line, written by one core and spun on
/// by the other. Returns the latencies and how many sends the consumer
/// missed: a send overwrites the line, so when the producer catches up after
/// a preemption, back-to-back sends can hide one another.
pub fn one_way(hop: &Hop) -> (Histogram<u64>, u64) {
    let line = Arc::new(Line::default());
    let tx = Arc::clone(&line);
    let hop = *hop;
    pinned_pair(
        hop.cores(),
        move || {
            hop.produce(|msg| {
                // Relaxed: the sequence number is only used to count misses;
                // the stamp, written last on the same line, is the signal.
                tx.seq.store(msg.seq, Ordering::Relaxed);
                tx.stamp.store(msg.stamp, Ordering::Release);
            });
            tx.stamp.store(DONE, Ordering::Release);
        },
        move || {
            let mut histogram = new_histogram();
            let (mut last, mut received) = (0, 0);
            loop {
                // Acquire: pairs with the producer's `Release` of the stamp.
                let stamp = line.stamp.load(Ordering::Acquire);
                if stamp == last {
                    std::hint::spin_loop();
                    continue;
                }
                if stamp == DONE {
                    break;
                }
                let now = clock::ticks();
                last = stamp;
                received += 1;
                if line.seq.load(Ordering::Relaxed) >= hop.warmup {
                    histogram.saturating_record(now.saturating_sub(stamp));
                }
            }
            (histogram, hop.total() - received)
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
                while echo.seq.load(Ordering::Acquire) != 2 * round + 1 {
                    std::hint::spin_loop();
                }
                echo.seq.store(2 * round + 2, Ordering::Release);
            }
        },
        move || {
            let mut histogram = new_histogram();
            for round in 0..rounds {
                let start = clock::ticks();
                line.seq.store(2 * round + 1, Ordering::Release);
                while line.seq.load(Ordering::Acquire) != 2 * round + 2 {
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
