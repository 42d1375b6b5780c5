//! The journal writer, owned by the side thread: frames each audit record
//! as an entry with the next journal sequence number, appends it to the
//! current segment, rolls to a new segment past `segment_bytes`, and syncs
//! as the fsync policy says. A write that fails keeps its entries to try
//! again, the file first cut back to its last whole entry, so a failing
//! disk grows a backlog, never a hole. One engine at a time: the
//! directory's `LOCK` file is held while it runs.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redline_engine::audit::{AuditRecord, JournalEntry};
use rkyv::util::AlignedVec;
use serde::{Deserialize, Serialize};

use super::checkpointer::CheckpointStatus;
use super::disk_wait::DiskWait;
use super::frame;
use super::replay::{resume_newest, Replay, Resumed};
use super::scan::{self, Scan, MAGIC};

/// When written entries are forced to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fsync {
    /// After every batch the side thread writes: nothing written is lost
    /// even to a power cut, at the price of a sync per batch.
    Batch,
    /// At most every `fsync_interval_ms`: a power cut or kernel crash may
    /// lose that much; a crash of the process loses nothing.
    Interval,
    /// Never; the OS writes back when it will (about 30 s on Linux): a
    /// crash of the process loses nothing, a power cut may lose more.
    Never,
}

/// How the journal is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSettings {
    /// The directory.
    pub dir: PathBuf,
    /// A segment is closed and a new one begun past this many bytes.
    pub segment_bytes: u64,
    /// When to sync.
    pub fsync: Fsync,
    /// The interval of [`Fsync::Interval`].
    pub fsync_interval: Duration,
}

/// What the journal held when it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// What the scan found (the torn tail, if any, is now cut off); it
    /// began at the checkpoint resumed from, if any.
    pub scan: Scan,
    /// Which checkpoint the replay resumed from.
    pub resumed: Resumed,
}

/// The journal's own counts, for metrics and health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Entries written since start.
    pub entries: u64,
    /// Bytes written since start.
    pub bytes: u64,
    /// Syncs since start.
    pub fsyncs: u64,
    /// Failed writes since start.
    pub write_errors: u64,
    /// Entries framed but not yet written (a failing disk grows it).
    pub backlog: u64,
    /// Segments in the directory.
    pub segments: u64,
    /// The next entry's sequence number.
    pub next_seq: u64,
    /// The last write error, while the backlog stands.
    pub error: Option<String>,
    /// Bytes free to the journal on its file system, as of the last look
    /// (once a second); `None` when it cannot be read.
    pub disk_free_bytes: Option<u64>,
    /// The checkpointer's, when it runs (the control plane fills it in).
    pub checkpoints: Option<CheckpointStatus>,
    /// How long the write or sync in progress has waited on the disk, if
    /// one is (the control plane fills it in).
    pub disk_wait: Option<Duration>,
}

/// An open journal.
pub struct Journal {
    settings: JournalSettings,
    /// Held for the journal's life: one engine per directory.
    _lock: File,
    /// The current segment, opened to append.
    file: File,
    /// Its bytes that hold whole entries.
    segment_len: u64,
    /// Frames not yet written, in order.
    pending: Vec<u8>,
    scratch: AlignedVec,
    /// Whether something written is not yet synced, and when it was last.
    unsynced: bool,
    last_sync: Instant,
    /// When the free space was last looked at.
    disk_checked: Instant,
    stats: JournalStats,
    /// The write or sync in progress, for the control plane.
    disk_wait: Arc<DiskWait>,
    /// A test hook's stall of the first sync due from then on.
    stall: Option<(Instant, Duration)>,
}

/// Why a journal cannot be opened.
pub type OpenError = anyhow::Error;

impl Journal {
    /// Opens (or creates) the journal in `settings.dir`: takes its lock,
    /// resumes `replay` from the newest checkpoint that serves it (if
    /// any), reads the rest back (see [`scan::scan`]), cuts off a torn
    /// tail, and hands each entry to `replay`.
    ///
    /// # Errors
    ///
    /// When the directory is in use by another engine, cannot be made or
    /// read, or holds a corrupt journal or one whose segments since the
    /// checkpoint resumed from (entry 0 without one) are missing.
    pub fn open(
        settings: JournalSettings,
        replay: &mut impl Replay,
    ) -> Result<(Journal, Recovered), OpenError> {
        use anyhow::Context as _;
        let dir = &settings.dir;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the journal directory {}", dir.display()))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        lock.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "the journal directory {} is in use by another redline (its LOCK is held); stop \
                 that engine or give this one its own persistence.journal_dir",
                dir.display()
            )
        })?;
        let resumed = resume_newest(dir, replay)?;
        let from = resumed.at.unwrap_or(0);
        let scan = scan::scan(dir, from, |seq, entry| replay.apply(seq, entry))?;
        if let Some(oldest) = scan.segments.first().filter(|s| s.first_seq != from) {
            let needed = match from {
                0 => "the segments before it are missing".to_owned(),
                n => format!(
                    "the segments from entry {n} (where the checkpoint it resumes from was \
                     taken) up to it are missing"
                ),
            };
            let mut why = String::new();
            for (path, reason) in &resumed.passed_over {
                why += &format!(" (checkpoint {} could not serve: {reason})", path.display());
            }
            anyhow::bail!(
                "the journal in {} begins at entry {}, in {}: {needed}{why}, so the positions, \
                 P&L and open orders cannot be rebuilt from it, and redline will not start on \
                 it. Bring those segments back, or start on a new persistence.journal_dir",
                dir.display(),
                oldest.first_seq,
                oldest.path.display()
            );
        }
        let (file, segment_len) = match (&scan.torn, scan.segments.last()) {
            (Some(torn), _) if torn.offset < MAGIC.len() as u64 => {
                std::fs::remove_file(&torn.segment)
                    .with_context(|| format!("cannot remove {}", torn.segment.display()))?;
                new_segment(dir, scan.next_seq, settings.fsync)?
            }
            (torn, Some(last)) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&last.path)
                    .with_context(|| format!("cannot open {}", last.path.display()))?;
                let len = torn.as_ref().map_or(last.bytes, |t| t.offset);
                if torn.is_some() {
                    file.set_len(len)
                        .and_then(|()| file.sync_all())
                        .with_context(|| {
                            format!("cannot cut the torn tail off {}", last.path.display())
                        })?;
                }
                (file, len)
            }
            (_, None) => new_segment(dir, scan.next_seq, settings.fsync)?,
        };
        let stats = JournalStats {
            segments: scan::segments(dir)?.len() as u64,
            next_seq: scan.next_seq,
            disk_free_bytes: free_bytes(dir),
            ..JournalStats::default()
        };
        let journal = Journal {
            settings,
            _lock: lock,
            file,
            segment_len,
            pending: Vec::with_capacity(1 << 20),
            scratch: AlignedVec::new(),
            unsynced: false,
            last_sync: Instant::now(),
            disk_checked: Instant::now(),
            stats,
            disk_wait: Arc::default(),
            stall: None,
        };
        Ok((journal, Recovered { scan, resumed }))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.settings.dir
    }

    /// The counts so far.
    pub fn stats(&self) -> &JournalStats {
        &self.stats
    }

    /// How long its write or sync in progress has taken, as the control
    /// plane reads it.
    pub fn disk_wait(&self) -> Arc<DiskWait> {
        Arc::clone(&self.disk_wait)
    }

    /// For a test hook: the first sync due at or after `at` first waits
    /// `lasting`, as a stalled disk would.
    pub fn stall_a_sync(&mut self, at: Instant, lasting: Duration) {
        self.stall = Some((at, lasting));
    }

    /// Frames `record` from hot-path writer `writer`, taken at `wall_ns`,
    /// as the next entry; [`Journal::commit`] writes it.
    pub fn append(&mut self, writer: u8, wall_ns: u64, record: &AuditRecord) {
        let entry = JournalEntry {
            writer,
            wall_ns,
            record: *record,
        };
        self.scratch = entry.encode(std::mem::take(&mut self.scratch));
        frame::encode(self.stats.next_seq, &self.scratch, &mut self.pending);
        self.stats.next_seq += 1;
        self.stats.backlog += 1;
    }

    /// Writes every framed entry, rolling segments as they fill, then
    /// syncs as the policy says.
    ///
    /// # Errors
    ///
    /// When a write, sync or roll fails: the entries not written stay
    /// framed for the next commit, which first cuts the segment back to
    /// its last whole entry.
    pub fn commit(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return self.sync_if_due();
        }
        let result = self.write_pending();
        if let Err(e) = &result {
            self.stats.write_errors += 1;
            self.stats.error = Some(e.clone());
            return result;
        }
        self.stats.error = None;
        self.sync_if_due()
    }

    /// Syncs what is written when the policy says it is time, and once a
    /// second looks at the space left; the side thread calls it every
    /// turn.
    pub fn sync_if_due(&mut self) -> Result<(), String> {
        if self.disk_checked.elapsed() >= DISK_CHECK_EVERY {
            self.disk_checked = Instant::now();
            self.stats.disk_free_bytes = free_bytes(&self.settings.dir);
        }
        let due = match self.settings.fsync {
            Fsync::Batch => true,
            Fsync::Interval => self.last_sync.elapsed() >= self.settings.fsync_interval,
            Fsync::Never => false,
        };
        if self.unsynced && due {
            self.sync()?;
        }
        Ok(())
    }

    /// Writes what is framed and syncs it, whatever the policy: for a
    /// clean stop.
    ///
    /// # Errors
    ///
    /// As [`Journal::commit`].
    pub fn flush(&mut self) -> Result<(), String> {
        self.commit()?;
        if self.unsynced {
            self.sync()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        let stall = match self.stall {
            Some((at, lasting)) if Instant::now() >= at => {
                self.stall = None;
                lasting
            }
            _ => Duration::ZERO,
        };
        let file = &self.file;
        self.disk_wait
            .around(|| {
                std::thread::sleep(stall);
                file.sync_data()
            })
            .map_err(|e| format!("cannot sync the journal: {e}"))?;
        self.stats.fsyncs += 1;
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn write_pending(&mut self) -> Result<(), String> {
        if self.stats.error.is_some() {
            // The failed write may have left part of an entry.
            let (file, len) = (&self.file, self.segment_len);
            self.disk_wait
                .around(|| file.set_len(len))
                .map_err(|e| format!("cannot cut the journal back after a failed write: {e}"))?;
        }
        let mut at = 0;
        while at < self.pending.len() {
            // Whole frames up to the segment's size (at least one).
            let mut end = at;
            let mut entries = 0;
            while end < self.pending.len() {
                let frame = frame::decode(&self.pending, end).expect("framed here");
                let grown = self.segment_len + (frame.end - at) as u64;
                let fresh = self.segment_len == MAGIC.len() as u64;
                if grown > self.settings.segment_bytes && (entries > 0 || !fresh) {
                    break;
                }
                end = frame.end;
                entries += 1;
            }
            if entries > 0 {
                let (mut file, bytes) = (&self.file, &self.pending[at..end]);
                let written = self.disk_wait.around(|| file.write_all(bytes));
                if let Err(e) = written {
                    self.pending.drain(..at);
                    return Err(format!("cannot write the journal: {e}"));
                }
                self.segment_len += (end - at) as u64;
                self.stats.entries += entries;
                self.stats.backlog -= entries;
                self.stats.bytes += (end - at) as u64;
                self.unsynced = true;
                at = end;
            }
            if at < self.pending.len() {
                let first = frame::decode(&self.pending, at).expect("framed here").seq;
                if let Err(e) = self.roll(first) {
                    self.pending.drain(..at);
                    return Err(e);
                }
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Closes the current segment (synced, unless the policy is never) and
    /// begins one whose first entry is `first`.
    fn roll(&mut self, first: u64) -> Result<(), String> {
        if self.settings.fsync != Fsync::Never && self.unsynced {
            self.sync()?;
        }
        let (dir, fsync) = (&self.settings.dir, self.settings.fsync);
        let (file, len) = self
            .disk_wait
            .around(|| new_segment(dir, first, fsync))
            .map_err(|e| format!("{e:#}"))?;
        self.file = file;
        self.segment_len = len;
        self.stats.segments += 1;
        Ok(())
    }
}

/// How often the journal looks at the space left on its file system.
const DISK_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Bytes an unprivileged writer may still use on the file system holding
/// `dir`; `None` when it cannot be read.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut fs = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and outlives the call; statvfs
    // writes only into the struct it is given.
    let rc = unsafe { libc::statvfs(path.as_ptr(), fs.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled the struct.
    let fs = unsafe { fs.assume_init() };
    Some(fs.f_bavail.saturating_mul(fs.f_frsize))
}

/// Creates the segment whose first entry is `first`, its header written
/// (and, unless the policy is never, synced with the directory entry).
fn new_segment(dir: &Path, first: u64, fsync: Fsync) -> anyhow::Result<(File, u64)> {
    use anyhow::Context as _;
    let path = dir.join(scan::segment_name(first));
    // A file of this name can only be an earlier try at this same roll
    // (names are the first entry's number, and that entry is not written
    // yet): it is begun again.
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .with_context(|| format!("cannot create the journal segment {}", path.display()))?;
    file.write_all(MAGIC)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if fsync != Fsync::Never {
        file.sync_all()
            .and_then(|()| File::open(dir)?.sync_all())
            .with_context(|| format!("cannot sync {}", path.display()))?;
    }
    // Appending from here, so that writes after a cut-back land at the end.
    let file = OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    Ok((file, MAGIC.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use redline_engine::audit::AuditEvent;
    use redline_engine::risk::TradingState;

    fn settings(dir: &Path, segment_bytes: u64, fsync: Fsync) -> JournalSettings {
        JournalSettings {
            dir: dir.to_owned(),
            segment_bytes,
            fsync,
            fsync_interval: Duration::from_millis(50),
        }
    }

    fn record(seq: u64) -> AuditRecord {
        AuditRecord {
            seq,
            event: AuditEvent::State {
                from: TradingState::Active,
                to: TradingState::ReduceOnly,
                at: seq,
            },
        }
    }

    fn read_back(dir: &Path) -> (Vec<(u64, u64)>, Scan) {
        let mut seen = Vec::new();
        let scan = scan::scan(dir, 0, |seq, entry| seen.push((seq, entry.record.seq))).unwrap();
        (seen, scan)
    }

    #[test]
    fn entries_are_numbered_across_segments_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, recovered) = Journal::open(
            settings(dir.path(), 1024, Fsync::Batch),
            &mut |_: u64, _: &JournalEntry| {},
        )
        .unwrap();
        assert_eq!(recovered.scan.next_seq, 0);
        for i in 0..50 {
            journal.append(0, 1, &record(i));
        }
        journal.commit().unwrap();
        assert_eq!(journal.stats().entries, 50);
        assert!(journal.stats().fsyncs >= 1);
        assert!(journal.stats().segments > 1, "{:?}", journal.stats());
        drop(journal);
        let (mut journal, recovered) = Journal::open(
            settings(dir.path(), 1024, Fsync::Batch),
            &mut |_: u64, _: &JournalEntry| {},
        )
        .unwrap();
        assert_eq!(recovered.scan.next_seq, 50);
        journal.append(1, 2, &record(0));
        journal.flush().unwrap();
        drop(journal);
        let (seen, scan) = read_back(dir.path());
        assert_eq!(seen.len(), 51);
        assert!(seen
            .iter()
            .enumerate()
            .all(|(i, (seq, _))| *seq == i as u64));
        assert!(scan
            .segments
            .iter()
            .all(|s| s.bytes <= 1024 || s.entries == 1));
    }

    #[test]
    fn a_second_engine_cannot_open_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = Journal::open(
            settings(dir.path(), 1 << 20, Fsync::Never),
            &mut |_: u64, _: &JournalEntry| {},
        );
        assert!(first.is_ok());
        let second = Journal::open(
            settings(dir.path(), 1 << 20, Fsync::Never),
            &mut |_: u64, _: &JournalEntry| {},
        );
        let err = second.err().unwrap().to_string();
        assert!(err.contains("in use by another redline"), "{err}");
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_writing_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(
            settings(dir.path(), 1 << 20, Fsync::Never),
            &mut |_: u64, _: &JournalEntry| {},
        )
        .unwrap();
        for i in 0..10 {
            journal.append(0, 1, &record(i));
        }
        journal.flush().unwrap();
        drop(journal);
        let segment = dir.path().join(scan::segment_name(0));
        let len = std::fs::metadata(&segment).unwrap().len();
        let file = OpenOptions::new().write(true).open(&segment).unwrap();
        file.set_len(len - 3).unwrap();
        let (mut journal, recovered) = Journal::open(
            settings(dir.path(), 1 << 20, Fsync::Never),
            &mut |_: u64, _: &JournalEntry| {},
        )
        .unwrap();
        assert_eq!(recovered.scan.next_seq, 9, "the cut entry is gone");
        assert!(recovered.scan.torn.is_some());
        journal.append(0, 1, &record(9));
        journal.flush().unwrap();
        drop(journal);
        let (seen, scan) = read_back(dir.path());
        assert_eq!(seen.len(), 10);
        assert_eq!(scan.torn, None);
    }

    #[test]
    fn a_failed_write_keeps_its_entries_and_leaves_no_hole() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(
            settings(dir.path(), 1 << 20, Fsync::Batch),
            &mut |_: u64, _: &JournalEntry| {},
        )
        .unwrap();
        journal.append(0, 1, &record(0));
        journal.commit().unwrap();
        // A disk that is full: writes fail.
        let real = std::mem::replace(
            &mut journal.file,
            OpenOptions::new().append(true).open("/dev/full").unwrap(),
        );
        journal.append(0, 1, &record(1));
        journal.append(0, 1, &record(2));
        let err = journal.commit().unwrap_err();
        assert!(err.contains("cannot"), "{err}");
        assert!(!journal.pending.is_empty());
        assert_eq!(journal.stats().backlog, 2);
        assert_eq!(journal.stats().write_errors, 1);
        assert!(journal.stats().error.is_some());
        // The disk has room again.
        journal.file = real;
        journal.append(0, 1, &record(3));
        journal.commit().unwrap();
        assert!(journal.pending.is_empty());
        assert_eq!(journal.stats().error, None);
        drop(journal);
        let (seen, _) = read_back(dir.path());
        assert_eq!(seen, [(0, 0), (1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn interval_syncs_wait_for_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(
            settings(dir.path(), 1 << 20, Fsync::Interval),
            &mut |_: u64, _: &JournalEntry| {},
        )
        .unwrap();
        journal.last_sync = Instant::now();
        journal.append(0, 1, &record(0));
        journal.commit().unwrap();
        assert_eq!(journal.stats().fsyncs, 0, "not yet due");
        std::thread::sleep(Duration::from_millis(60));
        journal.sync_if_due().unwrap();
        assert_eq!(journal.stats().fsyncs, 1);
    }
}
