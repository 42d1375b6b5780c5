//! The persister: one thread (never on a pinned stage's core) that copies
//! the journal into PostgreSQL, batch by batch, from where the database's
//! progress row says this engine's copy stands. It reads the journal
//! files, not the hot path, so an outage only lets the journal run ahead:
//! when the database is back it catches up from its own progress, and as
//! each batch commits with its progress row, nothing lands twice.
//!
//! A circuit breaker keeps a dead server from being hammered: closed
//! (copying), open (a failure: wait, the wait doubling up to a bound),
//! half-open (one connection attempt; success closes it).
//!
//! The `postgres` crate runs a small tokio runtime of its own inside this
//! thread; it never reaches a hot-path thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use parking_lot::Mutex;
use postgres::{Client, NoTls};

use super::copy::Batch;
use super::migrate::migrate;
use super::partitions::{self, day_of, AHEAD};
use crate::journal::Tail;
use crate::log::Log;
use crate::placement::lower_current_thread_priority;

/// The copier thread's nice value: on a core it shares with the side
/// thread (nice 0), which the hot path waits on when its audit ring is
/// full, the side thread wins; catching up a backlog takes what is left.
const COPIER_NICE: i32 = 10;

/// How often, while connected, the coming days' partitions are made and
/// those past the retention dropped (also at each connection).
const UPKEEP_EVERY: Duration = Duration::from_secs(3600);

/// Nanoseconds in a day.
const NS_PER_DAY: u64 = 86_400 * 1_000_000_000;

/// Why the database cannot be completed from this journal.
#[derive(Debug)]
struct Mismatch(String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaker {
    /// Connected, copying.
    Closed,
    /// A failure; waiting before the next try.
    Open,
    /// Trying to connect again.
    HalfOpen,
}

impl Breaker {
    /// Every state.
    pub const ALL: [Breaker; 3] = [Breaker::Closed, Breaker::Open, Breaker::HalfOpen];

    /// The name metrics and health use.
    pub fn name(self) -> &'static str {
        match self {
            Breaker::Closed => "closed",
            Breaker::Open => "open",
            Breaker::HalfOpen => "half_open",
        }
    }
}

/// What the persister has done, shared with the control plane.
#[derive(Debug, Clone)]
pub struct PersistStatus {
    /// The breaker.
    pub breaker: Breaker,
    /// The next journal entry the database does not hold (before it first
    /// answers: the journal's first entry of this run).
    pub next_seq: u64,
    /// The next journal entry the database lacks, as it has confirmed
    /// (it holds every one below); `None` until it first answers.
    pub confirmed: Option<u64>,
    /// When the oldest entry the database does not hold was journaled,
    /// in ns since the Unix epoch (before it first answers: when this run
    /// began); `None` when it holds all it has read.
    pub oldest_pending_wall_ns: Option<u64>,
    /// Entries copied since start.
    pub entries: u64,
    /// Batches committed since start.
    pub batches: u64,
    /// Failed connections and batches since start.
    pub failures: u64,
    /// The last failure, while the breaker is not closed.
    pub error: Option<String>,
    /// Why the database cannot be completed from this journal (it holds
    /// this engine id's entries from another journal), until an operator
    /// resolves it; copying waits meanwhile.
    pub mismatch: Option<String>,
    /// Daily partitions made, and dropped past the retention, since start.
    pub partitions_made: u64,
    pub partitions_dropped: u64,
    /// Partition upkeeps that failed since start (rows then go to the
    /// default partitions, or old ones stay a while longer).
    pub upkeep_failures: u64,
}

/// How the persister is set up.
#[derive(Debug, Clone)]
pub struct PersistSettings {
    /// Where to connect (password set).
    pub db: postgres::Config,
    /// This engine's id in every row.
    pub engine_id: String,
    /// The journal to copy.
    pub journal_dir: PathBuf,
    /// The most entries in one batch.
    pub batch_entries: usize,
    /// A batch not full is copied after this long.
    pub flush_interval: Duration,
    /// The breaker's first wait, and its bound.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// Instruments, for the position snapshots.
    pub instruments: usize,
    /// The journal's next entry when the engine started (its run's row).
    pub first_seq: u64,
    /// Days of rows the database keeps, today included; 0 for every day.
    pub retention_days: u64,
}

/// The running persister; dropping it without [`Persister::finish`] leaves
/// the thread to end with the process.
pub struct Persister {
    status: Arc<Mutex<PersistStatus>>,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Persister {
    /// Starts the thread.
    ///
    /// # Errors
    ///
    /// When the thread cannot be started.
    pub fn start(settings: PersistSettings, log: Log) -> anyhow::Result<Persister> {
        let status = Arc::new(Mutex::new(PersistStatus {
            breaker: Breaker::HalfOpen,
            // Until the database says where it stands, what this run
            // journals is what it surely lacks.
            next_seq: settings.first_seq,
            confirmed: None,
            // And its entries have waited since it began.
            oldest_pending_wall_ns: Some(crate::timestamp::unix_ns()),
            entries: 0,
            batches: 0,
            failures: 0,
            error: None,
            mismatch: None,
            partitions_made: 0,
            partitions_dropped: 0,
            upkeep_failures: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = std::thread::Builder::new()
            .name("redline-persist".into())
            .spawn({
                let (status, stop) = (Arc::clone(&status), Arc::clone(&stop));
                move || {
                    if let Err(why) = lower_current_thread_priority(COPIER_NICE) {
                        log.warn("persistence: cannot lower the copier's priority")
                            .field("why", why)
                            .emit();
                    }
                    Copier::new(settings, log, status).run(&stop)
                }
            })
            .context("cannot start the persister thread")?;
        Ok(Persister {
            status,
            stop,
            handle,
        })
    }

    /// What it has done, as it goes.
    pub fn status_handle(&self) -> Arc<Mutex<PersistStatus>> {
        Arc::clone(&self.status)
    }

    /// Copies what the journal holds now, if the database takes it within
    /// `grace`, then ends the thread.
    pub fn finish(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        // Relaxed: a flag; the join orders the rest.
        self.stop.store(true, Ordering::Relaxed);
        while !self.handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.handle.is_finished() {
            let _ = self.handle.join();
        }
    }
}

/// The thread's own state.
struct Copier {
    settings: PersistSettings,
    log: Log,
    status: Arc<Mutex<PersistStatus>>,
    client: Option<Client>,
    tail: Option<Tail>,
    batch: Option<Batch>,
    /// The breaker's next wait, and when the next try may be.
    wait: Duration,
    retry_at: Instant,
    /// Whether the current outage has been logged.
    said: bool,
    /// Whether this run's row is in `engine_runs`.
    run_recorded: bool,
    /// The entry after the last one this run committed; the first entry of
    /// the run before any. The database may hold this engine's entries up
    /// to here and no further.
    copied_to: u64,
    /// When the partitions are next seen to.
    upkeep_at: Instant,
    /// The first day this connection has made the partitions from.
    made_from: u64,
}

impl Copier {
    fn new(settings: PersistSettings, log: Log, status: Arc<Mutex<PersistStatus>>) -> Copier {
        Copier {
            wait: settings.retry_initial,
            copied_to: settings.first_seq,
            settings,
            log,
            status,
            client: None,
            tail: None,
            batch: None,
            retry_at: Instant::now(),
            said: false,
            run_recorded: false,
            upkeep_at: Instant::now(),
            made_from: u64::MAX,
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        let mut last_flush = Instant::now();
        loop {
            // Relaxed: as in `finish`.
            let stopping = stop.load(Ordering::Relaxed);
            if self.client.is_none() {
                if stopping {
                    return;
                }
                if Instant::now() < self.retry_at {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                self.set_breaker(Breaker::HalfOpen);
                if let Err(e) = self.connect() {
                    match e.downcast::<Mismatch>() {
                        Ok(Mismatch(why)) => self.mismatched(why),
                        Err(e) => self.failed(format!("{e:#}")),
                    }
                    continue;
                }
                last_flush = Instant::now();
            }
            if Instant::now() >= self.upkeep_at {
                self.upkeep();
            }
            let read = self.read();
            let read = match read {
                Ok(n) => n,
                Err(e) => {
                    // The journal itself: nothing the breaker can mend.
                    self.log
                        .error("persistence: cannot read the journal; copying stops")
                        .field("error", e)
                        .emit();
                    return;
                }
            };
            let pending = self.batch.as_ref().map_or(0, |b| b.entries);
            let full = pending >= self.settings.batch_entries as u64;
            let due = last_flush.elapsed() >= self.settings.flush_interval;
            if pending > 0 && (full || due || stopping) {
                if let Err(e) = self.commit() {
                    self.failed(format!("{e:#}"));
                    continue;
                }
                last_flush = Instant::now();
            }
            if stopping && read == 0 && self.batch.as_ref().is_none_or(|b| b.entries == 0) {
                return;
            }
            if read == 0 && !full {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Connects, migrates, records the run, and reads where this engine's
    /// copy stands; the partitions are seen to next.
    fn connect(&mut self) -> anyhow::Result<()> {
        let mut client = self
            .settings
            .db
            .connect(NoTls)
            .context("cannot connect to the database")?;
        migrate(&mut client).context("cannot apply the migrations")?;
        let engine_id = &self.settings.engine_id;
        let next_seq = client
            .query_opt(
                "SELECT next_seq FROM persist_progress WHERE engine_id = $1",
                &[engine_id],
            )?
            .map_or(0, |row| row.get::<_, i64>(0) as u64);
        self.check_journal(next_seq)?;
        if !self.run_recorded {
            client.execute(
                "INSERT INTO engine_runs (engine_id, started_at, version, first_seq) \
                 VALUES ($1, now(), $2, $3)",
                &[
                    engine_id,
                    &env!("CARGO_PKG_VERSION"),
                    &(self.settings.first_seq as i64),
                ],
            )?;
            self.run_recorded = true;
        }
        let mut positions = vec![0i64; self.settings.instruments];
        for row in client.query(
            "SELECT instrument, position FROM positions WHERE engine_id = $1",
            &[engine_id],
        )? {
            let instrument: i32 = row.get(0);
            if let Some(p) = positions.get_mut(instrument as usize) {
                *p = row.get(1);
            }
        }
        self.batch = Some(Batch::new(engine_id, positions));
        self.tail = Some(Tail::new(&self.settings.journal_dir, next_seq));
        self.client = Some(client);
        self.upkeep_at = Instant::now();
        self.made_from = u64::MAX;
        self.wait = self.settings.retry_initial;
        {
            let mut status = self.status.lock();
            status.next_seq = next_seq;
            status.confirmed = Some(next_seq);
            status.error = None;
            status.mismatch = None;
        }
        self.set_breaker(Breaker::Closed);
        let mut event = self
            .log
            .info("persistence: connected; copying the journal from its progress")
            .field("from_entry", next_seq);
        if self.said {
            event = event.field("after", "an outage");
        }
        event.emit();
        self.said = false;
        Ok(())
    }

    /// Reads what the journal has past the batch; returns how many.
    fn read(&mut self) -> Result<usize, String> {
        let (Some(tail), Some(batch)) = (&mut self.tail, &mut self.batch) else {
            return Ok(0);
        };
        let room = self
            .settings
            .batch_entries
            .saturating_sub(batch.entries as usize);
        if room == 0 {
            return Ok(0);
        }
        let read = tail
            .read(room, |seq, entry| batch.add(seq, entry))
            .map_err(|e| e.to_string())?;
        let mut status = self.status.lock();
        status.oldest_pending_wall_ns = batch.first_wall_ns;
        Ok(read)
    }

    /// Copies the batch in one transaction.
    fn commit(&mut self) -> anyhow::Result<()> {
        if let Some(first) = self.batch.as_ref().and_then(|b| b.first_wall_ns) {
            self.make_back_to(first / NS_PER_DAY);
        }
        let (Some(client), Some(batch), Some(tail)) =
            (&mut self.client, &mut self.batch, &self.tail)
        else {
            return Ok(());
        };
        let entries = batch.entries;
        let mut tx = client.transaction()?;
        batch.copy(&mut tx)?;
        tx.commit()?;
        self.copied_to = tail.next_seq();
        let mut status = self.status.lock();
        status.next_seq = tail.next_seq();
        status.confirmed = Some(tail.next_seq());
        status.entries += entries;
        status.batches += 1;
        status.oldest_pending_wall_ns = None;
        Ok(())
    }

    /// Makes the coming days' partitions and drops those past the
    /// retention; a failure is logged and counted, and copying goes on.
    fn upkeep(&mut self) {
        self.upkeep_at = Instant::now() + UPKEEP_EVERY;
        let today = day_of(SystemTime::now());
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let made = partitions::make(client, today..today + AHEAD);
        self.made_from = self.made_from.min(today);
        self.made(made);
        if self.settings.retention_days == 0 {
            return;
        }
        let keep_from = self.keep_from(today);
        let Some(client) = self.client.as_mut() else {
            return;
        };
        match partitions::expire(client, keep_from) {
            Ok(expired) if expired == partitions::Expired::default() => {}
            Ok(expired) => {
                self.status.lock().partitions_dropped += expired.dropped.len() as u64;
                self.log
                    .info("persistence: dropped what is past the database's retention")
                    .field("retention_days", self.settings.retention_days)
                    .field("partitions", expired.dropped.len() as u64)
                    .field("default_rows", expired.rows)
                    .emit();
            }
            Err(e) => self.upkeep_failed("cannot drop old partitions; they stay a while", &e),
        }
    }

    /// A batch reaching back before the days this connection made (a
    /// backlog from an outage): makes its days from `day` too, those the
    /// retention keeps, so that its rows land in them.
    fn make_back_to(&mut self, day: u64) {
        let from = day.max(self.keep_from(day_of(SystemTime::now())));
        if from >= self.made_from {
            return;
        }
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let made = partitions::make(client, from..self.made_from);
        self.made_from = from;
        self.made(made);
    }

    /// The first day the retention keeps, today included (0: every day).
    fn keep_from(&self, today: u64) -> u64 {
        match self.settings.retention_days {
            0 => 0,
            days => (today + 1).saturating_sub(days),
        }
    }

    fn made(&mut self, made: Result<Vec<String>, postgres::Error>) {
        match made {
            Ok(names) if names.is_empty() => {}
            Ok(names) => {
                self.status.lock().partitions_made += names.len() as u64;
                self.log
                    .info("persistence: made daily partitions")
                    .field("partitions", names.len() as u64)
                    .field("first", names.first().map_or("", |n| n.as_str()))
                    .field("last", names.last().map_or("", |n| n.as_str()))
                    .emit();
            }
            Err(e) => self.upkeep_failed(
                "cannot make daily partitions; rows go to the default partitions meanwhile",
                &e,
            ),
        }
    }

    fn upkeep_failed(&self, what: &str, error: &postgres::Error) {
        self.status.lock().upkeep_failures += 1;
        self.log
            .warn(&format!("persistence: {what}"))
            .field("error", error.to_string())
            .emit();
    }

    /// A failure: drop the connection and what was read (the database's
    /// progress says where to start again), and open the breaker.
    fn failed(&mut self, error: String) {
        let waited = self.back_off(&error);
        if !self.said {
            self.said = true;
            self.log
                .warn("persistence: the database is unreachable; the journal keeps everything")
                .field("error", error)
                .field("retry_ms", waited.as_millis() as u64)
                .emit();
        }
    }

    /// The database cannot be completed from this journal: copying waits
    /// (trying again as after a failure, in case an operator resolved it)
    /// and the journal keeps everything.
    fn mismatched(&mut self, why: String) {
        let waited = self.back_off(&why);
        self.status.lock().mismatch = Some(why.clone());
        if !self.said {
            self.said = true;
            self.log
                .error("persistence: the database does not match this journal; copying waits")
                .field("engine_id", &self.settings.engine_id)
                .field("why", why)
                .field("retry_ms", waited.as_millis() as u64)
                .emit();
        }
    }

    /// Drops the connection and what was read (the database's progress
    /// says where to start again), counts the failure and opens the
    /// breaker; returns how long until the next try.
    fn back_off(&mut self, error: &str) -> Duration {
        self.client = None;
        self.tail = None;
        self.batch = None;
        self.retry_at = Instant::now() + self.wait;
        let waited = self.wait;
        self.wait = (self.wait * 2).min(self.settings.retry_max);
        {
            let mut status = self.status.lock();
            status.failures += 1;
            status.error = Some(error.to_owned());
        }
        self.set_breaker(Breaker::Open);
        waited
    }

    /// Checks that the database can be completed from this journal: it
    /// holds none of this engine id's entries past those this journal gave
    /// it, and the journal still holds the next it lacks (`needed`; a
    /// journal's retention deletes only what the database has confirmed,
    /// so one that lacks it lost rows, e.g. restored from an older backup).
    fn check_journal(&self, needed: u64) -> Result<(), Mismatch> {
        let oldest = crate::journal::segments(&self.settings.journal_dir)
            .map_err(|e| Mismatch(e.to_string()))?
            .first()
            .map(|(first, _)| *first);
        if let Some(oldest) = oldest.filter(|oldest| needed < *oldest) {
            return Err(Mismatch(format!(
                "the database lacks this engine id's entries from {needed} on, and the journal \
                 no longer holds them: it begins at entry {oldest} (persistence.retention \
                 deleted the segments before it once the database held them, so the database \
                 has lost rows since: restored from an older backup?). Restore the database, \
                 or the journal's segments from an archive"
            )));
        }
        let given = self.copied_to;
        if needed > given {
            return Err(Mismatch(format!(
                "the database holds this engine id's entries up to {needed}, past the {given} \
                 this journal has given it: they came from another journal (one deleted, \
                 restored from an older copy or cut short by a power cut, or a second engine \
                 with this engine_id); give this journal an engine_id of its own, or bring back \
                 the journal they came from"
            )));
        }
        Ok(())
    }

    fn set_breaker(&self, breaker: Breaker) {
        self.status.lock().breaker = breaker;
    }
}
