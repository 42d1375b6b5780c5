//! The simulated venue: fills at the touch up to the size shown, IOC rests
//! cancelled, limit orders resting and filling when crossed or hit at the
//! touch, cancels, latency, fill probabilities, and a full venue.

use redline_engine::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, InstrumentSpec, Instruments, Intent,
    NewOrder, Price, Qty, Quote, Reject, Side, TimeInForce,
};
use redline_engine::venue::{SimVenue, SimVenueConfig, MAX_REPORTS_PER_INTENT};

fn instruments() -> Instruments {
    Instruments::new(&[InstrumentSpec {
        symbol: "X".into(),
        tick_size: "1".parse().unwrap(),
        lot_size: "1".parse().unwrap(),
        multiplier: "1".parse().unwrap(),
        reference_price: "100".parse().unwrap(),
    }])
    .unwrap()
}

/// A venue with 100 ticks of latency on a clock of 1e6 ticks/s (100 us),
/// whose orders resting at the touch are never hit.
fn venue(fill_probability: f64, max_orders: usize) -> SimVenue {
    venue_with(fill_probability, 0.0, max_orders)
}

fn venue_with(fill_probability: f64, touch_fill_probability: f64, max_orders: usize) -> SimVenue {
    let config = SimVenueConfig {
        seed: 1,
        fill_probability,
        latency_us: 100,
        max_orders,
        touch_fill_probability,
    };
    let mut venue = SimVenue::new(&config, &instruments(), 1e6);
    venue.on_quote(&quote(99, 101, 5), usize::MAX, |_| {});
    venue
}

fn quote(bid: i64, ask: i64, size: i64) -> Quote {
    Quote {
        instrument: InstrumentId(0),
        bid: Price(bid),
        ask: Price(ask),
        bid_qty: Qty(size),
        ask_qty: Qty(size),
        ..Quote::default()
    }
}

fn order(id: u64, side: Side, price: i64, qty: i64, tif: TimeInForce) -> Intent {
    Intent::New(NewOrder {
        id: ClientOrderId(id),
        instrument: InstrumentId(0),
        side,
        price: Price(price),
        qty: Qty(qty),
        tif,
    })
}

/// Submits at 0, acts at the latency, returns the reports.
fn run(venue: &mut SimVenue, intent: Intent) -> Vec<ExecReport> {
    let mut reports = Vec::new();
    venue.submit(intent, 0, |r| reports.push(r));
    venue.poll(100, usize::MAX, |r| reports.push(r));
    reports
}

fn kinds(reports: &[ExecReport]) -> Vec<(ExecKind, i64, i64, i64)> {
    reports
        .iter()
        .map(|r| (r.kind, r.price.0, r.filled.0, r.leaves.0))
        .collect()
}

#[test]
fn a_marketable_ioc_fills_at_the_touch_up_to_the_size_shown() {
    let mut v = venue(1.0, 8);
    let reports = run(&mut v, order(1, Side::Buy, 102, 8, TimeInForce::Ioc));
    assert_eq!(
        kinds(&reports),
        [
            (ExecKind::PartialFill, 101, 5, 3),
            (ExecKind::Cancelled, 102, 0, 0)
        ]
    );
    let reports = run(&mut v, order(2, Side::Sell, 99, 2, TimeInForce::Ioc));
    assert_eq!(kinds(&reports), [(ExecKind::Fill, 99, 2, 0)]);
}

#[test]
fn an_ioc_that_does_not_cross_is_cancelled() {
    let mut v = venue(1.0, 8);
    let reports = run(&mut v, order(1, Side::Buy, 100, 1, TimeInForce::Ioc));
    assert_eq!(kinds(&reports), [(ExecKind::Cancelled, 100, 0, 0)]);
    assert_eq!(v.resting(), 0);
}

#[test]
fn a_limit_order_rests_and_fills_at_its_price_when_a_quote_crosses_it() {
    let mut v = venue(1.0, 8);
    let reports = run(&mut v, order(1, Side::Buy, 100, 3, TimeInForce::Limit));
    assert_eq!(kinds(&reports), [(ExecKind::Ack, 100, 0, 3)]);
    assert_eq!(v.resting(), 1);
    let mut fills = Vec::new();
    v.on_quote(&quote(100, 101, 5), usize::MAX, |r| fills.push(r));
    assert!(fills.is_empty(), "ask 101 does not cross a bid at 100");
    v.on_quote(&quote(99, 100, 5), usize::MAX, |r| fills.push(r));
    assert_eq!(kinds(&fills), [(ExecKind::Fill, 100, 3, 0)]);
    assert_eq!(v.resting(), 0);
}

#[test]
fn orders_resting_at_or_inside_the_touch_are_hit_by_other_flow() {
    let mut v = venue_with(0.0, 1.0, 8);
    run(&mut v, order(1, Side::Buy, 99, 3, TimeInForce::Limit));
    run(&mut v, order(2, Side::Buy, 98, 3, TimeInForce::Limit));
    run(&mut v, order(3, Side::Sell, 100, 7, TimeInForce::Limit));
    let mut fills = Vec::new();
    // Bid 99 x 2, offer 101 x 5: order 1 is at the bid (2 shown), order 3
    // inside the offer, order 2 behind the bid.
    let mut book = quote(99, 101, 5);
    book.bid_qty = Qty(2);
    v.on_quote(&book, usize::MAX, |r| fills.push(r));
    fills.sort_by_key(|r| r.id);
    assert_eq!(
        kinds(&fills),
        [
            (ExecKind::PartialFill, 99, 2, 1),
            (ExecKind::PartialFill, 100, 5, 2)
        ]
    );
    assert_eq!(v.resting(), 3, "partly filled orders keep resting");
    fills.clear();
    v.on_quote(&quote(99, 101, 5), usize::MAX, |r| fills.push(r));
    fills.sort_by_key(|r| r.id);
    assert_eq!(
        kinds(&fills),
        [(ExecKind::Fill, 99, 1, 0), (ExecKind::Fill, 100, 2, 0)]
    );
    assert_eq!(v.resting(), 1, "the bid behind the touch still rests");

    let mut never = venue_with(1.0, 0.0, 8);
    run(&mut never, order(1, Side::Buy, 99, 1, TimeInForce::Limit));
    fills.clear();
    for _ in 0..100 {
        never.on_quote(&quote(99, 101, 5), usize::MAX, |r| fills.push(r));
    }
    assert!(fills.is_empty(), "no touch fills at probability 0");
}

#[test]
fn cancels_take_resting_orders_off_and_refuse_unknown_ones() {
    let mut v = venue(1.0, 8);
    run(&mut v, order(1, Side::Sell, 105, 1, TimeInForce::Limit));
    let reports = run(&mut v, Intent::Cancel(ClientOrderId(1)));
    assert_eq!(kinds(&reports), [(ExecKind::Cancelled, 105, 0, 0)]);
    let reports = run(&mut v, Intent::Cancel(ClientOrderId(1)));
    assert_eq!(
        reports[0].kind,
        ExecKind::CancelRejected(Reject::UnknownOrder)
    );
}

#[test]
fn nothing_happens_before_the_latency_has_passed() {
    let mut v = venue(1.0, 8);
    let mut reports = Vec::new();
    v.submit(order(1, Side::Buy, 102, 1, TimeInForce::Ioc), 0, |r| {
        reports.push(r)
    });
    assert_eq!(v.poll(99, usize::MAX, |r| reports.push(r)), 0);
    assert!(reports.is_empty());
    assert_eq!(v.poll(100, usize::MAX, |r| reports.push(r)), 1);
    assert_eq!(reports.len(), 1);
}

#[test]
fn fill_probability_decides_how_often_a_marketable_order_fills() {
    let mut never = venue(0.0, 8);
    let reports = run(&mut never, order(1, Side::Buy, 101, 1, TimeInForce::Ioc));
    assert_eq!(reports[0].kind, ExecKind::Cancelled);
    let mut half = venue(0.5, 8);
    let fills = (1..=2000)
        .filter(|&id| {
            run(&mut half, order(id, Side::Buy, 101, 1, TimeInForce::Ioc))[0].kind == ExecKind::Fill
        })
        .count();
    assert!(
        (800..1200).contains(&fills),
        "about half of 2000 filled: {fills}"
    );
}

#[test]
fn a_full_venue_rejects_new_orders_at_once() {
    let mut v = venue(1.0, 2);
    run(&mut v, order(1, Side::Buy, 90, 1, TimeInForce::Limit));
    run(&mut v, order(2, Side::Buy, 91, 1, TimeInForce::Limit));
    let mut reports = Vec::new();
    v.submit(order(3, Side::Buy, 92, 1, TimeInForce::Limit), 0, |r| {
        reports.push(r)
    });
    assert_eq!(reports[0].kind, ExecKind::Rejected(Reject::VenueBusy));
    let cancel = run(&mut v, Intent::Cancel(ClientOrderId(1)));
    assert_eq!(
        cancel[0].kind,
        ExecKind::Cancelled,
        "cancels still get through"
    );
}

#[test]
fn the_venue_answers_no_more_than_its_caller_has_room_for() {
    let mut v = venue(1.0, 8);
    for id in 1..=3 {
        v.submit(order(id, Side::Buy, 102, 8, TimeInForce::Ioc), 0, |_| {});
    }
    // Each of these answers with a partial fill and a cancel.
    let mut reports = Vec::new();
    let room = MAX_REPORTS_PER_INTENT + 1;
    assert_eq!(v.poll(100, room, |r| reports.push(r)), 2, "one intent fits");
    assert_eq!(v.poll(100, 4, |r| reports.push(r)), 4, "the others wait");
    assert_eq!(reports.len(), 6);
    assert_eq!(v.poll(100, usize::MAX, |r| reports.push(r)), 0);

    for id in 10..13 {
        run(&mut v, order(id, Side::Buy, 100, 1, TimeInForce::Limit));
    }
    let mut fills = Vec::new();
    let crossing = quote(99, 100, 5);
    assert_eq!(v.on_quote(&crossing, 2, |r| fills.push(r)), 2);
    assert_eq!(v.resting(), 1, "the third fills on a later quote");
    assert_eq!(v.on_quote(&crossing, 2, |r| fills.push(r)), 1);
    assert_eq!(v.resting(), 0);
}
