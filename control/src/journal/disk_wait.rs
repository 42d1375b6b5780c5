//! How long the journal's write or sync in progress has waited on the
//! disk. The side thread marks each write's and sync's start and end; the control
//! plane, on its own thread, reads it, so that a stalled disk shows in
//! /health and /metrics while it stalls instead of holding them up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::log::Log;

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

/// Logs a wait longer than a bound once, as it passes the bound, and
/// then its end.
pub struct StallLog {
    wait: Arc<DiskWait>,
    bound: Duration,
    /// How long the stall had lasted when last looked at, once said.
    said: Option<Duration>,
    log: Log,
}

impl StallLog {
    /// Watches `wait` against `bound`.
    pub fn new(wait: Arc<DiskWait>, bound: Duration, log: Log) -> StallLog {
        StallLog {
            wait,
            bound,
            said: None,
            log,
        }
    }

    /// Logs what changed since the last look.
    pub fn tick(&mut self) {
        match self.wait.current() {
            Some(waited) if waited > self.bound => {
                if self.said.is_none() {
                    self.log
                        .warn(
                            "journal: a write or sync is waiting on the disk; no records are \
                             taken meanwhile",
                        )
                        .field("waited_ms", waited.as_millis() as u64)
                        .emit();
                }
                self.said = Some(waited);
            }
            // None in progress, or a new one within the bound.
            _ => {
                if let Some(waited) = self.said.take() {
                    self.log
                        .info("journal: the disk answered; taking records again")
                        .field("waited_ms_at_least", waited.as_millis() as u64)
                        .emit();
                }
            }
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
