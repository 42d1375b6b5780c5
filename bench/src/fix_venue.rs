//! The `fix-venue` scenario: a stand-in venue for a running `redline`
//! whose `venue.kind = "fix"`. It serves the engine's FIX session with the
//! engine's own stand-in (the simulated venue's matching behind a FIX
//! acceptor) against a market a tick either side of each instrument's
//! reference price, for the instruments of a redline config file (the
//! embedded default's when none is given), and prints what it took and
//! answered once a second.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use redline_engine::domain::{InstrumentSpec, Instruments};
use redline_engine::venue::fix::{SessionConfig, StandInVenue};
use redline_engine::venue::SimVenueConfig;

/// The embedded default config, for its instruments.
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The scenario's knobs.
pub struct FixVenueRun<'a> {
    /// Where to listen (`venue.fix.connect` of the engine).
    pub listen: SocketAddr,
    /// A redline config whose `[[instruments]]` to trade, or `None`.
    pub config: Option<&'a Path>,
    /// The venue's CompID (the engine's `venue.fix.target_comp_id`).
    pub comp_id: String,
    /// The engine's (`venue.fix.sender_comp_id`).
    pub engine_comp_id: String,
    /// HeartBtInt it asks for.
    pub heartbeat_s: u32,
    /// The chance a marketable order fills when it arrives.
    pub fill_probability: f64,
    /// How long to serve; 0 until stopped.
    pub seconds: u64,
}

/// The instruments of the config at `path` (each table as the engine
/// reads it), or of the embedded default.
fn instruments(path: Option<&Path>) -> anyhow::Result<Instruments> {
    let text = match path {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => DEFAULT_TOML.to_owned(),
    };
    let mut table: toml::Table = toml::from_str(&text).context("not TOML")?;
    let value = match table.remove("instruments") {
        Some(value) => value,
        None => toml::from_str::<toml::Table>(DEFAULT_TOML)?
            .remove("instruments")
            .context("the default has instruments")?,
    };
    let specs: Vec<InstrumentSpec> = value.try_into().context("[[instruments]]")?;
    Instruments::new(&specs).map_err(|errors| anyhow::anyhow!("instruments: {errors:?}"))
}

/// Runs it.
pub fn run(args: &FixVenueRun<'_>) -> anyhow::Result<()> {
    let instruments = instruments(args.config)?;
    let market = StandInVenue::market_at_references(&instruments, 10);
    let matching = SimVenueConfig {
        seed: 11,
        fill_probability: args.fill_probability,
        latency_us: 0,
        max_orders: 1 << 16,
        touch_fill_probability: 0.0,
    };
    if let Some((key, problem)) = matching.problems().into_iter().next() {
        anyhow::bail!("--{}: {problem}", key.replace('_', "-"));
    }
    let venue = StandInVenue::start(
        args.listen,
        SessionConfig {
            sender_comp_id: args.comp_id.clone(),
            target_comp_id: args.engine_comp_id.clone(),
            heartbeat_s: args.heartbeat_s,
            answer_timeout_ms: 5_000,
            credentials: None,
        },
        &matching,
        &instruments,
        &market,
    )
    .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!(
        "fix-venue: listening on {} as {} for {}, {} instruments",
        venue.address(),
        args.comp_id,
        args.engine_comp_id,
        instruments.len()
    );
    let started = Instant::now();
    let counts = venue.counts();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        println!(
            "fix-venue: t={}s connections={} logons={} orders={} cancels={} reports={}",
            started.elapsed().as_secs(),
            counts.connections.load(Ordering::SeqCst),
            counts.logons.load(Ordering::SeqCst),
            counts.orders.load(Ordering::SeqCst),
            counts.cancels.load(Ordering::SeqCst),
            counts.reports.load(Ordering::SeqCst),
        );
        if args.seconds > 0 && started.elapsed() >= Duration::from_secs(args.seconds) {
            return Ok(());
        }
    }
}
