//! MoldUDP64 framing: the downstream packet (session, the sequence number
//! of its first message, a message count, then length-prefixed message
//! blocks), its heartbeat and end-of-session forms, and the request
//! packet a receiver sends a re-request server for messages it missed.
//!
//! Reading checks the whole packet's framing before any block is handed
//! out, so a damaged packet is refused whole, never half applied. Nothing
//! here allocates except the [`PacketBuilder`] for senders.

/// Bytes before the first message block: session (10), sequence (8),
/// count (2).
pub const HEADER: usize = 20;
/// The message count of a heartbeat: no messages; its sequence number is
/// the next one the session will send.
pub const HEARTBEAT: u16 = 0;
/// The message count that ends a session.
pub const END_OF_SESSION: u16 = 0xFFFF;
/// The most bytes a packet can have: a UDP datagram's payload.
pub const MAX_PACKET: usize = 65_507;

/// A session name: ten bytes, as sent.
pub type Session = [u8; 10];

/// A downstream packet's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The session the packet belongs to.
    pub session: Session,
    /// The sequence number of its first message (of the next message for
    /// a heartbeat or an end of session).
    pub seq: u64,
    /// How many message blocks follow; [`HEARTBEAT`] or
    /// [`END_OF_SESSION`] for those.
    pub count: u16,
}

impl Header {
    /// The number of messages it carries.
    pub fn messages(&self) -> u64 {
        match self.count {
            END_OF_SESSION => 0,
            count => u64::from(count),
        }
    }
}

/// Why a datagram is not a MoldUDP64 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// Fewer bytes than a header.
    Short(usize),
    /// Message block `index` runs past the end of the packet.
    Truncated {
        /// Which block (0 is the first).
        index: u16,
    },
    /// Bytes are left over after the last block the count announces.
    Trailing(usize),
}

impl std::fmt::Display for PacketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketError::Short(len) => {
                write!(f, "{len} bytes, fewer than a MoldUDP64 header's {HEADER}")
            }
            PacketError::Truncated { index } => {
                write!(f, "message block {index} runs past the packet's end")
            }
            PacketError::Trailing(bytes) => {
                write!(f, "{bytes} bytes after the last message block")
            }
        }
    }
}

impl std::error::Error for PacketError {}

/// Reads `packet`'s header and checks that its blocks fill it exactly.
pub fn read(packet: &[u8]) -> Result<Header, PacketError> {
    if packet.len() < HEADER {
        return Err(PacketError::Short(packet.len()));
    }
    let header = header_of(packet);
    let mut at = HEADER;
    for index in 0..header.messages() as u16 {
        let len = packet
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or(PacketError::Truncated { index })?;
        at += 2 + len;
        if at > packet.len() {
            return Err(PacketError::Truncated { index });
        }
    }
    if at != packet.len() {
        return Err(PacketError::Trailing(packet.len() - at));
    }
    Ok(header)
}

/// The header at the start of `packet`, which has at least [`HEADER`]
/// bytes (one [`read`] accepted, say).
#[inline]
pub fn header_of(packet: &[u8]) -> Header {
    Header {
        session: packet[..10].try_into().expect("10 bytes"),
        seq: u64::from_be_bytes(packet[10..18].try_into().expect("8 bytes")),
        count: u16::from_be_bytes([packet[18], packet[19]]),
    }
}

/// The message blocks of a packet [`read`] accepted, from byte `at`;
/// returns the block and where the next one starts.
#[inline]
pub fn block_at(packet: &[u8], at: usize) -> (&[u8], usize) {
    let len = usize::from(u16::from_be_bytes([packet[at], packet[at + 1]]));
    let end = at + 2 + len;
    (&packet[at + 2..end], end)
}

/// A request to a re-request server for `count` messages of `session`
/// from `seq`; it answers with downstream packets sent to the asker.
pub fn request(session: &Session, seq: u64, count: u16) -> [u8; HEADER] {
    let mut out = [0; HEADER];
    out[..10].copy_from_slice(session);
    out[10..18].copy_from_slice(&seq.to_be_bytes());
    out[18..].copy_from_slice(&count.to_be_bytes());
    out
}

/// Reads a request packet: session, first sequence number, count.
pub fn read_request(packet: &[u8]) -> Option<(Session, u64, u16)> {
    (packet.len() == HEADER).then(|| {
        let header = header_of(packet);
        (header.session, header.seq, header.count)
    })
}

/// Builds downstream packets, for senders: a test's exchange, a load
/// generator, a re-request server.
#[derive(Debug, Clone)]
pub struct PacketBuilder {
    bytes: Vec<u8>,
    count: u16,
}

impl PacketBuilder {
    /// A packet of `session` whose first message is `seq`.
    pub fn new(session: &Session, seq: u64) -> PacketBuilder {
        let mut bytes = Vec::with_capacity(1500);
        bytes.extend_from_slice(&request(session, seq, 0));
        PacketBuilder { bytes, count: 0 }
    }

    /// Appends one message block.
    pub fn push(&mut self, message: &[u8]) -> &mut Self {
        self.bytes
            .extend_from_slice(&(message.len() as u16).to_be_bytes());
        self.bytes.extend_from_slice(message);
        self.count += 1;
        self
    }

    /// The packet.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes[18..20].copy_from_slice(&self.count.to_be_bytes());
        self.bytes
    }

    /// A heartbeat: the next message will be `seq`.
    pub fn heartbeat(session: &Session, seq: u64) -> Vec<u8> {
        request(session, seq, HEARTBEAT).to_vec()
    }

    /// The end of `session`, after messages up to `seq - 1`.
    pub fn end_of_session(session: &Session, seq: u64) -> Vec<u8> {
        request(session, seq, END_OF_SESSION).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &Session = b"0000012345";

    #[test]
    fn a_built_packet_reads_back_block_by_block() {
        let mut builder = PacketBuilder::new(SESSION, 41);
        builder.push(b"abc").push(b"").push(b"defg");
        let packet = builder.finish();
        let header = read(&packet).unwrap();
        assert_eq!(
            header,
            Header {
                session: *SESSION,
                seq: 41,
                count: 3
            }
        );
        let mut at = HEADER;
        let mut blocks = Vec::new();
        for _ in 0..header.count {
            let (block, next) = block_at(&packet, at);
            blocks.push(block.to_vec());
            at = next;
        }
        assert_eq!(blocks, [b"abc".to_vec(), vec![], b"defg".to_vec()]);
        assert_eq!(at, packet.len());
    }

    #[test]
    fn damaged_framing_is_refused_whole() {
        let mut builder = PacketBuilder::new(SESSION, 1);
        builder.push(b"abc").push(b"defg");
        let packet = builder.finish();
        assert_eq!(read(&packet[..19]), Err(PacketError::Short(19)));
        assert_eq!(
            read(&packet[..packet.len() - 1]),
            Err(PacketError::Truncated { index: 1 })
        );
        assert_eq!(
            read(&packet[..HEADER + 1]),
            Err(PacketError::Truncated { index: 0 })
        );
        let mut longer = packet.clone();
        longer.push(0);
        assert_eq!(read(&longer), Err(PacketError::Trailing(1)));
    }

    #[test]
    fn heartbeats_and_the_end_carry_no_messages() {
        let beat = PacketBuilder::heartbeat(SESSION, 7);
        let header = read(&beat).unwrap();
        assert_eq!((header.seq, header.count, header.messages()), (7, 0, 0));
        let end = PacketBuilder::end_of_session(SESSION, 9);
        let header = read(&end).unwrap();
        assert_eq!((header.count, header.messages()), (END_OF_SESSION, 0));
    }

    #[test]
    fn a_request_names_the_session_the_first_message_and_the_count() {
        let ask = request(SESSION, 1_000_000_007, 300);
        assert_eq!(read_request(&ask), Some((*SESSION, 1_000_000_007, 300)));
        assert_eq!(read_request(&ask[..19]), None);
    }
}
