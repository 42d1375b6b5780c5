//! A global allocator that counts, per thread, the allocator calls
//! (allocations, reallocations and frees) made while that thread has
//! counting switched on: the tool of the "allocates nothing" proofs, which
//! so also prove that nothing is freed. A test file installs it with
//! `#[global_allocator] static GLOBAL: Counting = Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocator calls made on threads that have switched counting on.
pub struct Counting;

thread_local! {
    /// Whether this thread's allocations count; `const`-initialised, so
    /// touching it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's allocator calls while counting.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Starts or stops counting this thread's allocations.
pub fn counting(on: bool) {
    COUNTING.with(|flag| flag.set(on));
}

/// This thread's allocator calls counted so far.
pub fn allocations() -> usize {
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
        count_one();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
