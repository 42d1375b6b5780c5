//! The engine's trading state: what the kill switch and the daily loss
//! limit drive.

use serde::{Deserialize, Serialize};

/// Whether, and how, the engine may trade.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
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
    /// Every state, in code order.
    pub const ALL: [TradingState; 3] = [
        TradingState::Active,
        TradingState::ReduceOnly,
        TradingState::Halted,
    ];

    /// The name used in config, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            TradingState::Active => "active",
            TradingState::ReduceOnly => "reduce-only",
            TradingState::Halted => "halted",
        }
    }

    /// A small number for an atomic: 0, 1, 2.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The state of a [`TradingState::code`]; an unknown code reads as
    /// `Halted`, which fails safe.
    pub fn from_code(code: u8) -> TradingState {
        match code {
            0 => TradingState::Active,
            1 => TradingState::ReduceOnly,
            _ => TradingState::Halted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TradingState;

    #[test]
    fn codes_round_trip() {
        for state in [
            TradingState::Active,
            TradingState::ReduceOnly,
            TradingState::Halted,
        ] {
            assert_eq!(TradingState::from_code(state.code()), state);
        }
    }
}
