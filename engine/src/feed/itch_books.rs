//! The ITCH books of the configured instruments: an order-by-order book
//! each, fed ITCH 5.0 messages (locate codes learnt from the stock
//! directory and each add's symbol; other stocks' messages passed over),
//! and each top as a quote would carry it, in the instrument's ticks and
//! lots. What the network feed and the ITCH file replay share. Sized at
//! construction; nothing here allocates after.

use super::itch::{self, Message, Stock};
use super::itch_stats::{Count, FeedReport};
use crate::book::{BookError, Books, Resting};
use crate::domain::{Decimal, InstrumentId, Instruments, Price, Qty};

/// A top in ticks and lots: bid, bid lots, ask, ask lots.
pub(crate) type Top = (Price, Qty, Price, Qty);

/// A locate code not seen yet, in [`ItchBooks::locates`].
const UNSEEN: u16 = u16::MAX;
/// A locate code of a stock that is not configured.
const NOT_OURS: u16 = u16::MAX - 1;

/// What ITCH cannot carry for each configured instrument, as `(index,
/// key, message)`: a symbol longer than eight bytes, a tick finer than
/// 0.0001, a lot that is not whole shares.
pub fn instrument_problems(instruments: &Instruments) -> Vec<(usize, &'static str, String)> {
    let mut problems = Vec::new();
    for (index, instrument) in instruments.iter().enumerate() {
        if let Err((key, message)) = Market::of(instrument) {
            problems.push((index, key, message));
        }
    }
    problems
}

/// What the books keep per configured instrument.
#[derive(Debug, Clone)]
pub(crate) struct Market {
    stock: Stock,
    /// Price units (0.0001) per tick.
    tick: u32,
    /// Shares per lot.
    lot: u32,
    /// The top last taken, in ticks and lots.
    pub(crate) top: Option<Top>,
    /// When it was last quoted (clock ticks).
    pub(crate) quoted_at: u64,
}

impl Market {
    fn of(instrument: &crate::domain::Instrument) -> Result<Market, (&'static str, String)> {
        let spec = &instrument.spec;
        let stock = itch::stock(&spec.symbol).ok_or((
            "symbol",
            format!(
                "{:?} is not an ITCH stock symbol (1 to 8 printable ASCII bytes)",
                spec.symbol
            ),
        ))?;
        let tick = itch::price_units(spec.tick_size)
            .filter(|&t| t > 0)
            .ok_or((
                "tick_size",
                format!(
                    "{} is not a whole multiple of ITCH's 0.0001",
                    spec.tick_size
                ),
            ))?;
        let lot = spec
            .lot_size
            .whole_multiples_of(Decimal::new(1, 0))
            .and_then(|l| u32::try_from(l).ok())
            .filter(|&l| l > 0)
            .ok_or((
                "lot_size",
                format!("{} is not a whole number of shares", spec.lot_size),
            ))?;
        Ok(Market {
            stock,
            tick,
            lot,
            top: None,
            quoted_at: 0,
        })
    }

    /// A top in ticks and lots: bids round down and asks up to a tick, so
    /// an off-tick price never narrows the spread; `None` unless both
    /// sides are there and uncrossed.
    fn convert(&self, bid: (u32, u64), ask: (u32, u64)) -> Option<(Price, Qty, Price, Qty)> {
        let bid_ticks = bid.0 / self.tick;
        let ask_ticks = ask.0.div_ceil(self.tick);
        let lots = |shares: u64| Qty((shares / u64::from(self.lot)) as i64);
        (bid_ticks < ask_ticks).then(|| {
            (
                Price(bid_ticks.into()),
                lots(bid.1),
                Price(ask_ticks.into()),
                lots(ask.1),
            )
        })
    }
}

/// The books.
pub(crate) struct ItchBooks {
    books: Books,
    /// Instrument by locate code, or [`UNSEEN`] / [`NOT_OURS`].
    locates: Box<[u16]>,
    markets: Vec<Market>,
    /// Set when a book refused a change for want of room: the books are
    /// incomplete until [`ItchBooks::clear`].
    stopped: bool,
}

impl ItchBooks {
    /// Books for `instruments`, which [`instrument_problems`] must have
    /// passed (else the first problem), holding `max_orders` orders in all
    /// and `max_levels` levels a side.
    pub(crate) fn new(
        instruments: &Instruments,
        max_orders: usize,
        max_levels: usize,
    ) -> Result<ItchBooks, String> {
        let markets = instruments
            .iter()
            .map(|i| Market::of(i).map_err(|(_, why)| why))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ItchBooks {
            books: Books::new(instruments.len(), max_orders, max_levels),
            locates: vec![UNSEEN; 1 << 16].into_boxed_slice(),
            markets,
            stopped: false,
        })
    }

    /// The configured instruments.
    pub(crate) fn len(&self) -> usize {
        self.markets.len()
    }

    /// Whether a book refused a change for want of room.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// Live orders over all books.
    pub(crate) fn orders(&self) -> usize {
        self.books.orders()
    }

    /// Reductions that found fewer shares than they took.
    pub(crate) fn overdrawn(&self) -> u64 {
        self.books.overdrawn()
    }

    /// Instrument `i`'s market.
    pub(crate) fn market(&mut self, i: usize) -> &mut Market {
        &mut self.markets[i]
    }

    /// Empties every book and forgets the locate codes (a new session).
    pub(crate) fn clear(&mut self) {
        self.books.clear();
        self.locates.fill(UNSEEN);
        for market in &mut self.markets {
            market.top = None;
        }
        self.stopped = false;
    }

    /// The configured instrument `locate` stands for, learning it from
    /// `stock` the first time.
    #[inline]
    fn ours(&mut self, locate: u16, stock: Option<&Stock>) -> Option<InstrumentId> {
        let known = self.locates[usize::from(locate)];
        let known = match (known, stock) {
            (UNSEEN, Some(stock)) => {
                let found = self.markets.iter().position(|m| &m.stock == stock);
                let code = found.map_or(NOT_OURS, |i| i as u16);
                self.locates[usize::from(locate)] = code;
                code
            }
            (known, _) => known,
        };
        (known < NOT_OURS).then_some(InstrumentId(known))
    }

    /// Applies one message, counting what the books could not take in
    /// `report`; returns whose book changed.
    #[inline]
    pub(crate) fn apply(
        &mut self,
        message: Message,
        report: &mut FeedReport,
    ) -> Option<InstrumentId> {
        let outcome = match message {
            Message::StockDirectory { locate, stock } => {
                self.ours(locate, Some(&stock));
                return None;
            }
            Message::Add {
                locate,
                reference,
                side,
                shares,
                stock,
                price,
            } => {
                let instrument = self.ours(locate, Some(&stock))?;
                let order = Resting {
                    instrument,
                    side,
                    price,
                    shares,
                };
                self.books.add(reference, order).map(|()| instrument)
            }
            Message::Executed {
                locate,
                reference,
                shares,
            }
            | Message::Cancel {
                locate,
                reference,
                shares,
            } => {
                self.ours(locate, None)?;
                self.books.reduce(reference, shares)
            }
            Message::Delete { locate, reference } => {
                self.ours(locate, None)?;
                self.books.delete(reference)
            }
            Message::Replace {
                locate,
                original,
                reference,
                shares,
                price,
            } => {
                self.ours(locate, None)?;
                self.books.replace(original, reference, shares, price)
            }
            Message::SystemEvent { .. } | Message::Other { .. } => return None,
        };
        match outcome {
            Ok(instrument) => Some(instrument),
            Err(BookError::Unknown) => {
                report.bump(Count::UnknownOrders);
                None
            }
            Err(BookError::Duplicate) => {
                report.bump(Count::BookRefusals);
                None
            }
            Err(BookError::OrdersFull | BookError::LevelsFull) => {
                report.bump(Count::BookRefusals);
                self.stopped = true;
                None
            }
        }
    }

    /// Instrument `i`'s top if it can be quoted (both sides, uncrossed)
    /// and it differs from the last one taken (or `again`); taking it makes
    /// it the last one. A top that cannot be quoted is remembered as none,
    /// so the next that can is new.
    #[inline]
    pub(crate) fn take_top(&mut self, i: usize, again: bool) -> Option<Top> {
        let top = match self.books.top(InstrumentId(i as u16)) {
            (Some(bid), Some(ask)) => {
                self.markets[i].convert((bid.price, bid.shares), (ask.price, ask.shares))
            }
            _ => None,
        };
        let market = &mut self.markets[i];
        if top.is_none() || (!again && market.top == top) {
            market.top = top;
            return None;
        }
        market.top = top;
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstrumentSpec;

    #[test]
    fn what_itch_cannot_carry_is_named_by_its_key() {
        let spec = |symbol: &str, tick: &str, lot: &str| InstrumentSpec {
            symbol: symbol.into(),
            tick_size: tick.parse().unwrap(),
            lot_size: lot.parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: "1".parse().unwrap(),
        };
        let odd = Instruments::new(&[
            spec("TOOLONGSYM", "0.01", "1"),
            spec("FINE", "0.00005", "1"),
            spec("HALF", "0.01", "0.5"),
            spec("OK", "0.0001", "10"),
        ])
        .unwrap();
        let problems: Vec<_> = instrument_problems(&odd)
            .into_iter()
            .map(|(i, key, _)| (i, key))
            .collect();
        assert_eq!(problems, [(0, "symbol"), (1, "tick_size"), (2, "lot_size")]);
    }
}
