//! The side thread: drains the hot path's audit rings, appends each record
//! to the journal and, once the journal has it, folds it into the run's
//! totals and the current interval's figures, which the status line, the
//! final summary and the control plane read. Beside it, each on a thread
//! of its own so that a journal waiting on the disk holds up neither, the
//! control plane's listener answers requests and the log writer writes
//! every control-side thread's events. None is on a pinned stage's core,
//! and the hot path never waits on them except for room in a full audit
//! ring.
//!
//! A journal write that fails stops the draining: the records taken stay
//! held until the journal takes them, and the rings fill, so the hot path
//! stops trading rather than trade without a record.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_lot::Mutex;
use redline_engine::audit::{AuditEvent, AuditRecord, AuditStats, Digest};
use redline_engine::command::Outcome;
use redline_engine::ring;

use crate::commander::Commander;
use crate::http::ControlPlane;
use crate::journal::{Journal, JournalStats};
use crate::log::{money, Log, LogSink};
use crate::timestamp::unix_ns;

/// Records taken from one ring before the lock is let go.
pub const BATCH: usize = 4096;

/// How many of the latest commands' outcomes are kept.
const OUTCOMES: usize = 1024;

/// Batches taken from one ring per turn at most, so that a writer faster
/// than the journal cannot keep the thread from its log and listener (the
/// ring fills instead, and the hot path waits for room).
const BATCHES_PER_TURN: usize = 4;

/// How often a failed journal write is tried again.
const RETRY: Duration = Duration::from_millis(50);

/// How long the listener waits for a request before it looks again at the
/// heartbeats and the commands that ended.
const LISTENER_TURN: Duration = Duration::from_millis(2);

/// How long the log writer waits for a line before it looks at the stop
/// flag.
const LOG_TURN: Duration = Duration::from_millis(20);

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
    /// The journal's counts, as of its last write.
    pub journal: JournalStats,
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

/// What the side thread works with.
pub struct SideParts {
    /// The audit rings, by writer: the fused path's one, or the pipeline's
    /// decide and gateway rings.
    pub rings: Vec<ring::Consumer<AuditRecord>>,
    /// Where every record goes first.
    pub journal: Journal,
    /// The listener, when there is one.
    pub plane: Option<ControlPlane>,
    /// Settles changes as their commands end.
    pub commander: Arc<Mutex<Commander>>,
    /// What it logs.
    pub log: Log,
}

/// The running side thread, and the listener's and the log writer's
/// beside it.
pub struct SideThread {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
    listener: Option<JoinHandle<()>>,
    writer: JoinHandle<LogSink>,
}

impl SideThread {
    /// Starts the threads: the side thread on `parts`, for `instruments`
    /// instruments on a clock of `ns_per_tick`, the listener (if `parts`
    /// has one), and the log writer on `sink`.
    pub fn start(
        mut parts: SideParts,
        mut sink: LogSink,
        instruments: usize,
        ns_per_tick: f64,
    ) -> anyhow::Result<Self> {
        let tally = Arc::new(Mutex::new(Tally {
            total: AuditStats::new(instruments, ns_per_tick),
            recent: AuditStats::new(instruments, ns_per_tick),
            digest: Digest::default(),
            outcomes: VecDeque::with_capacity(OUTCOMES),
            journal: parts.journal.stats().clone(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let listener = match parts.plane.take() {
            Some(plane) => Some(
                std::thread::Builder::new()
                    .name("redline-http".into())
                    .spawn({
                        let tally = Arc::clone(&tally);
                        let stop = Arc::clone(&stop);
                        let commander = Arc::clone(&parts.commander);
                        move || listen(plane, &tally, &commander, &stop)
                    })
                    .context("cannot start the control plane's thread")?,
            ),
            None => None,
        };
        let writer = std::thread::Builder::new()
            .name("redline-log".into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || {
                    // Relaxed: the flag carries no data; the lines come
                    // through the channel.
                    while !stop.load(Ordering::Relaxed) {
                        sink.write_next(LOG_TURN);
                    }
                    sink
                }
            })
            .context("cannot start the log writer")?;
        let handle = std::thread::Builder::new()
            .name("redline-side".into())
            .spawn({
                let tally = Arc::clone(&tally);
                let stop = Arc::clone(&stop);
                move || Side::new(parts).run(&tally, &stop)
            })
            .context("cannot start the side thread")?;
        Ok(SideThread {
            tally,
            stop,
            handle,
            listener,
            writer,
        })
    }

    /// The figures, shared with the thread.
    pub fn tally(&self) -> &Mutex<Tally> {
        &self.tally
    }

    /// Takes what is left in the rings (the stages must have stopped),
    /// journals and syncs it, ends the thread and returns the final
    /// figures, and the log's sink for whoever writes from now on.
    pub fn finish(self) -> anyhow::Result<(Tally, LogSink)> {
        // Release: the drain that follows sees every record written before.
        self.stop.store(true, Ordering::Release);
        self.handle
            .join()
            .map_err(|_| anyhow::anyhow!("the side thread panicked"))?;
        if let Some(listener) = self.listener {
            listener
                .join()
                .map_err(|_| anyhow::anyhow!("the control plane's thread panicked"))?;
        }
        // What it had not written yet stays queued in the sink, in order.
        let sink = self
            .writer
            .join()
            .map_err(|_| anyhow::anyhow!("the log writer panicked"))?;
        let tally = Arc::try_unwrap(self.tally)
            .map_err(|_| anyhow::anyhow!("the tally is still shared"))?;
        Ok((tally.into_inner(), sink))
    }
}

/// The thread's own state.
struct Side {
    parts: SideParts,
    /// Records taken from the rings and framed, that the journal has not
    /// yet written (after a failed write), in order.
    held: Vec<AuditRecord>,
    /// When a failed write was last tried.
    tried: Instant,
    /// Whether the journal is failing (said once per outage).
    failing: bool,
}

impl Side {
    fn new(parts: SideParts) -> Side {
        Side {
            parts,
            held: Vec::with_capacity(BATCH),
            tried: Instant::now(),
            failing: false,
        }
    }

    fn run(mut self, tally: &Mutex<Tally>, stop: &AtomicBool) {
        loop {
            // Acquire: pairs with `finish`; once it reads true, one last
            // full drain takes everything the stopped stages wrote.
            let stopping = stop.load(Ordering::Acquire);
            let taken = self.drain(tally, stopping);
            if let Err(e) = self.parts.journal.sync_if_due() {
                self.failed(&e);
            }
            tally.lock().journal.clone_from(self.parts.journal.stats());
            self.parts.commander.lock().settle(&tally.lock());
            if stopping {
                self.stop(tally);
                return;
            }
            // With nothing drained, sleep rather than spin.
            if taken == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    /// Takes what the rings hold (up to [`BATCHES_PER_TURN`] batches from
    /// each) into the journal, then the tally; returns how many records. With records held from a failed write, only tries
    /// that write again (every [`RETRY`], or at once when `stopping`).
    fn drain(&mut self, tally: &Mutex<Tally>, stopping: bool) -> usize {
        if !self.held.is_empty() {
            if !stopping && self.tried.elapsed() < RETRY {
                return 0;
            }
            if !self.commit(tally) {
                return 0;
            }
        }
        let mut taken = 0;
        // The last turn takes everything.
        let batches = if stopping {
            usize::MAX
        } else {
            BATCHES_PER_TURN
        };
        for writer in 0..self.parts.rings.len() {
            for _ in 0..batches {
                let wall = unix_ns();
                let Side { parts, held, .. } = self;
                for record in parts.rings[writer].drain(BATCH) {
                    parts.journal.append(writer as u8, wall, &record);
                    held.push(record);
                }
                let batch = held.len();
                if batch == 0 {
                    break;
                }
                taken += batch;
                if !self.commit(tally) {
                    return taken;
                }
                if batch < BATCH {
                    break;
                }
            }
        }
        taken
    }

    /// Writes what the journal holds; once written, the held records go to
    /// the tally. Returns whether it wrote.
    fn commit(&mut self, tally: &Mutex<Tally>) -> bool {
        self.tried = Instant::now();
        let written = self.parts.journal.commit();
        let mut tally = tally.lock();
        tally.journal.clone_from(self.parts.journal.stats());
        if let Err(e) = written {
            drop(tally);
            self.failed(&e);
            return false;
        }
        for record in self.held.drain(..) {
            tally.absorb(&record);
            if let AuditEvent::DayStarted { pnl_nanos, .. } = record.event {
                self.parts
                    .log
                    .info("trading day began: the daily loss limit counts from here")
                    .field("pnl", money(pnl_nanos))
                    .emit();
            }
        }
        drop(tally);
        if self.failing {
            self.failing = false;
            self.parts.log.info("journal: writing again").emit();
        }
        true
    }

    fn failed(&mut self, error: &str) {
        if std::mem::replace(&mut self.failing, true) {
            return;
        }
        self.parts
            .log
            .error("journal: cannot write; taking no more records until it can")
            .field("dir", self.parts.journal.dir().display().to_string())
            .field("error", error)
            .field("waiting", self.parts.journal.stats().backlog)
            .emit();
    }

    /// The last turn: what the journal could not take is counted in the
    /// figures all the same, and said.
    fn stop(&mut self, tally: &Mutex<Tally>) {
        if self.held.is_empty() {
            if let Err(e) = self.parts.journal.flush() {
                self.failed(&e);
            }
            return;
        }
        let lost = self.held.len();
        self.parts
            .log
            .error("journal: stopping with entries it could not write")
            .field("entries", lost)
            .emit();
        let mut tally = tally.lock();
        for record in self.held.drain(..) {
            tally.absorb(&record);
        }
    }
}

/// The listener's thread: answers requests until `stop`, each command's
/// change in force before its answer says it is done.
fn listen(
    mut plane: ControlPlane,
    tally: &Mutex<Tally>,
    commander: &Mutex<Commander>,
    stop: &AtomicBool,
) {
    // Relaxed: the flag carries no data; what is served is read under the
    // tally's and the commander's locks.
    while !stop.load(Ordering::Relaxed) {
        commander.lock().settle(&tally.lock());
        plane.serve(tally, LISTENER_TURN);
    }
}
