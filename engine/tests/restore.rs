//! Restarting from the journal: a run's audit stream, folded into a fresh
//! gate, rebuilds the gate the run ended with (positions, realized P&L,
//! open orders, the order-id floor, the trading state); a drain's halt is
//! not carried into the next run, an operator's halt is; a gate with less
//! room than the journal needs makes room; the last trading
//! day start is kept, with when it began; positions are marked at their
//! last trade until quoted, and until every held instrument is quoted only
//! orders that shrink a position pass and the loss check waits; a restore
//! resumed from a checkpoint rebuilds the same gate as one that folds
//! every entry.

mod support;

use redline_engine::audit::{
    AuditEvent, AuditRecord, Checkpoint, JournalEntry, Restored, Restorer, RESTART_WRITER,
};
use redline_engine::command::{ActionKind, Outcome};
use redline_engine::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, InstrumentSpec, Instruments, Intent,
    NewOrder, Price, Qty, Quote, Reject, Side, TimeInForce,
};
use redline_engine::path::TimeSource;
use redline_engine::risk::{RiskGate, TradingState};
use redline_engine::stage::Stage;
use support::*;

/// Runs the fused path in simulated time over `quotes` quotes; returns its
/// audit stream and the gate it ended with.
fn run(quotes: u64) -> (Vec<AuditRecord>, RiskGate) {
    let (parts, counters) = parts(42, 7, 100_000, TimeSource::Simulated, 0);
    let (mut path, mut ring) = parts.fused(&sizes(1 << 12));
    let (mut next, mut records) = (0, Vec::new());
    while counters.quotes() < quotes {
        path.poll();
        drain(&mut ring, &mut next, &mut records);
    }
    (records, path.decide().gate().clone())
}

fn fresh_gate() -> RiskGate {
    RiskGate::new(&limits(), &instruments(), TICKS_PER_SECOND, 0).unwrap()
}

/// The records as journal entries, numbered from `first`.
fn entries(records: &[AuditRecord], first: u64) -> impl Iterator<Item = (u64, JournalEntry)> + '_ {
    (first..).zip(records.iter().map(|&record| JournalEntry {
        writer: 0,
        wall_ns: 0,
        record,
    }))
}

fn restore(records: &[AuditRecord]) -> (RiskGate, Restored) {
    let mut gate = fresh_gate();
    let mut restorer = Restorer::new(&mut gate);
    entries(records, 0).for_each(|(seq, e)| restorer.apply(seq, &e));
    let restored = restorer.finish();
    (gate, restored)
}

#[test]
fn the_stream_rebuilds_the_gate_the_run_ended_with() {
    let (records, original) = run(100_000);
    let (gate, restored) = restore(&records);
    assert_eq!(restored.entries, records.len() as u64);
    assert_eq!(restored.dropped, 0);
    assert_eq!(gate.positions(), original.positions());
    assert!(gate.positions().iter().any(|p| p.0 != 0), "it traded");
    assert_eq!(gate.realized_nanos(), original.realized_nanos());
    let ids = |g: &RiskGate| {
        let mut ids: Vec<(ClientOrderId, i64)> =
            g.orders().iter().map(|o| (o.id, o.leaves)).collect();
        ids.sort();
        ids
    };
    assert!(original.open_orders() > 0, "orders rest at the end");
    assert_eq!(ids(&gate), ids(&original));
    assert!(gate.last_id() >= original.last_id());
    for instrument in 0..8 {
        let id = redline_engine::domain::InstrumentId(instrument);
        assert_eq!(gate.open_lots(id), original.open_lots(id));
    }
    assert_eq!(gate.state(), original.state());
}

fn state_change(seq: u64, to: TradingState) -> AuditRecord {
    AuditRecord {
        seq,
        event: AuditEvent::State {
            from: TradingState::Active,
            to,
            at: seq,
        },
    }
}

fn command(seq: u64, action: ActionKind) -> AuditRecord {
    AuditRecord {
        seq,
        event: AuditEvent::Command {
            id: 1,
            issuer: 0,
            action,
            at: seq,
        },
    }
}

#[test]
fn an_operators_halt_is_carried_into_the_next_run_and_a_drains_is_not() {
    let halted = [state_change(0, TradingState::Halted)];
    assert_eq!(restore(&halted).0.state(), TradingState::Halted);

    // Reduce-only, then a drain (which halts) ends the run cleanly.
    let drained = [
        state_change(0, TradingState::ReduceOnly),
        command(1, ActionKind::Drain),
        state_change(2, TradingState::Halted),
        AuditRecord {
            seq: 3,
            event: AuditEvent::Finished {
                id: 1,
                outcome: Outcome::Done,
                at: 3,
            },
        },
    ];
    assert_eq!(restore(&drained).0.state(), TradingState::ReduceOnly);
    // A next run that halts and is killed: halted.
    let mut next_run = drained.to_vec();
    next_run.push(state_change(0, TradingState::Halted));
    assert_eq!(restore(&next_run).0.state(), TradingState::Halted);
}

#[test]
fn a_gate_with_less_room_than_the_journal_needs_makes_room_and_loses_no_fill() {
    let (records, original) = run(100_000);
    let mut small = limits();
    small.max_open_orders = 1;
    let mut gate = RiskGate::new(&small, &instruments(), TICKS_PER_SECOND, 0).unwrap();
    let mut restorer = Restorer::new(&mut gate);
    entries(&records, 0).for_each(|(seq, e)| restorer.apply(seq, &e));
    let restored = restorer.finish();
    assert_eq!(restored.dropped, 0);
    assert!(restored.peak_open > 1);
    assert_eq!(
        gate.positions(),
        original.positions(),
        "no fill went missing"
    );
    assert_eq!(gate.open_orders(), original.open_orders());
    assert!(gate.open_orders() > 1);
    // Room grew; the limit in force is still one open order.
    assert!(gate.open_capacity() >= gate.open_orders());
}

#[test]
fn the_last_trading_day_start_is_restored_with_when_it_began() {
    let (records, _) = run(20_000);
    let (_, before) = restore(&records);
    assert_eq!(
        before.day_began_wall_ns,
        Some(0),
        "no day start: the first entry's"
    );
    let seq = records.last().unwrap().seq + 1;
    let day = AuditRecord {
        seq,
        event: AuditEvent::DayStarted {
            pnl_nanos: -1_234_000_000_000,
            at: 0,
        },
    };
    let mut gate = fresh_gate();
    let mut restorer = Restorer::new(&mut gate);
    entries(&records, 0).for_each(|(seq, e)| restorer.apply(seq, &e));
    restorer.apply(
        records.len() as u64,
        &JournalEntry {
            writer: 0,
            wall_ns: 5_000,
            record: day,
        },
    );
    let restored = restorer.finish();
    assert_eq!(restored.day_began_wall_ns, Some(5_000));
    assert_eq!(
        gate.day_pnl_nanos(),
        gate.pnl_nanos() + 1_234_000_000_000,
        "the day counts from the P&L it began with"
    );
}

#[test]
fn positions_are_marked_at_their_last_trade_until_quoted() {
    let (records, original) = run(20_000);
    let (gate, _) = restore(&records);
    let mut checked = 0;
    for (index, position) in gate.positions().iter().enumerate() {
        let id = InstrumentId(index as u16);
        let last_trade = records.iter().rev().find_map(|r| match r.event {
            AuditEvent::Report { report, .. }
                if report.instrument == id
                    && matches!(report.kind, ExecKind::Fill | ExecKind::PartialFill) =>
            {
                Some(report.price)
            }
            _ => None,
        });
        let (Some(price), true) = (last_trade, position.0 != 0) else {
            continue;
        };
        // Exposure is |position| x mid x value: the ratio of the two
        // gates' is that of the two marks.
        let (bid, ask) = original.touch(id).unwrap();
        let restored = gate.exposure_nanos(id) * i128::from(bid.0 + ask.0);
        let expected = original.exposure_nanos(id) * i128::from(2 * price.0);
        assert_eq!(restored, expected, "instrument {index}");
        checked += 1;
    }
    assert!(checked > 0, "some position to check");
}

fn quote_at(instrument: u16, bid: i64, received: u64) -> Quote {
    Quote {
        instrument: InstrumentId(instrument),
        bid: Price(bid),
        bid_qty: Qty(10),
        ask: Price(bid + 1),
        ask_qty: Qty(10),
        seq: 0,
        received,
    }
}

fn ioc(id: u64, instrument: u16, side: Side, price: i64, qty: i64) -> Intent {
    Intent::New(NewOrder {
        id: ClientOrderId(id),
        instrument: InstrumentId(instrument),
        side,
        price: Price(price),
        qty: Qty(qty),
        tif: TimeInForce::Ioc,
    })
}

/// A gate as a restart from a checkpoint builds it, holding +5 lots of
/// instrument 0 (bought at 4001 ticks) and -5 of instrument 1 (sold at
/// 4400), with a daily loss limit of `max_loss` (12.5 a tick a lot).
fn restarted_holding_two(max_loss: &str) -> RiskGate {
    let limits = redline_engine::risk::RiskLimits {
        max_daily_loss: max_loss.parse().unwrap(),
        ..limits()
    };
    let mut before = RiskGate::new(&limits, &instruments(), TICKS_PER_SECOND, 0).unwrap();
    before.on_quote(&quote_at(0, 4000, 1));
    before.on_quote(&quote_at(1, 4399, 1));
    for (id, instrument, side, price) in [(1, 0, Side::Buy, 4001), (2, 1, Side::Sell, 4399)] {
        assert_eq!(
            before.check(&ioc(id, instrument, side, price, 5), 1),
            Ok(())
        );
        before.on_report(&ExecReport {
            id: ClientOrderId(id),
            instrument: InstrumentId(instrument),
            side,
            kind: ExecKind::Fill,
            price: Price(price),
            filled: Qty(5),
            leaves: Qty(0),
        });
    }
    let mut gate = RiskGate::new(&limits, &instruments(), TICKS_PER_SECOND, 0).unwrap();
    gate.load_ledger(&before.ledger()).unwrap();
    assert!(gate.await_marks(), "two positions, no quote yet");
    gate
}

#[test]
fn until_every_held_instrument_is_quoted_only_orders_that_shrink_a_position_pass() {
    let mut gate = restarted_holding_two("1000000");
    let now = 10;
    gate.on_quote(&quote_at(0, 4000, now));
    gate.on_quote(&quote_at(2, 4800, now));
    assert!(gate.awaiting_marks(), "instrument 1 is not quoted yet");
    // Adding to a held position, or opening one, waits.
    assert_eq!(
        gate.check(&ioc(10, 0, Side::Buy, 4001, 1), now),
        Err(Reject::UnmarkedPositions)
    );
    assert_eq!(
        gate.check(&ioc(11, 2, Side::Buy, 4801, 1), now),
        Err(Reject::UnmarkedPositions)
    );
    // Shrinking one passes.
    assert_eq!(gate.check(&ioc(12, 0, Side::Sell, 4000, 2), now), Ok(()));
    assert_eq!(gate.rejects(Reject::UnmarkedPositions), 2);
    gate.on_quote(&quote_at(1, 4399, now));
    assert!(!gate.awaiting_marks());
    assert_eq!(gate.check(&ioc(13, 2, Side::Buy, 4801, 1), now), Ok(()));

    // A restart holding nothing waits for nothing.
    let (mut flat, _) = restore(&[]);
    assert!(!flat.awaiting_marks());
    flat.on_quote(&quote_at(2, 4800, now));
    assert_eq!(flat.check(&ioc(1, 2, Side::Buy, 4801, 1), now), Ok(()));
    // A journal's restore waits as a checkpoint's does.
    let (records, _) = run(20_000);
    let (restored, _) = restore(&records);
    assert!(restored.positions().iter().any(|p| p.0 != 0));
    assert!(restored.awaiting_marks());
}

#[test]
fn the_loss_check_waits_for_every_mark_and_then_judges_them_all() {
    // Instrument 0 falls 100 ticks (5 lots: 6,250 of loss against a limit
    // of 1,000) before instrument 1 is quoted: no halt on half the marks.
    let mut gate = restarted_holding_two("1000");
    gate.on_quote(&quote_at(0, 3900, 10));
    assert_eq!(gate.state(), TradingState::Active);
    // It comes back before the last mark: still no halt, a loss that was
    // never known to be one did not stick until a new day.
    gate.on_quote(&quote_at(0, 4000, 11));
    gate.on_quote(&quote_at(1, 4399, 12));
    assert!(!gate.awaiting_marks());
    assert_eq!(gate.state(), TradingState::Active);

    // Had it not come back, the last mark halts.
    let mut gate = restarted_holding_two("1000");
    gate.on_quote(&quote_at(0, 3900, 10));
    gate.on_quote(&quote_at(1, 4399, 11));
    assert_eq!(gate.state(), TradingState::Halted);
}

/// Restores `records` from a checkpoint taken after the first `split` of
/// them (passed through its bytes), folding the rest after it.
fn restore_from_checkpoint(records: &[AuditRecord], split: usize) -> (RiskGate, Restored) {
    let mut shadow = fresh_gate();
    let mut restorer = Restorer::new(&mut shadow);
    entries(&records[..split], 0).for_each(|(seq, e)| restorer.apply(seq, &e));
    let bytes = restorer.checkpoint(split as u64).encode();
    let checkpoint = Checkpoint::decode(&bytes).unwrap();
    assert_eq!(checkpoint.next_seq, split as u64);
    let mut gate = fresh_gate();
    let mut restorer = Restorer::new(&mut gate);
    restorer.resume(&checkpoint).unwrap();
    entries(&records[split..], split as u64).for_each(|(seq, e)| restorer.apply(seq, &e));
    let restored = restorer.finish();
    (gate, restored)
}

/// What a restart trades on: the two gates must agree on all of it.
fn same_restore(a: &(RiskGate, Restored), b: &(RiskGate, Restored), at: usize) {
    let ((a, ra), (b, rb)) = (a, b);
    assert_eq!(ra, rb, "split at {at}");
    assert_eq!(a.positions(), b.positions(), "split at {at}");
    assert_eq!(a.realized_nanos(), b.realized_nanos(), "split at {at}");
    assert_eq!(a.pnl_nanos(), b.pnl_nanos(), "split at {at}");
    assert_eq!(a.day_pnl_nanos(), b.day_pnl_nanos(), "split at {at}");
    assert_eq!(a.orders(), b.orders(), "split at {at}");
    assert_eq!(a.last_id(), b.last_id(), "split at {at}");
    assert_eq!(a.state(), b.state(), "split at {at}");
    for instrument in 0..8 {
        let id = InstrumentId(instrument);
        assert_eq!(a.open_lots(id), b.open_lots(id), "split at {at}");
        assert_eq!(a.exposure_nanos(id), b.exposure_nanos(id), "split at {at}");
    }
}

#[test]
fn a_restore_resumed_from_a_checkpoint_equals_one_that_folds_everything() {
    let (mut records, _) = run(40_000);
    // A drain across the split and a day start: the restorer's own state
    // must cross it too.
    let n = records.len() as u64;
    records.push(state_change(n, TradingState::ReduceOnly));
    records.push(command(n + 1, ActionKind::Drain));
    records.push(state_change(n + 2, TradingState::Halted));
    records.push(AuditRecord {
        seq: n + 3,
        event: AuditEvent::DayStarted {
            pnl_nanos: -7_000_000_000,
            at: 0,
        },
    });
    // The next run begins: it trades under the state before the drain.
    records.push(command(0, ActionKind::CancelAll));
    let whole = restore(&records);
    assert_eq!(whole.0.state(), TradingState::ReduceOnly);
    assert!(whole.0.positions().iter().any(|p| p.0 != 0), "it traded");
    assert!(whole.0.open_orders() > 0, "orders were open");
    let len = records.len();
    for split in [0, 1, len / 3, len / 2, len - 3, len - 2, len] {
        same_restore(&whole, &restore_from_checkpoint(&records, split), split);
    }
}

#[test]
fn a_checkpoint_of_other_instruments_is_refused_and_changes_nothing() {
    let (records, _) = run(20_000);
    let mut shadow = fresh_gate();
    let mut restorer = Restorer::new(&mut shadow);
    entries(&records, 0).for_each(|(seq, e)| restorer.apply(seq, &e));
    let checkpoint = restorer.checkpoint(records.len() as u64);

    let mut specs: Vec<InstrumentSpec> = instruments().iter().map(|i| i.spec.clone()).collect();
    specs[3].multiplier = "20".parse().unwrap();
    let other = Instruments::new(&specs).unwrap();
    let mut gate = RiskGate::new(&limits(), &other, TICKS_PER_SECOND, 0).unwrap();
    let mut restorer = Restorer::new(&mut gate);
    let err = restorer.resume(&checkpoint).unwrap_err();
    assert!(err.contains("instrument 3"), "{err}");
    let restored = restorer.finish();
    assert_eq!(restored.entries, 0);
    assert!(gate.positions().iter().all(|p| p.0 == 0));
    assert_eq!(gate.open_orders(), 0);

    let fewer = Instruments::new(&specs[..7]).unwrap();
    let mut gate = RiskGate::new(&limits(), &fewer, TICKS_PER_SECOND, 0).unwrap();
    let err = Restorer::new(&mut gate).resume(&checkpoint).unwrap_err();
    assert!(err.contains("8 instruments"), "{err}");
}

#[test]
fn the_last_runs_reports_are_counted_from_its_first_record_whatever_the_clock_did() {
    let (records, _) = run(20_000);
    let reports = |records: &[AuditRecord]| {
        records
            .iter()
            .filter(|r| matches!(r.event, AuditEvent::Report { .. }))
            .count() as u64
    };
    assert!(reports(&records) > 0, "it traded");
    // Two runs, each numbering its records from 0; the second taken at
    // wall times before the first's (the clock was stepped back between
    // them). The gateway's records (writer 1) do not begin a run.
    let second = &records[..records.len() / 3];
    let wall = |run: u64, i: usize| run + i as u64;
    let stream = records
        .iter()
        .enumerate()
        .map(|(i, &record)| (0, wall(1_000_000, i), record))
        .chain(
            second
                .iter()
                .enumerate()
                .map(|(i, &record)| (0, wall(500, i), record)),
        )
        .chain(std::iter::once((
            1,
            900,
            AuditRecord {
                seq: 0,
                event: records[1].event,
            },
        )));
    let mut gate = fresh_gate();
    let mut restorer = Restorer::new(&mut gate);
    for (seq, (writer, wall_ns, record)) in (0..).zip(stream) {
        restorer.apply(
            seq,
            &JournalEntry {
                writer,
                wall_ns,
                record,
            },
        );
    }
    let run = restorer.finish().run;
    assert_eq!(run.began_entry, Some(records.len() as u64));
    assert_eq!(run.reports, reports(second));
}

/// Folds `(writer, record seq, is a report)` entries, numbered from 0, and
/// returns what the restore holds of the last run's reports.
fn run_reports(stream: &[(u8, u64, bool)]) -> redline_engine::audit::RunReports {
    let (records, _) = run(2_000);
    let report = records
        .iter()
        .find(|r| matches!(r.event, AuditEvent::Report { .. }))
        .expect("it traded")
        .event;
    let other = AuditEvent::State {
        from: TradingState::Active,
        to: TradingState::Active,
        at: 0,
    };
    let mut gate = fresh_gate();
    let mut restorer = Restorer::new(&mut gate);
    for (entry, &(writer, seq, is_report)) in (0..).zip(stream) {
        let event = if is_report { report } else { other };
        restorer.apply(
            entry,
            &JournalEntry {
                writer,
                wall_ns: 0,
                record: AuditRecord { seq, event },
            },
        );
    }
    restorer.finish().run
}

#[test]
fn the_reports_from_where_a_run_or_a_start_began_count_what_starts_took_back_too() {
    const R: u8 = RESTART_WRITER;
    // A run (entries 0-2), then one killed before its first record (its
    // file says it began at entry 3); a start took back 2 of its reports
    // (entries 3-5: an order's record, then the reports) and was killed
    // before its run began; the next start took back one more (6-7).
    let stream = [
        (0, 0, false),
        (0, 1, true),
        (0, 2, true),
        (R, 0, false),
        (R, 1, true),
        (R, 2, true),
        (R, 0, true),
        (R, 1, false),
    ];
    let run = run_reports(&stream);
    assert_eq!(run.began_entry, Some(0));
    assert_eq!(
        run.reports_from(0),
        5,
        "the run's own and those taken back after"
    );
    assert_eq!(
        run.reports_from(3),
        3,
        "the killed run's, taken back by two starts"
    );
    assert_eq!(run.reports_from(6), 1, "the last start's");
    assert_eq!(run.reports_from(8), 0, "a run that began after all of them");
    // The killed run had written records: its count holds the starts'.
    let mut stream = stream.to_vec();
    stream.splice(3..3, [(0, 0, true), (0, 1, false)]);
    let run = run_reports(&stream);
    assert_eq!(run.began_entry, Some(3));
    assert_eq!(run.reports_from(3), 4);
    assert!(run.starts.iter().all(|s| s.began_entry >= 5), "{run:?}");
    // A journal with no run yet.
    assert_eq!(
        run_reports(&[(R, 0, true), (R, 1, true)]).reports_from(0),
        2
    );
}
