//! What of a FIX session outlives the process: a memory-mapped file
//! holding the trading day the sequence numbers belong to, the next
//! MsgSeqNum each way, the last NewOrderSingles sent and the last reports
//! the run handed on, so that a restart logs on where the last run left
//! off and takes back the orders that run sent and the reports it took
//! that its journal never got.
//!
//! Why the orders: the journal is written by the side thread a moment
//! after the gateway sends, so a run killed in that moment leaves orders
//! live at the venue that its journal does not hold. Without them a
//! restart would hand their ids out again and take no fill of theirs into
//! its positions. The gateway keeps every order it sends in a ring here,
//! large enough for all that can wait in the audit ring and the side
//! thread at once; a restart takes those newer than the journal's last
//! id back ([`SessionFile::orders_after`]). Reports are the same: a run
//! killed after it took a fill and before its journal got it has moved
//! the numbers past a message the venue will not send again. The gateway
//! keeps each report it hands on, whole, with the MsgSeqNum it came in,
//! in order; a restart that finds its journal holds the first `n` of the
//! last run's reports takes the rest from here
//! ([`SessionFile::reports_after`]). It needs nothing of the venue for
//! them: not its store of what it sent (which may have lost them), nor
//! the sequence numbers of the day (which a reset or a new day makes
//! name nothing).
//!
//! The gateway writes the file with plain stores into the mapping, no
//! system call on its thread: an order and the number of each message it
//! sends before the bytes leave, each report as it hands it on and the
//! number of each message it takes as it takes it. The kernel writes the pages back on its own (and
//! [`SessionFile::sync`] at a clean stop), so all of it survives the
//! process being killed; a crash of the machine can leave it behind, and
//! the venue then refuses the Logon as MsgSeqNum too low, naming the
//! number it expects. A report is recorded as the gateway hands it on,
//! before its number is: a kill between the two leaves a report the file
//! holds whose number the venue would send again, which a restart
//! expects past ([`HandedReport::seq`]).
//!
//! What a store costs: none but the first to a page after the kernel has
//! written it back, which takes a minor page fault (the kernel marks the
//! page dirty again): a few microseconds, once per page per writeback.
//! Every page is mapped writable, its blocks allocated, when the file is
//! opened, so that the rings walking into fresh pages fault on none.
//!
//! Which journal run is the file's last run is told by journal entry
//! numbers, never by the wall clock: the file keeps the journal's next
//! entry when its run began, and a journal run whose first record is at or
//! after it is that run. A clock stepped back across a restart cannot make
//! the journal's older run pass for the file's (its fills would be taken
//! back and counted twice), nor the file's for an older one.
//!
//! Layout, little-endian: the magic `RLFIXSS2`, the trading day's start
//! (ns since the Unix epoch), the next MsgSeqNum out, the next in (0: none
//! recorded that day), the orders recorded (ever), the rings' slots, the
//! journal's next entry when the run that holds the file began, the
//! reports it has handed on; then the orders' ring, 32 bytes an order:
//! id, price, quantity, instrument (u16), side (u8: 0 buy, 1 sell), time
//! in force (u8: 0 limit, 1 IOC), 4 bytes unused; then the reports' ring,
//! 48 bytes a report: its MsgSeqNum (0 for a refusal the gateway made),
//! order id, price, lots filled, lots left, instrument (u16), side (u8),
//! kind (u8: 0 ack, 1 partial fill, 2 fill, 3 cancelled, 4 rejected, 5
//! cancel rejected), the reason's index for the last two (u8), 4 bytes
//! unused.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use memmap2::MmapMut;

use crate::audit::RunReports;
use crate::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, NewOrder, Price, Qty, Reject, Side,
    TimeInForce,
};

const MAGIC: &[u8; 8] = b"RLFIXSS2";
/// The magic of the layout before, which told runs apart by wall-clock
/// time.
const MAGIC_BEFORE: &[u8; 8] = b"RLFIXSS1";
const DAY: usize = 8;
const OUT: usize = 16;
const IN: usize = 24;
const SENT: usize = 32;
const SLOTS: usize = 40;
const RUN: usize = 48;
const HANDED: usize = 56;
/// Where the ring begins.
const RING: usize = 64;
/// Bytes an order takes in the ring.
const ORDER: usize = 32;
/// Bytes a report takes in its ring.
const REPORT: usize = 48;

/// The file's length for rings of `slots`.
const fn file_len(slots: usize) -> usize {
    RING + slots * (ORDER + REPORT)
}

/// The next MsgSeqNum each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqNumbers {
    /// Of the next message sent.
    pub next_out: u64,
    /// Of the next message expected.
    pub next_in: u64,
}

/// The session's file, mapped; one engine at a time holds it.
#[derive(Debug)]
pub struct SessionFile {
    map: MmapMut,
    /// Held for its lock.
    _file: File,
    /// The numbers it held for the day it was opened for.
    found: Option<SeqNumbers>,
    /// The trading day the numbers belong to (ns since the Unix epoch).
    day: u64,
    /// Orders recorded, ever; the next goes to slot `sent % slots`.
    sent: u64,
    /// Reports this run handed on; the next goes to slot `handed % slots`.
    handed: u64,
    /// The first of them the ring may hold (those before were handed on
    /// when it was smaller).
    reports_from: u64,
    /// The rings' slots, a power of two.
    slots: usize,
}

/// Why a restart cannot tell which orders the last run sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersLost {
    /// The oldest order the ring still holds.
    pub oldest: ClientOrderId,
}

impl std::fmt::Display for OrdersLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the orders sent before id {} that the journal does not hold are no longer in it",
            self.oldest.0
        )
    }
}

/// A report a run handed on, as the session file keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandedReport {
    /// The MsgSeqNum of the message it came in; 0 for a refusal the
    /// gateway made itself. A restart that takes it back expects past it,
    /// so that the venue does not send it again.
    pub seq: u64,
    /// The report, as handed on.
    pub report: ExecReport,
}

/// Why a restart cannot take back the reports its journal lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportsLost {
    /// The ring turned past the first of them.
    TurnedPast {
        /// Reports the last run handed on.
        handed: u64,
        /// Of them, those the journal holds.
        journaled: u64,
    },
    /// The slot of report `number` (of the last run's) holds bytes that
    /// are no report.
    Unreadable {
        /// Which.
        number: u64,
    },
}

impl std::fmt::Display for ReportsLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportsLost::TurnedPast { handed, journaled } => write!(
                f,
                "the last run handed on {handed} reports and its journal holds {journaled}: the \
                 first it lacks is no longer in it"
            ),
            ReportsLost::Unreadable { number } => write!(
                f,
                "the slot of the last run's report {number} holds no report"
            ),
        }
    }
}

impl SessionFile {
    /// Opens the file at `path`, creating it (mode 600), for the trading
    /// day that began at `day` (ns since the Unix epoch), with rings of at
    /// least `orders` slots (larger ones are kept, smaller ones grown with
    /// what they hold). Numbers of another day are not taken up (the
    /// day's first Logon resets them); orders of any day are kept, and
    /// the last run's reports until [`SessionFile::begin_run`].
    ///
    /// # Errors
    ///
    /// When it cannot be opened, mapped or locked (another engine holds
    /// it), or holds something else than a FIX session's state.
    pub fn open(path: &Path, day: u64, orders: usize) -> io::Result<SessionFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        // SAFETY: flock on a descriptor this function owns; it reads no
        // memory.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another engine holds it (its lock is taken)",
            ));
        }
        let wanted = orders.max(1).next_power_of_two();
        let len = file.metadata()?.len();
        let (old, kept, reports) = if len == 0 {
            (None, Vec::new(), Vec::new())
        } else {
            let old = read_whole(&file, len)?;
            let kept = old.orders();
            let reports = old.reports();
            (Some(old), kept, reports)
        };
        let slots = old.as_ref().map_or(wanted, |o| o.slots.max(wanted));
        file.set_len(file_len(slots) as u64)?;
        // SAFETY: the file is locked against other engines (flock above)
        // and nothing else of this process maps it; a writer outside
        // redline could change the bytes under us, which reads as other
        // numbers, never as unsound memory (they are plain bytes).
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        populate(&mut map);
        let mut session = SessionFile {
            map,
            _file: file,
            found: None,
            day,
            sent: 0,
            handed: 0,
            reports_from: 0,
            slots,
        };
        session.map[..DAY].copy_from_slice(MAGIC);
        session.put(SLOTS, slots as u64);
        session.put(SENT, 0);
        session.put(HANDED, 0);
        session.put(RUN, old.as_ref().map_or(0, |o| o.run));
        for order in &kept {
            session.record_order(order);
        }
        // The last run's count may exceed what the ring held: it counts
        // on from there.
        let skipped = old.as_ref().map_or(0, |o| o.handed - reports.len() as u64);
        session.handed = skipped;
        session.reports_from = skipped;
        for slot in &reports {
            let at = RING + report_at(session.slots, session.handed);
            session.map[at..at + REPORT].copy_from_slice(slot);
            session.handed += 1;
        }
        session.put(HANDED, session.handed);
        match old {
            Some(old) if old.day == day && old.numbers.next_out > 0 && old.numbers.next_in > 0 => {
                session.put(DAY, day);
                session.record(old.numbers.next_out, old.numbers.next_in);
                session.found = Some(old.numbers);
            }
            _ => session.start_day(day),
        }
        Ok(session)
    }

    /// The numbers the last run of the same trading day left, if any.
    pub fn found(&self) -> Option<SeqNumbers> {
        self.found
    }

    /// The trading day the numbers belong to (ns since the Unix epoch).
    pub fn day(&self) -> u64 {
        self.day
    }

    /// Makes the numbers those of trading day `day`, none recorded yet:
    /// the session reset them at that day's first logon. The orders stay.
    pub fn start_day(&mut self, day: u64) {
        self.put(DAY, day);
        self.put(OUT, 0);
        self.put(IN, 0);
        self.day = day;
    }

    /// Records the next numbers each way; a number that did not move is
    /// not written, so a page is dirtied only by a change.
    #[inline]
    pub fn record(&mut self, next_out: u64, next_in: u64) {
        for (at, value) in [(OUT, next_out), (IN, next_in)] {
            if self.get(at) != value {
                self.put(at, value);
            }
        }
    }

    /// Marks the start of a run, whose journal records are numbered from
    /// `journal_entry` on (the journal's next entry now): the reports it
    /// hands on count from none. Call after [`SessionFile::reports_after`],
    /// which reads the last run's.
    pub fn begin_run(&mut self, journal_entry: u64) {
        self.put(RUN, journal_entry);
        self.handed = 0;
        self.reports_from = 0;
        self.put(HANDED, 0);
    }

    /// The journal's next entry when the run that last began with this
    /// file began (0 for none): a journal run whose first record is
    /// numbered at least this is that run.
    pub fn run_began(&self) -> u64 {
        self.get(RUN)
    }

    /// How many of the reports the file's last run handed on the journal
    /// holds, given what it holds of its last run and the starts since:
    /// its Report records from the entry the file's run began at on.
    pub fn journaled_reports(&self, last_run: &RunReports) -> u64 {
        last_run.reports_from(self.run_began())
    }

    /// Records that `report`, which came in message `seq` (0 for a
    /// refusal of the gateway's own), was handed on: its slot first, then
    /// the count, so a report half written is never counted.
    #[inline]
    pub fn record_report(&mut self, seq: u64, report: &ExecReport) {
        let at = RING + report_at(self.slots, self.handed);
        encode_report(seq, report, &mut self.map[at..at + REPORT]);
        self.handed += 1;
        self.put(HANDED, self.handed);
    }

    /// The reports of the last run after the first `journaled` (those its
    /// journal holds), oldest first: what the last run took and its
    /// journal never got. Allocates (a start calls it).
    ///
    /// # Errors
    ///
    /// When the ring has turned past the first of them (it never does
    /// when sized for the rings it serves), or a slot holds no report.
    pub fn reports_after(&self, journaled: u64) -> Result<Vec<HandedReport>, ReportsLost> {
        let handed = self.handed;
        if journaled >= handed {
            return Ok(Vec::new());
        }
        let held_from = self
            .reports_from
            .max(handed.saturating_sub(self.slots as u64));
        if journaled < held_from {
            return Err(ReportsLost::TurnedPast { handed, journaled });
        }
        (journaled..handed)
            .map(|number| {
                let at = RING + report_at(self.slots, number);
                decode_report(&self.map[at..at + REPORT]).ok_or(ReportsLost::Unreadable { number })
            })
            .collect()
    }

    /// Makes the first logon expect past `seq`, a message whose report a
    /// restart took back from the file: the venue must not send it again.
    /// Only with numbers taken up, and never back.
    pub fn expect_past(&mut self, seq: u64) {
        if let Some(found) = &mut self.found {
            if found.next_in <= seq {
                found.next_in = seq + 1;
                self.put(IN, seq + 1);
            }
        }
    }

    /// Records `order` as sent: its slot first, then the count, so an
    /// order half written is never counted.
    #[inline]
    pub fn record_order(&mut self, order: &NewOrder) {
        let at = RING + (self.sent as usize & (self.slots - 1)) * ORDER;
        let slot = &mut self.map[at..at + ORDER];
        slot[..8].copy_from_slice(&order.id.0.to_le_bytes());
        slot[8..16].copy_from_slice(&order.price.0.to_le_bytes());
        slot[16..24].copy_from_slice(&order.qty.0.to_le_bytes());
        slot[24..26].copy_from_slice(&order.instrument.0.to_le_bytes());
        slot[26] = match order.side {
            Side::Buy => 0,
            Side::Sell => 1,
        };
        slot[27] = match order.tif {
            TimeInForce::Limit => 0,
            TimeInForce::Ioc => 1,
        };
        self.sent += 1;
        self.put(SENT, self.sent);
    }

    /// The orders sent with an id above `last`, the last the journal
    /// holds, oldest first: what the last run sent and its journal never
    /// got.
    ///
    /// # Errors
    ///
    /// When the ring has turned past orders it may have held with such
    /// ids (it never does when sized for the audit ring it serves).
    pub fn orders_after(&self, last: ClientOrderId) -> Result<Vec<NewOrder>, OrdersLost> {
        let orders = self.orders();
        if self.sent > self.slots as u64 {
            if let Some(oldest) = orders.first().filter(|o| o.id.0 > last.0 + 1) {
                return Err(OrdersLost { oldest: oldest.id });
            }
        }
        Ok(orders.into_iter().filter(|o| o.id.0 > last.0).collect())
    }

    /// Every order the ring holds, oldest first.
    fn orders(&self) -> Vec<NewOrder> {
        held_orders(&self.map[RING..], self.sent, self.slots)
    }

    /// Asks the kernel to write the pages to disk now (a clean stop).
    ///
    /// # Errors
    ///
    /// When the write fails.
    pub fn sync(&self) -> io::Result<()> {
        self.map.flush()
    }

    fn get(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.map[at..at + 8].try_into().expect("8 bytes"))
    }

    fn put(&mut self, at: usize, value: u64) {
        self.map[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
}

/// Maps every page of `map` writable now, its disk blocks allocated, so
/// that the gateway's stores into it take no page fault for that later
/// (one costs microseconds, and a ring walks into a fresh page every few
/// dozen reports): with `MADV_POPULATE_WRITE`, else (a kernel before 5.14)
/// by writing each page's first byte back.
fn populate(map: &mut MmapMut) {
    if map.advise(memmap2::Advice::PopulateWrite).is_ok() {
        return;
    }
    for at in (0..map.len()).step_by(4096) {
        // Through `black_box`, so that the store is not left out as one
        // that changes nothing.
        let byte = std::hint::black_box(map[at]);
        map[at] = byte;
    }
}

/// What an existing file held.
struct Old {
    day: u64,
    numbers: SeqNumbers,
    sent: u64,
    run: u64,
    handed: u64,
    slots: usize,
    /// Both rings.
    ring: Vec<u8>,
}

impl Old {
    fn orders(&self) -> Vec<NewOrder> {
        held_orders(&self.ring, self.sent, self.slots)
    }

    /// The reports the ring still holds, as stored, oldest first.
    fn reports(&self) -> Vec<[u8; REPORT]> {
        let held = self.handed.min(self.slots as u64);
        (self.handed - held..self.handed)
            .map(|n| {
                let at = report_at(self.slots, n);
                self.ring[at..at + REPORT]
                    .try_into()
                    .expect("a report's bytes")
            })
            .collect()
    }
}

/// The orders `rings` (the file from the orders' ring on) holds of the
/// `sent` recorded into `slots`, oldest first.
fn held_orders(rings: &[u8], sent: u64, slots: usize) -> Vec<NewOrder> {
    let held = sent.min(slots as u64);
    (sent - held..sent)
        .filter_map(|n| {
            let at = (n as usize & (slots - 1)) * ORDER;
            decode_order(&rings[at..at + ORDER])
        })
        .collect()
}

/// Where, from the orders' ring on, report `n` of a run lies.
fn report_at(slots: usize, n: u64) -> usize {
    slots * ORDER + (n as usize & (slots - 1)) * REPORT
}

/// Reads an existing file of `len` bytes whole, checking it is one.
fn read_whole(file: &File, len: u64) -> io::Result<Old> {
    use std::io::Read as _;
    let mut bytes = Vec::with_capacity(len as usize);
    (&*file).read_to_end(&mut bytes)?;
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if bytes.len() >= DAY && &bytes[..DAY] == MAGIC_BEFORE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it was written by an older redline (RLFIXSS1), which told its runs apart by the \
             wall clock: this one cannot tell which of the reports it holds the journal has. \
             Stop that version cleanly once more, or reconcile with the venue, then move the \
             file away (the first logon then resets the sequence numbers)",
        ));
    }
    if bytes.len() < RING || &bytes[..DAY] != MAGIC {
        return Err(not_ours(format!("no {} magic", "RLFIXSS2")));
    }
    let slots = word(SLOTS) as usize;
    if !slots.is_power_of_two() || bytes.len() != file_len(slots) {
        return Err(not_ours(format!(
            "{} bytes for a ring of {slots} orders",
            bytes.len()
        )));
    }
    Ok(Old {
        day: word(DAY),
        numbers: SeqNumbers {
            next_out: word(OUT),
            next_in: word(IN),
        },
        sent: word(SENT),
        run: word(RUN),
        handed: word(HANDED),
        slots,
        ring: bytes.split_off(RING),
    })
}

/// Writes `report`, which came in message `seq`, into a ring slot.
#[inline]
fn encode_report(seq: u64, report: &ExecReport, slot: &mut [u8]) {
    let (kind, reason) = match report.kind {
        ExecKind::Ack => (0, 0),
        ExecKind::PartialFill => (1, 0),
        ExecKind::Fill => (2, 0),
        ExecKind::Cancelled => (3, 0),
        ExecKind::Rejected(reason) => (4, reason.index() as u8),
        ExecKind::CancelRejected(reason) => (5, reason.index() as u8),
    };
    slot[..8].copy_from_slice(&seq.to_le_bytes());
    slot[8..16].copy_from_slice(&report.id.0.to_le_bytes());
    slot[16..24].copy_from_slice(&report.price.0.to_le_bytes());
    slot[24..32].copy_from_slice(&report.filled.0.to_le_bytes());
    slot[32..40].copy_from_slice(&report.leaves.0.to_le_bytes());
    slot[40..42].copy_from_slice(&report.instrument.0.to_le_bytes());
    slot[42] = match report.side {
        Side::Buy => 0,
        Side::Sell => 1,
    };
    slot[43] = kind;
    slot[44] = reason;
}

/// The report in a ring slot; `None` for bytes that cannot be one.
fn decode_report(slot: &[u8]) -> Option<HandedReport> {
    let word = |at: usize| u64::from_le_bytes(slot[at..at + 8].try_into().expect("8 bytes"));
    let reason = || Reject::ALL.get(usize::from(slot[44])).copied();
    Some(HandedReport {
        seq: word(0),
        report: ExecReport {
            id: ClientOrderId(word(8)),
            price: Price(word(16) as i64),
            filled: Qty(word(24) as i64),
            leaves: Qty(word(32) as i64),
            instrument: InstrumentId(u16::from_le_bytes([slot[40], slot[41]])),
            side: match slot[42] {
                0 => Side::Buy,
                1 => Side::Sell,
                _ => return None,
            },
            kind: match slot[43] {
                0 => ExecKind::Ack,
                1 => ExecKind::PartialFill,
                2 => ExecKind::Fill,
                3 => ExecKind::Cancelled,
                4 => ExecKind::Rejected(reason()?),
                5 => ExecKind::CancelRejected(reason()?),
                _ => return None,
            },
        },
    })
}

/// The order in a ring slot; `None` for bytes that cannot be one.
fn decode_order(slot: &[u8]) -> Option<NewOrder> {
    let word = |at: usize| u64::from_le_bytes(slot[at..at + 8].try_into().expect("8 bytes"));
    Some(NewOrder {
        id: ClientOrderId(word(0)),
        price: Price(word(8) as i64),
        qty: Qty(word(16) as i64),
        instrument: InstrumentId(u16::from_le_bytes([slot[24], slot[25]])),
        side: match slot[26] {
            0 => Side::Buy,
            1 => Side::Sell,
            _ => return None,
        },
        tif: match slot[27] {
            0 => TimeInForce::Limit,
            1 => TimeInForce::Ioc,
            _ => return None,
        },
    })
}

fn not_ours(why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a redline FIX session file ({why}); move it away"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64) -> NewOrder {
        NewOrder {
            id: ClientOrderId(id),
            instrument: InstrumentId((id % 3) as u16),
            side: if id.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            price: Price(-5 + id as i64),
            qty: Qty(1 + id as i64),
            tif: if id.is_multiple_of(4) {
                TimeInForce::Ioc
            } else {
                TimeInForce::Limit
            },
        }
    }

    #[test]
    fn numbers_carry_over_within_a_day_and_not_into_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut first = SessionFile::open(&path, 100, 8).unwrap();
        assert_eq!(first.found(), None, "a new file holds none");
        first.record(41, 17);
        drop(first);
        let same_day = SessionFile::open(&path, 100, 8).unwrap();
        assert_eq!(
            same_day.found(),
            Some(SeqNumbers {
                next_out: 41,
                next_in: 17
            })
        );
        drop(same_day);
        let next_day = SessionFile::open(&path, 200, 8).unwrap();
        assert_eq!(next_day.found(), None, "another day starts again");
        drop(next_day);
        assert_eq!(
            SessionFile::open(&path, 100, 8).unwrap().found(),
            None,
            "the new day's start replaced the old numbers"
        );
    }

    #[test]
    fn a_new_day_started_in_a_run_is_what_a_restart_finds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut file = SessionFile::open(&path, 100, 8).unwrap();
        file.record(9, 9);
        file.start_day(200);
        assert_eq!(file.day(), 200);
        file.record(3, 2);
        drop(file);
        assert_eq!(
            SessionFile::open(&path, 200, 8).unwrap().found(),
            Some(SeqNumbers {
                next_out: 3,
                next_in: 2
            })
        );
        assert_eq!(SessionFile::open(&path, 100, 8).unwrap().found(), None);
    }

    #[test]
    fn the_orders_the_journal_missed_are_those_after_its_last_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut file = SessionFile::open(&path, 100, 8).unwrap();
        assert_eq!(file.orders_after(ClientOrderId(0)), Ok(vec![]));
        // Ids a gate refused are never sent: 4 is missing.
        for id in [1, 2, 3, 5, 6] {
            file.record_order(&order(id));
        }
        drop(file);
        // Another day: the numbers start again, the orders stay.
        let file = SessionFile::open(&path, 200, 8).unwrap();
        assert_eq!(
            file.orders_after(ClientOrderId(3)),
            Ok(vec![order(5), order(6)])
        );
        assert_eq!(file.orders_after(ClientOrderId(6)), Ok(vec![]));
        assert_eq!(file.orders_after(ClientOrderId(9)), Ok(vec![]));
    }

    #[test]
    fn a_ring_that_turned_past_what_the_journal_missed_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut file = SessionFile::open(&path, 1, 4).unwrap();
        for id in 1..=10 {
            file.record_order(&order(id));
        }
        // It holds 7 to 10.
        assert_eq!(
            file.orders_after(ClientOrderId(6)),
            Ok((7..=10).map(order).collect())
        );
        assert_eq!(file.orders_after(ClientOrderId(8)).unwrap().len(), 2);
        let lost = file.orders_after(ClientOrderId(5)).unwrap_err();
        assert_eq!(lost.oldest, ClientOrderId(7));
        assert!(lost.to_string().contains("before id 7"), "{lost}");
    }

    #[test]
    fn a_larger_ring_keeps_what_the_smaller_held_and_a_smaller_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut file = SessionFile::open(&path, 1, 4).unwrap();
        file.record(12, 34);
        for id in 1..=6 {
            file.record_order(&order(id));
        }
        drop(file);
        let mut grown = SessionFile::open(&path, 1, 16).unwrap();
        assert_eq!(grown.slots, 16);
        assert_eq!(grown.found().map(|n| n.next_out), Some(12));
        assert_eq!(
            grown.orders_after(ClientOrderId(0)),
            Ok((3..=6).map(order).collect())
        );
        for id in 7..=20 {
            grown.record_order(&order(id));
        }
        drop(grown);
        let kept = SessionFile::open(&path, 1, 4).unwrap();
        assert_eq!(kept.slots, 16, "never shrunk");
        assert_eq!(
            kept.orders_after(ClientOrderId(10)),
            Ok((11..=20).map(order).collect())
        );
    }

    /// A report of order `id` of each kind there is, in turn.
    fn report(id: u64) -> ExecReport {
        let kinds = [
            ExecKind::Ack,
            ExecKind::PartialFill,
            ExecKind::Fill,
            ExecKind::Cancelled,
            ExecKind::Rejected(Reject::VenueDown),
            ExecKind::CancelRejected(Reject::UnknownOrder),
        ];
        ExecReport {
            id: ClientOrderId(id),
            instrument: InstrumentId(id as u16 % 3),
            side: if id.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            kind: kinds[id as usize % kinds.len()],
            price: Price(-5 + id as i64),
            filled: Qty(id as i64 % 4),
            leaves: Qty(100 - id as i64),
        }
    }

    #[test]
    fn a_restart_takes_back_whole_the_reports_its_journal_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut run = SessionFile::open(&path, 1, 8).unwrap();
        run.begin_run(1_000);
        assert_eq!(run.reports_after(0), Ok(vec![]), "none handed on");
        // Reports in messages 5 and 6, a refusal of the gateway's, 9.
        let handed: Vec<HandedReport> = [5, 6, 0, 9]
            .into_iter()
            .zip(1..)
            .map(|(seq, id)| HandedReport {
                seq,
                report: report(id),
            })
            .collect();
        for h in &handed {
            run.record_report(h.seq, &h.report);
        }
        run.record(20, 8);
        drop(run);
        let mut next = SessionFile::open(&path, 1, 8).unwrap();
        assert_eq!(next.run_began(), 1_000);
        assert_eq!(next.reports_after(4), Ok(vec![]), "the journal holds all");
        assert_eq!(next.reports_after(1).as_deref(), Ok(&handed[1..]));
        assert_eq!(next.reports_after(0).as_deref(), Ok(&handed[..]));
        // Numbers recorded before the last report was: expect past it.
        next.expect_past(9);
        assert_eq!(next.found().map(|n| n.next_in), Some(10));
        next.expect_past(6);
        assert_eq!(next.found().map(|n| n.next_in), Some(10), "never back");
        next.begin_run(2_000);
        assert_eq!(next.reports_after(0), Ok(vec![]), "a run counts its own");
        drop(next);
        assert_eq!(
            SessionFile::open(&path, 1, 8)
                .unwrap()
                .found()
                .map(|n| n.next_in),
            Some(10)
        );
    }

    #[test]
    fn every_kind_of_report_reads_back_as_it_was_written() {
        let mut slot = [0u8; REPORT];
        for id in 0..12 {
            encode_report(id + 40, &report(id), &mut slot);
            assert_eq!(
                decode_report(&slot),
                Some(HandedReport {
                    seq: id + 40,
                    report: report(id)
                })
            );
        }
        slot[43] = 9;
        assert_eq!(decode_report(&slot), None, "no such kind");
    }

    #[test]
    fn reports_past_what_the_ring_holds_are_said_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut run = SessionFile::open(&path, 1, 4).unwrap();
        run.begin_run(1);
        for seq in 10..20 {
            run.record_report(seq, &report(seq));
        }
        drop(run);
        // Grown: the count and the last four go on.
        let mut next = SessionFile::open(&path, 1, 16).unwrap();
        let seqs = |next: &SessionFile, journaled| -> Vec<u64> {
            next.reports_after(journaled)
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect()
        };
        assert_eq!(seqs(&next, 7), [17, 18, 19]);
        assert_eq!(seqs(&next, 6), [16, 17, 18, 19]);
        let lost = next.reports_after(5).unwrap_err();
        assert_eq!(
            lost,
            ReportsLost::TurnedPast {
                handed: 10,
                journaled: 5
            }
        );
        assert!(lost.to_string().contains("handed on 10"), "{lost}");
        let at = RING + report_at(next.slots, 8) + 42;
        next.map[at] = 7;
        assert_eq!(
            next.reports_after(7),
            Err(ReportsLost::Unreadable { number: 8 })
        );
    }

    #[test]
    fn one_engine_at_a_time_and_nothing_but_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let held = SessionFile::open(&path, 1, 8).unwrap();
        let err = SessionFile::open(&path, 1, 8).unwrap_err();
        assert!(err.to_string().contains("another engine"), "{err}");
        drop(held);
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, b"not numbers").unwrap();
        let err = SessionFile::open(&other, 1, 8).unwrap_err();
        assert!(
            err.to_string().contains("not a redline FIX session file"),
            "{err}"
        );
        assert_eq!(std::fs::read(&other).unwrap(), b"not numbers", "left alone");
    }

    #[test]
    fn a_file_that_told_runs_apart_by_the_clock_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fix.session");
        let mut run = SessionFile::open(&path, 1, 8).unwrap();
        run.record(20, 12);
        drop(run);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..8].copy_from_slice(MAGIC_BEFORE);
        std::fs::write(&path, &bytes).unwrap();
        let err = SessionFile::open(&path, 1, 8).unwrap_err().to_string();
        assert!(err.contains("older redline (RLFIXSS1)"), "{err}");
        assert!(err.contains("move the file away"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "left alone");
    }
}
