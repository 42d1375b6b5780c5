//! The FIX venue's log lines: a session logged on, the link gone down
//! (and why, with the orders it leaves in doubt; once per reason until the
//! next logon), and what the venue sent
//! that could not be taken or refused of redline's, added up over at most
//! a second. The gateway publishes; the main thread reads and writes the
//! log here, so no line is ever made on a hot-path stage.

use std::time::{Duration, Instant};

use redline_engine::venue::fix::{LinkCount, LinkEnd, LinkReport};

use crate::http::VenueLink;
use crate::log::Log;

/// Counts told together when they move.
const DOUBTS: [LinkCount; 6] = [
    LinkCount::Garbled,
    LinkCount::BadReports,
    LinkCount::SessionRejects,
    LinkCount::OffTickPrices,
    LinkCount::RefusedDown,
    LinkCount::LostOrders,
];

/// What the venue's log has said so far.
pub struct VenueLog {
    link: VenueLink,
    said: LinkReport,
    told: Instant,
    /// Whether failed connects were told since the last logon.
    complained: bool,
    /// Why the link went down, as last told.
    down_told: Option<LinkEnd>,
    /// Whether a session logged on since that was told.
    logged_on_since_down: bool,
    log: Log,
}

impl VenueLog {
    /// Watches `link`, logging to `log`; what the gateway did before
    /// (it may have logged on already) is told at the first tick.
    pub fn new(link: VenueLink, log: Log) -> VenueLog {
        VenueLog {
            said: LinkReport::default(),
            link,
            told: Instant::now(),
            complained: false,
            down_told: None,
            logged_on_since_down: true,
            log,
        }
    }

    /// Logs what changed since the last call.
    pub fn tick(&mut self, now: Instant) {
        let r = self.link.stats.read();
        let logons = r.get(LinkCount::Logons) - self.said.get(LinkCount::Logons);
        let downs = r.get(LinkCount::Disconnects) - self.said.get(LinkCount::Disconnects);
        let failed = r.get(LinkCount::ConnectFailures) - self.said.get(LinkCount::ConnectFailures);
        // Once per reason until the next logon: a venue that refuses every
        // Logon, tried again each backoff, is told of once.
        if downs > 0 && (self.logged_on_since_down || r.last_end != self.down_told) {
            self.logged_on_since_down = false;
            self.down_told = r.last_end;
            let why = r.last_end.map_or("unknown", |end| end.describe());
            self.log
                .warn("venue: FIX link down; new orders are refused VENUE_DOWN until it is back")
                .field("address", self.link.address.as_str())
                .field("why", why)
                .field("venue_said", r.venue_said())
                .field("open_orders", r.open_orders)
                .emit();
        }
        if failed > 0 && !self.complained {
            // Once until the next logon, not at every attempt: the backoff
            // tries on quietly.
            self.complained = true;
            self.log
                .warn("venue: cannot connect; trying again with a growing backoff")
                .field("address", self.link.address.as_str())
                .emit();
        }
        if logons > 0 {
            self.complained = false;
            self.logged_on_since_down = true;
            self.log
                .info("venue: FIX session logged on")
                .field("address", self.link.address.as_str())
                .field("target", self.link.target.as_str())
                .field("next_out", r.next_out)
                .field("next_in", r.next_in)
                .field("open_orders", r.open_orders)
                .emit();
        }
        if now.duration_since(self.told) >= Duration::from_secs(1) {
            let deltas: Vec<_> = DOUBTS
                .iter()
                .map(|&c| (c, r.get(c) - self.said.get(c)))
                .filter(|&(_, d)| d > 0)
                .collect();
            if !deltas.is_empty() {
                let mut event = self.log.warn("venue: messages refused or doubted");
                for (count, delta) in deltas {
                    event = event.field(count.name(), delta);
                }
                event.field("address", self.link.address.as_str()).emit();
            }
            self.told = now;
            self.said = r;
        } else {
            // The doubts wait for their second; the rest moves on.
            let kept = DOUBTS.map(|c| (c, self.said.get(c)));
            self.said = r;
            for (count, value) in kept {
                self.said.counts[count as usize] = value;
            }
        }
    }
}
