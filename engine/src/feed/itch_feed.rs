//! The network feed: NASDAQ TotalView-ITCH 5.0 over MoldUDP64, received on
//! a UDP socket (multicast or unicast) by the feed stage itself, applied
//! in sequence to order-by-order books of the configured instruments, and
//! turned into a quote whenever an instrument's top of book changes.
//!
//! A packet is checked whole (framing and every message's length) before
//! any of it is applied; a damaged one is dropped and counted, and its
//! messages are then missing like any other gap. A gap (a late start, a
//! lost or damaged packet) stops the quotes until it is filled from the
//! MoldUDP64 re-request server, if one is configured, asked again after
//! each answer and after a timeout; once every message is applied, each
//! instrument's top is quoted afresh. A book that refuses a change (the
//! order table or a side's levels full) stops the quotes until a new
//! session, since the books would be incomplete. While packets arrive
//! (heartbeats included), an unchanged top is quoted again every
//! `refresh_ms`, so that a quiet instrument is not taken for stale; when
//! packets stop, so do quotes, and the risk gate's stale guard acts.
//!
//! The socket calls (a non-blocking receive per packet, a send per
//! request) are the stage's own I/O; nothing else here blocks, and nothing
//! allocates after [`ItchFeed::bind`].

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};

use super::held::Held;
use super::itch;
use super::itch_books::ItchBooks;
use super::itch_stats::{Count, FeedReport, FeedState, FeedStats};
use super::moldudp64::{self, Header, HEADER, MAX_PACKET};
use super::sequencer::{Sequencer, Verdict};
use crate::clock;
use crate::domain::{InstrumentId, Instruments, Quote};

/// `[feed.itch]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItchConfig {
    /// Where to receive: the group's port for multicast (`0.0.0.0:26400`)
    /// or a unicast address; port 0 takes a free one.
    pub listen: SocketAddr,
    /// The IPv4 multicast group to join; empty receives unicast.
    pub group: String,
    /// The local interface to join the group on; `0.0.0.0` lets the
    /// system choose.
    pub interface: Ipv4Addr,
    /// The MoldUDP64 re-request server (`10.0.0.5:26401`); empty for none,
    /// and then a gap is never filled.
    pub retransmit: String,
    /// A request not answered this long is sent again.
    pub retransmit_timeout_ms: u64,
    /// The socket's receive buffer to ask the kernel for: what absorbs a
    /// burst while the stage is busy (Linux grants at most
    /// `net.core.rmem_max`).
    pub receive_buffer_bytes: usize,
    /// While packets arrive, an unchanged top is quoted again this often.
    pub refresh_ms: u64,
    /// Live orders the books hold at most, over all instruments.
    pub max_orders: usize,
    /// Price levels per side of each instrument's book at most.
    pub max_levels: usize,
    /// Bytes of packets past a gap held until it is filled (each packet
    /// and 12 more); 0 holds none, and they are asked for again.
    pub hold_bytes: usize,
}

impl ItchConfig {
    /// The group to join, if any (checked by [`ItchConfig::problems`]).
    pub fn group(&self) -> Option<Ipv4Addr> {
        self.group.parse().ok()
    }

    /// The re-request server, if any (checked by
    /// [`ItchConfig::problems`]).
    pub fn retransmit(&self) -> Option<SocketAddr> {
        self.retransmit.parse().ok()
    }

    /// What is wrong with it, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !self.group.is_empty() {
            match self.group.parse::<Ipv4Addr>() {
                Ok(group) if group.is_multicast() => {}
                _ => problems.push((
                    "group",
                    format!(
                        "{:?} is not an IPv4 multicast group (224.0.0.0/4); leave it empty \
                         to receive unicast",
                        self.group
                    ),
                )),
            }
        }
        if !self.retransmit.is_empty() && self.retransmit.parse::<SocketAddr>().is_err() {
            problems.push((
                "retransmit",
                format!(
                    "{:?} is not an address and port (\"10.0.0.5:26401\"); leave it empty for \
                     none",
                    self.retransmit
                ),
            ));
        }
        let mut range = |key, value: u64, low: u64, high: u64| {
            if !(low..=high).contains(&value) {
                problems.push((key, format!("must be in {low} ..= {high}, got {value}")));
            }
        };
        range(
            "retransmit_timeout_ms",
            self.retransmit_timeout_ms,
            1,
            60_000,
        );
        range("refresh_ms", self.refresh_ms, 1, 60_000);
        range(
            "receive_buffer_bytes",
            self.receive_buffer_bytes as u64,
            4096,
            1 << 30,
        );
        range("max_orders", self.max_orders as u64, 1, 1 << 26);
        range("max_levels", self.max_levels as u64, 1, 1 << 20);
        range("hold_bytes", self.hold_bytes as u64, 0, 1 << 30);
        problems
    }
}

/// Datagrams one poll takes at most, so the stage turns to its other work.
const PACKETS_PER_POLL: usize = 16;
/// Messages one request asks for at most.
const MAX_ASK: u64 = u16::MAX as u64 - 1;

/// The feed's socket: bound to `config.listen` (sharing the address with
/// other receivers of a multicast group, as several engines on one host
/// may be), with the receive buffer asked for, and joined to the group.
/// Returns it and the receive buffer the kernel granted (Linux keeps
/// twice the asked size, half for its own bookkeeping, and reports the
/// doubled figure; this halves it back).
fn open_socket(config: &ItchConfig) -> io::Result<(UdpSocket, usize)> {
    let listen = config.listen;
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if config.group().is_some() {
        socket.set_reuse_address(true)?;
    }
    socket.set_recv_buffer_size(config.receive_buffer_bytes)?;
    socket.bind(&listen.into())?;
    if let Some(group) = config.group() {
        socket.join_multicast_v4(&group, &config.interface)?;
    }
    socket.set_nonblocking(true)?;
    let granted = socket.recv_buffer_size()? / 2;
    Ok((socket.into(), granted))
}

/// The last request to the re-request server.
#[derive(Debug, Clone, Copy)]
struct Ask {
    at: u64,
    end: u64,
}

/// The feed.
pub struct ItchFeed {
    socket: UdpSocket,
    /// The receive buffer the kernel granted, in bytes.
    receive_buffer: usize,
    retransmit: Option<SocketAddr>,
    timeout: u64,
    refresh: u64,
    /// The packet being applied, and where.
    packet: Box<[u8]>,
    len: usize,
    at: usize,
    left: u64,
    /// When it was received (clock ticks).
    received: u64,
    sequencer: Sequencer,
    /// Packets past the gap, to apply once it is filled.
    held: Held,
    recovering: bool,
    asked: Option<Ask>,
    books: ItchBooks,
    /// Instruments still to quote afresh after a gap was filled.
    flush: usize,
    /// The next instrument the refresh looks at.
    turn: usize,
    quotes: u64,
    report: FeedReport,
    stats: Arc<FeedStats>,
}

impl std::fmt::Debug for ItchFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItchFeed")
            .field("socket", &self.socket)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl ItchFeed {
    /// Binds the socket (joining the group, if any) and sizes the books
    /// for `instruments`, which `instrument_problems` must have passed.
    pub fn bind(
        config: &ItchConfig,
        instruments: &Instruments,
        ticks_per_second: f64,
    ) -> io::Result<ItchFeed> {
        let (socket, receive_buffer) = open_socket(config)?;
        let books = ItchBooks::new(instruments, config.max_orders, config.max_levels)
            .map_err(io::Error::other)?;
        let ticks = |ms: u64| (ms as f64 * ticks_per_second / 1e3) as u64;
        Ok(ItchFeed {
            socket,
            receive_buffer,
            retransmit: config.retransmit(),
            timeout: ticks(config.retransmit_timeout_ms),
            refresh: ticks(config.refresh_ms),
            packet: vec![0; MAX_PACKET].into_boxed_slice(),
            len: 0,
            at: 0,
            left: 0,
            received: 0,
            sequencer: Sequencer::new(),
            held: Held::new(config.hold_bytes),
            recovering: false,
            asked: None,
            flush: books.len(),
            books,
            turn: 0,
            quotes: 0,
            report: FeedReport::default(),
            stats: Arc::new(FeedStats::default()),
        })
    }

    /// The address it receives on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The receive buffer the kernel granted, in bytes: less than
    /// `receive_buffer_bytes` asked when `net.core.rmem_max` is lower.
    pub fn receive_buffer(&self) -> usize {
        self.receive_buffer
    }

    /// What it publishes for the control plane.
    pub fn stats(&self) -> Arc<FeedStats> {
        Arc::clone(&self.stats)
    }

    /// Hands `out` the quotes that the packets received by now make, at
    /// most `max`; returns how many. `now` is the clock's ticks.
    #[inline]
    pub fn poll(&mut self, now: u64, max: usize, mut out: impl FnMut(Quote)) -> usize {
        let mut made = 0;
        let mut packets = 0;
        let mut finished = false;
        while made < max {
            if self.flush < self.books.len() {
                let i = self.flush;
                self.flush += 1;
                made += usize::from(self.offer(i, now, true, &mut out));
            } else if self.left > 0 {
                let (block, next) = moldudp64::block_at(&self.packet[..self.len], self.at);
                let message = itch::decode(block);
                self.at = next;
                self.left -= 1;
                self.report.bump(Count::Messages);
                let report = &mut self.report;
                if let Some(instrument) = message.ok().and_then(|m| self.books.apply(m, report)) {
                    let stamp = self.received;
                    made += usize::from(self.offer(instrument.index(), stamp, false, &mut out));
                }
                if self.left == 0 {
                    self.applied();
                    finished = true;
                }
            } else if self.held_ready() {
                let (packet, received) = self.held.front().expect("ready");
                let len = packet.len();
                self.packet[..len].copy_from_slice(packet);
                self.received = received;
                self.held.pop();
                // Checked when it was received.
                let header = moldudp64::header_of(&self.packet[..len]);
                self.sequence(&header, len);
            } else if packets < PACKETS_PER_POLL {
                match self.socket.recv(&mut self.packet) {
                    Ok(len) => {
                        packets += 1;
                        self.received = clock::ticks();
                        self.take(len);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        self.report.bump(Count::SocketErrors);
                        break;
                    }
                }
            } else {
                break;
            }
        }
        self.ask(now);
        if made < max {
            made += usize::from(self.refresh(now, &mut out));
        }
        // The counts move with packets; a quote alone changes none of them,
        // so a poll that only quoted (one of many for a packet) stores
        // nothing.
        if packets > 0 || finished {
            self.publish();
        }
        made
    }

    /// Checks a received packet and decides what to do with it.
    fn take(&mut self, len: usize) {
        self.report.bump(Count::Packets);
        let packet = &self.packet[..len];
        let Ok(header) = moldudp64::read(packet) else {
            self.report.bump(Count::Malformed);
            return;
        };
        let mut at = HEADER;
        for _ in 0..header.messages() {
            let (block, next) = moldudp64::block_at(packet, at);
            if itch::check(block).is_err() {
                self.report.bump(Count::Malformed);
                return;
            }
            at = next;
        }
        self.sequence(&header, len);
    }

    /// Whether the oldest packet held past a gap is next: the gap before
    /// it is filled.
    fn held_ready(&self) -> bool {
        self.held
            .front()
            .is_some_and(|(packet, _)| moldudp64::header_of(packet).seq <= self.sequencer.next())
    }

    /// Applies, holds or drops the checked packet in `self.packet[..len]`,
    /// whose header is `header`, as its place in the session says.
    fn sequence(&mut self, header: &Header, len: usize) {
        let mut verdict = self.sequencer.offer(header);
        if verdict == Verdict::NewSession {
            self.start_session();
            verdict = self.sequencer.offer(header);
        }
        match verdict {
            Verdict::Apply { skip } => {
                self.len = len;
                self.at = HEADER;
                for _ in 0..skip {
                    self.at = moldudp64::block_at(&self.packet[..len], self.at).1;
                }
                self.left = header.messages() - skip;
            }
            Verdict::Duplicate => self.report.bump(Count::Duplicate),
            Verdict::Ahead if self.held.push(&self.packet[..len], self.received) => {
                self.report.bump(Count::Held);
            }
            Verdict::Ahead => self.report.bump(Count::Ahead),
            Verdict::Foreign => self.report.bump(Count::Foreign),
            Verdict::Empty | Verdict::NewSession => {}
        }
        if !self.recovering && self.sequencer.behind() > 0 {
            self.recovering = true;
            self.asked = None;
            self.report.bump(Count::Gaps);
        }
        if self.left == 0 {
            self.applied();
        }
    }

    /// A packet's messages are all applied (or it had none).
    fn applied(&mut self) {
        if self.recovering && self.sequencer.behind() == 0 {
            self.recovering = false;
            self.asked = None;
            self.report.bump(Count::Recoveries);
            self.flush = 0;
        }
    }

    /// Empties the books for a new session.
    fn start_session(&mut self) {
        self.books.clear();
        self.held.clear();
        self.recovering = false;
        self.asked = None;
        self.left = 0;
    }

    /// Quotes instrument `i`'s top, stamped `stamp`, if it changed (or
    /// `again`) and it can be quoted; returns whether it did.
    #[inline]
    fn offer(&mut self, i: usize, stamp: u64, again: bool, out: &mut impl FnMut(Quote)) -> bool {
        if self.recovering || self.books.stopped() {
            return false;
        }
        let Some((bid, bid_qty, ask, ask_qty)) = self.books.take_top(i, again) else {
            return false;
        };
        self.books.market(i).quoted_at = stamp;
        out(Quote {
            instrument: InstrumentId(i as u16),
            bid,
            bid_qty,
            ask,
            ask_qty,
            seq: self.quotes,
            received: stamp,
        });
        self.quotes += 1;
        true
    }

    /// Quotes one instrument's unchanged top again when it is `refresh`
    /// old and a packet has arrived since; one instrument a poll.
    fn refresh(&mut self, now: u64, out: &mut impl FnMut(Quote)) -> bool {
        if self.books.len() == 0 {
            return false;
        }
        let i = self.turn;
        // A compare, not a division, on every poll.
        self.turn = if i + 1 == self.books.len() { 0 } else { i + 1 };
        let market = self.books.market(i);
        let due = market.top.is_some()
            && self.received > market.quoted_at
            && now.saturating_sub(market.quoted_at) >= self.refresh;
        // Stamped no earlier than the packet that made it due, which may
        // have come after `now` was read.
        due && self.offer(i, now.max(self.received), true, out)
    }

    /// Asks the re-request server for what is missing: at once after a
    /// gap opens or an answer is applied, and again after the timeout.
    fn ask(&mut self, now: u64) {
        let (Some(server), Some(session)) = (self.retransmit, self.sequencer.session()) else {
            return;
        };
        if !self.recovering {
            return;
        }
        let next = self.sequencer.next();
        let due = self
            .asked
            .is_none_or(|asked| next >= asked.end || now.saturating_sub(asked.at) >= self.timeout);
        if !due {
            return;
        }
        // Up to what is held, if anything: that has come already.
        let held = self
            .held
            .front()
            .map(|(packet, _)| moldudp64::header_of(packet).seq);
        let count = held
            .map_or(self.sequencer.behind(), |seq| seq.saturating_sub(next))
            .min(MAX_ASK);
        if count == 0 {
            return;
        }
        let request = moldudp64::request(session, next, count as u16);
        match self.socket.send_to(&request, server) {
            Ok(_) => self.report.bump(Count::Requests),
            Err(_) => self.report.bump(Count::SocketErrors),
        }
        self.asked = Some(Ask {
            at: now,
            end: next + count,
        });
        self.publish();
    }

    fn publish(&mut self) {
        self.report.state = if self.books.stopped() {
            FeedState::Stopped
        } else if self.recovering {
            FeedState::Recovering
        } else if self.sequencer.session().is_none() {
            FeedState::Waiting
        } else {
            FeedState::InSequence
        };
        self.report.session = self.sequencer.session().copied();
        self.report.next = self.sequencer.next();
        self.report.behind = self.sequencer.behind();
        self.report.orders = self.books.orders() as u64;
        self.report.counts[Count::Overdrawn as usize] = self.books.overdrawn();
        self.stats.publish(&self.report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstrumentSpec;
    use crate::feed::itch::{Message, Side};
    use crate::feed::moldudp64::PacketBuilder;
    use std::time::{Duration, Instant};

    const SESSION: &[u8; 10] = b"TEST000001";
    const AAPL: u16 = 7;
    const MSFT: u16 = 9;

    fn instruments() -> Instruments {
        let spec = |symbol: &str, tick: &str, lot: &str| InstrumentSpec {
            symbol: symbol.into(),
            tick_size: tick.parse().unwrap(),
            lot_size: lot.parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        };
        Instruments::new(&[spec("AAPL", "0.01", "1"), spec("MSFT", "0.05", "100")]).unwrap()
    }

    fn config(retransmit: &str) -> ItchConfig {
        ItchConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            group: String::new(),
            interface: Ipv4Addr::UNSPECIFIED,
            retransmit: retransmit.into(),
            retransmit_timeout_ms: 50,
            receive_buffer_bytes: 1 << 16,
            refresh_ms: 60_000,
            max_orders: 64,
            max_levels: 8,
            hold_bytes: 0,
        }
    }

    /// The far end: sends packets of `SESSION` to the feed.
    struct Exchange {
        socket: UdpSocket,
        feed: SocketAddr,
    }

    impl Exchange {
        fn to(feed: &ItchFeed) -> Exchange {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            Exchange {
                socket,
                feed: feed.local_addr().unwrap(),
            }
        }

        fn send(&self, seq: u64, messages: &[Message]) {
            self.socket
                .send_to(&packet(seq, messages), self.feed)
                .unwrap();
        }
    }

    fn packet(seq: u64, messages: &[Message]) -> Vec<u8> {
        let mut builder = PacketBuilder::new(SESSION, seq);
        for message in messages {
            let mut bytes = Vec::new();
            message.encode(&mut bytes);
            builder.push(&bytes);
        }
        builder.finish()
    }

    /// AAPL's first two orders: 100 bid at 100.0000 and 100 offered at
    /// 100.0100.
    fn opening() -> [Message; 2] {
        [
            add(AAPL, 1, Side::Buy, 100, 1_000_000),
            add(AAPL, 2, Side::Sell, 100, 1_000_100),
        ]
    }

    /// A socket to play the re-request server on; its reads wait 2 s at
    /// most.
    fn re_request_server() -> UdpSocket {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        server
    }

    fn add(locate: u16, reference: u64, side: Side, shares: u32, price: u32) -> Message {
        let stock = if locate == AAPL { "AAPL" } else { "MSFT" };
        Message::Add {
            locate,
            reference,
            side,
            shares,
            stock: itch::stock(stock).unwrap(),
            price,
        }
    }

    /// Polls until `feed` has given `n` quotes (within two seconds), then
    /// a little longer to see that no more come.
    fn quotes(feed: &mut ItchFeed, n: usize) -> Vec<Quote> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        // Bounded, and resting between empty polls, so that tests running
        // beside each other do not starve the machine.
        let mut poll = |got: &mut Vec<Quote>| {
            if feed.poll(clock::ticks(), 64, |q| got.push(q)) == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        };
        while got.len() < n && Instant::now() < deadline {
            poll(&mut got);
        }
        let linger = Instant::now() + Duration::from_millis(30);
        while Instant::now() < linger {
            poll(&mut got);
        }
        got
    }

    /// Reads requests at `server` until one asks for `count` messages
    /// from `seq` (the feed repeats a request after each timeout); returns
    /// who asked.
    fn asked_for(server: &UdpSocket, seq: u64, count: u16) -> SocketAddr {
        let mut ask = [0; 64];
        loop {
            let (n, from) = server.recv_from(&mut ask).expect("a request within 2 s");
            let (session, first, n) = moldudp64::read_request(&ask[..n]).expect("a request");
            assert_eq!(session, *SESSION);
            if (first, n) == (seq, count) {
                return from;
            }
        }
    }

    fn top(q: &Quote) -> (i64, i64, i64, i64) {
        (q.bid.0, q.bid_qty.0, q.ask.0, q.ask_qty.0)
    }

    fn bind(retransmit: &str) -> ItchFeed {
        ItchFeed::bind(
            &config(retransmit),
            &instruments(),
            1e9 / clock::ns_per_tick(),
        )
        .unwrap()
    }

    #[test]
    fn orders_in_sequence_quote_each_change_of_the_top_in_ticks_and_lots() {
        let mut feed = bind("");
        let exchange = Exchange::to(&feed);
        exchange.send(
            1,
            &[
                Message::SystemEvent { event: b'O' },
                add(AAPL, 1, Side::Buy, 300, 1_895_000),
                add(AAPL, 2, Side::Sell, 200, 1_895_100),
                // Another stock's order: not configured, not booked.
                Message::Add {
                    locate: 3,
                    reference: 3,
                    side: Side::Buy,
                    shares: 1,
                    stock: itch::stock("ZZZZ").unwrap(),
                    price: 1,
                },
                add(AAPL, 4, Side::Buy, 100, 1_894_000), // below the top
                add(MSFT, 5, Side::Buy, 250, 4_000_000),
                add(MSFT, 6, Side::Sell, 100, 4_000_700), // off MSFT's 0.05 tick
            ],
        );
        let got = quotes(&mut feed, 2);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].instrument, InstrumentId(0));
        assert_eq!(top(&got[0]), (18_950, 300, 18_951, 200));
        // MSFT: 400.00 bid of 2 lots of 100; 400.07 ask rounds up to 400.10.
        assert_eq!(got[1].instrument, InstrumentId(1));
        assert_eq!(top(&got[1]), (8_000, 2, 8_002, 1));
        assert_eq!(got[1].seq, got[0].seq + 1);

        exchange.send(
            8,
            &[
                Message::Executed {
                    locate: AAPL,
                    reference: 2,
                    shares: 50,
                },
                Message::Cancel {
                    locate: AAPL,
                    reference: 4,
                    shares: 100,
                }, // deep: no quote
                Message::Delete {
                    locate: AAPL,
                    reference: 1,
                },
                Message::Replace {
                    locate: MSFT,
                    original: 6,
                    reference: 8,
                    shares: 300,
                    price: 4_000_500,
                },
                Message::Delete {
                    locate: MSFT,
                    reference: 99,
                }, // an order it never had
            ],
        );
        let got = quotes(&mut feed, 3);
        let tops: Vec<_> = got.iter().map(|q| (q.instrument.0, top(q))).collect();
        assert_eq!(
            tops,
            [(0, (18_950, 300, 18_951, 150)), (1, (8_000, 2, 8_001, 3))],
            "AAPL one-sided after the delete: not quoted"
        );
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::InSequence);
        assert_eq!((report.next, report.behind), (13, 0));
        assert_eq!(report.get(Count::Packets), 2);
        assert_eq!(report.get(Count::Messages), 12);
        assert_eq!(report.get(Count::UnknownOrders), 1);
        assert_eq!(report.orders, 3);
        assert_eq!(report.session, Some(*SESSION));
    }

    #[test]
    fn a_damaged_packet_is_refused_whole_and_its_gap_filled_from_the_re_request_server() {
        let server = re_request_server();
        let mut feed = bind(&server.local_addr().unwrap().to_string());
        let exchange = Exchange::to(&feed);
        exchange.send(1, &opening());
        assert_eq!(quotes(&mut feed, 1).len(), 1);

        // Message 3 arrives damaged: one byte short. Message 4 is then
        // ahead of the gap, and neither is applied.
        let third = [add(AAPL, 3, Side::Buy, 100, 1_000_050)];
        let mut damaged = packet(3, &third);
        damaged.pop();
        exchange.socket.send_to(&damaged, exchange.feed).unwrap();
        let fourth = [Message::Delete {
            locate: AAPL,
            reference: 2,
        }];
        exchange.send(4, &fourth);
        assert!(quotes(&mut feed, 1).is_empty(), "no quote inside a gap");
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::Recovering);
        assert_eq!((report.next, report.behind), (3, 2));
        assert_eq!(report.get(Count::Malformed), 1);
        assert_eq!(report.get(Count::Ahead), 1);
        assert_eq!(report.get(Count::Gaps), 1);

        // The server was asked for 3 and 4, and asked again after each
        // timeout while no answer came.
        let from = asked_for(&server, 3, 2);
        assert!(feed.stats().read().get(Count::Requests) >= 2);
        server
            .send_to(&packet(3, &[third[0], fourth[0]]), from)
            .unwrap();
        let got = quotes(&mut feed, 0);
        assert!(got.is_empty(), "the ask side is gone: {got:?}");
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::InSequence);
        assert_eq!((report.next, report.behind), (5, 0));
        assert_eq!(report.get(Count::Recoveries), 1);
        assert!(report.get(Count::Requests) >= 2);

        // In sequence again: the next change quotes the whole book.
        exchange.send(5, &[add(AAPL, 5, Side::Sell, 10, 1_000_200)]);
        let got = quotes(&mut feed, 1);
        assert_eq!(
            got.iter().map(top).collect::<Vec<_>>(),
            [(10_000, 100, 10_002, 10)]
        );
    }

    #[test]
    fn packets_past_a_gap_are_held_and_only_the_missing_asked_for() {
        let server = re_request_server();
        // Room for one held packet of one message, not two.
        let config = ItchConfig {
            hold_bytes: 12 + 70,
            ..config(&server.local_addr().unwrap().to_string())
        };
        let mut feed = ItchFeed::bind(&config, &instruments(), 1e9 / clock::ns_per_tick()).unwrap();
        let exchange = Exchange::to(&feed);
        exchange.send(1, &opening());
        assert_eq!(quotes(&mut feed, 1).len(), 1);

        // 3 is lost; 4 is held, and 5 finds the hold full.
        let third = add(AAPL, 3, Side::Buy, 100, 1_000_050);
        let fourth = Message::Delete {
            locate: AAPL,
            reference: 2,
        };
        let fifth = add(AAPL, 5, Side::Sell, 10, 1_000_200);
        exchange.send(4, &[fourth]);
        exchange.send(5, &[fifth]);
        assert!(quotes(&mut feed, 1).is_empty(), "no quote inside a gap");
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::Recovering);
        assert_eq!((report.next, report.behind), (3, 3));
        assert_eq!((report.get(Count::Held), report.get(Count::Ahead)), (1, 1));

        // Only 3 is asked for (a request for more never matches); with it
        // the held 4 applies, and then 5, dropped, is asked for.
        let from = asked_for(&server, 3, 1);
        server.send_to(&packet(3, &[third]), from).unwrap();
        assert!(quotes(&mut feed, 0).is_empty(), "5 is still missing");
        let from = asked_for(&server, 5, 1);
        assert_eq!(feed.stats().read().next, 5, "3 and the held 4 applied");
        server.send_to(&packet(5, &[fifth]), from).unwrap();
        let got = quotes(&mut feed, 1);
        assert_eq!(
            got.iter().map(top).collect::<Vec<_>>(),
            [(10_000, 100, 10_002, 10)],
            "the book of all five, quoted afresh"
        );
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::InSequence);
        assert_eq!((report.next, report.behind), (6, 0));
        assert_eq!(report.get(Count::Recoveries), 1);
        assert_eq!(report.get(Count::Duplicate), 0);
    }

    #[test]
    fn a_late_start_quotes_nothing_until_the_beginning_is_recovered() {
        let server = re_request_server();
        let mut feed = bind(&server.local_addr().unwrap().to_string());
        let exchange = Exchange::to(&feed);
        let early = [
            add(AAPL, 1, Side::Buy, 100, 1_000_000),
            add(AAPL, 2, Side::Sell, 100, 1_000_100),
        ];
        exchange.send(3, &[add(AAPL, 3, Side::Buy, 5, 1_000_050)]);
        assert!(quotes(&mut feed, 1).is_empty());
        let from = asked_for(&server, 1, 3);
        // The answer covers only 1 and 2: after the timeout the feed asks
        // for what is still missing.
        server.send_to(&packet(1, &early), from).unwrap();
        assert!(quotes(&mut feed, 1).is_empty(), "still behind");
        let from = asked_for(&server, 3, 1);
        server
            .send_to(&packet(3, &[add(AAPL, 3, Side::Buy, 5, 1_000_050)]), from)
            .unwrap();
        // Caught up: the top as it now is, quoted once.
        let got = quotes(&mut feed, 1);
        assert_eq!(
            got.iter().map(top).collect::<Vec<_>>(),
            [(10_000, 5, 10_001, 100)]
        );
    }

    #[test]
    fn without_a_re_request_server_a_gap_stays_open() {
        let mut feed = bind("");
        let exchange = Exchange::to(&feed);
        exchange.send(2, &[add(AAPL, 1, Side::Buy, 100, 1_000_000)]);
        assert!(quotes(&mut feed, 1).is_empty());
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::Recovering);
        assert_eq!(report.get(Count::Requests), 0);
    }

    #[test]
    fn packets_keep_an_unchanged_top_fresh_and_silence_lets_it_go_stale() {
        let mut config = config("");
        config.refresh_ms = 20;
        let mut feed = ItchFeed::bind(&config, &instruments(), 1e9 / clock::ns_per_tick()).unwrap();
        let exchange = Exchange::to(&feed);
        exchange.send(1, &opening());
        assert_eq!(quotes(&mut feed, 1).len(), 1);
        std::thread::sleep(Duration::from_millis(25));
        // Silence: no packet since the quote, no refresh.
        assert!(quotes(&mut feed, 1).is_empty());
        let beat = PacketBuilder::heartbeat(SESSION, 3);
        exchange.socket.send_to(&beat, exchange.feed).unwrap();
        let got = quotes(&mut feed, 1);
        assert_eq!(
            got.iter().map(top).collect::<Vec<_>>(),
            [(10_000, 100, 10_001, 100)]
        );
    }

    #[test]
    fn a_full_book_stops_the_quotes_until_a_new_session() {
        let mut config = config("");
        config.max_levels = 1;
        let mut feed = ItchFeed::bind(&config, &instruments(), 1e9 / clock::ns_per_tick()).unwrap();
        let exchange = Exchange::to(&feed);
        exchange.send(
            1,
            &[
                add(AAPL, 1, Side::Buy, 100, 1_000_000),
                add(AAPL, 2, Side::Sell, 100, 1_000_100),
                add(AAPL, 3, Side::Sell, 100, 1_000_200), // a second level
                add(AAPL, 4, Side::Buy, 100, 1_000_000),
            ],
        );
        assert_eq!(quotes(&mut feed, 2).len(), 1, "quotes stop at the refusal");
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::Stopped);
        assert_eq!(report.get(Count::BookRefusals), 1);

        // The session ends; the next one starts with empty books.
        let end = PacketBuilder::end_of_session(SESSION, 5);
        exchange.socket.send_to(&end, exchange.feed).unwrap();
        let mut next = PacketBuilder::new(b"TEST000002", 1);
        for m in [
            add(AAPL, 1, Side::Buy, 7, 1_000_000),
            add(AAPL, 2, Side::Sell, 8, 1_000_100),
        ] {
            let mut bytes = Vec::new();
            m.encode(&mut bytes);
            next.push(&bytes);
        }
        exchange
            .socket
            .send_to(&next.finish(), exchange.feed)
            .unwrap();
        let got = quotes(&mut feed, 1);
        assert_eq!(
            got.iter().map(top).collect::<Vec<_>>(),
            [(10_000, 7, 10_001, 8)]
        );
        let report = feed.stats().read();
        assert_eq!(report.state, FeedState::InSequence);
        assert_eq!(report.session, Some(*b"TEST000002"));
        assert_eq!(report.orders, 2);
    }

    #[test]
    fn another_session_and_repeats_are_dropped_and_counted() {
        let mut feed = bind("");
        let exchange = Exchange::to(&feed);
        let first = [
            add(AAPL, 1, Side::Buy, 100, 1_000_000),
            add(AAPL, 2, Side::Sell, 100, 1_000_100),
        ];
        exchange.send(1, &first);
        exchange.send(1, &first);
        let mut other = PacketBuilder::new(b"OTHER00001", 3);
        let mut bytes = Vec::new();
        add(AAPL, 9, Side::Buy, 1, 1_000_090).encode(&mut bytes);
        other.push(&bytes);
        exchange
            .socket
            .send_to(&other.finish(), exchange.feed)
            .unwrap();
        exchange.socket.send_to(b"short", exchange.feed).unwrap();
        let got = quotes(&mut feed, 2);
        assert_eq!(got.len(), 1);
        let report = feed.stats().read();
        assert_eq!(report.get(Count::Duplicate), 1);
        assert_eq!(report.get(Count::Foreign), 1);
        assert_eq!(report.get(Count::Malformed), 1);
        assert_eq!(report.get(Count::Packets), 4);
        assert_eq!(report.state, FeedState::InSequence);
    }

    #[test]
    fn two_feeds_on_one_host_receive_the_same_multicast_group() {
        let port = UdpSocket::bind("0.0.0.0:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = config("");
        config.listen = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
        config.group = "239.255.77.1".into();
        config.interface = Ipv4Addr::LOCALHOST;
        let ticks_per_second = 1e9 / clock::ns_per_tick();
        let mut feeds = [
            ItchFeed::bind(&config, &instruments(), ticks_per_second).unwrap(),
            ItchFeed::bind(&config, &instruments(), ticks_per_second).unwrap(),
        ];
        let sender = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        sender.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
        let sender = UdpSocket::from(sender);
        let book = packet(
            1,
            &[
                add(AAPL, 1, Side::Buy, 100, 1_000_000),
                add(AAPL, 2, Side::Sell, 100, 1_000_100),
            ],
        );
        sender.send_to(&book, ("239.255.77.1", port)).unwrap();
        for feed in &mut feeds {
            let got = quotes(feed, 1);
            assert_eq!(
                got.iter().map(top).collect::<Vec<_>>(),
                [(10_000, 100, 10_001, 100)]
            );
        }
    }

    #[test]
    fn the_receive_buffer_is_what_the_kernel_granted() {
        let feed = bind("");
        // Asked 64 KiB: granted at least that (every kernel's minimum is
        // lower, its maximum higher).
        assert!(
            feed.receive_buffer() >= 1 << 16,
            "{}",
            feed.receive_buffer()
        );
        let mut config = config("");
        config.receive_buffer_bytes = 1 << 30;
        let feed = ItchFeed::bind(&config, &instruments(), 1e9 / clock::ns_per_tick()).unwrap();
        let max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(feed.receive_buffer(), max, "capped at net.core.rmem_max");
    }

    #[test]
    fn config_problems_name_their_keys() {
        let mut bad = config("nowhere");
        bad.group = "10.0.0.1".into();
        bad.max_orders = 0;
        bad.hold_bytes = 2 << 30;
        let keys: Vec<_> = bad.problems().into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["group", "retransmit", "max_orders", "hold_bytes"]);
        assert!(config("127.0.0.1:9").problems().is_empty());
    }
}
