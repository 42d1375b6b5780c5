//! The synchronisation primitives the lock-free code is written against.
//!
//! Under `--cfg loom` they are loom's model-checked versions; otherwise the
//! standard library's. Lock-free code imports from here, never from `std`
//! directly, so the same source is what loom checks and what ships.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

/// An `UnsafeCell` with loom's closure-based API, so that loom can track
/// every access to the cell's contents.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// An `UnsafeCell` with loom's closure-based API, so that loom can track
/// every access to the cell's contents. Without loom it compiles to a plain
/// [`std::cell::UnsafeCell`] access.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Tells the processor (or, under loom, the model checker) that the caller
/// is waiting for another thread.
#[cfg(loom)]
pub(crate) fn spin_hint() {
    loom::thread::yield_now();
}

/// Tells the processor (or, under loom, the model checker) that the caller
/// is waiting for another thread.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn spin_hint() {
    std::hint::spin_loop();
}
