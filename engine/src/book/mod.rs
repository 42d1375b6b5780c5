//! Order-by-order books of the configured instruments: every live order by
//! reference number, and each instrument's price levels per side, read at
//! the top. A feed adapter (ITCH) drives it with adds, reductions, deletes
//! and replaces. Sized once at start; nothing here allocates after that.

mod ladder;
mod orders;

pub use ladder::{Ladder, Level, LevelsFull};
pub use orders::{OrderTable, Refused, Resting};

use crate::domain::InstrumentId;
use crate::feed::itch::Side;

/// Why a book could not take a change; the books are as before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookError {
    /// The order table holds its most orders.
    OrdersFull,
    /// A side holds its most price levels.
    LevelsFull,
    /// An add for a reference that is live.
    Duplicate,
    /// A change to an order that is not live.
    Unknown,
}

impl std::fmt::Display for BookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BookError::OrdersFull => "the order table is full (feed.itch.max_orders)",
            BookError::LevelsFull => "a side's price levels are full (feed.itch.max_levels)",
            BookError::Duplicate => "an add for an order that is live",
            BookError::Unknown => "a change to an order that is not live",
        })
    }
}

/// The books.
pub struct Books {
    /// Per instrument: bids, asks.
    ladders: Vec<[Ladder; 2]>,
    orders: OrderTable,
    /// Reductions of more shares than an order or its level held: the
    /// change is applied as far as it goes, and counted here.
    overdrawn: u64,
}

fn side(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

impl Books {
    /// Books for `instruments`, holding up to `max_orders` live orders in
    /// all and `max_levels` price levels per side.
    pub fn new(instruments: usize, max_orders: usize, max_levels: usize) -> Books {
        Books {
            ladders: (0..instruments)
                .map(|_| {
                    [
                        Ladder::new(Side::Buy, max_levels),
                        Ladder::new(Side::Sell, max_levels),
                    ]
                })
                .collect(),
            orders: OrderTable::new(max_orders),
            overdrawn: 0,
        }
    }

    /// Order `reference` joins its book.
    #[inline]
    pub fn add(&mut self, reference: u64, order: Resting) -> Result<(), BookError> {
        self.orders.insert(reference, order).map_err(|e| match e {
            Refused::Full => BookError::OrdersFull,
            Refused::Duplicate => BookError::Duplicate,
        })?;
        let ladder = &mut self.ladders[order.instrument.index()][side(order.side)];
        if ladder.add(order.price, order.shares).is_err() {
            self.orders.remove(reference);
            return Err(BookError::LevelsFull);
        }
        Ok(())
    }

    /// `shares` of order `reference` leave (executed or cancelled); the
    /// order leaves with its last share. Returns whose book changed.
    #[inline]
    pub fn reduce(&mut self, reference: u64, shares: u32) -> Result<InstrumentId, BookError> {
        let order = self
            .orders
            .reduce(reference, shares)
            .ok_or(BookError::Unknown)?;
        let taken = shares.min(order.shares);
        if shares > order.shares {
            self.overdrawn += 1;
        }
        self.take(order, taken);
        Ok(order.instrument)
    }

    /// Order `reference` leaves. Returns whose book changed.
    #[inline]
    pub fn delete(&mut self, reference: u64) -> Result<InstrumentId, BookError> {
        let order = self.orders.remove(reference).ok_or(BookError::Unknown)?;
        self.take(order, order.shares);
        Ok(order.instrument)
    }

    /// Order `original` leaves and `reference` joins on its side at
    /// `price` with `shares`. Returns whose book changed.
    #[inline]
    pub fn replace(
        &mut self,
        original: u64,
        reference: u64,
        shares: u32,
        price: u32,
    ) -> Result<InstrumentId, BookError> {
        let old = self.orders.get(original).ok_or(BookError::Unknown)?;
        if self.orders.get(reference).is_some() {
            return Err(BookError::Duplicate);
        }
        self.delete(original)?;
        let new = Resting {
            shares,
            price,
            ..old
        };
        if let Err(error) = self.add(reference, new) {
            // Put the original back as it was: its level had it a moment ago.
            self.add(original, old)
                .expect("the original's room is free");
            return Err(error);
        }
        Ok(old.instrument)
    }

    fn take(&mut self, order: Resting, shares: u32) {
        let ladder = &mut self.ladders[order.instrument.index()][side(order.side)];
        if !ladder.remove(order.price, shares) {
            self.overdrawn += 1;
        }
    }

    /// The best bid and best ask of `instrument`.
    #[inline]
    pub fn top(&self, instrument: InstrumentId) -> (Option<Level>, Option<Level>) {
        let [bids, asks] = &self.ladders[instrument.index()];
        (bids.best(), asks.best())
    }

    /// Live orders over all books.
    pub fn orders(&self) -> usize {
        self.orders.len()
    }

    /// Reductions that found fewer shares than they took (a sign that the
    /// books missed something).
    pub fn overdrawn(&self) -> u64 {
        self.overdrawn
    }

    /// Empties every book (a new session).
    pub fn clear(&mut self) {
        self.orders.clear();
        for ladder in self.ladders.iter_mut().flatten() {
            ladder.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ES: InstrumentId = InstrumentId(0);
    const NQ: InstrumentId = InstrumentId(1);

    fn resting(instrument: InstrumentId, side: Side, price: u32, shares: u32) -> Resting {
        Resting {
            instrument,
            side,
            price,
            shares,
        }
    }

    fn level(price: u32, shares: u64) -> Option<Level> {
        Some(Level { price, shares })
    }

    #[test]
    fn orders_build_each_instruments_top_and_leave_it() {
        let mut books = Books::new(2, 16, 8);
        books.add(1, resting(ES, Side::Buy, 100, 5)).unwrap();
        books.add(2, resting(ES, Side::Buy, 101, 3)).unwrap();
        books.add(3, resting(ES, Side::Sell, 103, 4)).unwrap();
        books.add(4, resting(NQ, Side::Sell, 900, 1)).unwrap();
        assert_eq!(books.top(ES), (level(101, 3), level(103, 4)));
        assert_eq!(books.top(NQ), (None, level(900, 1)));
        assert_eq!(books.reduce(2, 1), Ok(ES));
        assert_eq!(books.top(ES).0, level(101, 2));
        assert_eq!(books.delete(2), Ok(ES));
        assert_eq!(books.top(ES).0, level(100, 5));
        assert_eq!(books.replace(3, 5, 7, 102), Ok(ES));
        assert_eq!(books.top(ES).1, level(102, 7));
        assert_eq!(books.reduce(5, 7), Ok(ES));
        assert_eq!(books.top(ES), (level(100, 5), None));
        assert_eq!(books.orders(), 2);
        assert_eq!(books.overdrawn(), 0);
        books.clear();
        assert_eq!(books.top(ES), (None, None));
        assert_eq!(books.orders(), 0);
    }

    #[test]
    fn refused_changes_leave_the_books_as_they_were() {
        let mut books = Books::new(1, 3, 1);
        books.add(1, resting(ES, Side::Buy, 100, 5)).unwrap();
        assert_eq!(
            books.add(2, resting(ES, Side::Buy, 99, 1)),
            Err(BookError::LevelsFull)
        );
        assert_eq!(books.orders(), 1, "the refused add left the table too");
        assert_eq!(
            books.add(1, resting(ES, Side::Buy, 100, 1)),
            Err(BookError::Duplicate)
        );
        assert_eq!(books.reduce(9, 1), Err(BookError::Unknown));
        assert_eq!(books.delete(9), Err(BookError::Unknown));
        books.add(2, resting(ES, Side::Buy, 100, 1)).unwrap();
        // Order 1 leaves, but order 2 keeps level 100, so 98 finds no room.
        assert_eq!(books.replace(1, 3, 1, 98), Err(BookError::LevelsFull));
        assert_eq!(books.top(ES), (level(100, 6), None), "the original is back");
        assert_eq!(books.orders(), 2);
        assert_eq!(books.replace(1, 2, 1, 100), Err(BookError::Duplicate));
        assert_eq!(books.top(ES).0, level(100, 6));
    }

    #[test]
    fn taking_more_than_an_order_has_empties_it_and_is_counted() {
        let mut books = Books::new(1, 4, 4);
        books.add(1, resting(ES, Side::Sell, 100, 5)).unwrap();
        assert_eq!(books.reduce(1, 8), Ok(ES));
        assert_eq!(books.top(ES), (None, None));
        assert_eq!(books.overdrawn(), 1);
    }
}
