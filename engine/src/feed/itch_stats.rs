//! What the ITCH feed publishes for the control plane: its counters, its
//! state (waiting, in sequence, recovering a gap, stopped by a book that
//! refused a change), where it is in its session, and the size of its
//! books. The feed keeps its own copy and stores it here after each poll
//! that changed it; the control plane reads.
//!
//! Every access is `Relaxed`: each value has one writer (the feed stage)
//! and publishes no other data, and a reader wants each value recent, not
//! consistent with the others.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

/// What the feed counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Datagrams received.
    Packets,
    /// Messages applied to the books.
    Messages,
    /// Packets refused for their framing or an ITCH message in them.
    Malformed,
    /// Packets of another session, dropped.
    Foreign,
    /// Packets whose messages were all applied before, dropped.
    Duplicate,
    /// Packets past a gap that could not be held (the hold was full),
    /// dropped and asked for again.
    Ahead,
    /// Packets past a gap, held until it was filled.
    Held,
    /// Gaps: times the feed found itself behind its session.
    Gaps,
    /// Gaps filled.
    Recoveries,
    /// Requests sent to the re-request server.
    Requests,
    /// Changes to an order of a configured instrument the books do not
    /// hold.
    UnknownOrders,
    /// Changes the books refused (full, or a live reference added again).
    BookRefusals,
    /// Reductions of more shares than an order held.
    Overdrawn,
    /// Receive or send calls that failed.
    SocketErrors,
}

/// Every count, in the order metrics list them.
pub const COUNTS: [Count; 14] = [
    Count::Packets,
    Count::Messages,
    Count::Malformed,
    Count::Foreign,
    Count::Duplicate,
    Count::Ahead,
    Count::Held,
    Count::Gaps,
    Count::Recoveries,
    Count::Requests,
    Count::UnknownOrders,
    Count::BookRefusals,
    Count::Overdrawn,
    Count::SocketErrors,
];

impl Count {
    /// Its name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Count::Packets => "packets",
            Count::Messages => "messages",
            Count::Malformed => "malformed",
            Count::Foreign => "foreign",
            Count::Duplicate => "duplicate",
            Count::Ahead => "ahead",
            Count::Held => "held",
            Count::Gaps => "gaps",
            Count::Recoveries => "recoveries",
            Count::Requests => "requests",
            Count::UnknownOrders => "unknown_orders",
            Count::BookRefusals => "book_refusals",
            Count::Overdrawn => "overdrawn",
            Count::SocketErrors => "socket_errors",
        }
    }
}

/// Where the feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// No packet yet.
    Waiting,
    /// Every message of the session so far is applied: quotes flow.
    InSequence,
    /// Messages are missing; no quote until they are applied.
    Recovering,
    /// The books refused a change (full): they are incomplete, and no
    /// quote flows until a new session.
    Stopped,
}

impl FeedState {
    fn code(self) -> u64 {
        self as u64
    }

    fn from_code(code: u64) -> FeedState {
        match code {
            1 => FeedState::InSequence,
            2 => FeedState::Recovering,
            3 => FeedState::Stopped,
            _ => FeedState::Waiting,
        }
    }

    /// Its name in metrics and health.
    pub fn name(self) -> &'static str {
        match self {
            FeedState::Waiting => "waiting",
            FeedState::InSequence => "in_sequence",
            FeedState::Recovering => "recovering",
            FeedState::Stopped => "stopped",
        }
    }
}

/// The feed's own copy of what it publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReport {
    /// By [`Count`].
    pub counts: [u64; COUNTS.len()],
    /// Where it stands.
    pub state: FeedState,
    /// The session's name, once a packet named it.
    pub session: Option<[u8; 10]>,
    /// The next message to apply.
    pub next: u64,
    /// Messages sent that are not applied.
    pub behind: u64,
    /// Live orders in the books.
    pub orders: u64,
}

impl Default for FeedReport {
    fn default() -> Self {
        FeedReport {
            counts: [0; COUNTS.len()],
            state: FeedState::Waiting,
            session: None,
            next: 1,
            behind: 0,
            orders: 0,
        }
    }
}

impl FeedReport {
    /// Adds one to `count`.
    #[inline]
    pub fn bump(&mut self, count: Count) {
        self.counts[count as usize] += 1;
    }

    /// The value of `count`.
    pub fn get(&self, count: Count) -> u64 {
        self.counts[count as usize]
    }
}

/// The published copy.
#[derive(Debug)]
pub struct FeedStats {
    counts: [AtomicU64; COUNTS.len()],
    state: AtomicU64,
    /// The session name's bytes, with bit 80 set once there is one.
    session: [AtomicU64; 2],
    next: AtomicU64,
    behind: AtomicU64,
    orders: CachePadded<AtomicU64>,
}

impl Default for FeedStats {
    fn default() -> Self {
        let stats = FeedStats {
            counts: Default::default(),
            state: AtomicU64::new(0),
            session: Default::default(),
            next: AtomicU64::new(0),
            behind: AtomicU64::new(0),
            orders: CachePadded::default(),
        };
        stats.publish(&FeedReport::default());
        stats
    }
}

impl FeedStats {
    /// Stores `report`; the feed stage's call.
    #[inline]
    pub fn publish(&self, report: &FeedReport) {
        for (slot, value) in self.counts.iter().zip(report.counts) {
            slot.store(value, Ordering::Relaxed);
        }
        self.state.store(report.state.code(), Ordering::Relaxed);
        let session = report.session.map_or(0, |name| {
            let mut wide = [0u8; 16];
            wide[..10].copy_from_slice(&name);
            wide[10] = 1;
            u128::from_le_bytes(wide)
        });
        self.session[0].store(session as u64, Ordering::Relaxed);
        self.session[1].store((session >> 64) as u64, Ordering::Relaxed);
        self.next.store(report.next, Ordering::Relaxed);
        self.behind.store(report.behind, Ordering::Relaxed);
        self.orders.store(report.orders, Ordering::Relaxed);
    }

    /// What was last published.
    pub fn read(&self) -> FeedReport {
        let mut counts = [0; COUNTS.len()];
        for (value, slot) in counts.iter_mut().zip(&self.counts) {
            *value = slot.load(Ordering::Relaxed);
        }
        let session = u128::from(self.session[0].load(Ordering::Relaxed))
            | u128::from(self.session[1].load(Ordering::Relaxed)) << 64;
        let wide = session.to_le_bytes();
        FeedReport {
            counts,
            state: FeedState::from_code(self.state.load(Ordering::Relaxed)),
            session: (wide[10] == 1).then(|| wide[..10].try_into().expect("10 bytes")),
            next: self.next.load(Ordering::Relaxed),
            behind: self.behind.load(Ordering::Relaxed),
            orders: self.orders.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_published_reads_back() {
        let stats = FeedStats::default();
        assert_eq!(stats.read(), FeedReport::default());
        let mut report = FeedReport::default();
        report.bump(Count::Gaps);
        report.bump(Count::SocketErrors);
        report.state = FeedState::Recovering;
        report.session = Some(*b"0000012345");
        report.next = 77;
        report.behind = 12;
        report.orders = 3;
        stats.publish(&report);
        assert_eq!(stats.read(), report);
        assert_eq!(stats.read().get(Count::Gaps), 1);
    }
}
