//! Structured logs. Every line `redline run` writes is one event: logfmt
//! (`ts=... level=info msg=status quotes_per_s=100000 ...`) or a JSON
//! object per line, as `[log] format` says, kept when at or above the level
//! in force (`[log] level`, changed at run time by `PUT /admin/log-level`
//! or SIGHUP).
//!
//! Any control-side thread builds events; they queue to a thread of their
//! own that writes them to standard output, so no other thread blocks on a
//! slow terminal or pipe, and a journal waiting on the disk does not hold
//! up the log that says so. What is logged after that thread stops (the
//! summary) the main thread writes as it exits. The hot path never logs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::timestamp::rfc3339_now;

/// How much is logged: each level keeps itself and those above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Something failed.
    Error,
    /// Something the operator should look at.
    Warn,
    /// What the engine does: start, status each second, commands, stop.
    Info,
    /// Also every control-plane request.
    Debug,
}

impl Level {
    /// Every level, most severe first.
    pub const ALL: [Level; 4] = [Level::Error, Level::Warn, Level::Info, Level::Debug];

    /// The name config, logs and the admin endpoint use.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// The level called `name`.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// How each event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `key=value` pairs, values quoted where they hold spaces.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The level at start.
    pub level: Level,
    /// The line format.
    pub format: Format,
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i128),
    /// A measurement.
    Float(f64),
    /// Yes or no.
    Bool(bool),
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::Int(v as i128)
            }
        }
    )*};
}
int_value!(u8, u16, u32, u64, usize, i32, i64);

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

struct Shared {
    level: AtomicU8,
    format: Format,
    lines: mpsc::Sender<String>,
}

/// Where events are logged; clones share the level and the queue.
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

/// The queue's far end: whoever holds it writes the lines (the side
/// thread while it runs). Dropping it writes what is left.
pub struct LogSink {
    lines: mpsc::Receiver<String>,
}

impl Log {
    /// A log as `config` says, and the sink its lines wait in.
    pub fn new(config: LogConfig) -> (Log, LogSink) {
        let (lines, receiver) = mpsc::channel();
        let log = Log {
            shared: Arc::new(Shared {
                level: AtomicU8::new(config.level as u8),
                format: config.format,
                lines,
            }),
        };
        (log, LogSink { lines: receiver })
    }

    /// The level in force.
    pub fn level(&self) -> Level {
        // Relaxed: the level guards nothing but itself.
        Level::ALL[usize::from(self.shared.level.load(Ordering::Relaxed))]
    }

    /// Changes the level in force from the next event on.
    pub fn set_level(&self, level: Level) {
        // Relaxed: as in `level`.
        self.shared.level.store(level as u8, Ordering::Relaxed);
    }

    /// An event at `level` saying `msg`; add fields, then `emit` it. Below
    /// the level in force it costs nothing more and writes nothing.
    pub fn event(&self, level: Level, msg: &str) -> Event<'_> {
        let line = (level <= self.level()).then(|| {
            let mut event = Event {
                log: self,
                line: Some(String::with_capacity(160)),
            };
            event = event
                .field("ts", rfc3339_now())
                .field("level", level.name());
            event.field("msg", msg).line.unwrap_or_default()
        });
        Event { log: self, line }
    }

    /// [`Log::event`] at [`Level::Error`].
    pub fn error(&self, msg: &str) -> Event<'_> {
        self.event(Level::Error, msg)
    }

    /// [`Log::event`] at [`Level::Warn`].
    pub fn warn(&self, msg: &str) -> Event<'_> {
        self.event(Level::Warn, msg)
    }

    /// [`Log::event`] at [`Level::Info`].
    pub fn info(&self, msg: &str) -> Event<'_> {
        self.event(Level::Info, msg)
    }

    /// [`Log::event`] at [`Level::Debug`].
    pub fn debug(&self, msg: &str) -> Event<'_> {
        self.event(Level::Debug, msg)
    }
}

/// One event being built; nothing is written until [`Event::emit`].
#[must_use = "an event is written only by emit()"]
pub struct Event<'a> {
    log: &'a Log,
    /// The line so far; `None` when below the level in force.
    line: Option<String>,
}

impl Event<'_> {
    /// Adds `key=value`. Keys are plain words (`quotes_per_s`).
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        let Some(line) = &mut self.line else {
            return self;
        };
        match self.log.shared.format {
            Format::Logfmt => {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(key);
                line.push('=');
                logfmt_value(line, &value.into());
            }
            Format::Json => {
                line.push(if line.is_empty() { '{' } else { ',' });
                json_string(line, key);
                line.push(':');
                json_value(line, &value.into());
            }
        }
        self
    }

    /// Queues the line for the writer.
    pub fn emit(self) {
        let Some(mut line) = self.line else {
            return;
        };
        if self.log.shared.format == Format::Json {
            line.push('}');
        }
        // With the sink gone (the process is ending) there is no one to
        // write it.
        let _ = self.log.shared.lines.send(line);
    }
}

impl LogSink {
    /// Waits up to `wait` for a line, then writes it and every other line
    /// queued to standard output; returns how many.
    pub fn write_next(&mut self, wait: std::time::Duration) -> usize {
        match self.lines.recv_timeout(wait) {
            Ok(first) => self.write(Some(first)),
            Err(_) => 0,
        }
    }

    /// Writes every line queued so far to standard output; returns how
    /// many.
    pub fn write_pending(&mut self) -> usize {
        self.write(None)
    }

    fn write(&mut self, first: Option<String>) -> usize {
        let mut written = 0;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let queued = std::iter::from_fn(|| self.lines.try_recv().ok());
        for line in first.into_iter().chain(queued) {
            // A closed stdout cannot be told about itself: the lines go.
            let _ = writeln!(out, "{line}");
            written += 1;
        }
        if written > 0 {
            let _ = out.flush();
        }
        written
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        self.write_pending();
    }
}

/// A logfmt value: bare when it is one plain word, else quoted with `"`,
/// `\` and line breaks escaped.
fn logfmt_value(line: &mut String, value: &Value) {
    match value {
        Value::Text(text) => {
            let bare = !text.is_empty()
                && text
                    .chars()
                    .all(|c| !c.is_whitespace() && !c.is_control() && !"\"=\\".contains(c));
            if bare {
                line.push_str(text);
                return;
            }
            line.push('"');
            for c in text.chars() {
                match c {
                    '"' => line.push_str("\\\""),
                    '\\' => line.push_str("\\\\"),
                    '\n' => line.push_str("\\n"),
                    '\r' => line.push_str("\\r"),
                    '\t' => line.push_str("\\t"),
                    c => line.push(c),
                }
            }
            line.push('"');
        }
        Value::Int(n) => {
            let _ = write!(line, "{n}");
        }
        Value::Float(x) => {
            let _ = write!(line, "{x}");
        }
        Value::Bool(b) => {
            let _ = write!(line, "{b}");
        }
    }
}

fn json_string(line: &mut String, text: &str) {
    line.push_str(&serde_json::Value::from(text).to_string());
}

fn json_value(line: &mut String, value: &Value) {
    match value {
        Value::Text(text) => json_string(line, text),
        // JSON has no NaN or infinity.
        Value::Float(x) if !x.is_finite() => line.push_str("null"),
        other => logfmt_value(line, other),
    }
}

/// Nano-units of the account currency as a log field: a decimal amount
/// with two places.
pub fn money(nanos: i64) -> String {
    redline_engine::domain::Decimal::new(i128::from(nanos) / 10_000_000, 2).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(format: Format, level: Level, build: impl Fn(&Log)) -> Vec<String> {
        let (log, sink) = Log::new(LogConfig { level, format });
        build(&log);
        sink.lines.try_iter().collect()
    }

    #[test]
    fn logfmt_quotes_only_what_needs_it() {
        let out = lines(Format::Logfmt, Level::Info, |log| {
            log.info("control plane on")
                .field("addr", "127.0.0.1:9900")
                .field("n", 3_u64)
                .field("pnl", -1.5)
                .field("why", "a \"quoted\" word\nand a line")
                .field("empty", "")
                .field("ok", true)
                .emit();
        });
        let line = &out[0];
        assert!(line.starts_with("ts=20"), "{line}");
        assert!(
            line.ends_with(
                " level=info msg=\"control plane on\" addr=127.0.0.1:9900 n=3 pnl=-1.5 \
                 why=\"a \\\"quoted\\\" word\\nand a line\" empty=\"\" ok=true"
            ),
            "{line}"
        );
    }

    #[test]
    fn json_lines_parse_back_with_their_types() {
        let out = lines(Format::Json, Level::Info, |log| {
            log.warn("stage unpinned")
                .field("stage", "fused")
                .field("core", 3_usize)
                .field("ratio", f64::NAN)
                .field("text", "tab\there")
                .emit();
        });
        let value: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
        assert_eq!(value["level"], "warn");
        assert_eq!(value["msg"], "stage unpinned");
        assert_eq!(value["core"], 3);
        assert_eq!(value["ratio"], serde_json::Value::Null);
        assert_eq!(value["text"], "tab\there");
        assert!(value["ts"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn events_below_the_level_in_force_are_not_written() {
        let out = lines(Format::Logfmt, Level::Warn, |log| {
            log.info("dropped").emit();
            log.error("kept").emit();
            log.set_level(Level::Debug);
            log.debug("kept too").emit();
            assert_eq!(log.level(), Level::Debug);
        });
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].contains("msg=kept"));
        assert!(out[1].contains("msg=\"kept too\""));
    }

    #[test]
    fn levels_read_back_by_name() {
        for level in Level::ALL {
            assert_eq!(Level::from_name(level.name()), Some(level));
        }
        assert_eq!(Level::from_name("verbose"), None);
    }
}
