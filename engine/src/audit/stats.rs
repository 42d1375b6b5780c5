//! The reading side of the audit stream: counters and latency histograms,
//! folded from records by the side thread. Nothing here runs on the hot
//! path; it allocates its histograms once, when built.

use hdrhistogram::Histogram;

use super::record::{AuditEvent, AuditRecord, Trigger};
use crate::domain::{ExecKind, Intent, Reject};
use crate::risk::TradingState;

/// One latency's distribution, in nanoseconds, from 1 ns to a minute at
/// three significant figures.
#[derive(Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
    ns_per_tick: f64,
}

impl Latency {
    fn new(ns_per_tick: f64) -> Self {
        Latency {
            histogram: Histogram::new_with_bounds(1, 60_000_000_000, 3)
                .expect("valid histogram bounds"),
            ns_per_tick,
        }
    }

    /// Records the time from `from` to `to`, in clock ticks.
    fn record(&mut self, from: u64, to: u64) {
        let ns = (to.saturating_sub(from) as f64 * self.ns_per_tick) as u64;
        self.histogram.saturating_record(ns.max(1));
    }

    /// The value at quantile `q` (0 to 1), in nanoseconds; 0 when empty.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        if self.histogram.is_empty() {
            0
        } else {
            self.histogram.value_at_quantile(q)
        }
    }

    /// How many were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The histogram itself, for full distributions.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Latency {{ count: {}, p50: {} ns, p99: {} ns }}",
            self.count(),
            self.quantile_ns(0.5),
            self.quantile_ns(0.99)
        )
    }
}

/// What the audit stream adds up to.
#[derive(Debug, Clone)]
pub struct AuditStats {
    /// Records folded in.
    pub records: u64,
    /// Intents the strategy made that reached the gate: passed or refused.
    pub decisions: u64,
    /// New orders handed to the venue.
    pub orders_sent: u64,
    /// Cancels handed to the venue.
    pub cancels_sent: u64,
    /// Acknowledgements from the venue.
    pub acks: u64,
    /// Partial fills.
    pub partial_fills: u64,
    /// Fills of an order's rest.
    pub fills: u64,
    /// Orders cancelled at the venue.
    pub cancelled: u64,
    /// Refusals by reason (`Reject::index`): the gate's, a full path's,
    /// and the venue's rejects of orders and of cancels.
    pub rejects: [u64; Reject::ALL.len()],
    /// The engine's own refusals by reason (the risk gate's and a full
    /// path's), before anything reached the venue.
    pub refused: [u64; Reject::ALL.len()],
    /// Orders the venue rejected.
    pub venue_rejects: u64,
    /// Cancels the venue refused.
    pub cancel_rejects: u64,
    /// Operator commands the decide stage took.
    pub commands: u64,
    /// Each instrument's net position from the fills, in lots.
    pub positions: Vec<i64>,
    /// The trading state as last recorded.
    pub state: TradingState,
    /// From receiving a quote to the strategy's decision on it.
    pub quote_to_decision: Latency,
    /// From the decision to handing the intent to the venue.
    pub decision_to_send: Latency,
    /// From receiving a quote to handing the intent it led to to the
    /// venue: the engine's quote-to-order latency.
    pub quote_to_send: Latency,
}

impl AuditStats {
    /// Empty stats over `instruments` instruments, converting clock ticks
    /// at `ns_per_tick`.
    pub fn new(instruments: usize, ns_per_tick: f64) -> Self {
        AuditStats {
            records: 0,
            decisions: 0,
            orders_sent: 0,
            cancels_sent: 0,
            acks: 0,
            partial_fills: 0,
            fills: 0,
            cancelled: 0,
            rejects: [0; Reject::ALL.len()],
            refused: [0; Reject::ALL.len()],
            venue_rejects: 0,
            cancel_rejects: 0,
            commands: 0,
            positions: vec![0; instruments],
            state: TradingState::Active,
            quote_to_decision: Latency::new(ns_per_tick),
            decision_to_send: Latency::new(ns_per_tick),
            quote_to_send: Latency::new(ns_per_tick),
        }
    }

    /// Folds in one record.
    pub fn absorb(&mut self, record: &AuditRecord) {
        self.records += 1;
        match record.event {
            AuditEvent::Passed { stamps, .. } => {
                self.decisions += 1;
                if stamps.trigger == Trigger::Quote {
                    self.quote_to_decision.record(stamps.event, stamps.decided);
                }
            }
            AuditEvent::Refused { reason, stamps, .. } => {
                self.decisions += 1;
                self.rejects[reason.index()] += 1;
                self.refused[reason.index()] += 1;
                if stamps.trigger == Trigger::Quote {
                    self.quote_to_decision.record(stamps.event, stamps.decided);
                }
            }
            AuditEvent::Sent { intent, stamps } => {
                match intent {
                    Intent::New(_) => self.orders_sent += 1,
                    Intent::Cancel(_) => self.cancels_sent += 1,
                }
                self.decision_to_send.record(stamps.decided, stamps.sent);
                if stamps.trigger == Trigger::Quote {
                    self.quote_to_send.record(stamps.event, stamps.sent);
                }
            }
            AuditEvent::Report { report, .. } => match report.kind {
                ExecKind::Ack => self.acks += 1,
                ExecKind::PartialFill | ExecKind::Fill => {
                    if report.kind == ExecKind::Fill {
                        self.fills += 1;
                    } else {
                        self.partial_fills += 1;
                    }
                    if let Some(position) = self.positions.get_mut(report.instrument.index()) {
                        *position += report.side.sign() * report.filled.0;
                    }
                }
                ExecKind::Cancelled => self.cancelled += 1,
                ExecKind::Rejected(reason) => {
                    self.rejects[reason.index()] += 1;
                    self.venue_rejects += 1;
                }
                ExecKind::CancelRejected(reason) => {
                    self.rejects[reason.index()] += 1;
                    self.cancel_rejects += 1;
                }
            },
            AuditEvent::State { to, .. } => self.state = to,
            AuditEvent::Command { .. } => self.commands += 1,
            AuditEvent::Finished { .. }
            | AuditEvent::Rejected { .. }
            | AuditEvent::DayStarted { .. } => {}
        }
    }

    /// Starts over, keeping the histograms' memory: for figures per
    /// interval.
    pub fn clear(&mut self) {
        self.quote_to_decision.histogram.reset();
        self.decision_to_send.histogram.reset();
        self.quote_to_send.histogram.reset();
        self.records = 0;
        self.decisions = 0;
        self.orders_sent = 0;
        self.cancels_sent = 0;
        self.acks = 0;
        self.partial_fills = 0;
        self.fills = 0;
        self.cancelled = 0;
        self.rejects = [0; Reject::ALL.len()];
        self.refused = [0; Reject::ALL.len()];
        self.venue_rejects = 0;
        self.cancel_rejects = 0;
        self.commands = 0;
        self.positions.iter_mut().for_each(|p| *p = 0);
    }

    /// All refusals and rejects, every reason.
    pub fn total_rejects(&self) -> u64 {
        self.rejects.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Stamps;
    use crate::domain::{
        ClientOrderId, ExecReport, InstrumentId, NewOrder, Price, Qty, Side, TimeInForce,
    };

    fn record(event: AuditEvent) -> AuditRecord {
        AuditRecord { seq: 0, event }
    }

    #[test]
    fn stats_count_each_kind_and_measure_quote_to_send() {
        let order = NewOrder {
            id: ClientOrderId(1),
            instrument: InstrumentId(1),
            side: Side::Sell,
            price: Price(100),
            qty: Qty(3),
            tif: TimeInForce::Limit,
        };
        let intent = Intent::New(order);
        let stamps = Stamps {
            trigger: Trigger::Quote,
            event: 1_000,
            decided: 1_200,
            risk: 1_300,
            sent: 1_500,
        };
        let report = |kind, filled| ExecReport {
            id: order.id,
            instrument: order.instrument,
            side: order.side,
            kind,
            price: order.price,
            filled: Qty(filled),
            leaves: Qty(0),
        };
        let mut stats = AuditStats::new(2, 1.0);
        for event in [
            AuditEvent::Passed { intent, stamps },
            AuditEvent::Sent { intent, stamps },
            AuditEvent::Refused {
                intent,
                reason: Reject::PriceCollar,
                stamps,
            },
            AuditEvent::Report {
                report: report(ExecKind::PartialFill, 2),
                received: 2_000,
            },
            AuditEvent::Report {
                report: report(ExecKind::CancelRejected(Reject::UnknownOrder), 0),
                received: 2_000,
            },
            AuditEvent::State {
                from: TradingState::Active,
                to: TradingState::Halted,
                at: 3_000,
            },
            AuditEvent::Command {
                id: 1,
                issuer: 7,
                action: crate::command::ActionKind::Halt,
                at: 3_000,
            },
        ] {
            stats.absorb(&record(event));
        }
        assert_eq!(
            (stats.records, stats.decisions, stats.orders_sent),
            (7, 2, 1)
        );
        assert_eq!(stats.commands, 1);
        assert_eq!(stats.partial_fills, 1);
        assert_eq!(stats.positions, [0, -2]);
        assert_eq!(stats.rejects[Reject::PriceCollar.index()], 1);
        assert_eq!(stats.rejects[Reject::UnknownOrder.index()], 1);
        assert_eq!(stats.total_rejects(), 2);
        assert_eq!(stats.refused[Reject::PriceCollar.index()], 1);
        assert_eq!(
            stats.refused[Reject::UnknownOrder.index()],
            0,
            "the venue's"
        );
        assert_eq!((stats.venue_rejects, stats.cancel_rejects), (0, 1));
        assert_eq!(stats.state, TradingState::Halted);
        assert_eq!(stats.quote_to_send.count(), 1);
        assert_eq!(stats.quote_to_send.quantile_ns(0.5), 500);
        assert_eq!(stats.quote_to_decision.quantile_ns(0.5), 200);
        assert_eq!(stats.decision_to_send.quantile_ns(0.5), 300);
        stats.clear();
        assert_eq!((stats.records, stats.total_rejects()), (0, 0));
        assert_eq!(stats.quote_to_send.count(), 0);
        assert_eq!(stats.state, TradingState::Halted, "the state is kept");
    }
}
