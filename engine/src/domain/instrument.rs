//! Instruments: what config says about each traded symbol, checked and
//! turned into the integer units the hot path uses.

use serde::{Deserialize, Serialize};

use super::decimal::Decimal;
use super::units::{InstrumentId, Price, Qty};

/// One `[[instruments]]` table of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSpec {
    /// The venue's symbol; unique.
    pub symbol: String,
    /// The price increment (`"0.25"`); prices are whole multiples of it.
    pub tick_size: Decimal,
    /// The quantity increment (`"1"`); quantities are whole multiples of it.
    pub lot_size: Decimal,
    /// Currency per unit of price per unit of quantity (`"50"` for a future
    /// worth 50 per point).
    pub multiplier: Decimal,
    /// Where the synthetic feed starts the mid and where risk checks begin
    /// before the first quote; a whole number of ticks.
    pub reference_price: Decimal,
}

/// A checked instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// Its index in [`Instruments`].
    pub id: InstrumentId,
    /// As configured.
    pub spec: InstrumentSpec,
    /// The reference price in ticks.
    pub reference: Price,
}

impl Instrument {
    /// A price in ticks as a decimal, for display.
    pub fn price(&self, ticks: Price) -> Decimal {
        Decimal::times(self.spec.tick_size, ticks.0).expect("ticks within i64 fit i128")
    }

    /// A quantity in lots as a decimal, for display.
    pub fn quantity(&self, lots: Qty) -> Decimal {
        Decimal::times(self.spec.lot_size, lots.0).expect("lots within i64 fit i128")
    }

    /// A decimal price in ticks, if it is on a tick.
    pub fn ticks(&self, price: Decimal) -> Option<Price> {
        price.whole_multiples_of(self.spec.tick_size).map(Price)
    }

    /// A decimal quantity in lots, if it is a whole number of lots.
    pub fn lots(&self, quantity: Decimal) -> Option<Qty> {
        quantity.whole_multiples_of(self.spec.lot_size).map(Qty)
    }
}

/// The configured instruments, indexed by [`InstrumentId`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Instruments(Vec<Instrument>);

/// One thing wrong with an instrument table: its index, field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentError {
    /// Position in the `[[instruments]]` list.
    pub index: usize,
    /// The offending key.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Instruments {
    /// Checks every spec and assigns ids in order; returns every problem.
    pub fn new(specs: &[InstrumentSpec]) -> Result<Instruments, Vec<InstrumentError>> {
        let mut errors = Vec::new();
        let mut error = |index, field, message: String| {
            errors.push(InstrumentError {
                index,
                field,
                message,
            })
        };
        if specs.is_empty() {
            error(0, "symbol", "at least one instrument is needed".into());
        }
        if specs.len() > usize::from(u16::MAX) {
            error(
                0,
                "symbol",
                format!("{} instruments; at most 65535", specs.len()),
            );
        }
        let mut instruments = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            if spec.symbol.trim().is_empty() {
                error(index, "symbol", "must not be empty".into());
            } else if specs[..index].iter().any(|s| s.symbol == spec.symbol) {
                error(
                    index,
                    "symbol",
                    format!("`{}` is listed twice", spec.symbol),
                );
            }
            for (field, value) in [
                ("tick_size", spec.tick_size),
                ("lot_size", spec.lot_size),
                ("multiplier", spec.multiplier),
                ("reference_price", spec.reference_price),
            ] {
                if !value.is_positive() {
                    error(index, field, format!("must be greater than 0, got {value}"));
                }
            }
            let reference = spec.reference_price.whole_multiples_of(spec.tick_size);
            if reference.is_none() && spec.tick_size.is_positive() {
                error(
                    index,
                    "reference_price",
                    format!(
                        "{} is not a whole number of ticks of {}",
                        spec.reference_price, spec.tick_size
                    ),
                );
            }
            instruments.push(Instrument {
                id: InstrumentId(index as u16),
                spec: spec.clone(),
                reference: Price(reference.unwrap_or_default()),
            });
        }
        if errors.is_empty() {
            Ok(Instruments(instruments))
        } else {
            Err(errors)
        }
    }

    /// All of them, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never, once checked).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The instrument with this id.
    ///
    /// # Panics
    ///
    /// If the id is not one of these instruments'.
    pub fn get(&self, id: InstrumentId) -> &Instrument {
        &self.0[id.index()]
    }

    /// The instrument with this symbol.
    pub fn by_symbol(&self, symbol: &str) -> Option<&Instrument> {
        self.0.iter().find(|i| i.spec.symbol == symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(symbol: &str, tick: &str, reference: &str) -> InstrumentSpec {
        InstrumentSpec {
            symbol: symbol.into(),
            tick_size: tick.parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "50".parse().unwrap(),
            reference_price: reference.parse().unwrap(),
        }
    }

    #[test]
    fn converts_between_decimals_and_ticks_exactly() {
        let all = Instruments::new(&[spec("ES", "0.25", "5000.00")]).unwrap();
        let es = all.by_symbol("ES").unwrap();
        assert_eq!(es.reference, Price(20_000));
        assert_eq!(es.ticks("5000.75".parse().unwrap()), Some(Price(20_003)));
        assert_eq!(es.ticks("5000.10".parse().unwrap()), None, "off tick");
        assert_eq!(es.price(Price(20_003)).to_string(), "5000.75");
        assert_eq!(es.lots("3".parse().unwrap()), Some(Qty(3)));
        assert_eq!(es.quantity(Qty(-2)).to_string(), "-2");
    }

    #[test]
    fn every_bad_field_is_reported_with_its_index() {
        let mut zero_tick = spec("B", "0", "1");
        zero_tick.multiplier = "-1".parse().unwrap();
        let errors = Instruments::new(&[
            spec("A", "0.25", "100.10"),
            zero_tick,
            spec("A", "0.01", "1"),
            spec(" ", "0.01", "1"),
        ])
        .unwrap_err();
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.index, e.field)).collect();
        assert_eq!(
            found,
            [
                (0, "reference_price"),
                (1, "tick_size"),
                (1, "multiplier"),
                (2, "symbol"),
                (3, "symbol"),
            ]
        );
        assert!(
            errors[0].message.contains("not a whole number of ticks"),
            "{:?}",
            errors[0]
        );
        assert!(
            errors[3].message.contains("listed twice"),
            "{:?}",
            errors[3]
        );
    }

    #[test]
    fn no_instruments_is_an_error() {
        assert!(Instruments::new(&[]).is_err());
    }
}
