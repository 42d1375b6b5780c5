//! Replay of a recorded ITCH 5.0 day, in the form NASDAQ publishes its
//! historical files: each message preceded by its length as two
//! big-endian bytes, no MoldUDP64 framing. The file is read once at start,
//! streamed through the same books the network feed runs on, and each
//! change of a configured instrument's top becomes a recorded quote at its
//! ITCH timestamp (nanoseconds since midnight), which the replay feed then
//! plays at the recorded pace or as fast as it can. So a backtest sees
//! what the live feed would have quoted, and the hot path does no I/O.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

use super::itch;
use super::itch_books::ItchBooks;
use super::itch_stats::FeedReport;
use super::replay::{Recorded, ReplayError};
use crate::domain::{Instruments, Quote};

/// Reads `path` whole through books of `instruments` (`max_orders` orders
/// and `max_levels` levels a side at most) and returns the quotes they
/// make.
///
/// # Errors
///
/// The first problem, naming the message (1-based, in `line`) and its
/// byte offset: an unreadable or truncated file, a message ITCH 5.0 does
/// not define or at the wrong length, books too small for the day, a
/// timestamp earlier than the one before, or no quote of a configured
/// instrument at all.
pub fn load_itch(
    path: &Path,
    instruments: &Instruments,
    max_orders: usize,
    max_levels: usize,
) -> Result<Vec<Recorded>, ReplayError> {
    let fail = |line: usize, message: String| ReplayError {
        file: path.to_owned(),
        line,
        field: "",
        message,
    };
    let file = File::open(path).map_err(|e| fail(0, format!("cannot read it: {e}")))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut books = ItchBooks::new(instruments, max_orders, max_levels).map_err(|e| fail(0, e))?;
    let mut report = FeedReport::default();
    let mut recorded = Vec::new();
    let (mut first, mut last) = (None, 0u64);
    let mut block = [0u8; 256];
    let mut at = 0u64;
    for index in 1.. {
        let mut length = [0u8; 2];
        match reader.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(fail(index, format!("at byte {at}: cannot read: {e}"))),
        }
        let len = usize::from(u16::from_be_bytes(length));
        if len > block.len() {
            return Err(fail(
                index,
                format!("at byte {at}: a message of {len} bytes, longer than any ITCH 5.0 message"),
            ));
        }
        let message = &mut block[..len];
        reader.read_exact(message).map_err(|_| {
            fail(
                index,
                format!("at byte {at}: the file ends inside a message of {len} bytes"),
            )
        })?;
        let decoded =
            itch::decode(message).map_err(|e| fail(index, format!("at byte {at}: {e}")))?;
        // Every message has its timestamp at bytes 5..11 (decode checked
        // the length, at least 12).
        let mut stamp = [0u8; 8];
        stamp[2..].copy_from_slice(&message[5..11]);
        let stamp = u64::from_be_bytes(stamp);
        if stamp < last {
            return Err(fail(
                index,
                format!(
                    "at byte {at}: timestamp {stamp} ns is earlier than the one before, {last}"
                ),
            ));
        }
        last = stamp;
        at += 2 + len as u64;
        let Some(instrument) = books.apply(decoded, &mut report) else {
            if books.stopped() {
                return Err(fail(
                    index,
                    format!(
                        "the books are full ({} orders live): raise feed.itch.max_orders or \
                         max_levels",
                        books.orders()
                    ),
                ));
            }
            continue;
        };
        if let Some((bid, bid_qty, ask, ask_qty)) = books.take_top(instrument.index(), false) {
            let first = *first.get_or_insert(stamp);
            recorded.push(Recorded {
                offset_ns: stamp - first,
                quote: Quote {
                    instrument,
                    bid,
                    bid_qty,
                    ask,
                    ask_qty,
                    seq: recorded.len() as u64,
                    received: 0,
                },
            });
        }
    }
    if recorded.is_empty() {
        return Err(fail(
            0,
            "no quote of a configured instrument (do the symbols match the file's?)".into(),
        ));
    }
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstrumentSpec;
    use crate::feed::itch::{Message, Side};

    fn instruments() -> Instruments {
        let spec = InstrumentSpec {
            symbol: "AAPL".into(),
            tick_size: "0.01".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        };
        Instruments::new(&[spec]).unwrap()
    }

    /// `messages` in NASDAQ's file form, the i-th stamped `stamps[i]`.
    fn file_of(messages: &[(u64, Message)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (stamp, message) in messages {
            let mut bytes = Vec::new();
            message.encode(&mut bytes);
            bytes[5..11].copy_from_slice(&stamp.to_be_bytes()[2..]);
            out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    fn add(stock: &str, reference: u64, side: Side, shares: u32, price: u32) -> Message {
        Message::Add {
            locate: if stock == "AAPL" { 1 } else { 2 },
            reference,
            side,
            shares,
            stock: itch::stock(stock).unwrap(),
            price,
        }
    }

    fn load(bytes: &[u8]) -> Result<Vec<Recorded>, ReplayError> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        load_itch(file.path(), &instruments(), 100, 16)
    }

    #[test]
    fn each_change_of_a_top_is_a_quote_at_its_timestamp() {
        let day = file_of(&[
            (1_000, Message::SystemEvent { event: b'O' }),
            (2_000, add("AAPL", 1, Side::Buy, 100, 1_000_000)),
            (3_000, add("AAPL", 2, Side::Sell, 200, 1_000_100)),
            (3_500, add("MSFT", 3, Side::Buy, 1, 4_000_000)),
            (
                4_000,
                Message::Executed {
                    locate: 1,
                    reference: 2,
                    shares: 50,
                },
            ),
            (
                5_000,
                Message::Cancel {
                    locate: 1,
                    reference: 1,
                    shares: 100,
                },
            ),
            (6_000, add("AAPL", 4, Side::Buy, 30, 1_000_050)),
        ]);
        let recorded = load(&day).unwrap();
        let got: Vec<_> = recorded
            .iter()
            .map(|r| {
                (
                    r.offset_ns,
                    r.quote.bid.0,
                    r.quote.bid_qty.0,
                    r.quote.ask.0,
                    r.quote.ask_qty.0,
                )
            })
            .collect();
        // The bid's cancel leaves one side: no quote; the next bid at
        // 100.005 rounds down to 100.00.
        assert_eq!(
            got,
            [
                (0, 10_000, 100, 10_001, 200),
                (1_000, 10_000, 100, 10_001, 150),
                (3_000, 10_000, 30, 10_001, 150)
            ]
        );
        assert_eq!(recorded[2].quote.seq, 2);
    }

    #[test]
    fn a_damaged_file_is_refused_naming_the_message_and_byte() {
        let good = file_of(&[
            (1, add("AAPL", 1, Side::Buy, 100, 1_000_000)),
            (2, add("AAPL", 2, Side::Sell, 200, 1_000_100)),
        ]);
        let cut = load(&good[..good.len() - 3]).unwrap_err();
        assert_eq!(cut.line, 2);
        assert!(
            cut.message.contains("at byte 38: the file ends inside"),
            "{cut}"
        );
        let mut wrong = good.clone();
        wrong[2 + 36 + 2] = b'Z';
        let wrong = load(&wrong).unwrap_err();
        assert!(
            wrong
                .to_string()
                .ends_with(":2: at byte 38: unknown message type 0x5a"),
            "{wrong}"
        );
        let backwards = file_of(&[
            (9, add("AAPL", 1, Side::Buy, 100, 1_000_000)),
            (2, add("AAPL", 2, Side::Sell, 200, 1_000_100)),
        ]);
        assert!(load(&backwards)
            .unwrap_err()
            .message
            .contains("earlier than the one before"));
        let other = file_of(&[(1, add("MSFT", 1, Side::Buy, 100, 1_000_000))]);
        assert!(load(&other)
            .unwrap_err()
            .message
            .contains("no quote of a configured instrument"));
    }

    #[test]
    fn books_too_small_for_the_day_say_what_to_raise() {
        let day = file_of(&[
            (1, add("AAPL", 1, Side::Buy, 100, 1_000_000)),
            (2, add("AAPL", 2, Side::Buy, 100, 999_900)),
        ]);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), day).unwrap();
        let full = load_itch(file.path(), &instruments(), 1, 16).unwrap_err();
        assert_eq!(full.line, 2);
        assert!(
            full.message.contains("raise feed.itch.max_orders"),
            "{full}"
        );
    }
}
