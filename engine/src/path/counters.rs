//! What the decision path publishes for the control plane beside the audit
//! stream: plain values, each written by the decide stage and read by the
//! side thread about once a second.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};

use crossbeam_utils::CachePadded;

use crate::risk::TradingState;

/// The path's published values. Each sits on its own line so that a reader
/// never slows the writer down with false sharing. Every access is
/// `Relaxed`: each is a plain value with one writer that publishes no other
/// data.
#[derive(Debug, Default)]
pub struct PathCounters {
    quotes: CachePadded<AtomicU64>,
    pnl_nanos: CachePadded<AtomicI64>,
    state: CachePadded<AtomicU8>,
    audit_waits: CachePadded<AtomicU64>,
}

impl PathCounters {
    /// Quotes the decide stage has taken.
    pub fn quotes(&self) -> u64 {
        self.quotes.load(Ordering::Relaxed)
    }

    /// Realized plus unrealized P&L in nano-units of the account currency,
    /// as the risk gate marks it (saturated to the `i64` range).
    pub fn pnl_nanos(&self) -> i64 {
        self.pnl_nanos.load(Ordering::Relaxed)
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

    #[inline]
    pub(crate) fn set_pnl_nanos(&self, pnl: i128) {
        let pnl = pnl.clamp(i64::MIN.into(), i64::MAX.into()) as i64;
        self.pnl_nanos.store(pnl, Ordering::Relaxed);
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
