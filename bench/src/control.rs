//! The `control` scenario: does a hammered control plane slow the hot
//! path? It runs the `redline` binary twice in one benchmark run, on the
//! same config for the same time: once quiet, once with load threads
//! requesting `/metrics` and `/health` back to back over keep-alive
//! connections as fast as the listener answers; and compares the
//! quote-to-order percentiles each run's summary prints. The load threads
//! run on the cores the engine keeps its own control side on (the ones no
//! stage is pinned to), as a load generator on other cores would; with
//! `anywhere` they go where the scheduler puts them.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::process::{read_answer, Engine, Percentiles};

/// One run's figures.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Quote-to-order percentiles from the summary.
    pub latency: Percentiles,
    /// Requests the load threads had answered per second.
    pub requests_per_second: f64,
}

/// Runs the engine at `redline` on `config` for `seconds`, with `load`
/// threads hammering its listener (0: quiet), on the engine's control
/// cores unless `anywhere`.
pub fn run(
    redline: &Path,
    config: &Path,
    seconds: u64,
    load: usize,
    anywhere: bool,
) -> anyhow::Result<Figures> {
    // A journal of its own, gone with the run.
    let journal = tempfile::tempdir().context("a journal directory")?;
    let engine = Engine::start(redline, config, journal.path(), &[])?;
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..load)
        .map(|i| {
            let (addr, stop, answered) = (engine.addr.clone(), stop.clone(), answered.clone());
            let cores = &engine.control_cores;
            let core = (!anywhere && !cores.is_empty()).then(|| cores[i % cores.len()]);
            std::thread::spawn(move || {
                if let Some(id) = core {
                    core_affinity::set_for_current(core_affinity::CoreId { id });
                }
                hammer(&addr, i, &stop, &answered)
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    // Relaxed: the flag carries no data; the joins order the rest.
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let requests_per_second =
        answered.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    Ok(Figures {
        latency: engine.stop()?,
        requests_per_second,
    })
}

/// Requests `/metrics` and `/health` alternately over one keep-alive
/// connection (reconnecting when it closes) until `stop`.
fn hammer(addr: &str, first: usize, stop: &AtomicBool, answered: &AtomicU64) {
    let paths = ["/metrics", "/health"];
    let mut turn = first;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut reader = BufReader::new(stream.try_clone().expect("a socket clone"));
        while !stop.load(Ordering::Relaxed) {
            let request = format!("GET {} HTTP/1.1\r\nHost: bench\r\n\r\n", paths[turn % 2]);
            turn += 1;
            let answer = stream
                .write_all(request.as_bytes())
                .and_then(|()| read_answer(&mut reader));
            if !matches!(answer, Ok(Some(_))) {
                break;
            }
            answered.fetch_add(1, Ordering::Relaxed);
        }
    }
}
