//! What opening the journal reads it back into: a [`Replay`] may resume
//! from a checkpoint and then takes every entry after it. A plain closure
//! over the entries is one that never resumes (it reads from entry 0); a
//! [`Rebuild`] folds them into a risk gate, as a start and the
//! checkpointer do.

use std::path::{Path, PathBuf};

use redline_engine::audit::{JournalEntry, Restorer};

use super::checkpoint::{self, Kept};
use super::scan::{self, ScanError};

/// Takes the journal back as it opens.
pub trait Replay {
    /// Goes on from `kept`, taken before its `checkpoint.next_seq`, rather
    /// than from the first entry. Called at most once, before any entry.
    ///
    /// # Errors
    ///
    /// Why it cannot serve (it was folded for other instruments...): the
    /// replay must be as it was, for an older checkpoint or entry 0.
    fn resume(&mut self, kept: &Kept) -> Result<(), String>;

    /// Takes the next entry, numbered `seq`.
    fn apply(&mut self, seq: u64, entry: &JournalEntry);
}

impl<F: FnMut(u64, &JournalEntry)> Replay for F {
    fn resume(&mut self, _: &Kept) -> Result<(), String> {
        Err("this reader takes every entry".into())
    }

    fn apply(&mut self, seq: u64, entry: &JournalEntry) {
        self(seq, entry);
    }
}

/// The journal folded into a risk gate: from a checkpoint taken for the
/// same instruments, if one serves, then every entry after it.
pub struct Rebuild<'a> {
    /// The fold.
    pub restorer: Restorer<'a>,
    /// The instruments' symbols, by id.
    pub symbols: Vec<String>,
}

impl Replay for Rebuild<'_> {
    fn resume(&mut self, kept: &Kept) -> Result<(), String> {
        if kept.instruments != self.symbols {
            return Err(format!(
                "it was taken for the instruments {}, the config has {}",
                kept.instruments.join(","),
                self.symbols.join(",")
            ));
        }
        self.restorer.resume(&kept.checkpoint)
    }

    fn apply(&mut self, seq: u64, entry: &JournalEntry) {
        self.restorer.apply(seq, entry);
    }
}

/// Resumes `replay` from the newest checkpoint in `dir` that serves it:
/// its file whole, and the segments it needs (those from its entry on)
/// not begun after it. Returns the entry it was taken before (the one to
/// read on from) and the newer checkpoints that could not serve, with why.
pub fn resume_newest(dir: &Path, replay: &mut impl Replay) -> Result<Resumed, ScanError> {
    let oldest = scan::segments(dir)?.first().map(|(first, _)| *first);
    let mut passed_over = Vec::new();
    for (next_seq, path) in checkpoint::list(dir)?.into_iter().rev() {
        let served = match oldest {
            Some(oldest) if oldest > next_seq => Err(format!(
                "the journal's segments begin after it, at entry {oldest}"
            )),
            _ => checkpoint::read(&path).and_then(|kept| replay.resume(&kept)),
        };
        match served {
            Ok(()) => {
                return Ok(Resumed {
                    at: Some(next_seq),
                    passed_over,
                })
            }
            Err(why) => passed_over.push((path, why)),
        }
    }
    Ok(Resumed {
        at: None,
        passed_over,
    })
}

/// Where a replay resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    /// The entry the checkpoint it resumed from was taken before (the one
    /// to read on from); `None`: from entry 0.
    pub at: Option<u64>,
    /// Newer checkpoints that could not serve, with why.
    pub passed_over: Vec<(PathBuf, String)>,
}
