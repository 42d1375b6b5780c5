//! The network feed allocates when it is bound and never after: with a
//! counting global allocator, its polls take 200 000 ITCH messages of a
//! seeded order flow over loopback after warm-up (books built and torn
//! down, quotes made, damaged and lost packets, the packets past each gap
//! held, gaps asked for and filled by a re-request server, refreshes on
//! heartbeats) and allocate nothing.

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use redline_engine::clock;
use redline_engine::feed::moldudp64::{self, PacketBuilder};
use redline_engine::feed::{Count, FeedState, ItchConfig, ItchFeed, ItchFlow};
use support::alloc::{allocations, counting, Counting};
use support::instruments;

#[global_allocator]
static GLOBAL: Counting = Counting;

const SESSION: &[u8; 10] = b"NOALLOC001";
const PACKETS: usize = 50_000;
const WARM_UP: usize = 5_000;
const PER_PACKET: usize = 4;

/// The re-request server: answers one waiting request, if there is one,
/// with the packets it asks for; returns whether there was one.
fn answer(server: &UdpSocket, packets: &[(u64, Vec<u8>)]) -> bool {
    let mut ask = [0u8; 64];
    let Ok((n, from)) = server.recv_from(&mut ask) else {
        return false;
    };
    let (_, want, count) = moldudp64::read_request(&ask[..n]).unwrap();
    for (seq, packet) in packets {
        if *seq >= want && *seq < want + u64::from(count) {
            server.send_to(packet, from).unwrap();
        }
    }
    true
}

#[test]
fn the_itch_feed_takes_its_packets_without_allocating() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    let config = ItchConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        group: String::new(),
        interface: std::net::Ipv4Addr::UNSPECIFIED,
        retransmit: server.local_addr().unwrap().to_string(),
        retransmit_timeout_ms: 20,
        receive_buffer_bytes: 1 << 20,
        refresh_ms: 1,
        max_orders: 10_000,
        max_levels: 64,
        hold_bytes: 1 << 16,
    };
    let instruments = instruments();
    let mut feed = ItchFeed::bind(&config, &instruments, 1e9 / clock::ns_per_tick()).unwrap();
    let to = feed.local_addr().unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();

    // Every packet made beforehand, so that the loop below only sends.
    let mut flow = ItchFlow::new(11, &instruments, 2_000);
    let mut packets = Vec::with_capacity(PACKETS + 1);
    let mut seq = 1;
    let encode = |messages: &[redline_engine::feed::itch::Message], seq: &mut u64| {
        let mut builder = PacketBuilder::new(SESSION, *seq);
        for message in messages {
            let mut bytes = Vec::new();
            message.encode(&mut bytes);
            builder.push(&bytes);
        }
        *seq += messages.len() as u64;
        (*seq - messages.len() as u64, builder.finish())
    };
    packets.push(encode(&flow.preamble(), &mut seq));
    for _ in 0..PACKETS {
        let messages: Vec<_> = (0..PER_PACKET).map(|_| flow.next_message()).collect();
        packets.push(encode(&messages, &mut seq));
    }
    let damaged = {
        let mut bytes = packets[1].1.clone();
        bytes.pop();
        bytes
    };

    let mut quotes = 0u64;
    let mut counted = 0;
    let mut drain = |feed: &mut ItchFeed, on: bool, quotes: &mut u64| {
        // Until the socket is empty and every message applied.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let before = feed.stats().read().get(Count::Packets);
            counting(on);
            let made = feed.poll(clock::ticks(), 64, |_| *quotes += 1);
            counting(false);
            if on {
                counted = allocations();
            }
            if made == 0 && feed.stats().read().get(Count::Packets) == before {
                break;
            }
            assert!(Instant::now() < deadline);
        }
    };
    for (i, (first, packet)) in packets.iter().enumerate() {
        let on = i > WARM_UP;
        if i % 1000 == 7 {
            // Lost: the next packet opens a gap, which the re-request
            // server below fills. Every 2000th arrives damaged instead.
            if i % 2000 == 7 {
                sender.send_to(&damaged, to).unwrap();
            }
        } else {
            sender.send_to(packet, to).unwrap();
        }
        if i % 100 == 0 {
            let beat = PacketBuilder::heartbeat(SESSION, first + PER_PACKET as u64);
            sender.send_to(&beat, to).unwrap();
        }
        drain(&mut feed, on, &mut quotes);
        while answer(&server, &packets) {
            drain(&mut feed, on, &mut quotes);
        }
    }
    // The last gap, if one is open, fills after a timeout's request.
    let deadline = Instant::now() + Duration::from_secs(5);
    while feed.stats().read().state != FeedState::InSequence && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        drain(&mut feed, true, &mut quotes);
        while answer(&server, &packets) {}
    }

    let report = feed.stats().read();
    assert_eq!(report.state, FeedState::InSequence, "{report:?}");
    assert_eq!(report.next, seq, "every message applied: {report:?}");
    assert!(report.get(Count::Messages) >= (PACKETS * PER_PACKET) as u64);
    assert!(report.get(Count::Recoveries) >= 45, "{report:?}");
    assert!(report.get(Count::Held) >= 45, "{report:?}");
    assert!(report.get(Count::Malformed) >= 20, "{report:?}");
    assert_eq!(report.get(Count::UnknownOrders), 0);
    assert_eq!(report.get(Count::BookRefusals), 0);
    assert!(quotes > 20_000, "{quotes} quotes");
    assert_eq!(counted, 0, "allocator calls while the feed ran");
}
