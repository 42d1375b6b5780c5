//! The decision path allocates when it is built and never after: with a
//! counting global allocator, the stage threads of each topology, run by
//! the stage runtime as `redline run` runs them, take a million quotes
//! after warm-up (strategy, risk gate, venue, audit writes and all, and a
//! round of every operator command, trading days beginning every 20 ms)
//! and allocate nothing.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redline_engine::audit::{AuditEvent, AuditRecord, AuditStats};
use redline_engine::clock;
use redline_engine::command::{Action, ActionKind, Command, CommandSender};
use redline_engine::path::{PathCounters, PathParts, TimeSource};
use redline_engine::ring;
use redline_engine::stage::{Idle, PinPolicy, Runtime, Stage, StageSpec};
use support::alloc::{allocations, counting, Counting};
use support::*;

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: u64 = 100_000;
const QUOTES: u64 = 1_000_000;

/// A stage that starts counting its thread's allocations once the path has
/// warmed up, and publishes the count after each poll (a store, which
/// allocates nothing).
struct Watched<S> {
    stage: S,
    counters: Arc<PathCounters>,
    counted: Arc<AtomicUsize>,
    on: bool,
}

impl<S: Stage> Stage for Watched<S> {
    fn poll(&mut self) -> usize {
        if !self.on && self.counters.quotes() >= WARM_UP {
            counting(true);
            self.on = true;
        }
        let work = self.stage.poll();
        if self.on {
            // Relaxed: a count read after the thread is joined.
            self.counted.store(allocations(), Ordering::Relaxed);
        }
        work
    }
}

fn spec(name: &str) -> StageSpec {
    StageSpec {
        name: name.into(),
        core: None,
        idle: Idle::Backoff,
    }
}

/// Trading days of 20 ms, so that many begin while the path is watched.
fn with_short_days(parts: &mut PathParts) {
    let day = clock::ns_to_ticks(20_000_000);
    parts.gate.schedule_days(clock::ticks() + day, day);
}

/// Every command, each sent once past warm-up, spread over the run (and a
/// request the control plane refused, which is only recorded).
fn commands() -> Vec<Action> {
    vec![
        Action::Rejected {
            action: ActionKind::Limits,
            status: 400,
        },
        Action::CancelAll,
        Action::Flatten,
        Action::Limits(limits()),
        Action::Strategy(market_maker_tuning(2)),
        Action::LogLevel,
        Action::Resume,
        Action::ReduceOnly,
        Action::Halt,
        Action::Resume,
        Action::Drain,
    ]
}

/// Runs the stages until `QUOTES` quotes past warm-up, sending commands
/// and draining the audit rings meanwhile; returns the allocations each
/// stage counted.
fn run(
    stages: Vec<(&str, Box<dyn Stage>)>,
    mut rings: Vec<ring::Consumer<AuditRecord>>,
    counters: &Arc<PathCounters>,
    mut commander: CommandSender,
) -> Vec<(String, usize)> {
    let mut runtime = Runtime::new(PinPolicy::BestEffort);
    let mut counts = Vec::new();
    for (name, stage) in stages {
        let counted = Arc::new(AtomicUsize::new(0));
        counts.push((name.to_owned(), Arc::clone(&counted)));
        let watched = Watched {
            stage,
            counters: Arc::clone(counters),
            counted,
            on: false,
        };
        runtime.spawn(spec(name), watched).unwrap();
    }
    let mut stats = AuditStats::new(8, 1.0);
    let mut days = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    let every = QUOTES / (commands().len() as u64 + 1);
    let mut commands = commands().into_iter().zip(1..).peekable();
    while counters.quotes() < WARM_UP + QUOTES {
        assert!(Instant::now() < deadline, "the path makes progress");
        if let Some((_, id)) = commands.peek() {
            if counters.quotes() >= WARM_UP + id * every {
                let (action, id) = commands.next().expect("peeked");
                let sent = commander.push(Command {
                    id,
                    issuer: 1,
                    action,
                });
                assert!(sent.is_ok());
            }
        }
        let mut taken = 0;
        for ring in &mut rings {
            for record in ring.drain(4096) {
                stats.absorb(&record);
                days += u64::from(matches!(record.event, AuditEvent::DayStarted { .. }));
                taken += 1;
            }
        }
        if taken == 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    runtime.shutdown().unwrap();
    assert!(stats.orders_sent > 10_000, "the path traded: {stats:?}");
    assert_eq!(stats.commands, 10, "every command was taken");
    assert!(days > 10, "trading days began: {days}");
    counts
        .into_iter()
        .map(|(name, counted)| (name, counted.load(Ordering::Relaxed)))
        .collect()
}

#[test]
fn the_fused_path_allocates_nothing_per_quote() {
    let (parts, counters, commander) = commanded(
        market_maker(&instruments()),
        42,
        7,
        0,
        TimeSource::Wall,
        clock::ticks(),
    );
    let mut parts = parts;
    with_short_days(&mut parts);
    let (path, ring) = parts.fused(&sizes(1 << 16));
    let counts = run(
        vec![("fused", Box::new(path))],
        vec![ring],
        &counters,
        commander,
    );
    assert_eq!(counts, [("fused".to_owned(), 0)]);
}

#[test]
fn the_pipeline_stages_allocate_nothing_per_quote() {
    let (parts, counters, commander) = commanded(
        market_maker(&instruments()),
        42,
        7,
        0,
        TimeSource::Wall,
        clock::ticks(),
    );
    let mut parts = parts;
    with_short_days(&mut parts);
    let (pipeline, [decide, gateway]) = parts.pipeline(&sizes(1 << 16));
    let stages: Vec<(&str, Box<dyn Stage>)> = vec![
        ("feed", Box::new(pipeline.feed)),
        ("decide", Box::new(pipeline.decide)),
        ("gateway", Box::new(pipeline.gateway)),
    ];
    let counts = run(stages, vec![decide, gateway], &counters, commander);
    for (name, count) in counts {
        assert_eq!(count, 0, "the {name} stage allocated");
    }
}
