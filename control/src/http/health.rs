//! Health: whether each hot-path stage is alive (its heartbeat advancing),
//! whether the engine can trade (ready), and the per-component report
//! behind `/health`. The side thread observes heartbeats and the quote
//! count as it loops; a request reads what was observed.
//!
//! [`Watch`] is also where the control plane samples the lines the hot
//! path writes as it runs (heartbeats, the quote count, ring levels, the
//! risk snapshot, what the network feed and the FIX link publish), at
//! most once per [`SAMPLE_EVERY`] however many requests come: reading
//! such a line takes it from the stage's core, which then waits for it
//! back on its next write, so a control plane that read them per request
//! would slow the hot path in step with its load.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redline_engine::domain::Decimal;
use redline_engine::feed::{FeedReport, FeedState, FeedStats};
use redline_engine::path::PathCounters;
use redline_engine::ring::RingLevel;
use redline_engine::risk::{RiskSnapshot, TradingState};
use redline_engine::stage::{PinOutcome, StageStatus};
use redline_engine::venue::fix::LinkReport;

use super::process::CpuSampler;
use super::venue_link::VenueLink;
use crate::db::PersistStatus;
use crate::journal::JournalStats;
use crate::log::money;

/// The database's side of persistence, as health judges it.
#[derive(Debug, Clone)]
pub struct Database {
    /// The persister's progress.
    pub status: PersistStatus,
    /// How long ago the oldest entry not yet copied was journaled.
    pub backlog_seconds: f64,
    /// The backlog past which readiness fails.
    pub max_backlog: u64,
}

/// A component's or the engine's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// All is well.
    Healthy,
    /// Running, but not as configured or not able to trade.
    Degraded,
    /// Not working.
    Unhealthy,
}

impl Status {
    /// The word in `/health`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
        }
    }
}

/// One component in `/health`.
#[derive(Debug, Clone)]
pub struct Component {
    /// `feed`, `venue`, `stage.decide`, ...
    pub name: String,
    /// Its health.
    pub status: Status,
    /// What is going on, in words.
    pub message: String,
    /// For a stage: its core (when configured) and pinning outcome.
    pub stage: Option<(Option<usize>, String)>,
}

/// The most often the control plane reads what the hot path writes as it
/// runs: the listener's idle turn, so that a hammered listener reads those
/// lines no more often than a quiet one.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(2);

/// What the side thread has seen of the hot path.
#[derive(Debug)]
pub struct Watch {
    stages: Vec<Beat>,
    network: Option<Network>,
    venue: Option<VenueLink>,
    quotes: u64,
    quoted_at: Instant,
    cpu: CpuSampler,
    next_cpu: Instant,
    /// When heartbeats and the quote count may be read again.
    beats_due: Cadence,
    /// Ring levels, the risk snapshot, the feed's and the link's reports,
    /// read for requests.
    sample: HotSample,
    /// When `sample` may be read again.
    sample_due: Cadence,
}

/// Says yes at most once per [`SAMPLE_EVERY`].
#[derive(Debug, Default)]
struct Cadence {
    /// When it next says yes; `None` before its first yes.
    next: Option<Instant>,
}

impl Cadence {
    /// Whether it is time (and if so, not again for [`SAMPLE_EVERY`]).
    fn due(&mut self, now: Instant) -> bool {
        if self.next.is_some_and(|next| now < next) {
            return false;
        }
        self.next = Some(now + SAMPLE_EVERY);
        true
    }
}

/// What requests are answered from, read at most once per
/// [`SAMPLE_EVERY`].
#[derive(Debug, Default)]
pub struct HotSample {
    /// Each ring's name and level, in the path's order.
    pub rings: Vec<(&'static str, RingLevel)>,
    /// The risk gate's state; `None` when the decide stage stopped
    /// part-way through publishing it.
    pub risk: Option<RiskSnapshot>,
    /// The network feed's report, when it is the source.
    pub network: Option<NetworkFeed>,
    /// The FIX link's report, when the venue is a FIX one.
    pub venue: Option<LinkReport>,
}

#[derive(Debug)]
struct Beat {
    stage: StageStatus,
    last: u64,
    changed: Instant,
}

impl Watch {
    /// Starts watching `stages` (and the network feed, when it is the
    /// source, and the FIX venue's link, when it is the venue) at `now`.
    pub fn new(
        stages: Vec<StageStatus>,
        network: Option<Network>,
        venue: Option<VenueLink>,
        now: Instant,
    ) -> Self {
        // Read once here, so that the feed and the venue are never shown
        // as absent; the rest waits for the first request.
        let sample = HotSample {
            network: network.as_ref().map(Network::read),
            venue: venue.as_ref().map(|link| link.stats.read()),
            ..HotSample::default()
        };
        Watch {
            network,
            venue,
            stages: stages
                .into_iter()
                .map(|stage| Beat {
                    last: stage.heartbeat(),
                    stage,
                    changed: now,
                })
                .collect(),
            quotes: 0,
            quoted_at: now,
            cpu: CpuSampler::new(),
            next_cpu: now,
            beats_due: Cadence::default(),
            sample,
            sample_due: Cadence::default(),
        }
    }

    /// Notes heartbeats, the quote count and (once a second) CPU time.
    /// Reads nothing when the last look was less than [`SAMPLE_EVERY`] ago.
    pub fn observe(&mut self, counters: &PathCounters, now: Instant) {
        if !self.beats_due.due(now) {
            return;
        }
        for beat in &mut self.stages {
            let heartbeat = beat.stage.heartbeat();
            if heartbeat != beat.last {
                beat.last = heartbeat;
                beat.changed = now;
            }
        }
        let quotes = counters.quotes();
        if quotes != self.quotes {
            self.quotes = quotes;
            self.quoted_at = now;
        }
        if now >= self.next_cpu {
            self.cpu.sample(now, super::process::cpu_seconds());
            self.next_cpu = now + Duration::from_secs(1);
        }
    }

    /// Stages whose heartbeat has stood still longer than `stall`, with
    /// how long.
    pub fn stalled(&self, stall: Duration, now: Instant) -> Vec<(&str, Duration)> {
        self.stages
            .iter()
            .map(|b| (b.stage.name.as_str(), now.duration_since(b.changed)))
            .filter(|(_, still)| *still > stall)
            .collect()
    }

    /// Reads the ring levels, the risk snapshot and what the feed and the
    /// FIX link publish, for a request, unless they were read less than
    /// [`SAMPLE_EVERY`] ago.
    pub fn sample(&mut self, counters: &PathCounters, now: Instant) {
        if !self.sample_due.due(now) {
            return;
        }
        let rings = counters.rings().iter();
        self.sample.rings.clear();
        self.sample
            .rings
            .extend(rings.map(|ring| (ring.name, ring.gauge.level())));
        self.sample.risk = counters.risk();
        self.sample.network = self.network.as_ref().map(Network::read);
        self.sample.venue = self.venue.as_ref().map(|link| link.stats.read());
    }

    /// What the last sample read.
    pub fn hot(&self) -> &HotSample {
        &self.sample
    }

    /// The quote count as last observed.
    pub fn quotes(&self) -> u64 {
        self.quotes
    }

    /// Each stage with its heartbeat as last observed.
    pub fn heartbeats(&self) -> impl Iterator<Item = (&StageStatus, u64)> {
        self.stages.iter().map(|b| (&b.stage, b.last))
    }

    /// The stages watched.
    pub fn stages(&self) -> impl Iterator<Item = &StageStatus> {
        self.stages.iter().map(|b| &b.stage)
    }

    /// How long since the quote count last moved.
    pub fn quote_age(&self, now: Instant) -> Duration {
        now.duration_since(self.quoted_at)
    }

    /// The network feed as sampled, when it is the source.
    pub fn network(&self) -> Option<&NetworkFeed> {
        self.sample.network.as_ref()
    }

    /// The FIX venue's link and its report as sampled, when it is the
    /// venue.
    pub fn venue(&self) -> Option<(&VenueLink, &LinkReport)> {
        self.venue.as_ref().zip(self.sample.venue.as_ref())
    }

    /// CPU use over the last second, as a percentage of one core.
    pub fn cpu_percent(&self) -> f64 {
        self.cpu.percent()
    }
}

/// What health checks are judged against.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// A heartbeat standing still this long means a stalled stage.
    pub stall: Duration,
    /// No quote this long means stale market data.
    pub stale_quotes: Duration,
}

/// The network feed, as the control plane reaches it.
#[derive(Debug, Clone)]
pub struct Network {
    /// What it publishes.
    pub stats: Arc<FeedStats>,
    /// Where it receives.
    pub listen: SocketAddr,
    /// Its re-request server, if it has one.
    pub retransmit: Option<SocketAddr>,
}

impl Network {
    /// What it last published.
    pub fn read(&self) -> NetworkFeed {
        NetworkFeed {
            report: self.stats.read(),
            listen: self.listen,
            retransmit: self.retransmit,
        }
    }
}

/// The network feed at one moment, as health judges it.
#[derive(Debug, Clone)]
pub struct NetworkFeed {
    /// What it last published.
    pub report: FeedReport,
    /// Where it receives.
    pub listen: SocketAddr,
    /// Its re-request server, if it has one.
    pub retransmit: Option<SocketAddr>,
}

impl NetworkFeed {
    /// Its status and message (with the quote age's), and why it keeps
    /// the engine from trading, if it does.
    fn judge(&self, fresh: bool, age: Duration) -> (Status, String, Option<String>) {
        let r = &self.report;
        let session = r
            .session
            .map_or_else(String::new, |s| format!(" {}", String::from_utf8_lossy(&s)));
        match r.state {
            FeedState::Waiting => (
                Status::Degraded,
                format!("ITCH: no packet yet on {}", self.listen),
                Some("market data: no packet from the feed yet".into()),
            ),
            FeedState::InSequence => {
                let mut message = format!(
                    "ITCH session{session} in sequence, next message {}; {} orders in the books",
                    r.next, r.orders
                );
                if fresh {
                    message += "; quotes flowing";
                } else {
                    message += &format!("; no quote for {:.1}s", age.as_secs_f64());
                }
                let status = if fresh {
                    Status::Healthy
                } else {
                    Status::Degraded
                };
                (status, message, None)
            }
            FeedState::Recovering => {
                let gap = format!(
                    "ITCH session{session}: {} messages missing from message {}, no quote until \
                     they are applied",
                    r.behind, r.next
                );
                match self.retransmit {
                    Some(server) => (
                        Status::Degraded,
                        format!("{gap}; asking the re-request server at {server}"),
                        Some(format!(
                            "market data: a sequence gap of {} messages",
                            r.behind
                        )),
                    ),
                    None => (
                        Status::Unhealthy,
                        format!(
                            "{gap}; no re-request server (feed.itch.retransmit), so the gap \
                             stays open until the next session"
                        ),
                        Some(format!(
                            "market data: a sequence gap of {} messages that nothing fills",
                            r.behind
                        )),
                    ),
                }
            }
            FeedState::Stopped => (
                Status::Unhealthy,
                format!(
                    "ITCH session{session}: a book refused a change (feed.itch.max_orders or \
                     max_levels reached), so the books are incomplete and quote nothing until \
                     the next session"
                ),
                Some("market data: the books are incomplete".into()),
            ),
        }
    }
}

/// The engine's health at one moment.
#[derive(Debug)]
pub struct Assessment {
    /// Liveness: the stalled stages, if any.
    pub stalled: Vec<String>,
    /// Why the engine cannot trade, if it cannot.
    pub not_ready: Vec<String>,
    /// Each component.
    pub components: Vec<Component>,
}

/// The risk side, as health reports it.
#[derive(Debug, Clone, Copy)]
pub struct Risk {
    /// The trading state.
    pub state: TradingState,
    /// Today's P&L (what the daily loss limit counts), in nano-units;
    /// `None` while the decide stage was caught publishing.
    pub day_pnl_nanos: Option<i64>,
    /// The daily loss limit in force.
    pub max_daily_loss: Decimal,
    /// A restart still awaits a quote of a held instrument (as last
    /// published).
    pub awaiting_marks: bool,
}

impl Assessment {
    /// Judges what `watch` has seen, with the risk side and whether the
    /// engine is draining (on its way to stop).
    pub fn new(
        watch: &Watch,
        journal: &JournalStats,
        database: Option<&Database>,
        bounds: Bounds,
        risk: Risk,
        draining: bool,
        now: Instant,
    ) -> Assessment {
        let state = risk.state;
        let stalled = watch.stalled(bounds.stall, now);
        let mut components = Vec::new();
        for stage in watch.stages() {
            let still = stalled.iter().find(|(name, _)| *name == stage.name);
            let (status, message) = match (still, &stage.pinning) {
                (Some((_, still)), _) => (
                    Status::Unhealthy,
                    format!("heartbeat stalled for {:.1}s", still.as_secs_f64()),
                ),
                (None, PinOutcome::Failed { .. }) => {
                    (Status::Degraded, format!("running; {}", stage.pinning))
                }
                (None, pinning) => (Status::Healthy, format!("running, {pinning}")),
            };
            let core = match stage.pinning {
                PinOutcome::Pinned(core) | PinOutcome::Failed { core, .. } => Some(core),
                PinOutcome::Unpinned => None,
            };
            components.push(Component {
                name: format!("stage.{}", stage.name),
                status,
                message,
                stage: Some((core, stage.pinning.to_string())),
            });
        }
        let quote_age = watch.quote_age(now);
        let feed_fresh = quote_age <= bounds.stale_quotes;
        let (status, message, feed_unready) = match watch.network() {
            Some(network) => network.judge(feed_fresh, quote_age),
            None if feed_fresh => (Status::Healthy, "quotes flowing".into(), None),
            None => (
                Status::Degraded,
                format!("no quote for {:.1}s", quote_age.as_secs_f64()),
                None,
            ),
        };
        components.push(Component {
            name: "feed".into(),
            status,
            message,
            stage: None,
        });
        let (status, message, venue_unready) = match watch.venue() {
            Some((link, report)) => link.judge(report),
            None => (Status::Healthy, "simulated venue, connected".into(), None),
        };
        components.push(Component {
            name: "venue".into(),
            status,
            message,
            stage: None,
        });
        let journal_failing = journal.error.as_ref().map(|error| {
            format!(
                "journal writes failing ({error}); {} entries waiting; the engine takes no \
                 more records until they are written",
                journal.backlog
            )
        });
        let mut status = if journal_failing.is_some() {
            Status::Unhealthy
        } else {
            Status::Healthy
        };
        let mut message = journal_failing.clone().unwrap_or_else(|| {
            format!(
                "journal: {} entries written, next entry {}",
                journal.entries, journal.next_seq
            )
        });
        let journal_stalled = journal
            .disk_wait
            .filter(|waited| *waited > bounds.stall)
            .map(|waited| {
                format!(
                    "journal stalled: a write or sync has waited on the disk for {:.1}s (over \
                     control.stall_ms); the engine takes no more records meanwhile",
                    waited.as_secs_f64()
                )
            });
        if let Some(stalled) = &journal_stalled {
            status = status.max(Status::Degraded);
            message += &format!("; {stalled}");
        }
        if let Some(checkpoints) = &journal.checkpoints {
            message += &match checkpoints.newest {
                Some(at) => format!("; newest checkpoint before entry {at}"),
                None => "; no checkpoint yet".to_owned(),
            };
            if let Some(error) = &checkpoints.error {
                status = status.max(Status::Degraded);
                message += &format!(" (checkpoints failing: {error})");
            }
        }
        let mut too_far_behind = None;
        let mut mismatch = None;
        if let Some(db) = database {
            let backlog = journal.next_seq.saturating_sub(db.status.next_seq);
            message += &format!(
                "; database: breaker {}, {backlog} entries behind ({:.1}s)",
                db.status.breaker.name(),
                db.backlog_seconds
            );
            if let Some(error) = &db.status.error {
                message += &format!(" ({error})");
            }
            if db.status.breaker != crate::db::Breaker::Closed {
                status = status.max(Status::Degraded);
            }
            if let Some(why) = &db.status.mismatch {
                status = Status::Unhealthy;
                mismatch = Some(format!(
                    "persistence: the database does not match this journal: {why}"
                ));
            }
            if backlog > db.max_backlog {
                status = status.max(Status::Degraded);
                too_far_behind = Some(format!(
                    "persistence: the database is {backlog} entries behind the journal (over \
                     persistence.max_backlog_entries = {})",
                    db.max_backlog
                ));
            }
        }
        components.push(Component {
            name: "persistence".into(),
            status,
            message,
            stage: None,
        });
        components.push(Component {
            name: "risk".into(),
            status: match state {
                _ if risk.awaiting_marks => Status::Degraded,
                TradingState::Active => Status::Healthy,
                TradingState::ReduceOnly | TradingState::Halted => Status::Degraded,
            },
            message: {
                let mut message = match risk.day_pnl_nanos {
                    Some(day) => format!(
                        "trading {}; today's P&L {} against a daily loss limit of {}",
                        state.name(),
                        money(day),
                        risk.max_daily_loss
                    ),
                    None => format!("trading {}", state.name()),
                };
                if risk.awaiting_marks {
                    message += "; since the restart a held instrument has had no quote: only \
                                orders that shrink a position pass and the loss check waits";
                }
                message
            },
            stage: None,
        });
        let mut not_ready: Vec<String> = stalled
            .iter()
            .map(|(name, _)| format!("stage {name} stalled"))
            .collect();
        if draining {
            not_ready.push("draining".into());
        }
        not_ready.extend(feed_unready);
        not_ready.extend(venue_unready);
        if !feed_fresh {
            not_ready.push(format!(
                "market data stale: no quote for {:.1}s",
                quote_age.as_secs_f64()
            ));
        }
        if state == TradingState::Halted {
            not_ready.push("trading halted".into());
        }
        if let Some(failing) = journal_failing {
            not_ready.push(format!("persistence: {failing}"));
        }
        if let Some(stalled) = journal_stalled {
            not_ready.push(format!("persistence: {stalled}"));
        }
        not_ready.extend(too_far_behind);
        not_ready.extend(mismatch);
        Assessment {
            stalled: stalled.iter().map(|(name, _)| (*name).to_owned()).collect(),
            not_ready,
            components,
        }
    }

    /// The overall status: the worst component's.
    pub fn status(&self) -> Status {
        self.components
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Healthy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hot_path_is_sampled_at_most_once_per_interval_however_often_asked() {
        let mut cadence = Cadence::default();
        let start = Instant::now();
        assert!(cadence.due(start), "the first look reads");
        let asked = (1..1000)
            .map(|i| start + SAMPLE_EVERY * i / 1000)
            .filter(|&now| cadence.due(now))
            .count();
        assert_eq!(
            asked, 0,
            "a thousand requests within one interval read nothing"
        );
        assert!(cadence.due(start + SAMPLE_EVERY));
        assert!(!cadence.due(start + SAMPLE_EVERY + SAMPLE_EVERY / 2));
        assert!(cadence.due(start + SAMPLE_EVERY * 3));
    }
}
