//! The engine's trading state: what the kill switch and the daily loss
//! limit drive.

use serde::{Deserialize, Serialize};

/// Whether, and how, the engine may trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TradingState {
    /// Orders pass the other checks.
    #[default]
    Active,
    /// Only orders that shrink a position pass.
    ReduceOnly,
    /// No new order passes; cancels still do.
    Halted,
}

impl TradingState {
    /// The name used in config, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            TradingState::Active => "active",
            TradingState::ReduceOnly => "reduce-only",
            TradingState::Halted => "halted",
        }
    }
}
