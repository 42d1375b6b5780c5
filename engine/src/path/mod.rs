//! The decision path: market data in, decisions out, as stages the runtime
//! runs in either topology, and the counters it publishes.

mod counters;
mod decide;
mod stages;

pub use counters::PathCounters;
pub use decide::Decide;
pub use stages::{DecideStage, FeedStage, FusedPath, BATCH};
