//! Where the FIX session's sequence numbers outlive the process: a
//! 32-byte memory-mapped file holding the trading day they belong to and
//! the next MsgSeqNum each way, so that a restart within the day logs on
//! where the last run left off instead of resetting, as most venues want
//! of an order-entry session.
//!
//! The gateway writes it with plain stores into the mapping, no system
//! call on its thread: the number of each message it sends is recorded
//! before the bytes leave, that of each message it takes as it takes it.
//! The kernel writes the page back on its own (and [`SequenceFile::sync`]
//! at a clean stop), so the numbers survive the process being killed; a
//! crash of the machine can leave them behind, and the venue then refuses
//! the Logon as MsgSeqNum too low, naming the number it expects. A
//! message taken is recorded when the gateway hands its report on, not
//! when the journal has it: one taken in the last moments before a kill is
//! not asked for again.
//!
//! What a store costs: none but the first after the kernel has written
//! the page back, which takes a minor page fault (the kernel marks the
//! page dirty again) — a few microseconds, once per writeback.
//!
//! Layout, little-endian: the magic `RLFIXSQ1`, the trading day's start
//! (ns since the Unix epoch), the next MsgSeqNum out, the next in (0: none
//! recorded that day).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use memmap2::MmapMut;

const MAGIC: &[u8; 8] = b"RLFIXSQ1";
const LEN: usize = 32;
const DAY: usize = 8;
const OUT: usize = 16;
const IN: usize = 24;

/// The next MsgSeqNum each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqNumbers {
    /// Of the next message sent.
    pub next_out: u64,
    /// Of the next message expected.
    pub next_in: u64,
}

/// The sequence numbers' file, mapped; one engine at a time holds it.
#[derive(Debug)]
pub struct SequenceFile {
    map: MmapMut,
    /// Held for its lock.
    _file: File,
    /// What it held for the day it was opened for.
    found: Option<SeqNumbers>,
    /// The trading day the numbers belong to (ns since the Unix epoch).
    day: u64,
}

impl SequenceFile {
    /// Opens the file at `path`, creating it (mode 600), for the trading
    /// day that began at `day` (ns since the Unix epoch). Numbers of
    /// another day are not taken: the day's first Logon resets them.
    ///
    /// # Errors
    ///
    /// When it cannot be opened, mapped or locked (another engine holds
    /// it), or holds something else than sequence numbers.
    pub fn open(path: &Path, day: u64) -> io::Result<SequenceFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        // SAFETY: flock on a descriptor this function owns; it reads no
        // memory.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another engine holds it (its lock is taken)",
            ));
        }
        let len = file.metadata()?.len();
        let fresh = len == 0;
        if fresh {
            file.set_len(LEN as u64)?;
        } else if len != LEN as u64 {
            return Err(not_ours(format!("{len} bytes, not {LEN}")));
        }
        // SAFETY: the file is locked against other engines (flock above)
        // and nothing else of this process maps it; a writer outside
        // redline could change the bytes under us, which reads as other
        // numbers, never as unsound memory (they are plain bytes).
        let map = unsafe { MmapMut::map_mut(&file)? };
        if !fresh && &map[..DAY] != MAGIC {
            return Err(not_ours("no RLFIXSQ1 magic".to_owned()));
        }
        let word = |map: &MmapMut, at: usize| {
            u64::from_le_bytes(map[at..at + 8].try_into().expect("8 bytes"))
        };
        let numbers = SeqNumbers {
            next_out: word(&map, OUT),
            next_in: word(&map, IN),
        };
        let found =
            (!fresh && word(&map, DAY) == day && numbers.next_out > 0 && numbers.next_in > 0)
                .then_some(numbers);
        let mut file = SequenceFile {
            map,
            _file: file,
            found,
            day,
        };
        if found.is_none() {
            file.start_day(day);
        }
        Ok(file)
    }

    /// The numbers the last run of the same trading day left, if any.
    pub fn found(&self) -> Option<SeqNumbers> {
        self.found
    }

    /// The trading day the numbers belong to (ns since the Unix epoch).
    pub fn day(&self) -> u64 {
        self.day
    }

    /// Makes the numbers those of trading day `day`, none recorded yet:
    /// the session reset them at that day's first logon.
    pub fn start_day(&mut self, day: u64) {
        self.map[..DAY].copy_from_slice(MAGIC);
        self.map[DAY..OUT].copy_from_slice(&day.to_le_bytes());
        self.map[OUT..LEN].fill(0);
        self.day = day;
    }

    /// Records the next numbers each way; a number that did not move is
    /// not written, so the page is dirtied only by a change.
    #[inline]
    pub fn record(&mut self, next_out: u64, next_in: u64) {
        for (at, value) in [(OUT, next_out), (IN, next_in)] {
            let bytes = value.to_le_bytes();
            if self.map[at..at + 8] != bytes {
                self.map[at..at + 8].copy_from_slice(&bytes);
            }
        }
    }

    /// Asks the kernel to write the page to disk now (a clean stop).
    ///
    /// # Errors
    ///
    /// When the write fails.
    pub fn sync(&self) -> io::Result<()> {
        self.map.flush()
    }
}

fn not_ours(why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a redline FIX sequence file ({why}); move it away"),
    )
}

#[cfg(test)]
mod tests {
    use super::{SeqNumbers, SequenceFile};

    #[test]
    fn numbers_carry_over_within_a_day_and_not_into_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.seqnums");
        let mut first = SequenceFile::open(&path, 100).unwrap();
        assert_eq!(first.found(), None, "a new file holds none");
        first.record(41, 17);
        drop(first);
        let same_day = SequenceFile::open(&path, 100).unwrap();
        assert_eq!(
            same_day.found(),
            Some(SeqNumbers {
                next_out: 41,
                next_in: 17
            })
        );
        drop(same_day);
        let next_day = SequenceFile::open(&path, 200).unwrap();
        assert_eq!(next_day.found(), None, "another day starts again");
        drop(next_day);
        assert_eq!(
            SequenceFile::open(&path, 100).unwrap().found(),
            None,
            "the new day's start replaced the old numbers"
        );
    }

    #[test]
    fn a_new_day_started_in_a_run_is_what_a_restart_finds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.seqnums");
        let mut file = SequenceFile::open(&path, 100).unwrap();
        file.record(9, 9);
        file.start_day(200);
        assert_eq!(file.day(), 200);
        file.record(3, 2);
        drop(file);
        assert_eq!(
            SequenceFile::open(&path, 200).unwrap().found(),
            Some(SeqNumbers {
                next_out: 3,
                next_in: 2
            })
        );
        assert_eq!(SequenceFile::open(&path, 100).unwrap().found(), None);
    }

    #[test]
    fn one_engine_at_a_time_and_nothing_but_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.seqnums");
        let held = SequenceFile::open(&path, 1).unwrap();
        let err = SequenceFile::open(&path, 1).unwrap_err();
        assert!(err.to_string().contains("another engine"), "{err}");
        drop(held);
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, b"not numbers").unwrap();
        let err = SequenceFile::open(&other, 1).unwrap_err();
        assert!(
            err.to_string().contains("not a redline FIX sequence file"),
            "{err}"
        );
        assert_eq!(std::fs::read(&other).unwrap(), b"not numbers", "left alone");
    }
}
