//! The `fix` scenario: what the FIX gateway costs an order, beside its
//! limits, in one run.
//!
//! - Encoding a NewOrderSingle with the session's header: redline's
//!   writer and codec; the same message built with `core::fmt` (`write!`
//!   into a reused buffer, the way a hand-rolled encoder usually is); and
//!   the limit, a copy of the finished bytes.
//! - Sending one: the gateway's submit and flush to the stand-in venue on
//!   loopback; and the limit, one `write` of the same bytes on a plain TCP
//!   connection to a thread that reads and drops them. Both with and
//!   without the session file the binary keeps.
//! - Taking the report of each: the poll that reads, parses and hands it
//!   on, with and without the session file (which records each report).
//!
//! Each sample is one order, timed with the engine's clock; the stand-in
//! answers between samples, untimed.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hdrhistogram::Histogram;
use redline_engine::clock;
use redline_engine::domain::{
    ClientOrderId, InstrumentId, InstrumentSpec, Instruments, Intent, NewOrder, Price, Qty, Side,
    TimeInForce,
};
use redline_engine::venue::fix::{
    civil_from_days, msg_type, FixConfig, FixVenue, Message, Now, OnResend, OrderCodec, Session,
    SessionConfig, SessionFile, StandInVenue, Wire,
};
use redline_engine::venue::SimVenueConfig;

use crate::report::{print_latency_table, Row};

/// The scenario's knobs.
pub struct FixBench {
    /// Orders each row times.
    pub orders: usize,
}

/// A wire that takes everything and keeps nothing.
struct Sink(u64);

impl Wire for Sink {
    fn room(&self) -> usize {
        usize::MAX
    }
    fn put(&mut self, message: &[u8]) {
        self.0 = self.0.wrapping_add(black_box(message.len()) as u64);
    }
}

/// Collects what a session writes.
#[derive(Default)]
struct Collect(Vec<Vec<u8>>);

impl Wire for Collect {
    fn room(&self) -> usize {
        usize::MAX
    }
    fn put(&mut self, message: &[u8]) {
        self.0.push(message.to_vec());
    }
}

fn instruments() -> Instruments {
    Instruments::new(&[InstrumentSpec {
        symbol: "ESZ6".into(),
        tick_size: "0.25".parse().expect("a decimal"),
        lot_size: "1".parse().expect("a decimal"),
        multiplier: "50".parse().expect("a decimal"),
        reference_price: "6000".parse().expect("a decimal"),
    }])
    .expect("one instrument")
}

fn order(id: u64) -> NewOrder {
    NewOrder {
        id: ClientOrderId(id),
        instrument: InstrumentId(0),
        side: Side::Buy,
        // Well below the stand-in's market: an IOC there is cancelled.
        price: Price(23_900 + (id % 50) as i64),
        qty: Qty(1 + (id % 9) as i64),
        tif: TimeInForce::Ioc,
    }
}

fn now() -> Now {
    let unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Now {
        mono_ns: clock::ticks_to_ns(clock::ticks()),
        unix_ns,
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("bounds")
}

/// A session logged on with a stand-in acceptor in memory.
fn logged_on() -> Session {
    let ours = SessionConfig {
        sender_comp_id: "REDLINE".into(),
        target_comp_id: "VENUE".into(),
        heartbeat_s: 30,
        answer_timeout_ms: 5_000,
        credentials: None,
    };
    let theirs = SessionConfig {
        sender_comp_id: "VENUE".into(),
        target_comp_id: "REDLINE".into(),
        ..ours.clone()
    };
    let (mut redline, mut venue) = (Session::new(&ours), Session::new(&theirs));
    let (mut to_venue, mut to_redline) = (Collect::default(), Collect::default());
    venue.accept(now());
    redline.logon(now(), true, &mut to_venue);
    let logon = Message::parse(&to_venue.0[0]).expect("a logon");
    venue.on_message(&logon, now(), &mut to_redline);
    let answer = Message::parse(&to_redline.0[0]).expect("its answer");
    redline.on_message(&answer, now(), &mut to_venue);
    redline
}

/// The same NewOrderSingle as the codec writes, built with `write!`.
fn fmt_order(out: &mut String, body: &mut String, seq: u64, now: Now, order: &NewOrder) {
    let secs = now.unix_ns / 1_000_000_000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let day = secs % 86_400;
    let millis = now.unix_ns / 1_000_000 % 1_000;
    let stamp = |s: &mut String| {
        let _ = write!(
            s,
            "{y:04}{m:02}{d:02}-{:02}:{:02}:{:02}.{millis:03}",
            day / 3600,
            day / 60 % 60,
            day % 60
        );
    };
    body.clear();
    let _ = write!(body, "35=D\x0149=REDLINE\x0156=VENUE\x0134={seq}\x0152=");
    stamp(body);
    let price = order.price.0 * 25;
    let _ = write!(body, "\x0111={}\x0155=ESZ6\x0154=1\x0160=", order.id.0);
    stamp(body);
    let _ = write!(
        body,
        "\x0138={}\x0140=2\x0144={}.{:02}\x0159=3\x01",
        order.qty.0,
        price / 100,
        price % 100
    );
    out.clear();
    let _ = write!(out, "8=FIX.4.4\x019={}\x01{body}", body.len());
    let sum = out.bytes().fold(0u8, |s, b| s.wrapping_add(b));
    let _ = write!(out, "10={sum:03}\x01");
}

/// Runs it.
pub fn run(bench: &FixBench) -> anyhow::Result<()> {
    let instruments = instruments();
    let codec = OrderCodec::new(&instruments).map_err(anyhow::Error::msg)?;
    let n = bench.orders;

    // Encoding.
    let mut session = logged_on();
    let mut sink = Sink(0);
    let mut ours = histogram();
    for i in 0..n as u64 {
        let order = order(i + 1);
        let at = now();
        let start = clock::ticks();
        let sent = session.send(
            msg_type::NEW_ORDER_SINGLE,
            OnResend::GapFill,
            at,
            &mut sink,
            |w| {
                codec.new_order(&order, at.unix_ns, w);
            },
        );
        let took = clock::ticks() - start;
        sent.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        ours.record(took.max(1))?;
    }
    let (mut out, mut body) = (String::with_capacity(512), String::with_capacity(512));
    let mut formatted = histogram();
    for i in 0..n as u64 {
        let order = order(i + 1);
        let at = now();
        let start = clock::ticks();
        fmt_order(&mut out, &mut body, i + 2, at, &order);
        black_box(out.as_bytes());
        formatted.record((clock::ticks() - start).max(1))?;
    }
    // The limit: the finished bytes (header and all) copied.
    let mut finished = Collect::default();
    let at = now();
    session
        .send(
            msg_type::NEW_ORDER_SINGLE,
            OnResend::GapFill,
            at,
            &mut finished,
            |w| {
                codec.new_order(&order(1), at.unix_ns, w);
            },
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let message = finished.0.pop().context("one message")?;
    let mut copy = vec![0u8; message.len()];
    let mut copied = histogram();
    for _ in 0..n {
        let start = clock::ticks();
        copy.copy_from_slice(black_box(&message));
        black_box(&copy);
        copied.record((clock::ticks() - start).max(1))?;
    }
    let limit = Row::from_ticks("limit: copy the finished bytes", &copied);
    print_latency_table(
        &format!(
            "encode a NewOrderSingle with its header ({} bytes), ns",
            message.len()
        ),
        &[
            Row::from_ticks("redline: session + codec", &ours),
            Row::from_ticks("core::fmt: write! into a buffer", &formatted),
            limit.clone(),
        ],
        Some(&limit),
    );

    // Sending: without the session file, and with it, as the binary runs.
    let bare = time_sends(&instruments, n, None)?;
    let numbers = tempfile::tempdir()?;
    let file = SessionFile::open(&numbers.path().join("fix.session"), 0, 1 << 17)?;
    let kept = time_sends(&instruments, n, Some(file))?;
    let waited = bare.waited;
    // The limit: the same bytes, one write each, to a thread that drops them.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    // It reads as the stand-in does: without blocking, napping when idle,
    // so that a write never has to wake it.
    let drain = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the bench connects");
        stream.set_nonblocking(true).expect("a socket");
        let mut buf = [0u8; 1 << 16];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_micros(200));
                }
                Err(_) => break,
            }
        }
    });
    let mut stream = TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    let mut raw = histogram();
    // Between sends, as long as the gateway waited for its answers on
    // average, spinning as it does.
    let pause = clock::ns_to_ticks(waited / n as u64);
    for _ in 0..n {
        let start = clock::ticks();
        stream.write_all(&message)?;
        let end = clock::ticks();
        raw.record((end - start).max(1))?;
        while clock::ticks() - end < pause {
            std::hint::spin_loop();
        }
    }
    drop(stream);
    let _ = drain.join();
    let limit = Row::from_ticks("limit: write(2) of the same bytes", &raw);
    print_latency_table(
        "send a NewOrderSingle over loopback TCP, ns",
        &[
            Row::from_ticks("redline: FixVenue submit + flush", &bare.sent),
            Row::from_ticks("redline: the same, session file kept", &kept.sent),
            limit.clone(),
        ],
        Some(&limit),
    );
    let without = Row::from_ticks("redline: FixVenue poll", &bare.taken);
    print_latency_table(
        "take an ExecutionReport: the poll that reads, parses and hands it on, ns",
        &[
            without.clone(),
            Row::from_ticks(
                "redline: the same, session file kept (the report recorded)",
                &kept.taken,
            ),
        ],
        Some(&without),
    );
    Ok(())
}

/// What [`time_sends`] measured.
struct Sends {
    /// Each order's submit and flush.
    sent: Histogram<u64>,
    /// Each poll that took an order's report (its read, parse and hand-on).
    taken: Histogram<u64>,
    /// How long it waited for the answers in all, in ns.
    waited: u64,
}

/// Times `n` orders through a gateway's submit and flush to a stand-in
/// venue of its own, and the polls that take their reports, keeping
/// `file` as its session file when given.
fn time_sends(
    instruments: &Instruments,
    n: usize,
    file: Option<SessionFile>,
) -> anyhow::Result<Sends> {
    let venue = StandInVenue::start(
        "127.0.0.1:0".parse()?,
        SessionConfig {
            sender_comp_id: "VENUE".into(),
            target_comp_id: "REDLINE".into(),
            heartbeat_s: 30,
            answer_timeout_ms: 5_000,
            credentials: None,
        },
        &SimVenueConfig {
            seed: 1,
            fill_probability: 0.0,
            latency_us: 0,
            max_orders: 1 << 16,
            touch_fill_probability: 0.0,
        },
        instruments,
        &StandInVenue::market_at_references(instruments, 10),
    )?;
    let mut gateway = FixVenue::new(
        &FixConfig {
            connect: venue.address().to_string(),
            sender_comp_id: "REDLINE".into(),
            target_comp_id: "VENUE".into(),
            heartbeat_s: 30,
            answer_timeout_ms: 5_000,
            reconnect_min_ms: 100,
            reconnect_max_ms: 1_000,
            max_orders: 64,
            buffer_bytes: 1 << 16,
            username: String::new(),
            password_file: Default::default(),
            password_env: String::new(),
            sequence_numbers: redline_engine::venue::fix::SequenceNumbers::Reset,
            check_orders: false,
        },
        None,
        instruments,
    )
    .map_err(anyhow::Error::msg)?;
    if let Some(file) = file {
        gateway.keep_session(file, false);
    }
    let mut taken = histogram();
    let mut answered = |gateway: &mut FixVenue, want: usize| -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = 0;
        while got < want {
            anyhow::ensure!(Instant::now() < deadline, "the stand-in did not answer");
            let before = got;
            let start = clock::ticks();
            gateway.poll(start, 64, |_| got += 1);
            if got > before {
                taken.record((clock::ticks() - start).max(1))?;
            }
        }
        Ok(())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gateway.is_active() {
        anyhow::ensure!(Instant::now() < deadline, "no logon with the stand-in");
        gateway.poll(clock::ticks(), 64, |_| {});
        thread::sleep(Duration::from_micros(100));
    }
    let mut sent = histogram();
    let mut waited = 0;
    for i in 0..n as u64 {
        let start = clock::ticks();
        gateway.submit(Intent::New(order(i + 1)), start, |_| {});
        gateway.flush_now();
        let end = clock::ticks();
        sent.record((end - start).max(1))?;
        answered(&mut gateway, 1)?;
        waited += clock::ticks_to_ns(clock::ticks() - end);
    }
    gateway.close(Duration::from_secs(1));
    Ok(Sends {
        sent,
        taken,
        waited,
    })
}
