//! Venues: where orders go. So far the simulated venue, which the embedded
//! default trades against.

mod sim;

pub use sim::{SimVenue, SimVenueConfig, MAX_REPORTS_PER_INTENT};
