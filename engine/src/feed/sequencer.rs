//! MoldUDP64 sequencing: which packets of a session a receiver applies, in
//! order and once each. It adopts the first session it sees, applies the
//! messages that come next (skipping any it already has), drops what is
//! behind or ahead, and tracks how far the session has been seen to go, so
//! the receiver knows how many messages it lacks and asks for them. A new
//! session is taken only after the old one ended.
//!
//! Sequence numbers start at 1, so a receiver that starts late lacks the
//! session's beginning and recovers it like any other gap.

use super::moldudp64::{Header, Session, END_OF_SESSION, HEARTBEAT};

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Apply its messages after the first `skip` (which were applied
    /// before).
    Apply {
        /// Messages at its start already applied.
        skip: u64,
    },
    /// Nothing new in it: every message was applied before.
    Duplicate,
    /// It starts past the next message: kept out until the gap is filled.
    Ahead,
    /// A heartbeat (or an end of session): no messages.
    Empty,
    /// Another session while this one runs.
    Foreign,
    /// The first packet of a session after the last one ended: the
    /// receiver starts afresh (empty books), then offers it again.
    NewSession,
}

/// A receiver's place in its session.
#[derive(Debug, Clone, Default)]
pub struct Sequencer {
    session: Option<Session>,
    /// The next message to apply.
    next: u64,
    /// One past the highest message the session has been seen to send.
    seen: u64,
    ended: bool,
}

impl Sequencer {
    /// Before any packet.
    pub fn new() -> Sequencer {
        Sequencer {
            session: None,
            next: 1,
            seen: 1,
            ended: false,
        }
    }

    /// The verdict on a packet with `header`.
    #[inline]
    pub fn offer(&mut self, header: &Header) -> Verdict {
        match self.session {
            None => self.session = Some(header.session),
            Some(session) if session != header.session => {
                if !self.ended {
                    return Verdict::Foreign;
                }
                *self = Sequencer {
                    session: Some(header.session),
                    ..Sequencer::new()
                };
                return Verdict::NewSession;
            }
            Some(_) => {}
        }
        let end = header.seq.saturating_add(header.messages());
        self.seen = self.seen.max(end);
        match header.count {
            END_OF_SESSION => {
                self.ended = true;
                return Verdict::Empty;
            }
            HEARTBEAT => return Verdict::Empty,
            _ => {}
        }
        if end <= self.next {
            Verdict::Duplicate
        } else if header.seq > self.next {
            Verdict::Ahead
        } else {
            let skip = self.next - header.seq;
            self.next = end;
            Verdict::Apply { skip }
        }
    }

    /// The session, once a packet named it.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The next message to apply.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Messages the session has sent that are not applied.
    pub fn behind(&self) -> u64 {
        self.seen - self.next
    }

    /// Whether the session has ended.
    pub fn ended(&self) -> bool {
        self.ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &Session = b"SESSION--A";
    const B: &Session = b"SESSION--B";

    fn packet(session: &Session, seq: u64, count: u16) -> Header {
        Header {
            session: *session,
            seq,
            count,
        }
    }

    #[test]
    fn in_order_packets_apply_and_repeats_do_not() {
        let mut s = Sequencer::new();
        assert_eq!(s.offer(&packet(A, 1, 3)), Verdict::Apply { skip: 0 });
        assert_eq!(s.offer(&packet(A, 4, 2)), Verdict::Apply { skip: 0 });
        assert_eq!(s.offer(&packet(A, 1, 3)), Verdict::Duplicate);
        assert_eq!(s.offer(&packet(A, 5, 3)), Verdict::Apply { skip: 1 });
        assert_eq!((s.next(), s.behind()), (8, 0));
    }

    #[test]
    fn a_gap_is_counted_from_what_was_seen_and_filled_in_order() {
        let mut s = Sequencer::new();
        s.offer(&packet(A, 1, 2));
        assert_eq!(s.offer(&packet(A, 6, 2)), Verdict::Ahead);
        assert_eq!((s.next(), s.behind()), (3, 5));
        assert_eq!(s.offer(&packet(A, 8, 1)), Verdict::Ahead);
        assert_eq!(s.behind(), 6);
        // The re-request server's answers, then the rest.
        assert_eq!(s.offer(&packet(A, 3, 3)), Verdict::Apply { skip: 0 });
        assert_eq!(s.offer(&packet(A, 6, 3)), Verdict::Apply { skip: 0 });
        assert_eq!(s.behind(), 0);
    }

    #[test]
    fn a_late_start_lacks_the_beginning() {
        let mut s = Sequencer::new();
        assert_eq!(s.offer(&packet(A, 1000, 10)), Verdict::Ahead);
        assert_eq!((s.next(), s.behind()), (1, 1009));
    }

    #[test]
    fn a_heartbeat_ahead_reveals_a_gap() {
        let mut s = Sequencer::new();
        s.offer(&packet(A, 1, 1));
        assert_eq!(s.offer(&packet(A, 5, HEARTBEAT)), Verdict::Empty);
        assert_eq!(s.behind(), 3);
    }

    #[test]
    fn another_session_waits_for_the_end_of_this_one() {
        let mut s = Sequencer::new();
        s.offer(&packet(A, 1, 1));
        assert_eq!(s.offer(&packet(B, 1, 1)), Verdict::Foreign);
        assert_eq!(s.offer(&packet(A, 2, END_OF_SESSION)), Verdict::Empty);
        assert!(s.ended());
        assert_eq!(s.offer(&packet(B, 1, 1)), Verdict::NewSession);
        assert_eq!(s.session(), Some(B));
        assert_eq!(s.offer(&packet(B, 1, 1)), Verdict::Apply { skip: 0 });
    }
}
