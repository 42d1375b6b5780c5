//! The FIX gateway allocates when it is made and never after: with a
//! counting global allocator (per thread: the stand-in venue's own thread
//! is not counted), after a warm-up its submits and polls carry 4 000
//! orders and their cancels, fills, acknowledgements and refusals, and a
//! dropped connection that it makes again and logs on over, checking its
//! open orders against the venue's at each logon, while it keeps its
//! sequence numbers, orders and reports in a session file, and allocate
//! nothing.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use redline_engine::clock;
use redline_engine::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, Intent, NewOrder, Price, Qty, Side,
    TimeInForce,
};
use redline_engine::venue::fix::{
    FixConfig, FixVenue, LinkCount, SequenceNumbers, SessionConfig, SessionFile, StandInVenue,
    STATUS_MISMATCHES,
};
use redline_engine::venue::SimVenueConfig;
use support::alloc::{allocations, counting, Counting};
use support::instruments;

#[global_allocator]
static GLOBAL: Counting = Counting;

const ORDERS: u64 = 4_000;
const WARM_UP: u64 = 200;

/// Polls until `done`, at most 10 s; reports go to `reports` (sized
/// beforehand, so pushing never allocates).
fn poll_until(
    gateway: &mut FixVenue,
    reports: &mut Vec<ExecReport>,
    mut done: impl FnMut(&FixVenue, &[ExecReport]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(gateway, reports) {
        assert!(
            Instant::now() < deadline,
            "not within 10 s: {:?}",
            gateway.stats().read()
        );
        let room = reports.capacity() - reports.len();
        gateway.poll(clock::ticks(), room, |r| reports.push(r));
        thread::sleep(Duration::from_micros(50));
    }
}

#[test]
fn the_fix_gateway_sends_and_reads_without_allocating() {
    let instruments = instruments();
    let market = StandInVenue::market_at_references(&instruments, 100);
    let venue = StandInVenue::start(
        "127.0.0.1:0".parse().unwrap(),
        SessionConfig {
            sender_comp_id: "VENUE".into(),
            target_comp_id: "REDLINE".into(),
            heartbeat_s: 30,
            answer_timeout_ms: 5_000,
            credentials: None,
        },
        &SimVenueConfig {
            seed: 3,
            fill_probability: 1.0,
            latency_us: 0,
            max_orders: 1_024,
            touch_fill_probability: 0.0,
        },
        &instruments,
        &market,
    )
    .unwrap();
    let config = FixConfig {
        connect: venue.address().to_string(),
        sender_comp_id: "REDLINE".into(),
        target_comp_id: "VENUE".into(),
        heartbeat_s: 30,
        answer_timeout_ms: 5_000,
        reconnect_min_ms: 10,
        reconnect_max_ms: 100,
        max_orders: 64,
        buffer_bytes: 1 << 16,
        username: String::new(),
        password_file: Default::default(),
        password_env: String::new(),
        sequence_numbers: SequenceNumbers::Keep,
        check_orders: true,
    };
    let numbers = tempfile::tempdir().unwrap();
    let mut gateway = FixVenue::new(&config, None, &instruments).unwrap();
    gateway.keep_session(
        SessionFile::open(&numbers.path().join("fix.session"), 1, 64).unwrap(),
        true,
    );
    let mut reports = Vec::with_capacity(4 * ORDERS as usize);
    poll_until(&mut gateway, &mut reports, |g, _| g.is_active());
    let run = |gateway: &mut FixVenue, reports: &mut Vec<ExecReport>, from: u64, to: u64| {
        for id in from..to {
            let instrument = InstrumentId((id % instruments.len() as u64) as u16);
            let reference = instruments.get(instrument).reference.0;
            // Every other order crosses the market and fills; the rest
            // rest and are cancelled.
            let crosses = id % 2 == 0;
            let order = NewOrder {
                id: ClientOrderId(id),
                instrument,
                side: Side::Buy,
                price: Price(if crosses {
                    reference + 1
                } else {
                    reference - 5
                }),
                qty: Qty(1),
                tif: if crosses {
                    TimeInForce::Ioc
                } else {
                    TimeInForce::Limit
                },
            };
            gateway.submit(Intent::New(order), clock::ticks(), |r| reports.push(r));
            let seen = reports.len();
            poll_until(gateway, reports, |_, r| r.len() > seen);
            if !crosses {
                gateway.submit(Intent::Cancel(order.id), clock::ticks(), |r| {
                    reports.push(r)
                });
            }
            if id == (from + to) / 2 {
                // Halfway, the venue drops the line; the gateway comes back.
                venue.drop_connection();
                let downs = gateway.stats().read().get(LinkCount::Disconnects);
                poll_until(gateway, reports, |g, _| {
                    g.stats().read().get(LinkCount::Disconnects) > downs
                });
                poll_until(gateway, reports, |g, _| g.is_active());
            }
        }
        poll_until(gateway, reports, |g, _| g.open_orders() == 0);
        // The check of the last logon is answered.
        let logons = gateway.stats().read().get(LinkCount::Logons);
        poll_until(gateway, reports, |g, _| {
            g.stats().read().get(LinkCount::StatusChecks) == logons
        });
    };
    run(&mut gateway, &mut reports, 1, 1 + WARM_UP);
    reports.clear();
    counting(true);
    run(
        &mut gateway,
        &mut reports,
        1 + WARM_UP,
        1 + WARM_UP + ORDERS,
    );
    counting(false);
    let fills = reports.iter().filter(|r| r.kind == ExecKind::Fill).count();
    let cancels = reports
        .iter()
        .filter(|r| r.kind == ExecKind::Cancelled)
        .count();
    assert_eq!(allocations(), 0, "allocator calls on the gateway's thread");
    let stats = gateway.stats().read();
    assert_eq!(
        stats.get(LinkCount::Logons),
        3,
        "first, warm-up's, the counted one's"
    );
    assert_eq!((fills as u64, cancels as u64), (ORDERS / 2, ORDERS / 2));
    // Each logon checked the open orders against the venue's word, and
    // they agreed.
    assert_eq!(stats.get(LinkCount::StatusChecks), 3, "{stats:?}");
    for count in STATUS_MISMATCHES {
        assert_eq!(stats.get(count), 0, "{count:?}");
    }
    drop(gateway);
    let kept = SessionFile::open(&numbers.path().join("fix.session"), 1, 64).unwrap();
    assert_eq!(
        kept.found().map(|n| (n.next_out, n.next_in)),
        Some((stats.next_out, stats.next_in)),
        "the file holds where the session is"
    );
}
