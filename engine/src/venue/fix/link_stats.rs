//! What the FIX gateway publishes for the control plane: its counters,
//! where its link to the venue stands, why the last session ended, and its
//! sequence numbers. The gateway keeps its own copy ([`LinkReport`]) and
//! stores it here after each poll that changed it; the control plane
//! reads.
//!
//! Every access is `Relaxed`: each value has one writer (the gateway's
//! stage) and publishes no other data, and a reader wants each value
//! recent, not consistent with the others.

use std::sync::atomic::{AtomicU64, Ordering};

use super::session::{End, TEXT_KEPT};

/// What the gateway counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCount {
    /// TCP connections made.
    Connects,
    /// Connection attempts that failed or timed out.
    ConnectFailures,
    /// Sessions logged on.
    Logons,
    /// Sessions or connections ended, for any reason.
    Disconnects,
    /// Messages sent.
    Sent,
    /// Messages received in sequence.
    Received,
    /// ResendRequests sent.
    ResendRequests,
    /// Gap fills sent for the venue's ResendRequests.
    GapFills,
    /// TestRequests sent.
    TestRequests,
    /// Session-level Rejects of redline's messages.
    SessionRejects,
    /// Repeats, and messages past a gap, skipped.
    Skipped,
    /// Bytes that cannot be a FIX message: the stream is out of step and
    /// the connection is closed.
    Garbled,
    /// Reports that could not be read (answered with a Reject).
    BadReports,
    /// Fills at a price between ticks, rounded to the nearest.
    OffTickPrices,
    /// Orders refused because no session was logged on.
    RefusedDown,
    /// Reads or writes that failed.
    SocketErrors,
    /// Orders lost with a connection: the venue asked for their
    /// NewOrderSingle again, got a gap fill, and they were reported
    /// refused.
    LostOrders,
    /// Orders a restart took back from the session file: the last run
    /// sent them and was killed before its journal got them.
    RecoveredOrders,
    /// Reports the last run took that its journal never got, taken back
    /// from the session file at the start.
    RecoveredReports,
    /// Checks of the open orders against the venue's word
    /// (OrderMassStatusRequest) answered in full.
    StatusChecks,
    /// Checks the venue refused or left unanswered past the answer
    /// timeout: nothing was checked.
    StatusUnanswered,
    /// Orders live at the venue that the engine does not know (they are
    /// cancelled).
    StatusUnknownOrders,
    /// Orders open in the engine that the venue says have ended.
    StatusEndedOrders,
    /// Orders open at both with other lots left at the venue.
    StatusLeavesDiffer,
    /// Orders open in the engine that the venue's answers left out.
    StatusMissingOrders,
    /// Fills of orders the gateway did not hold open (told of after the
    /// order ended, or of an order the engine never knew): the positions
    /// did not take them.
    StrayFills,
}

/// The counts of orders whose status differs from the venue's.
pub const STATUS_MISMATCHES: [LinkCount; 4] = [
    LinkCount::StatusUnknownOrders,
    LinkCount::StatusEndedOrders,
    LinkCount::StatusLeavesDiffer,
    LinkCount::StatusMissingOrders,
];

/// Every count, in the order metrics list them.
pub const LINK_COUNTS: [LinkCount; 26] = [
    LinkCount::Connects,
    LinkCount::ConnectFailures,
    LinkCount::Logons,
    LinkCount::Disconnects,
    LinkCount::Sent,
    LinkCount::Received,
    LinkCount::ResendRequests,
    LinkCount::GapFills,
    LinkCount::TestRequests,
    LinkCount::SessionRejects,
    LinkCount::Skipped,
    LinkCount::Garbled,
    LinkCount::BadReports,
    LinkCount::OffTickPrices,
    LinkCount::RefusedDown,
    LinkCount::SocketErrors,
    LinkCount::LostOrders,
    LinkCount::RecoveredOrders,
    LinkCount::RecoveredReports,
    LinkCount::StatusChecks,
    LinkCount::StatusUnanswered,
    LinkCount::StatusUnknownOrders,
    LinkCount::StatusEndedOrders,
    LinkCount::StatusLeavesDiffer,
    LinkCount::StatusMissingOrders,
    LinkCount::StrayFills,
];

impl LinkCount {
    /// Its name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            LinkCount::Connects => "connects",
            LinkCount::ConnectFailures => "connect_failures",
            LinkCount::Logons => "logons",
            LinkCount::Disconnects => "disconnects",
            LinkCount::Sent => "sent",
            LinkCount::Received => "received",
            LinkCount::ResendRequests => "resend_requests",
            LinkCount::GapFills => "gap_fills",
            LinkCount::TestRequests => "test_requests",
            LinkCount::SessionRejects => "session_rejects",
            LinkCount::Skipped => "skipped",
            LinkCount::Garbled => "garbled",
            LinkCount::BadReports => "bad_reports",
            LinkCount::OffTickPrices => "off_tick_prices",
            LinkCount::RefusedDown => "refused_down",
            LinkCount::SocketErrors => "socket_errors",
            LinkCount::LostOrders => "lost_orders",
            LinkCount::RecoveredOrders => "recovered_orders",
            LinkCount::RecoveredReports => "recovered_reports",
            LinkCount::StatusChecks => "status_checks",
            LinkCount::StatusUnanswered => "status_unanswered",
            LinkCount::StatusUnknownOrders => "status_unknown_orders",
            LinkCount::StatusEndedOrders => "status_ended_orders",
            LinkCount::StatusLeavesDiffer => "status_leaves_differ",
            LinkCount::StatusMissingOrders => "status_missing_orders",
            LinkCount::StrayFills => "stray_fills",
        }
    }
}

/// Where the link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// No connection; the next attempt waits for its backoff.
    Disconnected,
    /// A TCP connection is being made.
    Connecting,
    /// Connected; the Logon is out.
    LoggingOn,
    /// Logged on: orders go.
    Active,
    /// The Logout is out.
    LoggingOut,
}

impl LinkState {
    /// Every state, in the order metrics list them.
    pub const ALL: [LinkState; 5] = [
        LinkState::Disconnected,
        LinkState::Connecting,
        LinkState::LoggingOn,
        LinkState::Active,
        LinkState::LoggingOut,
    ];

    /// Its name in metrics and health.
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Disconnected => "disconnected",
            LinkState::Connecting => "connecting",
            LinkState::LoggingOn => "logging_on",
            LinkState::Active => "active",
            LinkState::LoggingOut => "logging_out",
        }
    }
}

/// Why the link last went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEnd {
    /// The session ended (see [`End`]).
    Session(End),
    /// The venue closed the connection.
    Closed,
    /// A read or write failed.
    SocketError,
    /// Bytes that cannot be a FIX message arrived.
    Garbled,
    /// The connection could not be made in time.
    ConnectFailed,
}

impl LinkEnd {
    /// Words for logs and health.
    pub fn describe(self) -> &'static str {
        match self {
            LinkEnd::Session(end) => end.describe(),
            LinkEnd::Closed => "the venue closed the connection",
            LinkEnd::SocketError => "a read or write on the connection failed",
            LinkEnd::Garbled => "bytes that are not a FIX message arrived",
            LinkEnd::ConnectFailed => "the connection could not be made",
        }
    }

    const ENDS: [End; 11] = [
        End::LoggedOut,
        End::VenueLoggedOut,
        End::SeqTooLow {
            expected: 0,
            received: 0,
        },
        End::NoSeqNum,
        End::WrongCompId,
        End::UnexpectedLogon,
        End::LogonTimeout,
        End::NoHeartbeat,
        End::ResendStalled,
        End::LogonRefused,
        End::WrongCredentials,
    ];

    /// A code for one atomic (0 is none); SeqTooLow's numbers are dropped.
    fn code(self) -> u64 {
        match self {
            LinkEnd::Closed => 1,
            LinkEnd::SocketError => 2,
            LinkEnd::Garbled => 3,
            LinkEnd::ConnectFailed => 4,
            LinkEnd::Session(end) => {
                let at = Self::ENDS
                    .iter()
                    .position(|e| std::mem::discriminant(e) == std::mem::discriminant(&end))
                    .expect("every end is listed");
                10 + at as u64
            }
        }
    }

    fn from_code(code: u64) -> Option<LinkEnd> {
        Some(match code {
            1 => LinkEnd::Closed,
            2 => LinkEnd::SocketError,
            3 => LinkEnd::Garbled,
            4 => LinkEnd::ConnectFailed,
            c if c >= 10 => LinkEnd::Session(*Self::ENDS.get((c - 10) as usize)?),
            _ => return None,
        })
    }
}

/// The gateway's own copy of what it publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkReport {
    /// By [`LinkCount`].
    pub counts: [u64; LINK_COUNTS.len()],
    /// Where the link stands.
    pub state: LinkState,
    /// Why it last went down, if it has.
    pub last_end: Option<LinkEnd>,
    /// MsgSeqNum of the next message sent.
    pub next_out: u64,
    /// MsgSeqNum expected next from the venue.
    pub next_in: u64,
    /// Orders sent and not finished, as the gateway knows them.
    pub open_orders: u64,
    /// Text(58) of the venue's last Logout, cut to [`TEXT_KEPT`] bytes;
    /// `venue_text[..venue_text_len]`.
    pub venue_text: [u8; TEXT_KEPT],
    /// How much of it there is.
    pub venue_text_len: usize,
    /// The id of the last order whose status differed from the venue's,
    /// or that a stray fill was of; 0 for none.
    pub mismatched_order: u64,
}

impl LinkReport {
    /// What the venue's last Logout said, as text.
    pub fn venue_said(&self) -> String {
        String::from_utf8_lossy(&self.venue_text[..self.venue_text_len]).into_owned()
    }
}

impl Default for LinkReport {
    fn default() -> Self {
        LinkReport {
            counts: [0; LINK_COUNTS.len()],
            state: LinkState::Disconnected,
            last_end: None,
            next_out: 1,
            next_in: 1,
            open_orders: 0,
            venue_text: [0; TEXT_KEPT],
            venue_text_len: 0,
            mismatched_order: 0,
        }
    }
}

impl LinkReport {
    /// Adds one to `count`.
    #[inline]
    pub fn bump(&mut self, count: LinkCount) {
        self.counts[count as usize] += 1;
    }

    /// The value of `count`.
    pub fn get(&self, count: LinkCount) -> u64 {
        self.counts[count as usize]
    }
}

/// The published copy.
#[derive(Debug)]
pub struct LinkStats {
    counts: [AtomicU64; LINK_COUNTS.len()],
    state: AtomicU64,
    last_end: AtomicU64,
    next_out: AtomicU64,
    next_in: AtomicU64,
    open_orders: AtomicU64,
    /// The text's bytes, eight to a word, and its length. A reader may
    /// catch a text half replaced (it changes only at a disconnection).
    venue_text: [AtomicU64; TEXT_KEPT / 8],
    venue_text_len: AtomicU64,
    mismatched_order: AtomicU64,
}

impl Default for LinkStats {
    fn default() -> Self {
        let stats = LinkStats {
            counts: Default::default(),
            state: AtomicU64::new(0),
            last_end: AtomicU64::new(0),
            next_out: AtomicU64::new(0),
            next_in: AtomicU64::new(0),
            open_orders: AtomicU64::new(0),
            venue_text: Default::default(),
            venue_text_len: AtomicU64::new(0),
            mismatched_order: AtomicU64::new(0),
        };
        stats.publish(&LinkReport::default());
        stats
    }
}

impl LinkStats {
    /// Stores `report`; the gateway stage's call.
    #[inline]
    pub fn publish(&self, report: &LinkReport) {
        for (slot, value) in self.counts.iter().zip(report.counts) {
            slot.store(value, Ordering::Relaxed);
        }
        self.state.store(report.state as u64, Ordering::Relaxed);
        self.last_end
            .store(report.last_end.map_or(0, LinkEnd::code), Ordering::Relaxed);
        self.next_out.store(report.next_out, Ordering::Relaxed);
        self.next_in.store(report.next_in, Ordering::Relaxed);
        self.open_orders
            .store(report.open_orders, Ordering::Relaxed);
        for (slot, word) in self.venue_text.iter().zip(report.venue_text.chunks(8)) {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            slot.store(word, Ordering::Relaxed);
        }
        self.venue_text_len
            .store(report.venue_text_len as u64, Ordering::Relaxed);
        self.mismatched_order
            .store(report.mismatched_order, Ordering::Relaxed);
    }

    /// What was last published.
    pub fn read(&self) -> LinkReport {
        let mut counts = [0; LINK_COUNTS.len()];
        for (value, slot) in counts.iter_mut().zip(&self.counts) {
            *value = slot.load(Ordering::Relaxed);
        }
        let state = self.state.load(Ordering::Relaxed) as usize;
        let mut venue_text = [0u8; TEXT_KEPT];
        for (word, slot) in venue_text.chunks_mut(8).zip(&self.venue_text) {
            word.copy_from_slice(&slot.load(Ordering::Relaxed).to_le_bytes());
        }
        LinkReport {
            counts,
            state: LinkState::ALL
                .get(state)
                .copied()
                .unwrap_or(LinkState::Disconnected),
            last_end: LinkEnd::from_code(self.last_end.load(Ordering::Relaxed)),
            next_out: self.next_out.load(Ordering::Relaxed),
            next_in: self.next_in.load(Ordering::Relaxed),
            open_orders: self.open_orders.load(Ordering::Relaxed),
            venue_text,
            venue_text_len: (self.venue_text_len.load(Ordering::Relaxed) as usize).min(TEXT_KEPT),
            mismatched_order: self.mismatched_order.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_published_reads_back() {
        let stats = LinkStats::default();
        assert_eq!(stats.read(), LinkReport::default());
        let mut report = LinkReport::default();
        report.bump(LinkCount::Garbled);
        report.bump(LinkCount::SocketErrors);
        report.next_out = 12;
        report.next_in = 40;
        report.open_orders = 3;
        let said = b"session closed by the exchange: end of day";
        report.venue_text[..said.len()].copy_from_slice(said);
        report.venue_text_len = said.len();
        report.mismatched_order = 4321;
        for state in LinkState::ALL {
            report.state = state;
            stats.publish(&report);
            assert_eq!(stats.read(), report);
        }
        let ends = LinkEnd::ENDS.iter().map(|&e| LinkEnd::Session(e)).chain([
            LinkEnd::Closed,
            LinkEnd::SocketError,
            LinkEnd::Garbled,
            LinkEnd::ConnectFailed,
        ]);
        for end in ends {
            report.last_end = Some(end);
            stats.publish(&report);
            assert_eq!(stats.read().last_end, Some(end));
        }
        assert_eq!(stats.read().get(LinkCount::Garbled), 1);
        assert_eq!(
            stats.read().venue_said(),
            "session closed by the exchange: end of day"
        );
    }
}
