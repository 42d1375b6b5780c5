//! Where the decide stage sends the intents the risk gate passed: straight
//! to the venue in the fused topology, into the ring to the gateway stage in
//! the pipeline.

use std::collections::VecDeque;

use super::time::TimeSource;
use crate::audit::{AuditEvent, AuditLog, Stamps};
use crate::domain::{ExecReport, Intent};
use crate::ring;
use crate::venue::Venue;

/// An intent on its way to the gateway, with the stamps it has so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// What to send.
    pub intent: Intent,
    /// Up to `risk`.
    pub stamps: Stamps,
}

/// The decide stage's way out.
pub trait Outbox {
    /// How many more intents, up to `wanted`, can be sent now.
    fn room(&mut self, wanted: usize) -> usize;

    /// Whether one more intent can be sent now. An intent that cannot is
    /// refused with `VENUE_BUSY` before the risk gate counts it as open.
    #[inline]
    fn has_room(&mut self) -> bool {
        self.room(1) == 1
    }

    /// Sends an intent the gate passed at path time `now`. Whoever hands it
    /// to the venue writes its `Sent` record (here, in `audit`, when that
    /// is now).
    fn send(&mut self, outgoing: Outgoing, now: u64, audit: &mut AuditLog);
}

/// The pipeline's way out: the ring to the gateway stage, which writes the
/// `Sent` record into its own log.
impl Outbox for ring::Producer<Outgoing> {
    #[inline]
    fn room(&mut self, wanted: usize) -> usize {
        ring::Producer::room(self, wanted)
    }

    #[inline]
    fn send(&mut self, outgoing: Outgoing, _: u64, _: &mut AuditLog) {
        let sent = self.push(outgoing);
        debug_assert!(sent.is_ok(), "has_room was checked");
    }
}

/// The fused topology's way out: the venue itself, whose answers queue in
/// `reports` until the path takes them.
pub struct VenueLink<'a> {
    /// The venue.
    pub venue: &'a mut Venue,
    /// Its answers; never grows past its capacity.
    pub reports: &'a mut VecDeque<ExecReport>,
    /// For the `sent` stamp.
    pub time: TimeSource,
}

impl Outbox for VenueLink<'_> {
    #[inline]
    fn room(&mut self, wanted: usize) -> usize {
        // A new order may be answered at once (a full venue refuses it).
        (self.reports.capacity() - self.reports.len()).min(wanted)
    }

    #[inline]
    fn send(&mut self, outgoing: Outgoing, now: u64, audit: &mut AuditLog) {
        let stamps = Stamps {
            sent: self.time.stamp(now),
            ..outgoing.stamps
        };
        audit.record(AuditEvent::Sent {
            intent: outgoing.intent,
            stamps,
        });
        let reports = &mut *self.reports;
        self.venue
            .submit(outgoing.intent, now, |report| reports.push_back(report));
    }
}
