//! The `exchange` scenario: a stand-in exchange for a running `redline`
//! whose `feed.source = "itch"`. It sends a seeded ITCH 5.0 order flow
//! (`ItchFlow`) over MoldUDP64 to the engine's feed address at a paced
//! rate, a heartbeat each second, and optionally loses every Nth packet;
//! on its own socket it serves the MoldUDP64 re-request protocol from
//! what it sent, so that `feed.itch.retransmit` can point at it. It prints
//! what it sent and served once a second.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use redline_engine::domain::{InstrumentSpec, Instruments};
use redline_engine::feed::itch;
use redline_engine::feed::moldudp64::{self, PacketBuilder, Session};
use redline_engine::feed::ItchFlow;

/// The scenario's knobs.
pub struct Exchange {
    /// The engine's `feed.itch.listen` address.
    pub to: SocketAddr,
    /// Where the re-request server listens.
    pub retransmit: SocketAddr,
    /// Messages per second, paced open loop.
    pub rate: u64,
    /// Messages per packet.
    pub per_packet: usize,
    /// How long to send.
    pub seconds: u64,
    /// Lose every Nth packet (0: none).
    pub lose_every: u64,
    /// The symbols to trade (each priced 100.00, tick 0.01).
    pub symbols: Vec<String>,
}

const SESSION: &Session = b"BENCH00001";

/// Runs it.
pub fn run(exchange: &Exchange) -> anyhow::Result<()> {
    let specs: Vec<InstrumentSpec> = exchange
        .symbols
        .iter()
        .map(|symbol| InstrumentSpec {
            symbol: symbol.clone(),
            tick_size: "0.01".parse().expect("a decimal"),
            lot_size: "1".parse().expect("a decimal"),
            multiplier: "1".parse().expect("a decimal"),
            reference_price: "100.00".parse().expect("a decimal"),
        })
        .collect();
    let instruments =
        Instruments::new(&specs).map_err(|e| anyhow::anyhow!("--symbols: {}", e[0].message))?;
    let mut flow = ItchFlow::new(42, &instruments, 10_000);
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    let server = UdpSocket::bind(exchange.retransmit)?;
    server.set_nonblocking(true)?;
    println!(
        "redline-bench exchange: {} messages/s in packets of {} to {} for {} s; re-request \
         server on {}{}",
        exchange.rate,
        exchange.per_packet,
        exchange.to,
        exchange.seconds,
        server.local_addr()?,
        match exchange.lose_every {
            0 => String::new(),
            n => format!("; losing every {n}th packet"),
        }
    );
    // Every packet sent, by first message, for the re-request server.
    let mut sent: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut next = 1u64;
    let packet = |messages: &[itch::Message], next: &mut u64| {
        let first = *next;
        *next += messages.len() as u64;
        (first, itch::packet(SESSION, first, messages))
    };
    let first = packet(&flow.preamble(), &mut next);
    socket.send_to(&first.1, exchange.to)?;
    sent.push(first);

    let began = Instant::now();
    let end = began + Duration::from_secs(exchange.seconds);
    let per_packet = exchange.per_packet.max(1);
    let interval = Duration::from_secs_f64(per_packet as f64 / exchange.rate.max(1) as f64);
    let mut due = began;
    let mut beat = began;
    let mut report = began + Duration::from_secs(1);
    let (mut packets, mut lost, mut served) = (0u64, 0u64, 0u64);
    let mut ask = [0u8; 64];
    while Instant::now() < end {
        let now = Instant::now();
        if now >= due {
            let messages: Vec<_> = (0..per_packet).map(|_| flow.next_message()).collect();
            let made = packet(&messages, &mut next);
            packets += 1;
            if exchange.lose_every > 0 && packets % exchange.lose_every == 0 {
                lost += 1;
            } else {
                socket.send_to(&made.1, exchange.to)?;
            }
            sent.push(made);
            due += interval;
        }
        if now >= beat {
            socket.send_to(&PacketBuilder::heartbeat(SESSION, next), exchange.to)?;
            beat += Duration::from_secs(1);
        }
        while let Ok((n, from)) = server.recv_from(&mut ask) {
            let Some((session, want, count)) = moldudp64::read_request(&ask[..n]) else {
                continue;
            };
            if &session != SESSION {
                continue;
            }
            let at = sent
                .partition_point(|(seq, _)| *seq <= want)
                .saturating_sub(1);
            for (seq, bytes) in &sent[at..] {
                if *seq >= want + u64::from(count) {
                    break;
                }
                server.send_to(bytes, from)?;
                served += 1;
            }
        }
        if now >= report {
            println!(
                "t={:>3}s sent {packets} packets ({} messages), lost {lost}, served {served} \
                 again",
                began.elapsed().as_secs(),
                next - 1
            );
            report += Duration::from_secs(1);
        }
        if due > Instant::now() + Duration::from_micros(50) {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
    socket.send_to(&PacketBuilder::end_of_session(SESSION, next), exchange.to)?;
    println!(
        "done: {packets} packets, {} messages, {lost} lost, {served} served again; end of \
         session sent",
        next - 1
    );
    Ok(())
}
