//! Pre-trade risk: the limits from config, the trading state, the order
//! throttle, and the gate every intent passes before anything is sent.
//! Each check is a small function with a stable reason code
//! ([`crate::domain::Reject`]); all of them fail closed. What the gate
//! holds is published to the control plane as a [`RiskSnapshot`].

mod gate;
mod ledger;
mod limits;
mod snapshot;
mod throttle;
mod trading_state;

pub use gate::{LimitsRefused, OpenOrder, RiskGate};
pub use ledger::{LaneLedger, Ledger};
pub use limits::RiskLimits;
pub use snapshot::{InstrumentRisk, RiskSnapshot};
pub use throttle::TokenBucket;
pub use trading_state::TradingState;
