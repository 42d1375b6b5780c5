//! The decide stage's work: each event (quote, execution report, timer)
//! goes to the risk gate's view of the market and positions, then to the
//! strategy; each intent the strategy writes passes the gate and goes out,
//! or is refused and told back to the strategy as a report. Everything it
//! does is written to the audit log.

use std::sync::Arc;

use super::counters::PathCounters;
use super::outbox::{Outbox, Outgoing};
use super::time::TimeSource;
use crate::audit::{AuditEvent, AuditLog, Stamps, Trigger};
use crate::domain::{ExecKind, ExecReport, InstrumentId, Intent, Price, Qty, Quote, Reject, Side};
use crate::risk::{RiskGate, TradingState};
use crate::strategy::{Context, Intents, Strategy};

/// The most intents one event may make, the strategy's answers to refusals
/// included (the [`Intents`] budget).
pub const MAX_INTENTS: usize = 32;

/// The most audit records one event can write: its report, a state change,
/// and each intent passed (and, in the fused topology, sent) or refused.
pub const RECORDS_PER_EVENT: usize = 2 * MAX_INTENTS + 2;

/// How often a busy decide stage publishes the risk snapshot, in path time.
const PUBLISHES_PER_SECOND: f64 = 1000.0;

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
}

impl Decide {
    /// The decide stage for `strategy` behind `gate`, writing into `audit`
    /// and publishing into `counters`; starts at path time `now` on a clock
    /// of `ticks_per_second`.
    pub fn new(
        strategy: Box<dyn Strategy>,
        gate: RiskGate,
        audit: AuditLog,
        counters: Arc<PathCounters>,
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
        Decide {
            strategy,
            gate,
            intents: Intents::with_capacity(MAX_INTENTS),
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
        self.gate.on_quote(&quote);
        self.quotes += 1;
        self.counters.set_quotes(self.quotes);
        self.note_state(now);
        self.intents.next_event();
        let ctx = Context {
            now,
            positions: self.gate.positions(),
        };
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
        let ctx = Context {
            now,
            positions: self.gate.positions(),
        };
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
        let ctx = Context {
            now,
            positions: self.gate.positions(),
        };
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
                match verdict {
                    Ok(()) => {
                        self.audit.record(AuditEvent::Passed { intent, stamps });
                        out.send(Outgoing { intent, stamps }, now, &mut self.audit);
                    }
                    Err(reason) => {
                        self.audit.record(AuditEvent::Refused {
                            intent,
                            reason,
                            stamps,
                        });
                        self.refused.push(refusal(&self.gate, intent, reason));
                    }
                }
            }
            if self.refused.is_empty() {
                break;
            }
            let ctx = Context {
                now,
                positions: self.gate.positions(),
            };
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
