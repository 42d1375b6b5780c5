//! The books' live orders by reference number: an open-addressing table
//! (linear probing, backward-shift deletion, no tombstones) sized once at
//! twice the most orders it may hold, so adding and removing never
//! allocates and probes stay short.

use crate::domain::InstrumentId;
use crate::feed::itch::Side;

/// An order resting in a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resting {
    /// Whose book.
    pub instrument: InstrumentId,
    /// Which side of it.
    pub side: Side,
    /// In the feed's price units.
    pub price: u32,
    /// Shares still displayed.
    pub shares: u32,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    reference: u64,
    order: Resting,
    used: bool,
}

const EMPTY: Slot = Slot {
    reference: 0,
    order: Resting {
        instrument: InstrumentId(0),
        side: Side::Buy,
        price: 0,
        shares: 0,
    },
    used: false,
};

/// Why an order could not join the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// It holds its most orders already.
    Full,
    /// An order with that reference is live.
    Duplicate,
}

/// Live orders by reference.
pub struct OrderTable {
    slots: Box<[Slot]>,
    /// `64 - log2(slots)`: the hash's top bits pick the home slot.
    shift: u32,
    len: usize,
    max: usize,
}

impl OrderTable {
    /// Room for `max` orders (at least 1).
    pub fn new(max: usize) -> OrderTable {
        let slots = (max.max(1) * 2).next_power_of_two().max(16);
        OrderTable {
            slots: vec![EMPTY; slots].into_boxed_slice(),
            shift: 64 - slots.trailing_zeros(),
            len: 0,
            max: max.max(1),
        }
    }

    /// Live orders.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is live.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot a reference starts its probe at: its low bits, with the
    /// bits above folded in. NASDAQ numbers orders in sequence, so the
    /// newest (and busiest) orders sit in neighbouring slots and a probe
    /// mostly hits a cache line just used; the fold keeps references a
    /// table's size apart (a new order and one resting since the
    /// numbering last wrapped the table) from sharing a home. A hash that
    /// spreads neighbours (Fibonacci) measured half as fast with 20,000
    /// live orders (bench/README.md, `feed`).
    #[inline]
    fn home(&self, reference: u64) -> usize {
        let bits = 64 - self.shift;
        ((reference ^ (reference >> bits)) as usize) & self.mask()
    }

    #[inline]
    fn find(&self, reference: u64) -> Option<usize> {
        let mut i = self.home(reference);
        loop {
            let slot = &self.slots[i];
            if !slot.used {
                return None;
            }
            if slot.reference == reference {
                return Some(i);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// The live order `reference`.
    #[inline]
    pub fn get(&self, reference: u64) -> Option<Resting> {
        self.find(reference).map(|i| self.slots[i].order)
    }

    /// Adds `order` as `reference`.
    #[inline]
    pub fn insert(&mut self, reference: u64, order: Resting) -> Result<(), Refused> {
        let mut i = self.home(reference);
        loop {
            let slot = &mut self.slots[i];
            if !slot.used {
                break;
            }
            if slot.reference == reference {
                return Err(Refused::Duplicate);
            }
            i = (i + 1) & self.mask();
        }
        if self.len == self.max {
            return Err(Refused::Full);
        }
        self.slots[i] = Slot {
            reference,
            order,
            used: true,
        };
        self.len += 1;
        Ok(())
    }

    /// Takes `shares` off order `reference` (all it has at most), removing
    /// it when none are left; returns the order as it was.
    #[inline]
    pub fn reduce(&mut self, reference: u64, shares: u32) -> Option<Resting> {
        let i = self.find(reference)?;
        let before = self.slots[i].order;
        if shares >= before.shares {
            self.vacate(i);
        } else {
            self.slots[i].order.shares -= shares;
        }
        Some(before)
    }

    /// Removes order `reference`; returns it.
    #[inline]
    pub fn remove(&mut self, reference: u64) -> Option<Resting> {
        let i = self.find(reference)?;
        let order = self.slots[i].order;
        self.vacate(i);
        Some(order)
    }

    /// Empties slot `hole`, then shifts back each following entry of the
    /// probe run that may move into it, so that no lookup meets a gap
    /// before its entry.
    fn vacate(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut next = (hole + 1) & mask;
        while self.slots[next].used {
            let home = self.home(self.slots[next].reference);
            // It may move back when the hole lies between its home and it.
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
    }

    /// Removes every order.
    pub fn clear(&mut self) {
        self.slots.fill(EMPTY);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn order(shares: u32) -> Resting {
        Resting {
            instrument: InstrumentId(1),
            side: Side::Sell,
            price: 100,
            shares,
        }
    }

    #[test]
    fn it_refuses_a_live_reference_and_more_than_its_most() {
        let mut table = OrderTable::new(2);
        table.insert(7, order(1)).unwrap();
        assert_eq!(table.insert(7, order(2)), Err(Refused::Duplicate));
        table.insert(8, order(1)).unwrap();
        assert_eq!(table.insert(9, order(1)), Err(Refused::Full));
        assert_eq!(table.remove(7), Some(order(1)));
        table.insert(9, order(3)).unwrap();
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_reduction_to_nothing_removes_the_order() {
        let mut table = OrderTable::new(4);
        table.insert(1, order(10)).unwrap();
        assert_eq!(table.reduce(1, 4), Some(order(10)));
        assert_eq!(table.get(1), Some(order(6)));
        assert_eq!(table.reduce(1, 99), Some(order(6)));
        assert_eq!(table.get(1), None);
        assert!(table.is_empty());
        assert_eq!(table.reduce(1, 1), None);
    }

    proptest! {
        // Against a HashMap, with few distinct references in a small
        // table, so that probe runs wrap and deletions shift entries back.
        #[test]
        fn it_behaves_as_a_map(ops in prop::collection::vec((0u8..3, 0u64..40, 1u32..5), 1..400)) {
            let mut table = OrderTable::new(24);
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, reference, shares) in ops {
                match op {
                    0 => {
                        let got = table.insert(reference, order(shares));
                        let want = if model.contains_key(&reference) {
                            Err(Refused::Duplicate)
                        } else if model.len() == 24 {
                            Err(Refused::Full)
                        } else {
                            model.insert(reference, shares);
                            Ok(())
                        };
                        prop_assert_eq!(got, want);
                    }
                    1 => {
                        let got = table.reduce(reference, shares).map(|o| o.shares);
                        let want = model.get(&reference).copied();
                        if let Some(have) = want {
                            if shares >= have {
                                model.remove(&reference);
                            } else {
                                model.insert(reference, have - shares);
                            }
                        }
                        prop_assert_eq!(got, want);
                    }
                    _ => {
                        let got = table.remove(reference).map(|o| o.shares);
                        prop_assert_eq!(got, model.remove(&reference));
                    }
                }
                prop_assert_eq!(table.len(), model.len());
                for (reference, shares) in &model {
                    prop_assert_eq!(table.get(*reference).map(|o| o.shares), Some(*shares));
                }
            }
        }
    }
}
