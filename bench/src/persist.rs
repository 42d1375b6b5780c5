//! The `persist` scenario: how fast the persister copies the journal into
//! PostgreSQL beside a bare `COPY BINARY` of the same rows, and what that
//! copying at full rate does to the hot path. In one run: the `redline`
//! binary trades on the journal alone (the latency baseline), leaving its
//! journal as a backlog; a real PostgreSQL server starts (initdb into a
//! temporary directory, confined to the cores the engine keeps its control
//! side on, as a server on other machines would be off the stage cores);
//! the engine trades again on that journal with the database configured,
//! its persister copying the backlog from the first entry while the new
//! entries keep coming; then a plain loop copies the rows that landed into
//! plain tables of the same shape with `COPY ... FROM STDIN BINARY` (the
//! limit), from the same cores at the persister's priority, while a third
//! engine trades on a journal of its own, so that the limit meets the
//! same load on those cores as the persister did.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::process::{metric, Engine, Percentiles};

#[allow(dead_code)]
#[path = "../../control/tests/support/pg.rs"]
mod pg;

/// The audit tables the persister writes, each copied by the bare loop.
const TABLES: [&str; 6] = [
    "decisions",
    "orders",
    "executions",
    "risk_events",
    "admin_audit",
    "position_snapshots",
];

/// The figures of one scenario run.
#[derive(Debug)]
pub struct Figures {
    /// Quote-to-order latency trading on the journal alone.
    pub journal_only: Percentiles,
    /// The same with the persister copying at full rate.
    pub with_database: Percentiles,
    /// The same on a journal of its own beside the bare loop.
    pub beside_bare: Percentiles,
    /// Journal entries the first run left for the persister.
    pub backlog: u64,
    /// The cores the server and the copies ran on (`None`: anywhere).
    pub cores: Option<String>,
    /// The persister's sustained copy while it had a backlog.
    pub persisted: Rate,
    /// Seconds of the second run that the persister had a backlog.
    pub busy_seconds: f64,
    /// The bare loop's copy of every row the persister landed.
    pub bare: Rate,
    /// Rows in the audit tables (entries and the snapshots fills add).
    pub rows: u64,
}

/// Journal entries copied in some time.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Entries.
    pub entries: u64,
    /// Seconds.
    pub seconds: f64,
}

impl Rate {
    /// Entries per second.
    pub fn per_second(self) -> f64 {
        self.entries as f64 / self.seconds.max(1e-9)
    }
}

/// One look at the persister's counters.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: f64,
    copied: u64,
    backlog: u64,
}

/// Runs the scenario with `redline` on `config`, each engine run lasting
/// `seconds`.
pub fn run(redline: &Path, config: &Path, seconds: u64) -> anyhow::Result<Figures> {
    let journal = tempfile::tempdir().context("a journal directory")?;
    let length = Duration::from_secs(seconds);

    let engine = Engine::start(redline, config, journal.path(), &[])?;
    std::thread::sleep(length);
    let backlog = metric(&engine.get("/metrics")?, "redline_journal_next_sequence")
        .context("no redline_journal_next_sequence in /metrics")? as u64;
    let cores = (!engine.control_cores.is_empty()).then(|| {
        let ids: Vec<String> = engine.control_cores.iter().map(usize::to_string).collect();
        ids.join(",")
    });
    let control_cores = engine.control_cores.clone();
    let journal_only = engine.stop()?;

    let db = pg::Postgres::start_on(cores.clone());
    let url = db.url();
    let engine = Engine::start(
        redline,
        config,
        journal.path(),
        &[("DATABASE_URL", url.as_str())],
    )?;
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < length {
        let text = engine.get("/metrics")?;
        let at = started.elapsed().as_secs_f64();
        let counter = |name| metric(&text, name).with_context(|| format!("no {name} in /metrics"));
        samples.push(Sample {
            at,
            copied: counter("redline_persistence_entries_total")? as u64,
            backlog: counter("redline_persistence_backlog_entries")? as u64,
        });
        std::thread::sleep(Duration::from_millis(100));
    }
    let with_database = engine.stop()?;
    let (persisted, busy_seconds) =
        sustained(&samples).context("the persister copied nothing while the engine ran")?;

    let copies = BareCopies::take(&db)?;
    // The bare loop's client runs on this thread (the postgres crate
    // drives its connection in the caller's `block_on`): on the control
    // cores, at the persister's priority.
    if let Some(&id) = control_cores.first() {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
    lower_priority(COPIER_NICE)?;
    let other = tempfile::tempdir().context("a second journal directory")?;
    let engine = Engine::start(redline, config, other.path(), &[])?;
    let (bare, rows) = copies.copy(&db)?;
    let beside_bare = engine.stop()?;
    Ok(Figures {
        journal_only,
        with_database,
        beside_bare,
        backlog,
        cores,
        persisted,
        busy_seconds,
        bare,
        rows,
    })
}

/// The persister's copy rate from its first batch until it caught up (the
/// first look at which less was left than it had copied since the look
/// before) or the run ended, and how long that was.
fn sustained(samples: &[Sample]) -> Option<(Rate, f64)> {
    let first = samples.iter().position(|s| s.copied > 0)?;
    let start = samples[first];
    let end = samples[first..]
        .windows(2)
        .find(|w| w[1].backlog < w[1].copied - w[0].copied)
        .map_or(*samples.last()?, |w| w[1]);
    let seconds = end.at - start.at;
    (seconds > 0.0).then_some((
        Rate {
            entries: end.copied - start.copied,
            seconds,
        },
        end.at,
    ))
}

/// The redline persister's nice value (`control/src/db/persister.rs`).
const COPIER_NICE: i32 = 10;

/// Lowers this thread's priority to `nice`.
fn lower_priority(nice: i32) -> anyhow::Result<()> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // SAFETY: plain integers; PRIO_PROCESS with a thread id names that one
    // thread on Linux.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) };
    anyhow::ensure!(
        rc == 0,
        "cannot lower the bare loop's priority: {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

/// Every row of the audit tables in the server's binary COPY encoding,
/// with plain tables of the same columns and primary key to copy into.
struct BareCopies {
    tables: Vec<(&'static str, Vec<u8>)>,
    /// Journal entries those rows hold, and the rows.
    entries: u64,
    rows: u64,
}

impl BareCopies {
    fn take(db: &pg::Postgres) -> anyhow::Result<BareCopies> {
        let mut client = db.client();
        let entries: i64 = client
            .query_one(
                "SELECT coalesce(sum(next_seq), 0)::bigint FROM persist_progress",
                &[],
            )?
            .get(0);
        let mut tables = Vec::new();
        let mut rows = 0;
        for table in TABLES {
            let count: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
                .get(0);
            rows += count as u64;
            let mut bytes = Vec::new();
            client
                .copy_out(&format!(
                    "COPY (SELECT * FROM {table}) TO STDOUT (FORMAT binary)"
                ))?
                .read_to_end(&mut bytes)?;
            client.batch_execute(&format!(
                "CREATE TABLE bare_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"
            ))?;
            tables.push((table, bytes));
        }
        Ok(BareCopies {
            tables,
            entries: entries as u64,
            rows,
        })
    }

    /// Times a plain loop copying the rows in; returns the rate in the
    /// journal entries they hold, and the rows.
    fn copy(self, db: &pg::Postgres) -> anyhow::Result<(Rate, u64)> {
        let mut client = db.client();
        let started = Instant::now();
        for (table, bytes) in &self.tables {
            let mut sink =
                client.copy_in(&format!("COPY bare_{table} FROM STDIN (FORMAT binary)"))?;
            sink.write_all(bytes)?;
            sink.finish()?;
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok((
            Rate {
                entries: self.entries,
                seconds,
            },
            self.rows,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(points: &[(f64, u64, u64)]) -> Vec<Sample> {
        points
            .iter()
            .map(|&(at, copied, backlog)| Sample {
                at,
                copied,
                backlog,
            })
            .collect()
    }

    #[test]
    fn the_rate_runs_from_the_first_batch_until_it_caught_up() {
        let s = samples(&[
            (0.0, 0, 1000),
            (1.0, 100, 950),
            (2.0, 400, 700),
            (3.0, 700, 400),
            (4.0, 1000, 100), // caught up: 100 left < 300 copied
            (5.0, 1200, 50),
        ]);
        let (rate, busy) = sustained(&s).unwrap();
        assert_eq!(rate.entries, 900);
        assert_eq!(rate.seconds, 3.0);
        assert_eq!(busy, 4.0);
        assert_eq!(rate.per_second(), 300.0);
    }

    #[test]
    fn a_persister_that_never_caught_up_is_timed_to_the_end() {
        let s = samples(&[(0.0, 0, 10), (1.0, 10, 900), (2.0, 30, 1800)]);
        let (rate, busy) = sustained(&s).unwrap();
        assert_eq!((rate.entries, rate.seconds, busy), (20, 1.0, 2.0));
        assert!(sustained(&samples(&[(0.0, 0, 5), (1.0, 0, 9)])).is_none());
        assert!(sustained(&samples(&[(0.0, 0, 5), (1.0, 9, 9)])).is_none());
    }
}
