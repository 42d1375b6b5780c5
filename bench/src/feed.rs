//! The `feed` scenario: what one ITCH message costs the network feed's
//! books, beside the book a user would write with the standard library
//! (a `HashMap` of orders and a `BTreeMap` of levels per side) and beside
//! decoding alone, the floor under any book. One pinned thread applies the
//! same seeded order flow (`ItchFlow`) to each, each message followed by a
//! read of its instrument's top, as the feed does before quoting.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::time::Instant;

use redline_engine::book::{Books, Resting};
use redline_engine::clock;
use redline_engine::domain::{InstrumentId, InstrumentSpec, Instruments};
use redline_engine::feed::itch::{self, Message, Side};
use redline_engine::feed::ItchFlow;

use crate::harness::{new_histogram, pin};
use crate::report::{print_latency_table, Row};

/// What a book must do for the scenario.
trait Book {
    fn add(&mut self, reference: u64, order: Resting) -> bool;
    fn reduce(&mut self, reference: u64, shares: u32) -> Option<InstrumentId>;
    fn delete(&mut self, reference: u64) -> Option<InstrumentId>;
    fn replace(
        &mut self,
        original: u64,
        reference: u64,
        shares: u32,
        price: u32,
    ) -> Option<InstrumentId>;
    /// The best bid and ask prices.
    fn top(&self, instrument: InstrumentId) -> (Option<u32>, Option<u32>);
}

impl Book for Books {
    fn add(&mut self, reference: u64, order: Resting) -> bool {
        Books::add(self, reference, order).is_ok()
    }

    fn reduce(&mut self, reference: u64, shares: u32) -> Option<InstrumentId> {
        Books::reduce(self, reference, shares).ok()
    }

    fn delete(&mut self, reference: u64) -> Option<InstrumentId> {
        Books::delete(self, reference).ok()
    }

    fn replace(
        &mut self,
        original: u64,
        reference: u64,
        shares: u32,
        price: u32,
    ) -> Option<InstrumentId> {
        Books::replace(self, original, reference, shares, price).ok()
    }

    fn top(&self, instrument: InstrumentId) -> (Option<u32>, Option<u32>) {
        let (bid, ask) = Books::top(self, instrument);
        (bid.map(|l| l.price), ask.map(|l| l.price))
    }
}

/// The standard library's book: orders in a `HashMap`, each side's levels
/// in a `BTreeMap` of price to shares.
struct StdBook {
    orders: HashMap<u64, Resting>,
    sides: Vec<[BTreeMap<u32, u64>; 2]>,
}

impl StdBook {
    fn new(instruments: usize) -> StdBook {
        StdBook {
            orders: HashMap::new(),
            sides: (0..instruments).map(|_| Default::default()).collect(),
        }
    }

    fn side(&mut self, order: &Resting) -> &mut BTreeMap<u32, u64> {
        let side = usize::from(order.side == Side::Sell);
        &mut self.sides[order.instrument.index()][side]
    }

    fn take(&mut self, order: &Resting, shares: u32) {
        let levels = self.side(order);
        if let Some(level) = levels.get_mut(&order.price) {
            *level = level.saturating_sub(u64::from(shares));
            if *level == 0 {
                levels.remove(&order.price);
            }
        }
    }
}

impl Book for StdBook {
    fn add(&mut self, reference: u64, order: Resting) -> bool {
        *self.side(&order).entry(order.price).or_default() += u64::from(order.shares);
        self.orders.insert(reference, order).is_none()
    }

    fn reduce(&mut self, reference: u64, shares: u32) -> Option<InstrumentId> {
        let order = *self.orders.get(&reference)?;
        let taken = shares.min(order.shares);
        if taken == order.shares {
            self.orders.remove(&reference);
        } else if let Some(live) = self.orders.get_mut(&reference) {
            live.shares -= taken;
        }
        self.take(&order, taken);
        Some(order.instrument)
    }

    fn delete(&mut self, reference: u64) -> Option<InstrumentId> {
        let order = self.orders.remove(&reference)?;
        self.take(&order, order.shares);
        Some(order.instrument)
    }

    fn replace(
        &mut self,
        original: u64,
        reference: u64,
        shares: u32,
        price: u32,
    ) -> Option<InstrumentId> {
        let order = self.orders.remove(&original)?;
        self.take(&order, order.shares);
        self.add(
            reference,
            Resting {
                shares,
                price,
                ..order
            },
        );
        Some(order.instrument)
    }

    fn top(&self, instrument: InstrumentId) -> (Option<u32>, Option<u32>) {
        let [bids, asks] = &self.sides[instrument.index()];
        (
            bids.last_key_value().map(|(p, _)| *p),
            asks.first_key_value().map(|(p, _)| *p),
        )
    }
}

/// Applies one decoded message; `locates` maps ITCH locate codes to
/// instruments (the flow numbers them 1, 2, ...).
#[inline]
fn apply(book: &mut impl Book, message: Message) -> Option<InstrumentId> {
    match message {
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
            book.add(reference, order).then_some(instrument)
        }
        Message::Executed {
            reference, shares, ..
        }
        | Message::Cancel {
            reference, shares, ..
        } => book.reduce(reference, shares),
        Message::Delete { reference, .. } => book.delete(reference),
        Message::Replace {
            original,
            reference,
            shares,
            price,
            ..
        } => book.replace(original, reference, shares, price),
        _ => None,
    }
}

fn instruments(count: usize) -> Instruments {
    let specs: Vec<InstrumentSpec> = (0..count)
        .map(|i| InstrumentSpec {
            symbol: format!("STK{i}"),
            tick_size: "0.01".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: format!("{}", 50 + 25 * i).parse().unwrap(),
        })
        .collect();
    Instruments::new(&specs).expect("valid instruments")
}

/// The scenario's knobs.
pub struct FeedBench {
    /// Messages applied per run.
    pub messages: usize,
    /// Instruments the flow spreads over.
    pub instruments: usize,
    /// Orders the flow keeps live.
    pub live: usize,
    /// Runs per variant; the median throughput is printed.
    pub rounds: usize,
    /// The core the thread runs on.
    pub core: usize,
}

/// The encoded flow: each message's bytes, back to back, with their ends.
struct Wire {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Wire {
    fn blocks(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let block = &self.bytes[start..end];
            start = end;
            block
        })
    }
}

/// Runs the scenario and prints its tables.
pub fn run(bench: &FeedBench) {
    pin(bench.core);
    let instruments = instruments(bench.instruments);
    let mut flow = ItchFlow::new(42, &instruments, bench.live);
    let mut wire = Wire {
        bytes: Vec::with_capacity(bench.messages * 40),
        ends: Vec::with_capacity(bench.messages),
    };
    for _ in 0..bench.messages {
        flow.next_message().encode(&mut wire.bytes);
        wire.ends.push(wire.bytes.len());
    }
    println!(
        "{} ITCH messages over {} instruments, about {} orders live; one thread on core {}; \
         each message decoded, applied, and its instrument's top read",
        bench.messages, bench.instruments, bench.live, bench.core
    );

    // Throughput: the whole flow, untimed per message.
    let redline = || Books::new(bench.instruments, bench.live * 2, 4096);
    let std_book = || StdBook::new(bench.instruments);
    let mut rates = Vec::new();
    for (name, run) in [
        (
            "decode only (the floor)",
            &(|| decode_all(&wire)) as &dyn Fn() -> f64,
        ),
        ("redline books", &|| apply_all(&wire, &mut redline())),
        ("std HashMap + BTreeMap", &|| {
            apply_all(&wire, &mut std_book())
        }),
    ] {
        let mut ns: Vec<f64> = (0..bench.rounds.max(1)).map(|_| run()).collect();
        ns.sort_by(f64::total_cmp);
        rates.push((name, ns[ns.len() / 2]));
    }
    println!("\nthroughput, median of {} runs", bench.rounds.max(1));
    println!(
        "{:<34} {:>10} {:>12} {:>9}",
        "", "ns/msg", "M msgs/s", "x floor"
    );
    let floor = rates[0].1;
    for (name, ns) in &rates {
        println!(
            "{name:<34} {ns:>10.1} {:>12.1} {:>9.2}",
            1e3 / ns,
            ns / floor
        );
    }

    // Latency: each message timed on its own, clock reads included.
    let rows = vec![
        clock_row(bench.messages),
        timed("redline books", &wire, &mut redline()),
        timed("std HashMap + BTreeMap", &wire, &mut std_book()),
    ];
    print_latency_table(
        "per message, ns (two clock reads included; the clock row is their cost)",
        &rows,
        None,
    );
    let ratio = rates[2].1 / rates[1].1;
    println!("\nredline books vs std HashMap + BTreeMap: {ratio:.2}x the throughput");
}

/// Decodes the flow once; returns ns per message.
fn decode_all(wire: &Wire) -> f64 {
    let began = Instant::now();
    for block in wire.blocks() {
        let _ = black_box(itch::decode(black_box(block)));
    }
    began.elapsed().as_nanos() as f64 / wire.ends.len() as f64
}

/// Applies the flow once to `book`; returns ns per message.
fn apply_all(wire: &Wire, book: &mut impl Book) -> f64 {
    let began = Instant::now();
    for block in wire.blocks() {
        let Ok(message) = itch::decode(block) else {
            continue;
        };
        if let Some(instrument) = apply(book, message) {
            black_box(book.top(instrument));
        }
    }
    began.elapsed().as_nanos() as f64 / wire.ends.len() as f64
}

fn timed(name: &str, wire: &Wire, book: &mut impl Book) -> Row {
    let mut histogram = new_histogram();
    for block in wire.blocks() {
        let began = clock::ticks();
        if let Ok(message) = itch::decode(block) {
            if let Some(instrument) = apply(book, message) {
                black_box(book.top(instrument));
            }
        }
        let _ = histogram.record(clock::ticks().saturating_sub(began));
    }
    Row::from_ticks(name, &histogram)
}

fn clock_row(samples: usize) -> Row {
    let mut histogram = new_histogram();
    for _ in 0..samples {
        let began = clock::ticks();
        let _ = histogram.record(clock::ticks().saturating_sub(began));
    }
    Row::from_ticks("clock reads alone", &histogram)
}
