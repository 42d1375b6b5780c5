//! The gate's ledger: what a restore from the journal rebuilds in a risk
//! gate (each instrument's position and what it cost, the cash flow, the
//! open orders, the order-id floor, the P&L the trading day began from),
//! as a value that can be kept in a journal checkpoint and loaded into a
//! fresh gate. Marks, quotes, throttles and counts are not in it: a
//! restore does not rebuild those either.

use super::gate::OpenOrder;

/// One instrument's part of a [`Ledger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct LaneLedger {
    /// Nano-units per tick per lot when the ledger was taken: a gate whose
    /// instrument is worth something else cannot load it.
    pub value: i128,
    /// The position, in lots.
    pub position: i64,
    /// What the position cost at its average price, in nano-units.
    pub cost: i128,
}

/// A gate's ledger. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Ledger {
    /// By instrument id.
    pub lanes: Vec<LaneLedger>,
    /// Twice the cash flow of all fills, in nano-units.
    pub cash_x2: i128,
    /// Twice the P&L when the trading day began, in nano-units.
    pub day_start_x2: i128,
    /// The orders open, with what each has left.
    pub open: Vec<OpenOrder>,
    /// The highest order id handed out.
    pub last_id: u64,
}
