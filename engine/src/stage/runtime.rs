//! The runtime that owns stage threads: spawn (and pin), heartbeat, stop, join.
//!
//! Dropping a [`Runtime`] stops and joins every thread it owns. A panic in
//! one stage stops the others (a pipeline with a dead stage only fills its
//! rings) and is reported by [`Runtime::join`] naming the stage.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};

use crossbeam_utils::CachePadded;

use super::idle::{Backoff, BusySpin, Idle, IdleStrategy, SpinThenYield};
use super::pinning::{pin_current_thread, PinOutcome, PinPolicy};
use super::Stage;

/// Where and how one stage runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSpec {
    /// The stage's name; also its thread's name.
    pub name: String,
    /// The core to pin to; `None` leaves placement to the scheduler.
    pub core: Option<usize>,
    /// What the loop does when a poll finds no work.
    pub idle: Idle,
}

/// A running stage as the control plane sees it.
#[derive(Debug, Clone)]
pub struct StageStatus {
    /// The stage's name.
    pub name: String,
    /// The idle strategy it runs with.
    pub idle: Idle,
    /// How pinning went.
    pub pinning: PinOutcome,
    heartbeat: Arc<CachePadded<AtomicU64>>,
}

impl StageStatus {
    /// Loop iterations so far; it advances while the stage is alive and not
    /// stuck inside a poll (at least once per idle park when idle).
    pub fn heartbeat(&self) -> u64 {
        // Relaxed: a progress counter that publishes no other data.
        self.heartbeat.load(Ordering::Relaxed)
    }
}

/// Why a stage could not start or did not end well.
#[derive(Debug)]
pub enum StageError {
    /// The OS would not start the thread.
    Spawn {
        /// The stage.
        stage: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Pinning is required and failed.
    Pinning {
        /// The stage.
        stage: String,
        /// The core asked for.
        core: usize,
        /// Why it failed.
        reason: String,
    },
    /// The stage's poll panicked.
    Panicked {
        /// The stage.
        stage: String,
        /// The panic message.
        message: String,
    },
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageError::Spawn { stage, source } => {
                write!(f, "stage `{stage}`: could not start its thread: {source}")
            }
            StageError::Pinning {
                stage,
                core,
                reason,
            } => write!(
                f,
                "stage `{stage}`: pinning to core {core} failed ({reason}) and pinning is \
                 required; pick another core or set `pinning = \"best-effort\"`"
            ),
            StageError::Panicked { stage, message } => {
                write!(f, "stage `{stage}` panicked: {message}")
            }
        }
    }
}

impl std::error::Error for StageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StageError::Spawn { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Owns the stage threads. Dropping it stops and joins them.
pub struct Runtime {
    policy: PinPolicy,
    stop: Arc<AtomicBool>,
    stages: Vec<StageStatus>,
    threads: Vec<JoinHandle<()>>,
}

impl Runtime {
    /// A runtime with no stages yet.
    pub fn new(policy: PinPolicy) -> Self {
        Self {
            policy,
            stop: Arc::new(AtomicBool::new(false)),
            stages: Vec::new(),
            threads: Vec::new(),
        }
    }

    /// Starts `stage` on its own thread, pinned as `spec` says, and returns
    /// once the thread has pinned itself.
    ///
    /// # Errors
    ///
    /// [`StageError::Spawn`] when the OS refuses the thread, and
    /// [`StageError::Pinning`] when pinning fails under
    /// [`PinPolicy::Required`] (the thread then exits without polling).
    pub fn spawn<S: Stage>(&mut self, spec: StageSpec, stage: S) -> Result<(), StageError> {
        let (pinned_tx, pinned_rx) = mpsc::sync_channel(1);
        let stop = Arc::clone(&self.stop);
        let heartbeat = Arc::new(CachePadded::new(AtomicU64::new(0)));
        let beat = Arc::clone(&heartbeat);
        let required = self.policy == PinPolicy::Required;
        let StageSpec { name, core, idle } = spec;
        let thread = thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let outcome = pin_current_thread(core);
                let refuse = required && outcome.is_failure();
                // The receiver waits for this message; it cannot be gone.
                let _ = pinned_tx.send(outcome);
                if refuse {
                    return;
                }
                let _stop_all_on_panic = StopOnPanic(&stop);
                match idle {
                    Idle::BusySpin => run(stage, BusySpin, &stop, &beat),
                    Idle::SpinThenYield => run(stage, SpinThenYield::default(), &stop, &beat),
                    Idle::Backoff => run(stage, Backoff::default(), &stop, &beat),
                }
            })
            .map_err(|source| StageError::Spawn {
                stage: name.clone(),
                source,
            })?;
        let pinning = pinned_rx.recv().unwrap_or(PinOutcome::Unpinned);
        if let (true, PinOutcome::Failed { core, reason }) = (required, &pinning) {
            let _ = thread.join();
            return Err(StageError::Pinning {
                stage: name,
                core: *core,
                reason: reason.clone(),
            });
        }
        self.stages.push(StageStatus {
            name,
            idle,
            pinning,
            heartbeat,
        });
        self.threads.push(thread);
        Ok(())
    }

    /// The stages started so far, in start order.
    pub fn stages(&self) -> &[StageStatus] {
        &self.stages
    }

    /// The flag that stops every stage; setting it (from a signal handler,
    /// say) is the same as [`Runtime::stop`] without the wake-up.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Whether a stop was asked for (or a stage panicked).
    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Asks every stage to stop and wakes parked ones. Each ends within one
    /// poll plus one idle step (at most the backoff park).
    pub fn stop(&self) {
        // Relaxed: the flag carries no data; `join` orders what follows.
        self.stop.store(true, Ordering::Relaxed);
        for thread in &self.threads {
            thread.thread().unpark();
        }
    }

    /// Waits for every stage thread to end (it does not stop them: see
    /// [`Runtime::stop`]).
    ///
    /// # Errors
    ///
    /// [`StageError::Panicked`] for the first stage, in start order, whose
    /// poll panicked.
    pub fn join(mut self) -> Result<(), StageError> {
        self.join_all()
    }

    /// [`Runtime::stop`], then [`Runtime::join`].
    pub fn shutdown(self) -> Result<(), StageError> {
        self.stop();
        self.join()
    }

    fn join_all(&mut self) -> Result<(), StageError> {
        let mut first_error = None;
        for (thread, status) in self.threads.drain(..).zip(&self.stages) {
            if let Err(payload) = thread.join() {
                first_error.get_or_insert(StageError::Panicked {
                    stage: status.name.clone(),
                    message: panic_message(payload.as_ref()),
                });
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
        // A panic is already reported by `join`; here there is nobody to
        // report it to.
        let _ = self.join_all();
    }
}

/// The stage loop, monomorphised per stage and idle strategy.
fn run<S: Stage, I: IdleStrategy>(mut stage: S, idle: I, stop: &AtomicBool, heartbeat: &AtomicU64) {
    let mut beats = 0u64;
    let mut idle_polls = 0u32;
    // Relaxed: the stop flag carries no data, it only has to be seen
    // eventually; thread join orders everything after it.
    while !stop.load(Ordering::Relaxed) {
        beats += 1;
        // Relaxed: a progress counter with one writer (this thread); a plain
        // store to a line nobody else writes.
        heartbeat.store(beats, Ordering::Relaxed);
        if stage.poll() > 0 {
            idle_polls = 0;
        } else {
            idle.idle(idle_polls);
            idle_polls = idle_polls.saturating_add(1);
        }
    }
    stage.finish();
}

/// Sets the stop flag if the stage thread unwinds.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
