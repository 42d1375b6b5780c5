//! Venues: where orders go. So far the simulated venue, which the embedded
//! default trades against, and the FIX 4.4 wire format a venue's order
//! entry speaks.

pub mod fix;
mod sim;

pub use sim::{SimVenue, SimVenueConfig, MAX_REPORTS_PER_INTENT};
