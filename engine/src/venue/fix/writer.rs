//! Building one FIX message at a time in a buffer sized once. The body is
//! written first, after room left for the header; [`MessageWriter::finish`]
//! then puts `8=FIX.4.4␁9=<BodyLength>␁` just before it and the CheckSum
//! after it, and hands back the bytes to send. No allocation, no
//! `core::fmt`.

use super::frame::checksum;
use super::time::utc_timestamp;
use super::value::{write_decimal, write_uint, MAX_UINT_DIGITS};
use super::{BEGIN_STRING, SOH};

/// Bytes of a message redline writes or reads at most.
pub const MAX_MESSAGE: usize = 4096;

/// Room before the body for `8=FIX.4.4␁9=dddd␁`.
const HEADROOM: usize = 2 + 7 + 1 + 2 + 4 + 1;

/// The writer.
#[derive(Debug)]
pub struct MessageWriter {
    buf: Box<[u8]>,
    /// Where the finished message starts.
    start: usize,
    /// Where the next byte goes.
    end: usize,
    /// Whether a field did not fit: the message is refused.
    overflowed: bool,
}

impl Default for MessageWriter {
    fn default() -> Self {
        MessageWriter {
            buf: vec![0; MAX_MESSAGE].into_boxed_slice(),
            start: HEADROOM,
            end: HEADROOM,
            overflowed: false,
        }
    }
}

impl MessageWriter {
    /// Begins a message of type `msg_type`, forgetting any before.
    pub fn begin(&mut self, msg_type: &[u8]) -> &mut Self {
        self.start = HEADROOM;
        self.end = HEADROOM;
        self.overflowed = false;
        self.field(super::tag::MSG_TYPE, msg_type)
    }

    /// Adds `tag=value`.
    pub fn field(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        self.put(
            |out| {
                let mut at = write_uint(out, u64::from(tag));
                out[at] = b'=';
                at += 1;
                out[at..at + value.len()].copy_from_slice(value);
                at + value.len()
            },
            MAX_UINT_DIGITS + 2 + value.len(),
        )
    }

    /// Adds fields already written out (`49=A␁56=B␁`), as a session's
    /// constant header is: `encoded` must be whole fields, each ending in
    /// SOH.
    pub fn encoded(&mut self, encoded: &[u8]) -> &mut Self {
        debug_assert!(encoded.last().is_none_or(|&b| b == SOH));
        if self.overflowed || self.end + encoded.len() + 7 > self.buf.len() {
            self.overflowed = true;
            return self;
        }
        self.buf[self.end..self.end + encoded.len()].copy_from_slice(encoded);
        self.end += encoded.len();
        self
    }

    /// Adds `tag=<value in decimal>`.
    pub fn uint(&mut self, tag: u32, value: u64) -> &mut Self {
        let mut digits = [0u8; MAX_UINT_DIGITS];
        let n = write_uint(&mut digits, value);
        self.field(tag, &digits[..n])
    }

    /// Adds `tag=<units / 10^scale>` (`44=6000.25`); `scale` is at most 19.
    pub fn decimal(&mut self, tag: u32, units: i64, scale: u32) -> &mut Self {
        let mut digits = [0u8; 2 * MAX_UINT_DIGITS + 2];
        let n = write_decimal(&mut digits, units, scale);
        self.field(tag, &digits[..n])
    }

    /// Adds `tag=<UTCTimestamp>` for `unix_ns`.
    pub fn timestamp(&mut self, tag: u32, unix_ns: u64) -> &mut Self {
        self.field(tag, &utc_timestamp(unix_ns))
    }

    /// Puts the header before the body and the CheckSum after it; the
    /// whole message, or `None` when a field did not fit in
    /// [`MAX_MESSAGE`] (nothing may then be sent).
    pub fn finish(&mut self) -> Option<&[u8]> {
        if self.overflowed || self.end + 7 > self.buf.len() {
            return None;
        }
        let length = (self.end - HEADROOM) as u64;
        let mut digits = [0u8; MAX_UINT_DIGITS];
        let n = write_uint(&mut digits, length);
        let header_len = 2 + BEGIN_STRING.len() + 1 + 2 + n + 1;
        let start = HEADROOM - header_len;
        let header = &mut self.buf[start..HEADROOM];
        header[..2].copy_from_slice(b"8=");
        header[2..2 + BEGIN_STRING.len()].copy_from_slice(BEGIN_STRING);
        let at = 2 + BEGIN_STRING.len();
        header[at] = SOH;
        header[at + 1..at + 3].copy_from_slice(b"9=");
        header[at + 3..at + 3 + n].copy_from_slice(&digits[..n]);
        header[at + 3 + n] = SOH;
        let sum = checksum(&self.buf[start..self.end]);
        let trailer = &mut self.buf[self.end..self.end + 7];
        trailer[..3].copy_from_slice(b"10=");
        trailer[3] = b'0' + sum / 100;
        trailer[4] = b'0' + sum / 10 % 10;
        trailer[5] = b'0' + sum % 10;
        trailer[6] = SOH;
        self.start = start;
        Some(&self.buf[start..self.end + 7])
    }

    /// Writes a field with `write`, which needs at most `room` bytes and
    /// returns how many it wrote, then its SOH.
    fn put(&mut self, write: impl FnOnce(&mut [u8]) -> usize, room: usize) -> &mut Self {
        // The CheckSum's seven bytes stay free.
        if self.overflowed || self.end + room + 1 + 7 > self.buf.len() {
            self.overflowed = true;
            return self;
        }
        let n = write(&mut self.buf[self.end..]);
        self.buf[self.end + n] = SOH;
        self.end += n + 1;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::{scan, Message};
    use super::super::{msg_type, tag};
    use super::*;

    #[test]
    fn a_written_message_is_one_a_reader_accepts() {
        let mut writer = MessageWriter::default();
        writer
            .begin(msg_type::NEW_ORDER_SINGLE)
            .field(tag::SENDER_COMP_ID, b"REDLINE")
            .field(tag::TARGET_COMP_ID, b"VENUE")
            .uint(tag::MSG_SEQ_NUM, 12)
            .timestamp(tag::SENDING_TIME, 1_796_307_572_123_456_789)
            .uint(tag::CL_ORD_ID, 42)
            .field(tag::SYMBOL, b"ESZ6")
            .field(tag::SIDE, b"1")
            .uint(tag::ORDER_QTY, 3)
            .field(tag::ORD_TYPE, b"2")
            .decimal(tag::PRICE, 600_025, 2);
        let bytes = writer.finish().unwrap().to_vec();
        assert_eq!(scan(&bytes), Ok(Some(bytes.len())));
        let text = String::from_utf8(bytes.clone())
            .unwrap()
            .replace('\x01', "|");
        assert!(
            text.starts_with("8=FIX.4.4|9=") && text.contains("|35=D|49=REDLINE|56=VENUE|34=12|"),
            "{text}"
        );
        assert!(
            text.contains("|52=20261203-14:19:32.123|11=42|55=ESZ6|54=1|38=3|40=2|44=6000.25|10=")
        );
        let message = Message::parse(&bytes).unwrap();
        assert_eq!(message.msg_type(), b"D");
        assert_eq!(message.get(tag::PRICE), Some(&b"6000.25"[..]));
        // BodyLength counts from MsgType to the SOH before CheckSum.
        let body = text.split_once("|35=").unwrap().1;
        let body_len = body.rsplit_once("10=").unwrap().0.len() + "35=".len();
        assert_eq!(message.uint(tag::BODY_LENGTH), None, "not a body field");
        assert!(
            text.starts_with(&format!("8=FIX.4.4|9={body_len}|")),
            "{text}"
        );
    }

    #[test]
    fn the_writer_is_used_again_and_refuses_what_does_not_fit() {
        let mut writer = MessageWriter::default();
        writer.begin(msg_type::HEARTBEAT).uint(tag::MSG_SEQ_NUM, 1);
        let first = writer.finish().unwrap().to_vec();
        writer.begin(msg_type::HEARTBEAT).uint(tag::MSG_SEQ_NUM, 1);
        assert_eq!(
            writer.finish().unwrap(),
            &first[..],
            "begin forgets the last"
        );
        writer
            .begin(msg_type::LOGOUT)
            .field(tag::TEXT, &[b'x'; MAX_MESSAGE]);
        assert_eq!(writer.finish(), None);
        // The largest text that fits still makes a whole message.
        let room =
            MAX_MESSAGE - HEADROOM - "35=5\x01".len() - "58=\x01".len() - 7 - MAX_UINT_DIGITS;
        writer
            .begin(msg_type::LOGOUT)
            .field(tag::TEXT, &vec![b'x'; room]);
        let bytes = writer.finish().unwrap().to_vec();
        assert_eq!(scan(&bytes), Ok(Some(bytes.len())));
    }
}
