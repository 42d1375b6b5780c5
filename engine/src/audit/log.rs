//! The writing side of the audit stream: one per stage that writes records,
//! on that stage's thread.

use super::record::{AuditEvent, AuditRecord};
use crate::ring;

/// Numbers records and writes them into the audit ring. A stage asks
/// [`AuditLog::has_room`] before it takes an event and writes only what it
/// checked room for, so a record is never dropped.
pub struct AuditLog {
    ring: ring::Producer<AuditRecord>,
    next_seq: u64,
    /// Times a stage found too little room and waited.
    stalls: u64,
}

impl AuditLog {
    /// A log writing into `ring`.
    pub fn new(ring: ring::Producer<AuditRecord>) -> Self {
        AuditLog {
            ring,
            next_seq: 0,
            stalls: 0,
        }
    }

    /// Whether `records` more fit now; when they do not, the caller must
    /// wait, and the stall is counted.
    #[inline]
    pub fn has_room(&mut self, records: usize) -> bool {
        let room = self.ring.room(records) >= records;
        if !room {
            self.stalls += 1;
        }
        room
    }

    /// How many events of up to `records_each` records, at most `max`, fit
    /// now; none is a stall, counted.
    #[inline]
    pub fn room_for(&mut self, max: usize, records_each: usize) -> usize {
        let events = self.ring.room(max * records_each) / records_each;
        if events == 0 {
            self.stalls += 1;
        }
        events
    }

    /// Writes a record; the caller checked room for it with `has_room` or
    /// `room_for`.
    #[inline]
    pub fn record(&mut self, event: AuditEvent) {
        let record = AuditRecord {
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        let written = self.ring.push(record);
        debug_assert!(written.is_ok(), "room for every record is checked first");
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.next_seq
    }

    /// Times a stage waited for room so far.
    pub fn stalls(&self) -> u64 {
        self.stalls
    }

    /// The ring's size, in records.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }
}
