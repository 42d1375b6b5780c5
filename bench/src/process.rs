//! The `redline` binary as a scenario runs it: a child process on a config
//! and a journal directory, its control plane's address and control cores
//! read from its log, plain HTTP requests to that listener, and the
//! quote-to-order percentiles of the summary it prints when it stops.

use std::io::{BufRead, BufReader, Lines, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

/// A running engine.
pub struct Engine {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// The control plane's `host:port`.
    pub addr: String,
    /// The cores its control side is confined to (empty: not confined).
    pub control_cores: Vec<usize>,
}

/// The quote-to-order percentiles of one run's summary, in ns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Times the decide stage waited for room in a full audit ring (the
    /// side thread behind).
    pub audit_waits: u64,
}

impl Engine {
    /// Starts `redline run --config CONFIG` on the journal in `journal`,
    /// with `env` set (and no `DATABASE_URL` unless `env` has one), and
    /// waits until its control plane listens.
    pub fn start(
        redline: &Path,
        config: &Path,
        journal: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Engine> {
        let mut command = Command::new(redline);
        command
            .args(["run", "--config"])
            .arg(config)
            .env("REDLINE_JOURNAL_DIR", journal)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
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
        Ok(Engine {
            child,
            lines,
            addr,
            control_cores,
        })
    }

    /// The body of `GET path` on its control plane.
    pub fn get(&self, path: &str) -> anyhow::Result<String> {
        let mut stream = TcpStream::connect(&self.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
        )?;
        let mut reader = BufReader::new(stream);
        read_answer(&mut reader)?.with_context(|| format!("no answer to GET {path}"))
    }

    /// Sends SIGTERM (the drain) and returns the summary's percentiles
    /// once the engine has stopped.
    pub fn stop(mut self) -> anyhow::Result<Percentiles> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "cannot signal the engine");
        let summary = (&mut self.lines)
            .map_while(Result::ok)
            .find(|l| l.contains("msg=\"stopped cleanly\""))
            .context("no summary (msg=\"stopped cleanly\") in the engine's log")?;
        self.child.wait()?;
        percentiles(&summary)
    }
}

/// Reads one HTTP answer (head and `Content-Length` body) and returns its
/// body; `None` when the connection ended first.
pub fn read_answer(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
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
    reader.read_exact(&mut body)?;
    Ok(Some(String::from_utf8_lossy(&body).into_owned()))
}

/// The value of the unlabelled sample `name` in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The quote-to-order p50, p99 and p99.9 of the engine's summary event
/// (logfmt: `quote_to_order_p50_ns=260 ...`), in ns.
fn percentiles(line: &str) -> anyhow::Result<Percentiles> {
    let at = |name: &str| -> anyhow::Result<f64> {
        let key = format!("quote_to_order_{name}_ns");
        field(line, &key)
            .with_context(|| format!("no {key} in {line:?}"))?
            .parse()
            .with_context(|| format!("{key} is not a number in {line:?}"))
    };
    Ok(Percentiles {
        p50: at("p50")?,
        p99: at("p99")?,
        p999: at("p999")?,
        audit_waits: field(line, "audit_waits")
            .and_then(|w| w.parse().ok())
            .with_context(|| format!("no audit_waits in {line:?}"))?,
    })
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
                    quote_to_order_p999_ns=7200000 quote_to_order_max_ns=9000000 \
                    audit_waits=3";
        let p = percentiles(line).unwrap();
        assert_eq!(
            (p.p50, p.p99, p.p999, p.audit_waits),
            (260.0, 1500.0, 7.2e6, 3)
        );
        assert!(percentiles("ts=x level=info msg=\"stopped cleanly\" quotes=0").is_err());
        assert_eq!(field(line, "level"), Some("info"));
    }

    #[test]
    fn metrics_read_by_exact_name() {
        let text = "# HELP redline_persistence_entries_total Entries.\n\
                    # TYPE redline_persistence_entries_total counter\n\
                    redline_persistence_entries_total 1234\n\
                    redline_persistence_entries_total_more 9\n\
                    redline_persistence_backlog_entries{kind=\"x\"} 5\n\
                    redline_persistence_backlog_entries 77\n";
        assert_eq!(
            metric(text, "redline_persistence_entries_total"),
            Some(1234.0)
        );
        assert_eq!(
            metric(text, "redline_persistence_backlog_entries"),
            Some(77.0)
        );
        assert_eq!(metric(text, "redline_absent"), None);
    }

    #[test]
    fn an_answer_body_is_read_by_its_length() {
        let mut input: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npongEXTRA";
        assert_eq!(read_answer(&mut input).unwrap().as_deref(), Some("pong"));
        let mut closed: &[u8] = b"HTTP/1.1 200 OK\r\n";
        assert_eq!(read_answer(&mut closed).unwrap(), None);
    }
}
