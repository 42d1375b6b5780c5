//! A test hook: `REDLINE_TEST_FREEZE_STAGE=<stage>:<ms>` wedges that stage
//! `ms` milliseconds after it starts (its poll stops returning, as a stuck
//! stage's would), so that tests can watch liveness turn red. The stage
//! still ends when the engine stops. The engine says so loudly at start;
//! it is not for production.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redline_engine::stage::{Runtime, Stage, StageError, StageSpec};

use crate::log::Log;

/// The environment variable.
pub const VARIABLE: &str = "REDLINE_TEST_FREEZE_STAGE";

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

fn hook() -> Option<(String, Duration)> {
    let value = std::env::var(VARIABLE).ok()?;
    let (name, ms) = value.split_once(':')?;
    Some((name.to_owned(), Duration::from_millis(ms.parse().ok()?)))
}
