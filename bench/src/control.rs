//! The `control` scenario: does a hammered control plane slow the hot
//! path? It runs the `redline` binary twice in one benchmark run, on the
//! same config for the same time: once quiet, once with load threads
//! requesting `/metrics` and `/health` back to back over keep-alive
//! connections as fast as the listener answers; and compares the
//! quote-to-order percentiles each run's summary prints. The load threads
//! run on the cores the engine keeps its own control side on (the ones no
//! stage is pinned to), as a load generator on other cores would; with
//! `anywhere` they go where the scheduler puts them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// One run's figures.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Quote-to-order p50, p99 and p99.9, in ns, from the summary.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
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
    let mut child = Command::new(redline)
        .args(["run", "--config"])
        .arg(config)
        .env("REDLINE_JOURNAL_DIR", journal.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", redline.display()))?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let mut control_cores = Vec::new();
    let addr = loop {
        let Some(line) = lines.next() else {
            bail!("the engine exited before its control plane started");
        };
        let line = line?;
        if line.contains("msg=\"control side confined") {
            control_cores = field(&line, "cores")
                .unwrap_or_default()
                .split(',')
                .filter_map(|c| c.parse().ok())
                .collect();
        }
        if line.contains("msg=\"control plane on\"") {
            break field(&line, "addr")
                .context("no addr in the control plane's line")?
                .to_owned();
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..load)
        .map(|i| {
            let (addr, stop, answered) = (addr.clone(), stop.clone(), answered.clone());
            let core = (!anywhere && !control_cores.is_empty())
                .then(|| control_cores[i % control_cores.len()]);
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
    terminate(&mut child)?;
    let summary = lines
        .map_while(Result::ok)
        .find(|l| l.contains("msg=\"stopped cleanly\""))
        .context("no summary (msg=\"stopped cleanly\") in the engine's log")?;
    let (p50, p99, p999) = percentiles(&summary)?;
    child.wait()?;
    Ok(Figures {
        p50,
        p99,
        p999,
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
            if stream.write_all(request.as_bytes()).is_err() || !read_answer(&mut reader) {
                break;
            }
            answered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Reads one answer (head and `Content-Length` body); false when the
/// connection ended.
fn read_answer(reader: &mut BufReader<TcpStream>) -> bool {
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).is_ok()
}

fn terminate(child: &mut Child) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "cannot signal the engine");
    Ok(())
}

/// The quote-to-order p50, p99 and p99.9 of the engine's summary event
/// (logfmt: `quote_to_order_p50_ns=260 ...`), in ns.
fn percentiles(line: &str) -> anyhow::Result<(f64, f64, f64)> {
    let at = |name: &str| -> anyhow::Result<f64> {
        let key = format!("quote_to_order_{name}_ns");
        field(line, &key)
            .with_context(|| format!("no {key} in {line:?}"))?
            .parse()
            .with_context(|| format!("{key} is not a number in {line:?}"))
    };
    Ok((at("p50")?, at("p99")?, at("p999")?))
}

/// The bare (unquoted) value of `key` in a logfmt line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_percentiles_read_from_the_summary_event() {
        let line = "ts=2026-12-02T06:14:15.560Z level=info msg=\"stopped cleanly\" \
                    quote_to_order_p50_ns=260 quote_to_order_p99_ns=1500 \
                    quote_to_order_p999_ns=7200000 quote_to_order_max_ns=9000000";
        assert_eq!(percentiles(line).unwrap(), (260.0, 1500.0, 7.2e6));
        assert!(percentiles("ts=x level=info msg=\"stopped cleanly\" quotes=0").is_err());
        assert_eq!(field(line, "level"), Some("info"));
    }
}
