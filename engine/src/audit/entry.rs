//! The journal's record: one audit record with the hot-path writer that
//! made it and the wall-clock time the side thread took it, and its byte
//! form (rkyv). The control side frames, writes and reads these; nothing
//! here touches a file.

use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::AuditRecord;

/// The writer of the records a start writes itself: the orders the last
/// run sent that its journal never got, taken back from the FIX session
/// file (a `Passed` and a `Sent` each, as the lost ones were, without
/// their stamps).
pub const RESTART_WRITER: u8 = 2;

/// One audit record as the journal keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct JournalEntry {
    /// Which writer made it: 0 the decide stage (the fused path's one
    /// writer), 1 the gateway, [`RESTART_WRITER`] a start.
    pub writer: u8,
    /// When the side thread took it, in ns since the Unix epoch.
    pub wall_ns: u64,
    /// The record, with its writer's sequence number.
    pub record: AuditRecord,
}

/// Why bytes are not a [`JournalEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError(pub String);

impl std::fmt::Display for EntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a journal entry: {}", self.0)
    }
}

impl std::error::Error for EntryError {}

impl JournalEntry {
    /// The entry's bytes, written into `buffer` (cleared first; reusing one
    /// buffer allocates nothing once it has grown to an entry's size).
    pub fn encode(&self, mut buffer: AlignedVec) -> AlignedVec {
        buffer.clear();
        rkyv::api::high::to_bytes_in::<_, rancor::Error>(self, buffer)
            .expect("a plain struct always serialises")
    }

    /// The entry in `bytes`, checked before it is read: bytes that are not
    /// one (a torn or foreign record) are an error, never a wrong value.
    ///
    /// # Errors
    ///
    /// When the bytes fail rkyv's validation.
    pub fn decode(bytes: &[u8]) -> Result<JournalEntry, EntryError> {
        // rkyv reads in place and needs its alignment; a frame's payload
        // read from a file has none, so it is copied.
        let mut aligned = AlignedVec::<16>::with_capacity(bytes.len());
        aligned.extend_from_slice(bytes);
        rkyv::from_bytes::<JournalEntry, rancor::Error>(&aligned)
            .map_err(|e| EntryError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, Stamps, Trigger};
    use crate::domain::{ClientOrderId, InstrumentId, Intent, NewOrder, Price, Qty, Side};
    use crate::domain::{ExecKind, ExecReport, Reject, TimeInForce};

    fn entries() -> Vec<JournalEntry> {
        let order = NewOrder {
            id: ClientOrderId(7),
            instrument: InstrumentId(3),
            side: Side::Sell,
            price: Price(-12),
            qty: Qty(4),
            tif: TimeInForce::Ioc,
        };
        let stamps = Stamps {
            trigger: Trigger::Report,
            event: 1,
            decided: 2,
            risk: 3,
            sent: 4,
        };
        let report = ExecReport {
            id: ClientOrderId(7),
            instrument: InstrumentId(3),
            side: Side::Sell,
            kind: ExecKind::Rejected(Reject::PriceCollar),
            price: Price(5),
            filled: Qty(0),
            leaves: Qty(0),
        };
        [
            AuditEvent::Sent {
                intent: Intent::New(order),
                stamps,
            },
            AuditEvent::Refused {
                intent: Intent::Cancel(ClientOrderId(9)),
                reason: Reject::SelfTrade,
                stamps,
            },
            AuditEvent::Report {
                report,
                received: u64::MAX,
            },
        ]
        .into_iter()
        .enumerate()
        .map(|(i, event)| JournalEntry {
            writer: i as u8,
            wall_ns: 1_764_650_000_000_000_000 + i as u64,
            record: AuditRecord {
                seq: i as u64,
                event,
            },
        })
        .collect()
    }

    #[test]
    fn entries_read_back_as_written() {
        let mut buffer = AlignedVec::new();
        for entry in entries() {
            buffer = entry.encode(buffer);
            assert_eq!(JournalEntry::decode(&buffer).unwrap(), entry);
            // Unaligned bytes (as read from a file) decode too.
            let mut shifted = vec![0u8];
            shifted.extend_from_slice(&buffer);
            assert_eq!(JournalEntry::decode(&shifted[1..]).unwrap(), entry);
        }
    }

    #[test]
    fn bytes_that_are_not_an_entry_are_refused() {
        let bytes = entries()[0].encode(AlignedVec::new());
        assert!(JournalEntry::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(JournalEntry::decode(&[]).is_err());
        let mut bad_tag = bytes.to_vec();
        // The event's tag: an out-of-range variant fails validation.
        let tag_at = std::mem::offset_of!(ArchivedJournalEntry, record)
            + std::mem::offset_of!(super::super::record::ArchivedAuditRecord, event);
        bad_tag[tag_at] = 0xEE;
        assert!(JournalEntry::decode(&bad_tag).is_err());
    }
}
