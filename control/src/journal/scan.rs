//! Reading a journal directory back: its segments in order, every frame's
//! checksum and sequence number checked, each entry handed to a visitor.
//!
//! Damage is sorted into two kinds. A bad frame with no good frame after
//! it, in its segment or a later one, is a torn tail: what a crash in the
//! middle of a write leaves. It is reported, and the writer cuts it off.
//! Anything else (a bad frame with good ones after it, a gap or a repeat
//! in the sequence, a file that is not a segment) is corruption: an error
//! naming the segment and the offset, never skipped.

use std::fmt;
use std::path::{Path, PathBuf};

use redline_engine::audit::JournalEntry;

use super::frame;

/// The first bytes of every segment file.
pub const MAGIC: &[u8; 8] = b"RLJRNL01";

/// How a segment file's name ends; the name before it is the first
/// sequence number in it, zero-padded to 20 digits.
pub const SUFFIX: &str = ".journal";

/// A segment's file name.
pub fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SUFFIX}")
}

/// One segment file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its path.
    pub path: PathBuf,
    /// The sequence number its name gives.
    pub first_seq: u64,
    /// Its length in bytes (a torn tail included).
    pub bytes: u64,
    /// Good entries in it.
    pub entries: u64,
}

/// The damaged end of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment it is in (always the last).
    pub segment: PathBuf,
    /// Where the good part ends.
    pub offset: u64,
    /// Bytes past it.
    pub bytes: u64,
    /// What was found there.
    pub why: String,
}

/// What a scan found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scan {
    /// The segments, in order.
    pub segments: Vec<Segment>,
    /// The sequence number the next entry takes.
    pub next_seq: u64,
    /// The torn tail, when there is one.
    pub torn: Option<TornTail>,
}

impl Scan {
    /// Good entries in all segments.
    pub fn entries(&self) -> u64 {
        self.segments.iter().map(|s| s.entries).sum()
    }
}

/// Why a journal cannot be read.
#[derive(Debug)]
pub enum ScanError {
    /// A file or the directory could not be read.
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Damage that is not a torn tail.
    Corrupt {
        /// The segment.
        segment: PathBuf,
        /// Where in it.
        offset: u64,
        /// What was found.
        why: String,
    },
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Io { path, error } => {
                write!(f, "cannot read the journal at {}: {error}", path.display())
            }
            ScanError::Corrupt {
                segment,
                offset,
                why,
            } => write!(
                f,
                "the journal is corrupt in {} at byte {offset}: {why}; nothing after it can be \
                 trusted, and redline will not start on it. Keep a copy of the directory, see \
                 what is there with `redline journal inspect`, and repair it or start on a new \
                 persistence.journal_dir",
                segment.display()
            ),
        }
    }
}

impl std::error::Error for ScanError {}

/// The segment files in `dir`, by first sequence number; other files (the
/// lock, checkpoints) are not segments. A missing directory has none.
///
/// # Errors
///
/// When the directory cannot be listed.
pub fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, ScanError> {
    numbered(dir, SUFFIX)
}

/// The files in `dir` named by a 20-digit number and then `suffix`, by
/// that number.
///
/// # Errors
///
/// When the directory cannot be listed.
pub fn numbered(dir: &Path, suffix: &str) -> Result<Vec<(u64, PathBuf)>, ScanError> {
    let io = |error| ScanError::Io {
        path: dir.to_owned(),
        error,
    };
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut found = Vec::new();
    for item in listing {
        let path = item.map_err(io)?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(suffix))
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(number) = number {
            found.push((number, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Reads every entry of the journal in `dir`, in order, handing each to
/// `visit` with its sequence number; the segments that begin before entry
/// `from` are passed over (a checkpoint holds them; it is taken where a
/// segment begins). With none from there on, the next entry is `from`.
///
/// # Errors
///
/// [`ScanError::Corrupt`] for damage that is not a torn tail, and
/// [`ScanError::Io`] when a file cannot be read.
pub fn scan(
    dir: &Path,
    from: u64,
    visit: impl FnMut(u64, &JournalEntry),
) -> Result<Scan, ScanError> {
    scan_segments(dir, from..u64::MAX, visit)
}

/// As [`scan`], over the segments that begin in `firsts` only; a segment
/// that is not the journal's last must be whole.
///
/// # Errors
///
/// As [`scan`].
pub fn scan_segments(
    dir: &Path,
    firsts: std::ops::Range<u64>,
    visit: impl FnMut(u64, &JournalEntry),
) -> Result<Scan, ScanError> {
    let all = segments(dir)?;
    let journal_last = all.last().map(|(first, _)| *first);
    let files: Vec<_> = all
        .into_iter()
        .filter(|(first, _)| firsts.contains(first))
        .collect();
    scan_files(&files, journal_last, firsts.start, visit)
}

/// As [`scan_segments`], over `files` as [`segments`] lists them (so that
/// a reader of one segment at a time lists the directory once); only the
/// segment that begins at `may_tear` may end in a torn entry. With no
/// files the next entry is `from`.
///
/// # Errors
///
/// As [`scan`].
pub fn scan_files(
    files: &[(u64, PathBuf)],
    may_tear: Option<u64>,
    from: u64,
    mut visit: impl FnMut(u64, &JournalEntry),
) -> Result<Scan, ScanError> {
    let mut result = Scan::default();
    let mut expected: Option<u64> = None;
    for (first_seq, path) in files {
        let last = Some(*first_seq) == may_tear;
        let data = std::fs::read(path).map_err(|error| ScanError::Io {
            path: path.clone(),
            error,
        })?;
        let corrupt = |offset: usize, why: String| ScanError::Corrupt {
            segment: path.clone(),
            offset: offset as u64,
            why,
        };
        if expected.is_some_and(|e| e != *first_seq) {
            return Err(corrupt(
                0,
                format!(
                    "the segment starts at entry {first_seq} but the one before ends at {}",
                    expected.unwrap_or_default()
                ),
            ));
        }
        let mut segment = Segment {
            path: path.clone(),
            first_seq: *first_seq,
            bytes: data.len() as u64,
            entries: 0,
        };
        let mut next = expected.unwrap_or(*first_seq);
        if data.len() < MAGIC.len() && last && MAGIC.starts_with(&data) {
            // Created, and cut off before its header was whole.
            result.torn = Some(TornTail {
                segment: path.clone(),
                offset: 0,
                bytes: data.len() as u64,
                why: "a partial segment header".into(),
            });
            result.segments.push(segment);
            expected = Some(next);
            break;
        }
        if !data.starts_with(MAGIC) {
            return Err(corrupt(0, "not a redline journal segment".into()));
        }
        let mut at = MAGIC.len();
        while at < data.len() {
            let bad = match frame::decode(&data, at) {
                Ok(frame) if frame.seq != next => {
                    return Err(corrupt(
                        at,
                        format!("entry {} where entry {next} was due", frame.seq),
                    ));
                }
                Ok(frame) => match JournalEntry::decode(frame.payload) {
                    Ok(entry) => {
                        visit(frame.seq, &entry);
                        segment.entries += 1;
                        next += 1;
                        at = frame.end;
                        continue;
                    }
                    // The checksum says these are the bytes written: a
                    // writer of another format, not a torn write.
                    Err(e) => return Err(corrupt(at, e.to_string())),
                },
                Err(bad) => bad,
            };
            if !last || frame::found_after(&data, at + 1, next + 1) {
                return Err(corrupt(at, format!("{bad}, with good entries after it")));
            }
            result.torn = Some(TornTail {
                segment: path.clone(),
                offset: at as u64,
                bytes: (data.len() - at) as u64,
                why: bad.to_string(),
            });
            break;
        }
        result.segments.push(segment);
        expected = Some(next);
    }
    result.next_seq = expected.unwrap_or(from);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redline_engine::audit::{AuditEvent, AuditRecord};
    use redline_engine::risk::TradingState;
    use rkyv::util::AlignedVec;

    /// A segment of `entries` entries from `first`.
    fn segment(dir: &Path, first: u64, entries: u64) -> PathBuf {
        let mut data = MAGIC.to_vec();
        for seq in first..first + entries {
            let entry = JournalEntry {
                writer: 0,
                wall_ns: seq,
                record: AuditRecord {
                    seq,
                    event: AuditEvent::State {
                        from: TradingState::Active,
                        to: TradingState::Halted,
                        at: seq,
                    },
                },
            };
            frame::encode(seq, &entry.encode(AlignedVec::new()), &mut data);
        }
        let path = dir.join(segment_name(first));
        std::fs::write(&path, data).unwrap();
        path
    }

    fn seqs(dir: &Path) -> Result<(Vec<u64>, Scan), ScanError> {
        let mut seen = Vec::new();
        let scan = scan(dir, 0, |seq, _| seen.push(seq))?;
        Ok((seen, scan))
    }

    #[test]
    fn segments_read_in_order_and_the_next_number_follows() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(seqs(dir.path()).unwrap().1.next_seq, 0, "empty");
        segment(dir.path(), 0, 3);
        segment(dir.path(), 3, 2);
        std::fs::write(dir.path().join("LOCK"), "").unwrap();
        let (seen, scan) = seqs(dir.path()).unwrap();
        assert_eq!(seen, [0, 1, 2, 3, 4]);
        assert_eq!((scan.next_seq, scan.entries(), scan.torn), (5, 5, None));
        assert_eq!(scan.segments.len(), 2);
    }

    #[test]
    fn a_cut_or_flipped_last_entry_is_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = segment(dir.path(), 0, 3);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 5]).unwrap();
        let (seen, scan) = seqs(dir.path()).unwrap();
        assert_eq!(seen, [0, 1]);
        let torn = scan.torn.unwrap();
        assert!(torn.why.contains("only"), "{}", torn.why);
        assert_eq!(torn.offset + torn.bytes, whole.len() as u64 - 5);
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let (seen, scan) = seqs(dir.path()).unwrap();
        assert_eq!((seen.len(), scan.next_seq), (2, 2));
        assert!(scan.torn.unwrap().why.contains("CRC-32"));
    }

    #[test]
    fn damage_with_good_entries_after_it_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = segment(dir.path(), 0, 3);
        let mut data = std::fs::read(&path).unwrap();
        let second = frame::decode(&data, MAGIC.len()).unwrap().end;
        data[second + frame::HEADER + 2] ^= 0x10;
        std::fs::write(&path, &data).unwrap();
        let err = seqs(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("at byte {second}")), "{err}");
        assert!(err.contains("good entries after it"), "{err}");

        // A bad last entry of a segment that is not the last.
        let dir = tempfile::tempdir().unwrap();
        let path = segment(dir.path(), 0, 2);
        segment(dir.path(), 2, 1);
        let mut data = std::fs::read(&path).unwrap();
        *data.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &data).unwrap();
        assert!(seqs(dir.path()).is_err());
    }

    #[test]
    fn gaps_repeats_and_foreign_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        segment(dir.path(), 0, 2);
        segment(dir.path(), 3, 1);
        let err = seqs(dir.path()).unwrap_err().to_string();
        assert!(err.contains("starts at entry 3"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_name(0)), b"hello, world").unwrap();
        let err = seqs(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a redline journal segment"), "{err}");
    }
}
