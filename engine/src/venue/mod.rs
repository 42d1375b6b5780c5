//! Venues: where orders go. The simulated venue, which the embedded
//! default trades against, and the FIX 4.4 gateway to a real one; the path
//! holds either as a [`Venue`].

pub mod fix;
mod sim;
mod status;

pub use sim::{SimVenue, SimVenueConfig, MAX_REPORTS_PER_INTENT};
pub use status::VenueStatus;

use crate::domain::{ExecReport, Intent, Quote};

/// The venue the path sends to. Each call costs what the venue's own
/// does: nothing beyond memory for the simulated one, the gateway's
/// socket I/O for FIX.
#[derive(Debug)]
pub enum Venue {
    /// The simulated venue.
    Sim(SimVenue),
    /// A real venue over FIX.
    Fix(Box<fix::FixVenue>),
}

impl Venue {
    /// Whether it takes orders now, shared: the FIX gateway keeps it as
    /// its session comes and goes; the simulated venue's is always up.
    pub fn status(&self) -> VenueStatus {
        match self {
            Venue::Sim(_) => VenueStatus::up(),
            Venue::Fix(venue) => venue.status(),
        }
    }

    /// Sends an intent at path time `now`; a refusal made at once (at
    /// most one report) comes through `out`. A FIX venue's bytes wait for
    /// [`Venue::flush`], so that the intents one event makes leave in one
    /// write.
    #[inline]
    pub fn submit(&mut self, intent: Intent, now: u64, out: impl FnMut(ExecReport)) {
        match self {
            Venue::Sim(venue) => venue.submit(intent, now, out),
            Venue::Fix(venue) => venue.submit(intent, now, out),
        }
    }

    /// Sends what [`Venue::submit`] left waiting; the path calls it after
    /// each event. Nothing to do for the simulated venue.
    #[inline]
    pub fn flush(&mut self) {
        if let Venue::Fix(venue) = self {
            venue.flush_now();
        }
    }

    /// Ends the venue's session for a clean stop: a FIX venue logs out
    /// and waits (at most a second) for the answer. The path's stage calls
    /// it after its last poll; nothing to do for the simulated venue.
    pub fn close(&mut self) {
        if let Venue::Fix(venue) = self {
            venue.close(std::time::Duration::from_secs(1));
        }
    }

    /// Takes the venue's answers due by `now`, at most what `room` holds
    /// ([`MAX_REPORTS_PER_INTENT`] at a time for the simulated venue);
    /// returns the work done.
    #[inline]
    pub fn poll(&mut self, now: u64, room: usize, out: impl FnMut(ExecReport)) -> usize {
        match self {
            Venue::Sim(venue) => venue.poll(now, room, out),
            Venue::Fix(venue) => venue.poll(now, room, out),
        }
    }

    /// Shows the venue the market: the simulated venue fills resting
    /// orders against it (at most `room`); a real venue has its own.
    #[inline]
    pub fn on_quote(&mut self, quote: &Quote, room: usize, out: impl FnMut(ExecReport)) -> usize {
        match self {
            Venue::Sim(venue) => venue.on_quote(quote, room, out),
            Venue::Fix(_) => 0,
        }
    }
}
