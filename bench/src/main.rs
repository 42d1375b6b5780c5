//! `redline-bench`: latency and throughput runs of redline beside its peers
//! and the physical limits, measured in one process and one run.
//!
//! `cargo run --profile release-lto -p redline-bench -- ring` runs the ring
//! scenario, `-- path` the quote-to-order scenario, `-- feed` the network
//! feed's books beside the standard library's, `-- control` the hot
//! path beside a hammered control plane, `-- persist` the copy into
//! PostgreSQL and the hot path beside it; bench/README.md explains what
//! they print and holds the figures.

#![deny(unsafe_op_in_unsafe_fn)]

mod control;
mod exchange;
mod feed;
mod fix;
mod fix_venue;
mod harness;
mod limits;
mod path;
mod peers;
mod persist;
mod process;
mod report;
mod throughput;

use clap::{Parser, Subcommand};
use redline_engine::clock;

use crate::harness::Hop;
use crate::report::{print_latency_table, Row};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "redline-bench",
    version,
    about = "redline benchmarks beside their peers"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// One-way hop latency between two pinned cores (open loop) for
    /// redline's ring, its peers and the cache-line limit; then saturated
    /// throughput.
    Ring(RingArgs),
    /// Quote-to-order latency inside the engine for the fused topology,
    /// the ring pipeline, and the same stages on tokio channels and tasks.
    Path(PathArgs),
    /// What one ITCH message costs the network feed's books, beside a
    /// book of std's HashMap and BTreeMap and beside decoding alone.
    Feed(FeedArgs),
    /// A stand-in exchange for a running `redline` on
    /// `feed.source = "itch"`: a paced ITCH flow over MoldUDP64 to its feed,
    /// and a re-request server for what it loses.
    Exchange(ExchangeArgs),
    /// What the FIX gateway costs an order: encoding beside `core::fmt`
    /// and a copy of the bytes, sending beside one bare write.
    Fix(FixArgs),
    /// A stand-in venue for a running `redline` on `venue.kind = "fix"`:
    /// a FIX 4.4 acceptor matching its orders with the simulated venue.
    FixVenue(FixVenueArgs),
    /// The `redline` binary's quote-to-order latency quiet and with its
    /// control plane hammered (`/metrics` and `/health` back to back), in
    /// one run.
    Control(ControlArgs),
    /// The persister's copy rate into a real PostgreSQL server beside a
    /// bare COPY BINARY of the same rows, and the `redline` binary's
    /// quote-to-order latency with the persister copying at full rate and
    /// without a database, in one run.
    Persist(PersistArgs),
}

#[derive(Debug, clap::Args)]
struct PersistArgs {
    /// Seconds each of the two engine runs lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The `redline` binary (default: beside this one).
    #[arg(long)]
    redline: Option<std::path::PathBuf>,
    /// A config laid over the default (default: the embedded one, on a
    /// free port); it must not name a database.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ControlArgs {
    /// Seconds each of the two runs lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Load threads, each a keep-alive connection.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Pairs of runs (quiet, then hammered), compared by their medians, so
    /// that a noisy spell of the machine lands in one pair, not one side.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// The `redline` binary (default: beside this one).
    #[arg(long)]
    redline: Option<std::path::PathBuf>,
    /// A config laid over the default (default: the embedded one, on a
    /// free port).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Let the load threads run on any core, the pinned stages' included
    /// (default: only on the cores the engine keeps its control side on).
    #[arg(long)]
    load_anywhere: bool,
}

#[derive(Debug, clap::Args)]
struct ExchangeArgs {
    /// The engine's feed address (`feed.itch.listen`).
    #[arg(long, default_value = "127.0.0.1:26400")]
    to: std::net::SocketAddr,
    /// Where the re-request server listens (`feed.itch.retransmit`).
    #[arg(long, default_value = "127.0.0.1:26401")]
    retransmit: std::net::SocketAddr,
    /// ITCH messages per second, paced open loop.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Messages per packet.
    #[arg(long, default_value_t = 4)]
    per_packet: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Lose every Nth packet, to exercise gaps (0: none).
    #[arg(long, default_value_t = 0)]
    lose_every: u64,
    /// The stocks to send, comma-separated (each priced 100.00; configure
    /// the engine with the same symbols).
    #[arg(long, default_value = "AAPL,MSFT", value_delimiter = ',')]
    symbols: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct FixArgs {
    /// Orders each row times.
    #[arg(long, default_value_t = 200_000)]
    orders: usize,
}

#[derive(Debug, clap::Args)]
struct FixVenueArgs {
    /// Where to listen (the engine's `venue.fix.connect`).
    #[arg(long, default_value = "127.0.0.1:9878")]
    listen: std::net::SocketAddr,
    /// A redline config file whose instruments to trade (default: the
    /// embedded default's).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// The venue's CompID (the engine's `venue.fix.target_comp_id`).
    #[arg(long, default_value = "VENUE")]
    comp_id: String,
    /// The engine's CompID (its `venue.fix.sender_comp_id`).
    #[arg(long, default_value = "REDLINE")]
    engine_comp_id: String,
    /// HeartBtInt, in seconds.
    #[arg(long, default_value_t = 30)]
    heartbeat_s: u32,
    /// The chance, 0 to 1, that a marketable order fills on arrival.
    #[arg(long, default_value_t = 0.3)]
    fill_probability: f64,
    /// How long to serve, in seconds; 0 until stopped.
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

#[derive(Debug, clap::Args)]
struct FeedArgs {
    /// Messages applied per run.
    #[arg(long, default_value_t = 2_000_000)]
    messages: usize,
    /// Instruments the order flow spreads over.
    #[arg(long, default_value_t = 8)]
    instruments: usize,
    /// Orders the flow keeps live.
    #[arg(long, default_value_t = 20_000)]
    live: usize,
    /// Throughput runs per variant; the median is printed.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The core to run on (default: the highest).
    #[arg(long)]
    core: Option<usize>,
}

#[derive(Debug, clap::Args)]
struct PathArgs {
    /// Quotes per second over eight instruments, paced open loop.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Quotes taken before measuring, per topology.
    #[arg(long, default_value_t = 50_000)]
    warmup: u64,
    /// Quotes measured, per topology.
    #[arg(long, default_value_t = 500_000)]
    quotes: u64,
}

#[derive(Debug, clap::Args)]
struct RingArgs {
    /// Recorded messages per queue, over all rounds.
    #[arg(long, default_value_t = 200_000)]
    messages: u64,
    /// Rounds that the latency runs are split into; each round runs the
    /// limit and every queue once, so a noisy spell on the machine spreads
    /// over all of them instead of landing on one.
    #[arg(long, default_value_t = 5)]
    latency_rounds: u64,
    /// Unrecorded messages sent first, in each round.
    #[arg(long, default_value_t = 10_000)]
    warmup: u64,
    /// Nanoseconds between sends.
    #[arg(long, default_value_t = 5_000)]
    interval_ns: u64,
    /// Core of the sending thread (default: the second-highest core).
    #[arg(long)]
    producer_core: Option<usize>,
    /// Core of the receiving thread (default: the highest core).
    #[arg(long)]
    consumer_core: Option<usize>,
    /// Items per saturated-throughput run (0 skips throughput).
    #[arg(long, default_value_t = 20_000_000)]
    throughput_items: u64,
    /// Slots in every queue (a power of two).
    #[arg(long, default_value_t = 1024)]
    capacity: usize,
    /// Throughput runs per variant; the median is printed.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn main() {
    match Cli::parse().scenario {
        Scenario::Ring(args) => ring(&args),
        Scenario::Path(args) => path(&args),
        Scenario::Feed(args) => {
            println!("redline-bench feed: {}", machine());
            feed::run(&feed::FeedBench {
                messages: args.messages,
                instruments: args.instruments,
                live: args.live,
                rounds: args.rounds,
                core: args.core.unwrap_or_else(|| {
                    redline_engine::stage::available_cores()
                        .last()
                        .copied()
                        .unwrap_or(0)
                }),
            });
        }
        Scenario::Exchange(args) => {
            let run = exchange::run(&exchange::Exchange {
                to: args.to,
                retransmit: args.retransmit,
                rate: args.rate,
                per_packet: args.per_packet,
                seconds: args.seconds,
                lose_every: args.lose_every,
                symbols: args.symbols,
            });
            if let Err(e) = run {
                eprintln!("redline-bench exchange: {e:#}");
                std::process::exit(1);
            }
        }
        Scenario::Fix(args) => {
            println!("redline-bench fix: {}", machine());
            if let Err(e) = fix::run(&fix::FixBench {
                orders: args.orders,
            }) {
                eprintln!("redline-bench fix: {e:#}");
                std::process::exit(1);
            }
        }
        Scenario::FixVenue(args) => {
            let run = fix_venue::run(&fix_venue::FixVenueRun {
                listen: args.listen,
                config: args.config.as_deref(),
                comp_id: args.comp_id,
                engine_comp_id: args.engine_comp_id,
                heartbeat_s: args.heartbeat_s,
                fill_probability: args.fill_probability,
                seconds: args.seconds,
            });
            if let Err(e) = run {
                eprintln!("redline-bench fix-venue: {e:#}");
                std::process::exit(1);
            }
        }
        Scenario::Control(args) => {
            if let Err(e) = control(&args) {
                eprintln!("redline-bench control: {e:#}");
                std::process::exit(1);
            }
        }
        Scenario::Persist(args) => {
            if let Err(e) = persist(&args) {
                eprintln!("redline-bench persist: {e:#}");
                std::process::exit(1);
            }
        }
    }
}

/// The `redline` binary to run: `given`, or the one beside this binary.
fn redline_binary(given: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    let redline = match given {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()?.with_file_name("redline"),
    };
    anyhow::ensure!(
        redline.exists(),
        "no redline binary at {}; build it with the same profile (`cargo build --profile \
         release-lto -p redline`) or pass --redline",
        redline.display()
    );
    Ok(redline)
}

/// `given`, or a config on the embedded default with the control plane on
/// a free port, written to a file removed when the guard drops.
fn config_file(
    given: Option<&std::path::Path>,
) -> anyhow::Result<(std::path::PathBuf, Option<tempfile::NamedTempFile>)> {
    if let Some(path) = given {
        return Ok((path.to_owned(), None));
    }
    let file = tempfile::Builder::new()
        .prefix("redline-bench-")
        .suffix(".toml")
        .tempfile()?;
    std::fs::write(file.path(), "[control]\nlisten = \"127.0.0.1:0\"\n")?;
    Ok((file.path().to_owned(), Some(file)))
}

fn persist(args: &PersistArgs) -> anyhow::Result<()> {
    let redline = redline_binary(args.redline.as_deref())?;
    let (config, _guard) = config_file(args.config.as_deref())?;
    println!("redline-bench persist: {}", machine());
    println!(
        "redline run for {0} s on the journal alone, then {0} s more on that journal with a \
         PostgreSQL server (initdb in a temporary directory, fsync off) whose persister copies \
         it from the first entry; then a bare COPY BINARY of the rows that landed from a plain \
         loop beside a third run on a journal of its own; the server and the copies on the \
         control cores; quote-to-order from each run's summary",
        args.seconds
    );
    let f = persist::run(&redline, &config, args.seconds)?;
    println!(
        "backlog left by the first run: {} entries; server and copies on cores {}",
        f.backlog,
        f.cores.as_deref().unwrap_or("any")
    );
    println!(
        "\n{:<18} {:>10} {:>10} {:>10} {:>12}",
        "run", "p50 ns", "p99 ns", "p99.9 ns", "audit waits"
    );
    for (name, p) in [
        ("journal only", f.journal_only),
        ("with PostgreSQL", f.with_database),
        ("beside bare COPY", f.beside_bare),
    ] {
        println!(
            "{name:<18} {:>10.0} {:>10.0} {:>10.0} {:>12}",
            p.p50, p.p99, p.p999, p.audit_waits
        );
    }
    println!(
        "\n{:<18} {:>12} {:>10} {:>14}",
        "copy", "entries", "seconds", "entries/s"
    );
    for (name, rate) in [("persister", f.persisted), ("bare COPY BINARY", f.bare)] {
        println!(
            "{name:<18} {:>12} {:>10.2} {:>14.0}",
            rate.entries,
            rate.seconds,
            rate.per_second()
        );
    }
    println!(
        "(the persister had a backlog for {:.1} of {} s; the bare loop copied {} rows, the \
         entries' own and the position snapshots their fills add)",
        f.busy_seconds, args.seconds, f.rows
    );
    println!("\ntargets (informational; judged on a quiet machine):");
    at_least(
        "persister over bare COPY (at least 0.80x)",
        f.persisted.per_second() / f.bare.per_second(),
        0.8,
    );
    verdict(
        "with-PostgreSQL p99.9 over journal-only (within 1.2x)",
        f.with_database.p999 / f.journal_only.p999,
        1.2,
    );
    Ok(())
}

fn control(args: &ControlArgs) -> anyhow::Result<()> {
    let redline = redline_binary(args.redline.as_deref())?;
    let (config, _guard) = config_file(args.config.as_deref())?;
    let rounds = args.rounds.max(1);
    println!("redline-bench control: {}", machine());
    println!(
        "{} round(s) of redline run for {} s quiet, then {} s with {} connection(s) requesting \
         /metrics and /health back to back ({}); quote-to-order from each run's summary",
        rounds,
        args.seconds,
        args.seconds,
        args.connections,
        if args.load_anywhere {
            "load threads on any core"
        } else {
            "load threads on the engine's control cores"
        }
    );
    let (mut quiet, mut hammered) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        quiet.push(control::run(
            &redline,
            &config,
            args.seconds,
            0,
            args.load_anywhere,
        )?);
        hammered.push(control::run(
            &redline,
            &config,
            args.seconds,
            args.connections,
            args.load_anywhere,
        )?);
    }
    println!(
        "\n{:<14} {:>10} {:>10} {:>10} {:>14}",
        "run", "p50 ns", "p99 ns", "p99.9 ns", "requests/s"
    );
    for (round, (q, h)) in quiet.iter().zip(&hammered).enumerate() {
        for (name, f) in [("quiet", q), ("hammered", h)] {
            let label = if rounds > 1 {
                format!("{name} {}", round + 1)
            } else {
                name.to_string()
            };
            println!(
                "{label:<14} {:>10.0} {:>10.0} {:>10.0} {:>14.0}",
                f.latency.p50, f.latency.p99, f.latency.p999, f.requests_per_second
            );
        }
    }
    let median = |runs: &[control::Figures], stat: fn(&control::Figures) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(stat).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let p999 = |f: &control::Figures| f.latency.p999;
    let (quiet_p999, hammered_p999) = (median(&quiet, p999), median(&hammered, p999));
    if rounds > 1 {
        for (name, runs) in [("median quiet", &quiet), ("median hammer", &hammered)] {
            println!(
                "{name:<14} {:>10.0} {:>10.0} {:>10.0} {:>14.0}",
                median(runs, |f| f.latency.p50),
                median(runs, |f| f.latency.p99),
                median(runs, p999),
                median(runs, |f| f.requests_per_second)
            );
        }
    }
    println!("\ntargets (informational; judged on a quiet machine):");
    verdict(
        if rounds > 1 {
            "hammered p99.9 over quiet, medians (1.2x)"
        } else {
            "hammered p99.9 over quiet (within 1.2x)"
        },
        hammered_p999 / quiet_p999,
        1.2,
    );
    Ok(())
}

fn path(args: &PathArgs) {
    let run = path::PathRun {
        rate: args.rate.max(1),
        warmup: args.warmup,
        quotes: args.quotes.max(1),
    };
    println!("redline-bench path: {}", machine());
    println!(
        "market maker over 8 instruments, synthetic feed at {} quotes/s; {} quotes measured \
         after {} warm-up, per topology; quote received (feed stamp) to order handed to the \
         venue, from the audit stream",
        run.rate, run.quotes, run.warmup
    );
    let results = [path::fused(&run), path::pipeline(&run), path::tokio(&run)];
    for result in &results {
        println!(
            "  {}: {} orders and cancels sent; {}",
            result.name, result.sent, result.placement
        );
    }
    if redline_engine::stage::available_cores().len() < 4 {
        println!(
            "note: with fewer than 4 cores the pipeline's stages share cores, and a spinning \
             stage that keeps finding work holds its core until the scheduler preempts it \
             (milliseconds); `auto` runs fused on such machines for that reason"
        );
    }
    let rows: Vec<Row> = results
        .iter()
        .map(|r| Row::from_ns(r.name, &r.quote_to_send))
        .collect();
    print_latency_table(
        "quote-to-order latency (ns), ratio to the fused topology",
        &rows,
        Some(&rows[0]),
    );
    println!("\ntargets (informational; judged on a quiet machine):");
    let (fused, tokio) = (&rows[0], &rows[2]);
    verdict(
        "fused p99 over tokio's (10x lower)",
        fused.p99() / tokio.p99(),
        0.1,
    );
    verdict(
        "fused p50 over the ring pipeline's",
        fused.p50() / rows[1].p50(),
        1.0,
    );
}

fn ring(args: &RingArgs) {
    let cores = redline_engine::stage::available_cores();
    assert!(
        cores.len() >= 2,
        "the ring benchmark needs two cores, found {cores:?}"
    );
    let consumer_core = args.consumer_core.unwrap_or(cores[cores.len() - 1]);
    let producer_core = args.producer_core.unwrap_or(cores[cores.len() - 2]);
    let rounds = args.latency_rounds.max(1);
    let hop = Hop {
        messages: args.messages.div_ceil(rounds),
        warmup: args.warmup,
        interval_ticks: clock::ns_to_ticks(args.interval_ns),
        producer_core,
        consumer_core,
        capacity: args.capacity,
    };
    println!("redline-bench ring: {}", machine());
    println!(
        "clock: rdtsc, {:.4} ns/tick, steps of {:.1} ns (quantiles are quantised to it; means are not); cores {producer_core} -> {consumer_core}; \
         {} rounds of {} messages (+{} warm-up) per queue, one every {} ns, {} slots per queue",
        clock::ns_per_tick(),
        limits::clock_step_ns(),
        rounds,
        hop.messages,
        args.warmup,
        args.interval_ns,
        hop.capacity
    );

    let mut limit = harness::new_histogram();
    let mut lossless = harness::new_histogram();
    let (mut missed, mut lapped) = (0, 0);
    let mut measured: Vec<_> = peers::PEERS
        .iter()
        .map(|_| harness::new_histogram())
        .collect();
    for _ in 0..rounds {
        let (histogram, round_missed) = limits::one_way(&hop);
        limit.add(&histogram).expect("same histogram bounds");
        missed += round_missed;
        let (histogram, round_lapped) = limits::one_way_lines(&hop);
        lossless.add(&histogram).expect("same histogram bounds");
        lapped += round_lapped;
        for ((_, run), total) in peers::PEERS.iter().zip(&mut measured) {
            total.add(run(&hop)).expect("same histogram bounds");
        }
    }
    if missed > 0 {
        println!(
            "note: the one-line limit's consumer missed {missed} of {} sends, each overwritten \
             by the next while the consumer or the producer was stalled; they are absent from \
             its tail, which the lossless limit keeps",
            rounds * hop.total()
        );
    }
    if lapped > 0 {
        println!(
            "note: the lossless limit lost {lapped} sends to a lap (a stall of {} us or more)",
            clock::ticks_to_ns(hop.interval_ticks * hop.capacity as u64) / 1000
        );
    }
    let limit = Row::from_ticks("cache-line limit (one line)", &limit);
    let lossless = Row::from_ticks("cache-line limit, line per message", &lossless);
    let mut rows = vec![limit.clone(), lossless.clone()];
    for ((name, _), histogram) in peers::PEERS.iter().zip(&measured) {
        rows.push(Row::from_ticks(name, histogram));
    }
    print_latency_table(
        "one-way hop latency (ns), ratio to the cache-line limit",
        &rows,
        Some(&limit),
    );

    let reference = [
        Row::from_ticks("cache-line round trip", &limits::round_trip(&hop)),
        Row::from_ticks("clock read (rdtsc)", &limits::clock_read(&hop)),
    ];
    print_latency_table("reference costs (ns)", &reference, None);

    let ring = &rows[2];
    let peers = &rows[3..];
    let best = |stat: fn(&Row) -> f64| peers.iter().map(stat).fold(f64::MAX, f64::min);
    println!("\ntargets (informational; judged on a quiet machine):");
    verdict(
        "ring p50 within 1.15x of the limit",
        ring.p50() / limit.p50(),
        1.15,
    );
    verdict(
        "ring mean99 within 1.15x of the limit",
        ring.mean() / limit.mean(),
        1.15,
    );
    verdict(
        "ring p99 within 2x of the limit",
        ring.p99() / limit.p99(),
        2.0,
    );
    verdict(
        "ring p99 within 2x of the lossless limit",
        ring.p99() / lossless.p99(),
        2.0,
    );
    verdict(
        "ring p50 over the best peer's",
        ring.p50() / best(Row::p50),
        1.0,
    );
    verdict(
        "ring mean99 over the best peer's",
        ring.mean() / best(Row::mean),
        1.0,
    );
    verdict(
        "ring p99 over the best peer's",
        ring.p99() / best(Row::p99),
        1.0,
    );

    if args.throughput_items > 0 {
        let rates = throughput::run_all(
            args.throughput_items,
            hop.cores(),
            args.capacity,
            args.rounds.max(1),
        );
        println!(
            "\nsaturated throughput, {} u64 items, median of {} runs",
            args.throughput_items, args.rounds
        );
        let ring_single = rates[0].items_per_sec;
        for rate in &rates {
            println!(
                "{:<34}{:>10.1} M items/s{:>8.2}x redline single",
                rate.name,
                rate.items_per_sec / 1e6,
                rate.items_per_sec / ring_single
            );
        }
        let [single, batch, rtrb_single, rtrb_batch, array_queue] =
            [0, 1, 2, 3, 4].map(|i| rates[i].items_per_sec);
        verdict("rtrb single over ring single", rtrb_single / single, 1.0);
        verdict("rtrb batch over ring batch", rtrb_batch / batch, 1.0);
        verdict("ArrayQueue over ring single", array_queue / single, 1.0);
    }
}

fn verdict(what: &str, ratio: f64, target: f64) {
    let mark = if ratio <= target { "met" } else { "NOT met" };
    println!("  {what:<40} {ratio:>6.2}x (target <= {target:.2}x) {mark}");
}

fn at_least(what: &str, ratio: f64, target: f64) {
    let mark = if ratio >= target { "met" } else { "NOT met" };
    println!("  {what:<40} {ratio:>6.2}x (target >= {target:.2}x) {mark}");
}

/// CPU model and core count, for the record.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores")
}
