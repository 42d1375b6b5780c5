//! A digest of the audit stream: what two runs must agree on to have made
//! the same decisions. It covers every record's sequence number and content
//! and leaves out the timestamps, which measure the machine, not the
//! decisions.

use std::hash::{Hash, Hasher};

use super::record::{AuditEvent, AuditRecord};

/// FNV-1a over the records' derived `Hash`, 64 bits: unkeyed and fixed by
/// this file (unlike `DefaultHasher`), so runs of one build compare, and
/// plenty to tell two streams apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    state: u64,
    records: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            state: 0xcbf2_9ce4_8422_2325,
            records: 0,
        }
    }
}

impl Digest {
    /// Folds in one record.
    pub fn absorb(&mut self, record: &AuditRecord) {
        self.records += 1;
        record.seq.hash(self);
        match record.event {
            AuditEvent::Passed { intent, stamps } => (0u8, intent, stamps.trigger).hash(self),
            AuditEvent::Refused {
                intent,
                reason,
                stamps,
            } => (1u8, intent, reason, stamps.trigger).hash(self),
            AuditEvent::Sent { intent, stamps } => (2u8, intent, stamps.trigger).hash(self),
            AuditEvent::Report { report, .. } => (3u8, report).hash(self),
            AuditEvent::State { from, to, .. } => (4u8, from, to).hash(self),
            AuditEvent::Command { id, action, .. } => (5u8, id, action).hash(self),
            AuditEvent::Finished { id, outcome, .. } => (6u8, id, outcome).hash(self),
            AuditEvent::DayStarted { pnl_nanos, .. } => (8u8, pnl_nanos).hash(self),
            AuditEvent::Rejected {
                id, action, status, ..
            } => (7u8, id, action, status).hash(self),
        }
    }

    /// The digest so far.
    pub fn value(&self) -> u64 {
        self.state
    }

    /// Records folded in so far.
    pub fn records(&self) -> u64 {
        self.records
    }
}

impl Hasher for Digest {
    fn finish(&self) -> u64 {
        self.state
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.state ^= u64::from(byte);
            self.state = self.state.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Stamps, Trigger};
    use crate::domain::{ClientOrderId, Intent};

    fn record(seq: u64, id: u64, event_at: u64) -> AuditRecord {
        AuditRecord {
            seq,
            event: AuditEvent::Passed {
                intent: Intent::Cancel(ClientOrderId(id)),
                stamps: Stamps {
                    trigger: Trigger::Quote,
                    event: event_at,
                    ..Stamps::default()
                },
            },
        }
    }

    fn digest(records: &[AuditRecord]) -> u64 {
        let mut digest = Digest::default();
        records.iter().for_each(|r| digest.absorb(r));
        digest.value()
    }

    #[test]
    fn the_digest_sees_content_and_order_but_not_time() {
        let base = digest(&[record(0, 1, 10), record(1, 2, 20)]);
        assert_eq!(base, digest(&[record(0, 1, 99), record(1, 2, 7)]));
        assert_ne!(base, digest(&[record(0, 2, 10), record(1, 1, 20)]));
        assert_ne!(base, digest(&[record(0, 1, 10), record(1, 3, 20)]));
        assert_ne!(base, digest(&[record(0, 1, 10)]));
    }
}
