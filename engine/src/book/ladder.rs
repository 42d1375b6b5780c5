//! One side of one instrument's book: its price levels and the shares
//! resting at each, sorted so that the best is last (bids ascending, asks
//! descending), in a vector sized once. Activity clusters at the touch, so
//! most inserts and removals move only the few levels above them.

use crate::feed::itch::Side;

/// A price level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Level {
    /// In the feed's price units.
    pub price: u32,
    /// Shares resting there.
    pub shares: u64,
}

/// One side's levels.
pub struct Ladder {
    levels: Vec<Level>,
    side: Side,
}

/// The ladder holds its most levels already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelsFull;

impl Ladder {
    /// An empty side with room for `max` levels (at least 1).
    pub fn new(side: Side, max: usize) -> Ladder {
        Ladder {
            levels: Vec::with_capacity(max.max(1)),
            side,
        }
    }

    /// Where `price` is (or would go) in the sorted levels.
    #[inline]
    fn position(&self, price: u32) -> Result<usize, usize> {
        match self.side {
            Side::Buy => self.levels.binary_search_by(|l| l.price.cmp(&price)),
            Side::Sell => self.levels.binary_search_by(|l| price.cmp(&l.price)),
        }
    }

    /// Adds `shares` at `price`.
    #[inline]
    pub fn add(&mut self, price: u32, shares: u32) -> Result<(), LevelsFull> {
        match self.position(price) {
            Ok(i) => self.levels[i].shares += u64::from(shares),
            Err(i) => {
                // Never past the capacity: inserting cannot allocate.
                if self.levels.len() == self.levels.capacity() {
                    return Err(LevelsFull);
                }
                let shares = u64::from(shares);
                self.levels.insert(i, Level { price, shares });
            }
        }
        Ok(())
    }

    /// Takes `shares` off `price`, removing the level when none are left;
    /// false when the level does not hold that many (it is then removed).
    #[inline]
    pub fn remove(&mut self, price: u32, shares: u32) -> bool {
        let Ok(i) = self.position(price) else {
            return false;
        };
        let level = &mut self.levels[i];
        let held = level.shares >= u64::from(shares);
        level.shares = level.shares.saturating_sub(u64::from(shares));
        if level.shares == 0 {
            self.levels.remove(i);
        }
        held
    }

    /// The best level: highest bid, lowest ask.
    #[inline]
    pub fn best(&self) -> Option<Level> {
        self.levels.last().copied()
    }

    /// Levels held.
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.levels.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_best_bid_is_the_highest_and_the_best_ask_the_lowest() {
        let mut bids = Ladder::new(Side::Buy, 8);
        let mut asks = Ladder::new(Side::Sell, 8);
        for price in [100, 103, 101] {
            bids.add(price, 5).unwrap();
            asks.add(price + 10, 5).unwrap();
        }
        bids.add(103, 2).unwrap();
        assert_eq!(
            bids.best(),
            Some(Level {
                price: 103,
                shares: 7
            })
        );
        assert_eq!(
            asks.best(),
            Some(Level {
                price: 110,
                shares: 5
            })
        );
        assert!(bids.remove(103, 7));
        assert_eq!(
            bids.best(),
            Some(Level {
                price: 101,
                shares: 5
            })
        );
        assert!(!asks.remove(110, 6), "more than it holds");
        assert_eq!(
            asks.best(),
            Some(Level {
                price: 111,
                shares: 5
            })
        );
        assert!(!asks.remove(999, 1), "no such level");
    }

    #[test]
    fn a_full_ladder_refuses_a_new_level_but_not_a_known_one() {
        let mut bids = Ladder::new(Side::Buy, 2);
        bids.add(1, 1).unwrap();
        bids.add(2, 1).unwrap();
        assert_eq!(bids.add(3, 1), Err(LevelsFull));
        bids.add(2, 1).unwrap();
        assert_eq!(bids.depth(), 2);
    }

    proptest! {
        #[test]
        fn it_agrees_with_a_sorted_map(ops in prop::collection::vec((any::<bool>(), 0u32..30, 1u32..4), 1..300)) {
            let mut asks = Ladder::new(Side::Sell, 64);
            let mut model: BTreeMap<u32, u64> = BTreeMap::new();
            for (add, price, shares) in ops {
                if add {
                    asks.add(price, shares).unwrap();
                    *model.entry(price).or_default() += u64::from(shares);
                } else {
                    let held = model.get(&price).is_some_and(|&s| s >= u64::from(shares));
                    prop_assert_eq!(asks.remove(price, shares), held);
                    if let Some(s) = model.get_mut(&price) {
                        *s = s.saturating_sub(u64::from(shares));
                        if *s == 0 {
                            model.remove(&price);
                        }
                    }
                }
                let want = model.iter().next().map(|(&price, &shares)| Level { price, shares });
                prop_assert_eq!(asks.best(), want);
                prop_assert_eq!(asks.depth(), model.len());
            }
        }
    }
}
