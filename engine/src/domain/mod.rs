//! The trading domain in hot-path form: instruments, prices in ticks,
//! quantities in lots, orders and their reports, refusal codes, and the
//! events that carry them. Decimals exist only
//! at the edges ([`Decimal`]).

mod decimal;
mod instrument;
mod order;
mod quote;
mod reject;
mod units;

pub use decimal::{Decimal, ParseDecimalError, MAX_SCALE};
pub use instrument::{Instrument, InstrumentError, InstrumentSpec, Instruments};
pub use order::{ClientOrderId, ExecKind, ExecReport, Intent, NewOrder, Side, TimeInForce};
pub use quote::Quote;
pub use reject::Reject;
pub use units::{InstrumentId, Price, Qty};
