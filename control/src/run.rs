//! `redline run`: build the decision path in the configured topology, start
//! its stages and the side thread, print a status line once a second, and
//! stop cleanly (with a summary): after a drain on SIGINT, SIGTERM or
//! `POST /admin/drain`, or at the end of a replay.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_lot::Mutex;
use redline_engine::audit::{AuditStats, Latency};
use redline_engine::clock;
use redline_engine::command::{Action, Outcome};
use redline_engine::domain::{Decimal, Instruments, Reject};
use redline_engine::feed::{Feed, Pace, Recorded, ReplayFeed, SyntheticFeed};
use redline_engine::path::{command_ring, PathCounters, PathParts, TimeSource};
use redline_engine::risk::RiskGate;
use redline_engine::stage::{available_cores, PinOutcome, PinPolicy, Runtime, Topology};
use redline_engine::venue::SimVenue;
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::commander::Commander;
use crate::config::Config;
use crate::freeze;
use crate::http::{AdminToken, Bounds, ControlPlane, Desk, DoorLimits, View};
use crate::placement;
use crate::side::{SideThread, Tally};
use crate::systemd::Notifier;

/// Runs until a drain (SIGINT, SIGTERM, `POST /admin/drain`) or the end of
/// `replay` (the quotes `Config::replay` read when the feed source is a
/// replay), then stops and joins every stage and prints a summary.
///
/// # Errors
///
/// Besides start-up failures: a drain that left orders open.
pub fn run(config: &Config, replay: Option<Vec<Recorded>>) -> anyhow::Result<()> {
    let cores = available_cores();
    let plan = placement::plan(config, &cores);
    let mut runtime = Runtime::new(config.topology.pinning);
    let drain = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // A second signal while draining exits at once, with status 1.
        signal_hook::flag::register_conditional_shutdown(signal, 1, drain.clone())
            .context("cannot install signal handlers")?;
        signal_hook::flag::register(signal, drain.clone())
            .context("cannot install signal handlers")?;
    }
    let instruments = config.instruments();
    let ticks_per_second = 1e9 / clock::ns_per_tick();
    let time = config.clock.source;
    let now = match time {
        TimeSource::Wall => clock::ticks(),
        TimeSource::Simulated => 0,
    };
    let (feed, replay_len, source) =
        build_feed(config, replay, &instruments, now, ticks_per_second);
    let strategy = config.strategy().map_err(|e| anyhow::anyhow!("{e}"))?;
    let gate = RiskGate::new(&config.risk, &instruments, ticks_per_second, now)
        .map_err(|e| anyhow::anyhow!("risk: {e}"))?;
    let venue = SimVenue::new(&config.venue, &instruments, ticks_per_second);
    println!(
        "redline {}: topology {} on {} core(s), pinning {}; {} over {} instruments; \
         strategy {}; {} time",
        env!("CARGO_PKG_VERSION"),
        plan.topology.name(),
        cores.len(),
        match config.topology.pinning {
            PinPolicy::Required => "required",
            PinPolicy::BestEffort => "best-effort",
        },
        source,
        instruments.len(),
        config.strategy.name,
        match time {
            TimeSource::Wall => "wall-clock",
            TimeSource::Simulated => "simulated",
        },
    );

    let counters = Arc::new(PathCounters::new(
        instruments.len(),
        config.risk.max_open_orders,
    ));
    let (commander, commands) = command_ring();
    let commander = Arc::new(Mutex::new(Commander::new(commander)));
    let parts = PathParts {
        feed,
        strategy,
        gate,
        venue,
        counters: Arc::clone(&counters),
        commands,
        time,
        now,
        ticks_per_second,
    };
    let sizes = config.ring_sizes();
    let audit_rings = match plan.topology {
        Topology::Pipeline => {
            let (pipeline, rings) = parts.pipeline(&sizes);
            let mut stages = plan.stages.into_iter();
            let mut next = |name: &str| {
                stages
                    .find(|s| s.name == name)
                    .with_context(|| format!("the {name} stage's placement"))
            };
            freeze::spawn(&mut runtime, next("feed")?, pipeline.feed)?;
            freeze::spawn(&mut runtime, next("decide")?, pipeline.decide)?;
            freeze::spawn(&mut runtime, next("gateway")?, pipeline.gateway)?;
            rings.into()
        }
        Topology::Fused | Topology::Auto => {
            let spec = plan.stages.into_iter().next().context("the fused stage")?;
            let (path, ring) = parts.fused(&sizes);
            freeze::spawn(&mut runtime, spec, path)?;
            vec![ring]
        }
    };
    let desk = Desk::new(
        Arc::clone(&commander),
        config.risk,
        config.risk.max_open_orders,
        serde_json::to_value(config).context("the effective config")?,
        instruments.clone(),
        Arc::clone(&drain),
    );
    let plane = control_plane(config, &runtime, &counters, &instruments, desk)?;
    let side = SideThread::start(audit_rings, instruments.len(), clock::ns_per_tick(), plane)?;
    for stage in runtime.stages() {
        let line = format!(
            "  stage {}: {}, idle {}",
            stage.name,
            stage.pinning,
            stage.idle.name()
        );
        match stage.pinning {
            PinOutcome::Failed { .. } => eprintln!("redline: warning:{line}"),
            _ => println!("{line}"),
        }
    }
    println!("redline: running; stop with Ctrl-C or SIGTERM (drains first)");

    let started = Instant::now();
    let mut last = Totals::default();
    let mut next_report = started + Duration::from_secs(1);
    let mut drained = Ok(());
    let mut systemd = Notifier::new(runtime.stages(), started);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if let Some(systemd) = &mut systemd {
            systemd.tick(Instant::now());
        }
        // Relaxed: the flag carries no data; the commander's lock orders
        // the issuer.
        if drain.load(Ordering::Relaxed) {
            if let Some(systemd) = &systemd {
                systemd.stopping();
            }
            let grace = Duration::from_millis(config.control.drain_grace_ms);
            drained = run_drain(&commander, &side, &counters, grace);
            break;
        }
        if replay_len.is_some_and(|len| counters.quotes() >= len) {
            println!("redline: replay finished");
            break;
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            let mut tally = side.tally().lock();
            let line = status_line(
                started,
                &counters,
                &tally,
                &instruments,
                time == TimeSource::Simulated,
                &mut last,
            );
            tally.recent.clear();
            drop(tally);
            println!("{line}");
        }
    }
    println!("redline: stopping");
    runtime.shutdown()?;
    let tally = side.finish()?;
    print!(
        "{}",
        summary(
            started.elapsed(),
            &counters,
            &tally,
            &instruments,
            time == TimeSource::Simulated
        )
    );
    drained
}

/// Sends the drain and waits, up to `grace`, for it to end: trading
/// halted, every open order cancelled and its end reported. The stages
/// still run meanwhile; the caller stops them.
///
/// # Errors
///
/// When orders are still open after `grace`.
fn run_drain(
    commander: &Mutex<Commander>,
    side: &SideThread,
    counters: &PathCounters,
    grace: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + grace;
    let issuer = commander.lock().drain_issuer();
    let who = match issuer {
        0 => "a signal".to_owned(),
        id => format!("admin token {id:08x}"),
    };
    println!("redline: draining (asked by {who}): trading halted, cancelling open orders");
    let mut sent = None;
    let mut outcome = None;
    while Instant::now() < deadline && outcome.is_none() {
        match sent {
            None => sent = commander.lock().send(issuer, Action::Drain).ok(),
            Some(id) => outcome = side.tally().lock().outcome(id),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if outcome == Some(Outcome::Done) {
        println!("redline: drained: no order open");
        return Ok(());
    }
    let open = counters.risk().map_or_else(
        || "an unknown number of".to_owned(),
        |r| r.open_orders.to_string(),
    );
    anyhow::bail!(
        "drain: not done within {} ms (control.drain_grace_ms): {open} order(s) open as the \
         decide stage last published; check them at the venue",
        grace.as_millis()
    )
}

/// The control plane's listener, bound now so that a port in use fails
/// the start; `None` when `[control] enabled = false`.
fn control_plane(
    config: &Config,
    runtime: &Runtime,
    counters: &Arc<PathCounters>,
    instruments: &Instruments,
    desk: Desk,
) -> anyhow::Result<Option<ControlPlane>> {
    let control = &config.control;
    if !control.enabled {
        println!("redline: control plane off (control.enabled = false)");
        return Ok(None);
    }
    let token = AdminToken::load(&control.token_file, &control.token_env)?;
    let view = View {
        counters: Arc::clone(counters),
        stages: runtime.stages().to_vec(),
        symbols: instruments.iter().map(|i| i.spec.symbol.clone()).collect(),
        bounds: Bounds {
            stall: Duration::from_millis(control.stall_ms),
            stale_quotes: Duration::from_millis(config.risk.stale_quote_ms),
        },
        draining: Arc::clone(&desk.drain),
    };
    let listen = control
        .listen
        .parse()
        .context("control.listen: checked at load")?;
    let limits = DoorLimits {
        connections: control.max_connections,
        header_bytes: control.max_header_bytes,
        request_timeout: Duration::from_millis(control.request_timeout_ms),
        idle_timeout: Duration::from_millis(control.idle_timeout_ms),
    };
    let plane = ControlPlane::bind(listen, limits, view, desk, token.clone())?;
    let addr = plane.local_addr();
    let admin = if token.is_set() {
        format!("on, bearer token {:08x} required", token.id())
    } else {
        "off: no token configured".to_owned()
    };
    println!("redline: control plane on http://{addr} (admin {admin})");
    Ok(Some(plane))
}

/// The configured feed, the replay's length (the run ends after it), and
/// words for the start-up line.
fn build_feed(
    config: &Config,
    replay: Option<Vec<Recorded>>,
    instruments: &Instruments,
    now: u64,
    ticks_per_second: f64,
) -> (Feed, Option<u64>, String) {
    match replay {
        None => {
            let synthetic = &config.feed.synthetic;
            let feed = SyntheticFeed::new(instruments, synthetic, now, ticks_per_second);
            let rate = match synthetic.rate {
                0 => "full speed (burst)".to_owned(),
                rate => format!("{rate} quotes/s"),
            };
            (
                Feed::Synthetic(feed),
                None,
                format!("synthetic feed at {rate}"),
            )
        }
        Some(recorded) => {
            let replay = &config.feed.replay;
            let pace = match replay.pace {
                Pace::Recorded => "recorded pace",
                Pace::Fastest => "fastest pace",
            };
            let source = format!(
                "replay of {} quotes from {} at {pace}",
                recorded.len(),
                replay.path.display()
            );
            let feed = ReplayFeed::new(&recorded, replay.pace, now, ticks_per_second);
            (Feed::Replay(feed), Some(recorded.len() as u64), source)
        }
    }
}

/// The running totals the status line turns into rates.
#[derive(Debug, Default)]
struct Totals {
    quotes: u64,
    decisions: u64,
}

/// One line: rates over the last second, totals, risk, and the last
/// second's quote-to-order latency (in wall-clock time).
fn status_line(
    started: Instant,
    counters: &PathCounters,
    tally: &Tally,
    instruments: &Instruments,
    simulated: bool,
    last: &mut Totals,
) -> String {
    let total = &tally.total;
    let quotes = counters.quotes();
    let mut line = format!(
        "status: up {}s, quotes {}/s, decisions {}/s, orders {}, fills {}, rejects {}",
        started.elapsed().as_secs(),
        quotes - last.quotes,
        total.decisions - last.decisions,
        total.orders_sent,
        total.fills + total.partial_fills,
        rejects(total),
    );
    *last = Totals {
        quotes,
        decisions: total.decisions,
    };
    let _ = write!(
        line,
        ", state {}, position {}, {}",
        counters.state().name(),
        net_position(total, instruments),
        pnl(counters),
    );
    if !simulated {
        let _ = write!(
            line,
            ", quote-to-order {}",
            percentiles(&tally.recent.quote_to_send)
        );
    }
    if counters.audit_waits() > 0 {
        let _ = write!(line, ", audit waits {}", counters.audit_waits());
    }
    line
}

/// The summary printed when the run ends.
fn summary(
    elapsed: Duration,
    counters: &PathCounters,
    tally: &Tally,
    instruments: &Instruments,
    simulated: bool,
) -> String {
    let total = &tally.total;
    let mut out = format!(
        "redline: stopped cleanly after {:.1}s; {} quotes processed\n",
        elapsed.as_secs_f64(),
        counters.quotes()
    );
    let _ = writeln!(
        out,
        "  decisions {}, orders sent {}, cancels sent {}, acks {}, fills {} (+{} partial), \
         cancelled {}",
        total.decisions,
        total.orders_sent,
        total.cancels_sent,
        total.acks,
        total.fills,
        total.partial_fills,
        total.cancelled
    );
    let _ = writeln!(out, "  rejects {}", rejects(total));
    let _ = writeln!(
        out,
        "  state {}, {}, positions {}",
        counters.state().name(),
        pnl(counters),
        net_position(total, instruments)
    );
    let latencies = [
        ("quote-to-order", &total.quote_to_send),
        ("quote-to-decision", &total.quote_to_decision),
        ("decision-to-send", &total.decision_to_send),
    ];
    // Simulated time does not move while the path works: nothing to show.
    for (name, latency) in latencies.iter().filter(|_| !simulated) {
        let _ = writeln!(
            out,
            "  {name} {}, max {}",
            percentiles(latency),
            nanos(latency.histogram().max())
        );
    }
    let _ = write!(
        out,
        "  audit: {} records, {} waits for room",
        total.records,
        counters.audit_waits()
    );
    if simulated {
        let _ = write!(out, ", digest {:016x}", tally.digest.value());
    }
    out.push('\n');
    out
}

/// `NONE`, or `CODE=n CODE=n` for each reason seen.
fn rejects(stats: &AuditStats) -> String {
    let seen: Vec<String> = Reject::ALL
        .iter()
        .filter(|r| stats.rejects[r.index()] > 0)
        .map(|r| format!("{}={}", r.code(), stats.rejects[r.index()]))
        .collect();
    match seen.as_slice() {
        [] => "none".into(),
        _ => format!("{} ({})", stats.total_rejects(), seen.join(" ")),
    }
}

/// `flat`, or each non-zero position: `ESZ6 +2 NQZ6 -1`.
fn net_position(stats: &AuditStats, instruments: &Instruments) -> String {
    let held: Vec<String> = instruments
        .iter()
        .zip(&stats.positions)
        .filter(|(_, &lots)| lots != 0)
        .map(|(instrument, lots)| format!("{} {lots:+}", instrument.spec.symbol))
        .collect();
    if held.is_empty() {
        "flat".into()
    } else {
        held.join(" ")
    }
}

/// `pnl T (realized R, unrealized U)` as the path last published it.
fn pnl(counters: &PathCounters) -> String {
    match counters.risk() {
        Some(risk) => format!(
            "pnl {} (realized {}, unrealized {})",
            money(risk.pnl_nanos()),
            money(risk.realized_nanos),
            money(risk.unrealized_nanos)
        ),
        None => "pnl unknown (the decide stage stopped while publishing)".into(),
    }
}

/// Nano-units as a decimal amount with two places.
fn money(nanos: i64) -> String {
    Decimal::new(i128::from(nanos) / 10_000_000, 2).to_string()
}

fn percentiles(latency: &Latency) -> String {
    if latency.count() == 0 {
        return "p50/p99/p99.9 -".into();
    }
    format!(
        "p50 {} p99 {} p99.9 {}",
        nanos(latency.quantile_ns(0.5)),
        nanos(latency.quantile_ns(0.99)),
        nanos(latency.quantile_ns(0.999))
    )
}

/// A duration in nanoseconds, in the unit that reads best.
fn nanos(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns}ns"),
        10_000..=9_999_999 => format!("{:.1}us", ns as f64 / 1e3),
        _ => format!("{:.1}ms", ns as f64 / 1e6),
    }
}
