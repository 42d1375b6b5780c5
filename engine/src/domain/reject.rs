//! Why an order was refused: one stable code per reason, shared by the risk
//! gate and the venue, so that logs, metrics and the journal all speak the
//! same code.

use std::fmt;

/// A refusal reason. The discriminants and codes are stable: they are
/// persisted and exported as metric labels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
#[repr(u8)]
pub enum Reject {
    /// The order is larger than the per-order quantity cap.
    MaxOrderQty = 1,
    /// Its notional is above the per-order notional cap.
    MaxOrderNotional = 2,
    /// Its price is outside the collar around the current mid.
    PriceCollar = 3,
    /// Filled along with every open order, it would pass the position limit.
    PositionLimit = 4,
    /// It would take gross exposure across instruments past its limit.
    GrossExposure = 5,
    /// Too many orders are open already.
    MaxOpenOrders = 6,
    /// The order-rate throttle is out of tokens.
    RateThrottle = 7,
    /// No fresh quote for the instrument: no price to check against.
    StaleMarketData = 8,
    /// Its client order id was used before.
    DuplicateOrderId = 9,
    /// It would cross one of the engine's own resting orders.
    SelfTrade = 10,
    /// Trading is reduce-only and the order would not shrink the position.
    ReduceOnly = 11,
    /// Trading is halted.
    Halted = 12,
    /// The venue, or the ring to it, has no room for another order.
    VenueBusy = 13,
    /// The venue knows no such order (a cancel of a finished order).
    UnknownOrder = 14,
    /// The venue refused the order as malformed.
    InvalidOrder = 15,
    /// After a restart, a position is not yet marked at a quote, so the
    /// P&L the loss limit counts is not known: only orders that shrink a
    /// position pass until every held instrument has been quoted.
    UnmarkedPositions = 16,
    /// The venue refused the order for a reason of its own (a limit of
    /// its, a symbol it does not trade); its text is in its report.
    VenueRejected = 17,
    /// No session with the venue: the order was not sent.
    VenueDown = 18,
}

impl Reject {
    /// Every reason, in code order.
    pub const ALL: [Reject; 18] = [
        Reject::MaxOrderQty,
        Reject::MaxOrderNotional,
        Reject::PriceCollar,
        Reject::PositionLimit,
        Reject::GrossExposure,
        Reject::MaxOpenOrders,
        Reject::RateThrottle,
        Reject::StaleMarketData,
        Reject::DuplicateOrderId,
        Reject::SelfTrade,
        Reject::ReduceOnly,
        Reject::Halted,
        Reject::VenueBusy,
        Reject::UnknownOrder,
        Reject::InvalidOrder,
        Reject::UnmarkedPositions,
        Reject::VenueRejected,
        Reject::VenueDown,
    ];

    /// The stable code, as logs and metric labels print it.
    pub fn code(self) -> &'static str {
        match self {
            Reject::MaxOrderQty => "MAX_ORDER_QTY",
            Reject::MaxOrderNotional => "MAX_ORDER_NOTIONAL",
            Reject::PriceCollar => "PRICE_COLLAR",
            Reject::PositionLimit => "POSITION_LIMIT",
            Reject::GrossExposure => "GROSS_EXPOSURE",
            Reject::MaxOpenOrders => "MAX_OPEN_ORDERS",
            Reject::RateThrottle => "RATE_THROTTLE",
            Reject::StaleMarketData => "STALE_MARKET_DATA",
            Reject::DuplicateOrderId => "DUPLICATE_ORDER_ID",
            Reject::SelfTrade => "SELF_TRADE",
            Reject::ReduceOnly => "REDUCE_ONLY",
            Reject::Halted => "HALTED",
            Reject::VenueBusy => "VENUE_BUSY",
            Reject::UnknownOrder => "UNKNOWN_ORDER",
            Reject::InvalidOrder => "INVALID_ORDER",
            Reject::UnmarkedPositions => "UNMARKED_POSITIONS",
            Reject::VenueRejected => "VENUE_REJECTED",
            Reject::VenueDown => "VENUE_DOWN",
        }
    }

    /// An index in `0 .. ALL.len()`, for per-reason counters.
    pub fn index(self) -> usize {
        self as usize - 1
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Reject;

    #[test]
    fn codes_are_unique_and_indexes_dense() {
        for (i, reason) in Reject::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
            let same = Reject::ALL
                .iter()
                .filter(|r| r.code() == reason.code())
                .count();
            assert_eq!(same, 1, "{reason}");
            assert!(reason
                .code()
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_'));
        }
    }
}
