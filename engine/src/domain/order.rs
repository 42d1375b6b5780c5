//! Orders as the hot path carries them: what a strategy asks for (an
//! [`Intent`]) and what comes back ([`ExecReport`]).

use super::reject::Reject;
use super::units::{InstrumentId, Price, Qty};

/// Buy or sell.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub enum Side {
    /// Buy: adds to the position.
    Buy,
    /// Sell: takes from the position.
    Sell,
}

impl Side {
    /// +1 for a buy, -1 for a sell: `position += sign * filled`.
    #[inline]
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    /// The other side.
    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// How long an order lives at the venue.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub enum TimeInForce {
    /// Rests on the book until filled or cancelled.
    Limit,
    /// Immediate or cancel: fills what it can at once, the rest is
    /// cancelled.
    Ioc,
}

/// The engine's id of an order, unique within a run; the engine assigns
/// it, in increasing order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct ClientOrderId(pub u64);

/// A new order as a strategy asks for it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub struct NewOrder {
    /// Its id.
    pub id: ClientOrderId,
    /// What.
    pub instrument: InstrumentId,
    /// Which way.
    pub side: Side,
    /// Limit price, in ticks.
    pub price: Price,
    /// Lots; positive.
    pub qty: Qty,
    /// How long it lives.
    pub tif: TimeInForce,
}

/// What a strategy asks the engine to do; every one passes the risk gate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub enum Intent {
    /// Send a new order.
    New(NewOrder),
    /// Cancel an open order.
    Cancel(ClientOrderId),
}

/// What happened to an order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub enum ExecKind {
    /// The venue accepted it; `leaves` is open.
    Ack,
    /// Part of it traded at `price`; `leaves` is still open.
    PartialFill,
    /// The rest of it traded at `price`; it is done.
    Fill,
    /// It was cancelled (on request, or the unfilled part of an IOC); done.
    Cancelled,
    /// It was refused, by the risk gate or the venue; done.
    Rejected(Reject),
    /// A cancel of it was refused (by the risk gate or the venue, say
    /// because it had already finished); the order itself is unchanged.
    CancelRejected(Reject),
}

/// An execution report: one event in an order's life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub struct ExecReport {
    /// The order.
    pub id: ClientOrderId,
    /// Its instrument.
    pub instrument: InstrumentId,
    /// Its side.
    pub side: Side,
    /// What happened.
    pub kind: ExecKind,
    /// For fills, the price traded, in ticks; otherwise the order's price.
    pub price: Price,
    /// For fills, the lots traded now; otherwise 0.
    pub filled: Qty,
    /// Lots still open after this event.
    pub leaves: Qty,
}

impl ExecReport {
    /// Whether the order is finished (filled, cancelled or rejected).
    pub fn is_final(&self) -> bool {
        matches!(
            self.kind,
            ExecKind::Fill | ExecKind::Cancelled | ExecKind::Rejected(_)
        )
    }
}
