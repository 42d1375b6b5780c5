//! How long the journal's write or sync in progress has waited on the
//! disk. The side thread marks each write's and sync's start and end; the control
//! plane, on its own thread, reads it, so that a stalled disk shows in
//! /health and /metrics while it stalls instead of holding them up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The side thread's mark, shared with the control plane.
#[derive(Debug)]
pub struct DiskWait {
    epoch: Instant,
    /// Nanoseconds from `epoch` to the start of the write or sync in
    /// progress,
    /// plus one; 0 while none is.
    since: AtomicU64,
}

impl Default for DiskWait {
    fn default() -> Self {
        DiskWait {
            epoch: Instant::now(),
            since: AtomicU64::new(0),
        }
    }
}

impl DiskWait {
    /// Runs `io`, a write or sync, marked as waiting on the disk.
    pub fn around<T>(&self, io: impl FnOnce() -> T) -> T {
        self.begin();
        let result = io();
        self.end();
        result
    }

    /// A write or sync begins (on the side thread).
    fn begin(&self) {
        let at = self.epoch.elapsed().as_nanos() as u64 + 1;
        // Relaxed: a figure read for display; it guards no other data.
        self.since.store(at, Ordering::Relaxed);
    }

    /// It ended.
    fn end(&self) {
        // Relaxed: as in `begin`.
        self.since.store(0, Ordering::Relaxed);
    }

    /// How long the write or sync in progress has taken so far; `None`
    /// when none is.
    pub fn current(&self) -> Option<Duration> {
        // Relaxed: as in `begin`.
        match self.since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(since - 1)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_counts_only_while_a_write_is_in_progress() {
        let wait = DiskWait::default();
        assert_eq!(wait.current(), None);
        let so_far = wait.around(|| {
            std::thread::sleep(Duration::from_millis(20));
            wait.current()
        });
        let so_far = so_far.expect("in progress");
        assert!(so_far >= Duration::from_millis(20), "{so_far:?}");
        assert_eq!(wait.current(), None);
    }
}
