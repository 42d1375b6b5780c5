//! What the decision path publishes for the control plane beside the audit
//! stream: plain values, each written by the decide stage, and the risk
//! gate's state and open orders as seqlock snapshots, all read by the
//! control plane.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;

use crossbeam_utils::CachePadded;

use crate::ring::Level;
use crate::risk::{OpenOrder, RiskGate, RiskSnapshot, TradingState};
use crate::seqlock::SeqLock;

/// The path's published values. Each sits on its own line so that a reader
/// never slows the writer down with false sharing. Every access to the
/// plain values is `Relaxed`: each has one writer and publishes no other
/// data. The snapshots are each consistent across their fields (seqlocks).
#[derive(Debug)]
pub struct PathCounters {
    quotes: CachePadded<AtomicU64>,
    state: CachePadded<AtomicU8>,
    audit_waits: CachePadded<AtomicU64>,
    risk: SeqLock,
    orders: SeqLock,
    rings: OnceLock<Vec<RingGauge>>,
}

/// A ring of the path, named for the control plane.
pub struct RingGauge {
    /// Which ring: `quotes`, `orders`, `audit.decide`, ...
    pub name: &'static str,
    /// Its level.
    pub gauge: Box<dyn Level>,
}

impl std::fmt::Debug for RingGauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingGauge({}: {:?})", self.name, self.gauge.level())
    }
}

impl PathCounters {
    /// Counters for a path over `instruments` instruments with room for
    /// `max_open_orders`; the snapshots read as empty until the path first
    /// publishes them.
    pub fn new(instruments: usize, max_open_orders: usize) -> Self {
        PathCounters {
            quotes: CachePadded::default(),
            state: CachePadded::new(AtomicU8::new(TradingState::Active.code())),
            audit_waits: CachePadded::default(),
            risk: SeqLock::new(RiskSnapshot::words(instruments)),
            orders: SeqLock::new(RiskSnapshot::order_words(max_open_orders)),
            rings: OnceLock::new(),
        }
    }

    /// The path's rings, once it is wired (empty before).
    pub fn rings(&self) -> &[RingGauge] {
        self.rings.get().map_or(&[], Vec::as_slice)
    }

    /// Names the path's rings; the wiring does it once, before any stage
    /// runs.
    pub(crate) fn set_rings(&self, rings: Vec<RingGauge>) {
        assert!(self.rings.set(rings).is_ok(), "one path per counters");
    }

    /// Quotes the decide stage has taken.
    pub fn quotes(&self) -> u64 {
        self.quotes.load(Ordering::Relaxed)
    }

    /// The risk gate's state as last published (at most a millisecond of
    /// path time old while the path is busy, current when it idles);
    /// `None` when the decide stage stopped part-way through publishing.
    pub fn risk(&self) -> Option<RiskSnapshot> {
        RiskSnapshot::read(&self.risk)
    }

    /// The orders open as last published, like [`PathCounters::risk`].
    pub fn open_orders(&self) -> Option<Vec<OpenOrder>> {
        RiskSnapshot::read_orders(&self.orders)
    }

    /// The trading state.
    pub fn state(&self) -> TradingState {
        TradingState::from_code(self.state.load(Ordering::Relaxed))
    }

    /// Times the decide stage waited for room in the audit ring.
    pub fn audit_waits(&self) -> u64 {
        self.audit_waits.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn set_quotes(&self, count: u64) {
        self.quotes.store(count, Ordering::Relaxed);
    }

    /// Publishes `gate`'s state and open orders; the decide stage is the
    /// one writer.
    pub(crate) fn publish_risk(&self, gate: &RiskGate) {
        debug_assert_eq!(
            self.risk.len(),
            RiskSnapshot::words(gate.instruments()),
            "counters sized for the gate's instruments"
        );
        debug_assert!(
            self.orders.len() >= RiskSnapshot::order_words(gate.open_capacity()),
            "counters sized for the gate's open orders"
        );
        RiskSnapshot::publish(gate, &self.risk);
        RiskSnapshot::publish_orders(gate, &self.orders);
    }

    #[inline]
    pub(crate) fn set_state(&self, state: TradingState) {
        self.state.store(state.code(), Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn set_audit_waits(&self, waits: u64) {
        self.audit_waits.store(waits, Ordering::Relaxed);
    }
}
