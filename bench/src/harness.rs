//! What every one-way hop measurement shares: the message, the open-loop
//! producer, the consumer-side recorder, and pinned threads.
//!
//! Open loop: the producer sends one message every `interval` whatever the
//! consumer does, stamping each with the TSC just before handing it over;
//! the consumer records `now - stamp`. A warm-up of `warmup` messages is sent
//! first and not recorded.

use std::sync::mpsc;
use std::thread;

use hdrhistogram::Histogram;
use redline_engine::clock;

/// The message every peer carries: 16 bytes (a redline slot of it and its
/// stamp takes 32, two to a line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Msg {
    /// 0, 1, 2, ... in send order.
    pub seq: u64,
    /// `clock::ticks()` just before the send.
    pub stamp: u64,
}

/// One hop measurement's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Hop {
    /// Recorded messages.
    pub messages: u64,
    /// Unrecorded messages sent first.
    pub warmup: u64,
    /// Ticks between sends.
    pub interval_ticks: u64,
    /// Core of the sending thread.
    pub producer_core: usize,
    /// Core of the receiving thread.
    pub consumer_core: usize,
    /// Slots in the queue under test.
    pub capacity: usize,
}

impl Hop {
    /// `(producer_core, consumer_core)`.
    pub fn cores(&self) -> (usize, usize) {
        (self.producer_core, self.consumer_core)
    }

    /// Messages sent in all.
    pub fn total(&self) -> u64 {
        self.warmup + self.messages
    }

    /// Sends `total()` messages through `send`, one every interval. `send`
    /// must not return until the message is handed over (it spins on full).
    pub fn produce(&self, mut send: impl FnMut(Msg)) {
        let mut next = clock::ticks();
        for seq in 0..self.total() {
            next += self.interval_ticks;
            while clock::ticks() < next {
                std::hint::spin_loop();
            }
            send(Msg {
                seq,
                stamp: clock::ticks(),
            });
        }
    }
}

/// Records latencies on the consumer side and checks that messages arrive
/// once and in order.
pub struct Recorder {
    histogram: Histogram<u64>,
    warmup: u64,
    expected: u64,
}

impl Recorder {
    /// A recorder for `hop`.
    pub fn new(hop: &Hop) -> Self {
        Recorder {
            histogram: new_histogram(),
            warmup: hop.warmup,
            expected: 0,
        }
    }

    /// Records one received message; panics if it is out of order.
    #[inline]
    pub fn record(&mut self, msg: Msg) {
        let now = clock::ticks();
        assert_eq!(
            msg.seq, self.expected,
            "message lost, duplicated or reordered"
        );
        self.expected += 1;
        if msg.seq >= self.warmup {
            self.histogram
                .saturating_record(now.saturating_sub(msg.stamp));
        }
    }

    /// Messages received so far.
    pub fn received(&self) -> u64 {
        self.expected
    }

    /// The latencies recorded, in ticks.
    pub fn finish(self) -> Histogram<u64> {
        self.histogram
    }
}

/// A histogram of ticks from 1 to about 100 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 400_000_000_000, 3).expect("valid histogram bounds")
}

/// Runs `producer` and `consumer` on their pinned cores and returns what
/// the consumer returns.
pub fn pinned_pair<R: Send + 'static>(
    (producer_core, consumer_core): (usize, usize),
    producer: impl FnOnce() + Send + 'static,
    consumer: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (ready_tx, ready_rx) = mpsc::channel();
    let consumer = thread::Builder::new()
        .name("bench-consumer".into())
        .spawn(move || {
            pin(consumer_core);
            ready_tx.send(()).expect("main thread waits");
            consumer()
        })
        .expect("spawn consumer");
    ready_rx.recv().expect("consumer starts");
    let producer = thread::Builder::new()
        .name("bench-producer".into())
        .spawn(move || {
            pin(producer_core);
            producer()
        })
        .expect("spawn producer");
    producer.join().expect("producer panicked");
    consumer.join().expect("consumer panicked")
}

/// Pins the calling thread; a benchmark on unpinned threads measures the
/// scheduler, so failure is fatal.
pub fn pin(core: usize) {
    assert!(
        core_affinity::set_for_current(core_affinity::CoreId { id: core }),
        "cannot pin to core {core}"
    );
}
