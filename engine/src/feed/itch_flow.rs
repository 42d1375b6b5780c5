//! A seeded ITCH 5.0 order flow over configured instruments, for load
//! generators, benchmarks and tests of the network feed: adds at one to
//! five ticks either side of each instrument's reference price, and
//! executions, cancels, replaces and deletes of live orders, in
//! proportions like a real book's. The books it makes never cross, and
//! their tops move as levels empty and fill.
//!
//! Not for the hot path: it keeps its live orders in a `Vec`.

use super::itch::{self, Message, Side, Stock};
use super::rng::SplitMix64;
use crate::domain::Instruments;

/// One instrument's part of the flow.
#[derive(Debug, Clone)]
struct Listing {
    locate: u16,
    stock: Stock,
    /// Its reference price and tick, in units of 0.0001.
    mid: u32,
    tick: u32,
}

/// A live order of the flow.
#[derive(Debug, Clone, Copy)]
struct Live {
    reference: u64,
    listing: usize,
    side: Side,
    shares: u32,
}

/// The flow.
#[derive(Debug, Clone)]
pub struct ItchFlow {
    rng: SplitMix64,
    listings: Vec<Listing>,
    live: Vec<Live>,
    max_live: usize,
    next_reference: u64,
}

impl ItchFlow {
    /// A flow of `seed` over `instruments` (whose ticks are whole
    /// multiples of 0.0001, as the ITCH feed requires), keeping about
    /// `max_live` orders live; locate codes are 1, 2, ... in order.
    pub fn new(seed: u64, instruments: &Instruments, max_live: usize) -> ItchFlow {
        let listings = instruments
            .iter()
            .enumerate()
            .map(|(i, instrument)| {
                let units = |d| itch::price_units(d).expect("on ITCH's 0.0001 grid");
                Listing {
                    locate: i as u16 + 1,
                    stock: itch::stock(&instrument.spec.symbol).expect("an ITCH symbol"),
                    mid: units(instrument.spec.reference_price),
                    tick: units(instrument.spec.tick_size),
                }
            })
            .collect();
        ItchFlow {
            rng: SplitMix64::new(seed),
            listings,
            live: Vec::with_capacity(max_live + 1),
            max_live: max_live.max(1),
            next_reference: 1,
        }
    }

    /// What a session starts with: the start of messages and a directory
    /// entry per instrument.
    pub fn preamble(&self) -> Vec<Message> {
        let mut messages = vec![Message::SystemEvent { event: b'O' }];
        messages.extend(self.listings.iter().map(|l| Message::StockDirectory {
            locate: l.locate,
            stock: l.stock,
        }));
        messages
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n
    }

    /// The next message.
    pub fn next_message(&mut self) -> Message {
        let roll = self.below(100);
        if self.live.is_empty() || (roll < 40 && self.live.len() < self.max_live) {
            return self.add();
        }
        let at = self.below(self.live.len() as u64) as usize;
        let order = self.live[at];
        let locate = self.listings[order.listing].locate;
        let part = 1 + self.below(u64::from(order.shares)) as u32;
        match roll {
            0..=59 => {
                self.take(at, part);
                Message::Cancel {
                    locate,
                    reference: order.reference,
                    shares: part,
                }
            }
            60..=79 => {
                self.take(at, part);
                Message::Executed {
                    locate,
                    reference: order.reference,
                    shares: part,
                }
            }
            80..=89 => {
                let price = self.price(order.listing, order.side);
                let reference = self.next_reference;
                self.next_reference += 1;
                self.live[at] = Live { reference, ..order };
                Message::Replace {
                    locate,
                    original: order.reference,
                    reference,
                    shares: order.shares,
                    price,
                }
            }
            _ => {
                self.live.swap_remove(at);
                Message::Delete {
                    locate,
                    reference: order.reference,
                }
            }
        }
    }

    fn price(&mut self, listing: usize, side: Side) -> u32 {
        let ticks = 1 + self.below(5) as u32;
        let l = &self.listings[listing];
        match side {
            Side::Buy => l.mid - ticks * l.tick,
            Side::Sell => l.mid + ticks * l.tick,
        }
    }

    fn add(&mut self) -> Message {
        let listing = self.below(self.listings.len() as u64) as usize;
        let side = if self.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let price = self.price(listing, side);
        let shares = 100 * (1 + self.below(10) as u32);
        let reference = self.next_reference;
        self.next_reference += 1;
        self.live.push(Live {
            reference,
            listing,
            side,
            shares,
        });
        let l = &self.listings[listing];
        Message::Add {
            locate: l.locate,
            reference,
            side,
            shares,
            stock: l.stock,
            price,
        }
    }

    fn take(&mut self, at: usize, shares: u32) {
        if shares >= self.live[at].shares {
            self.live.swap_remove(at);
        } else {
            self.live[at].shares -= shares;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{Books, Resting};
    use crate::domain::{InstrumentId, InstrumentSpec};

    fn instruments() -> Instruments {
        let spec = |symbol: &str, price: &str| InstrumentSpec {
            symbol: symbol.into(),
            tick_size: "0.01".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: price.parse().unwrap(),
        };
        Instruments::new(&[spec("AAPL", "230.00"), spec("MSFT", "420.00")]).unwrap()
    }

    #[test]
    fn the_flow_only_touches_live_orders_and_never_crosses() {
        let mut flow = ItchFlow::new(7, &instruments(), 500);
        assert_eq!(flow.preamble().len(), 3);
        let mut books = Books::new(2, 1000, 64);
        for _ in 0..50_000 {
            let instrument = match flow.next_message() {
                Message::Add {
                    locate,
                    reference,
                    side,
                    shares,
                    price,
                    ..
                } => {
                    let instrument = InstrumentId(locate - 1);
                    let order = Resting {
                        instrument,
                        side,
                        price,
                        shares,
                    };
                    books.add(reference, order).map(|()| instrument)
                }
                Message::Cancel {
                    reference, shares, ..
                }
                | Message::Executed {
                    reference, shares, ..
                } => books.reduce(reference, shares),
                Message::Delete { reference, .. } => books.delete(reference),
                Message::Replace {
                    original,
                    reference,
                    shares,
                    price,
                    ..
                } => books.replace(original, reference, shares, price),
                other => panic!("{other:?}"),
            }
            .expect("every change finds its order");
            if let (Some(bid), Some(ask)) = books.top(instrument) {
                assert!(bid.price < ask.price);
            }
        }
        assert_eq!(books.overdrawn(), 0);
        assert!(books.orders() > 100 && books.orders() <= 500);
    }
}
