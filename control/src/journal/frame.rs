//! How one journal entry sits in a segment file: a 16-byte header, then
//! the entry's bytes.
//!
//! ```text
//! len: u32 LE | crc: u32 LE | seq: u64 LE | payload: len bytes
//! ```
//!
//! `crc` is CRC-32 (IEEE) over the `len` and `seq` bytes and the payload,
//! so a flipped bit anywhere in a frame, its length included, is caught.
//! `seq` is the journal's own sequence number: every entry ever journaled
//! in this directory, from 0, with no gaps.

/// Bytes before the payload.
pub const HEADER: usize = 16;

/// The largest payload a frame may declare; an entry is about a hundred
/// bytes, so anything larger is a damaged header.
pub const MAX_PAYLOAD: usize = 4096;

/// A frame read back whole, its checksum good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The journal sequence number.
    pub seq: u64,
    /// The entry's bytes.
    pub payload: &'a [u8],
    /// Where the next frame starts.
    pub end: usize,
}

/// Why the bytes at an offset are not a whole, good frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// Fewer bytes than a header are left.
    ShortHeader,
    /// The header declares more than [`MAX_PAYLOAD`].
    TooLong(usize),
    /// The payload runs past the end of the file.
    ShortPayload {
        /// Bytes the header declares.
        declared: usize,
        /// Bytes there are.
        present: usize,
    },
    /// The checksum does not match the bytes.
    Checksum,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::ShortHeader => f.write_str("a partial frame header"),
            Bad::TooLong(n) => write!(
                f,
                "a frame header declaring {n} bytes (at most {MAX_PAYLOAD})"
            ),
            Bad::ShortPayload { declared, present } => {
                write!(f, "a frame of {declared} bytes with only {present} written")
            }
            Bad::Checksum => f.write_str("a frame whose CRC-32 does not match its bytes"),
        }
    }
}

/// Appends the frame of `payload` numbered `seq` to `out`.
pub fn encode(seq: u64, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(payload.len() <= MAX_PAYLOAD);
    let len = (payload.len() as u32).to_le_bytes();
    let seq = seq.to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(&seq);
    crc.update(payload);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&seq);
    out.extend_from_slice(payload);
}

/// The frame at `at` in `data`.
///
/// # Errors
///
/// What is wrong with it.
pub fn decode(data: &[u8], at: usize) -> Result<Frame<'_>, Bad> {
    let header = data.get(at..at + HEADER).ok_or(Bad::ShortHeader)?;
    let len_bytes: [u8; 4] = header[0..4].try_into().expect("4 bytes");
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let seq_bytes: [u8; 8] = header[8..16].try_into().expect("8 bytes");
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > MAX_PAYLOAD {
        return Err(Bad::TooLong(len));
    }
    let start = at + HEADER;
    let payload = data.get(start..start + len).ok_or(Bad::ShortPayload {
        declared: len,
        present: data.len() - start,
    })?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len_bytes);
    hasher.update(&seq_bytes);
    hasher.update(payload);
    if hasher.finalize() != crc {
        return Err(Bad::Checksum);
    }
    Ok(Frame {
        seq: u64::from_le_bytes(seq_bytes),
        payload,
        end: start + len,
    })
}

/// Whether a good frame numbered `seq` starts anywhere in `data` from
/// `from` on: after a bad frame, one means the damage is in the middle of
/// the journal, not a torn tail.
pub fn found_after(data: &[u8], from: usize, seq: u64) -> bool {
    let wanted = seq.to_le_bytes();
    (from..data.len().saturating_sub(HEADER - 1))
        .filter(|&at| data[at + 8..at + 16] == wanted)
        .any(|at| decode(data, at).is_ok_and(|frame| frame.seq == seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for seq in 0..n {
            encode(seq, format!("entry {seq}").as_bytes(), &mut out);
        }
        out
    }

    #[test]
    fn frames_read_back_in_order() {
        let data = frames(3);
        let mut at = 0;
        for seq in 0..3 {
            let frame = decode(&data, at).unwrap();
            assert_eq!(frame.seq, seq);
            assert_eq!(frame.payload, format!("entry {seq}").as_bytes());
            at = frame.end;
        }
        assert_eq!(at, data.len());
        assert_eq!(decode(&data, at), Err(Bad::ShortHeader));
    }

    #[test]
    fn any_flipped_bit_or_missing_byte_is_caught() {
        let data = frames(1);
        for byte in 0..data.len() {
            for bit in 0..8 {
                let mut bad = data.clone();
                bad[byte] ^= 1 << bit;
                assert!(decode(&bad, 0).is_err(), "byte {byte} bit {bit}");
            }
        }
        for cut in 0..data.len() {
            assert!(decode(&data[..cut], 0).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_good_frame_after_damage_is_found() {
        let mut data = frames(3);
        let second = decode(&data, 0).unwrap().end;
        data[second + HEADER] ^= 0xFF;
        assert_eq!(decode(&data, second), Err(Bad::Checksum));
        assert!(found_after(&data, second + 1, 2));
        assert!(!found_after(&data, second + 1, 3));
    }
}
