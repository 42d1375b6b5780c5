//! The network feed's log lines: its changes of state (in sequence, a gap
//! opened, a gap filled, a book that refused a change, a new session) as
//! they happen, and what it dropped or doubted, added up over at most a
//! second. The hot path publishes; the main thread reads and writes the
//! log here, so no line is ever made on the feed stage.

use std::time::{Duration, Instant};

use redline_engine::feed::{Count, FeedReport, FeedState};

use crate::http::Network;
use crate::log::Log;

/// What the feed's log has said so far.
pub struct FeedLog {
    network: Network,
    /// The report the last line was made from.
    said: FeedReport,
    /// When the dropped-input counts were last told.
    told: Instant,
    log: Log,
}

/// The counts of input dropped or doubted, told together.
const DOUBTS: [Count; 7] = [
    Count::Malformed,
    Count::Foreign,
    Count::Duplicate,
    Count::UnknownOrders,
    Count::BookRefusals,
    Count::Overdrawn,
    Count::SocketErrors,
];

impl FeedLog {
    /// Watches `network`, logging to `log`.
    pub fn new(network: Network, log: Log) -> FeedLog {
        FeedLog {
            said: network.stats.read(),
            network,
            told: Instant::now(),
            log,
        }
    }

    fn session(report: &FeedReport) -> String {
        report
            .session
            .map_or_else(String::new, |s| String::from_utf8_lossy(&s).into_owned())
    }

    /// Logs what changed since the last call.
    pub fn tick(&mut self, now: Instant) {
        let r = self.network.stats.read();
        if r.session != self.said.session && self.said.session.is_some() {
            self.log
                .info("feed: a new session; the books start empty")
                .field("session", Self::session(&r))
                .emit();
        }
        if r.state != self.said.state
            || r.get(Count::Gaps) != self.said.get(Count::Gaps)
            || r.get(Count::Recoveries) != self.said.get(Count::Recoveries)
        {
            self.state_changed(&r);
        }
        if now.duration_since(self.told) >= Duration::from_secs(1) {
            let deltas: Vec<_> = DOUBTS
                .iter()
                .map(|&c| (c, r.get(c) - self.said.get(c)))
                .filter(|&(_, d)| d > 0)
                .collect();
            if !deltas.is_empty() {
                let mut event = self.log.warn("feed: input dropped or doubted");
                for (count, delta) in deltas {
                    event = event.field(count.name(), delta);
                }
                event.field("session", Self::session(&r)).emit();
            }
            self.told = now;
            self.said = r;
        } else {
            // Only the state moves on; the counts wait for their second.
            self.said.state = r.state;
            self.said.session = r.session;
            self.said.counts[Count::Gaps as usize] = r.get(Count::Gaps);
            self.said.counts[Count::Recoveries as usize] = r.get(Count::Recoveries);
        }
    }

    /// Logs the gaps opened and filled since the last line (a gap may
    /// open and fill between two calls), and the first sequence and a
    /// full book.
    fn state_changed(&self, r: &FeedReport) {
        let session = Self::session(r);
        let said = &self.said;
        let opened = r.get(Count::Gaps) - said.get(Count::Gaps);
        let filled = r.get(Count::Recoveries) - said.get(Count::Recoveries);
        if opened > 0 {
            let asking = self.network.retransmit.map_or_else(
                || "nobody: feed.itch.retransmit is empty, so the gap stays open".to_owned(),
                |server| format!("the re-request server at {server}"),
            );
            self.log
                .warn("feed: sequence gap; no quotes until it is filled")
                .field("session", session.as_str())
                .field("gaps", opened)
                .field("next_message", r.next)
                .field("missing", r.behind)
                .field("asking", asking)
                .emit();
        }
        match r.state {
            FeedState::InSequence if filled > 0 => self
                .log
                .info("feed: gap filled; quoting again")
                .field("session", session)
                .field("gaps_filled", filled)
                .field("next_message", r.next)
                .field("requests", r.get(Count::Requests))
                .field("held_packets", r.get(Count::Held))
                .emit(),
            FeedState::InSequence if said.state == FeedState::Waiting => self
                .log
                .info("feed: in sequence")
                .field("session", session)
                .field("next_message", r.next)
                .emit(),
            FeedState::Stopped if said.state != FeedState::Stopped => self
                .log
                .error(
                    "feed: a book refused a change; no quotes until the next session (raise \
                     feed.itch.max_orders or max_levels)",
                )
                .field("session", session)
                .field("orders", r.orders)
                .emit(),
            _ => {}
        }
    }
}
