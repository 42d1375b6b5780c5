//! The decision path as the tests build it: eight instruments, the market
//! maker, the risk gate and the simulated venue, through the same wiring
//! the binary uses.

#![allow(dead_code)]

pub mod alloc;

use std::sync::Arc;

use redline_engine::audit::AuditRecord;
use redline_engine::command::{command_ring, CommandSender};
use redline_engine::domain::{InstrumentSpec, Instruments};
use redline_engine::feed::{Feed, SyntheticConfig, SyntheticFeed};
use redline_engine::path::{PathCounters, PathParts, RingSizes, TimeSource};
use redline_engine::ring;
use redline_engine::risk::{RiskGate, RiskLimits};
use redline_engine::strategy::{Registry, Strategy, Tuning};
use redline_engine::venue::{SimVenue, SimVenueConfig, Venue};

/// The clock rate the tests pretend: one tick per nanosecond.
pub const TICKS_PER_SECOND: f64 = 1e9;

pub fn instruments() -> Instruments {
    let specs: Vec<InstrumentSpec> = (0..8)
        .map(|i| InstrumentSpec {
            symbol: format!("I{i}"),
            tick_size: "0.25".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "50".parse().unwrap(),
            reference_price: format!("{}", 1000 + 100 * i).parse().unwrap(),
        })
        .collect();
    Instruments::new(&specs).unwrap()
}

pub fn limits() -> RiskLimits {
    RiskLimits {
        max_order_qty: 10,
        max_order_notional: "5000000".parse().unwrap(),
        price_collar_bps: 100,
        max_position: 20,
        max_gross_exposure: "50000000".parse().unwrap(),
        max_open_orders: 64,
        orders_per_second: 50_000,
        order_burst: 1000,
        instrument_orders_per_second: 10_000,
        instrument_order_burst: 200,
        max_daily_loss: "1000000".parse().unwrap(),
        stale_quote_ms: 1000,
    }
}

pub fn venue_config(seed: u64) -> SimVenueConfig {
    SimVenueConfig {
        seed,
        fill_probability: 0.3,
        latency_us: 50,
        max_orders: 1024,
        touch_fill_probability: 0.05,
    }
}

pub fn market_maker(instruments: &Instruments) -> Box<dyn Strategy> {
    Registry::with_builtins()
        .build("market-maker", &market_maker_params(1), instruments)
        .unwrap()
}

/// The market maker's parameters, quoting `half_spread_ticks` from the mid.
pub fn market_maker_params(half_spread_ticks: i64) -> toml::Table {
    toml::from_str(&format!(
        "half_spread_ticks = {half_spread_ticks}\nqty = 1\nskew_ticks_per_lot = 1\n\
         max_position = 5\nrequote_ticks = 2"
    ))
    .unwrap()
}

/// New parameters for the running market maker, as the control side makes
/// them.
pub fn market_maker_tuning(half_spread_ticks: i64) -> Tuning {
    Registry::with_builtins()
        .tune(
            "market-maker",
            &market_maker_params(half_spread_ticks),
            &instruments(),
        )
        .unwrap()
}

/// The feed at `rate` quotes a second (0: burst) from `seed`.
pub fn feed(instruments: &Instruments, seed: u64, rate: u64, now: u64) -> Feed {
    let config = SyntheticConfig {
        seed,
        rate,
        spread_ticks: 2,
        max_step_ticks: 1,
        size_lots: 10,
    };
    Feed::Synthetic(SyntheticFeed::new(
        instruments,
        &config,
        now,
        TICKS_PER_SECOND,
    ))
}

/// The parts of a path with `strategy`, starting at `now`.
pub fn parts_with(
    strategy: Box<dyn Strategy>,
    feed_seed: u64,
    venue_seed: u64,
    rate: u64,
    time: TimeSource,
    now: u64,
) -> (PathParts, Arc<PathCounters>) {
    let (parts, counters, _) = commanded(strategy, feed_seed, venue_seed, rate, time, now);
    (parts, counters)
}

/// The parts of a path with `strategy`, starting at `now`, and the
/// operator's end of its command ring.
pub fn commanded(
    strategy: Box<dyn Strategy>,
    feed_seed: u64,
    venue_seed: u64,
    rate: u64,
    time: TimeSource,
    now: u64,
) -> (PathParts, Arc<PathCounters>, CommandSender) {
    let instruments = instruments();
    let counters = Arc::new(PathCounters::new(
        instruments.len(),
        limits().max_open_orders,
    ));
    let (commander, commands) = command_ring();
    let parts = PathParts {
        feed: feed(&instruments, feed_seed, rate, now),
        strategy,
        gate: RiskGate::new(&limits(), &instruments, TICKS_PER_SECOND, now).unwrap(),
        venue: Venue::Sim(SimVenue::new(
            &venue_config(venue_seed),
            &instruments,
            TICKS_PER_SECOND,
        )),
        counters: Arc::clone(&counters),
        commands,
        time,
        now,
        ticks_per_second: TICKS_PER_SECOND,
    };
    (parts, counters, commander)
}

/// The market maker's path.
pub fn parts(
    feed_seed: u64,
    venue_seed: u64,
    rate: u64,
    time: TimeSource,
    now: u64,
) -> (PathParts, Arc<PathCounters>) {
    parts_with(
        market_maker(&instruments()),
        feed_seed,
        venue_seed,
        rate,
        time,
        now,
    )
}

pub fn sizes(audit: usize) -> RingSizes {
    RingSizes {
        quotes: 1024,
        orders: 1024,
        reports: 2048,
        audit,
    }
}

/// Takes every record in `ring`, checking that the sequence numbers go on
/// from `next` with no gap.
pub fn drain(ring: &mut ring::Consumer<AuditRecord>, next: &mut u64, out: &mut Vec<AuditRecord>) {
    while let Some(record) = ring.pop() {
        assert_eq!(record.seq, *next, "no record lost or repeated");
        *next += 1;
        out.push(record);
    }
}
