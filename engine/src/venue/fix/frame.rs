//! Whole FIX messages in a TCP byte stream, and their fields. A message is
//! `8=FIX.4.4␁9=<BodyLength>␁`, then BodyLength bytes of body (MsgType(35)
//! first), then `10=<CheckSum>␁`, where CheckSum is the sum of every byte
//! before it modulo 256, as three digits. [`scan`] finds where the first
//! message in a buffer ends, or that more bytes are needed, or that the
//! stream is out of step (its bytes cannot begin a message: the session
//! cannot go on). [`Message`] reads a whole one's fields in place.

use super::value::read_uint;
use super::writer::MAX_MESSAGE;
use super::SOH;

/// What every message begins with, up to its BodyLength's digits.
const PREFIX: &[u8] = b"8=FIX.4.4\x019=";

/// `10=` and three digits and SOH.
const TRAILER: usize = 7;

/// Why bytes cannot be a FIX 4.4 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// It does not begin `8=FIX.4.4␁9=`.
    BeginString,
    /// BodyLength is not a number, or longer than [`MAX_MESSAGE`] allows.
    BodyLength,
    /// The body does not begin with MsgType(35).
    MsgType,
    /// No `10=ddd␁` where BodyLength says the body ends.
    Trailer,
    /// The declared checksum is not the bytes' sum.
    Checksum {
        /// As the message says.
        declared: u8,
        /// As its bytes add up.
        computed: u8,
    },
}

impl FrameError {
    /// Words for logs and the venue's health.
    pub fn describe(self) -> &'static str {
        match self {
            FrameError::BeginString => "a message not beginning 8=FIX.4.4",
            FrameError::BodyLength => "a BodyLength(9) that is not a number or is too large",
            FrameError::MsgType => "a body not beginning with MsgType(35)",
            FrameError::Trailer => "no CheckSum(10) where BodyLength(9) says the body ends",
            FrameError::Checksum { .. } => "a CheckSum(10) that does not match",
        }
    }
}

/// Where the first message in `bytes` ends: `Ok(None)` while more bytes
/// are needed, `Ok(Some(len))` when `bytes[..len]` is a whole message
/// with a good checksum.
///
/// # Errors
///
/// When `bytes` cannot begin a message, however many more follow.
pub fn scan(bytes: &[u8]) -> Result<Option<usize>, FrameError> {
    let prefix = PREFIX.len().min(bytes.len());
    if bytes[..prefix] != PREFIX[..prefix] {
        return Err(FrameError::BeginString);
    }
    if prefix < PREFIX.len() {
        return Ok(None);
    }
    // BodyLength's digits, up to its SOH.
    let digits = &bytes[PREFIX.len()..];
    let Some(end) = digits.iter().take(6).position(|&b| b == SOH) else {
        return if digits.len() >= 6 || !digits.iter().all(u8::is_ascii_digit) {
            Err(FrameError::BodyLength)
        } else {
            Ok(None)
        };
    };
    let length = read_uint(&digits[..end]).ok_or(FrameError::BodyLength)? as usize;
    let body = PREFIX.len() + end + 1;
    if body + length + TRAILER > MAX_MESSAGE {
        return Err(FrameError::BodyLength);
    }
    let have = bytes.len().min(body + 3) - body;
    if bytes[body..body + have] != b"35="[..have] {
        return Err(FrameError::MsgType);
    }
    let trailer = body + length;
    if bytes.len() < trailer + TRAILER {
        return Ok(None);
    }
    let t = &bytes[trailer..trailer + TRAILER];
    if &t[..3] != b"10=" || t[6] != SOH {
        return Err(FrameError::Trailer);
    }
    let declared = read_uint(&t[3..6])
        .filter(|&sum| sum < 256)
        .ok_or(FrameError::Trailer)? as u8;
    let computed = checksum(&bytes[..trailer]);
    if declared != computed {
        return Err(FrameError::Checksum { declared, computed });
    }
    Ok(Some(trailer + TRAILER))
}

/// The sum of `bytes` modulo 256.
pub(super) fn checksum(bytes: &[u8]) -> u8 {
    // Summed wide, which the compiler turns into vector adds (a u8 fold
    // it does not: each byte's carry would have to wrap), then reduced:
    // the low byte of a sum is the sum of the low bytes. A message is at
    // most MAX_MESSAGE bytes, far from overflowing a u32.
    bytes.iter().map(|&b| u32::from(b)).sum::<u32>() as u8
}

/// Why a field cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// A tag that is not a number (or no `=` after it).
    Tag,
    /// A field with no SOH after it before the body ends.
    Unterminated,
}

/// A whole message that [`scan`] accepted, read in place.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The body: from MsgType(35) up to CheckSum(10).
    body: &'a [u8],
}

impl<'a> Message<'a> {
    /// The message that is `bytes`, which [`scan`] measured.
    ///
    /// # Errors
    ///
    /// As [`scan`], and when `bytes` is not exactly one whole message.
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, FrameError> {
        match scan(bytes)? {
            Some(len) if len == bytes.len() => {}
            _ => return Err(FrameError::Trailer),
        }
        let digits = &bytes[PREFIX.len()..];
        let end = digits.iter().position(|&b| b == SOH).expect("scanned");
        let body = PREFIX.len() + end + 1;
        Ok(Message {
            body: &bytes[body..bytes.len() - TRAILER],
        })
    }

    /// Its fields in order, MsgType(35) first.
    pub fn fields(&self) -> Fields<'a> {
        Fields { rest: self.body }
    }

    /// MsgType(35).
    pub fn msg_type(&self) -> &'a [u8] {
        match self.fields().next() {
            Some(Ok((_, value))) => value,
            _ => &[],
        }
    }

    /// The value of the first field tagged `tag`, if there is one (and
    /// every field before it reads).
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        self.fields()
            .map_while(Result::ok)
            .find(|&(t, _)| t == tag)
            .map(|(_, value)| value)
    }

    /// [`Message::get`] read as an unsigned integer.
    pub fn uint(&self, tag: u32) -> Option<u64> {
        self.get(tag).and_then(read_uint)
    }
}

/// A message's fields, each `(tag, value)`.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, &'a [u8]), FieldError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = match self.rest.iter().position(|&b| b == SOH) {
            Some(end) => {
                let field = &self.rest[..end];
                self.rest = &self.rest[end + 1..];
                field
            }
            None => {
                self.rest = &[];
                return Some(Err(FieldError::Unterminated));
            }
        };
        let Some(eq) = field.iter().position(|&b| b == b'=') else {
            self.rest = &[];
            return Some(Err(FieldError::Tag));
        };
        match read_uint(&field[..eq]).and_then(|t| u32::try_from(t).ok()) {
            Some(tag) if tag > 0 => Some(Ok((tag, &field[eq + 1..]))),
            _ => {
                self.rest = &[];
                Some(Err(FieldError::Tag))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A message as a venue would send it, `|` for SOH, with its
    /// BodyLength and CheckSum worked out here.
    fn wire(body: &str) -> Vec<u8> {
        let body = body.replace('|', "\x01");
        let mut bytes = format!("8=FIX.4.4\x019={}\x01{body}", body.len()).into_bytes();
        let sum = checksum(&bytes);
        bytes.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        bytes
    }

    #[test]
    fn a_whole_message_is_found_and_read_in_place() {
        let bytes = wire("35=8|34=7|49=VENUE|56=REDLINE|11=42|39=0|58=a=b|");
        assert_eq!(scan(&bytes), Ok(Some(bytes.len())));
        let message = Message::parse(&bytes).unwrap();
        assert_eq!(message.msg_type(), b"8");
        assert_eq!(message.uint(34), Some(7));
        assert_eq!(message.get(49), Some(&b"VENUE"[..]));
        assert_eq!(message.get(58), Some(&b"a=b"[..]), "an = inside a value");
        assert_eq!(message.get(9999), None);
        let tags: Vec<u32> = message.fields().map(|f| f.unwrap().0).collect();
        assert_eq!(tags, [35, 34, 49, 56, 11, 39, 58]);
    }

    #[test]
    fn a_known_message_checks() {
        // A heartbeat whose sum was worked out apart from this code: every
        // byte before CheckSum(10), modulo 256.
        let bytes = b"8=FIX.4.4\x019=5\x0135=0\x0110=163\x01";
        assert_eq!(scan(bytes), Ok(Some(bytes.len())));
    }

    #[test]
    fn a_partial_message_waits_for_more() {
        let bytes = wire("35=0|34=2|");
        for cut in 0..bytes.len() {
            assert_eq!(scan(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        // Two in a row: the first is measured alone.
        let mut two = bytes.clone();
        two.extend_from_slice(&wire("35=1|112=X|"));
        assert_eq!(scan(&two), Ok(Some(bytes.len())));
    }

    #[test]
    fn bytes_out_of_step_are_refused_with_the_reason() {
        assert_eq!(scan(b"8=FIX.4.2\x01"), Err(FrameError::BeginString));
        assert_eq!(scan(b"junk"), Err(FrameError::BeginString));
        assert_eq!(scan(b"8=FIX.4.4\x019=x"), Err(FrameError::BodyLength));
        assert_eq!(scan(b"8=FIX.4.4\x019=9999999"), Err(FrameError::BodyLength));
        assert_eq!(
            scan(b"8=FIX.4.4\x019=99999\x01"),
            Err(FrameError::BodyLength)
        );
        assert_eq!(scan(b"8=FIX.4.4\x019=5\x0134="), Err(FrameError::MsgType));
        let mut bytes = wire("35=0|");
        let len = bytes.len();
        bytes[len - 2] = b'0' + (bytes[len - 2] - b'0' + 1) % 10;
        assert!(matches!(scan(&bytes), Err(FrameError::Checksum { .. })));
        // A BodyLength one short lands the trailer in the wrong place.
        let short = b"8=FIX.4.4\x019=4\x0135=0\x0110=163\x01";
        assert_eq!(scan(short), Err(FrameError::Trailer));
    }

    #[test]
    fn fields_that_cannot_be_read_say_so() {
        let bad = [
            ("35=0|x=1|", FieldError::Tag),
            ("35=0|novalue|", FieldError::Tag),
            ("35=0|=1|", FieldError::Tag),
            ("35=0|0=1|", FieldError::Tag),
        ];
        for (body, why) in bad {
            let bytes = wire(body);
            let message = Message::parse(&bytes).unwrap();
            let errors: Vec<_> = message.fields().filter_map(Result::err).collect();
            assert_eq!(errors, [why], "{body}");
        }
    }

    proptest! {
        /// A stream of messages cut anywhere: scanning what has come so far
        /// finds exactly the messages sent, whole, in order.
        #[test]
        fn a_stream_cut_anywhere_yields_its_messages(
            texts in proptest::collection::vec("[A-Za-z0-9 =.]{0,30}", 1..6),
            cuts in proptest::collection::vec(1usize..40, 1..40),
        ) {
            let sent: Vec<Vec<u8>> = texts.iter().map(|t| wire(&format!("35=8|58={t}|"))).collect();
            let stream: Vec<u8> = sent.concat();
            let mut buffer = Vec::new();
            let mut got = Vec::new();
            let mut at = 0;
            let mut cuts = cuts.into_iter().cycle();
            while at < stream.len() {
                let step = cuts.next().unwrap().min(stream.len() - at);
                buffer.extend_from_slice(&stream[at..at + step]);
                at += step;
                while let Some(len) = scan(&buffer).unwrap() {
                    got.push(buffer.drain(..len).collect::<Vec<u8>>());
                }
            }
            prop_assert_eq!(got, sent);
            prop_assert!(buffer.is_empty());
        }

        /// Any bytes: scanning and reading never panic, and what is
        /// accepted has a good checksum.
        #[test]
        fn no_bytes_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80), seed in any::<u64>()) {
            // Half the cases start as a real message, then are damaged.
            let mut bytes = bytes;
            if seed % 2 == 0 {
                let mut real = wire("35=8|11=1|");
                let at = (seed as usize / 2) % real.len();
                real[at] ^= (seed >> 32) as u8 | 1;
                bytes = real;
            }
            if let Ok(Some(len)) = scan(&bytes) {
                let message = Message::parse(&bytes[..len]).unwrap();
                let _ = message.fields().count();
                let _ = message.msg_type();
            }
        }
    }
}
