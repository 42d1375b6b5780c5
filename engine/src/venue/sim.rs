//! The simulated venue: accepts limit and IOC orders and cancels, fills
//! them against its own view of the top of book, and answers with
//! acknowledgements, fills, cancels and rejects after a simulated latency.
//!
//! Every intent reaches the venue `latency` after it was sent (a FIFO, as
//! the latency is constant). A marketable order fills at the touch with
//! probability `fill_probability`, up to the size shown there; an IOC's
//! rest is cancelled, a limit order's rest rests. Resting orders fill at
//! their own price when a quote crosses them, with the same probability;
//! one resting at or inside the touch (a bid at or above the best bid, an
//! offer at or below the best offer) is hit by other traders' flow with
//! probability `touch_fill_probability` on each quote, up to the size shown
//! on its side. Seeded, so a run is reproducible; never allocates after
//! construction.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, Instruments, Intent, NewOrder, Price, Qty,
    Quote, Reject, Side, TimeInForce,
};
use crate::feed::SplitMix64;

/// `[venue]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimVenueConfig {
    /// Seeds the fill decisions.
    pub seed: u64,
    /// The chance, 0 to 1, that a marketable order (or a crossed resting
    /// one) fills when it is looked at.
    pub fill_probability: f64,
    /// One-way delay from sending an intent to the venue acting on it, in
    /// microseconds.
    pub latency_us: u64,
    /// Intents in flight and orders resting at once; more are rejected.
    pub max_orders: usize,
    /// The chance, 0 to 1, that an order resting at or inside the touch is
    /// hit by other flow on a quote.
    pub touch_fill_probability: f64,
}

impl SimVenueConfig {
    /// What is wrong with it, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        for (key, p) in [
            ("fill_probability", self.fill_probability),
            ("touch_fill_probability", self.touch_fill_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                problems.push((key, format!("must be from 0 to 1, got {p}")));
            }
        }
        if !(1..=1_000_000).contains(&self.max_orders) {
            problems.push((
                "max_orders",
                format!("must be 1 to 1000000, got {}", self.max_orders),
            ));
        }
        if self.latency_us > 10_000_000 {
            problems.push((
                "latency_us",
                format!("at most 10 s, got {} us", self.latency_us),
            ));
        }
        problems
    }
}

/// An order resting at the venue.
#[derive(Debug, Clone, Copy)]
struct Resting {
    order: NewOrder,
    leaves: i64,
}

/// The most reports the venue answers one intent with: a partial fill and
/// then an acknowledgement (or a cancel) of the rest.
pub const MAX_REPORTS_PER_INTENT: usize = 2;

/// The simulated venue. See the module docs.
#[derive(Debug)]
pub struct SimVenue {
    rng: SplitMix64,
    /// A fill happens when the next random `u64` is below this.
    fill_below: u64,
    /// A resting order at the touch is hit when the next random `u64` is
    /// below this.
    touch_below: u64,
    latency_ticks: u64,
    /// Intents with the clock time they reach the venue; FIFO.
    in_flight: VecDeque<(u64, Intent)>,
    resting: Vec<Resting>,
    capacity: usize,
    /// Each instrument's last quote.
    book: Box<[Option<Quote>]>,
}

impl SimVenue {
    /// A venue for `instruments` on a clock of `ticks_per_second`.
    pub fn new(config: &SimVenueConfig, instruments: &Instruments, ticks_per_second: f64) -> Self {
        SimVenue {
            rng: SplitMix64::new(config.seed),
            fill_below: threshold(config.fill_probability),
            touch_below: threshold(config.touch_fill_probability),
            latency_ticks: (config.latency_us as f64 * ticks_per_second / 1e6) as u64,
            in_flight: VecDeque::with_capacity(config.max_orders),
            resting: Vec::with_capacity(config.max_orders),
            capacity: config.max_orders,
            book: vec![None; instruments.len()].into_boxed_slice(),
        }
    }

    /// Sends an intent at `now`; it reaches the venue after the latency.
    /// When the venue is full, a new order is rejected at once (through
    /// `out`); a cancel is never refused for room.
    pub fn submit(&mut self, intent: Intent, now: u64, mut out: impl FnMut(ExecReport)) {
        let full = self.in_flight.len() + self.resting.len() >= self.capacity;
        if let (Intent::New(order), true) = (intent, full) {
            out(report(
                &order,
                ExecKind::Rejected(Reject::VenueBusy),
                order.price,
                0,
                order.qty.0,
            ));
            return;
        }
        if self.in_flight.len() == self.in_flight.capacity() {
            // Only cancels get here: the room check above holds new orders
            // back. Acting on it now keeps the queue from growing.
            self.act(intent, &mut out);
            return;
        }
        self.in_flight.push_back((now + self.latency_ticks, intent));
    }

    /// Takes a quote: the venue's view of the market, and passive fills of
    /// resting orders it crosses or finds at the touch, at most `room` of
    /// them (the rest may fill on a later quote); returns how many reports
    /// it wrote.
    pub fn on_quote(
        &mut self,
        quote: &Quote,
        room: usize,
        mut out: impl FnMut(ExecReport),
    ) -> usize {
        let Some(slot) = self.book.get_mut(quote.instrument.index()) else {
            return 0;
        };
        *slot = Some(*quote);
        let mut written = 0;
        let mut i = 0;
        while i < self.resting.len() && written < room {
            let resting = self.resting[i];
            let filled = if resting.order.instrument == quote.instrument {
                self.passive_fill(&resting, quote)
            } else {
                0
            };
            if filled == 0 {
                i += 1;
                continue;
            }
            let leaves = resting.leaves - filled;
            let kind = if leaves == 0 {
                ExecKind::Fill
            } else {
                ExecKind::PartialFill
            };
            out(report(
                &resting.order,
                kind,
                resting.order.price,
                filled,
                leaves,
            ));
            written += 1;
            if leaves == 0 {
                self.resting.swap_remove(i);
            } else {
                self.resting[i].leaves = leaves;
                i += 1;
            }
        }
        written
    }

    /// How much of a resting order `quote` fills: all of it when the quote
    /// crosses its price (with the fill probability); up to the size shown
    /// on its side when it rests at or inside the touch (with the touch
    /// probability); otherwise nothing.
    fn passive_fill(&mut self, resting: &Resting, quote: &Quote) -> i64 {
        let price = resting.order.price;
        let (crossed, at_touch, shown) = match resting.order.side {
            Side::Buy => (quote.ask <= price, price >= quote.bid, quote.bid_qty.0),
            Side::Sell => (quote.bid >= price, price <= quote.ask, quote.ask_qty.0),
        };
        if crossed {
            if self.rng.next_u64() < self.fill_below {
                return resting.leaves;
            }
        } else if at_touch && self.touch_below > 0 && self.rng.next_u64() < self.touch_below {
            return resting.leaves.min(shown.max(1));
        }
        0
    }

    /// Acts on the intents that have reached the venue by `now`, as long as
    /// `room` has space for what one may answer ([`MAX_REPORTS_PER_INTENT`]);
    /// returns how many reports it wrote.
    pub fn poll(&mut self, now: u64, room: usize, mut out: impl FnMut(ExecReport)) -> usize {
        let mut written = 0;
        while let Some(&(due, intent)) = self.in_flight.front() {
            if due > now || room.saturating_sub(written) < MAX_REPORTS_PER_INTENT {
                break;
            }
            self.in_flight.pop_front();
            self.act(intent, &mut |report| {
                written += 1;
                out(report);
            });
        }
        written
    }

    /// Orders resting at the venue.
    pub fn resting(&self) -> usize {
        self.resting.len()
    }

    /// Each order resting at the venue, with the lots it has left.
    pub fn resting_orders(&self) -> impl Iterator<Item = (NewOrder, Qty)> + '_ {
        self.resting.iter().map(|r| (r.order, Qty(r.leaves)))
    }

    fn act(&mut self, intent: Intent, out: &mut impl FnMut(ExecReport)) {
        match intent {
            Intent::Cancel(id) => self.cancel(id, out),
            Intent::New(order) => self.take(order, out),
        }
    }

    fn cancel(&mut self, id: ClientOrderId, out: &mut impl FnMut(ExecReport)) {
        match self.resting.iter().position(|r| r.order.id == id) {
            Some(at) => {
                let resting = self.resting.swap_remove(at);
                out(report(
                    &resting.order,
                    ExecKind::Cancelled,
                    resting.order.price,
                    0,
                    0,
                ));
            }
            None => out(ExecReport {
                id,
                instrument: InstrumentId::default(),
                side: Side::Buy,
                kind: ExecKind::CancelRejected(Reject::UnknownOrder),
                price: Price(0),
                filled: Qty(0),
                leaves: Qty(0),
            }),
        }
    }

    fn take(&mut self, order: NewOrder, out: &mut impl FnMut(ExecReport)) {
        let Some(quote) = self.book.get(order.instrument.index()).copied().flatten() else {
            // No market known: nothing to trade against.
            return self.rest_or_cancel(order, order.qty.0, out);
        };
        let (touch, shown) = match order.side {
            Side::Buy => (quote.ask, quote.ask_qty.0),
            Side::Sell => (quote.bid, quote.bid_qty.0),
        };
        let marketable = match order.side {
            Side::Buy => order.price >= touch,
            Side::Sell => order.price <= touch,
        };
        let filled = if marketable && self.rng.next_u64() < self.fill_below {
            order.qty.0.min(shown.max(1))
        } else {
            0
        };
        let leaves = order.qty.0 - filled;
        if filled > 0 {
            let kind = if leaves == 0 {
                ExecKind::Fill
            } else {
                ExecKind::PartialFill
            };
            out(report(&order, kind, touch, filled, leaves));
        }
        if leaves > 0 {
            self.rest_or_cancel(order, leaves, out);
        }
    }

    /// An IOC's unfilled rest is cancelled; a limit order's rests.
    fn rest_or_cancel(&mut self, order: NewOrder, leaves: i64, out: &mut impl FnMut(ExecReport)) {
        match order.tif {
            TimeInForce::Ioc => out(report(&order, ExecKind::Cancelled, order.price, 0, 0)),
            TimeInForce::Limit => {
                out(report(&order, ExecKind::Ack, order.price, 0, leaves));
                self.resting.push(Resting { order, leaves });
            }
        }
    }
}

/// The random `u64` below which an event of probability `p` happens.
fn threshold(p: f64) -> u64 {
    let p = p.clamp(0.0, 1.0);
    if p >= 1.0 {
        u64::MAX
    } else {
        (p * u64::MAX as f64) as u64
    }
}

fn report(order: &NewOrder, kind: ExecKind, price: Price, filled: i64, leaves: i64) -> ExecReport {
    ExecReport {
        id: order.id,
        instrument: order.instrument,
        side: order.side,
        kind,
        price,
        filled: Qty(filled),
        leaves: Qty(leaves),
    }
}
