//! Prices and quantities on the hot path: integer ticks and lots of one
//! instrument. No floats, no decimals: an instrument converts at the edges.

/// A price in ticks of its instrument (`price = ticks * tick_size`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct Price(pub i64);

/// A quantity in lots of its instrument (`quantity = lots * lot_size`);
/// signed, so positions use it too (negative is short).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct Qty(pub i64);

/// An instrument's index in the configured list: what the hot path carries
/// instead of a symbol.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct InstrumentId(pub u16);

impl InstrumentId {
    /// The index into per-instrument tables.
    #[inline]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}
