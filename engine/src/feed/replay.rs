//! Replay of recorded quotes from a CSV file, at the recorded pace or as
//! fast as the feed stage polls.
//!
//! The format, one quote per line:
//!
//! ```text
//! timestamp_ns,symbol,bid,bid_size,ask,ask_size
//! 1732500000000000000,ESZ6,6000.00,10,6000.25,12
//! ```
//!
//! `timestamp_ns` is an integer count of nanoseconds from any epoch (only
//! differences matter) and never decreases; `symbol` is a configured
//! instrument; prices are decimals on the instrument's tick with the bid
//! below the ask; sizes are decimals in whole lots. A first line starting
//! with `timestamp` is a header; blank lines and lines starting with `#`
//! are skipped.
//!
//! The whole file is read and checked before the engine starts, so the hot
//! path does no I/O, and a bad line stops the replay before it begins, with
//! an error naming the file, the line and the field.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::domain::{Decimal, Instrument, Instruments, Price, Qty, Quote};

/// One recorded quote: when (ns after the first) and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Nanoseconds after the file's first quote.
    pub offset_ns: u64,
    /// The quote, `seq` set to its position in the file.
    pub quote: Quote,
}

/// Why a replay file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line, 0 when the file itself is the problem.
    pub line: usize,
    /// The field (`bid`, `symbol`, ...), empty for the whole line or file.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ReplayError {}

/// Reads and checks every line of `path`.
///
/// # Errors
///
/// The first problem: an unreadable file, a line without six fields, a
/// value that is not a number, an unknown symbol, a price off the tick, a
/// bid not below the ask, a timestamp earlier than the one before, or a
/// file with no quotes.
pub fn load(path: &Path, instruments: &Instruments) -> Result<Vec<Recorded>, ReplayError> {
    let error = |line: usize, field: &'static str, message: String| ReplayError {
        file: path.to_owned(),
        line,
        field,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(0, "", format!("cannot read the replay file: {e}")))?;
    let mut recorded = Vec::new();
    let mut first_ns = None;
    let mut last_ns = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') || (index == 0 && raw.starts_with("timestamp")) {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        let [ts, symbol, bid, bid_size, ask, ask_size] = fields[..] else {
            return Err(error(
                line,
                "",
                format!(
                    "expected 6 fields (timestamp_ns,symbol,bid,bid_size,ask,ask_size), got {}",
                    fields.len()
                ),
            ));
        };
        let ts: u64 = ts.parse().map_err(|_| {
            error(
                line,
                "timestamp_ns",
                format!("`{ts}` is not a whole number of nanoseconds"),
            )
        })?;
        if ts < last_ns {
            return Err(error(
                line,
                "timestamp_ns",
                format!("{ts} is earlier than the line before ({last_ns})"),
            ));
        }
        last_ns = ts;
        let first = *first_ns.get_or_insert(ts);
        let instrument = instruments.by_symbol(symbol).ok_or_else(|| {
            error(
                line,
                "symbol",
                format!("`{symbol}` is not a configured instrument"),
            )
        })?;
        let bid = price(instrument, bid).map_err(|m| error(line, "bid", m))?;
        let ask = price(instrument, ask).map_err(|m| error(line, "ask", m))?;
        if bid >= ask {
            return Err(error(
                line,
                "ask",
                format!("{} is not above the bid", instrument.price(ask)),
            ));
        }
        let bid_qty = size(instrument, bid_size).map_err(|m| error(line, "bid_size", m))?;
        let ask_qty = size(instrument, ask_size).map_err(|m| error(line, "ask_size", m))?;
        recorded.push(Recorded {
            offset_ns: ts - first,
            quote: Quote {
                instrument: instrument.id,
                bid,
                bid_qty,
                ask,
                ask_qty,
                seq: recorded.len() as u64,
                received: 0,
            },
        });
    }
    if recorded.is_empty() {
        return Err(error(0, "", "holds no quotes".into()));
    }
    Ok(recorded)
}

fn price(instrument: &Instrument, text: &str) -> Result<Price, String> {
    let value: Decimal = text.parse().map_err(|e| format!("{e}"))?;
    if !value.is_positive() {
        return Err(format!("{value} is not above 0"));
    }
    instrument.ticks(value).ok_or_else(|| {
        format!(
            "{value} is not a whole number of ticks of {}",
            instrument.spec.tick_size
        )
    })
}

fn size(instrument: &Instrument, text: &str) -> Result<Qty, String> {
    let value: Decimal = text.parse().map_err(|e| format!("{e}"))?;
    let lots = instrument.lots(value).ok_or_else(|| {
        format!(
            "{value} is not a whole number of lots of {}",
            instrument.spec.lot_size
        )
    })?;
    if lots.0 < 0 {
        return Err(format!("{value} is negative"));
    }
    Ok(lots)
}

/// How fast a replay goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pace {
    /// Each quote is due at its recorded offset after the replay starts.
    Recorded,
    /// As fast as the feed stage polls.
    Fastest,
}

/// The replay feed: owned by the feed stage, polled in its loop.
#[derive(Debug, Clone)]
pub struct ReplayFeed {
    quotes: Box<[Quote]>,
    /// When each quote is due, in clock ticks; all zero at the fastest
    /// pace. Computed once, here, so polling does no float work.
    due: Box<[u64]>,
    /// At recorded pace.
    paced: bool,
    next: usize,
}

impl ReplayFeed {
    /// A feed replaying `recorded` from `now` (clock ticks).
    pub fn new(recorded: &[Recorded], pace: Pace, now: u64, ticks_per_second: f64) -> Self {
        let ticks_per_ns = ticks_per_second / 1e9;
        ReplayFeed {
            quotes: recorded.iter().map(|r| r.quote).collect(),
            due: recorded
                .iter()
                .map(|r| match pace {
                    Pace::Recorded => now + (r.offset_ns as f64 * ticks_per_ns) as u64,
                    Pace::Fastest => 0,
                })
                .collect(),
            paced: pace == Pace::Recorded,
            next: 0,
        }
    }

    /// Hands `out` every quote due by `now`, at most `max`, stamped as
    /// received at `now`, and returns how many. Never allocates or blocks.
    #[inline]
    pub fn poll(&mut self, now: u64, max: usize, mut out: impl FnMut(Quote)) -> usize {
        let mut made = 0;
        while made < max && self.next < self.quotes.len() && self.due[self.next] <= now {
            let mut quote = self.quotes[self.next];
            quote.received = now;
            out(quote);
            self.next += 1;
            made += 1;
        }
        made
    }

    /// When the next quote is due; `None` at the fastest pace or when
    /// every quote has been handed out.
    pub fn next_due(&self) -> Option<u64> {
        self.paced
            .then(|| self.due.get(self.next).copied())
            .flatten()
    }

    /// Whether every quote has been handed out.
    pub fn is_finished(&self) -> bool {
        self.next == self.quotes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InstrumentId, InstrumentSpec};

    fn instruments() -> Instruments {
        let spec = |symbol: &str, tick: &str| InstrumentSpec {
            symbol: symbol.into(),
            tick_size: tick.parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "50".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        };
        Instruments::new(&[spec("ES", "0.25"), spec("CL", "0.01")]).unwrap()
    }

    fn load_text(text: &str) -> Result<Vec<Recorded>, ReplayError> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        load(file.path(), &instruments()).map_err(|mut e| {
            e.file = PathBuf::from("quotes.csv");
            e
        })
    }

    const GOOD: &str = "timestamp_ns,symbol,bid,bid_size,ask,ask_size\n\
                        # a comment\n\
                        1000,ES,6000.00,10,6000.25,12\n\
                        \n\
                        1500,CL,70.01,3,70.03,4\n\
                        3000,ES,6000.25,1,6000.50,0\n";

    #[test]
    fn loads_a_recorded_file_into_ticks_and_offsets() {
        let recorded = load_text(GOOD).unwrap();
        assert_eq!(recorded.len(), 3);
        assert_eq!(recorded[0].offset_ns, 0);
        assert_eq!(recorded[1].offset_ns, 500);
        let cl = recorded[1].quote;
        assert_eq!(cl.instrument, InstrumentId(1));
        assert_eq!(
            (cl.bid, cl.ask, cl.bid_qty, cl.ask_qty),
            (Price(7001), Price(7003), Qty(3), Qty(4))
        );
        assert_eq!(recorded[2].quote.seq, 2);
    }

    #[test]
    fn every_bad_line_names_file_line_and_field() {
        let cases = [
            (
                "1000,ES,6000.00,10,6000.25\n",
                "quotes.csv:1: expected 6 fields",
            ),
            (
                "x,ES,6000.00,10,6000.25,1\n",
                "quotes.csv:1: field `timestamp_ns`: `x` is not",
            ),
            (
                "1,NQ,6000.00,10,6000.25,1\n",
                "quotes.csv:1: field `symbol`: `NQ` is not a configured",
            ),
            (
                "1,ES,6000.10,10,6000.25,1\n",
                "quotes.csv:1: field `bid`: 6000.10 is not a whole number of ticks of 0.25",
            ),
            (
                "1,ES,6000.25,10,6000.25,1\n",
                "quotes.csv:1: field `ask`: 6000.25 is not above the bid",
            ),
            (
                "1,ES,6000.00,1.5,6000.25,1\n",
                "quotes.csv:1: field `bid_size`: 1.5 is not a whole number of lots",
            ),
            (
                "1,ES,6000.00,1,6000.25,-1\n",
                "quotes.csv:1: field `ask_size`: -1 is negative",
            ),
            (
                "5,ES,6000.00,1,6000.25,1\n4,ES,6000.00,1,6000.25,1\n",
                "quotes.csv:2: field `timestamp_ns`: 4 is earlier",
            ),
            ("# nothing\n", "quotes.csv: holds no quotes"),
        ];
        for (text, expected) in cases {
            let err = load_text(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_missing_file_says_so() {
        let err = load(Path::new("/nonexistent/quotes.csv"), &instruments()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/quotes.csv: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn recorded_pace_hands_out_each_quote_at_its_offset() {
        let recorded = load_text(GOOD).unwrap();
        // A clock of 1e9 ticks/s: ticks are nanoseconds; start at 10_000.
        let mut feed = ReplayFeed::new(&recorded, Pace::Recorded, 10_000, 1e9);
        let mut seen = Vec::new();
        assert_eq!(feed.poll(10_000, 10, |q| seen.push(q)), 1);
        assert_eq!(feed.poll(10_499, 10, |q| seen.push(q)), 0);
        assert_eq!(feed.poll(10_500, 10, |q| seen.push(q)), 1);
        assert!(!feed.is_finished());
        assert_eq!(feed.poll(99_999, 10, |q| seen.push(q)), 1);
        assert!(feed.is_finished());
        assert_eq!(seen[1].received, 10_500);
    }

    #[test]
    fn fastest_pace_hands_out_everything_at_once() {
        let recorded = load_text(GOOD).unwrap();
        let mut feed = ReplayFeed::new(&recorded, Pace::Fastest, 0, 1e9);
        assert_eq!(feed.poll(0, 2, |_| {}), 2, "at most max a call");
        assert_eq!(feed.poll(0, 10, |_| {}), 1);
        assert!(feed.is_finished());
    }
}
