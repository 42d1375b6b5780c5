//! The risk limits as config states them, and the checks that catch
//! limits contradicting each other before the engine starts.

use serde::{Deserialize, Serialize};

use crate::domain::Decimal;

/// `[risk]`: every limit the gate enforces. Money is in the account
/// currency, written as decimal strings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLimits {
    /// The most lots one order may ask for.
    pub max_order_qty: i64,
    /// The most one order may be worth (price x quantity x multiplier).
    pub max_order_notional: Decimal,
    /// How far from the mid, in basis points, an order's price may be.
    pub price_collar_bps: i64,
    /// The most lots, long or short, held in one instrument, counting every
    /// open order as filled.
    pub max_position: i64,
    /// The most all instruments together may be worth, long and short
    /// added, counting open orders as filled.
    pub max_gross_exposure: Decimal,
    /// The most orders open at once.
    pub max_open_orders: usize,
    /// Orders per second over all instruments, sustained.
    pub orders_per_second: u32,
    /// Orders that may go out at once before the rate applies.
    pub order_burst: u32,
    /// Orders per second in one instrument, sustained.
    pub instrument_orders_per_second: u32,
    /// Orders in one instrument that may go out at once.
    pub instrument_order_burst: u32,
    /// The loss (realized plus unrealized) that halts trading.
    pub max_daily_loss: Decimal,
    /// How old an instrument's last quote may be for it to trade, in ms.
    pub stale_quote_ms: u64,
}

impl RiskLimits {
    /// The largest `max_open_orders` there may be.
    pub const MAX_OPEN_ORDERS: usize = 100_000;

    /// Every value out of range and every pair of limits that contradict
    /// each other, as `(key, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let mut at_least = |key: &'static str, value: i128, min: i128| {
            if value < min {
                problems.push((key, format!("must be at least {min}, got {value}")));
            }
        };
        at_least("max_order_qty", self.max_order_qty.into(), 1);
        at_least("price_collar_bps", self.price_collar_bps.into(), 1);
        at_least("max_position", self.max_position.into(), 1);
        at_least("max_open_orders", self.max_open_orders as i128, 1);
        at_least("orders_per_second", self.orders_per_second.into(), 1);
        at_least("order_burst", self.order_burst.into(), 1);
        at_least(
            "instrument_orders_per_second",
            self.instrument_orders_per_second.into(),
            1,
        );
        at_least(
            "instrument_order_burst",
            self.instrument_order_burst.into(),
            1,
        );
        at_least("stale_quote_ms", self.stale_quote_ms.into(), 1);
        for (key, money) in [
            ("max_order_notional", self.max_order_notional),
            ("max_gross_exposure", self.max_gross_exposure),
            ("max_daily_loss", self.max_daily_loss),
        ] {
            if !money.is_positive() {
                problems.push((key, format!("must be greater than 0, got {money}")));
            } else if money.to_units(9).is_none() {
                problems.push((key, format!("{money} has more than 9 decimal places")));
            }
        }
        if self.max_open_orders > Self::MAX_OPEN_ORDERS {
            problems.push((
                "max_open_orders",
                format!(
                    "at most {}, got {}",
                    Self::MAX_OPEN_ORDERS,
                    self.max_open_orders
                ),
            ));
        }
        if self.max_order_qty > self.max_position {
            problems.push((
                "max_order_qty",
                format!(
                    "{} is above max_position ({}): such an order could never pass",
                    self.max_order_qty, self.max_position
                ),
            ));
        }
        if self.max_order_notional.to_f64() > self.max_gross_exposure.to_f64() {
            problems.push((
                "max_order_notional",
                format!(
                    "{} is above max_gross_exposure ({}): such an order could never pass",
                    self.max_order_notional, self.max_gross_exposure
                ),
            ));
        }
        if self.instrument_order_burst > self.order_burst {
            problems.push((
                "instrument_order_burst",
                format!(
                    "{} is above order_burst ({}), which caps it anyway",
                    self.instrument_order_burst, self.order_burst
                ),
            ));
        }
        problems
    }
}
