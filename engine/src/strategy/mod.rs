//! The strategy API: what a quant developer implements, the context the
//! engine gives it, the buffer it writes intents into, the registry that
//! builds one by name from config, and the built-in strategies.
//!
//! A strategy runs on the decide stage's thread, inside its loop: each call
//! must return quickly and must not allocate, lock, block or log. It sees
//! each quote, each execution report of its orders and, if it asks, a
//! timer; it answers by writing intents, which the engine sends through the
//! risk gate.

mod ewma;
mod intents;
mod market_maker;
mod registry;
mod tuning;

pub use ewma::{EwmaCrossover, EwmaParams};
pub use intents::Intents;
pub use market_maker::{MarketMaker, MarketMakerParams};
pub use registry::{parse_params, Factory, Registry, StrategyError, Tuner};
pub use tuning::Tuning;

/// One instrument `X` of unit tick, lot and multiplier around `reference`:
/// the strategies' test market.
#[cfg(test)]
fn one_instrument(reference: &str) -> crate::domain::Instruments {
    crate::domain::Instruments::new(&[crate::domain::InstrumentSpec {
        symbol: "X".into(),
        tick_size: "1".parse().unwrap(),
        lot_size: "1".parse().unwrap(),
        multiplier: "1".parse().unwrap(),
        reference_price: reference.parse().unwrap(),
    }])
    .unwrap()
}

use crate::domain::{ExecReport, InstrumentId, Qty, Quote, Side};
use crate::risk::TradingState;

/// The context of an event at time 0 with `positions`, trading active and
/// the venue up: the strategies' tests' usual case.
#[cfg(test)]
fn active(positions: &[Qty]) -> Context<'_> {
    Context {
        now: 0,
        positions,
        state: TradingState::Active,
        venue_up: true,
    }
}

/// What the engine tells a strategy beside the event.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `clock::ticks()` when the event was taken.
    pub now: u64,
    /// Each instrument's net position, as the engine's fills say.
    pub positions: &'a [Qty],
    /// The trading state (an operator's halt or reduce-only, the daily
    /// loss limit's), which the risk gate applies to every new order.
    pub state: TradingState,
    /// Whether the venue takes orders: while it does not, every new order
    /// comes back refused `VENUE_DOWN`.
    pub venue_up: bool,
}

impl Context<'_> {
    /// The net position in `instrument` (negative is short).
    #[inline]
    pub fn position(&self, instrument: InstrumentId) -> Qty {
        self.positions
            .get(instrument.index())
            .copied()
            .unwrap_or_default()
    }

    /// How much of `wanted` a new order on `side` of `instrument` may ask
    /// for and get past the trading state to the venue now: nothing while
    /// halted or while the venue is down; in reduce-only, what shrinks the
    /// position, nothing on the side that would grow it (the gate also
    /// counts the orders open on that side as filled). A strategy that
    /// asks before it writes an order is spared the refusals, and the
    /// journal their records, for as long as the condition stands.
    #[inline]
    pub fn openable(&self, instrument: InstrumentId, side: Side, wanted: Qty) -> Qty {
        if !self.venue_up {
            return Qty(0);
        }
        match self.state {
            TradingState::Active => wanted,
            TradingState::Halted => Qty(0),
            TradingState::ReduceOnly => {
                let shrinkable = (-side.sign() * self.position(instrument).0).max(0);
                Qty(wanted.0.min(shrinkable))
            }
        }
    }
}

/// A trading strategy. Implement it, register a [`Factory`] under a name in
/// a [`Registry`], and name it in config (`[strategy] name = "..."`).
pub trait Strategy: Send + 'static {
    /// A quote arrived (the engine's market view already includes it).
    fn on_quote(&mut self, quote: &Quote, ctx: &Context<'_>, out: &mut Intents);

    /// An execution report of one of this strategy's orders arrived (the
    /// engine's positions already include it). Reports of orders an
    /// operator's flatten sent come here too, with ids the strategy never
    /// handed out: their fills are in the positions like any other.
    fn on_report(&mut self, report: &ExecReport, ctx: &Context<'_>, out: &mut Intents);

    /// The timer fired; see [`Strategy::timer_interval_ns`].
    fn on_timer(&mut self, ctx: &Context<'_>, out: &mut Intents) {
        let _ = (ctx, out);
    }

    /// How often `on_timer` runs, in nanoseconds; `None` (the default) for
    /// never.
    fn timer_interval_ns(&self) -> Option<u64> {
        None
    }

    /// New parameters from the operator (`PUT /admin/strategy`, SIGHUP),
    /// made by the [`Tuner`] registered with this strategy, so already
    /// checked; they apply from the next event. Returns whether it took
    /// them: the default takes none (parameters fixed at start). Runs on
    /// the decide stage: copy what it needs out of `tuning` and keep no
    /// reference; never allocate.
    fn retune(&mut self, tuning: &Tuning) -> bool {
        let _ = tuning;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{active, Context};
    use crate::domain::{InstrumentId, Qty, Side};
    use crate::risk::TradingState;

    #[test]
    fn openable_follows_the_trading_state_and_the_venue() {
        let short = [Qty(-3)];
        let x = InstrumentId(0);
        let at = |state, venue_up| Context {
            state,
            venue_up,
            ..active(&short)
        };
        let open = |ctx: Context<'_>, side| ctx.openable(x, side, Qty(5)).0;
        let active = at(TradingState::Active, true);
        assert_eq!((open(active, Side::Buy), open(active, Side::Sell)), (5, 5));
        let reducing = at(TradingState::ReduceOnly, true);
        assert_eq!(
            (open(reducing, Side::Buy), open(reducing, Side::Sell)),
            (3, 0),
            "a buy of what it is short, no sell"
        );
        let halted = at(TradingState::Halted, true);
        assert_eq!((open(halted, Side::Buy), open(halted, Side::Sell)), (0, 0));
        let down = at(TradingState::Active, false);
        assert_eq!((open(down, Side::Buy), open(down, Side::Sell)), (0, 0));
        assert_eq!(
            at(TradingState::ReduceOnly, true).openable(InstrumentId(9), Side::Buy, Qty(5)),
            Qty(0),
            "an unknown instrument holds nothing to reduce"
        );
    }
}
