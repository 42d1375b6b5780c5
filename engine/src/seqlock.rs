//! A seqlock over a fixed array of words: one writer publishes a snapshot
//! without ever waiting for a reader, and readers copy a consistent one,
//! trying again when the writer was part-way through.
//!
//! Every word is an atomic, so a torn read is detected by the sequence
//! number rather than being undefined behaviour, and there is no `unsafe`
//! here. The orderings follow Boehm, "Can Seqlocks Get Along With
//! Programming Language Memory Models?" (MSPC 2012), and are justified
//! where they are used. Checked with loom (`tests/seqlock_loom.rs`).

use crossbeam_utils::CachePadded;

use crate::sync::{fence, spin_hint, AtomicU64, Ordering};

/// How many times [`SeqLock::read`] tries before giving up: spinning
/// first, then sleeping [`READ_PAUSE`] between tries, about 100 ms in all.
/// A writer takes nanoseconds per snapshot, but the scheduler may preempt
/// it part-way on a busy machine for a time slice or more; only a writer
/// stopped for good (a frozen or dead thread) runs a reader out of tries.
const READ_TRIES: usize = SPINS + 1000;

/// Tries that spin before the reader starts sleeping.
const SPINS: usize = 64;

/// The sleep between later tries.
const READ_PAUSE: std::time::Duration = std::time::Duration::from_micros(100);

/// The seqlock. See the module docs.
#[derive(Debug)]
pub struct SeqLock {
    /// Even when the words are a whole snapshot, odd while one is written.
    seq: CachePadded<AtomicU64>,
    words: Box<[AtomicU64]>,
}

impl SeqLock {
    /// A seqlock of `len` words, all zero.
    pub fn new(len: usize) -> Self {
        SeqLock {
            seq: CachePadded::new(AtomicU64::new(0)),
            words: (0..len).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The number of words in a snapshot.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether a snapshot has no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Publishes a snapshot: `fill` sets the words it means to change
    /// (the rest keep their last value). Never waits, allocates or fails.
    ///
    /// There must be one writer: two threads writing at once cannot break
    /// memory safety, but their readers could see a mix of both snapshots.
    #[inline]
    pub fn write(&self, fill: impl FnOnce(&mut Words<'_>)) {
        // Relaxed load: the writer is the only thread that stores `seq`.
        let seq = self.seq.load(Ordering::Relaxed);
        // Relaxed store, then a release fence: no word store below may be
        // seen by a reader whose acquire fence follows its read of that
        // word without this odd number being visible to it as well, which
        // is how a reader knows its copy may be torn.
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        fill(&mut Words(&self.words));
        // Release: a reader that sees this even number sees every word
        // stored above.
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// Copies the latest whole snapshot into `out` (which must have
    /// [`SeqLock::len`] words). Returns `false`, with `out` holding no
    /// whole snapshot, when the writer stayed part-way through for all of
    /// [`READ_TRIES`] tries. It may sleep: it is for the control plane,
    /// never for the hot path.
    pub fn read(&self, out: &mut [u64]) -> bool {
        assert_eq!(out.len(), self.words.len(), "a whole snapshot");
        for attempt in 0..READ_TRIES {
            if attempt >= SPINS {
                pause(READ_PAUSE);
            }
            // Acquire: pairs with the writer's closing release store, so
            // the words read below are at least that snapshot's.
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                spin_hint();
                continue;
            }
            for (word, out) in self.words.iter().zip(out.iter_mut()) {
                // Relaxed: consistency is checked by the sequence below.
                *out = word.load(Ordering::Relaxed);
            }
            // Acquire fence: if any word above came from a later write,
            // that write's odd sequence number (stored before its release
            // fence) is visible to the load below, which then differs.
            fence(Ordering::Acquire);
            let after = self.seq.load(Ordering::Relaxed);
            if after == before {
                return true;
            }
        }
        false
    }
}

/// Waits between tries: a sleep, or under loom a yield (loom has no time).
#[cfg(not(loom))]
fn pause(pause: std::time::Duration) {
    std::thread::sleep(pause);
}

/// Waits between tries: a sleep, or under loom a yield (loom has no time).
#[cfg(loom)]
fn pause(_: std::time::Duration) {
    spin_hint();
}

/// The words of a snapshot being written.
#[derive(Debug)]
pub struct Words<'a>(&'a [AtomicU64]);

impl Words<'_> {
    /// Sets word `index`.
    ///
    /// # Panics
    ///
    /// When `index` is out of range.
    #[inline]
    pub fn set(&mut self, index: usize, value: u64) {
        // Relaxed: published by the closing release store of `write`.
        self.0[index].store(value, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_read_sees_the_last_whole_write() {
        let lock = SeqLock::new(3);
        let mut out = [9; 3];
        assert!(lock.read(&mut out));
        assert_eq!(out, [0, 0, 0]);
        lock.write(|w| {
            w.set(0, 1);
            w.set(2, 3);
        });
        lock.write(|w| w.set(1, 2));
        assert!(lock.read(&mut out));
        assert_eq!(out, [1, 2, 3]);
    }

    #[test]
    fn a_writer_stopped_part_way_leaves_readers_without_a_snapshot() {
        let lock = SeqLock::new(1);
        lock.seq.store(1, Ordering::Relaxed);
        let mut out = [0];
        assert!(!lock.read(&mut out));
    }

    #[test]
    fn readers_on_other_threads_never_see_a_torn_snapshot() {
        let lock = std::sync::Arc::new(SeqLock::new(8));
        let reader = {
            let lock = std::sync::Arc::clone(&lock);
            std::thread::spawn(move || {
                let mut out = [0; 8];
                let (mut whole, mut last) = (0, 0);
                while last < 200_000 {
                    if lock.read(&mut out) {
                        assert!(out.iter().all(|&w| w == out[0]), "torn: {out:?}");
                        assert!(out[0] >= last, "went back");
                        last = out[0];
                        whole += 1;
                    }
                }
                whole
            })
        };
        for round in 1..=200_000u64 {
            lock.write(|w| (0..8).for_each(|i| w.set(i, round)));
        }
        assert!(reader.join().unwrap() > 0);
    }
}
