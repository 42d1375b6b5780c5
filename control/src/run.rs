//! `redline run`: build the decision path in the configured topology, start
//! its stages, report once a second, and stop cleanly on SIGINT or SIGTERM.
//!
//! So far the path carries market data from the synthetic feed to the
//! decide stage; strategy, risk and the simulated venue are next, and the
//! pipeline's gateway stage idles until they are.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use redline_engine::clock;
use redline_engine::feed::{Feed, Pace, Recorded, ReplayFeed, SyntheticFeed};
use redline_engine::path::{Decide, DecideStage, FeedStage, FusedPath, PathCounters};
use redline_engine::ring;
use redline_engine::stage::{available_cores, PinOutcome, PinPolicy, Runtime, Stage, Topology};
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

/// Runs until SIGINT or SIGTERM (or the end of `replay`, the quotes
/// `Config::replay` read when the feed source is a replay), then stops and
/// joins every stage.
pub fn run(config: &Config, replay: Option<Vec<Recorded>>) -> anyhow::Result<()> {
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
    let instruments = config.instruments();
    let ticks_per_second = 1e9 / clock::ns_per_tick();
    let (feed, replay_len, source) = match replay {
        None => {
            let synthetic = &config.feed.synthetic;
            let feed =
                SyntheticFeed::new(&instruments, synthetic, clock::ticks(), ticks_per_second);
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
            let feed = ReplayFeed::new(&recorded, replay.pace, clock::ticks(), ticks_per_second);
            (Feed::Replay(feed), Some(recorded.len() as u64), source)
        }
    };
    println!(
        "redline {}: topology {} on {} core(s), pinning {}; {} over {} instruments",
        env!("CARGO_PKG_VERSION"),
        plan.topology.name(),
        cores.len(),
        match config.topology.pinning {
            PinPolicy::Required => "required",
            PinPolicy::BestEffort => "best-effort",
        },
        source,
        instruments.len(),
    );

    let counters = Arc::new(PathCounters::default());
    let decide = Decide::new(&instruments, Arc::clone(&counters));
    match plan.topology {
        Topology::Pipeline => {
            let (quotes_tx, quotes_rx) = ring::new(config.rings.quotes);
            let mut feed = Some(FeedStage {
                feed,
                quotes: quotes_tx,
            });
            let mut decide = Some(DecideStage {
                quotes: quotes_rx,
                decide,
            });
            for spec in plan.stages {
                let stage: Box<dyn Stage> = match spec.name.as_str() {
                    "feed" => Box::new(feed.take().context("one feed stage")?),
                    "decide" => Box::new(decide.take().context("one decide stage")?),
                    _ => Box::new(Standby),
                };
                runtime.spawn(spec, stage)?;
            }
        }
        Topology::Fused | Topology::Auto => {
            let spec = plan.stages.into_iter().next().context("the fused stage")?;
            runtime.spawn(spec, FusedPath { feed, decide })?;
        }
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
    let mut last_quotes = 0;
    let mut next_report = started + Duration::from_secs(1);
    // Relaxed: the flag carries no data; the join below orders the rest.
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        if replay_len.is_some_and(|len| counters.quotes() >= len) {
            println!("redline: replay finished");
            break;
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            let quotes = counters.quotes();
            let mut line = format!(
                "status: up {}s, quotes {}/s ({} total)",
                started.elapsed().as_secs(),
                quotes - last_quotes,
                quotes
            );
            last_quotes = quotes;
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
        "redline: stopped cleanly after {:.1}s; {} quotes processed",
        started.elapsed().as_secs_f64(),
        counters.quotes()
    );
    Ok(())
}
