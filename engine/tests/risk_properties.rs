//! Property tests of the risk gate: for random sequences of orders, quotes,
//! fills, cancels and state changes, no accepted order takes a position,
//! the open orders or the gross exposure past its limit, nothing passes
//! while halted, and under reduce-only only what shrinks a position passes.
//! The test keeps its own model of positions and open orders, built from
//! the same events, and checks the gate against it after every step.

use std::collections::BTreeMap;

use proptest::prelude::*;
use redline_engine::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, InstrumentSpec, Instruments, Intent,
    NewOrder, Price, Qty, Quote, Side, TimeInForce,
};
use redline_engine::risk::{RiskGate, RiskLimits, TradingState};

const INSTRUMENTS: usize = 3;
const MAX_POSITION: i64 = 20;
const MAX_OPEN: usize = 6;
/// In currency; the value of a tick-lot is 1, mids are near 100.
const MAX_GROSS: i64 = 6000;

#[derive(Debug, Clone)]
enum Op {
    Order {
        instrument: u16,
        buy: bool,
        offset: i64,
        qty: i64,
    },
    Quote {
        instrument: u16,
        bid: i64,
    },
    Fill {
        pick: usize,
        quarters: i64,
    },
    Cancel {
        pick: usize,
    },
    State(u8),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..INSTRUMENTS as u16, any::<bool>(), -8i64..=8, 1i64..=12)
            .prop_map(|(instrument, buy, offset, qty)| Op::Order { instrument, buy, offset, qty }),
        2 => (0..INSTRUMENTS as u16, 60i64..=140).prop_map(|(instrument, bid)| Op::Quote { instrument, bid }),
        2 => (any::<usize>(), 1i64..=4).prop_map(|(pick, quarters)| Op::Fill { pick, quarters }),
        1 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => (0u8..3).prop_map(Op::State),
        1 => (0u64..400).prop_map(Op::Advance),
    ]
}

fn limits() -> RiskLimits {
    RiskLimits {
        max_order_qty: 12,
        max_order_notional: "5000".parse().unwrap(),
        price_collar_bps: 1000,
        max_position: MAX_POSITION,
        max_gross_exposure: MAX_GROSS.to_string().parse().unwrap(),
        max_open_orders: MAX_OPEN,
        orders_per_second: 1_000_000,
        order_burst: 1000,
        instrument_orders_per_second: 1_000_000,
        instrument_order_burst: 1000,
        max_daily_loss: "1000000".parse().unwrap(),
        stale_quote_ms: 1000,
    }
}

fn instruments() -> Instruments {
    let specs: Vec<InstrumentSpec> = (0..INSTRUMENTS)
        .map(|i| InstrumentSpec {
            symbol: format!("I{i}"),
            tick_size: "1".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        })
        .collect();
    Instruments::new(&specs).unwrap()
}

/// What the test believes, from the events alone.
struct Model {
    positions: [i64; INSTRUMENTS],
    mids_x2: [i64; INSTRUMENTS],
    open: BTreeMap<u64, (usize, Side, i64, i64)>,
}

impl Model {
    fn open_lots(&self, instrument: usize) -> (i64, i64) {
        self.open
            .values()
            .filter(|o| o.0 == instrument)
            .fold((0, 0), |(buy, sell), o| match o.1 {
                Side::Buy => (buy + o.3, sell),
                Side::Sell => (buy, sell + o.3),
            })
    }

    fn worst(&self, instrument: usize) -> i64 {
        let (buy, sell) = self.open_lots(instrument);
        let position = self.positions[instrument];
        (position + buy).abs().max((position - sell).abs())
    }

    /// Twice the gross exposure in currency.
    fn gross_x2(&self) -> i64 {
        (0..INSTRUMENTS)
            .map(|i| self.worst(i) * self.mids_x2[i])
            .sum()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_accepted_order_passes_a_limit(ops in proptest::collection::vec(op(), 1..200)) {
        let mut gate = RiskGate::new(&limits(), &instruments(), 1000.0, 0).unwrap();
        let mut model = Model {
            positions: [0; INSTRUMENTS],
            mids_x2: [200; INSTRUMENTS],
            open: BTreeMap::new(),
        };
        let (mut now, mut next_id) = (0u64, 1u64);
        for i in 0..INSTRUMENTS {
            gate.on_quote(&Quote { instrument: InstrumentId(i as u16), bid: Price(99), ask: Price(101), ..Quote::default() });
        }
        for op in ops {
            match op {
                Op::Order { instrument, buy, offset, qty } => {
                    let index = usize::from(instrument);
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let price = (model.mids_x2[index] / 2 + offset).max(1);
                    let order = NewOrder {
                        id: ClientOrderId(next_id),
                        instrument: InstrumentId(instrument),
                        side,
                        price: Price(price),
                        qty: Qty(qty),
                        tif: TimeInForce::Limit,
                    };
                    next_id += 1;
                    let state = gate.state();
                    let position_before = model.positions[index];
                    let (open_buy, open_sell) = model.open_lots(index);
                    if gate.check(&Intent::New(order), now).is_ok() {
                        prop_assert_ne!(state, TradingState::Halted, "an order passed while halted");
                        if state == TradingState::ReduceOnly {
                            let shrinks = match side {
                                Side::Buy => position_before < 0 && position_before + open_buy + qty <= 0,
                                Side::Sell => position_before > 0 && position_before - open_sell - qty >= 0,
                            };
                            prop_assert!(shrinks, "reduce-only let through {order:?} at {position_before}");
                        }
                        model.open.insert(order.id.0, (index, side, price, qty));
                        prop_assert!(model.gross_x2() <= 2 * MAX_GROSS, "gross exposure passed its limit");
                    }
                }
                Op::Quote { instrument, bid } => {
                    gate.on_quote(&Quote {
                        instrument: InstrumentId(instrument),
                        bid: Price(bid),
                        ask: Price(bid + 2),
                        received: now,
                        ..Quote::default()
                    });
                    model.mids_x2[usize::from(instrument)] = 2 * bid + 2;
                }
                Op::Fill { pick, quarters } => {
                    if model.open.is_empty() { continue; }
                    let id = *model.open.keys().nth(pick % model.open.len()).unwrap();
                    let (index, side, price, leaves) = model.open[&id];
                    let filled = (leaves * quarters / 4).max(1);
                    let kind = if filled == leaves { ExecKind::Fill } else { ExecKind::PartialFill };
                    gate.on_report(&ExecReport {
                        id: ClientOrderId(id),
                        instrument: InstrumentId(index as u16),
                        side,
                        kind,
                        price: Price(price),
                        filled: Qty(filled),
                        leaves: Qty(leaves - filled),
                    });
                    model.positions[index] += side.sign() * filled;
                    if filled == leaves {
                        model.open.remove(&id);
                    } else {
                        model.open.get_mut(&id).unwrap().3 -= filled;
                    }
                }
                Op::Cancel { pick } => {
                    if model.open.is_empty() { continue; }
                    let id = *model.open.keys().nth(pick % model.open.len()).unwrap();
                    prop_assert!(gate.check(&Intent::Cancel(ClientOrderId(id)), now).is_ok(), "cancels always pass");
                    let (index, side, price, leaves) = model.open.remove(&id).unwrap();
                    gate.on_report(&ExecReport {
                        id: ClientOrderId(id),
                        instrument: InstrumentId(index as u16),
                        side,
                        kind: ExecKind::Cancelled,
                        price: Price(price),
                        filled: Qty(0),
                        leaves: Qty(leaves),
                    });
                }
                Op::State(s) => gate.set_state(match s {
                    0 => TradingState::Active,
                    1 => TradingState::ReduceOnly,
                    _ => TradingState::Halted,
                }),
                Op::Advance(ms) => now += ms,
            }
            // After every step: the gate agrees with the model, and every
            // limit holds with all open orders counted as filled.
            prop_assert!(model.open.len() <= MAX_OPEN);
            prop_assert_eq!(gate.open_orders(), model.open.len());
            for index in 0..INSTRUMENTS {
                prop_assert_eq!(gate.positions()[index], Qty(model.positions[index]));
                prop_assert_eq!(gate.open_lots(InstrumentId(index as u16)), model.open_lots(index));
                prop_assert!(model.worst(index) <= MAX_POSITION, "position limit passed in {index}");
            }
        }
    }
}
