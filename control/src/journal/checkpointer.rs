//! The checkpointer: one low-priority thread (never on a pinned stage's
//! core, never the side thread) that keeps the journal's restart short
//! and, if asked, its size bounded. Every `checkpoint_segments` closed
//! segments it folds them, from the newest checkpoint on, into a gate of
//! its own (the same [`Restorer`] a start uses) and writes the result as a
//! new checkpoint file; opening the journal then folds only what follows
//! it. Segments are closed once written (the writer has moved on), so it
//! reads them as the persister does, beside the writer, never in its way.
//!
//! Retention: `keep` deletes no segment; `persisted` deletes the segments
//! that lie wholly before both the older of the two newest checkpoints
//! (so a damaged newest one leaves one to fall back on) and the entry the
//! database has confirmed it holds everything below. The two newest
//! checkpoints are kept, older ones deleted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use parking_lot::Mutex;
use redline_engine::audit::Restorer;
use redline_engine::risk::RiskGate;
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, Kept};
use super::replay::{resume_newest, Rebuild, Replay as _};
use super::scan;
use crate::db::PersistStatus;
use crate::log::Log;
use crate::placement::lower_current_thread_priority;

/// The thread's nice value: below the side thread, as the persister's.
const NICE: i32 = 10;

/// How often it looks at the journal.
const EVERY: Duration = Duration::from_secs(1);

/// Which segments may be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retention {
    /// None: the journal keeps everything (an operator archives or
    /// deletes behind checkpoints as they see fit).
    Keep,
    /// Those behind a checkpoint that PostgreSQL holds every entry of.
    Persisted,
}

/// How the checkpointer works.
pub struct CheckpointSettings {
    /// The journal's directory.
    pub dir: PathBuf,
    /// Closed segments since the newest checkpoint that make a new one.
    pub every_segments: u64,
    /// Which segments may be deleted.
    pub retention: Retention,
    /// The instruments' symbols, by id, kept in each checkpoint.
    pub instruments: Vec<String>,
    /// A gate fresh from the config, with room for every order a journal
    /// may hold open, to fold into.
    pub fresh_gate: Box<dyn Fn() -> RiskGate + Send>,
    /// The persister's progress, for `Retention::Persisted`.
    pub persisted: Option<Arc<Mutex<PersistStatus>>>,
}

/// What the checkpointer has done, shared with the control plane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStatus {
    /// Checkpoints written since start.
    pub taken: u64,
    /// The entry the newest checkpoint was taken before.
    pub newest: Option<u64>,
    /// Segments deleted since start, and their bytes.
    pub removed_segments: u64,
    pub removed_bytes: u64,
    /// Failed turns since start.
    pub errors: u64,
    /// The last failure, until a turn succeeds.
    pub error: Option<String>,
}

/// The running checkpointer.
pub struct Checkpointer {
    status: Arc<Mutex<CheckpointStatus>>,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread.
    ///
    /// # Errors
    ///
    /// When the thread cannot be started.
    pub fn start(settings: CheckpointSettings, log: Log) -> anyhow::Result<Checkpointer> {
        let newest = checkpoint::list(&settings.dir)?.last().map(|(seq, _)| *seq);
        let status = Arc::new(Mutex::new(CheckpointStatus {
            newest,
            ..CheckpointStatus::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = std::thread::Builder::new()
            .name("redline-checkpoint".into())
            .spawn({
                let (status, stop) = (Arc::clone(&status), Arc::clone(&stop));
                move || {
                    if let Err(why) = lower_current_thread_priority(NICE) {
                        log.warn("journal: cannot lower the checkpointer's priority")
                            .field("why", why)
                            .emit();
                    }
                    let worker = Worker {
                        settings,
                        log,
                        status,
                    };
                    worker.run(&stop);
                }
            })
            .context("cannot start the checkpointer thread")?;
        Ok(Checkpointer {
            status,
            stop,
            handle,
        })
    }

    /// What it has done, as it goes.
    pub fn status_handle(&self) -> Arc<Mutex<CheckpointStatus>> {
        Arc::clone(&self.status)
    }

    /// Ends the thread (a checkpoint being folded is given up; the files
    /// are whole or absent either way).
    pub fn finish(self) {
        // Relaxed: a flag; the join orders the rest.
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

/// The thread's own state.
struct Worker {
    settings: CheckpointSettings,
    log: Log,
    status: Arc<Mutex<CheckpointStatus>>,
}

impl Worker {
    fn run(&self, stop: &AtomicBool) {
        let mut said = false;
        // Relaxed: as in `finish`.
        while !stop.load(Ordering::Relaxed) {
            match self.turn(stop) {
                Ok(()) => {
                    said = false;
                    self.status.lock().error = None;
                }
                Err(error) => {
                    if !said {
                        said = true;
                        self.log
                            .error("journal: checkpoint failed; restarts read more journal")
                            .field("error", &error)
                            .emit();
                    }
                    let mut status = self.status.lock();
                    status.errors += 1;
                    status.error = Some(error);
                }
            }
            let slept = Instant::now();
            while slept.elapsed() < EVERY && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Takes a checkpoint if enough segments closed since the newest one,
    /// then deletes what retention allows.
    fn turn(&self, stop: &AtomicBool) -> Result<(), String> {
        let dir = &self.settings.dir;
        let segments = scan::segments(dir).map_err(|e| e.to_string())?;
        let checkpoints = checkpoint::list(dir).map_err(|e| e.to_string())?;
        let from = checkpoints.last().map_or(0, |(seq, _)| *seq);
        // Every segment but the last is closed.
        let Some((open_first, _)) = segments.last() else {
            return Ok(());
        };
        let closed = segments
            .iter()
            .filter(|(first, _)| *first >= from && first < open_first)
            .count() as u64;
        if self.settings.every_segments > 0 && closed >= self.settings.every_segments {
            self.take(*open_first, stop)?;
        }
        self.prune()
    }

    /// Folds the segments up to entry `until` into a new checkpoint, from
    /// the newest checkpoint that serves (as a start would).
    fn take(&self, until: u64, stop: &AtomicBool) -> Result<(), String> {
        let began = Instant::now();
        let dir = &self.settings.dir;
        let mut gate = (self.settings.fresh_gate)();
        let mut rebuild = Rebuild {
            restorer: Restorer::new(&mut gate),
            symbols: self.settings.instruments.clone(),
        };
        let resumed = resume_newest(dir, &mut rebuild).map_err(|e| e.to_string())?;
        for (path, why) in resumed.passed_over {
            self.log
                .warn("journal: a checkpoint could not serve the checkpointer; it folds from an older one")
                .field("checkpoint", path.display().to_string())
                .field("why", why)
                .emit();
        }
        let from = resumed.at.unwrap_or(0);
        // A segment at a time, so that a stop need not wait for a long
        // journal's first checkpoint; each closed, so none may be torn.
        let files: Vec<(u64, PathBuf)> = scan::segments(dir)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|(first, _)| (from..until).contains(first))
            .collect();
        let (mut next, mut folded) = (from, 0u64);
        for (index, (first, _)) in files.iter().enumerate() {
            // Relaxed: as in `finish`.
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let end = files.get(index + 1).map_or(until, |(first, _)| *first);
            let scan = scan::scan_files(&files[index..=index], None, *first, |seq, entry| {
                rebuild.apply(seq, entry);
                folded += 1;
            })
            .map_err(|e| e.to_string())?;
            if *first != next || scan.next_seq != end {
                return Err(format!(
                    "the journal's segments from entry {from} to {until} are not whole: entries \
                     {next} to {first} are missing, or a segment from {first} ends at {}",
                    scan.next_seq
                ));
            }
            // The checkpoint must not say more than the disk holds.
            for segment in &scan.segments {
                std::fs::File::open(&segment.path)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| format!("cannot sync {}: {e}", segment.path.display()))?;
            }
            next = end;
        }
        if next != until {
            return Err(format!(
                "the journal's segments from entry {from} to {until} are not whole (found entries \
                 up to {next})"
            ));
        }
        let kept = Kept {
            instruments: self.settings.instruments.clone(),
            checkpoint: rebuild.restorer.checkpoint(until),
        };
        let path = checkpoint::write(dir, &kept)?;
        {
            let mut status = self.status.lock();
            status.taken += 1;
            status.newest = Some(until);
        }
        self.log
            .info("journal: checkpoint taken")
            .field("file", path.display().to_string())
            .field("before_entry", until)
            .field("entries_folded", folded)
            .field("ms", began.elapsed().as_millis() as u64)
            .emit();
        Ok(())
    }

    /// Deletes the checkpoints older than the two newest, left-over
    /// temporary files, and the segments retention lets go.
    fn prune(&self) -> Result<(), String> {
        let dir = &self.settings.dir;
        let checkpoints = checkpoint::list(dir).map_err(|e| e.to_string())?;
        let keep_from = checkpoints.len().saturating_sub(2);
        for (_, path) in &checkpoints[..keep_from] {
            remove(path)?;
        }
        if let Ok(listing) = std::fs::read_dir(dir) {
            for item in listing.flatten() {
                let path = item.path();
                let stale = path
                    .to_str()
                    .is_some_and(|p| p.ends_with(".checkpoint.tmp"));
                if stale {
                    remove(&path)?;
                }
            }
        }
        let kept = &checkpoints[keep_from..];
        let (Retention::Persisted, [(older, _), _], Some(persisted)) =
            (self.settings.retention, kept, &self.settings.persisted)
        else {
            return Ok(());
        };
        let Some(held) = persisted.lock().confirmed else {
            return Ok(());
        };
        let bound = (*older).min(held);
        let segments = scan::segments(dir).map_err(|e| e.to_string())?;
        let (mut count, mut bytes, mut through) = (0, 0, 0);
        for pair in segments.windows(2) {
            let ((_, path), (next_first, _)) = (&pair[0], &pair[1]);
            if *next_first > bound {
                break;
            }
            bytes += std::fs::metadata(path).map_or(0, |m| m.len());
            remove(path)?;
            count += 1;
            through = *next_first - 1;
        }
        if count > 0 {
            {
                let mut status = self.status.lock();
                status.removed_segments += count;
                status.removed_bytes += bytes;
            }
            self.log
                .info("journal: segments deleted (behind a checkpoint, and in PostgreSQL)")
                .field("segments", count)
                .field("bytes", bytes)
                .field("through_entry", through)
                .emit();
        }
        Ok(())
    }
}

fn remove(path: &std::path::Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot delete {}: {e}", path.display())),
    }
}
