//! The ring allocates when it is built and never after: a counting global
//! allocator watches a million items go through push/pop and claim/drain on
//! two threads.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use redline_engine::ring;
use support::alloc::{allocations, counting, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const ITEMS: u64 = 1_000_000;

#[test]
fn a_million_items_through_push_pop_and_claim_drain_allocate_nothing() {
    let (mut tx, mut rx) = ring::new::<[u64; 4]>(256);
    let (mut batch_tx, mut batch_rx) = ring::new::<u64>(256);
    // Threads are spawned (which allocates) before counting starts; they
    // wait for the flag.
    let go = std::sync::Arc::new(AtomicBool::new(false));
    let go_producer = std::sync::Arc::clone(&go);
    let producer = thread::spawn(move || {
        while !go_producer.load(Ordering::Acquire) {
            thread::yield_now();
        }
        counting(true);
        for i in 0..ITEMS {
            let mut item = [i; 4];
            while let Err(ring::Full(back)) = tx.push(item) {
                item = back;
                thread::yield_now();
            }
        }
        let mut next = 0;
        while next < ITEMS {
            let mut claim = batch_tx.claim(32);
            while next < ITEMS && claim.write(next).is_ok() {
                next += 1;
            }
            let empty = claim.remaining() == 0 && next < ITEMS;
            drop(claim);
            if empty {
                thread::yield_now();
            }
        }
        counting(false);
        allocations()
    });
    counting(true);
    go.store(true, Ordering::Release);
    let mut received = 0;
    while received < ITEMS {
        match rx.pop() {
            Some(item) => {
                assert_eq!(item, [received; 4]);
                received += 1;
            }
            None => thread::yield_now(),
        }
    }
    let mut received = 0;
    while received < ITEMS {
        let before = received;
        for item in batch_rx.drain(64) {
            assert_eq!(item, received);
            received += 1;
        }
        if received == before {
            thread::yield_now();
        }
    }
    counting(false);
    assert_eq!(allocations(), 0, "the consumer side allocated");
    assert_eq!(producer.join().unwrap(), 0, "the producer side allocated");
}

#[test]
fn counting_allocator_sees_allocations() {
    // The proof above is only as good as the counter: show it counts.
    counting(true);
    let boxed = std::hint::black_box(Box::new(7u64));
    counting(false);
    drop(boxed);
    assert_eq!(allocations(), 1);
}
