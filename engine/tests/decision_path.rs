//! The decision path end to end, through the wiring the binary uses: the
//! market maker trades against the simulated venue behind the risk gate in
//! both topologies; the audit stream agrees with the gate, loses nothing
//! when full, and is the same for the same seeds in simulated time; the
//! strategy hears of every refusal and cannot loop on them, and its timer
//! keeps its interval; the risk snapshot it publishes matches the gate.

mod support;

use redline_engine::audit::{AuditEvent, AuditRecord, AuditStats, Digest};
use redline_engine::domain::{
    ExecKind, ExecReport, InstrumentId, Price, Qty, Quote, Reject, Side, TimeInForce,
};
use redline_engine::path::{TimeSource, MAX_INTENTS, RECORDS_PER_EVENT};
use redline_engine::stage::Stage;
use redline_engine::strategy::{Context, Intents, Strategy};
use support::*;

/// Runs the fused path in simulated time over `quotes` quotes; returns the
/// audit stream's digest and stats, and the gate's positions.
fn simulated_run(feed_seed: u64, venue_seed: u64, quotes: u64) -> (Digest, AuditStats, Vec<i64>) {
    let (parts, counters) = parts(feed_seed, venue_seed, 100_000, TimeSource::Simulated, 0);
    let (mut path, mut ring) = parts.fused(&sizes(1 << 12));
    let mut digest = Digest::default();
    let mut stats = AuditStats::new(8, 1.0);
    let (mut next, mut records) = (0, Vec::new());
    while counters.quotes() < quotes {
        path.poll();
        drain(&mut ring, &mut next, &mut records);
        for record in records.drain(..) {
            digest.absorb(&record);
            stats.absorb(&record);
        }
    }
    let gate = path.decide().gate();
    let limits = limits();
    assert!(gate.open_orders() <= limits.max_open_orders);
    let positions: Vec<i64> = gate.positions().iter().map(|q| q.0).collect();
    assert!(positions.iter().all(|p| p.abs() <= limits.max_position));
    (digest, stats, positions)
}

#[test]
fn the_fused_path_trades_and_its_audit_stream_agrees_with_the_gate() {
    let (_, stats, positions) = simulated_run(42, 7, 200_000);
    assert!(stats.orders_sent > 1000, "{stats:?}");
    assert!(stats.cancels_sent > 100, "{stats:?}");
    assert!(stats.acks > 100 && stats.fills > 100, "{stats:?}");
    assert!(stats.decisions >= stats.orders_sent + stats.cancels_sent);
    assert_eq!(
        stats.positions, positions,
        "fills in the stream = the gate's"
    );
    assert!(positions.iter().any(|&p| p != 0));
}

#[test]
fn the_same_seeds_give_the_same_decisions_in_simulated_time() {
    let (a, stats, _) = simulated_run(42, 7, 100_000);
    let (b, _, _) = simulated_run(42, 7, 100_000);
    assert!(a.records() > 10_000, "{stats:?}");
    assert_eq!(a, b, "same config and seeds, same audit stream");
    let (other_market, _, _) = simulated_run(43, 7, 100_000);
    let (other_fills, _, _) = simulated_run(42, 8, 100_000);
    assert_ne!(a.value(), other_market.value());
    assert_ne!(a.value(), other_fills.value());
}

#[test]
fn the_pipeline_loses_nothing_with_tiny_rings_on_one_thread() {
    let (parts, counters) = parts(42, 7, 0, TimeSource::Wall, redline_engine::clock::ticks());
    let tiny = redline_engine::path::RingSizes {
        quotes: 16,
        orders: MAX_INTENTS,
        reports: 8,
        audit: 256,
    };
    let (mut pipeline, [mut decide_ring, mut gateway_ring]) = parts.pipeline(&tiny);
    let mut stats = AuditStats::new(8, 1.0);
    let (mut decide_next, mut gateway_next, mut records) = (0, 0, Vec::new());
    let mut take = |decide_ring: &mut _, gateway_ring: &mut _, stats: &mut AuditStats| {
        drain(decide_ring, &mut decide_next, &mut records);
        drain(gateway_ring, &mut gateway_next, &mut records);
        records.drain(..).for_each(|r| stats.absorb(&r));
    };
    let mut polls = 0;
    while counters.quotes() < 20_000 {
        pipeline.feed.poll();
        pipeline.decide.poll();
        pipeline.gateway.poll();
        take(&mut decide_ring, &mut gateway_ring, &mut stats);
        polls += 1;
        assert!(polls < 1_000_000, "the pipeline makes progress");
    }
    // Stop the market and let orders and reports settle: every order that
    // passed the gate reaches the venue.
    for _ in 0..10_000 {
        pipeline.decide.poll();
        pipeline.gateway.poll();
        take(&mut decide_ring, &mut gateway_ring, &mut stats);
    }
    assert!(stats.orders_sent > 100, "{stats:?}");
    let passed = stats.decisions - stats.rejects.iter().take(13).sum::<u64>();
    assert_eq!(passed, stats.orders_sent + stats.cancels_sent, "{stats:?}");
    let gate = pipeline.decide.decide.gate();
    let positions: Vec<i64> = gate.positions().iter().map(|q| q.0).collect();
    assert_eq!(stats.positions, positions);
    // An idle decide stage has published the gate's state as it is now.
    let risk = counters.risk().expect("a whole snapshot");
    let published: Vec<i64> = risk.instruments.iter().map(|i| i.position).collect();
    assert_eq!(published, positions);
    assert_eq!(i128::from(risk.pnl_nanos()), gate.pnl_nanos());
    assert_eq!(i128::from(risk.realized_nanos), gate.realized_nanos());
    assert_eq!(risk.open_orders, gate.open_orders() as u64);
    for (index, instrument) in risk.instruments.iter().enumerate() {
        let id = InstrumentId(index as u16);
        assert_eq!(
            (instrument.open_buy, instrument.open_sell),
            gate.open_lots(id)
        );
        assert_eq!(
            i128::from(instrument.exposure_nanos),
            gate.exposure_nanos(id)
        );
    }
}

#[test]
fn a_full_audit_ring_holds_the_path_back_and_drops_nothing() {
    let (parts, counters) = parts(42, 7, 100_000, TimeSource::Simulated, 0);
    let audit = (RECORDS_PER_EVENT * 2).next_power_of_two();
    let (mut path, mut ring) = parts.fused(&sizes(audit));
    for _ in 0..1000 {
        path.poll();
    }
    let stuck = counters.quotes();
    assert!(counters.audit_waits() > 0, "it waited for room");
    assert!(
        stuck < 1000,
        "no quote was taken without room for its records"
    );
    for _ in 0..100 {
        path.poll();
    }
    assert_eq!(counters.quotes(), stuck, "still waiting");
    let (mut next, mut records) = (0, Vec::new());
    while counters.quotes() < 20_000 {
        path.poll();
        drain(&mut ring, &mut next, &mut records);
    }
    assert!(records.len() as u64 == next && next > 1000);
}

/// Sends an order far too large on each quote, and again on each refusal.
struct Stubborn {
    refusals: u64,
    not_sent: u64,
}

impl Stubborn {
    fn order(&mut self, out: &mut Intents) {
        let id = out.new_order(
            InstrumentId(0),
            Side::Buy,
            Price(4000),
            Qty(1000),
            TimeInForce::Ioc,
        );
        if id.is_none() {
            self.not_sent += 1;
        }
    }
}

impl Strategy for Stubborn {
    fn on_quote(&mut self, _: &Quote, _: &Context<'_>, out: &mut Intents) {
        self.order(out);
    }

    fn on_report(&mut self, report: &ExecReport, _: &Context<'_>, out: &mut Intents) {
        if report.kind == ExecKind::Rejected(Reject::MaxOrderQty) {
            self.refusals += 1;
            self.order(out);
        }
    }
}

#[test]
fn the_strategy_hears_of_each_refusal_and_one_event_makes_at_most_max_intents() {
    // The strategy lives inside the path; read what it heard back from the
    // audit stream, which records each refusal it was told of.
    let strategy = Box::new(Stubborn {
        refusals: 0,
        not_sent: 0,
    });
    let (parts, counters) = parts_with(strategy, 42, 7, 100_000, TimeSource::Simulated, 0);
    let (mut path, mut ring) = parts.fused(&sizes(1 << 12));
    let (mut next, mut records) = (0, Vec::new());
    while counters.quotes() < 10 {
        path.poll();
        drain(&mut ring, &mut next, &mut records);
    }
    drain(&mut ring, &mut next, &mut records);
    let refused = |r: &AuditRecord| {
        matches!(
            r.event,
            AuditEvent::Refused {
                reason: Reject::MaxOrderQty,
                ..
            }
        )
    };
    assert_eq!(records.len(), records.iter().filter(|r| refused(r)).count());
    assert_eq!(records.len() as u64, counters.quotes() * MAX_INTENTS as u64);
}

/// Sends one IOC buy on each timer tick, every millisecond.
struct Ticker;

impl Strategy for Ticker {
    fn on_quote(&mut self, _: &Quote, _: &Context<'_>, _: &mut Intents) {}

    fn on_report(&mut self, _: &ExecReport, _: &Context<'_>, _: &mut Intents) {}

    fn on_timer(&mut self, _: &Context<'_>, out: &mut Intents) {
        out.new_order(
            InstrumentId(0),
            Side::Buy,
            Price(4000),
            Qty(1),
            TimeInForce::Ioc,
        );
    }

    fn timer_interval_ns(&self) -> Option<u64> {
        Some(1_000_000)
    }
}

#[test]
fn the_strategy_timer_fires_once_each_interval_in_simulated_time() {
    let (parts, counters) = parts_with(Box::new(Ticker), 42, 7, 100_000, TimeSource::Simulated, 0);
    let (mut path, mut ring) = parts.fused(&sizes(1 << 12));
    let (mut next, mut records) = (0, Vec::new());
    // 10,000 quotes at 100,000 a second: 100 ms of simulated time.
    while counters.quotes() < 10_000 {
        path.poll();
        drain(&mut ring, &mut next, &mut records);
    }
    let timer_decisions = records
        .iter()
        .filter(|r| match r.event {
            AuditEvent::Passed { stamps, .. } | AuditEvent::Refused { stamps, .. } => {
                stamps.trigger == redline_engine::audit::Trigger::Timer
            }
            _ => false,
        })
        .count();
    assert!(
        (98..=101).contains(&timer_decisions),
        "one a millisecond: {timer_decisions}"
    );
}
