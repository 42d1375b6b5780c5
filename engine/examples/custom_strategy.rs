// cargo run -p redline-engine --example custom_strategy
//
//! How to write a strategy of your own and register it by name.
//!
//! A strategy implements [`Strategy`]: it sees each quote and each report of
//! its orders and answers by writing intents into the engine's buffer. It
//! must not allocate, lock, block or log in those calls; do any allocation
//! in its factory. The factory turns the `[strategy.params]` table of the
//! config into the strategy, refusing bad parameters with a message that
//! names the key. Registered under a name, it is chosen in config with
//! `[strategy] name = "breakout"`.
//!
//! Registered with a tuner as well, its parameters may change while it
//! runs (`PUT /admin/strategy`, SIGHUP): the tuner checks a new table on the
//! control side and wraps it in a [`Tuning`]; `retune` copies what it needs
//! out of it on the decide stage, or refuses it.
//!
//! This example registers a breakout strategy, builds it by name as the
//! engine does, drives it with the synthetic feed, and retunes it.

use redline_engine::domain::{
    ExecReport, InstrumentSpec, Instruments, Intent, Price, Qty, Quote, Side, TimeInForce,
};
use redline_engine::feed::{SyntheticConfig, SyntheticFeed};
use redline_engine::risk::TradingState;
use redline_engine::strategy::{parse_params, Context, Intents, Registry, Strategy, Tuning};
use serde::Deserialize;

/// Its parameters, as `[strategy.params]` gives them.
#[derive(Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakoutParams {
    /// Quotes in the look-back window.
    window: usize,
    /// Lots per order.
    qty: i64,
}

/// Buys when the bid breaks above the highest bid of the last `window`
/// quotes of its instrument, sells when it breaks below the lowest.
struct Breakout {
    qty: i64,
    /// Per instrument: a ring of recent bids, allocated once in the factory.
    recent: Vec<Vec<i64>>,
    next: Vec<usize>,
    seen: Vec<usize>,
}

impl Breakout {
    fn factory(
        params: &toml::Table,
        instruments: &Instruments,
    ) -> Result<Box<dyn Strategy>, String> {
        let params = Breakout::check(params)?;
        Ok(Box::new(Breakout {
            qty: params.qty,
            recent: vec![vec![0; params.window]; instruments.len()],
            next: vec![0; instruments.len()],
            seen: vec![0; instruments.len()],
        }))
    }

    /// New parameters for a running breakout, checked as at start.
    fn tuner(params: &toml::Table, _: &Instruments) -> Result<Tuning, String> {
        Ok(Tuning::new(Breakout::check(params)?))
    }

    fn check(params: &toml::Table) -> Result<BreakoutParams, String> {
        let params: BreakoutParams = parse_params(params)?;
        if params.window < 2 {
            return Err(format!(
                "`window` must be at least 2, got {}",
                params.window
            ));
        }
        Ok(params)
    }
}

impl Strategy for Breakout {
    fn on_quote(&mut self, quote: &Quote, ctx: &Context<'_>, out: &mut Intents) {
        let i = quote.instrument.index();
        let window = &mut self.recent[i];
        let full = self.seen[i] >= window.len();
        let (high, low) = (window.iter().max().copied(), window.iter().min().copied());
        let position = ctx.position(quote.instrument).0;
        let signal = if full && Some(quote.bid.0) > high && position <= 0 {
            Some((Side::Buy, quote.ask))
        } else if full && Some(quote.bid.0) < low && position >= 0 {
            Some((Side::Sell, quote.bid))
        } else {
            None
        };
        if let Some((side, price)) = signal {
            // Ask first what the trading state (a halt, reduce-only) and
            // the venue let through: an order that would only come back
            // refused is not written.
            let qty = ctx.openable(quote.instrument, side, Qty(self.qty));
            if qty.0 > 0 {
                out.new_order(quote.instrument, side, price, qty, TimeInForce::Ioc);
            }
        }
        window[self.next[i]] = quote.bid.0;
        self.next[i] = (self.next[i] + 1) % window.len();
        self.seen[i] += 1;
    }

    fn on_report(&mut self, _: &ExecReport, _: &Context<'_>, _: &mut Intents) {}

    fn retune(&mut self, tuning: &Tuning) -> bool {
        match tuning.get::<BreakoutParams>() {
            // The windows were sized at start; a new size takes a restart,
            // so it is refused rather than half applied.
            Some(params) if params.window == self.recent[0].len() => {
                self.qty = params.qty;
                true
            }
            _ => false,
        }
    }
}

fn main() {
    let instruments = Instruments::new(&[InstrumentSpec {
        symbol: "ESZ6".into(),
        tick_size: "0.25".parse().unwrap(),
        lot_size: "1".parse().unwrap(),
        multiplier: "50".parse().unwrap(),
        reference_price: "6000.00".parse().unwrap(),
    }])
    .expect("a valid instrument");

    // Register it beside the built-ins, then build it by name, as the
    // engine does with `[strategy] name = "breakout"`.
    let mut registry = Registry::with_builtins();
    registry.register_tunable("breakout", Breakout::factory, Breakout::tuner);
    let params: toml::Table = toml::from_str("window = 20\nqty = 1\n").unwrap();
    let mut strategy = registry
        .build("breakout", &params, &instruments)
        .unwrap_or_else(|err| panic!("{err}"));

    // Drive it with 10,000 quotes of the synthetic feed.
    let feed_config = SyntheticConfig {
        seed: 7,
        rate: 0,
        spread_ticks: 1,
        max_step_ticks: 2,
        size_lots: 10,
    };
    let mut feed = SyntheticFeed::new(&instruments, &feed_config, 0, 1e9);
    let mut intents = Intents::with_capacity(16);
    let positions = [Qty(0)];
    let mut orders = 0;
    let es = instruments.get(redline_engine::domain::InstrumentId(0));
    feed.poll(0, 10_000, |quote| {
        let ctx = Context {
            now: quote.received,
            positions: &positions,
            state: TradingState::Active,
            venue_up: true,
        };
        strategy.on_quote(&quote, &ctx, &mut intents);
        for intent in intents.drain() {
            if let Intent::New(order) = intent {
                orders += 1;
                if orders <= 5 {
                    println!(
                        "order {}: {:?} {} {} at {}",
                        order.id.0,
                        order.side,
                        es.quantity(order.qty),
                        es.spec.symbol,
                        es.price(Price(order.price.0))
                    );
                }
            }
        }
    });
    println!("{orders} orders from 10000 quotes");

    // Retune it, as `PUT /admin/strategy {"qty": 2}` does.
    let tune = |text: &str| {
        let params: toml::Table = toml::from_str(text).unwrap();
        registry.tune("breakout", &params, &instruments).unwrap()
    };
    assert!(strategy.retune(&tune("window = 20\nqty = 2\n")));
    assert!(!strategy.retune(&tune("window = 30\nqty = 2\n")));
    println!("retuned to 2 lots an order; a new window is refused");
}
