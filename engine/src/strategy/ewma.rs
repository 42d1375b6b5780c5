//! The signal strategy: a crossover of a fast and a slow exponentially
//! weighted moving average of each instrument's mid. When the fast one
//! crosses above the slow one it buys, below it sells, with IOC orders at
//! the touch, within a position limit of its own, and only what the
//! trading state lets through (nothing halted or while the venue is down,
//! only what shrinks the position in reduce-only).
//!
//! The averages are fixed point (the mid in half-ticks, shifted left 16
//! bits) with weights of `2^-shift`, so the arithmetic is integer shifts
//! and adds: deterministic and float-free on the hot path.

use serde::Deserialize;

use super::registry::parse_params;
use super::{Context, Intents, Strategy, Tuning};
use crate::domain::{ExecReport, Instruments, Qty, Quote, Side, TimeInForce};

/// `[strategy.params]` of `ewma-crossover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EwmaParams {
    /// The fast average weighs each quote `2^-fast_shift`; 1 to 23.
    pub fast_shift: u32,
    /// The slow average, likewise; more than `fast_shift`, at most 24. The
    /// strategy trades only after `2^slow_shift` quotes of an instrument.
    pub slow_shift: u32,
    /// Lots per order; at least 1.
    pub qty: i64,
    /// The net position, long or short, it will not go past; at least `qty`.
    pub max_position: i64,
}

impl EwmaParams {
    fn check(&self) -> Result<(), String> {
        if !(1..=23).contains(&self.fast_shift) {
            return Err(format!(
                "`fast_shift` must be 1 to 23, got {}",
                self.fast_shift
            ));
        }
        if self.slow_shift <= self.fast_shift || self.slow_shift > 24 {
            return Err(format!(
                "`slow_shift` must be more than `fast_shift` ({}) and at most 24, got {}",
                self.fast_shift, self.slow_shift
            ));
        }
        if self.qty < 1 {
            return Err(format!("`qty` must be at least 1, got {}", self.qty));
        }
        if self.max_position < self.qty {
            return Err(format!(
                "`max_position` must be at least `qty` ({}), got {}",
                self.qty, self.max_position
            ));
        }
        Ok(())
    }
}

/// One instrument's averages.
#[derive(Debug, Clone, Copy, Default)]
struct Lane {
    fast: i64,
    slow: i64,
    seen: u64,
    /// Whether fast was above slow at the last quote after warm-up.
    above: Option<bool>,
}

/// The EWMA crossover strategy.
#[derive(Debug)]
pub struct EwmaCrossover {
    params: EwmaParams,
    lanes: Box<[Lane]>,
}

impl EwmaCrossover {
    /// The strategy over `instruments`.
    ///
    /// # Errors
    ///
    /// When the parameters contradict each other.
    pub fn new(params: EwmaParams, instruments: &Instruments) -> Result<Self, String> {
        params.check()?;
        Ok(EwmaCrossover {
            params,
            lanes: vec![Lane::default(); instruments.len()].into_boxed_slice(),
        })
    }

    /// The registry's tuner: new parameters, checked as at start.
    pub fn tuner(params: &toml::Table, _: &Instruments) -> Result<Tuning, String> {
        let params: EwmaParams = parse_params(params)?;
        params.check()?;
        Ok(Tuning::new(params))
    }

    /// The registry's factory.
    pub fn factory(
        params: &toml::Table,
        instruments: &Instruments,
    ) -> Result<Box<dyn Strategy>, String> {
        Ok(Box::new(EwmaCrossover::new(
            parse_params(params)?,
            instruments,
        )?))
    }
}

impl Strategy for EwmaCrossover {
    fn retune(&mut self, tuning: &Tuning) -> bool {
        match tuning.get::<EwmaParams>() {
            Some(params) => {
                self.params = *params;
                true
            }
            None => false,
        }
    }

    fn on_quote(&mut self, quote: &Quote, ctx: &Context<'_>, out: &mut Intents) {
        let Some(lane) = self.lanes.get_mut(quote.instrument.index()) else {
            return;
        };
        let x = quote.mid_x2() << 16;
        if lane.seen == 0 {
            (lane.fast, lane.slow) = (x, x);
        } else {
            lane.fast += (x - lane.fast) >> self.params.fast_shift;
            lane.slow += (x - lane.slow) >> self.params.slow_shift;
        }
        lane.seen += 1;
        if lane.seen < 1 << self.params.slow_shift || lane.fast == lane.slow {
            return;
        }
        let above = lane.fast > lane.slow;
        let crossed = lane.above.is_some_and(|was| was != above);
        lane.above = Some(above);
        if !crossed {
            return;
        }
        let position = ctx.position(quote.instrument).0;
        let (qty, max) = (self.params.qty, self.params.max_position);
        let (side, price, within) = if above {
            (Side::Buy, quote.ask, position + qty <= max)
        } else {
            (Side::Sell, quote.bid, position - qty >= -max)
        };
        let qty = ctx.openable(quote.instrument, side, Qty(qty));
        if within && qty.0 > 0 {
            out.new_order(quote.instrument, side, price, qty, TimeInForce::Ioc);
        }
    }

    fn on_report(&mut self, _: &ExecReport, _: &Context<'_>, _: &mut Intents) {
        // IOC orders need no follow-up; positions come from the context.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InstrumentId, Intent, Price};
    use crate::risk::TradingState;

    fn instruments() -> Instruments {
        super::super::one_instrument("1000")
    }

    fn quote(bid: i64) -> Quote {
        Quote {
            instrument: InstrumentId(0),
            bid: Price(bid),
            ask: Price(bid + 1),
            bid_qty: Qty(1),
            ask_qty: Qty(1),
            ..Quote::default()
        }
    }

    fn params() -> EwmaParams {
        EwmaParams {
            fast_shift: 1,
            slow_shift: 3,
            qty: 2,
            max_position: 3,
        }
    }

    /// Feeds `bids` and returns each intent with the quote that caused it,
    /// the position held at `position`.
    fn run(strategy: &mut EwmaCrossover, bids: &[i64], position: i64) -> Vec<(Quote, Intent)> {
        let positions = [Qty(position)];
        let ctx = super::super::active(&positions);
        let mut out = Intents::with_capacity(8);
        let mut all = Vec::new();
        for &bid in bids {
            let quote = quote(bid);
            strategy.on_quote(&quote, &ctx, &mut out);
            all.extend(out.drain().map(|intent| (quote, intent)));
        }
        all
    }

    #[test]
    fn buys_at_the_ask_on_a_cross_up_and_sells_at_the_bid_on_a_cross_down() {
        let mut s = EwmaCrossover::new(params(), &instruments()).unwrap();
        // Warm up falling (fast below slow), then rise: one buy.
        let falling: Vec<i64> = (0..16).map(|i| 1000 - i).collect();
        assert!(
            run(&mut s, &falling, 0).is_empty(),
            "no trade while warming up or without a cross"
        );
        let rising: Vec<i64> = (0..8).map(|i| 990 + 4 * i).collect();
        let buys = run(&mut s, &rising, 0);
        assert_eq!(buys.len(), 1, "{buys:?}");
        let (at, Intent::New(order)) = buys[0] else {
            panic!("{buys:?}")
        };
        assert_eq!(
            (order.side, order.qty, order.tif),
            (Side::Buy, Qty(2), TimeInForce::Ioc)
        );
        assert_eq!(order.price, at.ask, "a buy takes the ask");
        let falling: Vec<i64> = (0..8).map(|i| 1010 - 5 * i).collect();
        let sells = run(&mut s, &falling, 2);
        assert_eq!(sells.len(), 1, "{sells:?}");
        let (at, Intent::New(order)) = sells[0] else {
            panic!("{sells:?}")
        };
        assert_eq!(
            (order.side, order.price),
            (Side::Sell, at.bid),
            "a sell takes the bid"
        );
    }

    #[test]
    fn stays_within_its_position_limit() {
        let mut s = EwmaCrossover::new(params(), &instruments()).unwrap();
        let falling: Vec<i64> = (0..16).map(|i| 1000 - i).collect();
        run(&mut s, &falling, 0);
        let rising: Vec<i64> = (0..8).map(|i| 990 + 4 * i).collect();
        // Long 2 already: another 2 would make 4 > 3.
        assert!(run(&mut s, &rising, 2).is_empty());
    }

    #[test]
    fn sends_only_what_the_trading_state_lets_through() {
        let falling: Vec<i64> = (0..16).map(|i| 1000 - i).collect();
        let rising: Vec<i64> = (0..8).map(|i| 990 + 4 * i).collect();
        let cross_up = |state, position| {
            let mut s = EwmaCrossover::new(params(), &instruments()).unwrap();
            let positions = [Qty(position)];
            let ctx = Context {
                state,
                ..super::super::active(&positions)
            };
            let mut out = Intents::with_capacity(8);
            for bid in falling.iter().chain(&rising) {
                s.on_quote(&quote(*bid), &ctx, &mut out);
            }
            let orders: Vec<Intent> = out.drain().collect();
            orders
        };
        assert!(cross_up(TradingState::Halted, 0).is_empty());
        assert!(cross_up(TradingState::ReduceOnly, 0).is_empty(), "flat");
        let covering = cross_up(TradingState::ReduceOnly, -1);
        let [Intent::New(order)] = covering[..] else {
            panic!("{covering:?}")
        };
        assert_eq!((order.side, order.qty), (Side::Buy, Qty(1)), "of 2 wanted");
    }

    #[test]
    fn contradictory_parameters_are_refused_by_name() {
        let mut bad = params();
        bad.slow_shift = 1;
        let err = EwmaCrossover::new(bad, &instruments()).unwrap_err();
        assert!(err.contains("`slow_shift`"), "{err}");
    }
}
