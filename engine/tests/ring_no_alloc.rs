//! The ring allocates when it is built and never after: a counting global
//! allocator watches a million items go through push/pop and claim/drain on
//! two threads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use redline_engine::ring;

/// Counts allocations made on threads that have switched counting on.
struct Counting;

thread_local! {
    /// Whether this thread's allocations count; `const`-initialised, so
    /// touching it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's allocations while counting.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Starts or stops counting this thread's allocations.
fn counting(on: bool) {
    COUNTING.with(|flag| flag.set(on));
}

/// This thread's allocations counted so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn count_one() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards every call to the system allocator unchanged; counting is
// a side effect on `const`-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

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
