//! The risk gate's state as the control plane reads it: P&L split into
//! realized and unrealized, and since the trading day began, open orders,
//! whether a restart still awaits its marks, and each instrument's position,
//! open lots, exposure and unrealized P&L. The decide stage writes it into
//! a [`SeqLock`] as words; readers decode a consistent copy. The open
//! orders go into a second seqlock, read only by the admin endpoint that
//! lists them.

use super::gate::{OpenOrder, RiskGate};
use crate::domain::{ClientOrderId, InstrumentId, Price, Side};
use crate::seqlock::{SeqLock, Words};

/// Words before the first instrument's.
const HEADER: usize = 5;
/// Words per instrument.
const PER_INSTRUMENT: usize = 5;
/// Words per open order: id, instrument and side, price, leaves.
const PER_ORDER: usize = 4;

/// One instrument's risk state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstrumentRisk {
    /// Net position, in lots.
    pub position: i64,
    /// Lots in open buy orders.
    pub open_buy: i64,
    /// Lots in open sell orders.
    pub open_sell: i64,
    /// The position's absolute value at the mid, in nano-units of the
    /// account currency.
    pub exposure_nanos: i64,
    /// The position marked to the mid less its average cost, in nano-units.
    pub unrealized_nanos: i64,
}

/// The risk gate's state at one moment (values past the `i64` range are
/// saturated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskSnapshot {
    /// P&L of closed lots, in nano-units of the account currency.
    pub realized_nanos: i64,
    /// P&L of open positions, in nano-units.
    pub unrealized_nanos: i64,
    /// Orders let through and not finished.
    pub open_orders: u64,
    /// P&L since the trading day began (what the daily loss limit counts),
    /// in nano-units.
    pub day_pnl_nanos: i64,
    /// A restart still awaits a quote of a held instrument: only orders
    /// that shrink a position pass, and the loss check waits.
    pub awaiting_marks: bool,
    /// Each instrument's state, by instrument id.
    pub instruments: Vec<InstrumentRisk>,
}

impl RiskSnapshot {
    /// The seqlock words a snapshot of `instruments` takes.
    pub fn words(instruments: usize) -> usize {
        HEADER + PER_INSTRUMENT * instruments
    }

    /// Realized plus unrealized P&L, in nano-units.
    pub fn pnl_nanos(&self) -> i64 {
        self.realized_nanos.saturating_add(self.unrealized_nanos)
    }

    /// The sum of every instrument's exposure, in nano-units.
    pub fn gross_exposure_nanos(&self) -> i64 {
        self.instruments
            .iter()
            .fold(0i64, |sum, i| sum.saturating_add(i.exposure_nanos))
    }

    /// Writes `gate`'s state into `lock` (sized by [`RiskSnapshot::words`]
    /// for the gate's instruments). Never allocates.
    pub fn publish(gate: &RiskGate, lock: &SeqLock) {
        lock.write(|words| {
            set(words, 0, saturate(gate.realized_nanos()));
            set(words, 1, saturate(gate.unrealized_nanos()));
            words.set(2, gate.open_orders() as u64);
            set(words, 3, saturate(gate.day_pnl_nanos()));
            words.set(4, u64::from(gate.awaiting_marks()));
            for index in 0..gate.instruments() {
                let id = InstrumentId(index as u16);
                let (open_buy, open_sell) = gate.open_lots(id);
                let at = HEADER + PER_INSTRUMENT * index;
                set(words, at, gate.positions()[index].0);
                set(words, at + 1, open_buy);
                set(words, at + 2, open_sell);
                set(words, at + 3, saturate(gate.exposure_nanos(id)));
                set(
                    words,
                    at + 4,
                    saturate(gate.instrument_unrealized_nanos(id)),
                );
            }
        });
    }

    /// The seqlock words the open orders take when at most `max_open` are
    /// open.
    pub fn order_words(max_open: usize) -> usize {
        1 + PER_ORDER * max_open
    }

    /// Writes `gate`'s open orders into `lock` (sized by
    /// [`RiskSnapshot::order_words`] for the gate's capacity): only the
    /// orders open are written. Never allocates.
    pub fn publish_orders(gate: &RiskGate, lock: &SeqLock) {
        lock.write(|words| {
            let orders = gate.orders();
            words.set(0, orders.len() as u64);
            for (index, order) in orders.iter().enumerate() {
                let at = 1 + PER_ORDER * index;
                let side = match order.side {
                    Side::Buy => 0,
                    Side::Sell => 1,
                };
                words.set(at, order.id.0);
                words.set(at + 1, u64::from(order.instrument.0) | side << 16);
                set(words, at + 2, order.price.0);
                set(words, at + 3, order.leaves);
            }
        });
    }

    /// Reads the open orders last published into `lock`; `None` when the
    /// writer was stopped part-way through.
    pub fn read_orders(lock: &SeqLock) -> Option<Vec<OpenOrder>> {
        let mut words = vec![0u64; lock.len()];
        if !lock.read(&mut words) {
            return None;
        }
        let count = (words[0] as usize).min((words.len() - 1) / PER_ORDER);
        let orders = (0..count)
            .map(|index| {
                let at = 1 + PER_ORDER * index;
                OpenOrder {
                    id: ClientOrderId(words[at]),
                    instrument: InstrumentId(words[at + 1] as u16),
                    side: if words[at + 1] >> 16 & 1 == 0 {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                    price: Price(words[at + 2] as i64),
                    leaves: words[at + 3] as i64,
                }
            })
            .collect();
        Some(orders)
    }

    /// Reads the latest snapshot from `lock`; `None` when the writer was
    /// stopped part-way through one.
    pub fn read(lock: &SeqLock) -> Option<RiskSnapshot> {
        let mut words = vec![0u64; lock.len()];
        if !lock.read(&mut words) {
            return None;
        }
        let signed = |at: usize| words[at] as i64;
        let instruments = (HEADER..words.len())
            .step_by(PER_INSTRUMENT)
            .map(|at| InstrumentRisk {
                position: signed(at),
                open_buy: signed(at + 1),
                open_sell: signed(at + 2),
                exposure_nanos: signed(at + 3),
                unrealized_nanos: signed(at + 4),
            })
            .collect();
        Some(RiskSnapshot {
            realized_nanos: signed(0),
            unrealized_nanos: signed(1),
            open_orders: words[2],
            day_pnl_nanos: signed(3),
            awaiting_marks: words[4] != 0,
            instruments,
        })
    }
}

/// Stores a signed value in a word, bit for bit.
fn set(words: &mut Words<'_>, at: usize, value: i64) {
    words.set(at, value as u64);
}

fn saturate(value: i128) -> i64 {
    value.clamp(i64::MIN.into(), i64::MAX.into()) as i64
}
