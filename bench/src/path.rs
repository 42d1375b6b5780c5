//! The path scenario: quote-to-order latency inside the engine, from the
//! feed stamping a quote to the order it led to being handed to the venue,
//! for the fused topology, the ring pipeline, and the same stages wired
//! with tokio mpsc channels and async tasks, the peer a user might build
//! instead. All three run the same feed, market maker, risk gate and
//! simulated venue (the engine's own types), write the same audit records,
//! and are measured from them the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use redline_engine::audit::{AuditEvent, AuditLog, AuditRecord, AuditStats, Stamps};
use redline_engine::clock;
use redline_engine::command::command_ring;
use redline_engine::domain::{InstrumentSpec, Instruments, Quote};
use redline_engine::feed::{Feed, SyntheticConfig, SyntheticFeed};
use redline_engine::path::{Outbox, Outgoing, PathCounters, PathParts, RingSizes, TimeSource};
use redline_engine::ring;
use redline_engine::risk::{RiskGate, RiskLimits};
use redline_engine::stage::{available_cores, Idle, PinPolicy, Runtime, StageSpec};
use redline_engine::strategy::Registry;
use redline_engine::venue::{SimVenue, SimVenueConfig, Venue};

/// How a run is made.
#[derive(Debug, Clone, Copy)]
pub struct PathRun {
    /// Quotes per second over all instruments, paced open loop.
    pub rate: u64,
    /// Quotes taken before measuring.
    pub warmup: u64,
    /// Quotes measured.
    pub quotes: u64,
}

/// Each topology's quote-to-order latency, in nanoseconds, and how many
/// orders it sent while measured.
pub struct Measured {
    /// What ran.
    pub name: &'static str,
    /// Quote received to order handed to the venue.
    pub quote_to_send: Histogram<u64>,
    /// Orders and cancels sent while measured.
    pub sent: u64,
    /// Where its threads ran.
    pub placement: String,
}

fn instruments() -> Instruments {
    let specs: Vec<InstrumentSpec> = (0..8)
        .map(|i| InstrumentSpec {
            symbol: format!("S{i}"),
            tick_size: "0.25".parse().expect("decimal"),
            lot_size: "1".parse().expect("decimal"),
            multiplier: "50".parse().expect("decimal"),
            reference_price: format!("{}", 1000 + 100 * i).parse().expect("decimal"),
        })
        .collect();
    Instruments::new(&specs).expect("valid instruments")
}

/// The parts every topology runs: the embedded default's strategy, risk
/// and venue settings over eight instruments.
fn counters() -> Arc<PathCounters> {
    Arc::new(PathCounters::new(instruments().len(), 64))
}

fn parts(run: &PathRun, counters: &Arc<PathCounters>) -> PathParts {
    let instruments = instruments();
    let ticks_per_second = 1e9 / clock::ns_per_tick();
    let now = clock::ticks();
    let params: toml::Table = toml::from_str(
        "half_spread_ticks = 1\nqty = 1\nskew_ticks_per_lot = 1\nmax_position = 5\nrequote_ticks = 2",
    )
    .expect("valid params");
    let limits = RiskLimits {
        max_order_qty: 10,
        max_order_notional: "5000000".parse().expect("decimal"),
        price_collar_bps: 100,
        max_position: 20,
        max_gross_exposure: "50000000".parse().expect("decimal"),
        max_open_orders: 64,
        orders_per_second: 50_000,
        order_burst: 1000,
        instrument_orders_per_second: 10_000,
        instrument_order_burst: 200,
        max_daily_loss: "100000000".parse().expect("decimal"),
        stale_quote_ms: 1000,
    };
    let feed = SyntheticConfig {
        seed: 42,
        rate: run.rate,
        spread_ticks: 2,
        max_step_ticks: 1,
        size_lots: 10,
    };
    let venue = SimVenueConfig {
        seed: 7,
        fill_probability: 0.3,
        latency_us: 50,
        max_orders: 1024,
        touch_fill_probability: 0.05,
    };
    PathParts {
        feed: Feed::Synthetic(SyntheticFeed::new(
            &instruments,
            &feed,
            now,
            ticks_per_second,
        )),
        strategy: Registry::with_builtins()
            .build("market-maker", &params, &instruments)
            .expect("valid strategy"),
        gate: RiskGate::new(&limits, &instruments, ticks_per_second, now).expect("valid limits"),
        venue: Venue::Sim(SimVenue::new(&venue, &instruments, ticks_per_second)),
        counters: Arc::clone(counters),
        // No operator: the command ring stays empty.
        commands: command_ring().1,
        time: TimeSource::Wall,
        now,
        ticks_per_second,
    }
}

const SIZES: RingSizes = RingSizes {
    quotes: 4096,
    orders: 1024,
    reports: 2048,
    audit: 1 << 16,
};

/// Drains the audit rings until `run.quotes` quotes past warm-up; returns
/// what was measured after warm-up.
fn measure(
    mut rings: Vec<ring::Consumer<AuditRecord>>,
    counters: &PathCounters,
    run: &PathRun,
) -> AuditStats {
    let mut stats = AuditStats::new(8, clock::ns_per_tick());
    let mut warm = false;
    let limit = Duration::from_secs_f64(4.0 * (run.warmup + run.quotes) as f64 / run.rate as f64)
        + Duration::from_secs(10);
    let deadline = Instant::now() + limit;
    while counters.quotes() < run.warmup + run.quotes {
        assert!(Instant::now() < deadline, "the path stalled");
        if !warm && counters.quotes() >= run.warmup {
            stats.clear();
            warm = true;
        }
        let mut taken = 0;
        for ring in &mut rings {
            for record in ring.drain(4096) {
                stats.absorb(&record);
                taken += 1;
            }
        }
        if taken == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    stats
}

fn measured(name: &'static str, stats: AuditStats, placement: String) -> Measured {
    Measured {
        name,
        sent: stats.orders_sent + stats.cancels_sent,
        quote_to_send: stats.quote_to_send.histogram().clone(),
        placement,
    }
}

/// The fused topology: one busy-spinning thread on the highest core.
pub fn fused(run: &PathRun) -> Measured {
    let counters = counters();
    let (path, ring) = parts(run, &counters).fused(&SIZES);
    let cores = available_cores();
    let core = cores.last().copied();
    let mut runtime = Runtime::new(PinPolicy::BestEffort);
    let spec = StageSpec {
        name: "fused".into(),
        core,
        idle: Idle::BusySpin,
    };
    runtime.spawn(spec, path).expect("spawn the fused stage");
    let stats = measure(vec![ring], &counters, run);
    runtime.shutdown().expect("a clean stop");
    measured("redline fused", stats, format!("core {core:?}, busy-spin"))
}

/// The ring pipeline: feed, decide and gateway on their own busy-spinning
/// cores when there are four or more; otherwise spread over the cores
/// there are (the decide stage alone on one), spinning then yielding, so
/// that they have the cores tokio's workers get.
pub fn pipeline(run: &PathRun) -> Measured {
    let counters = counters();
    let (pipeline, [decide_ring, gateway_ring]) = parts(run, &counters).pipeline(&SIZES);
    let cores = available_cores();
    let spare = cores.len() >= 4;
    let idle = if spare {
        Idle::BusySpin
    } else {
        Idle::SpinThenYield
    };
    // Stage i takes the i-th highest core, wrapping round.
    let core = |i: usize| (!cores.is_empty()).then(|| cores[cores.len() - 1 - i % cores.len()]);
    let spec = |name: &str, i: usize| StageSpec {
        name: name.into(),
        core: core(i),
        idle,
    };
    let mut runtime = Runtime::new(PinPolicy::BestEffort);
    runtime
        .spawn(spec("feed", 2), pipeline.feed)
        .expect("spawn feed");
    runtime
        .spawn(spec("decide", 1), pipeline.decide)
        .expect("spawn decide");
    runtime
        .spawn(spec("gateway", 0), pipeline.gateway)
        .expect("spawn gateway");
    let stats = measure(vec![decide_ring, gateway_ring], &counters, run);
    runtime.shutdown().expect("a clean stop");
    let placement = format!(
        "feed on core {:?}, decide {:?}, gateway {:?}, {}",
        core(2),
        core(1),
        core(0),
        idle.name()
    );
    measured("redline pipeline (rings)", stats, placement)
}

/// The decide stage's way out in the tokio peer: a bounded mpsc channel.
struct TokioOutbox(tokio::sync::mpsc::Sender<Outgoing>);

impl Outbox for TokioOutbox {
    fn room(&mut self, wanted: usize) -> usize {
        self.0.capacity().min(wanted)
    }

    fn send(&mut self, outgoing: Outgoing, _: u64, _: &mut AuditLog) {
        let _ = self.0.try_send(outgoing);
    }
}

/// The same stages as async tasks joined by tokio mpsc channels, on a
/// multi-threaded runtime with a worker per spare core (at least two).
pub fn tokio(run: &PathRun) -> Measured {
    use tokio::sync::mpsc;

    let counters = counters();
    let parts = parts(run, &counters);
    let (decide_audit, decide_ring) = ring::new(SIZES.audit);
    let (gateway_audit, gateway_ring) = ring::new(SIZES.audit);
    let decide = redline_engine::path::Decide::new(
        parts.strategy,
        parts.gate,
        AuditLog::new(decide_audit),
        Arc::clone(&counters),
        parts.commands,
        parts.venue.status(),
        TimeSource::Wall,
        parts.now,
        parts.ticks_per_second,
    );
    let workers = available_cores().len().saturating_sub(1).max(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("a tokio runtime");
    let (quotes_tx, mut quotes_rx) = mpsc::channel::<Quote>(SIZES.quotes);
    let (market_tx, mut market_rx) = mpsc::channel::<Quote>(SIZES.quotes);
    let (orders_tx, mut orders_rx) = mpsc::channel::<Outgoing>(SIZES.orders);
    let (reports_tx, mut reports_rx) = mpsc::channel(SIZES.reports);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = || Arc::clone(&stop);

    let mut feed = parts.feed;
    let feed_stop = stopped();
    runtime.spawn(async move {
        let mut batch = Vec::with_capacity(64);
        // Relaxed: a plain flag; the join orders the rest.
        while !feed_stop.load(std::sync::atomic::Ordering::Relaxed) {
            feed.poll(clock::ticks(), 64, |quote| batch.push(quote));
            if batch.is_empty() {
                tokio::task::yield_now().await;
            }
            for quote in batch.drain(..) {
                if quotes_tx.send(quote).await.is_err() || market_tx.send(quote).await.is_err() {
                    return;
                }
            }
        }
    });

    let mut decide = decide;
    let mut out = TokioOutbox(orders_tx);
    runtime.spawn(async move {
        loop {
            tokio::select! {
                Some(report) = reports_rx.recv() => {
                    while !decide.ready() {
                        tokio::task::yield_now().await;
                    }
                    decide.on_report(report, clock::ticks(), &mut out);
                }
                Some(quote) = quotes_rx.recv() => {
                    while !decide.ready() {
                        tokio::task::yield_now().await;
                    }
                    decide.on_quote(quote, clock::ticks(), &mut out);
                }
                else => return,
            }
        }
    });

    let mut venue = parts.venue;
    let mut audit = AuditLog::new(gateway_audit);
    runtime.spawn(async move {
        let mut reports = Vec::with_capacity(1024);
        loop {
            tokio::select! {
                Some(outgoing) = orders_rx.recv() => {
                    while !audit.has_room(1) {
                        tokio::task::yield_now().await;
                    }
                    let stamps = Stamps { sent: clock::ticks(), ..outgoing.stamps };
                    audit.record(AuditEvent::Sent { intent: outgoing.intent, stamps });
                    venue.submit(outgoing.intent, clock::ticks(), |r| reports.push(r));
                }
                Some(quote) = market_rx.recv() => {
                    venue.on_quote(&quote, usize::MAX, |r| reports.push(r));
                }
                else => return,
            }
            venue.poll(clock::ticks(), usize::MAX, |r| reports.push(r));
            for report in reports.drain(..) {
                if reports_tx.send(report).await.is_err() {
                    return;
                }
            }
        }
    });

    let stats = measure(vec![decide_ring, gateway_ring], &counters, run);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    runtime.shutdown_timeout(Duration::from_secs(1));
    measured(
        "tokio pipeline (mpsc + tasks)",
        stats,
        format!("{workers} worker threads"),
    )
}
