//! Building the path from its parts, in either topology: the one place that
//! knows which ring joins which stages. The binary, the tests and the
//! benchmark all build the path here.

use std::sync::Arc;

use super::counters::{PathCounters, RingGauge};
use super::decide::Decide;
use super::stages::{DecideStage, FeedStage, FusedPath, GatewayStage};
use super::time::TimeSource;
use crate::audit::{AuditLog, AuditRecord};
use crate::command::CommandReceiver;
use crate::feed::Feed;
use crate::ring;
use crate::risk::RiskGate;
use crate::strategy::Strategy;
use crate::venue::Venue;

/// What a path is made of.
pub struct PathParts {
    /// Market data.
    pub feed: Feed,
    /// What decides.
    pub strategy: Box<dyn Strategy>,
    /// What every intent passes.
    pub gate: RiskGate,
    /// Where orders go.
    pub venue: Venue,
    /// What the path publishes beside the audit stream.
    pub counters: Arc<PathCounters>,
    /// The operator's commands (the reading end of
    /// [`crate::command::command_ring`]).
    pub commands: CommandReceiver,
    /// The path's time; simulated time needs the fused topology.
    pub time: TimeSource,
    /// Path time now, in clock ticks.
    pub now: u64,
    /// The clock's rate.
    pub ticks_per_second: f64,
}

/// Slots in each ring (each a power of two); in the fused topology only
/// `audit` is a ring, and `reports` sizes the venue's answer queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSizes {
    /// Feed to decide, and feed to gateway.
    pub quotes: usize,
    /// Decide to gateway.
    pub orders: usize,
    /// Gateway to decide.
    pub reports: usize,
    /// Each writer to the side thread.
    pub audit: usize,
}

/// The pipeline's three stages, to be spawned one per thread.
pub struct Pipeline {
    /// Market data in.
    pub feed: FeedStage,
    /// Strategy and risk.
    pub decide: DecideStage,
    /// Orders out, reports back.
    pub gateway: GatewayStage,
}

impl PathParts {
    fn decide(self, audit: AuditLog) -> (Decide, Feed, Venue) {
        let decide = Decide::new(
            self.strategy,
            self.gate,
            audit,
            self.counters,
            self.commands,
            self.venue.status(),
            self.time,
            self.now,
            self.ticks_per_second,
        );
        (decide, self.feed, self.venue)
    }

    /// The whole path as one stage, and the reading end of its audit ring.
    pub fn fused(self, sizes: &RingSizes) -> (FusedPath, ring::Consumer<AuditRecord>) {
        let (audit, records) = ring::new(sizes.audit);
        self.counters.set_rings(vec![gauge("audit", &audit)]);
        let time = self.time;
        let (decide, feed, venue) = self.decide(AuditLog::new(audit));
        let path = FusedPath::new(feed, decide, venue, sizes.reports, time);
        (path, records)
    }

    /// The three pipeline stages, and the reading ends of the decide and
    /// gateway stages' audit rings.
    ///
    /// # Panics
    ///
    /// In simulated time, which needs the fused topology.
    pub fn pipeline(self, sizes: &RingSizes) -> (Pipeline, [ring::Consumer<AuditRecord>; 2]) {
        assert_eq!(
            self.time,
            TimeSource::Wall,
            "simulated time needs the fused topology"
        );
        let (quotes_tx, quotes_rx) = ring::new(sizes.quotes);
        let (market_tx, market_rx) = ring::new(sizes.quotes);
        let (orders_tx, orders_rx) = ring::new(sizes.orders);
        let (reports_tx, reports_rx) = ring::new(sizes.reports);
        let (decide_audit, decide_records) = ring::new(sizes.audit);
        let (gateway_audit, gateway_records) = ring::new(sizes.audit);
        self.counters.set_rings(vec![
            gauge("quotes", &quotes_tx),
            gauge("market", &market_tx),
            gauge("orders", &orders_tx),
            gauge("reports", &reports_tx),
            gauge("audit.decide", &decide_audit),
            gauge("audit.gateway", &gateway_audit),
        ]);
        let (decide, feed, venue) = self.decide(AuditLog::new(decide_audit));
        let pipeline = Pipeline {
            feed: FeedStage {
                feed,
                quotes: quotes_tx,
                market: market_tx,
            },
            decide: DecideStage {
                quotes: quotes_rx,
                reports: reports_rx,
                orders: orders_tx,
                decide,
            },
            gateway: GatewayStage {
                orders: orders_rx,
                market: market_rx,
                reports: reports_tx,
                venue,
                audit: AuditLog::new(gateway_audit),
            },
        };
        (pipeline, [decide_records, gateway_records])
    }
}

fn gauge<T: Send + 'static>(name: &'static str, ring: &ring::Producer<T>) -> RingGauge {
    RingGauge {
        name,
        gauge: Box::new(ring.gauge()),
    }
}
