//! One-way hop latency through each queue: redline's ring and the peers a
//! user would pick instead, all carrying the same 16-byte [`Msg`] through a
//! ring of [`CAPACITY`] slots between the same two pinned cores.
//!
//! The spinning peers (redline, `ArrayQueue`, rtrb, crossbeam-channel,
//! `std::sync::mpsc::sync_channel`) are polled in a spin loop: each one's
//! best case. The disruptor crate runs its own consumer thread with its
//! `BusySpin` strategy. tokio's mpsc is awaited on a current-thread runtime,
//! as an async user would write it, so its consumer parks when idle.

use std::sync::{mpsc, Arc};

use hdrhistogram::Histogram;
use redline_engine::ring;

use crate::harness::{pinned_pair, Hop, Msg, Recorder};

/// A measured peer: its name and how to run one hop measurement.
pub type Peer = (&'static str, fn(&Hop) -> Histogram<u64>);

/// Every queue, redline's first.
pub const PEERS: [Peer; 7] = [
    ("redline ring", redline_ring),
    ("rtrb", rtrb),
    ("disruptor (BusySpin)", disruptor),
    ("crossbeam ArrayQueue", array_queue),
    ("crossbeam-channel (try_recv spin)", crossbeam_channel),
    ("std sync_channel (try_recv spin)", std_sync_channel),
    ("tokio mpsc (current-thread await)", tokio_mpsc),
];

/// Drives a queue whose both ends are polled: `send` hands the message back
/// when full, `recv` returns `None` when empty; both are retried in a spin.
fn spin_hop<S, R>(hop: &Hop, mut send: S, mut recv: R) -> Histogram<u64>
where
    S: FnMut(Msg) -> Result<(), Msg> + Send + 'static,
    R: FnMut() -> Option<Msg> + Send + 'static,
{
    let hop = *hop;
    pinned_pair(
        hop.cores(),
        move || {
            hop.produce(|mut msg| {
                while let Err(back) = send(msg) {
                    msg = back;
                    std::hint::spin_loop();
                }
            })
        },
        move || {
            let mut recorder = Recorder::new(&hop);
            while recorder.received() < hop.total() {
                match recv() {
                    Some(msg) => recorder.record(msg),
                    None => std::hint::spin_loop(),
                }
            }
            recorder.finish()
        },
    )
}

fn redline_ring(hop: &Hop) -> Histogram<u64> {
    let (mut tx, mut rx) = ring::new::<Msg>(hop.capacity);
    spin_hop(
        hop,
        move |msg| tx.push(msg).map_err(|full| full.0),
        move || rx.pop(),
    )
}

fn rtrb(hop: &Hop) -> Histogram<u64> {
    let (mut tx, mut rx) = rtrb::RingBuffer::<Msg>::new(hop.capacity);
    spin_hop(
        hop,
        move |msg| {
            tx.push(msg).map_err(|err| match err {
                rtrb::PushError::Full(msg) => msg,
            })
        },
        move || rx.pop().ok(),
    )
}

fn array_queue(hop: &Hop) -> Histogram<u64> {
    let queue = Arc::new(crossbeam_queue::ArrayQueue::<Msg>::new(hop.capacity));
    let tx = Arc::clone(&queue);
    spin_hop(hop, move |msg| tx.push(msg), move || queue.pop())
}

fn crossbeam_channel(hop: &Hop) -> Histogram<u64> {
    let (tx, rx) = crossbeam_channel::bounded::<Msg>(hop.capacity);
    spin_hop(
        hop,
        move |msg| tx.try_send(msg).map_err(|err| err.into_inner()),
        move || rx.try_recv().ok(),
    )
}

fn std_sync_channel(hop: &Hop) -> Histogram<u64> {
    let (tx, rx) = mpsc::sync_channel::<Msg>(hop.capacity);
    spin_hop(
        hop,
        move |msg| {
            tx.try_send(msg).map_err(|err| match err {
                mpsc::TrySendError::Full(msg) | mpsc::TrySendError::Disconnected(msg) => msg,
            })
        },
        move || rx.try_recv().ok(),
    )
}

/// The disruptor's consumer closure owns the recorder; when the disruptor
/// shuts down and drops the closure, this hands the histogram back.
struct Sink {
    recorder: Option<Recorder>,
    done: mpsc::Sender<Histogram<u64>>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            let _ = self.done.send(recorder.finish());
        }
    }
}

fn disruptor(hop: &Hop) -> Histogram<u64> {
    use disruptor::{build_single_producer, BusySpin, ProcessorSettings, Producer};

    let (done, histogram) = mpsc::channel();
    let mut sink = Sink {
        recorder: Some(Recorder::new(hop)),
        done,
    };
    let hop = *hop;
    let mut producer = build_single_producer(hop.capacity, Msg::default, BusySpin)
        .pin_at_core(hop.consumer_core)
        .thread_name("disruptor-consumer")
        .handle_events_with(move |msg: &Msg, _sequence, _end_of_batch| {
            if let Some(recorder) = sink.recorder.as_mut() {
                recorder.record(*msg);
            }
        })
        .build();
    std::thread::spawn(move || {
        crate::harness::pin(hop.producer_core);
        hop.produce(|msg| producer.publish(|slot| *slot = msg));
        // Dropping the producer drains the consumer and joins its thread.
    })
    .join()
    .expect("disruptor producer panicked");
    histogram.recv().expect("the disruptor consumer reports")
}

fn tokio_mpsc(hop: &Hop) -> Histogram<u64> {
    use tokio::sync::mpsc::error::TrySendError;

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(hop.capacity);
    let hop = *hop;
    pinned_pair(
        hop.cores(),
        move || {
            hop.produce(|mut msg| loop {
                match tx.try_send(msg) {
                    Ok(()) => break,
                    Err(TrySendError::Full(back)) => {
                        msg = back;
                        std::hint::spin_loop();
                    }
                    Err(TrySendError::Closed(_)) => panic!("tokio receiver gone"),
                }
            })
        },
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let mut recorder = Recorder::new(&hop);
                while recorder.received() < hop.total() {
                    match rx.recv().await {
                        Some(msg) => recorder.record(msg),
                        None => break,
                    }
                }
                recorder.finish()
            })
        },
    )
}
