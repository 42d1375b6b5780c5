//! The decision path's stages as the runtime runs them. In the fused
//! topology one stage runs the whole path with direct calls; in the
//! pipeline the feed, decide and gateway stages each have a thread, joined
//! by rings.
//!
//! No stage ever drops an item: each takes work only when what it may
//! produce has room downstream, and leaves the rest where it is. The one
//! cycle (decide -> orders -> gateway -> reports -> decide) cannot lock up:
//! the decide stage takes reports whatever room the orders ring has
//! (refusing, with `VENUE_BUSY`, intents that find none), so the gateway
//! always gets room back.

use std::collections::VecDeque;

use super::decide::{Decide, MAX_INTENTS};
use super::outbox::{Outgoing, VenueLink};
use super::time::TimeSource;
use crate::audit::{AuditEvent, AuditLog, Stamps};
use crate::clock;
use crate::domain::{ExecReport, Quote};
use crate::feed::Feed;
use crate::ring;
use crate::stage::Stage;
use crate::venue::{Venue, MAX_REPORTS_PER_INTENT};

/// Events a stage takes per poll at most.
pub const BATCH: usize = 64;

/// The whole path on one thread: feed, decide and venue by direct calls,
/// no ring hop.
pub struct FusedPath {
    feed: Feed,
    decide: Decide,
    venue: Venue,
    /// The venue's answers not yet taken; sized once.
    reports: VecDeque<ExecReport>,
    time: TimeSource,
    /// Path time, in simulated time.
    now: u64,
}

impl FusedPath {
    /// The path from `feed` through `decide` to `venue`, whose answers
    /// queue in a buffer of `report_room` (at least twice the venue's
    /// `max_orders`, so that it never holds the venue back for long).
    pub fn new(
        feed: Feed,
        decide: Decide,
        venue: Venue,
        report_room: usize,
        time: TimeSource,
    ) -> Self {
        FusedPath {
            feed,
            decide,
            venue,
            reports: VecDeque::with_capacity(report_room.max(MAX_REPORTS_PER_INTENT + 1)),
            time,
            now: 0,
        }
    }

    /// The decide stage's state.
    pub fn decide(&self) -> &Decide {
        &self.decide
    }

    /// Whether the feed has nothing more to give.
    pub fn is_finished(&self) -> bool {
        self.feed.is_finished()
    }

    fn now(&mut self) -> u64 {
        match self.time {
            TimeSource::Wall => clock::ticks(),
            TimeSource::Simulated => {
                if let Some(due) = self.feed.next_due() {
                    self.now = self.now.max(due);
                }
                self.now
            }
        }
    }

    /// Takes the venue's queued answers and returns how many; `None` when
    /// the audit ring stopped it before the queue was empty.
    fn take_reports(&mut self, now: u64) -> Option<usize> {
        let mut taken = 0;
        while !self.reports.is_empty() {
            if !self.decide.ready() {
                return None;
            }
            let report = self.reports.pop_front().expect("not empty");
            let mut link = VenueLink {
                venue: &mut self.venue,
                reports: &mut self.reports,
                time: self.time,
            };
            self.decide.on_report(report, now, &mut link);
            taken += 1;
        }
        Some(taken)
    }
}

impl Stage for FusedPath {
    #[inline]
    fn poll(&mut self) -> usize {
        let now = self.now();
        let room = self.reports.capacity() - self.reports.len();
        let mut work = self.venue.poll(now, room, |r| self.reports.push_back(r));
        if self.decide.ready() {
            let mut link = VenueLink {
                venue: &mut self.venue,
                reports: &mut self.reports,
                time: self.time,
            };
            work += self.decide.on_command(now, &mut link);
            self.venue.flush();
        }
        while work < BATCH {
            // Reports first, so that the strategy sees its fills before the
            // next quote.
            let taken = self.take_reports(now);
            self.venue.flush();
            let Some(taken) = taken else {
                break;
            };
            work += taken;
            if !self.decide.ready() {
                break;
            }
            let mut link = VenueLink {
                venue: &mut self.venue,
                reports: &mut self.reports,
                time: self.time,
            };
            if self.decide.on_timer(now, &mut link) {
                self.venue.flush();
                work += 1;
                continue;
            }
            let mut next = None;
            self.feed.poll(now, 1, |quote| next = Some(quote));
            let Some(quote) = next else {
                break;
            };
            self.decide.on_quote(quote, now, &mut link);
            // What the quote made goes out together, at once.
            self.venue.flush();
            // The venue sees the market after the strategy has reacted; its
            // passive fills come back as reports on the next round.
            let room = self.reports.capacity() - self.reports.len();
            let reports = &mut self.reports;
            self.venue.on_quote(&quote, room, |r| reports.push_back(r));
            work += 1;
        }
        if work == 0 {
            self.decide.publish();
        }
        work
    }

    fn finish(&mut self) {
        self.venue.close();
    }
}

/// The pipeline's feed stage: makes quotes only as far as both rings it
/// writes (to the decide stage and to the venue) have room, so a slow
/// reader holds quotes back in the feed (which catches up later) instead of
/// losing them.
pub struct FeedStage {
    /// Market data.
    pub feed: Feed,
    /// To the decide stage.
    pub quotes: ring::Producer<Quote>,
    /// To the gateway stage, for the venue's view of the market.
    pub market: ring::Producer<Quote>,
}

impl Stage for FeedStage {
    #[inline]
    fn poll(&mut self) -> usize {
        let mut to_decide = self.quotes.claim(BATCH);
        let mut to_venue = self.market.claim(to_decide.remaining());
        let room = to_venue.remaining();
        self.feed.poll(clock::ticks(), room, |quote| {
            // `room` slots were claimed in both, so every write fits.
            let _ = to_decide.write(quote);
            let _ = to_venue.write(quote);
        })
    }
}

/// The pipeline's decide stage: reports and quotes in, intents out to the
/// gateway.
pub struct DecideStage {
    /// From the feed stage.
    pub quotes: ring::Consumer<Quote>,
    /// From the gateway stage.
    pub reports: ring::Consumer<ExecReport>,
    /// To the gateway stage.
    pub orders: ring::Producer<Outgoing>,
    /// The state.
    pub decide: Decide,
}

impl Stage for DecideStage {
    #[inline]
    fn poll(&mut self) -> usize {
        let now = clock::ticks();
        let mut work = 0;
        // Reports are taken whatever room the orders ring has (see the
        // module docs).
        while work < BATCH && !self.reports.is_empty() && self.decide.ready() {
            if let Some(report) = self.reports.pop() {
                self.decide.on_report(report, now, &mut self.orders);
                work += 1;
            }
        }
        if self.decide.ready() {
            work += self.decide.on_command(now, &mut self.orders);
        }
        if self.decide.timer_due(now) && self.decide.ready() {
            self.decide.on_timer(now, &mut self.orders);
            work += 1;
        }
        // A quote is taken only with room for every intent it may make.
        let events = self.decide.room_for_events(BATCH);
        let quotes = events.min(self.orders.room(events * MAX_INTENTS) / MAX_INTENTS);
        for quote in self.quotes.drain(quotes) {
            self.decide.on_quote(quote, now, &mut self.orders);
            work += 1;
        }
        if work == 0 {
            self.decide.publish();
        }
        work
    }
}

/// The pipeline's gateway stage: hands intents to the venue and its answers
/// back to the decide stage, and shows the venue the market.
pub struct GatewayStage {
    /// From the decide stage.
    pub orders: ring::Consumer<Outgoing>,
    /// From the feed stage.
    pub market: ring::Consumer<Quote>,
    /// To the decide stage.
    pub reports: ring::Producer<ExecReport>,
    /// The venue.
    pub venue: Venue,
    /// Its own audit log, for `Sent` records.
    pub audit: AuditLog,
}

impl Stage for GatewayStage {
    #[inline]
    fn poll(&mut self) -> usize {
        let now = clock::ticks();
        let mut reports = self.reports.claim(BATCH);
        let venue = &mut self.venue;
        let mut work = venue.poll(now, reports.remaining(), |r| {
            let _ = reports.write(r);
        });
        for quote in self.market.drain(BATCH) {
            // The view always moves on; fills wait for room.
            venue.on_quote(&quote, reports.remaining(), |r| {
                let _ = reports.write(r);
            });
            work += 1;
        }
        // A full venue answers a new order at once: one report each.
        let orders = self.audit.room_for(reports.remaining(), 1);
        for outgoing in self.orders.drain(orders) {
            let stamps = Stamps {
                sent: clock::ticks(),
                ..outgoing.stamps
            };
            self.audit.record(AuditEvent::Sent {
                intent: outgoing.intent,
                stamps,
            });
            venue.submit(outgoing.intent, now, |r| {
                let _ = reports.write(r);
            });
            work += 1;
        }
        // What was waiting in the ring goes out together.
        venue.flush();
        work
    }

    fn finish(&mut self) {
        self.venue.close();
    }
}
