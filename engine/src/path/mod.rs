//! The decision path: market data in, strategy and risk in the decide
//! stage, orders out to the venue and its reports back, as stages the
//! runtime runs in either topology; the operator's commands in; and what
//! it publishes.

mod counters;
mod decide;
mod operation;
mod outbox;
mod stages;
mod time;
mod wiring;

pub use counters::{PathCounters, RingGauge};
pub use decide::{Decide, MAX_INTENTS, RECORDS_PER_EVENT};
pub use outbox::{Outbox, Outgoing, VenueLink};
pub use stages::{DecideStage, FeedStage, FusedPath, GatewayStage, BATCH};
pub use time::TimeSource;
pub use wiring::{PathParts, Pipeline, RingSizes};
