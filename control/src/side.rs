//! The side thread: drains the hot path's audit rings and folds each record
//! into the run's totals and the current interval's figures, which the
//! status line, the final summary and the control plane read; between
//! drains it serves the control plane's listener. It is never pinned to a
//! hot-path core, and the hot path never waits on it except for room in a
//! full audit ring. It also writes the log: every control-side thread's
//! events queue to it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use redline_engine::audit::{AuditEvent, AuditRecord, AuditStats, Digest};
use redline_engine::command::Outcome;
use redline_engine::ring;

use crate::commander::Commander;
use crate::http::ControlPlane;
use crate::log::LogSink;

/// Records taken from one ring before the lock is let go.
const BATCH: usize = 4096;

/// How many of the latest commands' outcomes are kept.
const OUTCOMES: usize = 1024;

/// What the audit stream has added up to.
#[derive(Debug)]
pub struct Tally {
    /// Since the start.
    pub total: AuditStats,
    /// Since the status line last read it.
    pub recent: AuditStats,
    /// The stream's digest: the same config and seeds in simulated time
    /// give the same one.
    pub digest: Digest,
    /// How the latest operator commands ended, oldest first.
    outcomes: VecDeque<(u64, Outcome)>,
}

impl Tally {
    fn absorb(&mut self, record: &AuditRecord) {
        self.total.absorb(record);
        self.recent.absorb(record);
        self.digest.absorb(record);
        if let AuditEvent::Finished { id, outcome, .. } = record.event {
            if self.outcomes.len() == OUTCOMES {
                self.outcomes.pop_front();
            }
            self.outcomes.push_back((id, outcome));
        }
    }

    /// How operator command `id` ended, once the audit stream says so.
    pub fn outcome(&self, id: u64) -> Option<Outcome> {
        self.outcomes
            .iter()
            .rev()
            .find(|(finished, _)| *finished == id)
            .map(|&(_, outcome)| outcome)
    }
}

/// The running side thread.
pub struct SideThread {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<LogSink>,
}

impl SideThread {
    /// Starts draining `rings` (the fused path's one, or the pipeline's
    /// decide and gateway rings) for `instruments` instruments, and serving
    /// `plane` when there is one, writing what `log` queues, and settling
    /// `commander`'s changes as their commands end.
    pub fn start(
        rings: Vec<ring::Consumer<AuditRecord>>,
        instruments: usize,
        ns_per_tick: f64,
        plane: Option<ControlPlane>,
        log: LogSink,
        commander: Arc<Mutex<Commander>>,
    ) -> anyhow::Result<SideThread> {
        let tally = Arc::new(Mutex::new(Tally {
            total: AuditStats::new(instruments, ns_per_tick),
            recent: AuditStats::new(instruments, ns_per_tick),
            digest: Digest::default(),
            outcomes: VecDeque::with_capacity(OUTCOMES),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = std::thread::Builder::new()
            .name("redline-side".into())
            .spawn({
                let tally = Arc::clone(&tally);
                let stop = Arc::clone(&stop);
                move || drain_until_stopped(rings, &tally, &stop, plane, log, &commander)
            })
            .context("cannot start the side thread")?;
        Ok(SideThread {
            tally,
            stop,
            handle,
        })
    }

    /// The figures, shared with the thread.
    pub fn tally(&self) -> &Mutex<Tally> {
        &self.tally
    }

    /// Takes what is left in the rings (the stages must have stopped), ends
    /// the thread and returns the final figures, and the log's sink for
    /// whoever writes from now on.
    pub fn finish(self) -> anyhow::Result<(Tally, LogSink)> {
        // Release: the drain that follows sees every record written before.
        self.stop.store(true, Ordering::Release);
        let sink = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("the side thread panicked"))?;
        let tally = Arc::try_unwrap(self.tally)
            .map_err(|_| anyhow::anyhow!("the tally is still shared"))?;
        Ok((tally.into_inner(), sink))
    }
}

fn drain_until_stopped(
    mut rings: Vec<ring::Consumer<AuditRecord>>,
    tally: &Mutex<Tally>,
    stop: &AtomicBool,
    mut plane: Option<ControlPlane>,
    mut log: LogSink,
    commander: &Mutex<Commander>,
) -> LogSink {
    loop {
        // Acquire: pairs with `finish`; once it reads true, one last full
        // drain takes everything the stopped stages wrote.
        let stopping = stop.load(Ordering::Acquire);
        let mut taken = 0;
        for ring in &mut rings {
            loop {
                let mut tally = tally.lock();
                let mut batch = 0;
                for record in ring.drain(BATCH) {
                    tally.absorb(&record);
                    batch += 1;
                }
                drop(tally);
                taken += batch;
                if batch < BATCH {
                    break;
                }
            }
        }
        // Before the listener answers: what is done is in force first.
        commander.lock().settle(&tally.lock());
        log.write_pending();
        if stopping {
            return log;
        }
        // With nothing drained, wait for a request (or, without a
        // listener, sleep) rather than spin.
        let idle = Duration::from_micros(200);
        match &mut plane {
            Some(plane) => {
                plane.serve(tally, if taken == 0 { idle } else { Duration::ZERO });
            }
            None if taken == 0 => std::thread::sleep(idle),
            None => {}
        }
    }
}
