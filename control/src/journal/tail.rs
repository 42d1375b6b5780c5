//! Following the journal from an entry on, as the persister does: reads
//! the segments in order from the one holding that entry, then whatever
//! the writer appends, entry by entry, never past a frame that is not
//! whole yet (the writer may be in the middle of it). A segment deleted
//! behind it (retention) is passed; an entry the journal no longer holds
//! is an error.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use redline_engine::audit::JournalEntry;

use super::frame;
use super::scan::{segments, ScanError, MAGIC};

/// A reader that follows the journal.
pub struct Tail {
    dir: PathBuf,
    /// The segment being read, its first entry's number, and where in it
    /// the next frame starts.
    segment: Option<(PathBuf, u64, u64)>,
    /// The next entry's number.
    next_seq: u64,
    /// Bytes read but not yet whole frames.
    buffer: Vec<u8>,
    /// Where in `buffer` the next frame starts.
    at: usize,
}

impl Tail {
    /// A reader of the journal in `dir` from entry `from` on.
    pub fn new(dir: &Path, from: u64) -> Tail {
        Tail {
            dir: dir.to_owned(),
            segment: None,
            next_seq: from,
            buffer: Vec::new(),
            at: 0,
        }
    }

    /// The number of the next entry it will hand out.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Hands out, in order, up to `max` entries the journal holds from the
    /// next one on; returns how many. Fewer than `max` means it reached
    /// what the writer has written so far.
    ///
    /// # Errors
    ///
    /// When a file cannot be read, or holds what is not a whole journal.
    pub fn read(
        &mut self,
        max: usize,
        mut visit: impl FnMut(u64, &JournalEntry),
    ) -> Result<usize, ScanError> {
        let mut handed = 0;
        while handed < max {
            match frame::decode(&self.buffer, self.at) {
                Ok(frame) => {
                    let seq = frame.seq;
                    let end = frame.end;
                    if seq >= self.next_seq {
                        let entry = JournalEntry::decode(frame.payload)
                            .map_err(|e| self.corrupt(format!("entry {seq}: {e}")))?;
                        if seq != self.next_seq {
                            return Err(self.corrupt(format!(
                                "entry {seq} where entry {} was due",
                                self.next_seq
                            )));
                        }
                        visit(seq, &entry);
                        self.next_seq += 1;
                        handed += 1;
                    }
                    self.at = end;
                }
                Err(_) => {
                    if !self.fill()? {
                        break;
                    }
                }
            }
        }
        Ok(handed)
    }

    /// Reads what the writer has added since; moves to the next segment
    /// when this one is done and the next exists. Returns whether there
    /// is anything new to decode.
    fn fill(&mut self) -> Result<bool, ScanError> {
        if self.segment.is_none() {
            let all = segments(&self.dir)?;
            let Some((first, path)) = all.iter().rev().find(|(first, _)| *first <= self.next_seq)
            else {
                return match all.first() {
                    Some((oldest, path)) => Err(ScanError::Corrupt {
                        segment: path.clone(),
                        offset: 0,
                        why: format!(
                            "the journal no longer holds entry {}: it begins at entry {oldest}",
                            self.next_seq
                        ),
                    }),
                    None => Ok(false),
                };
            };
            self.segment = Some((path.clone(), *first, MAGIC.len() as u64));
            self.buffer.clear();
            self.at = 0;
        }
        if self.read_more()? {
            return Ok(true);
        }
        // Nothing more here: the writer has moved on if a later segment
        // exists (it begins with the entry due next).
        let (_, first, _) = self.segment.clone().expect("set above");
        let next = segments(&self.dir)?
            .into_iter()
            .find(|(seg_first, _)| *seg_first > first && *seg_first <= self.next_seq);
        let Some((seg_first, next_path)) = next else {
            return Ok(false);
        };
        // The writer finishes a segment before it begins the next: what it
        // wrote last here is whole by now.
        if self.read_more()? {
            return Ok(true);
        }
        if !self.buffer.is_empty() {
            return Err(self.corrupt("a segment ends in the middle of an entry".into()));
        }
        self.segment = Some((next_path, seg_first, MAGIC.len() as u64));
        Ok(true)
    }

    /// Appends to the buffer what the current segment holds past it;
    /// returns whether there was anything.
    fn read_more(&mut self) -> Result<bool, ScanError> {
        let (path, first, base) = self.segment.clone().expect("a segment");
        let io = |error| ScanError::Io {
            path: path.clone(),
            error,
        };
        // Keep the part of a frame not yet whole; drop what is decoded.
        let consumed = self.at;
        self.buffer.drain(..consumed);
        self.at = 0;
        let base = base + consumed as u64;
        self.segment = Some((path.clone(), first, base));
        let mut file = match File::open(&path) {
            Ok(file) => file,
            // Deleted by retention, which takes only segments read past:
            // the next one serves.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io(e)),
        };
        file.seek(SeekFrom::Start(base + self.buffer.len() as u64))
            .map_err(io)?;
        let before = self.buffer.len();
        file.read_to_end(&mut self.buffer).map_err(io)?;
        Ok(self.buffer.len() > before)
    }

    fn corrupt(&self, why: String) -> ScanError {
        let (segment, _, base) = self.segment.clone().unwrap_or_default();
        ScanError::Corrupt {
            segment,
            offset: base + self.at as u64,
            why,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Fsync, Journal, JournalSettings};
    use redline_engine::audit::{AuditEvent, AuditRecord};
    use redline_engine::risk::TradingState;

    fn record(seq: u64) -> AuditRecord {
        AuditRecord {
            seq,
            event: AuditEvent::State {
                from: TradingState::Active,
                to: TradingState::Halted,
                at: seq,
            },
        }
    }

    fn read_all(tail: &mut Tail) -> Vec<u64> {
        let mut seen = Vec::new();
        while tail
            .read(7, |seq, e| seen.push((seq, e.record.seq)))
            .unwrap()
            > 0
        {}
        seen.iter()
            .map(|(seq, writer_seq)| {
                assert_eq!(seq, writer_seq);
                *seq
            })
            .collect()
    }

    /// A new journal of 1 KiB segments in a directory of its own.
    fn small_journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let settings = JournalSettings {
            dir: dir.path().to_owned(),
            segment_bytes: 1024,
            fsync: Fsync::Never,
            fsync_interval: std::time::Duration::from_secs(1),
        };
        let (journal, _) = Journal::open(settings, &mut |_: u64, _: &JournalEntry| {}).unwrap();
        (dir, journal)
    }

    #[test]
    fn it_follows_the_writer_across_segments_from_any_entry() {
        let (dir, mut journal) = small_journal();
        let mut tail = Tail::new(dir.path(), 0);
        assert!(read_all(&mut tail).is_empty());
        for i in 0..30 {
            journal.append(0, 0, &record(i));
        }
        journal.commit().unwrap();
        assert_eq!(read_all(&mut tail), (0..30).collect::<Vec<_>>());
        for i in 30..45 {
            journal.append(0, 0, &record(i));
        }
        journal.commit().unwrap();
        assert_eq!(read_all(&mut tail), (30..45).collect::<Vec<_>>());
        assert_eq!(tail.next_seq(), 45);
        let mut late = Tail::new(dir.path(), 17);
        assert_eq!(read_all(&mut late), (17..45).collect::<Vec<_>>());
    }

    #[test]
    fn a_segment_deleted_behind_it_is_passed_and_a_lost_entry_is_an_error() {
        let (dir, mut journal) = small_journal();
        for i in 0..30 {
            journal.append(0, 0, &record(i));
        }
        journal.commit().unwrap();
        let all = segments(dir.path()).unwrap();
        let second = all[1].0;
        let mut tail = Tail::new(dir.path(), 0);
        let mut seen = Vec::new();
        tail.read(second as usize, |seq, _| seen.push(seq)).unwrap();
        assert_eq!(tail.next_seq(), second, "read to the end of the first");
        // Retention deletes the first segment: the tail moves on.
        std::fs::remove_file(&all[0].1).unwrap();
        assert_eq!(read_all(&mut tail), (second..30).collect::<Vec<_>>());

        let mut behind = Tail::new(dir.path(), 1);
        let err = behind.read(10, |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("no longer holds entry 1"), "{err}");
    }

    #[test]
    fn a_frame_not_yet_whole_waits() {
        let dir = tempfile::tempdir().unwrap();
        let settings = JournalSettings {
            dir: dir.path().to_owned(),
            segment_bytes: 1 << 20,
            fsync: Fsync::Never,
            fsync_interval: std::time::Duration::from_secs(1),
        };
        let (mut journal, _) = Journal::open(settings, &mut |_: u64, _: &JournalEntry| {}).unwrap();
        for i in 0..3 {
            journal.append(0, 0, &record(i));
        }
        journal.flush().unwrap();
        let segment = dir.path().join(super::super::scan::segment_name(0));
        let whole = std::fs::read(&segment).unwrap();
        drop(journal);
        std::fs::write(&segment, &whole[..whole.len() - 10]).unwrap();
        let mut tail = Tail::new(dir.path(), 0);
        assert_eq!(read_all(&mut tail), [0, 1]);
        std::fs::write(&segment, &whole).unwrap();
        assert_eq!(read_all(&mut tail), [2]);
    }
}
