//! Saturated throughput: the producer pushes as fast as the queue takes,
//! the consumer pops as fast as it can, single items and batches.
//!
//! Items are `u64`s `0..n`; the consumer checks each arrives in order and
//! measures from the first item to the last.

use redline_engine::{clock, ring};

use crate::harness::pinned_pair;

/// Items per claim or drain in the batch variants.
pub const BATCH: usize = 64;

/// One throughput result.
#[derive(Debug, Clone)]
pub struct Rate {
    /// What was measured.
    pub name: &'static str,
    /// Items per second.
    pub items_per_sec: f64,
}

/// A measured variant: its name and how to run it for `n` items.
type Variant = (&'static str, fn(u64, (usize, usize), usize) -> f64);

const VARIANTS: [Variant; 5] = [
    ("redline ring, single", redline_single),
    ("redline ring, batch 64", redline_batch),
    ("rtrb, single", rtrb_single),
    ("rtrb, batch 64", rtrb_batch),
    ("crossbeam ArrayQueue, single", array_queue_single),
];

/// Runs every variant `rounds` times and keeps each one's median.
pub fn run_all(items: u64, cores: (usize, usize), capacity: usize, rounds: usize) -> Vec<Rate> {
    VARIANTS
        .iter()
        .map(|(name, run)| {
            let mut rates: Vec<f64> = (0..rounds).map(|_| run(items, cores, capacity)).collect();
            rates.sort_by(f64::total_cmp);
            Rate {
                name,
                items_per_sec: rates[rates.len() / 2],
            }
        })
        .collect()
}

/// Consumer-side bookkeeping: order check and first/last arrival times.
struct Count {
    next: u64,
    first: u64,
    n: u64,
}

impl Count {
    fn new(n: u64) -> Self {
        Count {
            next: 0,
            first: 0,
            n,
        }
    }

    #[inline]
    fn take(&mut self, item: u64) {
        assert_eq!(item, self.next, "item lost, duplicated or reordered");
        if item == 0 {
            self.first = clock::ticks();
        }
        self.next += 1;
    }

    fn done(&self) -> bool {
        self.next == self.n
    }

    fn rate(&self) -> f64 {
        let ns = clock::ticks_to_ns(clock::ticks() - self.first).max(1);
        (self.n - 1) as f64 * 1e9 / ns as f64
    }
}

fn redline_batch(n: u64, cores: (usize, usize), capacity: usize) -> f64 {
    let (mut tx, mut rx) = ring::new::<u64>(capacity);
    pinned_pair(
        cores,
        move || {
            let mut next = 0;
            while next < n {
                let mut claim = tx.claim(BATCH);
                while next < n && claim.write(next).is_ok() {
                    next += 1;
                }
            }
        },
        move || {
            let mut count = Count::new(n);
            while !count.done() {
                let mut drain = rx.drain(BATCH);
                let before = count.next;
                drain.by_ref().for_each(|item| count.take(item));
                drop(drain);
                if count.next == before {
                    std::hint::spin_loop();
                }
            }
            count.rate()
        },
    )
}

fn rtrb_batch(n: u64, cores: (usize, usize), capacity: usize) -> f64 {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(capacity);
    pinned_pair(
        cores,
        move || {
            let mut next = 0;
            while next < n {
                let len = tx.slots().min(BATCH).min((n - next) as usize);
                if len == 0 {
                    std::hint::spin_loop();
                    continue;
                }
                let chunk = tx.write_chunk_uninit(len).expect("slots were free");
                next += chunk.fill_from_iter(next..) as u64;
            }
        },
        move || {
            let mut count = Count::new(n);
            while !count.done() {
                let len = rx.slots().min(BATCH);
                if len == 0 {
                    std::hint::spin_loop();
                    continue;
                }
                let chunk = rx.read_chunk(len).expect("slots were filled");
                chunk.into_iter().for_each(|item| count.take(item));
            }
            count.rate()
        },
    )
}

/// Drives a queue one item at a time from both ends: `push` reports whether
/// the item went in (it is retried in a spin when not), `pop` returns `None`
/// when empty.
fn single_items<P, C>(n: u64, cores: (usize, usize), mut push: P, mut pop: C) -> f64
where
    P: FnMut(u64) -> bool + Send + 'static,
    C: FnMut() -> Option<u64> + Send + 'static,
{
    pinned_pair(
        cores,
        move || {
            for item in 0..n {
                while !push(item) {
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let mut count = Count::new(n);
            while !count.done() {
                match pop() {
                    Some(item) => count.take(item),
                    None => std::hint::spin_loop(),
                }
            }
            count.rate()
        },
    )
}

fn redline_single(n: u64, cores: (usize, usize), capacity: usize) -> f64 {
    let (mut tx, mut rx) = ring::new::<u64>(capacity);
    single_items(
        n,
        cores,
        move |item| tx.push(item).is_ok(),
        move || rx.pop(),
    )
}

fn rtrb_single(n: u64, cores: (usize, usize), capacity: usize) -> f64 {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(capacity);
    single_items(
        n,
        cores,
        move |item| tx.push(item).is_ok(),
        move || rx.pop().ok(),
    )
}

fn array_queue_single(n: u64, cores: (usize, usize), capacity: usize) -> f64 {
    let queue = std::sync::Arc::new(crossbeam_queue::ArrayQueue::<u64>::new(capacity));
    let tx = std::sync::Arc::clone(&queue);
    single_items(
        n,
        cores,
        move |item| tx.push(item).is_ok(),
        move || queue.pop(),
    )
}
