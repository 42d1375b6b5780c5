//! The trading domain in hot-path form: instruments, prices in ticks,
//! quantities in lots, and the events that carry them. Decimals exist only
//! at the edges ([`Decimal`]).

mod decimal;
mod instrument;
mod quote;
mod units;

pub use decimal::{Decimal, ParseDecimalError};
pub use instrument::{Instrument, InstrumentError, InstrumentSpec, Instruments};
pub use quote::Quote;
pub use units::{InstrumentId, Price, Qty};
