//! The operator's commands through the command ring, as the decide stage
//! takes them in the fused path (simulated time): halt stops new orders
//! and resume starts them again; new limits apply from the next order;
//! cancel-all ends every order open when it came; flatten leaves every
//! position flat and trading halted; drain leaves nothing open and refuses
//! what follows. Each command is in the audit stream with how it ended;
//! a request the control plane refused is recorded and changes nothing.

mod support;

use redline_engine::audit::{AuditEvent, AuditRecord, Trigger};
use redline_engine::command::{Action, ActionKind, Command, CommandSender, Outcome};
use redline_engine::domain::{ExecKind, ExecReport, Intent, Qty, Quote, Reject, Side, TimeInForce};
use redline_engine::path::{FusedPath, PathCounters, TimeSource};
use redline_engine::ring;
use redline_engine::risk::TradingState;
use redline_engine::stage::Stage;
use redline_engine::strategy::{Context, Intents, Registry, Strategy};
use std::sync::Arc;
use support::*;

/// The fused path and the operator's end of it.
struct Desk {
    path: FusedPath,
    audit: ring::Consumer<AuditRecord>,
    commander: CommandSender,
    counters: Arc<PathCounters>,
    next_seq: u64,
    next_id: u64,
    /// Every record so far.
    records: Vec<AuditRecord>,
}

impl Desk {
    fn new() -> Self {
        Desk::with(market_maker(&instruments()))
    }

    fn with(strategy: Box<dyn Strategy>) -> Self {
        let (parts, counters, commander) =
            commanded(strategy, 42, 7, 100_000, TimeSource::Simulated, 0);
        let (path, audit) = parts.fused(&sizes(1 << 14));
        Desk {
            path,
            audit,
            commander,
            counters,
            next_seq: 0,
            next_id: 1,
            records: Vec::new(),
        }
    }

    fn poll(&mut self) {
        self.path.poll();
        drain(&mut self.audit, &mut self.next_seq, &mut self.records);
    }

    /// Runs until `quotes` more quotes were taken; returns the records
    /// written meanwhile.
    fn trade(&mut self, quotes: u64) -> &[AuditRecord] {
        let from = self.records.len();
        let until = self.counters.quotes() + quotes;
        while self.counters.quotes() < until {
            self.poll();
        }
        &self.records[from..]
    }

    /// Sends `action` and runs until it ends; returns how.
    fn command(&mut self, action: Action) -> Outcome {
        let id = self.next_id;
        self.next_id += 1;
        let kind = action.kind();
        assert!(self
            .commander
            .push(Command {
                id,
                issuer: 7,
                action,
            })
            .is_ok());
        for _ in 0..1_000_000 {
            self.poll();
            if let Some(outcome) = self.outcome(id) {
                return outcome;
            }
        }
        panic!("command {id} ({kind:?}) never ended");
    }

    fn outcome(&self, id: u64) -> Option<Outcome> {
        self.records.iter().rev().find_map(|r| match r.event {
            AuditEvent::Finished {
                id: finished,
                outcome,
                ..
            } if finished == id => Some(outcome),
            _ => None,
        })
    }

    fn state(&self) -> TradingState {
        self.path.decide().gate().state()
    }
}

/// New orders the strategy got through the gate.
fn strategy_orders(records: &[AuditRecord]) -> usize {
    records
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                AuditEvent::Passed { intent: Intent::New(_), stamps } if stamps.trigger != Trigger::Command
            )
        })
        .count()
}

fn refusals(records: &[AuditRecord], reason: Reject) -> usize {
    records
        .iter()
        .filter(|r| matches!(r.event, AuditEvent::Refused { reason: why, .. } if why == reason))
        .count()
}

#[test]
fn halt_stops_new_orders_and_resume_starts_them_again() {
    let mut desk = Desk::new();
    assert!(strategy_orders(desk.trade(5_000)) > 100);
    assert_eq!(desk.command(Action::Halt), Outcome::Done);
    assert_eq!(desk.state(), TradingState::Halted);
    assert_eq!(desk.counters.state(), TradingState::Halted, "published");
    let halted = desk.trade(5_000);
    assert_eq!(strategy_orders(halted), 0, "no new order while halted");
    assert_eq!(
        refusals(halted, Reject::Halted),
        0,
        "the market maker asks its context first: the gate has nothing to refuse"
    );
    assert_eq!(
        desk.path.decide().gate().open_orders(),
        0,
        "it withdrew its quotes"
    );
    assert_eq!(desk.command(Action::Resume), Outcome::Done);
    assert!(strategy_orders(desk.trade(5_000)) > 100, "trading again");
    let taken: Vec<(u64, u32, ActionKind)> = desk
        .records
        .iter()
        .filter_map(|r| match r.event {
            AuditEvent::Command {
                id, issuer, action, ..
            } => Some((id, issuer, action)),
            _ => None,
        })
        .collect();
    assert_eq!(
        taken,
        [(1, 7, ActionKind::Halt), (2, 7, ActionKind::Resume)],
        "each command is in the audit stream with who sent it"
    );
}

/// Buys one lot at the bid on every quote, whatever the context says.
struct Stubborn;

impl Strategy for Stubborn {
    fn on_quote(&mut self, quote: &Quote, _: &Context<'_>, out: &mut Intents) {
        out.new_order(
            quote.instrument,
            Side::Buy,
            quote.bid,
            Qty(1),
            TimeInForce::Limit,
        );
    }

    fn on_report(&mut self, _: &ExecReport, _: &Context<'_>, _: &mut Intents) {}
}

#[test]
fn the_gate_refuses_what_a_strategy_sends_while_halted() {
    let mut desk = Desk::with(Box::new(Stubborn));
    assert_eq!(desk.command(Action::Halt), Outcome::Done);
    let halted = desk.trade(1_000);
    assert_eq!(strategy_orders(halted), 0);
    assert_eq!(refusals(halted, Reject::Halted), 1_000, "one a quote");
}

fn positions(desk: &Desk) -> Vec<i64> {
    let gate = desk.path.decide().gate();
    gate.positions().iter().map(|p| p.0).collect()
}

#[test]
fn reduce_only_lets_only_shrinking_orders_through() {
    let mut desk = Desk::new();
    while positions(&desk).iter().all(|&p| p == 0) {
        desk.trade(1_000);
    }
    let before = positions(&desk);
    assert_eq!(desk.command(Action::ReduceOnly), Outcome::Done);
    let records = desk.trade(20_000).to_vec();
    let after = positions(&desk);
    for (b, a) in before.iter().zip(&after) {
        assert!(a.abs() <= b.abs() && a * b >= 0, "{before:?} -> {after:?}");
    }
    assert!(
        after.iter().map(|p| p.abs()).sum::<i64>() < before.iter().map(|p| p.abs()).sum::<i64>(),
        "it quotes the side that shrinks: {before:?} -> {after:?}"
    );
    // Only a replacement sent while its cancel is unanswered (the old
    // order still counts) is refused: well under one in a hundred quotes.
    let refused = refusals(&records, Reject::ReduceOnly);
    assert!(refused < 200, "{refused} refused REDUCE_ONLY");
    assert_eq!(desk.counters.state(), TradingState::ReduceOnly);
}

#[test]
fn new_limits_apply_from_the_next_order() {
    let mut desk = Desk::new();
    let before = desk.trade(5_000);
    assert_eq!(refusals(before, Reject::MaxOpenOrders), 0);
    assert!(desk.path.decide().gate().open_orders() > 1);
    let one_open = redline_engine::risk::RiskLimits {
        max_open_orders: 1,
        ..limits()
    };
    assert_eq!(desk.command(Action::Limits(one_open)), Outcome::Done);
    let after = desk.trade(5_000);
    assert!(refusals(after, Reject::MaxOpenOrders) > 100);
    assert!(desk.path.decide().gate().open_orders() <= 1);
    assert_eq!(desk.command(Action::Limits(limits())), Outcome::Done);
    desk.trade(5_000);
    assert!(desk.path.decide().gate().open_orders() > 1, "and back");
}

#[test]
fn limits_above_the_open_order_room_are_refused_whole() {
    let mut desk = Desk::new();
    desk.trade(1_000);
    let too_many = redline_engine::risk::RiskLimits {
        max_open_orders: limits().max_open_orders + 1,
        price_collar_bps: 1,
        ..limits()
    };
    assert_eq!(desk.command(Action::Limits(too_many)), Outcome::Invalid);
    assert_eq!(
        refusals(desk.trade(5_000), Reject::PriceCollar),
        0,
        "nothing of them applied"
    );
}

#[test]
fn cancel_all_ends_every_order_open_when_it_came() {
    let mut desk = Desk::new();
    desk.trade(5_000);
    let open = desk.path.decide().gate().orders().to_vec();
    assert!(!open.is_empty());
    let from = desk.records.len();
    assert_eq!(desk.command(Action::CancelAll), Outcome::Done);
    let last = open.iter().map(|o| o.id).max().unwrap();
    assert!(
        desk.path
            .decide()
            .gate()
            .orders()
            .iter()
            .all(|o| o.id > last),
        "every order open before has ended"
    );
    let cancels = desk.records[from..]
        .iter()
        .filter(|r| {
            matches!(r.event, AuditEvent::Sent { intent: Intent::Cancel(_), stamps }
                if stamps.trigger == Trigger::Command)
        })
        .count();
    assert!(cancels > 0 && cancels <= open.len(), "{cancels} cancels");
    assert_eq!(desk.state(), TradingState::Active, "the strategy goes on");
}

#[test]
fn flatten_leaves_every_position_flat_and_trading_halted() {
    let mut desk = Desk::new();
    while desk
        .path
        .decide()
        .gate()
        .positions()
        .iter()
        .all(|p| p.0 == 0)
    {
        desk.trade(1_000);
    }
    assert_eq!(desk.command(Action::Flatten), Outcome::Done);
    let gate = desk.path.decide().gate();
    assert!(gate.positions().iter().all(|p| p.0 == 0), "flat");
    assert_eq!(gate.open_orders(), 0);
    assert_eq!(desk.state(), TradingState::Halted);
    let risk = desk.counters.risk().unwrap();
    assert!(
        risk.instruments.iter().all(|i| i.position == 0),
        "published"
    );
    assert_eq!(desk.counters.open_orders().unwrap(), []);
    assert_eq!(strategy_orders(desk.trade(2_000)), 0, "stays halted");
}

#[test]
fn a_state_command_replaces_a_flatten() {
    let mut desk = Desk::new();
    desk.trade(5_000);
    desk.commander
        .push(Command {
            id: 1,
            issuer: 0,
            action: Action::Flatten,
        })
        .unwrap();
    desk.next_id = 2;
    assert_eq!(desk.command(Action::Resume), Outcome::Done);
    assert_eq!(desk.outcome(1), Some(Outcome::Superseded));
    assert_eq!(desk.state(), TradingState::Active);
}

#[test]
fn drain_leaves_nothing_open_and_refuses_what_follows() {
    let mut desk = Desk::new();
    desk.trade(5_000);
    assert!(desk.path.decide().gate().open_orders() > 0);
    assert_eq!(desk.command(Action::Drain), Outcome::Done);
    assert_eq!(desk.path.decide().gate().open_orders(), 0);
    assert_eq!(desk.state(), TradingState::Halted);
    assert_eq!(desk.command(Action::Resume), Outcome::Draining);
    assert_eq!(desk.state(), TradingState::Halted);
    assert_eq!(strategy_orders(desk.trade(2_000)), 0);
}

fn fills(records: &[AuditRecord]) -> usize {
    records
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                AuditEvent::Report { report, .. }
                    if matches!(report.kind, ExecKind::Fill | ExecKind::PartialFill)
            )
        })
        .count()
}

#[test]
fn new_strategy_parameters_apply_from_the_next_event_and_come_back_to_be_freed() {
    let mut desk = Desk::new();
    assert!(fills(desk.trade(5_000)) > 0, "quoting at the touch fills");
    // Twenty ticks from the mid, on a market that moves a tick at a time:
    // once the old quotes are replaced, nothing reaches them.
    assert_eq!(
        desk.command(Action::Strategy(market_maker_tuning(20))),
        Outcome::Done
    );
    desk.trade(1_000);
    let wide = desk.trade(5_000);
    assert!(strategy_orders(wide) > 0, "still quoting");
    assert_eq!(fills(wide), 0, "quoting 20 ticks away never fills");
    assert_eq!(desk.commander.reclaim(), 1, "the parameters came back");

    // Parameters of another strategy's type are refused, and come back too.
    let other = Registry::with_builtins()
        .tune(
            "ewma-crossover",
            &toml::from_str("fast_shift = 2\nslow_shift = 5\nqty = 1\nmax_position = 5").unwrap(),
            &instruments(),
        )
        .unwrap();
    assert_eq!(desk.command(Action::Strategy(other)), Outcome::Invalid);
    assert_eq!(desk.commander.reclaim(), 1);
    assert_eq!(
        desk.command(Action::Strategy(market_maker_tuning(1))),
        Outcome::Done
    );
    desk.trade(1_000);
    assert!(fills(desk.trade(5_000)) > 0, "back at the touch");
}

#[test]
fn a_log_level_change_is_recorded_with_who_made_it() {
    let mut desk = Desk::new();
    assert_eq!(desk.command(Action::LogLevel), Outcome::Done);
    assert!(desk.records.iter().any(|r| matches!(
        r.event,
        AuditEvent::Command {
            action: ActionKind::LogLevel,
            issuer: 7,
            ..
        }
    )));
}

#[test]
fn a_request_the_control_plane_refused_is_recorded_and_changes_nothing() {
    let mut desk = Desk::new();
    desk.trade(1_000);
    let before = desk.records.len();
    assert!(desk
        .commander
        .push(Command {
            id: 1,
            issuer: 7,
            action: Action::Rejected {
                action: ActionKind::Drain,
                status: 400,
            },
        })
        .is_ok());
    let traded = desk.trade(5_000).to_vec();
    let rejected: Vec<_> = desk.records[before..]
        .iter()
        .filter(|r| {
            !matches!(
                r.event,
                AuditEvent::Passed { .. }
                    | AuditEvent::Refused { .. }
                    | AuditEvent::Sent { .. }
                    | AuditEvent::Report { .. }
            )
        })
        .map(|r| r.event)
        .collect();
    assert!(
        matches!(
            rejected[..],
            [AuditEvent::Rejected {
                id: 1,
                issuer: 7,
                action: ActionKind::Drain,
                status: 400,
                ..
            }]
        ),
        "one record, neither taken nor finished: {rejected:?}"
    );
    assert_eq!(desk.state(), TradingState::Active, "no drain began");
    assert!(strategy_orders(&traded) > 100, "trading went on");
}
