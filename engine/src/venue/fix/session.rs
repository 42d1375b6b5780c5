//! The FIX session layer, as the initiator: logon and logout, heartbeats
//! and test requests, sequence numbers both ways, and what a gap asks for.
//! No I/O: the gateway hands it each whole message that arrives and the
//! time, and gives it a [`Wire`] to write to; it says what the message is
//! to the gateway ([`Verdict`]) and when the session has ended ([`End`]).
//!
//! Sequence numbers outlive a connection: a reconnection logs on with the
//! numbers where they were, so the venue resends (PossDupFlag=Y) the
//! execution reports sent while the line was down. A ResendRequest from
//! the other side is answered message by message: those sent as
//! [`OnResend::Send`] (a cancel; a stand-in venue's reports) are sent
//! again from the [`ResendStore`] with PossDupFlag, and every other
//! number, or one no longer held, is covered by a gap-fill
//! SequenceReset: a new order is never sent twice, since one the market
//! has moved past must not reach it late. A gap in what the other side
//! sends is asked for once (ResendRequest to infinity); messages past it
//! are skipped, as the resend brings them again in order.
//!
//! Nothing here allocates after [`Session::new`] or formats text.

use super::frame::Message;
use super::resend_store::ResendStore;
use super::writer::{MessageWriter, MAX_MESSAGE};
use super::{msg_type, tag, SOH};

/// Bytes of the other side's last Logout Text(58) kept.
pub const TEXT_KEPT: usize = 64;

/// Bytes and messages a session holds for resending.
const STORE_BYTES: usize = 1 << 20;
const STORE_MESSAGES: usize = 8192;

/// The most answer timeouts an awaited resend may stand still, after
/// stalls have ended sessions (see `Session::resend_patience`).
const MAX_RESEND_PATIENCE: u64 = 16;

/// What a message sent is, should the other side ask for it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnResend {
    /// Sent again, with PossDupFlag=Y.
    Send,
    /// Covered by a gap fill: never sent twice.
    GapFill,
}

/// Where the session writes whole messages: the gateway's outgoing bytes.
pub trait Wire {
    /// Bytes it can take now.
    fn room(&self) -> usize;
    /// Takes a whole message of at most [`Wire::room`] bytes.
    fn put(&mut self, message: &[u8]);
}

/// The two clocks a session reads: monotonic for its timers, UTC for
/// SendingTime(52).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic nanoseconds.
    pub mono_ns: u64,
    /// Nanoseconds since the Unix epoch.
    pub unix_ns: u64,
}

/// Username(553) and Password(554), for a venue that asks for them in the
/// Logon (or, as the acceptor, that a Logon must carry). The password
/// never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Username(553).
    pub username: String,
    /// Password(554).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What a session is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// SenderCompID(49) of what redline sends.
    pub sender_comp_id: String,
    /// TargetCompID(56) of what redline sends: the venue.
    pub target_comp_id: String,
    /// HeartBtInt(108), in seconds.
    pub heartbeat_s: u32,
    /// How long a Logon or Logout may wait for the venue's answer.
    pub answer_timeout_ms: u64,
    /// What the Logon carries (or, as the acceptor, must), if anything.
    pub credentials: Option<Credentials>,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No connection, or one not yet logged on.
    Disconnected,
    /// As the acceptor (a stand-in venue): connected, waiting for the
    /// other side's Logon.
    AwaitingLogon,
    /// Logon sent; waiting for the venue's.
    LogonSent,
    /// Logged on: orders may go.
    Active,
    /// Logout sent; waiting for the venue's.
    LogoutSent,
}

/// Why a session ended. The gateway closes the connection (once what is
/// written has gone) and may connect again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Redline logged out and the venue answered (or did not in time).
    LoggedOut,
    /// The venue logged out.
    VenueLoggedOut,
    /// The venue's MsgSeqNum(34) was below the next expected without
    /// PossDupFlag: messages were lost in a way no resend mends.
    SeqTooLow {
        /// The number expected.
        expected: u64,
        /// The number received.
        received: u64,
    },
    /// A message without a MsgSeqNum(34).
    NoSeqNum,
    /// A message from or to another party than configured.
    WrongCompId,
    /// Something other than a Logon answered redline's Logon, or a Logon
    /// came on a session already logged on.
    UnexpectedLogon,
    /// The venue did not answer a Logon in time.
    LogonTimeout,
    /// Neither a heartbeat nor anything else came after a TestRequest.
    NoHeartbeat,
    /// A resend redline asked for made no progress within the answer
    /// timeout.
    ResendStalled,
    /// The venue answered the Logon with a Logout (a wrong Username or
    /// Password is the usual cause; its log says more).
    LogonRefused,
    /// As the acceptor: a Logon without the Username and Password asked.
    WrongCredentials,
}

impl End {
    /// Words for logs and the venue's health.
    pub fn describe(self) -> &'static str {
        match self {
            End::LoggedOut => "logged out",
            End::VenueLoggedOut => "the venue logged out",
            End::SeqTooLow { .. } => "the venue's MsgSeqNum(34) went back without PossDupFlag",
            End::NoSeqNum => "a message without MsgSeqNum(34)",
            End::WrongCompId => "a message for another SenderCompID/TargetCompID",
            End::UnexpectedLogon => "a Logon out of turn",
            End::LogonTimeout => "no answer to the Logon in time",
            End::NoHeartbeat => "no answer to a TestRequest within a heartbeat interval",
            End::ResendStalled => "a resend asked for made no progress in time",
            End::LogonRefused => {
                "the venue answered the Logon with a Logout (check venue.fix.username and its \
                 password)"
            }
            End::WrongCredentials => {
                "a Logon with a Username(553) or Password(554) not the venue's"
            }
        }
    }

    /// Whether the session ended as redline asked.
    pub fn is_clean(self) -> bool {
        matches!(self, End::LoggedOut)
    }
}

/// What a message that arrived is, to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An application message in sequence: the gateway's to read.
    App,
    /// A session message, dealt with here.
    Session,
    /// A repeat of one already taken, or one past a gap that the resend
    /// will bring again: nothing to do.
    Skipped,
    /// The venue asked for redline's messages `begin ..= end` again and
    /// was answered: the cancels among them sent again, everything else
    /// gap-filled, so a new order among them never reaches it.
    Resent {
        /// The first number asked for.
        begin: u64,
        /// The last.
        end: u64,
    },
    /// The venue rejected a message of redline's (Reject(3)).
    Rejected {
        /// Its MsgSeqNum.
        ref_seq: u64,
    },
    /// The session is over.
    Ended(End),
}

/// Why an application message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// Not logged on.
    NotActive,
    /// The wire has no room for it now.
    NoRoom,
    /// It does not fit in a message.
    TooLarge,
}

/// Counts for metrics, since the session was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    /// Messages sent.
    pub sent: u64,
    /// Messages received in sequence.
    pub received: u64,
    /// ResendRequests sent, one per gap.
    pub resend_requests: u64,
    /// Gap fills sent in answer to the other side's ResendRequests.
    pub gap_fills: u64,
    /// Messages sent again in answer to them.
    pub resent: u64,
    /// TestRequests sent.
    pub test_requests: u64,
    /// Session-level Rejects received.
    pub rejects: u64,
    /// Repeats and messages past a gap, skipped.
    pub skipped: u64,
}

/// One session. See the module docs.
#[derive(Debug)]
pub struct Session {
    sender: Box<[u8]>,
    target: Box<[u8]>,
    /// `49=<sender>␁56=<target>␁`, written once.
    comp_ids: Box<[u8]>,
    /// Text(58) of the last Logout received, cut to [`TEXT_KEPT`] bytes.
    logout_text: [u8; TEXT_KEPT],
    logout_text_len: usize,
    heartbeat_s: u32,
    heartbeat_ns: u64,
    answer_timeout_ns: u64,
    credentials: Option<Credentials>,
    state: State,
    /// MsgSeqNum of the next message sent.
    next_out: u64,
    /// MsgSeqNum expected next from the venue.
    next_in: u64,
    /// When a Logon or Logout was sent, in the state that waits for it.
    asked_at: u64,
    last_sent: u64,
    last_received: u64,
    /// When the unanswered TestRequest went, and its TestReqID.
    test_request: Option<(u64, u64)>,
    test_req_ids: u64,
    /// While a resend is awaited: the highest MsgSeqNum seen past the gap.
    resend_through: Option<u64>,
    /// When the awaited resend was asked for or last moved on.
    resend_moved_at: u64,
    /// How many answer timeouts an awaited resend may stand still: 1,
    /// doubled (to [`MAX_RESEND_PATIENCE`]) each time one ended the
    /// session for that, back to 1 once one catches up. A venue slow to
    /// start a large resend (it builds it before sending) is then given
    /// the time at the next logon instead of being asked again and again
    /// for the same, forever.
    resend_patience: u64,
    writer: MessageWriter,
    store: ResendStore,
    /// A held message being sent again.
    scratch: Box<[u8]>,
    counts: SessionCounts,
}

impl Session {
    /// A session that has sent and received nothing.
    pub fn new(config: &SessionConfig) -> Self {
        let comp_ids = [
            &b"49="[..],
            config.sender_comp_id.as_bytes(),
            &[SOH],
            b"56=",
            config.target_comp_id.as_bytes(),
            &[SOH],
        ]
        .concat();
        Session {
            sender: config.sender_comp_id.as_bytes().into(),
            target: config.target_comp_id.as_bytes().into(),
            comp_ids: comp_ids.into(),
            logout_text: [0; TEXT_KEPT],
            logout_text_len: 0,
            heartbeat_s: config.heartbeat_s,
            heartbeat_ns: u64::from(config.heartbeat_s) * 1_000_000_000,
            answer_timeout_ns: config.answer_timeout_ms * 1_000_000,
            credentials: config.credentials.clone(),
            state: State::Disconnected,
            next_out: 1,
            next_in: 1,
            asked_at: 0,
            last_sent: 0,
            last_received: 0,
            test_request: None,
            test_req_ids: 0,
            resend_through: None,
            resend_moved_at: 0,
            resend_patience: 1,
            writer: MessageWriter::default(),
            store: ResendStore::new(STORE_BYTES, STORE_MESSAGES),
            scratch: vec![0; MAX_MESSAGE].into_boxed_slice(),
            counts: SessionCounts::default(),
        }
    }

    /// Where it stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// MsgSeqNum of the next message sent.
    pub fn next_out(&self) -> u64 {
        self.next_out
    }

    /// MsgSeqNum expected next from the venue.
    pub fn next_in(&self) -> u64 {
        self.next_in
    }

    /// Drops what it holds for resending: a ResendRequest is then
    /// answered with gap fills only, as by a side whose store has lost
    /// its messages (the stand-in venue plays one so).
    pub fn forget_sent(&mut self) {
        self.store.clear();
    }

    /// Takes up the numbers where an earlier run left them, before the
    /// first logon (which then keeps them). Nothing it sent then is held
    /// for resending: a ResendRequest for it is gap-filled.
    pub fn resume(&mut self, next_out: u64, next_in: u64) {
        self.next_out = next_out.max(1);
        self.next_in = next_in.max(1);
    }

    /// Text(58) of the last Logout the other side sent (its first
    /// [`TEXT_KEPT`] bytes), empty if none said anything.
    pub fn logout_text(&self) -> &[u8] {
        &self.logout_text[..self.logout_text_len]
    }

    /// Counts since it was made.
    pub fn counts(&self) -> SessionCounts {
        self.counts
    }

    /// Whether a resend the session asked for is still awaited.
    pub fn awaiting_resend(&self) -> bool {
        self.resend_through.is_some()
    }

    /// Logs on over a connection just made; with `reset`, both sequence
    /// numbers start again at 1 (ResetSeqNumFlag(141)=Y), as at the first
    /// logon of a run. `false` when the wire has no room (try again).
    pub fn logon(&mut self, now: Now, reset: bool, wire: &mut impl Wire) -> bool {
        if reset {
            self.next_out = 1;
            self.next_in = 1;
            self.store.clear();
        }
        self.test_request = None;
        self.resend_through = None;
        self.last_received = now.mono_ns;
        let heartbeat_s = u64::from(self.heartbeat_s);
        self.begin(msg_type::LOGON, now)
            .uint(tag::ENCRYPT_METHOD, 0)
            .uint(tag::HEART_BT_INT, heartbeat_s);
        if reset {
            self.writer.field(tag::RESET_SEQ_NUM_FLAG, b"Y");
        }
        if let Some(credentials) = &self.credentials {
            self.writer
                .field(tag::USERNAME, credentials.username.as_bytes())
                .field(tag::PASSWORD, credentials.password.as_bytes());
        }
        if !self.emit(now, wire) {
            return false;
        }
        self.state = State::LogonSent;
        self.asked_at = now.mono_ns;
        true
    }

    /// Asks the venue to log out; the session ends at its answer or after
    /// the answer timeout. `false` when the wire has no room.
    pub fn logout(&mut self, now: Now, wire: &mut impl Wire) -> bool {
        if self.state != State::Active {
            return false;
        }
        self.begin(msg_type::LOGOUT, now);
        if !self.emit(now, wire) {
            return false;
        }
        self.state = State::LogoutSent;
        self.asked_at = now.mono_ns;
        true
    }

    /// As the acceptor: a connection was taken; the other side's Logon is
    /// answered with one.
    pub fn accept(&mut self, now: Now) {
        self.state = State::AwaitingLogon;
        self.test_request = None;
        self.resend_through = None;
        self.last_received = now.mono_ns;
    }

    /// The connection is gone: the session waits for the next logon,
    /// keeping its sequence numbers.
    pub fn disconnected(&mut self) {
        self.state = State::Disconnected;
        self.test_request = None;
        self.resend_through = None;
    }

    /// Sends an application message whose body `body` writes after the
    /// session's header; `resend` says what a ResendRequest for it gets.
    ///
    /// # Errors
    ///
    /// When not logged on, when the wire has no room, or when it does not
    /// fit in a message; nothing is sent then.
    pub fn send(
        &mut self,
        msg_type: &[u8],
        resend: OnResend,
        now: Now,
        wire: &mut impl Wire,
        body: impl FnOnce(&mut MessageWriter),
    ) -> Result<(), NotSent> {
        if self.state != State::Active {
            return Err(NotSent::NotActive);
        }
        body(self.begin(msg_type, now));
        let Some(bytes) = self.writer.finish() else {
            return Err(NotSent::TooLarge);
        };
        if bytes.len() > wire.room() {
            return Err(NotSent::NoRoom);
        }
        wire.put(bytes);
        if resend == OnResend::Send {
            self.store.keep(self.next_out, bytes);
        }
        self.sent(now);
        Ok(())
    }

    /// Keeps the session alive: a Heartbeat when nothing went for an
    /// interval, a TestRequest when nothing came for an interval and a
    /// fifth, and the end when that goes unanswered or a Logon or Logout
    /// goes unanswered.
    pub fn tick(&mut self, now: Now, wire: &mut impl Wire) -> Option<End> {
        let mono = now.mono_ns;
        match self.state {
            State::Disconnected | State::AwaitingLogon => None,
            State::LogonSent => {
                if mono.saturating_sub(self.asked_at) > self.answer_timeout_ns {
                    self.state = State::Disconnected;
                    return Some(End::LogonTimeout);
                }
                None
            }
            State::LogoutSent => {
                if mono.saturating_sub(self.asked_at) > self.answer_timeout_ns {
                    self.state = State::Disconnected;
                    return Some(End::LoggedOut);
                }
                None
            }
            State::Active => {
                if self.resend_through.is_some()
                    && mono.saturating_sub(self.resend_moved_at)
                        > self.answer_timeout_ns * self.resend_patience
                {
                    self.resend_patience = (2 * self.resend_patience).min(MAX_RESEND_PATIENCE);
                    return Some(self.close(End::ResendStalled, now, wire));
                }
                if let Some((asked, _)) = self.test_request {
                    if mono.saturating_sub(asked) > self.heartbeat_ns {
                        return Some(self.close(End::NoHeartbeat, now, wire));
                    }
                } else if mono.saturating_sub(self.last_received)
                    > self.heartbeat_ns + self.heartbeat_ns / 5
                {
                    self.test_req_ids += 1;
                    let id = self.test_req_ids;
                    self.begin(msg_type::TEST_REQUEST, now)
                        .uint(tag::TEST_REQ_ID, id);
                    if self.emit(now, wire) {
                        self.test_request = Some((mono, id));
                        self.counts.test_requests += 1;
                    }
                }
                if mono.saturating_sub(self.last_sent) >= self.heartbeat_ns {
                    self.begin(msg_type::HEARTBEAT, now);
                    self.emit(now, wire);
                }
                None
            }
        }
    }

    /// Takes a whole message from the venue (one that [`Message::parse`]
    /// accepted), answering what the session must, and says what it is.
    pub fn on_message(&mut self, message: &Message, now: Now, wire: &mut impl Wire) -> Verdict {
        self.last_received = now.mono_ns;
        if message.get(tag::SENDER_COMP_ID) != Some(&self.target[..])
            || message.get(tag::TARGET_COMP_ID) != Some(&self.sender[..])
        {
            return self.end(End::WrongCompId, now, wire);
        }
        let Some(seq) = message.uint(tag::MSG_SEQ_NUM) else {
            return self.end(End::NoSeqNum, now, wire);
        };
        let kind = message.msg_type();
        if kind == msg_type::LOGOUT {
            let text = message.get(tag::TEXT).unwrap_or_default();
            let kept = text.len().min(TEXT_KEPT);
            self.logout_text[..kept].copy_from_slice(&text[..kept]);
            self.logout_text_len = kept;
        }
        if self.state == State::AwaitingLogon {
            if kind != msg_type::LOGON {
                return self.end(End::UnexpectedLogon, now, wire);
            }
            if let Some(credentials) = &self.credentials {
                let right = message.get(tag::USERNAME) == Some(credentials.username.as_bytes())
                    && message.get(tag::PASSWORD) == Some(credentials.password.as_bytes());
                if !right {
                    return self.end(End::WrongCredentials, now, wire);
                }
            }
            let reset = message.get(tag::RESET_SEQ_NUM_FLAG) == Some(b"Y");
            if reset {
                self.next_in = 1;
                self.next_out = 1;
                self.store.clear();
            }
            let heartbeat_s = u64::from(self.heartbeat_s);
            self.begin(msg_type::LOGON, now)
                .uint(tag::ENCRYPT_METHOD, 0)
                .uint(tag::HEART_BT_INT, heartbeat_s);
            if reset {
                self.writer.field(tag::RESET_SEQ_NUM_FLAG, b"Y");
            }
            self.emit(now, wire);
            self.state = State::Active;
        } else if self.state == State::LogonSent {
            if kind == msg_type::LOGOUT {
                // The answer is the Logout: nothing to say back.
                self.state = State::Disconnected;
                return Verdict::Ended(End::LogonRefused);
            }
            if kind != msg_type::LOGON {
                return self.end(End::UnexpectedLogon, now, wire);
            }
            if message.get(tag::RESET_SEQ_NUM_FLAG) == Some(b"Y") {
                self.next_in = 1;
            }
            self.state = State::Active;
        } else if kind == msg_type::LOGON {
            return self.end(End::UnexpectedLogon, now, wire);
        }
        if kind == msg_type::SEQUENCE_RESET && message.get(tag::GAP_FILL_FLAG) != Some(b"Y") {
            // Reset mode: the number it gives is the next, whatever this
            // message's own.
            if let Some(new) = message.uint(tag::NEW_SEQ_NO) {
                self.next_in = self.next_in.max(new);
                self.resend_done();
            }
            return Verdict::Session;
        }
        if seq < self.next_in {
            if message.get(tag::POSS_DUP_FLAG) == Some(b"Y") {
                self.counts.skipped += 1;
                return Verdict::Skipped;
            }
            let expected = self.next_in;
            return self.end(
                End::SeqTooLow {
                    expected,
                    received: seq,
                },
                now,
                wire,
            );
        }
        if seq > self.next_in {
            if kind == msg_type::LOGOUT {
                return self.logged_out(now, wire);
            }
            self.gap(seq, now, wire);
            if kind == msg_type::LOGON {
                return Verdict::Session;
            }
            self.counts.skipped += 1;
            return Verdict::Skipped;
        }
        self.next_in += 1;
        self.counts.received += 1;
        self.resend_moved_at = now.mono_ns;
        if self.resend_through.is_some_and(|last| seq >= last) {
            self.resend_done();
        }
        self.in_sequence(message, kind, now, wire)
    }

    /// A message numbered as expected.
    fn in_sequence(
        &mut self,
        message: &Message,
        kind: &[u8],
        now: Now,
        wire: &mut impl Wire,
    ) -> Verdict {
        match kind {
            msg_type::LOGON => Verdict::Session,
            msg_type::HEARTBEAT => {
                let answered = self
                    .test_request
                    .is_some_and(|(_, id)| message.uint(tag::TEST_REQ_ID) == Some(id));
                if answered {
                    self.test_request = None;
                }
                Verdict::Session
            }
            msg_type::TEST_REQUEST => {
                let id = message.get(tag::TEST_REQ_ID).unwrap_or_default();
                self.begin(msg_type::HEARTBEAT, now)
                    .field(tag::TEST_REQ_ID, id);
                self.emit(now, wire);
                Verdict::Session
            }
            msg_type::RESEND_REQUEST => {
                let begin = message.uint(tag::BEGIN_SEQ_NO).unwrap_or(1).max(1);
                let end = match message.uint(tag::END_SEQ_NO) {
                    Some(end) if end > 0 => end.min(self.next_out - 1),
                    _ => self.next_out - 1,
                };
                self.resend(begin, end, now, wire);
                Verdict::Resent { begin, end }
            }
            msg_type::SEQUENCE_RESET => {
                // Gap fill: the numbers up to NewSeqNo were administrative.
                if let Some(new) = message.uint(tag::NEW_SEQ_NO) {
                    self.next_in = self.next_in.max(new);
                }
                if self.resend_through.is_some_and(|last| self.next_in > last) {
                    self.resend_done();
                }
                Verdict::Session
            }
            msg_type::REJECT => {
                self.counts.rejects += 1;
                Verdict::Rejected {
                    ref_seq: message.uint(tag::REF_SEQ_NUM).unwrap_or(0),
                }
            }
            msg_type::LOGOUT => self.logged_out(now, wire),
            _ => Verdict::App,
        }
    }

    /// The venue's Logout: answered, unless it answers redline's.
    fn logged_out(&mut self, now: Now, wire: &mut impl Wire) -> Verdict {
        if self.state == State::LogoutSent {
            self.state = State::Disconnected;
            return Verdict::Ended(End::LoggedOut);
        }
        self.begin(msg_type::LOGOUT, now);
        self.emit(now, wire);
        self.state = State::Disconnected;
        Verdict::Ended(End::VenueLoggedOut)
    }

    /// [`Session::close`], as the verdict on a message.
    fn end(&mut self, why: End, now: Now, wire: &mut impl Wire) -> Verdict {
        Verdict::Ended(self.close(why, now, wire))
    }

    /// Ends the session for `why`, telling the venue when it is logged on;
    /// returns `why`.
    fn close(&mut self, why: End, now: Now, wire: &mut impl Wire) -> End {
        if matches!(
            self.state,
            State::Active | State::LogonSent | State::AwaitingLogon
        ) {
            self.begin(msg_type::LOGOUT, now)
                .field(tag::TEXT, why.describe().as_bytes());
            self.emit(now, wire);
        }
        self.state = State::Disconnected;
        why
    }

    /// A message numbered `seq` came while `next_in` was expected: asks for
    /// the rest once, until the resend has caught up.
    fn gap(&mut self, seq: u64, now: Now, wire: &mut impl Wire) {
        if let Some(last) = &mut self.resend_through {
            *last = (*last).max(seq);
            return;
        }
        let begin = self.next_in;
        self.begin(msg_type::RESEND_REQUEST, now)
            .uint(tag::BEGIN_SEQ_NO, begin)
            .uint(tag::END_SEQ_NO, 0);
        if self.emit(now, wire) {
            self.resend_through = Some(seq);
            self.resend_moved_at = now.mono_ns;
            self.counts.resend_requests += 1;
        }
    }

    fn resend_done(&mut self) {
        self.resend_through = None;
        self.resend_patience = 1;
    }

    /// Answers a ResendRequest for `begin ..= end`: each held message
    /// again, and a gap fill over each run of numbers between them.
    fn resend(&mut self, begin: u64, end: u64, now: Now, wire: &mut impl Wire) {
        let mut seq = begin;
        while seq <= end {
            let held = self.store.next_held(seq).filter(|&h| h <= end);
            let upto = held.unwrap_or(end + 1);
            if upto > seq && !self.gap_fill(seq, upto, now, wire) {
                return;
            }
            let Some(held) = held else {
                return;
            };
            if !self.send_again(held, now, wire) {
                return;
            }
            seq = held + 1;
        }
    }

    /// One gap-fill SequenceReset numbered `begin`, moving the other side
    /// on to `next`; `false` when the wire had no room.
    fn gap_fill(&mut self, begin: u64, next: u64, now: Now, wire: &mut impl Wire) -> bool {
        self.writer
            .begin(msg_type::SEQUENCE_RESET)
            .encoded(&self.comp_ids)
            .uint(tag::MSG_SEQ_NUM, begin)
            .field(tag::POSS_DUP_FLAG, b"Y")
            .timestamp(tag::SENDING_TIME, now.unix_ns)
            .timestamp(tag::ORIG_SENDING_TIME, now.unix_ns)
            .field(tag::GAP_FILL_FLAG, b"Y")
            .uint(tag::NEW_SEQ_NO, next);
        if !self.put_again(now, wire) {
            return false;
        }
        self.counts.gap_fills += 1;
        true
    }

    /// The held message numbered `seq` again: its header marked
    /// PossDupFlag=Y with the first SendingTime as OrigSendingTime, its
    /// body as it was; `false` when the wire had no room.
    fn send_again(&mut self, seq: u64, now: Now, wire: &mut impl Wire) -> bool {
        let Some(len) = self.store.get(seq, &mut self.scratch) else {
            return true;
        };
        let Ok(held) = Message::parse(&self.scratch[..len]) else {
            return true;
        };
        let orig = held.get(tag::SENDING_TIME).unwrap_or_default();
        self.writer
            .begin(held.msg_type())
            .encoded(&self.comp_ids)
            .uint(tag::MSG_SEQ_NUM, seq)
            .field(tag::POSS_DUP_FLAG, b"Y")
            .timestamp(tag::SENDING_TIME, now.unix_ns)
            .field(tag::ORIG_SENDING_TIME, orig);
        for (t, value) in held.fields().map_while(Result::ok) {
            let header = matches!(
                t,
                tag::MSG_TYPE
                    | tag::SENDER_COMP_ID
                    | tag::TARGET_COMP_ID
                    | tag::MSG_SEQ_NUM
                    | tag::SENDING_TIME
                    | tag::POSS_DUP_FLAG
                    | tag::ORIG_SENDING_TIME
            );
            if !header {
                self.writer.field(t, value);
            }
        }
        if !self.put_again(now, wire) {
            return false;
        }
        self.counts.resent += 1;
        true
    }

    /// Puts a message of an old number on the wire (no new number is
    /// taken); `false` when it has no room.
    fn put_again(&mut self, now: Now, wire: &mut impl Wire) -> bool {
        match self.writer.finish() {
            Some(bytes) if bytes.len() <= wire.room() => {
                wire.put(bytes);
                self.last_sent = now.mono_ns;
                self.counts.sent += 1;
                true
            }
            _ => false,
        }
    }

    /// Begins a message with the standard header.
    fn begin(&mut self, msg_type: &[u8], now: Now) -> &mut MessageWriter {
        self.writer
            .begin(msg_type)
            .encoded(&self.comp_ids)
            .uint(tag::MSG_SEQ_NUM, self.next_out)
            .timestamp(tag::SENDING_TIME, now.unix_ns)
    }

    /// Finishes the message begun and puts it on the wire, if it fits.
    fn emit(&mut self, now: Now, wire: &mut impl Wire) -> bool {
        match self.writer.finish() {
            Some(bytes) if bytes.len() <= wire.room() => {
                wire.put(bytes);
                self.sent(now);
                true
            }
            _ => false,
        }
    }

    fn sent(&mut self, now: Now) {
        self.next_out += 1;
        self.last_sent = now.mono_ns;
        self.counts.sent += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    /// What the session wrote, a message each.
    #[derive(Default)]
    struct Captured {
        messages: Vec<Vec<u8>>,
        full: bool,
    }

    impl Wire for Captured {
        fn room(&self) -> usize {
            if self.full {
                0
            } else {
                usize::MAX
            }
        }
        fn put(&mut self, message: &[u8]) {
            self.messages.push(message.to_vec());
        }
    }

    impl Captured {
        /// The messages written since the last call, `|` for SOH.
        fn take(&mut self) -> Vec<String> {
            self.messages
                .drain(..)
                .map(|m| {
                    assert!(Message::parse(&m).is_ok(), "whole messages only");
                    String::from_utf8(m).unwrap().replace('\x01', "|")
                })
                .collect()
        }
    }

    fn at(seconds: f64) -> Now {
        Now {
            mono_ns: (seconds * SECOND as f64) as u64,
            unix_ns: 1_796_307_572_000_000_000 + (seconds * SECOND as f64) as u64,
        }
    }

    fn config() -> SessionConfig {
        SessionConfig {
            sender_comp_id: "REDLINE".into(),
            target_comp_id: "VENUE".into(),
            heartbeat_s: 30,
            answer_timeout_ms: 5_000,
            credentials: None,
        }
    }

    /// A message from the venue.
    fn venue(seq: u64, kind: &[u8], fields: &[(u32, &[u8])]) -> Vec<u8> {
        let mut writer = MessageWriter::default();
        writer
            .begin(kind)
            .field(tag::SENDER_COMP_ID, b"VENUE")
            .field(tag::TARGET_COMP_ID, b"REDLINE")
            .uint(tag::MSG_SEQ_NUM, seq)
            .timestamp(tag::SENDING_TIME, at(0.0).unix_ns);
        for &(t, value) in fields {
            writer.field(t, value);
        }
        writer.finish().unwrap().to_vec()
    }

    fn receive(session: &mut Session, bytes: &[u8], now: Now, wire: &mut Captured) -> Verdict {
        session.on_message(&Message::parse(bytes).unwrap(), now, wire)
    }

    /// A session logged on at time 0, both sides at 1, the logons taken
    /// from the wire.
    fn active() -> (Session, Captured) {
        let mut session = Session::new(&config());
        let mut wire = Captured::default();
        assert!(session.logon(at(0.0), true, &mut wire));
        let logon = venue(1, msg_type::LOGON, &[(tag::HEART_BT_INT, b"30")]);
        assert_eq!(
            receive(&mut session, &logon, at(0.1), &mut wire),
            Verdict::Session
        );
        assert_eq!(session.state(), State::Active);
        wire.take();
        (session, wire)
    }

    #[test]
    fn a_logon_resets_the_numbers_and_heartbeats_follow_silence() {
        let mut session = Session::new(&config());
        let mut wire = Captured::default();
        assert!(session.logon(at(0.0), true, &mut wire));
        let sent = wire.take();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].contains(
                "|35=A|49=REDLINE|56=VENUE|34=1|52=20261203-14:19:32.000|98=0|108=30|141=Y|"
            ),
            "{}",
            sent[0]
        );
        assert_eq!(session.state(), State::LogonSent);
        let logon = venue(1, msg_type::LOGON, &[(tag::HEART_BT_INT, b"30")]);
        receive(&mut session, &logon, at(0.1), &mut wire);
        assert_eq!((session.state(), session.next_in()), (State::Active, 2));
        assert_eq!(session.tick(at(29.9), &mut wire), None);
        assert!(wire.take().is_empty(), "nothing due before the interval");
        session.tick(at(30.0), &mut wire);
        let sent = wire.take();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].contains("|35=0|49=REDLINE|56=VENUE|34=2|"),
            "{}",
            sent[0]
        );
    }

    #[test]
    fn a_test_request_is_answered_with_its_id() {
        let (mut session, mut wire) = active();
        let request = venue(2, msg_type::TEST_REQUEST, &[(tag::TEST_REQ_ID, b"probe-7")]);
        assert_eq!(
            receive(&mut session, &request, at(1.0), &mut wire),
            Verdict::Session
        );
        let sent = wire.take();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].contains("|35=0|") && sent[0].contains("|112=probe-7|"),
            "{}",
            sent[0]
        );
    }

    #[test]
    fn silence_draws_a_test_request_and_then_the_end() {
        let (mut session, mut wire) = active();
        // Heartbeats going out do not count as hearing from the venue.
        assert_eq!(session.tick(at(30.0), &mut wire), None);
        assert_eq!(session.tick(at(36.0), &mut wire), None);
        assert!(wire.take().iter().all(|m| m.contains("|35=0|")));
        assert_eq!(session.tick(at(36.2), &mut wire), None);
        let sent = wire.take();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].contains("|35=1|") && sent[0].contains("|112=1|"),
            "{}",
            sent[0]
        );
        // A heartbeat with another id does not answer it ...
        let other = venue(2, msg_type::HEARTBEAT, &[(tag::TEST_REQ_ID, b"9")]);
        receive(&mut session, &other, at(40.0), &mut wire);
        assert_eq!(session.tick(at(66.3), &mut wire), Some(End::NoHeartbeat));
        let sent = wire.take();
        assert!(
            sent.last().unwrap().contains("|35=5|")
                && sent.last().unwrap().contains("|58=no answer"),
            "{sent:?}"
        );
        assert_eq!(session.state(), State::Disconnected);
        // ... and the one with its id does.
        let (mut session, mut wire) = active();
        session.tick(at(36.2), &mut wire);
        let answer = venue(2, msg_type::HEARTBEAT, &[(tag::TEST_REQ_ID, b"1")]);
        receive(&mut session, &answer, at(37.0), &mut wire);
        assert_eq!(session.tick(at(66.3), &mut wire), None);
        assert_eq!(session.counts().test_requests, 1);
    }

    #[test]
    fn a_gap_is_asked_for_once_and_the_resend_taken_in_order() {
        let (mut session, mut wire) = active();
        let report = |seq, dup: bool| {
            let mut fields = vec![(tag::CL_ORD_ID, &b"42"[..])];
            if dup {
                fields.push((tag::POSS_DUP_FLAG, b"Y"));
            }
            venue(seq, msg_type::EXECUTION_REPORT, &fields)
        };
        assert_eq!(
            receive(&mut session, &report(2, false), at(1.0), &mut wire),
            Verdict::App
        );
        // 3 and 4 are lost.
        assert_eq!(
            receive(&mut session, &report(5, false), at(1.1), &mut wire),
            Verdict::Skipped
        );
        assert_eq!(
            receive(&mut session, &report(6, false), at(1.2), &mut wire),
            Verdict::Skipped
        );
        let sent = wire.take();
        assert_eq!(sent.len(), 1, "one request for the gap: {sent:?}");
        assert!(
            sent[0].contains("|35=2|") && sent[0].contains("|7=3|16=0|"),
            "{}",
            sent[0]
        );
        assert!(session.awaiting_resend());
        for seq in 3..=6 {
            assert_eq!(
                receive(&mut session, &report(seq, true), at(1.3), &mut wire),
                Verdict::App,
                "resent {seq}"
            );
        }
        assert!(!session.awaiting_resend());
        // A second copy of one already taken is skipped.
        assert_eq!(
            receive(&mut session, &report(4, true), at(1.4), &mut wire),
            Verdict::Skipped
        );
        assert_eq!(
            receive(&mut session, &report(7, false), at(1.5), &mut wire),
            Verdict::App
        );
        assert_eq!(session.next_in(), 8);
        let counts = session.counts();
        assert_eq!((counts.resend_requests, counts.skipped), (1, 3));
        assert!(wire.take().is_empty());
    }

    #[test]
    fn a_gap_fill_moves_the_expected_number_on() {
        let (mut session, mut wire) = active();
        receive(
            &mut session,
            &venue(5, msg_type::HEARTBEAT, &[]),
            at(1.0),
            &mut wire,
        );
        assert!(session.awaiting_resend());
        let fill = venue(
            2,
            msg_type::SEQUENCE_RESET,
            &[
                (tag::POSS_DUP_FLAG, b"Y"),
                (tag::GAP_FILL_FLAG, b"Y"),
                (tag::NEW_SEQ_NO, b"6"),
            ],
        );
        assert_eq!(
            receive(&mut session, &fill, at(1.1), &mut wire),
            Verdict::Session
        );
        assert_eq!(session.next_in(), 6);
        assert!(!session.awaiting_resend());
        // Reset mode sets the number whatever the message's own.
        let reset = venue(1, msg_type::SEQUENCE_RESET, &[(tag::NEW_SEQ_NO, b"40")]);
        assert_eq!(
            receive(&mut session, &reset, at(1.2), &mut wire),
            Verdict::Session
        );
        assert_eq!(session.next_in(), 40);
    }

    #[test]
    fn a_resend_that_never_comes_ends_the_session() {
        let (mut session, mut wire) = active();
        receive(
            &mut session,
            &venue(5, msg_type::HEARTBEAT, &[]),
            at(1.0),
            &mut wire,
        );
        assert_eq!(session.tick(at(5.9), &mut wire), None);
        assert_eq!(session.tick(at(6.1), &mut wire), Some(End::ResendStalled));
        // Asked again at the next logon, the same venue is given twice
        // as long, then four times, ...
        // (The first whole second after a logon at `from` at which a
        // resend that stands still ends the session: past 5 s x patience.)
        // The venue's Logon is numbered `seq`, past what is expected.
        let stall = |session: &mut Session, wire: &mut Captured, from: f64, seq: u64| {
            session.disconnected();
            assert!(session.logon(at(from), false, wire));
            let logon = venue(seq, msg_type::LOGON, &[(tag::HEART_BT_INT, b"30")]);
            receive(session, &logon, at(from), wire);
            assert!(session.awaiting_resend());
            let mut second = 1;
            loop {
                match session.tick(at(from + f64::from(second)), wire) {
                    None => second += 1,
                    Some(end) => {
                        assert_eq!(end, End::ResendStalled);
                        return second;
                    }
                }
            }
        };
        assert_eq!(stall(&mut session, &mut wire, 10.0, 5), 11);
        assert_eq!(stall(&mut session, &mut wire, 100.0, 5), 21);
        assert_eq!(stall(&mut session, &mut wire, 200.0, 5), 41);
        // A resend that catches up gives the next its usual time.
        session.disconnected();
        assert!(session.logon(at(500.0), false, &mut wire));
        let logon = venue(5, msg_type::LOGON, &[(tag::HEART_BT_INT, b"30")]);
        receive(&mut session, &logon, at(500.0), &mut wire);
        let fill = venue(
            2,
            msg_type::SEQUENCE_RESET,
            &[
                (tag::POSS_DUP_FLAG, b"Y"),
                (tag::GAP_FILL_FLAG, b"Y"),
                (tag::NEW_SEQ_NO, b"6"),
            ],
        );
        receive(&mut session, &fill, at(500.5), &mut wire);
        assert!(!session.awaiting_resend());
        assert_eq!(stall(&mut session, &mut wire, 600.0, 9), 6);
    }

    #[test]
    fn a_number_gone_back_without_poss_dup_ends_the_session() {
        let (mut session, mut wire) = active();
        receive(
            &mut session,
            &venue(2, msg_type::HEARTBEAT, &[]),
            at(1.0),
            &mut wire,
        );
        assert_eq!(
            receive(
                &mut session,
                &venue(2, msg_type::HEARTBEAT, &[]),
                at(1.1),
                &mut wire
            ),
            Verdict::Ended(End::SeqTooLow {
                expected: 3,
                received: 2
            })
        );
        let sent = wire.take();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("|35=5|") && sent[0].contains("|58=the venue's MsgSeqNum"));
        assert_eq!(session.state(), State::Disconnected);
    }

    #[test]
    fn the_venues_resend_request_gets_one_gap_fill_and_no_order_twice() {
        let (mut session, mut wire) = active();
        for _ in 0..3 {
            session
                .send(
                    msg_type::NEW_ORDER_SINGLE,
                    OnResend::GapFill,
                    at(1.0),
                    &mut wire,
                    |w| {
                        w.uint(tag::CL_ORD_ID, 9);
                    },
                )
                .unwrap();
        }
        wire.take();
        assert_eq!(session.next_out(), 5);
        let request = venue(
            2,
            msg_type::RESEND_REQUEST,
            &[(tag::BEGIN_SEQ_NO, b"2"), (tag::END_SEQ_NO, b"0")],
        );
        assert_eq!(
            receive(&mut session, &request, at(2.0), &mut wire),
            Verdict::Resent { begin: 2, end: 4 },
            "to infinity: as far as sent"
        );
        let sent = wire.take();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(
            sent[0].contains("|35=4|49=REDLINE|56=VENUE|34=2|43=Y|52=")
                && sent[0].contains("|122=")
                && sent[0].contains("|123=Y|36=5|"),
            "{}",
            sent[0]
        );
        assert_eq!(
            session.next_out(),
            5,
            "a gap fill takes no number of its own"
        );
        assert_eq!(session.counts().gap_fills, 1);
    }

    #[test]
    fn a_resend_request_sends_cancels_again_and_gap_fills_orders() {
        let (mut session, mut wire) = active();
        let send = |session: &mut Session, wire: &mut Captured, kind, resend, id| {
            session
                .send(kind, resend, at(1.0), wire, |w| {
                    w.uint(tag::CL_ORD_ID, id);
                })
                .unwrap();
        };
        send(
            &mut session,
            &mut wire,
            msg_type::NEW_ORDER_SINGLE,
            OnResend::GapFill,
            1,
        );
        send(
            &mut session,
            &mut wire,
            msg_type::ORDER_CANCEL_REQUEST,
            OnResend::Send,
            1,
        );
        send(
            &mut session,
            &mut wire,
            msg_type::NEW_ORDER_SINGLE,
            OnResend::GapFill,
            2,
        );
        send(
            &mut session,
            &mut wire,
            msg_type::ORDER_CANCEL_REQUEST,
            OnResend::Send,
            2,
        );
        let first = wire.take();
        assert_eq!(session.next_out(), 6);
        let request = venue(
            2,
            msg_type::RESEND_REQUEST,
            &[(tag::BEGIN_SEQ_NO, b"1"), (tag::END_SEQ_NO, b"0")],
        );
        receive(&mut session, &request, at(2.0), &mut wire);
        let sent = wire.take();
        assert_eq!(sent.len(), 4, "{sent:?}");
        // 1 (the Logon) and 2 (an order): one gap fill to 3.
        assert!(
            sent[0].contains("|35=4|") && sent[0].contains("|34=1|") && sent[0].contains("|36=3|")
        );
        // 3, the cancel, again: marked, first time kept, body the same.
        assert!(sent[1].contains("|35=F|49=REDLINE|56=VENUE|34=3|43=Y|52=20261203-14:19:34.000|122=20261203-14:19:33.000|11=1|10="), "{}", sent[1]);
        assert!(
            first[1].contains("|34=3|52=20261203-14:19:33.000|11=1|"),
            "{}",
            first[1]
        );
        assert!(
            sent[2].contains("|35=4|") && sent[2].contains("|34=4|") && sent[2].contains("|36=5|")
        );
        assert!(
            sent[3].contains("|35=F|")
                && sent[3].contains("|34=5|43=Y|")
                && sent[3].contains("|11=2|")
        );
        assert_eq!(session.next_out(), 6, "a resend takes no new number");
        let counts = session.counts();
        assert_eq!((counts.gap_fills, counts.resent), (2, 2));
        // A range that ends early stops there.
        let request = venue(
            3,
            msg_type::RESEND_REQUEST,
            &[(tag::BEGIN_SEQ_NO, b"3"), (tag::END_SEQ_NO, b"4")],
        );
        receive(&mut session, &request, at(3.0), &mut wire);
        let sent = wire.take();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(
            sent[0].contains("|34=3|43=Y|")
                && sent[1].contains("|34=4|")
                && sent[1].contains("|36=5|")
        );
    }

    #[test]
    fn a_message_for_someone_else_ends_the_session() {
        let (mut session, mut wire) = active();
        let mut writer = MessageWriter::default();
        writer
            .begin(msg_type::HEARTBEAT)
            .field(tag::SENDER_COMP_ID, b"OTHER")
            .field(tag::TARGET_COMP_ID, b"REDLINE")
            .uint(tag::MSG_SEQ_NUM, 2);
        let bytes = writer.finish().unwrap().to_vec();
        assert_eq!(
            receive(&mut session, &bytes, at(1.0), &mut wire),
            Verdict::Ended(End::WrongCompId)
        );
        let (mut session, mut wire) = active();
        let mut writer = MessageWriter::default();
        writer
            .begin(msg_type::HEARTBEAT)
            .field(tag::SENDER_COMP_ID, b"VENUE")
            .field(tag::TARGET_COMP_ID, b"REDLINE");
        let bytes = writer.finish().unwrap().to_vec();
        assert_eq!(
            receive(&mut session, &bytes, at(1.0), &mut wire),
            Verdict::Ended(End::NoSeqNum)
        );
    }

    #[test]
    fn a_logon_must_be_answered_by_a_logon_in_time() {
        let mut session = Session::new(&config());
        let mut wire = Captured::default();
        session.logon(at(0.0), true, &mut wire);
        assert_eq!(
            receive(
                &mut session,
                &venue(1, msg_type::HEARTBEAT, &[]),
                at(0.1),
                &mut wire
            ),
            Verdict::Ended(End::UnexpectedLogon)
        );
        session.logon(at(1.0), true, &mut wire);
        assert_eq!(session.tick(at(5.9), &mut wire), None);
        assert_eq!(session.tick(at(6.1), &mut wire), Some(End::LogonTimeout));
        assert_eq!(session.state(), State::Disconnected);
        let (mut session, mut wire) = active();
        assert_eq!(
            receive(
                &mut session,
                &venue(2, msg_type::LOGON, &[]),
                at(1.0),
                &mut wire
            ),
            Verdict::Ended(End::UnexpectedLogon)
        );
    }

    #[test]
    fn logouts_either_way() {
        let (mut session, mut wire) = active();
        assert!(session.logout(at(1.0), &mut wire));
        assert!(wire.take()[0].contains("|35=5|"));
        assert_eq!(session.state(), State::LogoutSent);
        assert_eq!(
            receive(
                &mut session,
                &venue(2, msg_type::LOGOUT, &[]),
                at(1.1),
                &mut wire
            ),
            Verdict::Ended(End::LoggedOut)
        );
        assert!(wire.take().is_empty(), "an answer is not answered");
        // Unanswered, it ends after the timeout.
        let (mut session, mut wire) = active();
        session.logout(at(1.0), &mut wire);
        assert_eq!(session.tick(at(6.1), &mut wire), Some(End::LoggedOut));
        // The venue's own is answered.
        let (mut session, mut wire) = active();
        let logout = venue(2, msg_type::LOGOUT, &[(tag::TEXT, b"end of day")]);
        assert_eq!(
            receive(&mut session, &logout, at(1.0), &mut wire),
            Verdict::Ended(End::VenueLoggedOut)
        );
        assert_eq!(session.logout_text(), b"end of day");
        assert!(wire.take()[0].contains("|35=5|"));
    }

    #[test]
    fn a_reconnection_keeps_the_numbers_and_asks_for_what_it_missed() {
        let (mut session, mut wire) = active();
        session
            .send(
                msg_type::NEW_ORDER_SINGLE,
                OnResend::GapFill,
                at(1.0),
                &mut wire,
                |w| {
                    w.uint(tag::CL_ORD_ID, 9);
                },
            )
            .unwrap();
        receive(
            &mut session,
            &venue(2, msg_type::EXECUTION_REPORT, &[]),
            at(1.1),
            &mut wire,
        );
        session.disconnected();
        wire.take();
        assert!(session.logon(at(10.0), false, &mut wire));
        let sent = wire.take();
        assert!(
            sent[0].contains("|35=A|") && sent[0].contains("|34=3|"),
            "{}",
            sent[0]
        );
        assert!(!sent[0].contains("|141="), "{}", sent[0]);
        // The venue sent 3 and 4 while the line was down.
        let logon = venue(5, msg_type::LOGON, &[(tag::HEART_BT_INT, b"30")]);
        assert_eq!(
            receive(&mut session, &logon, at(10.1), &mut wire),
            Verdict::Session
        );
        assert_eq!(session.state(), State::Active);
        let sent = wire.take();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].contains("|35=2|") && sent[0].contains("|7=3|16=0|"),
            "{}",
            sent[0]
        );
        // The venue resends 3 and 4, and gap-fills its Logon's number.
        for seq in 3..=4 {
            let resent = venue(
                seq,
                msg_type::EXECUTION_REPORT,
                &[(tag::POSS_DUP_FLAG, b"Y")],
            );
            assert_eq!(
                receive(&mut session, &resent, at(10.2), &mut wire),
                Verdict::App
            );
        }
        let fill = venue(
            5,
            msg_type::SEQUENCE_RESET,
            &[
                (tag::POSS_DUP_FLAG, b"Y"),
                (tag::GAP_FILL_FLAG, b"Y"),
                (tag::NEW_SEQ_NO, b"6"),
            ],
        );
        receive(&mut session, &fill, at(10.3), &mut wire);
        assert_eq!(session.next_in(), 6);
        assert!(!session.awaiting_resend());
    }

    #[test]
    fn a_resumed_session_logs_on_at_its_numbers_and_gap_fills_the_last_runs() {
        let mut session = Session::new(&config());
        let mut wire = Captured::default();
        session.resume(12, 7);
        assert!(session.logon(at(0.0), false, &mut wire));
        let sent = wire.take();
        assert!(
            sent[0].contains("|35=A|") && sent[0].contains("|34=12|"),
            "{}",
            sent[0]
        );
        assert!(!sent[0].contains("|141="), "{}", sent[0]);
        let logon = venue(7, msg_type::LOGON, &[(tag::HEART_BT_INT, b"30")]);
        receive(&mut session, &logon, at(0.1), &mut wire);
        assert_eq!((session.state(), session.next_in()), (State::Active, 8));
        // The venue missed the last run's 10 and 11 (recorded, never
        // written): nothing of them is held, so one gap fill covers both.
        let request = venue(
            8,
            msg_type::RESEND_REQUEST,
            &[(tag::BEGIN_SEQ_NO, b"10"), (tag::END_SEQ_NO, b"11")],
        );
        receive(&mut session, &request, at(0.2), &mut wire);
        let sent = wire.take();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(
            sent[0].contains("|35=4|") && sent[0].contains("|34=10|"),
            "{}",
            sent[0]
        );
        assert!(sent[0].contains("|123=Y|36=12|"), "{}", sent[0]);
        // Numbers of nothing are taken as 1.
        let mut fresh = Session::new(&config());
        fresh.resume(0, 0);
        assert_eq!((fresh.next_out(), fresh.next_in()), (1, 1));
    }

    #[test]
    fn an_acceptor_answers_a_logon_with_one() {
        let mut redline = Session::new(&config());
        let mut venue = Session::new(&SessionConfig {
            sender_comp_id: "VENUE".into(),
            target_comp_id: "REDLINE".into(),
            ..config()
        });
        let (mut to_venue, mut to_redline) = (Captured::default(), Captured::default());
        venue.accept(at(0.0));
        redline.logon(at(0.0), true, &mut to_venue);
        let logon = to_venue.messages.remove(0);
        assert_eq!(
            receive(&mut venue, &logon, at(0.1), &mut to_redline),
            Verdict::Session
        );
        assert_eq!(venue.state(), State::Active);
        let answer = to_redline.messages.remove(0);
        assert_eq!(
            receive(&mut redline, &answer, at(0.2), &mut to_venue),
            Verdict::Session
        );
        assert_eq!(redline.state(), State::Active);
        assert!(to_venue.messages.is_empty() && to_redline.messages.is_empty());
        // Anything else first ends it.
        venue.disconnected();
        venue.accept(at(1.0));
        let heartbeat = {
            let mut w = MessageWriter::default();
            w.begin(msg_type::HEARTBEAT)
                .field(tag::SENDER_COMP_ID, b"REDLINE")
                .field(tag::TARGET_COMP_ID, b"VENUE")
                .uint(tag::MSG_SEQ_NUM, 2);
            w.finish().unwrap().to_vec()
        };
        assert_eq!(
            receive(&mut venue, &heartbeat, at(1.1), &mut to_redline),
            Verdict::Ended(End::UnexpectedLogon)
        );
    }

    #[test]
    fn credentials_go_in_the_logon_and_a_wrong_pair_is_refused() {
        let pair = |username: &str, password: &str| {
            Some(Credentials {
                username: username.into(),
                password: password.into(),
            })
        };
        let mut venue = Session::new(&SessionConfig {
            sender_comp_id: "VENUE".into(),
            target_comp_id: "REDLINE".into(),
            credentials: pair("desk7", "s3cret"),
            ..config()
        });
        for (given, verdict) in [
            (pair("desk7", "s3cret"), Verdict::Session),
            (
                pair("desk7", "guess"),
                Verdict::Ended(End::WrongCredentials),
            ),
            (None, Verdict::Ended(End::WrongCredentials)),
        ] {
            let mut redline = Session::new(&SessionConfig {
                credentials: given.clone(),
                ..config()
            });
            let (mut to_venue, mut to_redline) = (Captured::default(), Captured::default());
            venue.disconnected();
            venue.accept(at(0.0));
            redline.logon(at(0.0), true, &mut to_venue);
            let logon = to_venue.messages.remove(0);
            let text = String::from_utf8_lossy(&logon).replace('\x01', "|");
            assert_eq!(text.contains("|553=desk7|554="), given.is_some(), "{text}");
            assert_eq!(
                receive(&mut venue, &logon, at(0.1), &mut to_redline),
                verdict
            );
            // Refused, the answer is a Logout, which ends redline's side.
            let answer = to_redline.messages.remove(0);
            let ended = receive(&mut redline, &answer, at(0.2), &mut to_venue);
            if verdict == Verdict::Session {
                assert_eq!(ended, Verdict::Session);
            } else {
                assert_eq!(ended, Verdict::Ended(End::LogonRefused));
                assert!(to_venue.messages.is_empty(), "a refusal is not answered");
            }
        }
        let shown = format!("{:?}", pair("desk7", "s3cret"));
        assert!(
            !shown.contains("s3cret") && shown.contains("desk7"),
            "{shown}"
        );
    }

    #[test]
    fn nothing_goes_unless_logged_on_and_with_room() {
        let mut session = Session::new(&config());
        let mut wire = Captured::default();
        let order = |w: &mut MessageWriter| {
            w.uint(tag::CL_ORD_ID, 1);
        };
        assert_eq!(
            session.send(
                msg_type::NEW_ORDER_SINGLE,
                OnResend::GapFill,
                at(0.0),
                &mut wire,
                order
            ),
            Err(NotSent::NotActive)
        );
        let (mut session, mut wire) = active();
        wire.full = true;
        assert_eq!(
            session.send(
                msg_type::NEW_ORDER_SINGLE,
                OnResend::GapFill,
                at(1.0),
                &mut wire,
                order
            ),
            Err(NotSent::NoRoom)
        );
        assert_eq!(
            session.send(
                msg_type::NEW_ORDER_SINGLE,
                OnResend::GapFill,
                at(1.0),
                &mut wire,
                |w| {
                    w.field(tag::TEXT, &[b'x'; 5000]);
                }
            ),
            Err(NotSent::TooLarge)
        );
        assert_eq!(session.next_out(), 2, "a message not sent takes no number");
        wire.full = false;
        session
            .send(
                msg_type::NEW_ORDER_SINGLE,
                OnResend::GapFill,
                at(1.0),
                &mut wire,
                order,
            )
            .unwrap();
        assert!(wire.take()[0].contains("|35=D|49=REDLINE|56=VENUE|34=2|"));
    }
}
