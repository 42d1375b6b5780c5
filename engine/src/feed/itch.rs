//! NASDAQ TotalView-ITCH 5.0 messages: the ones an order-by-order book is
//! built from, decoded from and encoded to their wire form (big-endian,
//! one fixed length per type). Every other type of the specification is
//! recognised by its length and passed over.
//!
//! Decoding reads a borrowed slice and never allocates; encoding (for
//! tests, benchmarks and load generators) appends to a `Vec`.

/// An 8-byte ITCH stock symbol: left-aligned, padded with spaces.
pub type Stock = [u8; 8];

/// The stock field for `symbol`, if it fits eight bytes of printable
/// ASCII.
pub fn stock(symbol: &str) -> Option<Stock> {
    let bytes = symbol.as_bytes();
    if bytes.is_empty() || bytes.len() > 8 || !bytes.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut stock = [b' '; 8];
    stock[..bytes.len()].copy_from_slice(bytes);
    Some(stock)
}

/// `value` in ITCH's price units of 0.0001, if it is a whole number of
/// them that fits the 4-byte field.
pub fn price_units(value: crate::domain::Decimal) -> Option<u32> {
    value
        .whole_multiples_of(crate::domain::Decimal::new(1, 4))
        .and_then(|units| u32::try_from(units).ok())
}

/// The side of an order in the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `B`: a bid.
    Buy,
    /// `S`: an offer.
    Sell,
}

/// The messages the book needs. Fields the book does not use (tracking
/// numbers, timestamps, match numbers, attributions) are not kept; an
/// encoded message carries zeros there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// `S`: a system event (`O` start of messages ... `C` end of messages).
    SystemEvent {
        /// The event code.
        event: u8,
    },
    /// `R`: the day's locate code for a stock.
    StockDirectory {
        /// The locate code the day's messages use for it.
        locate: u16,
        /// The symbol.
        stock: Stock,
    },
    /// `A` (and `F`, whose attribution is dropped): an order joins the book.
    Add {
        /// The stock's locate code.
        locate: u16,
        /// The day-unique order reference number.
        reference: u64,
        /// Bid or offer.
        side: Side,
        /// Shares displayed.
        shares: u32,
        /// The symbol.
        stock: Stock,
        /// In units of 0.0001.
        price: u32,
    },
    /// `E` (and `C`, executed at another price): shares of an order traded.
    Executed {
        /// The stock's locate code.
        locate: u16,
        /// The order.
        reference: u64,
        /// Shares executed.
        shares: u32,
    },
    /// `X`: shares of an order cancelled; the rest stays.
    Cancel {
        /// The stock's locate code.
        locate: u16,
        /// The order.
        reference: u64,
        /// Shares cancelled.
        shares: u32,
    },
    /// `D`: an order leaves the book.
    Delete {
        /// The stock's locate code.
        locate: u16,
        /// The order.
        reference: u64,
    },
    /// `U`: an order is replaced by a new one on the same side.
    Replace {
        /// The stock's locate code.
        locate: u16,
        /// The order that leaves.
        original: u64,
        /// The order that joins.
        reference: u64,
        /// Its shares.
        shares: u32,
        /// Its price, in units of 0.0001.
        price: u32,
    },
    /// Any other type of the specification: nothing for the book.
    Other {
        /// The type byte.
        kind: u8,
    },
}

/// Why a message block is not an ITCH 5.0 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItchError {
    /// A block of zero bytes.
    Empty,
    /// A type the specification does not define.
    UnknownType(u8),
    /// A known type at the wrong length.
    Length {
        /// The type byte.
        kind: u8,
        /// The block's length.
        len: usize,
        /// The type's length.
        expected: usize,
    },
    /// A side that is neither `B` nor `S`.
    Side(u8),
}

impl std::fmt::Display for ItchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItchError::Empty => write!(f, "an empty message"),
            ItchError::UnknownType(kind) => write!(f, "unknown message type 0x{kind:02x}"),
            ItchError::Length {
                kind,
                len,
                expected,
            } => write!(
                f,
                "a '{}' message of {len} bytes (the type has {expected})",
                char::from(*kind)
            ),
            ItchError::Side(side) => write!(f, "side 0x{side:02x} is neither 'B' nor 'S'"),
        }
    }
}

impl std::error::Error for ItchError {}

/// The length of each ITCH 5.0 message type, type byte included.
pub const fn length(kind: u8) -> Option<usize> {
    Some(match kind {
        b'S' => 12,
        b'R' => 39,
        b'H' => 25,
        b'Y' => 20,
        b'L' => 26,
        b'V' => 35,
        b'W' => 12,
        b'K' => 28,
        b'J' => 35,
        b'h' => 21,
        b'A' => 36,
        b'F' => 40,
        b'E' => 31,
        b'C' => 36,
        b'X' => 23,
        b'D' => 19,
        b'U' => 35,
        b'P' => 44,
        b'Q' => 40,
        b'B' => 19,
        b'I' => 50,
        b'N' => 20,
        b'O' => 48,
        _ => return None,
    })
}

// Offsets common to every message: type (0), stock locate (1..3),
// tracking number (3..5), timestamp (5..11); the body starts at 11.
const LOCATE: usize = 1;
const BODY: usize = 11;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn stock_at(b: &[u8], at: usize) -> Stock {
    b[at..at + 8].try_into().expect("8 bytes")
}

fn side_at(b: &[u8], at: usize) -> Result<Side, ItchError> {
    match b[at] {
        b'B' => Ok(Side::Buy),
        b'S' => Ok(Side::Sell),
        other => Err(ItchError::Side(other)),
    }
}

/// Checks that `block` has its type's length; what [`decode`] checks
/// first, for a pass over a packet before any of it is applied.
pub fn check(block: &[u8]) -> Result<(), ItchError> {
    let kind = *block.first().ok_or(ItchError::Empty)?;
    let expected = length(kind).ok_or(ItchError::UnknownType(kind))?;
    if block.len() != expected {
        return Err(ItchError::Length {
            kind,
            len: block.len(),
            expected,
        });
    }
    if matches!(kind, b'A' | b'F') {
        side_at(block, BODY + 8)?;
    }
    Ok(())
}

/// The message in `block` (one MoldUDP64 message block).
pub fn decode(block: &[u8]) -> Result<Message, ItchError> {
    check(block)?;
    let b = block;
    let locate = u16_at(b, LOCATE);
    Ok(match b[0] {
        b'S' => Message::SystemEvent { event: b[BODY] },
        b'R' => Message::StockDirectory {
            locate,
            stock: stock_at(b, BODY),
        },
        b'A' | b'F' => Message::Add {
            locate,
            reference: u64_at(b, BODY),
            side: side_at(b, BODY + 8)?,
            shares: u32_at(b, BODY + 9),
            stock: stock_at(b, BODY + 13),
            price: u32_at(b, BODY + 21),
        },
        b'E' | b'C' => Message::Executed {
            locate,
            reference: u64_at(b, BODY),
            shares: u32_at(b, BODY + 8),
        },
        b'X' => Message::Cancel {
            locate,
            reference: u64_at(b, BODY),
            shares: u32_at(b, BODY + 8),
        },
        b'D' => Message::Delete {
            locate,
            reference: u64_at(b, BODY),
        },
        b'U' => Message::Replace {
            locate,
            original: u64_at(b, BODY),
            reference: u64_at(b, BODY + 8),
            shares: u32_at(b, BODY + 16),
            price: u32_at(b, BODY + 20),
        },
        kind => Message::Other { kind },
    })
}

impl Message {
    /// The type byte it is encoded with (`A` for an add, `E` for an
    /// execution).
    pub fn kind(&self) -> u8 {
        match self {
            Message::SystemEvent { .. } => b'S',
            Message::StockDirectory { .. } => b'R',
            Message::Add { .. } => b'A',
            Message::Executed { .. } => b'E',
            Message::Cancel { .. } => b'X',
            Message::Delete { .. } => b'D',
            Message::Replace { .. } => b'U',
            Message::Other { kind } => *kind,
        }
    }

    /// Appends its wire form to `out`: zeros where this type keeps no
    /// field. An `Other` of a known type is all zeros after its type byte.
    ///
    /// # Panics
    /// On an `Other` whose type the specification does not define.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let kind = self.kind();
        let len = length(kind).expect("a type of the specification");
        let start = out.len();
        out.resize(start + len, 0);
        let b = &mut out[start..];
        b[0] = kind;
        let put =
            |b: &mut [u8], at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
        let side = |side: &Side| match side {
            Side::Buy => b'B',
            Side::Sell => b'S',
        };
        match self {
            Message::SystemEvent { event } => b[BODY] = *event,
            Message::StockDirectory { locate, stock } => {
                put(b, LOCATE, &locate.to_be_bytes());
                put(b, BODY, stock);
            }
            Message::Add {
                locate,
                reference,
                side: s,
                shares,
                stock,
                price,
            } => {
                put(b, LOCATE, &locate.to_be_bytes());
                put(b, BODY, &reference.to_be_bytes());
                b[BODY + 8] = side(s);
                put(b, BODY + 9, &shares.to_be_bytes());
                put(b, BODY + 13, stock);
                put(b, BODY + 21, &price.to_be_bytes());
            }
            Message::Executed {
                locate,
                reference,
                shares,
            }
            | Message::Cancel {
                locate,
                reference,
                shares,
            } => {
                put(b, LOCATE, &locate.to_be_bytes());
                put(b, BODY, &reference.to_be_bytes());
                put(b, BODY + 8, &shares.to_be_bytes());
            }
            Message::Delete { locate, reference } => {
                put(b, LOCATE, &locate.to_be_bytes());
                put(b, BODY, &reference.to_be_bytes());
            }
            Message::Replace {
                locate,
                original,
                reference,
                shares,
                price,
            } => {
                put(b, LOCATE, &locate.to_be_bytes());
                put(b, BODY, &original.to_be_bytes());
                put(b, BODY + 8, &reference.to_be_bytes());
                put(b, BODY + 16, &shares.to_be_bytes());
                put(b, BODY + 20, &price.to_be_bytes());
            }
            Message::Other { .. } => {}
        }
    }
}

/// `messages` encoded as one MoldUDP64 packet of `session` whose first
/// message is `seq`: what a sender puts on the wire.
pub fn packet(session: &super::moldudp64::Session, seq: u64, messages: &[Message]) -> Vec<u8> {
    let mut builder = super::moldudp64::PacketBuilder::new(session, seq);
    let mut bytes = Vec::with_capacity(64);
    for message in messages {
        bytes.clear();
        message.encode(&mut bytes);
        builder.push(&bytes);
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(message: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        message.encode(&mut out);
        out
    }

    #[test]
    fn an_add_order_reads_as_the_specification_lays_it_out() {
        // Type, locate 7, tracking 0, timestamp, ref 0x0102..08, 'S',
        // 300 shares, "AAPL    ", price 1895000 (189.50).
        let mut wire = vec![b'A', 0, 7, 0, 0, 0, 0, 0, 0, 0, 1];
        wire.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, b'S']);
        wire.extend_from_slice(&300u32.to_be_bytes());
        wire.extend_from_slice(b"AAPL    ");
        wire.extend_from_slice(&1_895_000u32.to_be_bytes());
        assert_eq!(wire.len(), 36);
        assert_eq!(
            decode(&wire),
            Ok(Message::Add {
                locate: 7,
                reference: 0x0102_0304_0506_0708,
                side: Side::Sell,
                shares: 300,
                stock: *b"AAPL    ",
                price: 1_895_000,
            })
        );
    }

    #[test]
    fn types_the_book_does_not_need_pass_by_length_and_others_are_refused() {
        let trade = vec![b'P'; 44];
        assert_eq!(decode(&trade), Ok(Message::Other { kind: b'P' }));
        assert_eq!(decode(&[b'Z'; 10]), Err(ItchError::UnknownType(b'Z')));
        assert_eq!(decode(&[]), Err(ItchError::Empty));
        assert_eq!(
            decode(&[b'D'; 18]),
            Err(ItchError::Length {
                kind: b'D',
                len: 18,
                expected: 19
            })
        );
        let mut add = encoded(&Message::Add {
            locate: 1,
            reference: 1,
            side: Side::Buy,
            shares: 1,
            stock: *b"A       ",
            price: 1,
        });
        add[BODY + 8] = b'x';
        assert_eq!(decode(&add), Err(ItchError::Side(b'x')));
        assert_eq!(check(&add), Err(ItchError::Side(b'x')));
    }

    #[test]
    fn an_f_add_and_a_c_execution_read_as_their_plain_kinds() {
        let mut f = encoded(&Message::Add {
            locate: 2,
            reference: 9,
            side: Side::Buy,
            shares: 100,
            stock: *b"MSFT    ",
            price: 40_000,
        });
        f[0] = b'F';
        f.extend_from_slice(b"MPID");
        assert!(matches!(decode(&f), Ok(Message::Add { reference: 9, .. })));
        let mut c = encoded(&Message::Executed {
            locate: 2,
            reference: 9,
            shares: 40,
        });
        c[0] = b'C';
        c.extend_from_slice(&[b'Y', 0, 0, 0, 1]);
        assert_eq!(
            decode(&c),
            Ok(Message::Executed {
                locate: 2,
                reference: 9,
                shares: 40
            })
        );
    }

    #[test]
    fn stock_symbols_are_padded_and_checked() {
        assert_eq!(stock("ESZ6"), Some(*b"ESZ6    "));
        assert_eq!(stock("ABCDEFGHI"), None);
        assert_eq!(stock(""), None);
        assert_eq!(stock("A B"), None);
    }

    fn any_message() -> impl Strategy<Value = Message> {
        let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
        prop_oneof![
            any::<u8>().prop_map(|event| Message::SystemEvent { event }),
            (any::<u16>(), any::<Stock>())
                .prop_map(|(locate, stock)| Message::StockDirectory { locate, stock }),
            (
                any::<u16>(),
                any::<u64>(),
                side,
                any::<u32>(),
                any::<Stock>(),
                any::<u32>()
            )
                .prop_map(|(locate, reference, side, shares, stock, price)| {
                    Message::Add {
                        locate,
                        reference,
                        side,
                        shares,
                        stock,
                        price,
                    }
                }),
            (any::<u16>(), any::<u64>(), any::<u32>()).prop_map(|(locate, reference, shares)| {
                Message::Executed {
                    locate,
                    reference,
                    shares,
                }
            }),
            (any::<u16>(), any::<u64>(), any::<u32>()).prop_map(|(locate, reference, shares)| {
                Message::Cancel {
                    locate,
                    reference,
                    shares,
                }
            }),
            (any::<u16>(), any::<u64>())
                .prop_map(|(locate, reference)| Message::Delete { locate, reference }),
            (
                any::<u16>(),
                any::<u64>(),
                any::<u64>(),
                any::<u32>(),
                any::<u32>()
            )
                .prop_map(|(locate, original, reference, shares, price)| {
                    Message::Replace {
                        locate,
                        original,
                        reference,
                        shares,
                        price,
                    }
                }),
            prop::sample::select(b"HYLVWKJhPQBINO".to_vec())
                .prop_map(|kind| Message::Other { kind }),
        ]
    }

    proptest! {
        #[test]
        fn what_is_encoded_decodes_to_itself(message in any_message()) {
            let wire = encoded(&message);
            prop_assert_eq!(wire.len(), length(message.kind()).unwrap());
            prop_assert_eq!(decode(&wire), Ok(message));
        }

        #[test]
        fn no_bytes_make_decoding_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }
}
