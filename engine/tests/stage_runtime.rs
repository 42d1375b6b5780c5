//! The stage runtime: stages run on named, pinned threads, stop on request
//! within a bounded time, and a panicking stage is reported by name.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use redline_engine::ring;
use redline_engine::stage::{
    available_cores, Fused, Idle, PinOutcome, PinPolicy, Runtime, Stage, StageError, StageSpec,
};

fn spec(name: &str, core: Option<usize>, idle: Idle) -> StageSpec {
    StageSpec {
        name: name.into(),
        core,
        idle,
    }
}

/// Counts its polls and records the name of the thread it runs on.
struct Recorder {
    polls: Arc<AtomicU64>,
    thread_name: Arc<OnceLock<String>>,
}

impl Stage for Recorder {
    fn poll(&mut self) -> usize {
        self.thread_name
            .get_or_init(|| std::thread::current().name().unwrap_or("").to_owned());
        self.polls.fetch_add(1, Ordering::Relaxed);
        0
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn stage_runs_on_a_named_thread_pinned_to_its_core_and_beats() {
    let core = *available_cores().last().expect("at least one core");
    let polls = Arc::new(AtomicU64::new(0));
    let name = Arc::new(OnceLock::new());
    let mut runtime = Runtime::new(PinPolicy::Required);
    runtime
        .spawn(
            spec("decide", Some(core), Idle::Backoff),
            Recorder {
                polls: Arc::clone(&polls),
                thread_name: Arc::clone(&name),
            },
        )
        .unwrap();
    assert_eq!(runtime.stages()[0].pinning, PinOutcome::Pinned(core));
    wait_until("polls", || polls.load(Ordering::Relaxed) > 10);
    let beat = runtime.stages()[0].heartbeat();
    wait_until("heartbeat to advance", || {
        runtime.stages()[0].heartbeat() > beat
    });
    assert_eq!(name.get().map(String::as_str), Some("decide"));
    runtime.shutdown().unwrap();
}

#[test]
fn every_idle_strategy_stops_within_a_bounded_time() {
    for idle in [Idle::BusySpin, Idle::SpinThenYield, Idle::Backoff] {
        let mut runtime = Runtime::new(PinPolicy::BestEffort);
        let polls = Arc::new(AtomicU64::new(0));
        runtime
            .spawn(
                spec("idle", None, idle),
                Recorder {
                    polls: Arc::clone(&polls),
                    thread_name: Arc::default(),
                },
            )
            .unwrap();
        wait_until("first poll", || polls.load(Ordering::Relaxed) > 0);
        let started = Instant::now();
        runtime.shutdown().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{} took {:?} to stop",
            idle.name(),
            started.elapsed()
        );
    }
}

#[test]
fn missing_core_fails_start_when_pinning_is_required() {
    let mut runtime = Runtime::new(PinPolicy::Required);
    let err = runtime
        .spawn(
            spec("feed", Some(100_000), Idle::Backoff),
            Recorder {
                polls: Arc::default(),
                thread_name: Arc::default(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StageError::Pinning { core: 100_000, .. }));
    let message = err.to_string();
    assert!(
        message.contains("`feed`") && message.contains("core 100000"),
        "{message}"
    );
    assert!(runtime.stages().is_empty());
}

#[test]
fn missing_core_is_recorded_and_the_stage_runs_when_best_effort() {
    let polls = Arc::new(AtomicU64::new(0));
    let mut runtime = Runtime::new(PinPolicy::BestEffort);
    runtime
        .spawn(
            spec("feed", Some(100_000), Idle::Backoff),
            Recorder {
                polls: Arc::clone(&polls),
                thread_name: Arc::default(),
            },
        )
        .unwrap();
    assert!(runtime.stages()[0].pinning.is_failure());
    wait_until("polls", || polls.load(Ordering::Relaxed) > 0);
    runtime.shutdown().unwrap();
}

struct PanicsAfter(u32);

impl Stage for PanicsAfter {
    fn poll(&mut self) -> usize {
        self.0 = self.0.checked_sub(1).expect("decide blew up");
        1
    }
}

#[test]
fn a_panicking_stage_stops_the_others_and_is_reported_by_name() {
    let mut runtime = Runtime::new(PinPolicy::BestEffort);
    let polls = Arc::new(AtomicU64::new(0));
    runtime
        .spawn(
            spec("feed", None, Idle::Backoff),
            Recorder {
                polls: Arc::clone(&polls),
                thread_name: Arc::default(),
            },
        )
        .unwrap();
    runtime
        .spawn(spec("decide", None, Idle::Backoff), PanicsAfter(100))
        .unwrap();
    wait_until("the panic to stop the runtime", || runtime.is_stopping());
    match runtime.join() {
        Err(StageError::Panicked { stage, message }) => {
            assert_eq!(stage, "decide");
            assert!(message.contains("decide blew up"), "{message}");
        }
        other => panic!("expected a panic report, got {other:?}"),
    }
}

/// Moves numbers from one ring to another.
struct Forward {
    from: ring::Consumer<u64>,
    to: ring::Producer<u64>,
}

impl Stage for Forward {
    fn poll(&mut self) -> usize {
        let mut moved = 0;
        for item in self.from.drain(64) {
            let mut item = item;
            while let Err(ring::Full(back)) = self.to.push(item) {
                item = back;
                std::hint::spin_loop();
            }
            moved += 1;
        }
        moved
    }
}

fn forward_through(fused: bool) {
    const ITEMS: u64 = 100_000;
    let (mut input, a_rx) = ring::new(1024);
    let (b_tx, b_rx) = ring::new(1024);
    let (c_tx, mut output) = ring::new(1024);
    let first = Forward {
        from: a_rx,
        to: b_tx,
    };
    let second = Forward {
        from: b_rx,
        to: c_tx,
    };
    let mut runtime = Runtime::new(PinPolicy::BestEffort);
    if fused {
        let stages: Vec<Box<dyn Stage>> = vec![Box::new(first), Box::new(second)];
        runtime
            .spawn(spec("fused", None, Idle::Backoff), Fused(stages))
            .unwrap();
    } else {
        runtime
            .spawn(spec("first", None, Idle::Backoff), first)
            .unwrap();
        runtime
            .spawn(spec("second", None, Idle::Backoff), second)
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut sent, mut received) = (0, 0);
    while received < ITEMS {
        assert!(
            Instant::now() < deadline,
            "stalled at {received} of {ITEMS}"
        );
        if sent < ITEMS && input.push(sent).is_ok() {
            sent += 1;
        }
        if let Some(item) = output.pop() {
            assert_eq!(item, received);
            received += 1;
        }
    }
    runtime.shutdown().unwrap();
}

#[test]
fn pipeline_of_two_stages_forwards_every_item_in_order() {
    forward_through(false);
}

#[test]
fn fused_stages_forward_every_item_in_order_on_one_thread() {
    forward_through(true);
}
