//! Market data sources: what the feed stage polls for quotes.

mod rng;
mod synthetic;

pub use rng::SplitMix64;
pub use synthetic::{SyntheticConfig, SyntheticFeed};
