//! The risk gate, check by check: each refusal comes with its code, is
//! counted, and leaves the gate as it was.

use redline_engine::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, InstrumentSpec, Instruments, Intent,
    NewOrder, Price, Qty, Quote, Reject, Side, TimeInForce,
};
use redline_engine::risk::{RiskGate, RiskLimits, TradingState};

/// One tick is worth 1 currency unit per lot (tick 1, lot 1, multiplier 1);
/// the clock runs at 1000 ticks per second.
fn instruments(n: usize) -> Instruments {
    let specs: Vec<InstrumentSpec> = (0..n)
        .map(|i| InstrumentSpec {
            symbol: format!("I{i}"),
            tick_size: "1".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        })
        .collect();
    Instruments::new(&specs).unwrap()
}

fn limits() -> RiskLimits {
    RiskLimits {
        max_order_qty: 10,
        max_order_notional: "2000".parse().unwrap(),
        price_collar_bps: 500,
        max_position: 20,
        max_gross_exposure: "5000".parse().unwrap(),
        max_open_orders: 4,
        orders_per_second: 1000,
        order_burst: 100,
        instrument_orders_per_second: 1000,
        instrument_order_burst: 100,
        max_daily_loss: "500".parse().unwrap(),
        stale_quote_ms: 1000,
    }
}

struct Harness {
    gate: RiskGate,
    next_id: u64,
    now: u64,
}

impl Harness {
    fn new(limits: RiskLimits, n: usize) -> Self {
        let gate = RiskGate::new(&limits, &instruments(n), 1000.0, 0).unwrap();
        let mut harness = Harness {
            gate,
            next_id: 1,
            now: 0,
        };
        for i in 0..n {
            harness.quote(i as u16, 99, 101);
        }
        harness
    }

    fn quote(&mut self, instrument: u16, bid: i64, ask: i64) {
        self.on_quote(instrument, bid, ask);
    }

    /// A quote at `now`; whether a trading day began with it.
    fn on_quote(&mut self, instrument: u16, bid: i64, ask: i64) -> bool {
        self.gate.on_quote(&Quote {
            instrument: InstrumentId(instrument),
            bid: Price(bid),
            ask: Price(ask),
            received: self.now,
            ..Quote::default()
        })
    }

    fn order(
        &mut self,
        instrument: u16,
        side: Side,
        price: i64,
        qty: i64,
    ) -> (NewOrder, Result<(), Reject>) {
        let order = NewOrder {
            id: ClientOrderId(self.next_id),
            instrument: InstrumentId(instrument),
            side,
            price: Price(price),
            qty: Qty(qty),
            tif: TimeInForce::Limit,
        };
        self.next_id += 1;
        (order, self.gate.check(&Intent::New(order), self.now))
    }

    fn send(&mut self, side: Side, price: i64, qty: i64) -> Result<(), Reject> {
        self.order(0, side, price, qty).1
    }

    fn report(&mut self, order: &NewOrder, kind: ExecKind, price: i64, filled: i64) {
        self.gate.on_report(&ExecReport {
            id: order.id,
            instrument: order.instrument,
            side: order.side,
            kind,
            price: Price(price),
            filled: Qty(filled),
            leaves: Qty(0),
        });
    }
}

#[test]
fn an_order_within_every_limit_passes_and_counts_as_open() {
    let mut h = Harness::new(limits(), 1);
    assert_eq!(h.send(Side::Buy, 100, 5), Ok(()));
    assert_eq!(h.gate.open_orders(), 1);
    assert_eq!(h.gate.open_lots(InstrumentId(0)), (5, 0));
    assert_eq!(h.gate.accepted(), 1);
}

#[test]
fn each_check_refuses_with_its_code_and_counts_it() {
    let mut limits = limits();
    limits.max_order_qty = 20;
    let cases = [
        ("too many lots", Side::Buy, 100, 21, Reject::MaxOrderQty),
        (
            "outside the 5% collar",
            Side::Buy,
            106,
            1,
            Reject::PriceCollar,
        ),
        (
            "notional 105 x 20 = 2100 > 2000",
            Side::Sell,
            105,
            20,
            Reject::MaxOrderNotional,
        ),
        ("zero lots", Side::Buy, 100, 0, Reject::InvalidOrder),
    ];
    for (what, side, price, qty, reason) in cases {
        let mut h = Harness::new(limits, 1);
        assert_eq!(h.send(side, price, qty), Err(reason), "{what}");
        assert_eq!(h.gate.rejects(reason), 1, "{what}");
        assert_eq!(h.gate.open_orders(), 0, "{what}: nothing opened");
    }
}

#[test]
fn position_limit_counts_open_orders_as_filled() {
    let mut h = Harness::new(limits(), 1);
    assert_eq!(h.send(Side::Buy, 100, 10), Ok(()));
    assert_eq!(h.send(Side::Buy, 100, 10), Ok(()));
    assert_eq!(
        h.send(Side::Buy, 100, 1),
        Err(Reject::PositionLimit),
        "20 open + 1"
    );
    assert_eq!(
        h.send(Side::Sell, 101, 10),
        Ok(()),
        "selling shrinks the worst case"
    );
}

#[test]
fn gross_exposure_adds_instruments_long_and_short() {
    // 5000 at a mid of 100 is 50 lots across instruments.
    let mut limits = limits();
    limits.max_position = 30;
    limits.max_open_orders = 10;
    let mut h = Harness::new(limits, 3);
    for instrument in 0..2 {
        assert_eq!(h.order(instrument, Side::Buy, 100, 10).1, Ok(()));
        assert_eq!(h.order(instrument, Side::Buy, 100, 10).1, Ok(()));
    }
    assert_eq!(h.order(2, Side::Sell, 100, 10).1, Ok(()), "40 + 10 = 50");
    assert_eq!(h.order(2, Side::Sell, 100, 1).1, Err(Reject::GrossExposure));
}

#[test]
fn open_order_cap_and_self_trade_guard() {
    let mut h = Harness::new(limits(), 1);
    assert_eq!(h.send(Side::Sell, 102, 1), Ok(()));
    assert_eq!(
        h.send(Side::Buy, 102, 1),
        Err(Reject::SelfTrade),
        "would lift our own ask"
    );
    assert_eq!(h.send(Side::Buy, 101, 1), Ok(()));
    assert_eq!(
        h.send(Side::Sell, 101, 1),
        Err(Reject::SelfTrade),
        "would hit our own bid"
    );
    assert_eq!(h.send(Side::Buy, 99, 1), Ok(()));
    assert_eq!(h.send(Side::Buy, 98, 1), Ok(()));
    assert_eq!(h.send(Side::Buy, 97, 1), Err(Reject::MaxOpenOrders));
}

#[test]
fn stale_or_missing_quotes_fail_closed() {
    let mut h = Harness::new(limits(), 2);
    h.now = 1001; // quotes are from 0; 1000 ms = 1000 ticks here
    assert_eq!(h.send(Side::Buy, 100, 1), Err(Reject::StaleMarketData));
    h.quote(0, 99, 101);
    assert_eq!(h.send(Side::Buy, 100, 1), Ok(()));
    let mut never_quoted = RiskGate::new(&limits(), &instruments(1), 1000.0, 0).unwrap();
    let order = NewOrder {
        id: ClientOrderId(1),
        instrument: InstrumentId(0),
        side: Side::Buy,
        price: Price(100),
        qty: Qty(1),
        tif: TimeInForce::Ioc,
    };
    assert_eq!(
        never_quoted.check(&Intent::New(order), 0),
        Err(Reject::StaleMarketData)
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let mut h = Harness::new(limits(), 1);
    let (order, result) = h.order(0, Side::Buy, 100, 1);
    assert_eq!(result, Ok(()));
    assert_eq!(
        h.gate.check(&Intent::New(order), 0),
        Err(Reject::DuplicateOrderId)
    );
}

#[test]
fn the_throttle_refuses_past_the_burst_and_refills() {
    let mut limits = limits();
    limits.order_burst = 2;
    limits.instrument_order_burst = 2;
    limits.orders_per_second = 10; // one per 100 ticks
    limits.instrument_orders_per_second = 10;
    limits.max_open_orders = 10;
    let mut h = Harness::new(limits, 1);
    assert_eq!(h.send(Side::Buy, 100, 1), Ok(()));
    assert_eq!(h.send(Side::Buy, 100, 1), Ok(()));
    assert_eq!(h.send(Side::Buy, 100, 1), Err(Reject::RateThrottle));
    h.now = 100;
    h.quote(0, 99, 101);
    assert_eq!(h.send(Side::Buy, 100, 1), Ok(()));
}

#[test]
fn halted_refuses_new_orders_but_lets_cancels_through() {
    let mut h = Harness::new(limits(), 1);
    let (resting, _) = h.order(0, Side::Buy, 100, 1);
    h.gate.set_state(TradingState::Halted);
    assert_eq!(h.send(Side::Buy, 100, 1), Err(Reject::Halted));
    assert_eq!(h.gate.check(&Intent::Cancel(resting.id), 0), Ok(()));
    assert_eq!(
        h.gate.check(&Intent::Cancel(ClientOrderId(999)), 0),
        Err(Reject::UnknownOrder)
    );
}

#[test]
fn reduce_only_lets_through_only_what_shrinks_the_position() {
    let mut h = Harness::new(limits(), 1);
    let (buy, _) = h.order(0, Side::Buy, 100, 5);
    h.report(&buy, ExecKind::Fill, 100, 5);
    assert_eq!(h.gate.positions()[0], Qty(5));
    h.gate.set_state(TradingState::ReduceOnly);
    assert_eq!(h.send(Side::Buy, 100, 1), Err(Reject::ReduceOnly));
    assert_eq!(
        h.send(Side::Sell, 101, 6),
        Err(Reject::ReduceOnly),
        "would flip short"
    );
    assert_eq!(h.send(Side::Sell, 101, 3), Ok(()));
    assert_eq!(
        h.send(Side::Sell, 101, 3),
        Err(Reject::ReduceOnly),
        "3 open + 3 > 5"
    );
}

#[test]
fn fills_move_position_and_pnl_and_a_deep_loss_halts() {
    let mut h = Harness::new(limits(), 1);
    let (buy, _) = h.order(0, Side::Buy, 100, 10);
    h.report(&buy, ExecKind::PartialFill, 100, 4);
    assert_eq!(h.gate.open_lots(InstrumentId(0)), (6, 0));
    h.report(&buy, ExecKind::Fill, 100, 6);
    assert_eq!(h.gate.open_orders(), 0);
    assert_eq!(h.gate.positions()[0], Qty(10));
    // Bought 10 at 100, mid 100: flat P&L. Mid 90: -100.
    assert_eq!(h.gate.pnl_nanos(), 0);
    h.quote(0, 89, 91);
    assert_eq!(h.gate.pnl_nanos(), -100 * 1_000_000_000);
    assert_eq!(h.gate.state(), TradingState::Active);
    // Mid 49.5 puts the loss past 500.
    h.quote(0, 49, 50);
    assert_eq!(h.gate.state(), TradingState::Halted);
    assert_eq!(h.send(Side::Sell, 50, 1), Err(Reject::Halted));
}

#[test]
fn pnl_splits_into_realized_and_unrealized_by_average_cost() {
    const UNIT: i128 = 1_000_000_000;
    let mut h = Harness::new(limits(), 2);
    let fill = |h: &mut Harness, side: Side, price: i64, qty: i64| {
        let (order, verdict) = h.order(0, side, price, qty);
        assert_eq!(verdict, Ok(()));
        h.report(&order, ExecKind::Fill, price, qty);
    };
    // Long 2 at 100 and 2 at 102: average cost 101.
    fill(&mut h, Side::Buy, 100, 2);
    fill(&mut h, Side::Buy, 102, 2);
    assert_eq!(h.gate.realized_nanos(), 0);
    assert_eq!(h.gate.unrealized_nanos(), -4 * UNIT, "4 lots at mid 100");
    // Sell 3 at 104: 3 x (104 - 101) realized; 1 left at cost 101.
    h.quote(0, 103, 105);
    fill(&mut h, Side::Sell, 104, 3);
    assert_eq!(h.gate.realized_nanos(), 9 * UNIT);
    assert_eq!(h.gate.unrealized_nanos(), 3 * UNIT, "1 lot at mid 104");
    // Sell 3 at 100 flips to short 2: closing the last lot loses 1, the
    // short opens at 100 and the mid moves to 99.5 for +1.
    h.quote(0, 99, 100);
    fill(&mut h, Side::Sell, 100, 3);
    assert_eq!(h.gate.positions()[0], Qty(-2));
    assert_eq!(h.gate.realized_nanos(), 8 * UNIT);
    assert_eq!(h.gate.unrealized_nanos(), UNIT);
    assert_eq!(h.gate.instrument_unrealized_nanos(InstrumentId(0)), UNIT);
    assert_eq!(h.gate.instrument_unrealized_nanos(InstrumentId(1)), 0);
    assert_eq!(h.gate.pnl_nanos(), 9 * UNIT);
    // Two lots short valued at 99.5 each.
    assert_eq!(h.gate.exposure_nanos(InstrumentId(0)), 199 * UNIT);
    // Buying back at 99 realizes 2 x 1 and leaves nothing unrealized.
    fill(&mut h, Side::Buy, 99, 2);
    assert_eq!(h.gate.realized_nanos(), 10 * UNIT);
    assert_eq!(h.gate.unrealized_nanos(), 0);
    assert_eq!(h.gate.exposure_nanos(InstrumentId(0)), 0);
}

#[test]
fn a_cancel_or_reject_releases_the_open_lots() {
    let mut h = Harness::new(limits(), 1);
    let (a, _) = h.order(0, Side::Buy, 100, 7);
    let (b, _) = h.order(0, Side::Sell, 101, 3);
    h.report(&a, ExecKind::Cancelled, 100, 0);
    h.report(&b, ExecKind::Rejected(Reject::InvalidOrder), 101, 0);
    assert_eq!(h.gate.open_lots(InstrumentId(0)), (0, 0));
    assert_eq!(h.gate.open_orders(), 0);
}

#[test]
fn contradicting_limits_are_refused_at_start() {
    let mut bad = limits();
    bad.max_order_qty = 30;
    let err = RiskGate::new(&bad, &instruments(1), 1000.0, 0).unwrap_err();
    assert!(
        err.contains("`max_order_qty`") && err.contains("never pass"),
        "{err}"
    );
}

#[test]
fn new_limits_apply_to_the_next_order_and_the_throttle_keeps_its_tokens() {
    let mut h = Harness::new(limits(), 1);
    assert_eq!(h.send(Side::Buy, 100, 10), Ok(()));
    let tighter = RiskLimits {
        max_order_qty: 5,
        order_burst: 2,
        instrument_order_burst: 2,
        ..limits()
    };
    h.gate.set_limits(&tighter, h.now).unwrap();
    assert_eq!(h.send(Side::Buy, 100, 6), Err(Reject::MaxOrderQty));
    assert_eq!(h.send(Side::Buy, 100, 5), Ok(()));
    assert_eq!(h.send(Side::Buy, 100, 1), Ok(()), "two tokens left");
    assert_eq!(h.send(Side::Buy, 100, 1), Err(Reject::RateThrottle));
    assert!(h.gate.open_orders() == 3);
}

#[test]
fn limits_that_do_not_fit_are_refused_and_change_nothing() {
    let mut h = Harness::new(limits(), 1);
    let more_open = RiskLimits {
        max_open_orders: 5,
        max_order_qty: 1,
        ..limits()
    };
    assert!(h.gate.set_limits(&more_open, 0).is_err(), "room for 4");
    let contradictory = RiskLimits {
        max_order_qty: 30,
        ..limits()
    };
    assert!(h.gate.set_limits(&contradictory, 0).is_err());
    assert_eq!(h.send(Side::Buy, 100, 10), Ok(()), "the old limits hold");
}

#[test]
fn a_closing_order_passes_a_halt_only_if_it_shrinks_the_position() {
    let mut h = Harness::new(limits(), 1);
    let (bought, verdict) = h.order(0, Side::Buy, 100, 3);
    assert_eq!(verdict, Ok(()));
    h.report(&bought, ExecKind::Fill, 100, 3);
    h.gate.set_state(TradingState::Halted);
    assert_eq!(h.send(Side::Sell, 100, 3), Err(Reject::Halted));
    let closing = |id, side, qty| NewOrder {
        id: ClientOrderId(id),
        instrument: InstrumentId(0),
        side,
        price: Price(99),
        qty: Qty(qty),
        tif: TimeInForce::Ioc,
    };
    assert_eq!(
        h.gate.check_closing(&closing(10, Side::Sell, 4), 0),
        Err(Reject::ReduceOnly),
        "past flat"
    );
    assert_eq!(h.gate.check_closing(&closing(11, Side::Sell, 3), 0), Ok(()));
    assert_eq!(h.gate.state(), TradingState::Halted);
    assert_eq!(h.gate.touch(InstrumentId(0)), Some((Price(99), Price(101))));
}

#[test]
fn the_loss_limit_counts_from_the_start_of_the_trading_day() {
    const UNIT: i128 = 1_000_000_000;
    let mut h = Harness::new(limits(), 2);
    // Days begin at tick 1000 and every 10,000 ticks after.
    h.gate.schedule_days(1000, 10_000);
    let (buy, _) = h.order(0, Side::Buy, 100, 10);
    h.report(&buy, ExecKind::Fill, 100, 10);
    // Mid 45: 550 lost today; halted, and a resume cannot lift it.
    h.quote(0, 44, 46);
    assert_eq!(h.gate.day_pnl_nanos(), -550 * UNIT);
    assert_eq!(h.gate.state(), TradingState::Halted);
    h.gate.set_state(TradingState::Active);
    assert_eq!(h.gate.state(), TradingState::Halted, "the same day");

    // The next day begins at the first quote at or past tick 1000: the
    // loss so far is yesterday's. Still halted until someone resumes.
    h.now = 999;
    assert!(!h.on_quote(0, 44, 46));
    h.now = 1000;
    assert!(h.on_quote(0, 44, 46), "a day began");
    assert_eq!(h.gate.day_pnl_nanos(), 0);
    assert_eq!(h.gate.pnl_nanos(), -550 * UNIT, "the P&L itself carries on");
    assert_eq!(h.gate.state(), TradingState::Halted);
    h.gate.set_state(TradingState::Active);
    assert_eq!(h.gate.state(), TradingState::Active);
    // Today's own loss counts from there: 440 more is within 500, 540 not.
    h.quote(0, 0, 2);
    assert_eq!(h.gate.day_pnl_nanos(), -440 * UNIT);
    assert_eq!(h.gate.state(), TradingState::Active);
    let (other, verdict) = h.order(1, Side::Buy, 100, 10);
    assert_eq!(verdict, Ok(()));
    h.report(&other, ExecKind::Fill, 100, 10);
    h.quote(1, 89, 91);
    assert_eq!(h.gate.day_pnl_nanos(), -540 * UNIT);
    assert_eq!(h.gate.state(), TradingState::Halted);

    // Several days later: one start, at the first quote, and the next
    // one still on the day grid.
    h.now = 35_500;
    assert!(h.on_quote(0, 0, 2));
    h.now = 40_999;
    assert!(!h.on_quote(0, 0, 2));
    h.now = 41_000;
    assert!(h.on_quote(0, 0, 2));
}

#[test]
fn a_due_day_waits_until_every_position_is_marked_at_a_quote() {
    // A restart: a position from the journal, marked at the reference
    // price, and a day due at once.
    let mut gate = RiskGate::new(&limits(), &instruments(2), 1000.0, 0).unwrap();
    let order = NewOrder {
        id: ClientOrderId(1),
        instrument: InstrumentId(1),
        side: Side::Buy,
        price: Price(100),
        qty: Qty(5),
        tif: TimeInForce::Limit,
    };
    assert!(gate.reopen(&order));
    gate.replay_report(&ExecReport {
        id: order.id,
        instrument: order.instrument,
        side: order.side,
        kind: ExecKind::Fill,
        price: Price(100),
        filled: Qty(5),
        leaves: Qty(0),
    });
    gate.restore_day_start(-7_000_000_000);
    gate.schedule_days(0, 10_000);
    let quote = |instrument: u16, bid: i64, ask: i64| Quote {
        instrument: InstrumentId(instrument),
        bid: Price(bid),
        ask: Price(ask),
        received: 5,
        ..Quote::default()
    };
    assert_eq!(
        gate.day_pnl_nanos(),
        7_000_000_000,
        "from the journal's day start"
    );
    assert!(
        !gate.on_quote(&quote(0, 99, 101)),
        "instrument 1 unmarked yet"
    );
    assert!(gate.on_quote(&quote(1, 109, 111)));
    assert_eq!(gate.day_pnl_nanos(), 0);
    assert_eq!(gate.pnl_nanos(), 50 * 1_000_000_000, "5 lots up 10");
}
