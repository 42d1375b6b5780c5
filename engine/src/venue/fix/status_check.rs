//! The gateway's check of its open orders against the venue's word: at a
//! logon it asks for the status of every order of the session
//! ([`OrderCodec::mass_status_request`](super::OrderCodec::mass_status_request)),
//! and judges each answer against what it holds open. Orders it sent
//! after asking are left out: the venue took the request first.
//!
//! What differs is counted by kind, for the control plane to halt on:
//! an order live at the venue the engine does not know (the gateway
//! cancels it), one open in the engine that the venue has ended, one
//! open at both with other lots left at the venue, and one open in the
//! engine that the answers left out. Each of them means reports the
//! engine never got, and positions it may not have.

use super::link_stats::LinkCount;
use super::order_status::StatusOf;

/// A request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCheck {
    /// Its MassStatusReqID, which is also the MsgSeqNum it went in: an
    /// order sent in a later message is not in its answers.
    pub request: u64,
    /// When it is given up, unanswered (ns on the gateway's clock).
    pub deadline_ns: u64,
}

impl StatusCheck {
    /// Whether an order whose NewOrderSingle went in message `seq` (0: one
    /// taken back at a start, or sent before the numbers were reset) is in
    /// the answers.
    pub fn covers(&self, seq: u64) -> bool {
        seq < self.request
    }
}

/// How the venue's word on `status` differs from the engine's, which holds
/// the order open with `leaves` lots left, or not at all (`None`); `None`
/// when they agree, or the order is neither open here nor live there.
pub fn judge(status: &StatusOf, leaves: Option<i64>) -> Option<LinkCount> {
    match (leaves, status.is_live()) {
        (None, true) => Some(LinkCount::StatusUnknownOrders),
        (None, false) => None,
        (Some(_), false) => Some(LinkCount::StatusEndedOrders),
        (Some(leaves), true) if leaves != status.leaves.0 => Some(LinkCount::StatusLeavesDiffer),
        (Some(_), true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientOrderId, InstrumentId, Qty, Side};

    fn status(ord_status: u8, leaves: i64) -> StatusOf {
        StatusOf {
            id: ClientOrderId(1),
            instrument: InstrumentId(0),
            side: Side::Buy,
            ord_status,
            leaves: Qty(leaves),
            filled: Qty(0),
        }
    }

    #[test]
    fn each_way_the_venue_and_the_engine_can_differ_is_told() {
        assert_eq!(judge(&status(b'0', 5), Some(5)), None, "agree");
        assert_eq!(judge(&status(b'1', 3), Some(3)), None, "agree, part filled");
        assert_eq!(
            judge(&status(b'1', 3), Some(5)),
            Some(LinkCount::StatusLeavesDiffer)
        );
        assert_eq!(
            judge(&status(b'2', 0), Some(5)),
            Some(LinkCount::StatusEndedOrders)
        );
        assert_eq!(
            judge(&status(b'4', 0), Some(5)),
            Some(LinkCount::StatusEndedOrders)
        );
        assert_eq!(
            judge(&status(b'A', 5), None),
            Some(LinkCount::StatusUnknownOrders)
        );
        assert_eq!(judge(&status(b'2', 0), None), None, "an old order");
    }

    #[test]
    fn orders_sent_after_the_request_are_not_in_its_answers() {
        let check = StatusCheck {
            request: 40,
            deadline_ns: 0,
        };
        assert!(check.covers(0) && check.covers(39));
        assert!(!check.covers(41));
    }
}
