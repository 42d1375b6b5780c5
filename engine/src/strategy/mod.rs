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

use crate::domain::{ExecReport, InstrumentId, Qty, Quote};

/// What the engine tells a strategy beside the event.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `clock::ticks()` when the event was taken.
    pub now: u64,
    /// Each instrument's net position, as the engine's fills say.
    pub positions: &'a [Qty],
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
