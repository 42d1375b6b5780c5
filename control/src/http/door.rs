//! The listener's front door. tiny_http 0.12 sets no socket timeouts, no
//! header size limit, and starts a thread per connection without bound
//! (its issues #143 and #56), so redline accepts admin connections itself,
//! on one thread with mio, and relays each to tiny_http over a Unix socket
//! in a private directory that nothing else can reach. Here:
//!
//! - at most [`Limits::connections`] connections at once. At the cap, a new
//!   one replaces the oldest still sending its request (a slow client
//!   cannot lock out probes); when every one is mid-request past that, the
//!   new one is answered 503 and closed;
//! - a request's headers and body must arrive within
//!   [`Limits::request_timeout`] (408), headers within
//!   [`Limits::header_bytes`] (431), a declared body within [`BODY_LIMIT`]
//!   (413); chunked bodies are refused (411);
//! - a connection idle for [`Limits::idle_timeout`], or whose client stops
//!   reading its answer for as long, is closed.
//!
//! A connection reaches tiny_http only once its first request's headers
//! are complete, so tiny_http has at most as many connections (and
//! threads) as the cap, and none for a client still dribbling bytes. The
//! door never panics on what a client sends; it only counts and closes.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::admin::BODY_LIMIT;

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);

/// Bytes each direction may hold for a connection before it stops reading.
const BUFFER: usize = 256 * 1024;

/// How long a refused client's remaining bytes are read and dropped after
/// its answer, so that closing does not reset the connection before the
/// client reads why.
const LINGER: Duration = Duration::from_secs(1);

/// The door's limits (`[control]` in config).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections at once.
    pub connections: usize,
    /// Bytes in one request's line and headers.
    pub header_bytes: usize,
    /// Time from a request's first byte (or the connection's start) to its
    /// last.
    pub request_timeout: Duration,
    /// Time a connection may pass with nothing moving either way.
    pub idle_timeout: Duration,
}

/// Why the door closed connections, counted; read by `/metrics`.
#[derive(Debug, Default)]
pub struct DoorCounters {
    /// Open now.
    pub open: AtomicU64,
    /// Closed for each reason, in [`CLOSE_REASONS`] order.
    pub closed: [AtomicU64; CLOSE_REASONS.len()],
}

impl DoorCounters {
    /// Requests refused as malformed: heads too large, bodies too large or
    /// chunked.
    pub fn malformed(&self) -> u64 {
        [
            Close::HeadersTooLarge,
            Close::BodyTooLarge,
            Close::ChunkedBody,
        ]
        .iter()
        // Relaxed: counts read for display.
        .map(|&why| self.closed[why as usize].load(Ordering::Relaxed))
        .sum()
    }
}

/// The reasons the door closes a connection, as metric labels.
pub const CLOSE_REASONS: [&str; 7] = [
    "replaced_slow",
    "over_limit",
    "request_timeout",
    "headers_too_large",
    "body_too_large",
    "chunked_body",
    "idle",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    ReplacedSlow,
    OverLimit,
    RequestTimeout,
    HeadersTooLarge,
    BodyTooLarge,
    ChunkedBody,
    Idle,
}

impl Close {
    /// The answer the client gets, if any.
    fn answer(self) -> Option<(u16, &'static str, &'static str)> {
        match self {
            Close::OverLimit => Some((503, "Service Unavailable", "too many admin connections")),
            Close::RequestTimeout => Some((408, "Request Timeout", "request too slow")),
            Close::HeadersTooLarge => Some((
                431,
                "Request Header Fields Too Large",
                "request headers too large",
            )),
            Close::BodyTooLarge => Some((413, "Payload Too Large", "request body too large")),
            Close::ChunkedBody => Some((411, "Length Required", "send a Content-Length")),
            Close::ReplacedSlow | Close::Idle => None,
        }
    }
}

/// The running door.
pub struct FrontDoor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    handle: Option<JoinHandle<()>>,
    /// The private directory of the Unix socket; removed on drop.
    _dir: tempfile::TempDir,
}

impl FrontDoor {
    /// Binds `listen` and starts relaying to a Unix socket in a new private
    /// directory; returns the door and the socket's path for tiny_http to
    /// listen on (it must be bound before the first client arrives, which
    /// the door survives: a refused relay closes that one connection).
    ///
    /// # Errors
    ///
    /// When `listen` cannot be bound or the directory made.
    pub fn open(
        listen: SocketAddr,
        limits: Limits,
        counters: Arc<DoorCounters>,
    ) -> anyhow::Result<(FrontDoor, PathBuf)> {
        let dir = tempfile::Builder::new()
            .prefix("redline-admin-")
            .tempdir()
            .context("cannot make the admin socket's directory")?;
        let socket = dir.path().join("admin.sock");
        let mut listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = std::thread::Builder::new()
            .name("redline-door".into())
            .spawn({
                let stop = Arc::clone(&stop);
                let socket = socket.clone();
                move || {
                    Relay {
                        poll,
                        listener,
                        upstream: socket,
                        limits,
                        conns: (0..limits.connections).map(|_| None).collect(),
                        counters,
                    }
                    .run(&stop)
                }
            })
            .context("cannot start the admin front door")?;
        Ok((
            FrontDoor {
                addr,
                stop,
                waker,
                handle: Some(handle),
                _dir: dir,
            },
            socket,
        ))
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FrontDoor {
    fn drop(&mut self) {
        // Relaxed: the flag carries no data; the join orders the rest.
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.waker.wake();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Where a connection's current request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parse {
    /// In the request line and headers, this many bytes so far.
    Headers(usize),
    /// In the body, this many bytes to go.
    Body(u64),
}

struct Conn {
    client: TcpStream,
    /// Connected once the first request's headers are complete.
    upstream: Option<UnixStream>,
    to_upstream: Vec<u8>,
    to_client: Vec<u8>,
    parse: Parse,
    /// Whether the first request's head is complete (and so worth a
    /// connection to tiny_http).
    ready: bool,
    /// The current request's headers, to read its framing from.
    headers: Vec<u8>,
    /// When the current request must be complete; `None` between requests.
    deadline: Option<Instant>,
    moved: Instant,
    client_done: bool,
    upstream_done: bool,
    opened: Instant,
    /// Answered with a refusal and half-closed: until then, what the client
    /// still sends is read and dropped.
    closing: Option<Instant>,
}

struct Relay {
    poll: Poll,
    listener: TcpListener,
    upstream: PathBuf,
    limits: Limits,
    conns: Vec<Option<Conn>>,
    counters: Arc<DoorCounters>,
}

impl Relay {
    fn run(mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(256);
        // Relaxed: see `FrontDoor::drop`.
        while !stop.load(Ordering::Relaxed) {
            if self
                .poll
                .poll(&mut events, Some(Duration::from_millis(100)))
                .is_err()
            {
                continue;
            }
            for event in &events {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(token) => self.pump(token / 2),
                }
            }
            self.expire();
        }
    }

    fn accept(&mut self) {
        loop {
            let (client, _) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // A connection that failed before it was taken.
                Err(_) => continue,
            };
            let slot = match self.conns.iter().position(Option::is_none) {
                Some(slot) => slot,
                None => match self.slowest() {
                    Some(slot) => {
                        self.close(slot, Close::ReplacedSlow);
                        slot
                    }
                    None => {
                        let mut client = client;
                        refuse(&mut client, Close::OverLimit);
                        self.count(Close::OverLimit);
                        continue;
                    }
                },
            };
            // Answers go out in more than one write (head, body); without
            // this, Nagle's algorithm holds the second until the client's
            // delayed ACK, tens of ms later.
            let _ = client.set_nodelay(true);
            let now = Instant::now();
            let mut conn = Conn {
                client,
                upstream: None,
                to_upstream: Vec::new(),
                to_client: Vec::new(),
                parse: Parse::Headers(0),
                ready: false,
                headers: Vec::new(),
                deadline: Some(now + self.limits.request_timeout),
                moved: now,
                client_done: false,
                upstream_done: false,
                opened: now,
                closing: None,
            };
            let registered = self.poll.registry().register(
                &mut conn.client,
                Token(2 * slot),
                Interest::READABLE | Interest::WRITABLE,
            );
            if registered.is_ok() {
                self.conns[slot] = Some(conn);
                self.counters.open.fetch_add(1, Ordering::Relaxed);
                self.pump(slot);
            }
        }
    }

    /// The oldest connection still in its first request's headers: it has
    /// cost tiny_http nothing yet.
    fn slowest(&self) -> Option<usize> {
        self.conns
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| c.as_ref().map(|c| (slot, c)))
            .filter(|(_, c)| c.upstream.is_none())
            .min_by_key(|(_, c)| c.opened)
            .map(|(slot, _)| slot)
    }

    /// Moves what can be moved for the connection in `slot`, until nothing
    /// moves (mio's events are edge-triggered).
    fn pump(&mut self, slot: usize) {
        let Some(Some(conn)) = self.conns.get_mut(slot) else {
            return;
        };
        let outcome = pump(conn, slot, &self.upstream, &self.limits, &self.poll);
        match outcome {
            Ok(true) => {}
            Ok(false) => self.drop_conn(slot),
            Err(close) => self.close(slot, close),
        }
    }

    /// Closes connections past their deadlines.
    fn expire(&mut self) {
        let now = Instant::now();
        for slot in 0..self.conns.len() {
            let Some(conn) = &self.conns[slot] else {
                continue;
            };
            if conn.closing.is_some_and(|until| now >= until) {
                self.drop_conn(slot);
            } else if conn.deadline.is_some_and(|d| now >= d) {
                self.close(slot, Close::RequestTimeout);
            } else if now.duration_since(conn.moved) >= self.limits.idle_timeout {
                self.close(slot, Close::Idle);
            }
        }
    }

    /// Closes the connection in `slot` for `why`: one with something to
    /// be told (and no answer begun) is told, half-closed, and lingers.
    fn close(&mut self, slot: usize, why: Close) {
        self.count(why);
        let Some(conn) = &mut self.conns[slot] else {
            return;
        };
        if conn.closing.is_none() && conn.to_client.is_empty() && why.answer().is_some() {
            refuse(&mut conn.client, why);
            let _ = conn.client.shutdown(std::net::Shutdown::Write);
            conn.upstream = None;
            conn.deadline = None;
            conn.closing = Some(Instant::now() + LINGER);
            return;
        }
        self.drop_conn(slot);
    }

    fn drop_conn(&mut self, slot: usize) {
        if self.conns[slot].take().is_some() {
            self.counters.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn count(&self, why: Close) {
        // Relaxed: counts read for display.
        self.counters.closed[why as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// One round of relaying; `Ok(false)` when the connection is finished,
/// `Err` when it must be closed for a reason.
fn pump(
    conn: &mut Conn,
    slot: usize,
    socket: &Path,
    limits: &Limits,
    poll: &Poll,
) -> Result<bool, Close> {
    let mut buf = [0u8; 16 * 1024];
    if conn.closing.is_some() {
        loop {
            match conn.client.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Ok(false),
            }
        }
    }
    loop {
        let mut moved = false;
        // Client -> buffer, checked request by request.
        while !conn.client_done && conn.to_upstream.len() < BUFFER {
            match conn.client.read(&mut buf) {
                Ok(0) => conn.client_done = true,
                Ok(n) => {
                    frame(conn, &buf[..n], limits)?;
                    conn.to_upstream.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Ok(false),
            }
        }
        // Connect upstream once a whole request head is in.
        if conn.upstream.is_none() && conn.ready {
            let mut upstream = UnixStream::connect(socket).map_err(|_| Close::OverLimit)?;
            poll.registry()
                .register(
                    &mut upstream,
                    Token(2 * slot + 1),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|_| Close::OverLimit)?;
            conn.upstream = Some(upstream);
            moved = true;
        }
        if let Some(upstream) = &mut conn.upstream {
            // Buffer -> tiny_http.
            while !conn.to_upstream.is_empty() {
                match upstream.write(&conn.to_upstream) {
                    Ok(n) => {
                        conn.to_upstream.drain(..n);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Ok(false),
                }
            }
            if conn.client_done && conn.to_upstream.is_empty() {
                let _ = upstream.shutdown(std::net::Shutdown::Write);
            }
            // tiny_http -> buffer.
            while !conn.upstream_done && conn.to_client.len() < BUFFER {
                match upstream.read(&mut buf) {
                    Ok(0) => conn.upstream_done = true,
                    Ok(n) => {
                        conn.to_client.extend_from_slice(&buf[..n]);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => conn.upstream_done = true,
                }
            }
        }
        // Buffer -> client.
        while !conn.to_client.is_empty() {
            match conn.client.write(&conn.to_client) {
                Ok(n) => {
                    conn.to_client.drain(..n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Ok(false),
            }
        }
        if moved {
            conn.moved = Instant::now();
        }
        let answered = conn.upstream_done && conn.to_client.is_empty();
        let abandoned = conn.client_done && conn.upstream.is_none();
        if answered || abandoned {
            return Ok(false);
        }
        if !moved {
            return Ok(true);
        }
    }
}

/// Follows `bytes` from the client through its requests' framing,
/// enforcing the limits.
fn frame(conn: &mut Conn, mut bytes: &[u8], limits: &Limits) -> Result<(), Close> {
    while !bytes.is_empty() {
        match conn.parse {
            Parse::Body(left) => {
                let take = (bytes.len() as u64).min(left);
                bytes = &bytes[take as usize..];
                conn.parse = if left == take {
                    conn.deadline = None;
                    Parse::Headers(0)
                } else {
                    Parse::Body(left - take)
                };
            }
            Parse::Headers(seen) => {
                if seen == 0 && conn.deadline.is_none() {
                    conn.deadline = Some(Instant::now() + limits.request_timeout);
                }
                let end = find_end(&conn.headers, bytes);
                let take = end.unwrap_or(bytes.len());
                if seen + take > limits.header_bytes {
                    return Err(Close::HeadersTooLarge);
                }
                conn.headers.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if end.is_none() {
                    conn.parse = Parse::Headers(seen + take);
                    continue;
                }
                let body = body_length(&conn.headers)?;
                conn.headers.clear();
                conn.ready = true;
                conn.parse = if body == 0 {
                    conn.deadline = None;
                    Parse::Headers(0)
                } else {
                    Parse::Body(body)
                };
            }
        }
    }
    Ok(())
}

/// Where in `more` the head that `so_far` began ends (just past its blank
/// line), if it does.
fn find_end(so_far: &[u8], more: &[u8]) -> Option<usize> {
    let tail = &so_far[so_far.len().saturating_sub(3)..];
    let mut window: Vec<u8> = tail.to_vec();
    for (i, &byte) in more.iter().enumerate() {
        window.push(byte);
        if window.ends_with(b"\r\n\r\n") || window.ends_with(b"\n\n") {
            return Some(i + 1);
        }
        if window.len() > 4 {
            window.remove(0);
        }
    }
    None
}

/// The body length a request head declares.
fn body_length(head: &[u8]) -> Result<u64, Close> {
    let mut length = 0;
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon])
            .trim()
            .to_ascii_lowercase();
        let value = String::from_utf8_lossy(&line[colon + 1..])
            .trim()
            .to_owned();
        match name.as_str() {
            "transfer-encoding" => return Err(Close::ChunkedBody),
            "content-length" => {
                // A length that does not parse is tiny_http's to refuse.
                length = value.parse().unwrap_or(0);
            }
            _ => {}
        }
    }
    if length > BODY_LIMIT as u64 {
        return Err(Close::BodyTooLarge);
    }
    Ok(length)
}

/// Tells a client why it is being closed, if there is anything to say, as
/// far as its socket takes it without waiting.
fn refuse(client: &mut TcpStream, why: Close) {
    if let Some((code, reason, message)) = why.answer() {
        let body = format!("{{\"error\":\"{message}\"}}");
        let answer = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.write(answer.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_end_at_the_blank_line_even_across_reads() {
        assert_eq!(find_end(b"", b"GET / HTTP/1.1\r\n\r\nrest"), Some(18));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r", b"\nrest"), Some(1));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n", b"Host: x\r\n"), None);
    }

    #[test]
    fn bodies_are_framed_by_content_length_and_chunked_is_refused() {
        assert_eq!(
            body_length(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
            Ok(12)
        );
        assert_eq!(body_length(b"GET / HTTP/1.1\r\n\r\n"), Ok(0));
        assert_eq!(
            body_length(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(Close::ChunkedBody)
        );
        assert_eq!(
            body_length(b"POST / HTTP/1.1\r\ncontent-length: 999999999\r\n\r\n"),
            Err(Close::BodyTooLarge)
        );
    }
}
