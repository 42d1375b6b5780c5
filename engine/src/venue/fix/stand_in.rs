//! A stand-in FIX venue: an acceptor on a loopback port that matches
//! orders with the [`SimVenue`] against a market it is told, for the
//! gateway's tests, the binary's, and `redline-bench fix-venue` (to run
//! an engine against something when no real venue is at hand).
//!
//! One connection at a time, on a thread of its own; its session keeps
//! its numbers across connections, as a venue's does within a day, and
//! sends its reports again when asked; the reports that come due while
//! no session is logged on wait and go out after the next logon, so none
//! is lost. It answers an OrderMassStatusRequest with the orders resting
//! at it. It can be told
//! to drop the connection, to stop answering, to forget what it sent, or
//! to lose the reports it makes (as a venue's store that lost them), to
//! show what the gateway does then. Not for the hot path: it allocates and sleeps.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::frame::{scan, Message};
use super::order_status::StatusOf;
use super::orders::OrderCodec;
use super::session::{End, Now, OnResend, Session, SessionConfig, State, Verdict, Wire};
use super::{msg_type, tag, MessageWriter};
use crate::domain::{ExecReport, Instruments, Intent, Price, Qty, Quote};
use crate::venue::{SimVenue, SimVenueConfig};

/// What the stand-in has seen, for tests.
#[derive(Debug, Default)]
pub struct StandInCounts {
    /// Connections taken.
    pub connections: AtomicU64,
    /// Sessions logged on.
    pub logons: AtomicU64,
    /// Of them, Logons that reset the sequence numbers (ResetSeqNumFlag=Y).
    pub resets: AtomicU64,
    /// NewOrderSingles taken.
    pub orders: AtomicU64,
    /// OrderCancelRequests taken.
    pub cancels: AtomicU64,
    /// Reports sent.
    pub reports: AtomicU64,
    /// Logouts of the other side.
    pub logouts: AtomicU64,
    /// MsgSeqNum of the next message it sends: a gateway expecting it has
    /// read all it sent.
    pub next_out: AtomicU64,
    /// OrderMassStatusRequests answered.
    pub status_requests: AtomicU64,
    /// Orders resting at it, as of its last turn.
    pub resting: AtomicU64,
}

#[derive(Debug, Default)]
struct Controls {
    stop: AtomicBool,
    drop_connection: AtomicBool,
    silent: AtomicBool,
    forget: AtomicBool,
    lose_reports: AtomicBool,
    refuse_status: AtomicBool,
    quotes: Mutex<Vec<Quote>>,
    taken: Mutex<Vec<Intent>>,
    sent: Mutex<Vec<ExecReport>>,
}

/// The running stand-in; stops when dropped.
#[derive(Debug)]
pub struct StandInVenue {
    address: SocketAddr,
    controls: Arc<Controls>,
    counts: Arc<StandInCounts>,
    thread: Option<JoinHandle<()>>,
}

/// Bytes written out and not yet taken by the socket.
#[derive(Default)]
struct Pending(Vec<u8>);

impl Wire for Pending {
    fn room(&self) -> usize {
        usize::MAX
    }
    fn put(&mut self, message: &[u8]) {
        self.0.extend_from_slice(message);
    }
}

impl StandInVenue {
    /// A market a tick either side of each instrument's reference price,
    /// `qty` lots at each: what the stand-in is usually started against.
    pub fn market_at_references(instruments: &Instruments, qty: i64) -> Vec<Quote> {
        instruments
            .iter()
            .map(|i| Quote {
                instrument: i.id,
                bid: Price(i.reference.0 - 1),
                bid_qty: Qty(qty),
                ask: Price(i.reference.0 + 1),
                ask_qty: Qty(qty),
                seq: 0,
                received: 0,
            })
            .collect()
    }

    /// Listens on `listen` (port 0 takes a free one) as `session` names
    /// it (its SenderCompID is the venue's), matching with `venue` for
    /// `instruments`, against `market` until told another.
    ///
    /// # Errors
    ///
    /// When the port cannot be bound or an instrument cannot be written.
    pub fn start(
        listen: SocketAddr,
        session: SessionConfig,
        venue: &SimVenueConfig,
        instruments: &Instruments,
        market: &[Quote],
    ) -> io::Result<StandInVenue> {
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let codec = OrderCodec::new(instruments).map_err(io::Error::other)?;
        let controls = Arc::new(Controls {
            quotes: Mutex::new(market.to_vec()),
            ..Controls::default()
        });
        let counts = Arc::new(StandInCounts::default());
        let mut run = Run {
            listener,
            session: Session::new(&session),
            codec,
            venue: SimVenue::new(venue, instruments, 1e9),
            controls: Arc::clone(&controls),
            counts: Arc::clone(&counts),
            epoch: Instant::now(),
            exec_ids: 0,
            backlog: Vec::new(),
        };
        let thread = thread::Builder::new()
            .name("fix-stand-in".into())
            .spawn(move || run.serve())?;
        Ok(StandInVenue {
            address,
            controls,
            counts,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What it has seen.
    pub fn counts(&self) -> &StandInCounts {
        &self.counts
    }

    /// Every order and cancel it has taken, in order.
    pub fn taken(&self) -> Vec<Intent> {
        self.controls.taken.lock().expect("not poisoned").clone()
    }

    /// Every report it has sent, in order (once each: what it sends
    /// again when asked is not counted again).
    pub fn reports_sent(&self) -> Vec<ExecReport> {
        self.controls.sent.lock().expect("not poisoned").clone()
    }

    /// Closes the connection it has (the next one is taken as usual).
    pub fn drop_connection(&self) {
        self.controls.drop_connection.store(true, Ordering::SeqCst);
    }

    /// While `true`, reads nothing and sends nothing (a venue hung).
    pub fn set_silent(&self, silent: bool) {
        self.controls.silent.store(silent, Ordering::SeqCst);
    }

    /// Forgets what it has sent: asked for it again, it sends gap fills
    /// (a venue whose message store lost it).
    pub fn forget_what_it_sent(&self) {
        self.controls.forget.store(true, Ordering::SeqCst);
    }

    /// While `true`, the reports it makes are never sent (nor listed in
    /// [`StandInVenue::reports_sent`]): what it does with the orders stands,
    /// and only an order status tells of it.
    pub fn lose_reports(&self, lose: bool) {
        self.controls.lose_reports.store(lose, Ordering::SeqCst);
    }

    /// While `true`, answers an OrderMassStatusRequest with a
    /// BusinessMessageReject, as a venue without it does.
    pub fn refuse_status_requests(&self, refuse: bool) {
        self.controls.refuse_status.store(refuse, Ordering::SeqCst);
    }

    /// The market it matches against from now on.
    pub fn quote(&self, quote: Quote) {
        self.controls
            .quotes
            .lock()
            .expect("not poisoned")
            .push(quote);
    }
}

impl Drop for StandInVenue {
    fn drop(&mut self) {
        self.controls.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Run {
    listener: TcpListener,
    session: Session,
    codec: OrderCodec,
    venue: SimVenue,
    controls: Arc<Controls>,
    counts: Arc<StandInCounts>,
    epoch: Instant,
    exec_ids: u64,
    /// Reports not yet sent: the session was not logged on.
    backlog: Vec<ExecReport>,
}

impl Run {
    fn now(&self) -> Now {
        Now {
            mono_ns: self.epoch.elapsed().as_nanos() as u64,
            unix_ns: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        }
    }

    fn serve(&mut self) {
        while !self.controls.stop.load(Ordering::SeqCst) {
            if self.controls.forget.swap(false, Ordering::SeqCst) {
                self.session.forget_sent();
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    self.counts.connections.fetch_add(1, Ordering::SeqCst);
                    self.connection(stream);
                    self.session.disconnected();
                }
                Err(_) => thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// Serves one connection until it ends or the stand-in is told.
    fn connection(&mut self, mut stream: TcpStream) {
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let _ = stream.set_nodelay(true);
        self.session.accept(self.now());
        self.controls.drop_connection.store(false, Ordering::SeqCst);
        let mut incoming = Vec::new();
        let mut pending = Pending::default();
        let mut chunk = [0u8; 4096];
        loop {
            if self.controls.stop.load(Ordering::SeqCst)
                || self.controls.drop_connection.swap(false, Ordering::SeqCst)
            {
                return;
            }
            if self.controls.silent.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            let mut idle = true;
            match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    incoming.extend_from_slice(&chunk[..n]);
                    idle = false;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
            let now = self.now();
            let mut reports = std::mem::take(&mut self.backlog);
            while let Ok(Some(len)) = scan(&incoming) {
                let bytes: Vec<u8> = incoming.drain(..len).collect();
                let message = Message::parse(&bytes).expect("scanned whole");
                match self.session.on_message(&message, now, &mut pending) {
                    Verdict::App if message.msg_type() == msg_type::ORDER_MASS_STATUS_REQUEST => {
                        // What came before it is done first, and told first.
                        self.venue.poll(u64::MAX, usize::MAX, |r| reports.push(r));
                        for report in reports.drain(..) {
                            if !self.send_report(&report, now, &mut pending) {
                                self.backlog.push(report);
                            }
                        }
                        self.answer_status(&message, now, &mut pending);
                    }
                    Verdict::App => self.take(&message, now, &mut reports),
                    Verdict::Ended(end) => {
                        if end == End::VenueLoggedOut {
                            self.counts.logouts.fetch_add(1, Ordering::SeqCst);
                        }
                        let _ = stream.write_all(&pending.0);
                        return;
                    }
                    _ => {}
                }
                if self.session.state() == State::Active && message.msg_type() == msg_type::LOGON {
                    self.counts.logons.fetch_add(1, Ordering::SeqCst);
                    if message.get(tag::RESET_SEQ_NUM_FLAG) == Some(b"Y") {
                        self.counts.resets.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            if scan(&incoming).is_err() {
                return;
            }
            let ticks = now.mono_ns;
            for quote in self.controls.quotes.lock().expect("not poisoned").drain(..) {
                self.venue.on_quote(&quote, usize::MAX, |r| reports.push(r));
            }
            self.venue.poll(ticks, usize::MAX, |r| reports.push(r));
            self.counts
                .resting
                .store(self.venue.resting() as u64, Ordering::SeqCst);
            for report in reports {
                if !self.send_report(&report, now, &mut pending) {
                    self.backlog.push(report);
                }
            }
            if self.session.tick(now, &mut pending).is_some() {
                let _ = stream.write_all(&pending.0);
                return;
            }
            if !pending.0.is_empty() {
                // Loopback takes it at once; a short block is fine here.
                let _ = stream.set_nonblocking(false);
                let written = stream.write_all(&pending.0);
                let _ = stream.set_nonblocking(true);
                pending.0.clear();
                if written.is_err() {
                    return;
                }
                self.counts
                    .next_out
                    .store(self.session.next_out(), Ordering::SeqCst);
                idle = false;
            }
            if idle {
                thread::sleep(Duration::from_micros(200));
            }
        }
    }

    fn take(&mut self, message: &Message, now: Now, reports: &mut Vec<ExecReport>) {
        let Ok(intent) = self.codec.intent(message) else {
            return;
        };
        let counter = match intent {
            Intent::New(_) => &self.counts.orders,
            Intent::Cancel(_) => &self.counts.cancels,
        };
        counter.fetch_add(1, Ordering::SeqCst);
        self.controls
            .taken
            .lock()
            .expect("not poisoned")
            .push(intent);
        self.venue.submit(intent, now.mono_ns, |r| reports.push(r));
    }

    /// Answers an OrderMassStatusRequest with the orders resting here.
    fn answer_status(&mut self, message: &Message, now: Now, pending: &mut Pending) {
        let Some(request) = message.uint(tag::MASS_STATUS_REQ_ID) else {
            return;
        };
        self.counts.status_requests.fetch_add(1, Ordering::SeqCst);
        if self.controls.refuse_status.load(Ordering::SeqCst) {
            let seq = message.uint(tag::MSG_SEQ_NUM).unwrap_or(0);
            let _ = self.session.send(
                msg_type::BUSINESS_MESSAGE_REJECT,
                OnResend::GapFill,
                now,
                pending,
                |w: &mut MessageWriter| {
                    w.uint(tag::REF_SEQ_NUM, seq)
                        .field(tag::REF_MSG_TYPE, msg_type::ORDER_MASS_STATUS_REQUEST)
                        // BusinessRejectReason(380) 3: unsupported message type.
                        .field(380, b"3");
                },
            );
            return;
        }
        let statuses: Vec<StatusOf> = self
            .venue
            .resting_orders()
            .map(|(order, leaves)| StatusOf {
                id: order.id,
                instrument: order.instrument,
                side: order.side,
                ord_status: if leaves == order.qty { b'0' } else { b'1' },
                leaves,
                filled: Qty(order.qty.0 - leaves.0),
            })
            .collect();
        let total = statuses.len() as u64;
        let answers: Vec<Option<&StatusOf>> = if statuses.is_empty() {
            vec![None]
        } else {
            statuses.iter().map(Some).collect()
        };
        for (nth, status) in (1..).zip(answers) {
            self.exec_ids += 1;
            let exec_id = self.exec_ids;
            let codec = &self.codec;
            let _ = self.session.send(
                msg_type::EXECUTION_REPORT,
                OnResend::GapFill,
                now,
                pending,
                |w: &mut MessageWriter| {
                    codec.status_body(request, status, (nth, total), exec_id, w)
                },
            );
        }
    }

    /// Sends `report`; `false` when the session is not logged on.
    fn send_report(&mut self, report: &ExecReport, now: Now, pending: &mut Pending) -> bool {
        if self.controls.lose_reports.load(Ordering::SeqCst) {
            return true;
        }
        self.exec_ids += 1;
        let exec_id = self.exec_ids;
        let codec = &self.codec;
        let sent = self.session.send(
            OrderCodec::report_type(report),
            OnResend::Send,
            now,
            pending,
            |w: &mut MessageWriter| codec.report_body(report, exec_id, now.unix_ns, w),
        );
        if sent.is_ok() {
            self.counts.reports.fetch_add(1, Ordering::SeqCst);
            self.controls
                .sent
                .lock()
                .expect("not poisoned")
                .push(*report);
        }
        sent.is_ok()
    }
}
