//! The FIX gateway: redline's order entry to a real venue, over one TCP
//! connection that the gateway stage (or the fused path) holds itself.
//! Intents go out as NewOrderSingle and OrderCancelRequest through the
//! [`Session`]; ExecutionReports and OrderCancelRejects come back as
//! [`ExecReport`]s.
//!
//! The link connects without blocking, logs on (resetting sequence numbers
//! at the first logon only: a run's, or with a [`SessionFile`] the
//! trading day's), and when it goes down for any reason
//! waits a backoff that doubles from `reconnect_min_ms` to
//! `reconnect_max_ms`, then connects again and logs on with its numbers
//! where they were, so that the venue resends what it sent meanwhile.
//! While no session is logged on a new order is refused at once with
//! `VENUE_DOWN`; a cancel waits, and goes out as soon as a session is
//! logged on again (the order stays open until then: only the venue can
//! say what became of it, and a late cancel is always safe). When the
//! venue asks for messages it missed, cancels are sent again and new
//! orders gap-filled (one the market has moved past must not arrive
//! late); a new order gap-filled so never reached the venue, and is
//! reported refused (`VENUE_DOWN`). With a [`SessionFile`] each order
//! is recorded there before its bytes leave, and each report as it is
//! handed on, so that a restart can take back those its journal never
//! got. Orders a
//! restart found open are taken back ([`FixVenue::reopen`]) so that their
//! cancels reach the venue. With `check_orders`, each logon asks the venue
//! for the status of every order and checks the open ones against its
//! answers (see `status_check`). A report that cannot
//! be read is counted and answered with a session Reject naming it.
//!
//! The socket calls (a non-blocking connect, one read per poll, a write
//! per order and per poll while bytes wait) are the stage's own I/O;
//! nothing else here blocks, and nothing allocates after
//! [`FixVenue::new`].

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};

use super::frame::{scan, Message};
use super::link_stats::{LinkCount, LinkEnd, LinkReport, LinkState, LinkStats};
use super::orders::OrderCodec;
use super::session::{
    Credentials, End, NotSent, Now, OnResend, Session, SessionConfig, State, Verdict, Wire,
};
use super::session_file::SessionFile;
use super::status_check::{judge, StatusCheck};
use super::{msg_type, tag, MAX_MESSAGE};
use crate::clock;
use crate::domain::{
    ClientOrderId, ExecKind, ExecReport, Instruments, Intent, NewOrder, Price, Qty, Reject,
};
use crate::trading_day;
use crate::venue::VenueStatus;

/// `[venue.fix]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixConfig {
    /// The venue's order-entry address (`10.0.0.7:9878`).
    pub connect: String,
    /// SenderCompID(49): redline's name at the venue.
    pub sender_comp_id: String,
    /// TargetCompID(56): the venue's name.
    pub target_comp_id: String,
    /// HeartBtInt(108), in seconds.
    pub heartbeat_s: u32,
    /// How long a connection, Logon or Logout may wait for its answer.
    pub answer_timeout_ms: u64,
    /// The first wait before connecting again; it doubles each time.
    pub reconnect_min_ms: u64,
    /// The longest wait before connecting again.
    pub reconnect_max_ms: u64,
    /// Orders sent and not finished at once, at most; more are refused
    /// with `VENUE_BUSY`.
    pub max_orders: usize,
    /// Bytes each way the gateway holds: what it has read and not yet
    /// taken, and what it has written and the socket has not yet taken.
    pub buffer_bytes: usize,
    /// Username(553) in the Logon, for a venue that asks for one; empty
    /// for none.
    pub username: String,
    /// A file holding the Password(554) sent with the username; empty
    /// for none.
    pub password_file: std::path::PathBuf,
    /// Else an environment variable holding it; empty for none.
    pub password_env: String,
    /// What a restart does with the sequence numbers.
    pub sequence_numbers: SequenceNumbers,
    /// Whether each logon asks the venue for the status of every order
    /// (OrderMassStatusRequest) and checks the open orders against it.
    pub check_orders: bool,
}

/// `venue.fix.sequence_numbers`: what the first Logon of a run does with
/// the session's sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SequenceNumbers {
    /// Kept across restarts within the trading day (in the
    /// [`SessionFile`] beside the journal): a restart logs on where the
    /// last run left off; the day's first Logon resets them.
    Keep,
    /// Reset (ResetSeqNumFlag=Y) at the first Logon of every run.
    Reset,
}

impl FixConfig {
    /// The venue's address (checked by [`FixConfig::problems`]).
    pub fn address(&self) -> Option<SocketAddr> {
        self.connect.parse().ok()
    }

    /// What is wrong with it, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.address().is_none() {
            problems.push((
                "connect",
                format!(
                    "{:?} is not an address and port (\"10.0.0.7:9878\")",
                    self.connect
                ),
            ));
        }
        for (key, id) in [
            ("sender_comp_id", &self.sender_comp_id),
            ("target_comp_id", &self.target_comp_id),
        ] {
            if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
                problems.push((
                    key,
                    format!("must be 1 to 64 printable ASCII characters, got {id:?}"),
                ));
            }
        }
        if self.username.len() > 64 || !self.username.bytes().all(|b| b.is_ascii_graphic()) {
            problems.push((
                "username",
                format!(
                    "must be up to 64 printable ASCII characters (empty for none), got {:?}",
                    self.username
                ),
            ));
        }
        let password = !self.password_file.as_os_str().is_empty() || !self.password_env.is_empty();
        if password && self.username.is_empty() {
            problems.push((
                "username",
                "is empty, yet a password is configured (password_file or password_env): \
                 a venue takes the two together"
                    .to_owned(),
            ));
        }
        let mut range = |key, value: u64, low: u64, high: u64| {
            if !(low..=high).contains(&value) {
                problems.push((key, format!("must be in {low} ..= {high}, got {value}")));
            }
        };
        range("heartbeat_s", u64::from(self.heartbeat_s), 1, 3600);
        range("answer_timeout_ms", self.answer_timeout_ms, 1, 600_000);
        range("reconnect_min_ms", self.reconnect_min_ms, 1, 600_000);
        range("reconnect_max_ms", self.reconnect_max_ms, 1, 3_600_000);
        range("max_orders", self.max_orders as u64, 1, 1_000_000);
        range(
            "buffer_bytes",
            self.buffer_bytes as u64,
            4 * MAX_MESSAGE as u64,
            1 << 26,
        );
        if self.reconnect_max_ms < self.reconnect_min_ms {
            problems.push((
                "reconnect_max_ms",
                format!(
                    "must be at least reconnect_min_ms ({}), got {}",
                    self.reconnect_min_ms, self.reconnect_max_ms
                ),
            ));
        }
        problems
    }
}

/// Bytes on their way out: written by the session, taken by the socket.
#[derive(Debug)]
struct Outgoing {
    buf: Box<[u8]>,
    /// `buf[start..end]` waits for the socket.
    start: usize,
    end: usize,
}

impl Wire for Outgoing {
    fn room(&self) -> usize {
        self.buf.len() - (self.end - self.start)
    }

    fn put(&mut self, message: &[u8]) {
        if self.buf.len() - self.end < message.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf[self.end..self.end + message.len()].copy_from_slice(message);
        self.end += message.len();
    }
}

impl Outgoing {
    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }
}

/// An order the venue has and has not finished.
#[derive(Debug, Clone, Copy)]
struct Open {
    order: NewOrder,
    /// MsgSeqNum of its NewOrderSingle; 0 where not known (an order a
    /// restart took back, or one sent before the numbers were reset).
    seq: u64,
    /// Cancel requests sent for it.
    cancels: u32,
    /// A cancel asked for while no session was logged on, to send at the
    /// next logon.
    cancel_waiting: bool,
    /// The venue asked for its NewOrderSingle again and it was gap-filled:
    /// the venue never got it, and it is to be reported refused.
    lost: bool,
    /// Lots left, as the venue last reported (the order's quantity
    /// before any report).
    leaves: i64,
    /// The status check in flight has had the venue's word on it.
    checked: bool,
    /// Live at the venue and unknown to the engine (a status check found
    /// it): held only to be cancelled.
    foreign: bool,
}

impl Open {
    fn of(order: &NewOrder, seq: u64) -> Open {
        Open {
            order: *order,
            seq,
            cancels: 0,
            cancel_waiting: false,
            lost: false,
            leaves: order.qty.0,
            checked: false,
            foreign: false,
        }
    }
}

/// The connection, as far as it has got.
#[derive(Debug)]
enum Link {
    /// None; the next attempt at `retry_at` (ns).
    Down { retry_at: u64 },
    /// A connect in progress since `since` (ns).
    Connecting { socket: Socket, since: u64 },
    /// Connected (logging on, logged on, or logging out).
    Up { stream: TcpStream },
}

/// The gateway. See the module docs.
#[derive(Debug)]
pub struct FixVenue {
    address: SocketAddr,
    answer_timeout_ns: u64,
    reconnect_min_ns: u64,
    reconnect_max_ns: u64,
    /// The wait before the next attempt.
    backoff_ns: u64,
    link: Link,
    session: Session,
    /// The trading day the session's numbers belong to (ns since the
    /// Unix epoch; 0 where days are not told): a logon in a later day
    /// resets them, as the first of a run without numbers taken up does
    /// (`None`).
    numbers_day: Option<u64>,
    /// When trading days begin, in seconds after midnight UTC
    /// ([`FixVenue::roll_days`]); `None`: all of a run is one day.
    day_starts_s: Option<u64>,
    codec: OrderCodec,
    open: Vec<Open>,
    incoming: Box<[u8]>,
    /// `incoming[..read]` is read and not yet taken.
    read: usize,
    outgoing: Outgoing,
    /// Unix time at `clock` tick 0, in ns, for SendingTime.
    unix_at_zero: u64,
    report: LinkReport,
    /// Whether the report moved since it was last published.
    unpublished: bool,
    stats: Arc<LinkStats>,
    /// Whether the session takes orders, for the strategy.
    status: VenueStatus,
    /// Orders marked `lost` and not yet reported.
    lost: usize,
    /// Where the sequence numbers and the orders sent are kept across
    /// restarts, if anywhere.
    session_file: Option<SessionFile>,
    /// Whether each logon checks the open orders against the venue's word.
    check_orders: bool,
    /// The check in flight, if any.
    check: Option<StatusCheck>,
}

impl FixVenue {
    /// A gateway for `instruments` that connects at its first poll, its
    /// Logon carrying `credentials` if given (the caller reads the
    /// password from where `config` says).
    ///
    /// # Errors
    ///
    /// When `config` has a problem ([`FixConfig::problems`]) or an
    /// instrument's sizes cannot be written in FIX.
    pub fn new(
        config: &FixConfig,
        credentials: Option<Credentials>,
        instruments: &Instruments,
    ) -> Result<FixVenue, String> {
        if let Some((key, problem)) = config.problems().into_iter().next() {
            return Err(format!("venue.fix.{key}: {problem}"));
        }
        let codec = OrderCodec::new(instruments).map_err(|symbol| {
            format!("instrument {symbol}: its tick or lot size has too many digits for FIX")
        })?;
        let session = Session::new(&SessionConfig {
            sender_comp_id: config.sender_comp_id.clone(),
            target_comp_id: config.target_comp_id.clone(),
            heartbeat_s: config.heartbeat_s,
            answer_timeout_ms: config.answer_timeout_ms,
            credentials,
        });
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mono_now = clock::ticks_to_ns(clock::ticks());
        Ok(FixVenue {
            address: config.address().expect("checked"),
            answer_timeout_ns: config.answer_timeout_ms * 1_000_000,
            reconnect_min_ns: config.reconnect_min_ms * 1_000_000,
            reconnect_max_ns: config.reconnect_max_ms * 1_000_000,
            backoff_ns: config.reconnect_min_ms * 1_000_000,
            link: Link::Down { retry_at: 0 },
            session,
            numbers_day: None,
            day_starts_s: None,
            codec,
            open: Vec::with_capacity(config.max_orders),
            incoming: vec![0; config.buffer_bytes].into_boxed_slice(),
            read: 0,
            outgoing: Outgoing {
                buf: vec![0; config.buffer_bytes].into_boxed_slice(),
                start: 0,
                end: 0,
            },
            unix_at_zero: unix_now.saturating_sub(mono_now),
            report: LinkReport::default(),
            unpublished: false,
            stats: Arc::new(LinkStats::default()),
            status: VenueStatus::down(),
            lost: 0,
            session_file: None,
            check_orders: config.check_orders,
            check: None,
        })
    }

    /// Keeps the session's sequence numbers and every order it sends in
    /// `file` from here on. With `resume`, if the file holds the numbers
    /// of an earlier run of the same trading day, takes them up: the
    /// first logon then keeps them (no ResetSeqNumFlag), as after a
    /// reconnection. Call before the first poll.
    pub fn keep_session(&mut self, file: SessionFile, resume: bool) {
        if let Some(found) = file.found().filter(|_| resume) {
            self.session.resume(found.next_out, found.next_in);
            self.numbers_day = Some(file.day());
        }
        self.session_file = Some(file);
        self.record_numbers();
    }

    /// Counts the `orders` the last run sent and the `reports` it took
    /// that its journal never got, which the start took back from the
    /// session file.
    pub fn took_back(&mut self, orders: usize, reports: usize) {
        for (count, n) in [
            (LinkCount::RecoveredOrders, orders),
            (LinkCount::RecoveredReports, reports),
        ] {
            for _ in 0..n {
                self.report.bump(count);
            }
        }
        self.unpublished = true;
    }

    /// Resets the numbers at the first logon of each trading day, the
    /// days beginning `starts_s` seconds after midnight UTC (as a venue's
    /// session schedule does), instead of only at a run's first logon. A
    /// connection that stays up across the day's start keeps its numbers
    /// until the next logon. Call before the first poll.
    pub fn roll_days(&mut self, starts_s: u64) {
        self.day_starts_s = Some(starts_s);
    }

    /// Whether a logon now resets the numbers: the run's first without
    /// numbers taken up, or the first of a later trading day; and the
    /// trading day it belongs to.
    fn logon_resets(&self, now: Now) -> (bool, u64) {
        let today = match self.day_starts_s {
            Some(starts_s) => trading_day::day_began(now.unix_ns, starts_s),
            // All of the run is one day: the one the numbers are kept for.
            None => self.session_file.as_ref().map_or(0, SessionFile::day),
        };
        (self.numbers_day.is_none_or(|day| today > day), today)
    }

    #[inline]
    fn record_numbers(&mut self) {
        record_numbers(&mut self.session_file, &self.session);
    }

    /// Notes in the session file that a refusal of the gateway's own (no
    /// venue message) is handed on, so that the reports' count stays in
    /// step with the journal's; returns it, to hand on.
    #[inline]
    fn hand_on_refusal(&mut self, report: ExecReport) -> ExecReport {
        if let Some(file) = &mut self.session_file {
            file.record_report(0, &report);
        }
        report
    }

    /// What it publishes, for the control plane.
    pub fn stats(&self) -> Arc<LinkStats> {
        Arc::clone(&self.stats)
    }

    /// Whether it takes orders, shared: up while a session is logged on.
    pub fn status(&self) -> VenueStatus {
        self.status.clone()
    }

    /// Whether a session is logged on.
    pub fn is_active(&self) -> bool {
        self.session.state() == State::Active
    }

    /// Orders sent and not finished.
    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    fn now(&self, ticks: u64) -> Now {
        let mono_ns = clock::ticks_to_ns(ticks);
        Now {
            mono_ns,
            unix_ns: self.unix_at_zero + mono_ns,
        }
    }

    /// Sends an intent now; what must be answered at once (a refusal) is
    /// answered through `out`. Its bytes leave at [`FixVenue::flush_now`]
    /// (or the next poll), so that several intents share one write.
    pub fn submit(&mut self, intent: Intent, ticks: u64, mut out: impl FnMut(ExecReport)) {
        let now = self.now(ticks);
        match intent {
            Intent::New(order) => {
                if let Err(reject) = self.send_new(&order, now) {
                    if reject == Reject::VenueDown {
                        self.report.bump(LinkCount::RefusedDown);
                    }
                    out(self.hand_on_refusal(refusal(
                        order.id,
                        ExecKind::Rejected(reject),
                        Some(&order),
                    )));
                }
            }
            Intent::Cancel(id) => {
                if let Err(reject) = self.send_cancel(id, now) {
                    let order = self.open.iter().find(|o| o.order.id == id).map(|o| o.order);
                    out(self.hand_on_refusal(refusal(
                        id,
                        ExecKind::CancelRejected(reject),
                        order.as_ref(),
                    )));
                }
            }
        }
        // Published at the next poll, not per intent.
        self.unpublished = true;
    }

    /// Writes what waits for the socket, as far as it takes it now; one
    /// write when anything waits, none otherwise.
    #[inline]
    pub fn flush_now(&mut self) {
        if self.outgoing.start < self.outgoing.end {
            self.flush();
        }
    }

    fn send_new(&mut self, order: &NewOrder, now: Now) -> Result<(), Reject> {
        if self.open.len() == self.open.capacity() {
            return Err(Reject::VenueBusy);
        }
        let codec = &self.codec;
        self.session
            .send(
                msg_type::NEW_ORDER_SINGLE,
                OnResend::GapFill,
                now,
                &mut self.outgoing,
                |w| {
                    codec.new_order(order, now.unix_ns, w);
                },
            )
            .map_err(not_sent)?;
        // Recorded before its bytes leave, as its number is.
        if let Some(file) = &mut self.session_file {
            file.record_order(order);
        }
        self.open.push(Open::of(order, self.session.next_out() - 1));
        Ok(())
    }

    /// For a restart, before the first poll: room for `orders` sent and
    /// not finished, when a restart takes back more than `max_orders`.
    /// Allocates; new orders are refused `VENUE_BUSY` while as many as
    /// the table ever held are open.
    pub fn make_room(&mut self, orders: usize) {
        self.open
            .reserve_exact(orders.saturating_sub(self.open.len()));
    }

    /// Takes back an order a restart found open, so that a cancel of it
    /// is sent. `false` when the table is full.
    pub fn reopen(&mut self, order: &NewOrder) -> bool {
        if self.open.len() == self.open.capacity() {
            return false;
        }
        self.open.push(Open::of(order, 0));
        true
    }

    /// At a logon, sends the cancels that waited for it. (One sent before
    /// the line went down and lost with it is sent again when the venue
    /// asks for it: cancels are resent, new orders gap-filled.)
    fn send_waiting_cancels(&mut self, now: Now) {
        for at in 0..self.open.len() {
            if self.open[at].cancel_waiting {
                self.open[at].cancel_waiting = false;
                let id = self.open[at].order.id;
                let _ = self.send_cancel(id, now);
            }
        }
    }

    /// Asks the venue for the status of every order of the session, to
    /// check the open orders against its answers.
    fn ask_status(&mut self, now: Now) {
        let request = self.session.next_out();
        let codec = &self.codec;
        let sent = self.session.send(
            msg_type::ORDER_MASS_STATUS_REQUEST,
            // Sent again if the venue asks: answered whenever it is taken,
            // the answers still hold every order sent before it.
            OnResend::Send,
            now,
            &mut self.outgoing,
            |w| codec.mass_status_request(request, w),
        );
        if sent.is_ok() {
            for open in &mut self.open {
                open.checked = false;
            }
            self.check = Some(StatusCheck {
                request,
                deadline_ns: now.mono_ns + self.answer_timeout_ns,
            });
        }
    }

    fn send_cancel(&mut self, id: ClientOrderId, now: Now) -> Result<(), Reject> {
        let Some(at) = self.open.iter().position(|o| o.order.id == id) else {
            return Err(Reject::UnknownOrder);
        };
        if self.session.state() != State::Active {
            self.open[at].cancel_waiting = true;
            return Ok(());
        }
        let Open { order, cancels, .. } = self.open[at];
        let codec = &self.codec;
        self.session
            .send(
                msg_type::ORDER_CANCEL_REQUEST,
                OnResend::Send,
                now,
                &mut self.outgoing,
                |w| codec.cancel(&order, cancels + 1, now.unix_ns, w),
            )
            .map_err(not_sent)?;
        self.open[at].cancels += 1;
        Ok(())
    }

    /// Moves the link on (connects, logs on, keeps the session alive),
    /// reads what the venue sent, and answers through `out` with at most
    /// `room` reports; returns how many it wrote, plus one for any other
    /// progress.
    pub fn poll(&mut self, ticks: u64, room: usize, mut out: impl FnMut(ExecReport)) -> usize {
        let now = self.now(ticks);
        let lost = self.report_lost(room, &mut out);
        let mut work = lost + self.advance(now);
        if self.check.is_some_and(|c| now.mono_ns > c.deadline_ns) {
            self.check = None;
            self.report.bump(LinkCount::StatusUnanswered);
            work += 1;
        }
        if matches!(self.link, Link::Up { .. }) {
            work += self.receive(now, room - lost, &mut out);
            if let Some(end) = self.session.tick(now, &mut self.outgoing) {
                self.flush();
                self.down(LinkEnd::Session(end), now);
                work += 1;
            }
            self.flush();
        }
        if work > 0 || self.unpublished {
            self.publish();
        }
        self.status.set(self.is_active());
        work
    }

    /// The venue asked for `begin ..= end` again and every new order
    /// among them was gap-filled: those orders never reach it. They are
    /// reported refused (`VENUE_DOWN`: lost with the connection) at the
    /// next poll with room.
    fn gap_filled(&mut self, begin: u64, end: u64) {
        for open in &mut self.open {
            if (begin..=end).contains(&open.seq) && !open.lost {
                open.lost = true;
                self.lost += 1;
                self.report.bump(LinkCount::LostOrders);
            }
        }
    }

    /// Reports, as far as `room` allows, the orders the venue never got
    /// ([`FixVenue::gap_filled`]) refused, and forgets them; returns how
    /// many.
    fn report_lost(&mut self, room: usize, out: &mut impl FnMut(ExecReport)) -> usize {
        let mut written = 0;
        let mut at = 0;
        while self.lost > 0 && written < room && at < self.open.len() {
            if self.open[at].lost {
                let order = self.open.swap_remove(at).order;
                out(self.hand_on_refusal(refusal(
                    order.id,
                    ExecKind::Rejected(Reject::VenueDown),
                    Some(&order),
                )));
                self.lost -= 1;
                written += 1;
            } else {
                at += 1;
            }
        }
        written
    }

    /// Connects when due, and logs on once connected.
    fn advance(&mut self, now: Now) -> usize {
        match &self.link {
            Link::Down { retry_at } if now.mono_ns >= *retry_at => {
                match connect_nonblocking(self.address) {
                    Ok(socket) => {
                        self.link = Link::Connecting {
                            socket,
                            since: now.mono_ns,
                        };
                        self.report.state = LinkState::Connecting;
                    }
                    Err(_) => self.failed_connect(now),
                }
                1
            }
            Link::Connecting { socket, since } => {
                let since = *since;
                match connected(socket) {
                    Ok(true) => {
                        let Link::Connecting { socket, .. } =
                            std::mem::replace(&mut self.link, Link::Down { retry_at: 0 })
                        else {
                            unreachable!("matched above")
                        };
                        let stream: TcpStream = socket.into();
                        let _ = stream.set_nodelay(true);
                        self.link = Link::Up { stream };
                        self.report.bump(LinkCount::Connects);
                        self.read = 0;
                        self.outgoing.clear();
                        let (reset, today) = self.logon_resets(now);
                        if self.session.logon(now, reset, &mut self.outgoing) && reset {
                            self.numbers_day = Some(today);
                            if let Some(file) = &mut self.session_file {
                                file.start_day(today);
                            }
                            // The old numbers name nothing now.
                            for open in &mut self.open {
                                open.seq = 0;
                            }
                        }
                        self.report.state = LinkState::LoggingOn;
                        self.flush();
                        1
                    }
                    Ok(false) if now.mono_ns.saturating_sub(since) <= self.answer_timeout_ns => 0,
                    _ => {
                        self.failed_connect(now);
                        1
                    }
                }
            }
            _ => 0,
        }
    }

    fn failed_connect(&mut self, now: Now) {
        self.report.bump(LinkCount::ConnectFailures);
        self.report.last_end = Some(LinkEnd::ConnectFailed);
        self.wait_to_retry(now);
    }

    /// The link is down: the session waits for the next connection, which
    /// is tried after the backoff.
    fn down(&mut self, why: LinkEnd, now: Now) {
        // Asked again at the next logon.
        self.check = None;
        self.report.bump(LinkCount::Disconnects);
        self.report.last_end = Some(why);
        self.session.disconnected();
        self.wait_to_retry(now);
    }

    fn wait_to_retry(&mut self, now: Now) {
        self.link = Link::Down {
            retry_at: now.mono_ns + self.backoff_ns,
        };
        self.backoff_ns = (self.backoff_ns * 2).min(self.reconnect_max_ns);
        self.report.state = LinkState::Disconnected;
        self.read = 0;
        self.outgoing.clear();
    }

    /// One read, then every whole message read: reports as far as `room`
    /// allows, session messages whatever it is.
    fn receive(&mut self, now: Now, room: usize, out: &mut impl FnMut(ExecReport)) -> usize {
        let Link::Up { stream } = &mut self.link else {
            return 0;
        };
        let mut work = 0;
        if self.read < self.incoming.len() {
            match stream.read(&mut self.incoming[self.read..]) {
                Ok(0) => {
                    self.down(LinkEnd::Closed, now);
                    return 1;
                }
                Ok(n) => {
                    self.read += n;
                    work += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Closed with bytes of ours unread: a reset, but closed all
                // the same.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    self.down(LinkEnd::Closed, now);
                    return 1;
                }
                Err(_) => {
                    self.report.bump(LinkCount::SocketErrors);
                    self.down(LinkEnd::SocketError, now);
                    return 1;
                }
            }
        }
        let mut taken = 0;
        let mut took_in = false;
        let mut written = 0;
        loop {
            let len = match scan(&self.incoming[taken..self.read]) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(_) => {
                    self.report.bump(LinkCount::Garbled);
                    self.down(LinkEnd::Garbled, now);
                    return work + 1;
                }
            };
            let bytes = &self.incoming[taken..taken + len];
            let message = Message::parse(bytes).expect("scanned whole");
            // A report waits for room; session messages are always taken,
            // so that heartbeats and a Logout's answer are never held up.
            let kind = message.msg_type();
            let report =
                kind == msg_type::EXECUTION_REPORT || kind == msg_type::ORDER_CANCEL_REJECT;
            if report && written >= room {
                break;
            }
            taken += len;
            let verdict = self.session.on_message(&message, now, &mut self.outgoing);
            if self.check.is_some() && matches!(verdict, Verdict::App | Verdict::Session) {
                took_in |= take_status(
                    &self.codec,
                    &mut self.check,
                    &mut self.open,
                    &mut self.report,
                    &message,
                );
            }
            let read = match verdict {
                Verdict::App => take_report(
                    &self.codec,
                    &mut self.open,
                    &mut self.session,
                    &mut self.outgoing,
                    &mut self.report,
                    &message,
                    now,
                ),
                _ => None,
            };
            if let (Some(report), Some(file)) = (read, &mut self.session_file) {
                // Kept whole, with its number (the one just taken), before
                // the number moves on: a restart whose journal lacks it
                // takes it back from the file.
                file.record_report(self.session.next_in() - 1, &report);
            }
            // Recorded as taken: a restart does not take it again.
            record_numbers(&mut self.session_file, &self.session);
            match verdict {
                Verdict::App => {
                    if let Some(report) = read {
                        out(report);
                        written += 1;
                    }
                }
                Verdict::Resent { begin, end } => self.gap_filled(begin, end),
                Verdict::Session | Verdict::Skipped | Verdict::Rejected { .. } => {}
                Verdict::Ended(end) => {
                    // What the venue's Logout said, when a Logout of its
                    // ended the session; nothing otherwise.
                    let said = match end {
                        End::VenueLoggedOut | End::LogonRefused => self.session.logout_text(),
                        _ => &[],
                    };
                    self.report.venue_text[..said.len()].copy_from_slice(said);
                    self.report.venue_text_len = said.len();
                    self.flush();
                    self.down(LinkEnd::Session(end), now);
                    return work + written + 1;
                }
            }
            if self.session.state() == State::Active && self.report.state == LinkState::LoggingOn {
                self.report.state = LinkState::Active;
                self.report.bump(LinkCount::Logons);
                self.backoff_ns = self.reconnect_min_ns;
                self.send_waiting_cancels(now);
                if self.check_orders {
                    self.ask_status(now);
                }
            }
        }
        // Orders a check took in to cancel (should the connection have
        // ended first, their cancels wait for the next logon).
        if took_in {
            self.send_waiting_cancels(now);
        }
        if taken > 0 {
            self.incoming.copy_within(taken..self.read, 0);
            self.read -= taken;
            work += 1;
        }
        work + written
    }

    /// Writes what waits for the socket, as far as it takes it now.
    fn flush(&mut self) {
        // Every number that leaves is recorded before it does.
        self.record_numbers();
        let Link::Up { stream } = &mut self.link else {
            return;
        };
        while self.outgoing.start < self.outgoing.end {
            match stream.write(&self.outgoing.buf[self.outgoing.start..self.outgoing.end]) {
                Ok(0) => break,
                Ok(n) => self.outgoing.start += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    // The read side sees the connection end next.
                    self.report.bump(LinkCount::SocketErrors);
                    break;
                }
            }
        }
        if self.outgoing.start == self.outgoing.end {
            self.outgoing.clear();
        }
    }

    fn publish(&mut self) {
        let counts = self.session.counts();
        let report = &mut self.report;
        for (count, value) in [
            (LinkCount::Sent, counts.sent),
            (LinkCount::Received, counts.received),
            (LinkCount::ResendRequests, counts.resend_requests),
            (LinkCount::GapFills, counts.gap_fills),
            (LinkCount::TestRequests, counts.test_requests),
            (LinkCount::SessionRejects, counts.rejects),
            (LinkCount::Skipped, counts.skipped),
        ] {
            report.counts[count as usize] = value;
        }
        report.state = match (self.session.state(), &self.link) {
            (_, Link::Down { .. }) => LinkState::Disconnected,
            (_, Link::Connecting { .. }) => LinkState::Connecting,
            (State::Active, _) => LinkState::Active,
            (State::LogoutSent, _) => LinkState::LoggingOut,
            _ => LinkState::LoggingOn,
        };
        report.next_out = self.session.next_out();
        report.next_in = self.session.next_in();
        report.open_orders = self.open.len() as u64;
        self.stats.publish(report);
        self.unpublished = false;
    }

    /// Logs out, for a clean stop, and waits up to `within` for the
    /// venue's answer, then closes the connection. Reports that arrive
    /// meanwhile (none after a drain: every order has ended) are not
    /// taken; the venue keeps them for the next logon.
    pub fn close(&mut self, within: std::time::Duration) {
        let start = clock::ticks();
        let deadline = start + clock::ns_to_ticks(within.as_nanos() as u64);
        if self.session.state() == State::Active {
            let now = self.now(start);
            self.session.logout(now, &mut self.outgoing);
            self.flush();
            while self.session.state() == State::LogoutSent && clock::ticks() < deadline {
                // Room for nothing: only session messages are taken.
                self.poll(clock::ticks(), 0, |_| {});
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
        }
        if let Link::Up { stream } = &self.link {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        self.record_numbers();
        if let Some(file) = &self.session_file {
            let _ = file.sync();
        }
        self.session.disconnected();
        self.link = Link::Down { retry_at: u64::MAX };
        self.publish();
    }
}

/// Writes `session`'s numbers to the session file, if one is kept.
#[inline]
fn record_numbers(session_file: &mut Option<SessionFile>, session: &Session) {
    if let Some(file) = session_file {
        file.record(session.next_out(), session.next_in());
    }
}

/// A refusal of `id` answered at once, with its order's terms when known.
fn refusal(id: ClientOrderId, kind: ExecKind, order: Option<&NewOrder>) -> ExecReport {
    ExecReport {
        id,
        instrument: order.map(|o| o.instrument).unwrap_or_default(),
        side: order.map_or(crate::domain::Side::Buy, |o| o.side),
        kind,
        price: order.map_or(Price(0), |o| o.price),
        filled: Qty(0),
        leaves: Qty(0),
    }
}

fn not_sent(why: NotSent) -> Reject {
    match why {
        NotSent::NotActive => Reject::VenueDown,
        NotSent::NoRoom => Reject::VenueBusy,
        NotSent::TooLarge => Reject::InvalidOrder,
    }
}

/// A TCP connect to `address` that does not wait for the answer.
fn connect_nonblocking(address: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    match socket.connect(&address.into()) {
        Ok(()) => Ok(socket),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(socket),
        Err(e) => Err(e),
    }
}

/// Whether a non-blocking connect has finished: `Ok(true)` connected,
/// `Ok(false)` still going.
///
/// # Errors
///
/// When it failed.
fn connected(socket: &Socket) -> io::Result<bool> {
    if let Some(error) = socket.take_error()? {
        return Err(error);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// An application message in sequence, as a report of an order the
/// gateway has open; `None` for one that moves nothing, or that cannot
/// be read (counted, and rejected back to the venue).
#[allow(clippy::too_many_arguments)]
fn take_report(
    codec: &OrderCodec,
    open: &mut Vec<Open>,
    session: &mut Session,
    outgoing: &mut Outgoing,
    link: &mut LinkReport,
    message: &Message,
    now: Now,
) -> Option<ExecReport> {
    let kind = message.msg_type();
    if kind != msg_type::EXECUTION_REPORT && kind != msg_type::ORDER_CANCEL_REJECT {
        return None;
    }
    let read = match codec.report(message) {
        Ok(Some(read)) => read,
        Ok(None) => return None,
        Err(error) => {
            link.bump(LinkCount::BadReports);
            let seq = message.uint(tag::MSG_SEQ_NUM).unwrap_or(0);
            let (field, text) = error.describe();
            let _ = session.send(msg_type::REJECT, OnResend::GapFill, now, outgoing, |w| {
                w.uint(tag::REF_SEQ_NUM, seq);
                if let Some(field) = field {
                    w.uint(tag::REF_TAG_ID, u64::from(field));
                }
                w.field(tag::TEXT, text.as_bytes());
            });
            return None;
        }
    };
    if read.off_tick {
        link.bump(LinkCount::OffTickPrices);
    }
    let mut report = read.report;
    let at = open.iter().position(|o| o.order.id == report.id);
    if at.is_none() && report.filled.0 > 0 {
        // The risk gate holds no such order open either: nothing books it.
        link.bump(LinkCount::StrayFills);
        link.mismatched_order = report.id.0;
    }
    if let (ExecKind::CancelRejected(_), Some(at)) = (report.kind, at) {
        report.instrument = open[at].order.instrument;
        report.side = open[at].order.side;
    }
    let done = report.is_final() || report.kind == ExecKind::CancelRejected(Reject::UnknownOrder);
    match at {
        Some(at) if done => {
            open.swap_remove(at);
        }
        Some(at) if matches!(report.kind, ExecKind::Ack | ExecKind::PartialFill) => {
            open[at].leaves = report.leaves.0;
        }
        _ => {}
    }
    Some(report)
}

/// A message taken in sequence, as an answer to the status check in
/// flight if it is one: each order's status judged against `open` (what
/// differs counted, an order live at the venue and unknown here taken in
/// to be cancelled), the check ended by its last answer or by the venue
/// refusing the request. Returns whether it took in an order to cancel.
fn take_status(
    codec: &OrderCodec,
    check: &mut Option<StatusCheck>,
    open: &mut Vec<Open>,
    link: &mut LinkReport,
    message: &Message,
) -> bool {
    let Some(current) = *check else {
        return false;
    };
    let kind = message.msg_type();
    let refused = (kind == msg_type::BUSINESS_MESSAGE_REJECT
        && message.get(tag::REF_MSG_TYPE) == Some(msg_type::ORDER_MASS_STATUS_REQUEST))
        || (kind == msg_type::REJECT && message.uint(tag::REF_SEQ_NUM) == Some(current.request));
    if refused {
        link.bump(LinkCount::StatusUnanswered);
        *check = None;
        return false;
    }
    let status = match codec.status(message) {
        Ok(Some(status)) if status.request == current.request => status,
        Ok(_) => return false,
        // The order it tells of is counted missing at the last answer.
        Err(_) => {
            link.bump(LinkCount::BadReports);
            return false;
        }
    };
    let mut took_in = false;
    if let Some(of) = status.order {
        let at = open.iter().position(|o| o.order.id == of.id);
        let judged = match at {
            // Sent after the request, or taken in by this check already.
            Some(at) if !current.covers(open[at].seq) || open[at].foreign => None,
            Some(at) => {
                open[at].checked = true;
                judge(&of, Some(open[at].leaves))
            }
            None => judge(&of, None),
        };
        if let Some(count) = judged {
            link.bump(count);
            link.mismatched_order = of.id.0;
            if count == LinkCount::StatusUnknownOrders && open.len() < open.capacity() {
                let order = NewOrder {
                    id: of.id,
                    instrument: of.instrument,
                    side: of.side,
                    price: Price(0),
                    qty: of.leaves,
                    tif: crate::domain::TimeInForce::Limit,
                };
                open.push(Open {
                    cancel_waiting: true,
                    foreign: true,
                    ..Open::of(&order, 0)
                });
                took_in = true;
            }
        }
    }
    if status.last {
        for o in open.iter() {
            if current.covers(o.seq) && !o.checked && !o.foreign && !o.lost {
                link.bump(LinkCount::StatusMissingOrders);
                link.mismatched_order = o.order.id.0;
            }
        }
        link.bump(LinkCount::StatusChecks);
        *check = None;
    }
    took_in
}
