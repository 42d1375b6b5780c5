//! The network feed as a user runs it: `redline run` with
//! `feed.source = "itch"` receiving ITCH 5.0 over MoldUDP64 on loopback
//! from a test exchange, trading on the books it builds, and reporting a
//! sequence gap, its filling by a re-request server, and a damaged packet
//! through /health, /health/ready, /metrics and its log.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redline_engine::feed::itch::{self, Message, Side};
use redline_engine::feed::moldudp64::{self, PacketBuilder};
use support::{
    assert_promtool_passes, check_config as check, event, json, redline, sample, write_config,
    Engine,
};

const SESSION: &[u8; 10] = b"REDLINE001";
const AAPL: u16 = 1;
const MSFT: u16 = 2;

/// The feed's table and two equities, without the default's futures
/// (whose ticks ITCH cannot carry).
fn itch_config(retransmit: &str) -> String {
    format!(
        "[feed]\nsource = \"itch\"\n\
         [feed.itch]\nlisten = \"127.0.0.1:0\"\nretransmit = \"{retransmit}\"\n\
         retransmit_timeout_ms = 100\nrefresh_ms = 100\n\
         [[instruments]]\nsymbol = \"AAPL\"\ntick_size = \"0.01\"\nlot_size = \"1\"\n\
         multiplier = \"1\"\nreference_price = \"230.00\"\n\
         [[instruments]]\nsymbol = \"MSFT\"\ntick_size = \"0.01\"\nlot_size = \"1\"\n\
         multiplier = \"1\"\nreference_price = \"420.00\"\n"
    )
}

/// The test's exchange: sends the session's packets to the engine and
/// keeps each, by its first message, for the re-request server.
struct Exchange {
    socket: UdpSocket,
    engine: SocketAddr,
    next: u64,
    sent: Vec<(u64, Vec<u8>)>,
}

impl Exchange {
    fn to(engine: SocketAddr) -> Exchange {
        Exchange {
            socket: UdpSocket::bind("127.0.0.1:0").unwrap(),
            engine,
            next: 1,
            sent: Vec::new(),
        }
    }

    /// The next packet, of `messages`, kept; sent unless `lost`.
    fn packet(&mut self, messages: &[Message], lost: bool) {
        let packet = itch::packet(SESSION, self.next, messages);
        if !lost {
            self.socket.send_to(&packet, self.engine).unwrap();
        }
        self.sent.push((self.next, packet));
        self.next += messages.len() as u64;
    }

    fn send(&mut self, messages: &[Message]) {
        self.packet(messages, false);
    }

    fn heartbeat(&self) {
        let beat = PacketBuilder::heartbeat(SESSION, self.next);
        self.socket.send_to(&beat, self.engine).unwrap();
    }

    /// The kept packets that hold messages `from .. from + count`.
    fn kept(&self, from: u64, count: u64) -> Vec<Vec<u8>> {
        let mut starts = self.sent.iter().map(|(seq, _)| *seq).skip(1);
        self.sent
            .iter()
            .filter(|(seq, _)| {
                let end = starts.next().unwrap_or(u64::MAX);
                end > from && *seq < from + count
            })
            .map(|(_, packet)| packet.clone())
            .collect()
    }
}

fn add(locate: u16, reference: u64, side: Side, shares: u32, price: u32) -> Message {
    let symbol = if locate == AAPL { "AAPL" } else { "MSFT" };
    Message::Add {
        locate,
        reference,
        side,
        shares,
        stock: itch::stock(symbol).unwrap(),
        price,
    }
}

/// Heartbeats every 20 ms from another thread while `work` runs, as an
/// exchange sends them, so that quiet books stay fresh.
fn with_heartbeats<T>(exchange: &Arc<Mutex<Exchange>>, work: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let beats = {
        let (exchange, stop) = (Arc::clone(exchange), Arc::clone(&stop));
        std::thread::spawn(move || {
            // Relaxed: the flag carries no data.
            while !stop.load(Ordering::Relaxed) {
                exchange.lock().unwrap().heartbeat();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = work();
    stop.store(true, Ordering::Relaxed);
    beats.join().unwrap();
    out
}

/// Polls `path` until it answers `status`, up to 10 s; returns the body.
fn until_status(engine: &Engine, path: &str, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (got, body) = engine.get(path);
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: {got} {body}, not {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn feed_component(engine: &Engine) -> serde_json::Value {
    json(&engine.get("/health").1)["components"]["feed"].clone()
}

#[test]
fn an_itch_feed_builds_books_that_trade_and_fills_a_gap_from_the_re_request_server() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let retransmit = server.local_addr().unwrap().to_string();
    let mut engine = Engine::start(&itch_config(&retransmit), &[]);
    let addr: SocketAddr = event(&engine.out, "feed: receiving")
        .get("addr")
        .parse()
        .unwrap();
    assert!(
        feed_component(&engine)["message"]
            .as_str()
            .unwrap()
            .starts_with("ITCH: no packet yet"),
        "{}",
        engine.get("/health").1
    );
    let exchange = Arc::new(Mutex::new(Exchange::to(addr)));

    // The day opens: a book for each stock, then the touch moves up and
    // down a cent at a time.
    exchange.lock().unwrap().send(&[
        Message::SystemEvent { event: b'O' },
        Message::StockDirectory {
            locate: AAPL,
            stock: itch::stock("AAPL").unwrap(),
        },
        add(AAPL, 1, Side::Buy, 500, 2_299_900),
        add(AAPL, 2, Side::Sell, 400, 2_300_100),
        add(MSFT, 3, Side::Buy, 300, 4_199_800),
        add(MSFT, 4, Side::Sell, 300, 4_200_200),
    ]);
    let mut reference = 4;
    let mut step = |exchange: &mut Exchange, i: u32| {
        let (bid, ask) = (reference - 1, reference);
        reference += 2;
        let up = 100 * (i % 3);
        exchange.send(&[
            Message::Replace {
                locate: AAPL,
                original: if i == 0 { 1 } else { bid },
                reference: reference - 1,
                shares: 500,
                price: 2_299_900 + up,
            },
            Message::Replace {
                locate: AAPL,
                original: if i == 0 { 2 } else { ask },
                reference,
                shares: 400,
                price: 2_300_100 + up,
            },
        ]);
    };
    with_heartbeats(&exchange, || {
        for i in 0..50 {
            step(&mut exchange.lock().unwrap(), i);
            std::thread::sleep(Duration::from_millis(10));
        }
        until_status(&engine, "/health/ready", 200);
        // Read while the heartbeats keep the quiet books fresh.
        let feed = feed_component(&engine);
        assert_eq!(feed["status"], "healthy", "{feed}");
        assert!(
            feed["message"]
                .as_str()
                .unwrap()
                .starts_with("ITCH session REDLINE001 in sequence"),
            "{feed}"
        );
    });
    let metrics = engine.get("/metrics").1;
    assert_promtool_passes(&metrics);
    assert!(sample(&metrics, "redline_feed_packets_total") >= 51.0);
    assert!(sample(&metrics, "redline_feed_messages_total") >= 106.0);
    assert!(
        sample(&metrics, "redline_quotes_total") >= 30.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "redline_orders_sent_total{kind=\"new\"}") > 0.0,
        "the market maker quotes the books: {metrics}"
    );
    assert_eq!(
        sample(&metrics, "redline_feed_state{state=\"in_sequence\"}"),
        1.0
    );
    assert_eq!(sample(&metrics, "redline_feed_book_orders"), 4.0);
    assert_eq!(sample(&metrics, "redline_feed_messages_behind"), 0.0);

    // A packet is lost, and the next one shows the gap.
    {
        let mut exchange = exchange.lock().unwrap();
        exchange.packet(&[add(MSFT, 1000, Side::Buy, 100, 4_199_900)], true);
        exchange.send(&[add(MSFT, 1001, Side::Sell, 100, 4_200_100)]);
    }
    engine.wait_for("feed: sequence gap; no quotes until it is filled");
    let gap = event(
        &engine.out,
        "feed: sequence gap; no quotes until it is filled",
    );
    assert_eq!(gap.num("missing"), 2.0, "{}", engine.out);
    assert!(gap.get("asking").contains(&retransmit));
    let body = until_status(&engine, "/health/ready", 503);
    assert!(body.contains("a sequence gap of 2 messages"), "{body}");
    let feed = feed_component(&engine);
    assert_eq!(feed["status"], "degraded", "{feed}");
    assert!(
        feed["message"]
            .as_str()
            .unwrap()
            .contains(&format!("asking the re-request server at {retransmit}")),
        "{feed}"
    );
    let metrics = engine.get("/metrics").1;
    assert_eq!(
        sample(&metrics, "redline_feed_state{state=\"recovering\"}"),
        1.0
    );
    assert_eq!(sample(&metrics, "redline_feed_messages_behind"), 2.0);
    assert_eq!(sample(&metrics, "redline_feed_gaps_total"), 1.0);

    // The re-request server is asked for the lost packet only: the one
    // past it is held, and applied after it.
    let mut ask = [0; 64];
    let (n, from) = server.recv_from(&mut ask).unwrap();
    let (session, first, count) = moldudp64::read_request(&ask[..n]).unwrap();
    assert_eq!(&session, SESSION);
    assert_eq!(count, 1);
    for packet in exchange.lock().unwrap().kept(first, count.into()) {
        server.send_to(&packet, from).unwrap();
    }
    engine.wait_for("feed: gap filled; quoting again");
    let filled = event(&engine.out, "feed: gap filled; quoting again");
    assert_eq!(filled.num("held_packets"), 1.0, "{}", engine.out);
    with_heartbeats(&exchange, || until_status(&engine, "/health/ready", 200));
    let metrics = engine.get("/metrics").1;
    assert_eq!(sample(&metrics, "redline_feed_gaps_filled_total"), 1.0);
    assert_eq!(sample(&metrics, "redline_feed_held_packets_total"), 1.0);
    assert_eq!(
        sample(
            &metrics,
            "redline_feed_dropped_packets_total{reason=\"ahead\"}"
        ),
        0.0
    );
    assert!(sample(&metrics, "redline_feed_retransmit_requests_total") >= 1.0);
    assert_eq!(sample(&metrics, "redline_feed_book_orders"), 6.0);

    // A damaged datagram is refused and counted as malformed input.
    exchange
        .lock()
        .unwrap()
        .socket
        .send_to(b"not a MoldUDP64 packet", addr)
        .unwrap();
    engine.wait_for("feed: input dropped or doubted");
    let doubted = event(&engine.out, "feed: input dropped or doubted");
    assert_eq!(doubted.num("malformed"), 1.0, "{}", engine.out);
    let metrics = engine.get("/metrics").1;
    assert_eq!(
        sample(&metrics, "redline_malformed_inputs_total{source=\"feed\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "redline_feed_dropped_packets_total{reason=\"malformed\"}"
        ),
        1.0
    );
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn without_a_re_request_server_a_late_start_stays_unhealthy_and_not_ready() {
    let mut engine = Engine::start(&itch_config(""), &[]);
    let addr: SocketAddr = event(&engine.out, "feed: receiving")
        .get("addr")
        .parse()
        .unwrap();
    let mut exchange = Exchange::to(addr);
    exchange.next = 500;
    exchange.send(&[add(AAPL, 1, Side::Buy, 100, 2_299_900)]);
    engine.wait_for("feed: sequence gap; no quotes until it is filled");
    let gap = event(
        &engine.out,
        "feed: sequence gap; no quotes until it is filled",
    );
    assert_eq!(gap.num("missing"), 500.0);
    assert!(gap.get("asking").contains("feed.itch.retransmit is empty"));
    let body = until_status(&engine, "/health", 503);
    assert!(body.contains("no re-request server"), "{body}");
    let body = until_status(&engine, "/health/ready", 503);
    assert!(body.contains("nothing fills"), "{body}");
    assert_eq!(
        sample(&engine.get("/metrics").1, "redline_quotes_total"),
        0.0
    );
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn check_config_names_what_the_itch_feed_cannot_take() {
    // The default's instruments, one of which ITCH cannot price.
    let out = check(
        "[feed]\nsource = \"itch\"\n\
         [feed.itch]\nlisten = \"127.0.0.1:0\"\ngroup = \"10.1.1.1\"\nrefresh_ms = 1000\n\
         retransmit = \"somewhere\"\nmax_levels = 0\n\
         [clock]\nsource = \"simulated\"\n[topology]\nmode = \"fused\"\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for key in [
        "feed.itch.group",
        "feed.itch.retransmit",
        "feed.itch.max_levels",
        "feed.itch.refresh_ms",
        "instruments[4].tick_size",
        "clock.source",
    ] {
        assert!(stderr.contains(key), "{key} in:\n{stderr}");
    }
    assert!(stderr.contains("0.015625 is not a whole multiple of ITCH's 0.0001"));

    // An ITCH day's replay needs the same of the instruments.
    let out = check(
        "[feed]\nsource = \"replay\"\n[feed.replay]\npath = \"day.itch\"\nformat = \"itch\"\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("instruments[4].tick_size")
            && stderr.contains("which feed.replay.format = \"itch\" needs"),
        "{stderr}"
    );
}

#[test]
fn a_listen_address_in_use_fails_the_start_naming_the_key() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let text = itch_config("").replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{}\"", taken.local_addr().unwrap()),
    );
    let file = write_config(&text);
    let out = redline()
        .arg("run")
        .arg("--config")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("feed.itch: cannot receive on"), "{stderr}");
}

#[test]
fn a_receive_buffer_the_kernel_caps_is_warned_about() {
    let text = itch_config("").replacen(
        "refresh_ms = 100\n",
        "refresh_ms = 100\nreceive_buffer_bytes = 1073741824\n",
        1,
    );
    let mut engine = Engine::start(&text, &[]);
    let receiving = event(&engine.out, "feed: receiving");
    assert_eq!(receiving.get("level"), "warn", "{}", engine.out);
    assert!(receiving.get("warning").contains("net.core.rmem_max"));
    let granted = receiving.num("receive_buffer_bytes");
    assert!(granted > 0.0 && granted < 1073741824.0, "{granted}");
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn the_pipeline_runs_the_network_feed_on_its_own_stage() {
    let text = itch_config("")
        + "[topology]\nmode = \"pipeline\"\n\
           [stages.feed]\nidle = \"backoff\"\n[stages.decide]\nidle = \"backoff\"\n\
           [stages.gateway]\nidle = \"backoff\"\n";
    let mut engine = Engine::start(&text, &[]);
    let addr: SocketAddr = event(&engine.out, "feed: receiving")
        .get("addr")
        .parse()
        .unwrap();
    let mut exchange = Exchange::to(addr);
    exchange.send(&[
        add(AAPL, 1, Side::Buy, 500, 2_290_000),
        add(AAPL, 2, Side::Sell, 400, 2_310_000),
    ]);
    // Twenty new best bids, a tick apart: each a quote.
    for i in 1..=20u32 {
        exchange.send(&[add(
            AAPL,
            2 + u64::from(i),
            Side::Buy,
            10,
            2_290_000 + 100 * i,
        )]);
        std::thread::sleep(Duration::from_millis(10));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let (quotes, orders) = loop {
        let metrics = engine.get("/metrics").1;
        let quotes = sample(&metrics, "redline_quotes_total");
        if quotes >= 21.0 || Instant::now() > deadline {
            let orders = sample(&metrics, r#"redline_orders_sent_total{kind="new"}"#);
            break (quotes, orders);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        quotes, 21.0,
        "the first two-sided top and each new best bid"
    );
    assert!(orders > 0.0, "the market maker traded the feed's quotes");
    assert!(engine.out.contains("topology=pipeline"), "{}", engine.out);
    assert!(engine.stop(), "{}", engine.out);
}

/// A seeded ITCH day of `messages` over AAPL and MSFT in NASDAQ's file
/// form, from 09:30, one message every `step_ns`.
fn itch_day(messages: usize, step_ns: u64) -> tempfile::NamedTempFile {
    use redline_engine::domain::{InstrumentSpec, Instruments};
    let spec = |symbol: &str| InstrumentSpec {
        symbol: symbol.into(),
        tick_size: "0.01".parse().unwrap(),
        lot_size: "1".parse().unwrap(),
        multiplier: "1".parse().unwrap(),
        reference_price: "230.00".parse().unwrap(),
    };
    let instruments = Instruments::new(&[spec("AAPL"), spec("MSFT")]).unwrap();
    let mut flow = redline_engine::feed::ItchFlow::new(5, &instruments, 2_000);
    let mut day = Vec::new();
    let mut stamp = 34_200_000_000_000u64;
    let mut write = |message: &Message, stamp: u64| {
        let mut bytes = Vec::new();
        message.encode(&mut bytes);
        bytes[5..11].copy_from_slice(&stamp.to_be_bytes()[2..]);
        day.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        day.extend_from_slice(&bytes);
    };
    for message in flow.preamble() {
        write(&message, stamp);
    }
    for _ in 0..messages {
        stamp += step_ns;
        write(&flow.next_message(), stamp);
    }
    let file = tempfile::Builder::new().suffix(".itch").tempfile().unwrap();
    std::fs::write(file.path(), day).unwrap();
    file
}

fn itch_replay_config(file: &std::path::Path) -> support::TestConfig {
    write_config(&format!(
        "[clock]\nsource = \"simulated\"\n\
         [feed]\nsource = \"replay\"\n\
         [feed.replay]\npath = \"{}\"\nformat = \"itch\"\npace = \"recorded\"\n\
         [[instruments]]\nsymbol = \"AAPL\"\ntick_size = \"0.01\"\nlot_size = \"1\"\n\
         multiplier = \"1\"\nreference_price = \"230.00\"\n\
         [[instruments]]\nsymbol = \"MSFT\"\ntick_size = \"0.01\"\nlot_size = \"1\"\n\
         multiplier = \"1\"\nreference_price = \"230.00\"\n",
        file.display()
    ))
}

#[test]
fn an_itch_day_replays_in_simulated_time_with_the_same_decisions_every_time() {
    // 50,000 messages over 10 recorded seconds.
    let day = itch_day(50_000, 200_000);
    let started = Instant::now();
    let first = support::run_to_end(&itch_replay_config(day.path()));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "simulated time does not wait for the recorded 10 s"
    );
    let source = event(&first, "starting").get("feed").to_owned();
    let quotes: f64 = source
        .strip_prefix("replay of ")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{source}"));
    assert!(quotes > 5_000.0, "the books' top changes: {source}");
    let summary = event(&first, "stopped cleanly");
    assert_eq!(summary.num("quotes"), quotes, "{first}");
    assert_ne!(summary.num("fills"), 0.0, "{first}");
    // A fresh journal, or the second run would go on from the first's.
    let second = support::run_to_end(&itch_replay_config(day.path()));
    let digest = |out: &str| event(out, "stopped cleanly").get("digest").to_owned();
    assert_eq!(digest(&first), digest(&second));
}

#[test]
fn a_damaged_itch_day_stops_the_start_naming_the_message_and_byte() {
    let day = itch_day(100, 1_000);
    let mut bytes = std::fs::read(day.path()).unwrap();
    // The fourth message (after S and two R) gets an unknown type.
    let mut at = 0;
    for _ in 0..3 {
        at += 2 + usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
    }
    bytes[at + 2] = b'Z';
    std::fs::write(day.path(), &bytes).unwrap();
    let out = support::run_command(&itch_replay_config(day.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(":4: at byte {at}: unknown message type 0x5a")),
        "{stderr}"
    );
    assert!(stderr.contains("feed.replay.path"), "{stderr}");
}
