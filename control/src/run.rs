//! `redline run`: start the configured topology, report once a second, and
//! stop cleanly on SIGINT or SIGTERM.
//!
//! The stages start, pin, heartbeat and idle; the decision path they will
//! carry (feed, strategy, risk, venue) is not wired into them yet.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use redline_engine::stage::{available_cores, PinOutcome, Runtime, Stage};
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::config::Config;
use crate::placement;

/// A stage with nothing wired into it yet: it polls, heartbeats and idles.
struct Standby;

impl Stage for Standby {
    fn poll(&mut self) -> usize {
        0
    }
}

/// Runs until SIGINT or SIGTERM, then stops and joins every stage.
pub fn run(config: &Config) -> anyhow::Result<()> {
    let cores = available_cores();
    let plan = placement::plan(config, &cores);
    let mut runtime = Runtime::new(config.topology.pinning);
    let stop = runtime.stop_flag();
    for signal in [SIGINT, SIGTERM] {
        // A second signal while stopping exits at once, with status 1.
        signal_hook::flag::register_conditional_shutdown(signal, 1, stop.clone())
            .context("cannot install signal handlers")?;
        signal_hook::flag::register(signal, stop.clone())
            .context("cannot install signal handlers")?;
    }
    println!(
        "redline {}: topology {} on {} core(s), pinning {}",
        env!("CARGO_PKG_VERSION"),
        plan.topology.name(),
        cores.len(),
        match config.topology.pinning {
            redline_engine::stage::PinPolicy::Required => "required",
            redline_engine::stage::PinPolicy::BestEffort => "best-effort",
        }
    );
    for spec in plan.stages {
        runtime.spawn(spec, Standby)?;
    }
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
    println!("redline: running; stop with Ctrl-C or SIGTERM");

    let started = Instant::now();
    let mut last_beats: Vec<u64> = runtime.stages().iter().map(|s| s.heartbeat()).collect();
    let mut next_report = started + Duration::from_secs(1);
    // Relaxed: the flag carries no data; the join below orders the rest.
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            let mut line = format!("status: up {}s", started.elapsed().as_secs());
            for (stage, last) in runtime.stages().iter().zip(&mut last_beats) {
                let beats = stage.heartbeat();
                line += &format!(", {} {} polls/s", stage.name, beats - *last);
                *last = beats;
            }
            println!("{line}");
        }
    }
    println!("redline: stopping");
    runtime.shutdown()?;
    println!(
        "redline: stopped cleanly after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
