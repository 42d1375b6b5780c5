//! Model checks of the ring with loom: every interleaving of a producer and
//! a consumer (up to `LOOM_MAX_PREEMPTIONS` preemptions) delivers each item
//! once, in order, and drops what is left exactly once.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p redline-engine --release --test ring_loom`.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};

use loom::sync::Arc;
use loom::thread;
use redline_engine::ring;

#[test]
fn push_pop_through_a_wrapping_ring() {
    loom::model(|| push_then_pop(2, 3));
}

#[test]
fn single_pops_of_small_items_free_room_for_a_waiting_producer() {
    // Several `u8` slots share a line, so a pop publishes the head only at
    // the end of a line or on finding the ring empty; a producer waiting
    // for room must still get it, in every interleaving.
    loom::model(|| push_then_pop(4, 6));
}

/// One model run: a producer pushes `0..items` (retrying while full) into
/// a ring of `capacity` `u8` slots, and the consumer pops them one by one,
/// in order, and then finds the ring empty.
fn push_then_pop(capacity: usize, items: u8) {
    let (mut tx, mut rx) = ring::new::<u8>(capacity);
    let producer = thread::spawn(move || {
        for i in 0..items {
            let mut item = i;
            while let Err(ring::Full(back)) = tx.push(item) {
                item = back;
                thread::yield_now();
            }
        }
    });
    let mut next = 0;
    while next < items {
        match rx.pop() {
            Some(item) => {
                assert_eq!(item, next);
                next += 1;
            }
            None => thread::yield_now(),
        }
    }
    producer.join().unwrap();
    assert!(rx.pop().is_none());
}

#[test]
fn claims_and_drains_deliver_each_item_once_in_order() {
    loom::model(|| {
        let (mut tx, mut rx) = ring::new::<usize>(2);
        let producer = thread::spawn(move || {
            let mut next = 0;
            while next < 3 {
                let mut claim = tx.claim(2);
                while next < 3 && claim.write(next).is_ok() {
                    next += 1;
                }
                let claimed_nothing = claim.remaining() == 0 && next < 3;
                drop(claim);
                if claimed_nothing {
                    thread::yield_now();
                }
            }
        });
        let mut next = 0;
        while next < 3 {
            let before = next;
            for item in rx.drain(2) {
                assert_eq!(item, next);
                next += 1;
            }
            if next == before {
                thread::yield_now();
            }
        }
        producer.join().unwrap();
    });
}

#[test]
fn a_drain_takes_only_proven_items_while_the_producer_publishes() {
    // Capacity 4 and a drain of up to 4 make the drain gallop (1, 2, 4) and
    // bisect while the producer publishes item by item beside it.
    loom::model(|| {
        let (mut tx, mut rx) = ring::new::<usize>(4);
        let producer = thread::spawn(move || {
            for i in 0..4 {
                tx.push(i).unwrap();
            }
        });
        let mut next = 0;
        while next < 4 {
            let before = next;
            for item in rx.drain(4) {
                assert_eq!(item, next);
                next += 1;
            }
            if next == before {
                thread::yield_now();
            }
        }
        producer.join().unwrap();
    });
}

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn items_left_in_the_ring_are_dropped_once_whichever_half_goes_last() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = ring::new::<Counted>(2);
        let counter = Arc::clone(&drops);
        let producer = thread::spawn(move || {
            for _ in 0..2 {
                let _ = tx.push(Counted(Arc::clone(&counter)));
            }
        });
        // Read what is there, then drop the consumer while the producer may
        // still be pushing.
        drop(rx.pop());
        drop(rx);
        producer.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}
