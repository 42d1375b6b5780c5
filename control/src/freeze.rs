//! Test hooks that wedge a part of the engine, so that tests can watch
//! health say so:
//!
//! - `REDLINE_TEST_FREEZE_STAGE=<stage>:<ms>` wedges that stage `ms`
//!   milliseconds after it starts (its poll stops returning, as a stuck
//!   stage's would); it still ends when the engine stops;
//! - `REDLINE_TEST_STALL_JOURNAL=<after_ms>:<for_ms>` makes the journal's
//!   first sync due `after_ms` after the start wait `for_ms` first, as on
//!   a stalled disk.
//!
//! The engine says so loudly at start; they are not for production.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redline_engine::stage::{Runtime, Stage, StageError, StageSpec};

use crate::journal::Journal;
use crate::log::Log;

/// The stage hook's environment variable.
pub const VARIABLE: &str = "REDLINE_TEST_FREEZE_STAGE";

/// The journal hook's.
pub const JOURNAL_VARIABLE: &str = "REDLINE_TEST_STALL_JOURNAL";

/// A stage that wedges at `at`.
struct Frozen<S> {
    inner: S,
    at: Instant,
    stop: Arc<AtomicBool>,
}

impl<S: Stage> Stage for Frozen<S> {
    fn poll(&mut self) -> usize {
        if Instant::now() < self.at {
            return self.inner.poll();
        }
        // Relaxed: the flag carries no data.
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
        0
    }
}

/// Spawns `stage` on `runtime`, wedged as the hook says when it names it.
pub fn spawn<S: Stage>(
    log: &Log,
    runtime: &mut Runtime,
    spec: StageSpec,
    stage: S,
) -> Result<(), StageError> {
    match hook().filter(|(name, _)| *name == spec.name) {
        Some((_, after)) => {
            log.warn("test hook wedges a stage")
                .field("hook", VARIABLE)
                .field("stage", &spec.name)
                .field("after_ms", after.as_millis() as u64)
                .emit();
            let frozen = Frozen {
                inner: stage,
                at: Instant::now() + after,
                stop: runtime.stop_flag(),
            };
            runtime.spawn(spec, frozen)
        }
        None => runtime.spawn(spec, stage),
    }
}

/// Stalls a sync of `journal` as the journal hook says, if it is set.
pub fn stall_journal(log: &Log, journal: &mut Journal) {
    let Some((after, lasting)) = std::env::var(JOURNAL_VARIABLE).ok().and_then(|value| {
        let (after, lasting) = value.split_once(':')?;
        Some((after.parse().ok()?, lasting.parse().ok()?))
    }) else {
        return;
    };
    log.warn("test hook stalls a journal sync")
        .field("hook", JOURNAL_VARIABLE)
        .field("after_ms", after)
        .field("for_ms", lasting)
        .emit();
    journal.stall_a_sync(
        Instant::now() + Duration::from_millis(after),
        Duration::from_millis(lasting),
    );
}

fn hook() -> Option<(String, Duration)> {
    let value = std::env::var(VARIABLE).ok()?;
    let (name, ms) = value.split_once(':')?;
    Some((name.to_owned(), Duration::from_millis(ms.parse().ok()?)))
}
