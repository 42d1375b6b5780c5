//! Checkpoint files in the journal directory: a restore's progress kept
//! (see [`redline_engine::audit::Checkpoint`]), with the instruments it
//! was folded for, so that opening the journal folds only the entries
//! after the newest one that serves, and the segments before it may go.
//!
//! ```text
//! magic: "RLCKPT03" | len: u64 LE | crc: u32 LE | payload: len bytes (rkyv)
//! ```
//!
//! `crc` is CRC-32 (IEEE) over `len` and the payload. The name is the
//! entry it was taken before, zero-padded to 20 digits, then
//! `.checkpoint`. A file is written under a temporary name, synced, and
//! renamed into place (the directory synced after), so one is whole or
//! absent.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use redline_engine::audit::Checkpoint;
use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::scan::{numbered, ScanError};

/// The first bytes of every checkpoint file.
pub const MAGIC: &[u8; 8] = b"RLCKPT03";

/// How a checkpoint file's name ends.
pub const SUFFIX: &str = ".checkpoint";

/// Bytes before the payload.
const HEADER: usize = MAGIC.len() + 8 + 4;

/// What a checkpoint file holds.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Kept {
    /// The symbols of the instruments it was folded for, by id: one
    /// folded for others cannot serve.
    pub instruments: Vec<String>,
    /// The restore's progress.
    pub checkpoint: Checkpoint,
}

/// A checkpoint file's name.
pub fn name(next_seq: u64) -> String {
    format!("{next_seq:020}{SUFFIX}")
}

/// The checkpoint files in `dir`, oldest first, by the entry each was
/// taken before.
///
/// # Errors
///
/// When the directory cannot be listed.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, ScanError> {
    numbered(dir, SUFFIX)
}

/// Writes `kept` into `dir` as described in the module docs; returns its
/// path.
///
/// # Errors
///
/// When a write, sync or rename fails (a temporary file may be left; the
/// next write of the same checkpoint replaces it).
pub fn write(dir: &Path, kept: &Kept) -> Result<PathBuf, String> {
    let payload = rkyv::to_bytes::<rancor::Error>(kept).expect("a plain struct always serialises");
    let len = (payload.len() as u64).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(&payload);
    let path = dir.join(name(kept.checkpoint.next_seq));
    let temporary = path.with_extension("checkpoint.tmp");
    let failed =
        |what: &str, e: std::io::Error| format!("cannot {what} {}: {e}", temporary.display());
    let mut file = File::create(&temporary).map_err(|e| failed("create", e))?;
    file.write_all(MAGIC)
        .and_then(|()| file.write_all(&len))
        .and_then(|()| file.write_all(&crc.finalize().to_le_bytes()))
        .and_then(|()| file.write_all(&payload))
        .map_err(|e| failed("write", e))?;
    file.sync_all().map_err(|e| failed("sync", e))?;
    std::fs::rename(&temporary, &path).map_err(|e| failed("rename", e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", dir.display()))?;
    Ok(path)
}

/// The checkpoint in the file at `path`, checked whole.
///
/// # Errors
///
/// When it cannot be read, is not a checkpoint file, its checksum fails,
/// or its name is not the entry it holds.
pub fn read(path: &Path) -> Result<Kept, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    if data.len() >= HEADER && data.starts_with(b"RLCKPT") && !data.starts_with(MAGIC) {
        return Err("a checkpoint of an older redline (it lacks what this one keeps)".into());
    }
    if data.len() < HEADER || !data.starts_with(MAGIC) {
        return Err("not a redline checkpoint file".into());
    }
    let len = u64::from_le_bytes(data[8..16].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(data[16..20].try_into().expect("4 bytes"));
    let payload = &data[HEADER..];
    if payload.len() as u64 != len {
        return Err(format!(
            "it declares {len} bytes and holds {}",
            payload.len()
        ));
    }
    let mut check = crc32fast::Hasher::new();
    check.update(&data[8..16]);
    check.update(payload);
    if check.finalize() != crc {
        return Err("its CRC-32 does not match its bytes".into());
    }
    let mut aligned = AlignedVec::<16>::with_capacity(payload.len());
    aligned.extend_from_slice(payload);
    let kept = rkyv::from_bytes::<Kept, rancor::Error>(&aligned).map_err(|e| e.to_string())?;
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(SUFFIX))
        .and_then(|n| n.parse::<u64>().ok());
    if named != Some(kept.checkpoint.next_seq) {
        return Err(format!(
            "it holds the checkpoint before entry {}, not the one its name says",
            kept.checkpoint.next_seq
        ));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redline_engine::audit::{RunReports, StartRecords};
    use redline_engine::risk::{Ledger, TradingState};

    fn kept(next_seq: u64) -> Kept {
        Kept {
            instruments: vec!["ESZ6".into(), "NQZ6".into()],
            checkpoint: Checkpoint {
                next_seq,
                ledger: Ledger {
                    lanes: Vec::new(),
                    cash_x2: -12_345_678_901_234_567_890,
                    day_start_x2: 7,
                    open: Vec::new(),
                    last_id: 99,
                },
                state: TradingState::ReduceOnly,
                before_drain: None,
                entries: next_seq,
                peak_open: 3,
                day_began_wall_ns: Some(1),
                last_trade: vec![None, None],
                run: RunReports {
                    began_entry: Some(5),
                    reports: 8,
                    starts: vec![StartRecords {
                        began_entry: 9,
                        reports: 2,
                    }],
                },
            },
        }
    }

    #[test]
    fn a_checkpoint_reads_back_as_written_and_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &kept(1234)).unwrap();
        assert!(path.ends_with("00000000000000001234.checkpoint"));
        assert_eq!(read(&path).unwrap(), kept(1234));
        assert_eq!(list(dir.path()).unwrap(), [(1234, path.clone())]);

        let whole = std::fs::read(&path).unwrap();
        let mut flipped = whole.clone();
        flipped[whole.len() - 3] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(read(&path).unwrap_err().contains("CRC-32"));
        std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        assert!(read(&path).unwrap_err().contains("declares"));
        std::fs::write(&path, b"RLJRNL01 and more bytes").unwrap();
        assert!(read(&path)
            .unwrap_err()
            .contains("not a redline checkpoint"));
        let mut older = whole.clone();
        older[..8].copy_from_slice(b"RLCKPT02");
        std::fs::write(&path, &older).unwrap();
        assert!(read(&path).unwrap_err().contains("an older redline"));

        let renamed = dir.path().join(name(1000));
        std::fs::write(&renamed, &whole).unwrap();
        assert!(read(&renamed).unwrap_err().contains("before entry 1234"));
    }
}
