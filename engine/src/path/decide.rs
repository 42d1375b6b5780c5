//! The decide stage's work: each event (quote, execution report, timer)
//! goes to the risk gate's view of the market and positions, then to the
//! strategy; each intent the strategy writes passes the gate and goes out,
//! or is refused and told back to the strategy as a report. Between events
//! it takes the operator's commands from the command ring. Everything it
//! does is written to the audit log.

use std::sync::Arc;

use super::counters::PathCounters;
use super::operation::{Kind, Operations, Step};
use super::outbox::{Outbox, Outgoing};
use super::time::TimeSource;
use crate::audit::{AuditEvent, AuditLog, Stamps, Trigger};
use crate::command::{Action, Command, CommandReceiver, Outcome};
use crate::domain::{ExecKind, ExecReport, InstrumentId, Intent, Price, Qty, Quote, Reject, Side};
use crate::risk::{RiskGate, TradingState};
use crate::strategy::{Context, Intents, Strategy};
use crate::venue::VenueStatus;

/// The most intents one event may make, the strategy's answers to refusals
/// included (the [`Intents`] budget).
pub const MAX_INTENTS: usize = 32;

/// The most audit records one event can write: its report or the start of
/// a trading day, a state change, and each intent passed (and, in the fused
/// topology, sent) or refused.
pub const RECORDS_PER_EVENT: usize = 2 * MAX_INTENTS + 2;

/// How often a busy decide stage publishes the risk snapshot, in path time.
const PUBLISHES_PER_SECOND: f64 = 1000.0;

/// How long, in seconds of path time, cancel-all, flatten and drain may
/// take before they end incomplete.
const OPERATION_SECONDS: f64 = 10.0;

/// The strategy's timer.
#[derive(Debug, Clone, Copy)]
struct Timer {
    interval: u64,
    next: u64,
}

/// The decide stage's state; owned by one thread. Never allocates, locks,
/// blocks or logs once built.
pub struct Decide {
    strategy: Box<dyn Strategy>,
    gate: RiskGate,
    intents: Intents,
    /// Refusals of the intents being routed, to tell the strategy; room for
    /// `MAX_INTENTS`.
    refused: Vec<ExecReport>,
    audit: AuditLog,
    timer: Option<Timer>,
    /// The trading state as last recorded.
    state: TradingState,
    quotes: u64,
    counters: Arc<PathCounters>,
    /// Whether the risk gate changed since it was last published.
    unpublished: bool,
    /// Path time of the next publication while busy, and the interval.
    publish_at: u64,
    publish_every: u64,
    time: TimeSource,
    /// The operator's commands.
    commands: CommandReceiver,
    operations: Operations,
    /// Path time an operation may take.
    operation_ticks: u64,
    /// Set by a drain: every later command is refused.
    draining: bool,
    /// Whether the venue takes orders, for the strategy's context.
    venue: VenueStatus,
}

impl Decide {
    /// The decide stage for `strategy` behind `gate`, writing into `audit`,
    /// publishing into `counters`, taking `commands` and telling the
    /// strategy whether `venue` is up; starts at path time `now` on a
    /// clock of `ticks_per_second`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        strategy: Box<dyn Strategy>,
        gate: RiskGate,
        audit: AuditLog,
        counters: Arc<PathCounters>,
        commands: CommandReceiver,
        venue: VenueStatus,
        time: TimeSource,
        now: u64,
        ticks_per_second: f64,
    ) -> Self {
        assert!(
            audit.capacity() >= RECORDS_PER_EVENT,
            "the audit ring holds one event's records"
        );
        let timer = strategy.timer_interval_ns().map(|ns| {
            let interval = ((ns as f64 * ticks_per_second / 1e9) as u64).max(1);
            Timer {
                interval,
                next: now + interval,
            }
        });
        let state = gate.state();
        counters.set_state(state);
        counters.publish_risk(&gate);
        let publish_every = ((ticks_per_second / PUBLISHES_PER_SECOND) as u64).max(1);
        let gate_capacity = gate.open_capacity();
        let mut intents = Intents::with_capacity(MAX_INTENTS);
        intents.start_after(gate.last_id());
        Decide {
            strategy,
            gate,
            intents,
            refused: Vec::with_capacity(MAX_INTENTS),
            audit,
            timer,
            state,
            quotes: 0,
            counters,
            unpublished: false,
            publish_at: now + publish_every,
            publish_every,
            time,
            commands,
            operations: Operations::new(gate_capacity),
            operation_ticks: (OPERATION_SECONDS * ticks_per_second) as u64,
            draining: false,
            venue,
        }
    }

    /// Whether the audit ring has room for everything one event can write.
    /// A stage asks before each event and, when not, leaves the event where
    /// it is for a later poll (the wait is counted).
    #[inline]
    pub fn ready(&mut self) -> bool {
        let ready = self.audit.has_room(RECORDS_PER_EVENT);
        if !ready {
            self.counters.set_audit_waits(self.audit.stalls());
        }
        ready
    }

    /// How many events, up to `max`, the audit ring has room for now.
    #[inline]
    pub fn room_for_events(&mut self, max: usize) -> usize {
        let events = self.audit.room_for(max, RECORDS_PER_EVENT);
        if events == 0 {
            self.counters.set_audit_waits(self.audit.stalls());
        }
        events
    }

    /// Takes a quote at path time `now`.
    #[inline]
    pub fn on_quote(&mut self, quote: Quote, now: u64, out: &mut impl Outbox) {
        if self.gate.on_quote(&quote) {
            let pnl = self.gate.pnl_nanos();
            self.audit.record(AuditEvent::DayStarted {
                pnl_nanos: pnl.clamp(i64::MIN.into(), i64::MAX.into()) as i64,
                at: self.time.stamp(now),
            });
        }
        self.quotes += 1;
        self.counters.set_quotes(self.quotes);
        self.note_state(now);
        self.intents.next_event();
        let ctx = context(&self.gate, &self.venue, now);
        self.strategy.on_quote(&quote, &ctx, &mut self.intents);
        self.route(Trigger::Quote, quote.received, now, out);
    }

    /// Takes an execution report from the venue at path time `now`.
    #[inline]
    pub fn on_report(&mut self, report: ExecReport, now: u64, out: &mut impl Outbox) {
        let received = self.time.stamp(now);
        self.audit.record(AuditEvent::Report { report, received });
        self.gate.on_report(&report);
        self.note_state(now);
        self.intents.next_event();
        let ctx = context(&self.gate, &self.venue, now);
        self.strategy.on_report(&report, &ctx, &mut self.intents);
        self.route(Trigger::Report, received, now, out);
    }

    /// Whether the strategy's timer is due at `now`.
    #[inline]
    pub fn timer_due(&self, now: u64) -> bool {
        self.timer.is_some_and(|t| now >= t.next)
    }

    /// Fires the strategy's timer if it is due at `now`; returns whether it
    /// fired. A timer that fell behind fires once and then keeps its pace.
    #[inline]
    pub fn on_timer(&mut self, now: u64, out: &mut impl Outbox) -> bool {
        let Some(timer) = &mut self.timer else {
            return false;
        };
        if now < timer.next {
            return false;
        }
        let missed = (now - timer.next) / timer.interval;
        timer.next += (missed + 1) * timer.interval;
        self.intents.next_event();
        let ctx = context(&self.gate, &self.venue, now);
        self.strategy.on_timer(&ctx, &mut self.intents);
        self.route(Trigger::Timer, self.time.stamp(now), now, out);
        true
    }

    /// Sends what the strategy wrote through the gate, and tells it of each
    /// refusal, which it may answer with more intents from the same budget.
    fn route(&mut self, trigger: Trigger, event: u64, now: u64, out: &mut impl Outbox) {
        let time = self.time;
        while !self.intents.is_empty() {
            let decided = time.stamp(now);
            for intent in self.intents.drain() {
                let verdict = if out.has_room() {
                    self.gate.check(&intent, now)
                } else {
                    Err(Reject::VenueBusy)
                };
                let stamps = Stamps {
                    trigger,
                    event,
                    decided,
                    risk: time.stamp(now),
                    sent: 0,
                };
                dispatch(&mut self.audit, out, intent, verdict, stamps, now);
                if let Err(reason) = verdict {
                    self.refused.push(refusal(&self.gate, intent, reason));
                }
            }
            if self.refused.is_empty() {
                break;
            }
            let ctx = context(&self.gate, &self.venue, now);
            for report in self.refused.drain(..) {
                self.strategy.on_report(&report, &ctx, &mut self.intents);
            }
        }
        self.note_state(now);
        self.unpublished = true;
        if now >= self.publish_at {
            self.publish();
            self.publish_at = now + self.publish_every;
        }
    }

    /// Takes one of the operator's commands, or moves the operation in
    /// progress on, at path time `now`; returns 1 if it did either. The
    /// stage calls it once per poll, when [`Decide::ready`]: with no
    /// command waiting and no operation running it costs one load.
    #[inline]
    pub fn on_command(&mut self, now: u64, out: &mut impl Outbox) -> usize {
        if let Some(command) = self.commands.pop() {
            self.take(command, now);
            return 1;
        }
        if !self.operations.is_running() {
            return 0;
        }
        self.operate(now, out)
    }

    fn take(&mut self, command: Command, now: u64) {
        let at = self.time.stamp(now);
        let id = command.id;
        if let Action::Rejected { action, status } = command.action {
            self.audit.record(AuditEvent::Rejected {
                id,
                issuer: command.issuer,
                action,
                status,
                at,
            });
            return;
        }
        self.audit.record(AuditEvent::Command {
            id,
            issuer: command.issuer,
            action: command.action.kind(),
            at,
        });
        let outcome = if self.draining && !matches!(command.action, Action::Drain) {
            if let Action::Strategy(tuning) = command.action {
                self.commands.give_back(tuning);
            }
            Some(Outcome::Draining)
        } else {
            self.apply(command, now)
        };
        self.note_state(now);
        match outcome {
            Some(outcome) => self.finish(id, outcome, now),
            None => self.publish_now(),
        }
    }

    /// Applies a command; returns how it ended, or `None` for an operation
    /// that has started.
    fn apply(&mut self, command: Command, now: u64) -> Option<Outcome> {
        let state = |decide: &mut Self, state| {
            // A new state replaces a flatten, which holds the state itself.
            if let Some(id) = decide.operations.running(Kind::Flatten) {
                decide.operations.stop();
                decide.finish(id, Outcome::Superseded, now);
            }
            decide.gate.set_state(state);
        };
        let kind = match command.action {
            Action::Halt => {
                state(self, TradingState::Halted);
                return Some(Outcome::Done);
            }
            Action::ReduceOnly => {
                state(self, TradingState::ReduceOnly);
                return Some(Outcome::Done);
            }
            Action::Resume => {
                state(self, TradingState::Active);
                return Some(if self.gate.state() == TradingState::Active {
                    Outcome::Done
                } else {
                    Outcome::LossLimit
                });
            }
            Action::Limits(limits) => {
                return Some(match self.gate.set_limits(&limits, now) {
                    Ok(()) => Outcome::Done,
                    Err(_) => Outcome::Invalid,
                });
            }
            Action::Strategy(tuning) => {
                let taken = self.strategy.retune(&tuning);
                self.commands.give_back(tuning);
                return Some(if taken {
                    Outcome::Done
                } else {
                    Outcome::Invalid
                });
            }
            Action::LogLevel => return Some(Outcome::Done),
            Action::CancelAll => Kind::CancelAll,
            Action::Flatten => Kind::Flatten,
            Action::Drain => Kind::Drain,
            Action::Rejected { .. } => unreachable!("recorded when taken"),
        };
        if kind != Kind::CancelAll {
            self.gate.set_state(TradingState::Halted);
        }
        self.draining |= kind == Kind::Drain;
        let deadline = now.saturating_add(self.operation_ticks);
        if let Some(replaced) = self
            .operations
            .start(command.id, kind, &self.gate, deadline)
        {
            self.finish(replaced, Outcome::Superseded, now);
        }
        None
    }

    /// One step of the operation in progress.
    fn operate(&mut self, now: u64, out: &mut impl Outbox) -> usize {
        self.intents.next_event();
        let room = out.room(MAX_INTENTS);
        let Some((id, step)) = self
            .operations
            .step(&self.gate, &mut self.intents, room, now)
        else {
            return 0;
        };
        match step {
            Step::Waiting => 0,
            Step::Finished(outcome) => {
                self.finish(id, outcome, now);
                1
            }
            Step::Wrote => {
                if let Some(reason) = self.route_operator(now, out) {
                    self.operations.stop();
                    self.finish(id, Outcome::Refused(reason), now);
                }
                1
            }
        }
    }

    /// Sends what an operation wrote through the gate (closing orders as
    /// such); returns the first reason a new order was refused. A cancel
    /// refused because its order ended meanwhile is only recorded. The
    /// strategy is not told: these are not its intents.
    fn route_operator(&mut self, now: u64, out: &mut impl Outbox) -> Option<Reject> {
        let time = self.time;
        let decided = time.stamp(now);
        let mut refused = None;
        for intent in self.intents.drain() {
            let verdict = match (out.has_room(), intent) {
                (false, _) => Err(Reject::VenueBusy),
                (true, Intent::New(order)) => self.gate.check_closing(&order, now),
                (true, Intent::Cancel(_)) => self.gate.check(&intent, now),
            };
            let stamps = Stamps {
                trigger: Trigger::Command,
                event: decided,
                decided,
                risk: time.stamp(now),
                sent: 0,
            };
            dispatch(&mut self.audit, out, intent, verdict, stamps, now);
            if let (Err(reason), Intent::New(_)) = (verdict, intent) {
                refused.get_or_insert(reason);
            }
        }
        self.unpublished = true;
        refused
    }

    /// Publishes what command `id` changed, then records that it ended
    /// with `outcome`: a reader of the audit stream that sees the record
    /// finds the snapshots showing its result.
    fn finish(&mut self, id: u64, outcome: Outcome, now: u64) {
        self.publish_now();
        self.audit.record(AuditEvent::Finished {
            id,
            outcome,
            at: self.time.stamp(now),
        });
    }

    fn publish_now(&mut self) {
        self.counters.publish_risk(&self.gate);
        self.unpublished = false;
    }

    /// Publishes the risk gate's state for the control plane if it changed
    /// since last published. A stage calls it when a poll finds no work
    /// (between events, off their latency); a busy path publishes once per
    /// millisecond of path time.
    #[inline]
    pub fn publish(&mut self) {
        if self.unpublished {
            self.counters.publish_risk(&self.gate);
            self.unpublished = false;
        }
    }

    /// Records a change of the trading state since the last one recorded.
    fn note_state(&mut self, now: u64) {
        let state = self.gate.state();
        if state != self.state {
            self.audit.record(AuditEvent::State {
                from: self.state,
                to: state,
                at: self.time.stamp(now),
            });
            self.state = state;
            self.counters.set_state(state);
        }
    }

    /// The risk gate, to read.
    pub fn gate(&self) -> &RiskGate {
        &self.gate
    }

    /// Quotes taken so far.
    pub fn quotes(&self) -> u64 {
        self.quotes
    }
}

/// What the strategy is told beside an event at `now`.
#[inline]
fn context<'a>(gate: &'a RiskGate, venue: &VenueStatus, now: u64) -> Context<'a> {
    Context {
        now,
        positions: gate.positions(),
        state: gate.state(),
        venue_up: venue.is_up(),
    }
}

/// Records the gate's verdict on `intent` and, when it passed, sends it.
#[inline]
fn dispatch(
    audit: &mut AuditLog,
    out: &mut impl Outbox,
    intent: Intent,
    verdict: Result<(), Reject>,
    stamps: Stamps,
    now: u64,
) {
    match verdict {
        Ok(()) => {
            audit.record(AuditEvent::Passed { intent, stamps });
            out.send(Outgoing { intent, stamps }, now, audit);
        }
        Err(reason) => audit.record(AuditEvent::Refused {
            intent,
            reason,
            stamps,
        }),
    }
}

/// The report that tells the strategy its intent was refused.
fn refusal(gate: &RiskGate, intent: Intent, reason: Reject) -> ExecReport {
    match intent {
        Intent::New(order) => ExecReport {
            id: order.id,
            instrument: order.instrument,
            side: order.side,
            kind: ExecKind::Rejected(reason),
            price: order.price,
            filled: Qty(0),
            leaves: Qty(0),
        },
        Intent::Cancel(id) => {
            let (instrument, side) = gate
                .open_order(id)
                .unwrap_or((InstrumentId::default(), Side::Buy));
            ExecReport {
                id,
                instrument,
                side,
                kind: ExecKind::CancelRejected(reason),
                price: Price(0),
                filled: Qty(0),
                leaves: Qty(0),
            }
        }
    }
}
