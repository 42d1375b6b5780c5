//! Persistence into a real PostgreSQL (initdb into a temporary directory,
//! pg_ctl on a free loopback port): migrations apply once; a run's journal
//! lands with each table's count equal to the journal's count of its kind
//! and no entry twice; a database stopped in the middle of a run and
//! started again ends up with every entry exactly once; retention deletes
//! only segments the database holds, and a database that lost rows the
//! journal no longer holds is refused.

mod support;

#[path = "support/pg.rs"]
mod pg;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{
    assert_control_side_confined, dump, event, json, redline, replay_setup, run_to_end, sample,
    stdout_of, thread_nice, write_config, Engine, TestConfig, TOKEN_ENV,
};

/// A `[control]` key: a clean stop waits up to this long for the last
/// copy into the database, which the other tests' load on this machine
/// slows (the copier runs below the side thread's priority).
const LAST_COPY_GRACE: &str = "drain_grace_ms = 60000\n";

/// How long a persister may take to reconnect after the server comes
/// back: a retry, the migrations check and the journal check, on a busy
/// CI machine.
const RECONNECT_WAIT: Duration = Duration::from_secs(30);

/// How long a stop may take here: a drain copies what the database does
/// not yet hold (a backlog of a few hundred thousand entries after an
/// outage), up to [`LAST_COPY_GRACE`], on a machine the parallel tests
/// load.
const LAST_COPY_WAIT: Duration = Duration::from_secs(70);

/// How long a few checkpoints may take here: the first after a restart
/// folds everything since the newest one, which took 15 s for 320,000
/// entries on a CI machine the parallel tests load.
const CHECKPOINTS_WAIT: Duration = Duration::from_secs(90);

/// The tables partitioned by day.
const TABLES: [&str; 6] = [
    "decisions",
    "orders",
    "executions",
    "risk_events",
    "admin_audit",
    "position_snapshots",
];

/// The journal's entries, and their count by the table each kind goes
/// to, as `redline journal inspect` counts them.
fn journal_kinds(dir: &Path) -> (u64, BTreeMap<String, i64>) {
    let out = redline()
        .args(["journal", "inspect"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let summary = String::from_utf8(out.stdout).unwrap();
    let counts = summary
        .lines()
        .find_map(|l| l.strip_prefix("entries by kind: "))
        .unwrap_or_else(|| panic!("no counts in {summary}"));
    let mut kinds = BTreeMap::new();
    let mut entries = 0;
    for pair in counts.split(", ") {
        let (kind, n) = pair.split_once(' ').unwrap();
        let n: i64 = n.parse().unwrap();
        let table = match kind {
            "passed" | "refused" => "decisions",
            "sent" => "orders",
            "state" | "day_started" => "risk_events",
            "command" | "finished" | "rejected" => "admin_audit",
            _ => "executions",
        };
        *kinds.entry(table.to_owned()).or_default() += n;
        entries += n as u64;
    }
    (entries, kinds)
}

/// Each audit table's rows for `engine`, after checking that none holds
/// an entry twice.
fn table_counts(db: &pg::Postgres, engine: &str) -> BTreeMap<String, i64> {
    let mut client = db.client();
    let mut counts = BTreeMap::new();
    for table in &TABLES[..5] {
        let row = client
            .query_one(
                &format!("SELECT count(*), count(DISTINCT seq) FROM {table} WHERE engine_id = $1"),
                &[&engine],
            )
            .unwrap();
        let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(rows, distinct, "{table} holds an entry twice");
        if rows > 0 {
            counts.insert((*table).to_owned(), rows);
        }
    }
    counts
}

/// Asserts that the database holds every entry of the journal in `dir`
/// under `engine`, each in its table once; returns how many entries.
fn assert_complete(db: &pg::Postgres, engine: &str, dir: &Path) -> u64 {
    let (entries, kinds) = journal_kinds(dir);
    assert_eq!(progress(db, engine), entries as i64, "{engine}: copied");
    assert_eq!(table_counts(db, engine), kinds, "{engine}: each table");
    entries
}

/// Asserts that the database holds every entry from 0 to `next` (not
/// included) under `engine`, each once, across the audit tables.
fn assert_every_entry_once(db: &pg::Postgres, engine: &str, next: u64) {
    let row = db
        .client()
        .query_one(
            "SELECT count(*), count(DISTINCT seq), coalesce(max(seq), -1) FROM ( \
             SELECT seq FROM decisions WHERE engine_id = $1 UNION ALL \
             SELECT seq FROM orders WHERE engine_id = $1 UNION ALL \
             SELECT seq FROM executions WHERE engine_id = $1 UNION ALL \
             SELECT seq FROM risk_events WHERE engine_id = $1 UNION ALL \
             SELECT seq FROM admin_audit WHERE engine_id = $1) entries",
            &[&engine],
        )
        .unwrap();
    let (rows, distinct, max): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((rows, distinct), (next as i64, next as i64), "{engine}");
    assert_eq!(max, next as i64 - 1, "{engine}");
    assert_eq!(progress(db, engine), next as i64, "{engine}");
}

/// The entry the journal in `dir` would number next, as `redline journal
/// inspect` says.
fn next_entry(dir: &Path) -> u64 {
    let summary = stdout_of(redline().args(["journal", "inspect"]).arg(dir));
    summary
        .lines()
        .next()
        .and_then(|l| l.rsplit_once("next entry "))
        .map(|(_, n)| n.parse().unwrap())
        .unwrap_or_else(|| panic!("no next entry in {summary}"))
}

/// Each instrument's position as `engine`'s fills in `executions` add up.
fn fills(db: &pg::Postgres, engine: &str) -> BTreeMap<i32, i64> {
    by_instrument(
        db,
        "SELECT instrument, sum(CASE side WHEN 'buy' THEN filled ELSE -filled END)::bigint \
         FROM executions WHERE engine_id = $1 AND kind IN ('fill', 'partial_fill') \
         GROUP BY instrument",
        engine,
    )
}

/// Each instrument's last position snapshot of `engine`.
fn last_snapshots(db: &pg::Postgres, engine: &str) -> BTreeMap<i32, i64> {
    by_instrument(
        db,
        "SELECT DISTINCT ON (instrument) instrument, position FROM position_snapshots \
         WHERE engine_id = $1 ORDER BY instrument, seq DESC",
        engine,
    )
}

/// `engine`'s rows of the `positions` table.
fn positions(db: &pg::Postgres, engine: &str) -> BTreeMap<i32, i64> {
    by_instrument(
        db,
        "SELECT instrument, position FROM positions WHERE engine_id = $1",
        engine,
    )
}

fn by_instrument(db: &pg::Postgres, sql: &str, engine: &str) -> BTreeMap<i32, i64> {
    db.client()
        .query(sql, &[&engine])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Points `config`'s `[persistence]` at `db`, with `keys` beside.
fn persist_into(config: &TestConfig, db: &pg::Postgres, keys: &str) {
    let text = std::fs::read_to_string(config.path()).unwrap().replace(
        "[persistence]\n",
        &format!("[persistence]\ndatabase_url = \"{}\"\n{keys}", db.url()),
    );
    std::fs::write(config.path(), text).unwrap();
}

fn progress(db: &pg::Postgres, engine: &str) -> i64 {
    db.client()
        .query_opt(
            "SELECT next_seq FROM persist_progress WHERE engine_id = $1",
            &[&engine],
        )
        .unwrap()
        .map_or(0, |r| r.get(0))
}

#[test]
fn migrations_apply_once_and_name_what_they_applied() {
    let db = pg::Postgres::start();
    let config = write_config(&format!(
        "[persistence]\ndatabase_url = \"{}\"\njournal_dir = \"unused\"\n",
        db.url()
    ));
    let migrate = || stdout_of(redline().arg("migrate").arg("--config").arg(config.path()));
    assert!(migrate().contains("applied [1, 2, 3]"));
    assert!(migrate().contains("up to date"));
    let mut client = db.client();
    let partitions: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_inherits JOIN pg_class p ON p.oid = inhparent \
             WHERE p.relname = 'executions'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        partitions, 1,
        "the default partition (the engine makes the days)"
    );

    let out = redline()
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("persistence.database_url"));
}

#[test]
fn a_database_at_the_first_migration_is_brought_up_to_date_keeping_its_rows() {
    let db = pg::Postgres::start();
    let mut client = db.client();
    let first = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/0001_audit.sql"),
    )
    .unwrap();
    client.batch_execute(&first).unwrap();
    client
        .batch_execute(
            "CREATE TABLE redline_migrations (version integer PRIMARY KEY, name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO redline_migrations (version, name) VALUES (1, 'audit');
             INSERT INTO risk_events VALUES ('old', 0, now(), 0, 0, 'active', 'halted', 0);
             INSERT INTO position_snapshots VALUES ('old', 1, now(), 0, 5), ('old', 2, now(), 1, 7),
                 ('old', 3, now(), 0, -2);",
        )
        .unwrap();
    let config = write_config(&format!(
        "[persistence]\ndatabase_url = \"{}\"\njournal_dir = \"unused\"\n",
        db.url()
    ));
    let out = stdout_of(redline().arg("migrate").arg("--config").arg(config.path()));
    assert!(out.contains("applied [2, 3]"), "{out}");
    let row = client
        .query_one(
            "SELECT event, from_state, to_state, day_start_pnl FROM risk_events \
             WHERE engine_id = 'old'",
            &[],
        )
        .unwrap();
    let (event, from, to, pnl): (String, String, String, Option<i64>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (event.as_str(), from.as_str(), to.as_str(), pnl),
        ("state", "active", "halted", None)
    );
    // Each instrument's latest snapshot is its position.
    assert_eq!(positions(&db, "old"), BTreeMap::from([(0, -2), (1, 7)]));
}

#[test]
fn a_run_lands_in_postgres_with_each_table_matching_the_journal() {
    let db = pg::Postgres::start();
    let (_csv, config) = replay_setup(3000, "fastest", "fused");
    persist_into(&config, &db, "engine_id = \"a\"\n");
    let out = run_to_end(&config);
    event(
        &out,
        "persistence: connected; copying the journal from its progress",
    );
    let (entries, kinds) = journal_kinds(&config.journal());
    assert!(entries > 3000);
    assert_eq!(table_counts(&db, "a"), kinds);
    assert_eq!(progress(&db, "a"), entries as i64);
    let days: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_inherits JOIN pg_class p ON p.oid = inhparent \
             WHERE p.relname = 'executions'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(days >= 5, "four days made ahead beside the default: {days}");
    // The rows went to today's partition, not the default.
    let stray: i64 = db
        .client()
        .query_one("SELECT count(*) FROM executions_default", &[])
        .unwrap()
        .get(0);
    assert_eq!(stray, 0);
    // The last snapshot of each instrument's position, and its row in
    // `positions`, are what its fills add up to.
    let fills = fills(&db, "a");
    assert!(!fills.is_empty(), "it traded");
    assert_eq!(last_snapshots(&db, "a"), fills);
    assert_eq!(positions(&db, "a"), fills);
    // A second engine on the same database keeps to its own rows.
    let (_csv2, other) = replay_setup(500, "fastest", "fused");
    persist_into(&other, &db, "engine_id = \"b\"\n");
    run_to_end(&other);
    assert_eq!(table_counts(&db, "a"), kinds, "a's rows untouched");
    assert_eq!(progress(&db, "b"), journal_kinds(&other.journal()).0 as i64);
}

#[test]
fn positions_carry_on_from_the_positions_table_when_old_snapshots_are_gone() {
    let db = pg::Postgres::start();
    let (_csv, config) = replay_setup(3000, "fastest", "fused");
    persist_into(&config, &db, "engine_id = \"p\"\n");
    // Runs until the engine holds a position (a run ends flat about one
    // time in six), so that starting from zero would show.
    for runs in 0.. {
        assert!(runs < 8, "still flat after {runs} runs");
        run_to_end(&config);
        if positions(&db, "p").values().any(|&p| p != 0) {
            break;
        }
    }
    // The days holding every snapshot are dropped (as a retention would),
    // and the engine runs on the same journal again.
    db.client()
        .batch_execute("TRUNCATE position_snapshots")
        .unwrap();
    run_to_end(&config);
    let fills = fills(&db, "p");
    assert_eq!(positions(&db, "p"), fills);
    assert_eq!(last_snapshots(&db, "p"), fills);
    assert_complete(&db, "p", &config.journal());
}

/// Day `ago` days before today (UTC) as `YYYYMMDD`, with its first
/// instant and the next day's.
fn day_before(client: &mut postgres::Client, ago: i32) -> (String, String, String) {
    let row = client
        .query_one(
            "SELECT to_char(d, 'YYYYMMDD'), to_char(d, 'YYYY-MM-DD 00:00:00+00'), \
             to_char(d + 1, 'YYYY-MM-DD 00:00:00+00') \
             FROM (SELECT (now() AT TIME ZONE 'UTC')::date - $1::integer AS d) day",
            &[&ago],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn the_database_keeps_its_retention_days_and_drops_the_older_ones() {
    let db = pg::Postgres::start();
    let url = format!("[persistence]\ndatabase_url = \"{}\"\n", db.url());
    let migrated = write_config(&format!("{url}journal_dir = \"unused\"\n"));
    stdout_of(
        redline()
            .arg("migrate")
            .arg("--config")
            .arg(migrated.path()),
    );
    // Another engine's days: 10 and 3 days ago (past a 3-day retention)
    // and 2 days ago (kept); one row each, and two in the default
    // partition, 20 days old and 30 days ahead.
    let mut client = db.client();
    let insert = "INSERT INTO risk_events (engine_id, seq, at, writer, writer_seq, at_ts) \
                  VALUES ('other', $1, $2::text::timestamptz + interval '12 hours', 0, 0, 0)";
    let mut old = Vec::new();
    for (seq, ago) in [(1, 10), (2, 3), (3, 2), (4, 20), (5, -30)] {
        let (suffix, from, to) = day_before(&mut client, ago);
        if seq <= 3 {
            for table in TABLES {
                client
                    .batch_execute(&format!(
                        "CREATE TABLE {table}_p{suffix} PARTITION OF {table} \
                         FOR VALUES FROM ('{from}') TO ('{to}')"
                    ))
                    .unwrap();
            }
        }
        if ago == 10 || ago == 3 {
            old.push(format!("risk_events_p{suffix}"));
        }
        client.execute(insert, &[&(seq as i64), &from]).unwrap();
    }
    let mut engine = Engine::start(
        &format!(
            "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 2000\n\
             {url}engine_id = \"kept\"\ndatabase_retention_days = 3\n"
        ),
        &[],
    );
    let dropped = "persistence: dropped what is past the database's retention";
    engine.wait_for(dropped);
    let fields = event(&engine.out, dropped);
    assert_eq!(fields.get("partitions"), "12", "two days of six tables");
    assert_eq!(fields.get("default_rows"), "1");
    let made = event(&engine.out, "persistence: made daily partitions");
    assert_eq!(made.get("partitions"), "24", "today and three days ahead");
    engine.wait_for("msg=status up_s=1 ");
    let metrics = engine.get("/metrics").1;
    assert_eq!(
        sample(&metrics, "redline_persistence_partitions_dropped_total"),
        12.0
    );
    assert_eq!(
        sample(&metrics, "redline_persistence_partitions_made_total"),
        24.0
    );
    assert_eq!(
        sample(&metrics, "redline_persistence_upkeep_failures_total"),
        0.0
    );
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert_complete(&db, "kept", engine.journal.path());
    let names: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'risk_events'::regclass",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        names.len(),
        1 + 1 + 4,
        "default, 2 days ago, today on: {names:?}"
    );
    assert!(old.iter().all(|o| !names.contains(o)), "{names:?}");
    let left: Vec<i64> = client
        .query(
            "SELECT seq FROM risk_events WHERE engine_id = 'other' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, [3, 5]);
    let stray: i64 = client
        .query_one(
            "SELECT count(*) FROM decisions_default WHERE engine_id = 'kept'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(stray, 0, "the engine's own rows are in today's partition");
}

#[test]
fn a_database_stopped_and_started_again_ends_with_every_entry_once() {
    let db = pg::Postgres::start();
    let control = format!(
        "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 5000\n\
         [persistence]\ndatabase_url = \"{}\"\nengine_id = \"outage\"\n\
         retry_initial_ms = 50\nretry_max_ms = 200\n",
        db.url()
    );
    let mut engine = Engine::start(&control, &[]);
    engine.wait_for("persistence: connected");
    std::thread::sleep(Duration::from_millis(300));
    db.stop();
    engine.wait_for("persistence: the database is unreachable");
    let (_, health) = engine.get("/health");
    assert!(
        health.contains("breaker open") || health.contains("breaker half_open"),
        "{health}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let (_, metrics) = engine.get("/metrics");
    assert!(sample(&metrics, "redline_persistence_backlog_entries") > 0.0);
    assert!(
        sample(&metrics, "redline_persistence_backlog_seconds") >= 0.3,
        "the oldest entry waiting was journaled around the outage's start"
    );
    db.restart();
    engine.wait_for_n("after=\"an outage\"", 1, RECONNECT_WAIT);
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    // All copied by the clean stop.
    assert_complete(&db, "outage", engine.journal.path());
    let runs: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM engine_runs WHERE engine_id = 'outage'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(runs, 1, "one run, however often it reconnected");
}

#[test]
fn a_million_records_land_with_each_table_matching_the_journal() {
    let db = pg::Postgres::start();
    let (_csv, config) = replay_setup(300_000, "fastest", "fused");
    persist_into(&config, &db, "engine_id = \"big\"\nbatch_entries = 50000\n");
    let text = std::fs::read_to_string(config.path())
        .unwrap()
        .replace("[control]\n", "[control]\ndrain_grace_ms = 120000\n");
    std::fs::write(config.path(), text).unwrap();
    let started = Instant::now();
    let out = run_to_end(&config);
    let records = event(&out, "stopped cleanly").num("audit_records") as u64;
    assert!(records >= 1_000_000, "{records}");
    let (entries, kinds) = journal_kinds(&config.journal());
    assert_eq!(entries, records);
    assert_eq!(
        progress(&db, "big"),
        entries as i64,
        "all copied by the clean stop"
    );
    assert_eq!(table_counts(&db, "big"), kinds);
    eprintln!(
        "{records} records through the journal into PostgreSQL in {:?}",
        started.elapsed()
    );
}

#[test]
fn after_kill_9_and_a_restart_the_database_ends_up_complete() {
    let db = pg::Postgres::start();
    let control = format!(
        "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 5000\n\
         [persistence]\ndatabase_url = \"{}\"\nengine_id = \"killed\"\n",
        db.url()
    );
    let mut engine = Engine::start(&control, &[]);
    engine.wait_for("persistence: connected");
    engine.wait_for("msg=status up_s=1 ");
    engine.child.kill().unwrap(); // SIGKILL: no drain, no last copy.
    engine.child.wait().unwrap();
    let journal = std::mem::replace(&mut engine.journal, tempfile::tempdir().unwrap());
    let (before, _) = journal_kinds(journal.path());
    assert!(progress(&db, "killed") <= before as i64);

    let mut engine = Engine::start_on(journal, &control, &[]);
    let resumed = event(&engine.out, "state restored from the journal");
    assert!(resumed.find("positions").is_some());
    engine.wait_for("persistence: connected");
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert!(assert_complete(&db, "killed", engine.journal.path()) > before);
    let runs: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM engine_runs WHERE engine_id = 'killed'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(runs, 2);
}

#[test]
fn the_persister_keeps_off_the_pinned_stage_core() {
    let db = pg::Postgres::start();
    let control = format!("[persistence]\ndatabase_url = \"{}\"\n", db.url());
    let mut engine = Engine::start(&control, &[]);
    engine.wait_for("persistence: connected");
    assert_control_side_confined(&engine, &["redline-persist", "redline-side"]);
    // Below the side thread's priority: a shared core goes to the side
    // thread first.
    let nice_of = |name| thread_nice(engine.child.id(), name);
    assert_eq!(nice_of("redline-persist"), nice_of("redline-side") + 10);
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
}

#[test]
fn admin_commands_land_in_admin_audit_with_those_refused_before_sending() {
    let db = pg::Postgres::start();
    let control = format!(
        "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 5000\n\
         [persistence]\ndatabase_url = \"{}\"\nengine_id = \"desk\"\n",
        db.url()
    );
    let token = "postgres-test-token";
    let mut engine = Engine::start(&control, &[(TOKEN_ENV, token)]);
    engine.wait_for("persistence: connected");
    let bad = r#"{"max_order_qty": "five"}"#;
    let put = engine.send("PUT", "/admin/limits", Some(token), Some(bad));
    assert_eq!(put.0, 400, "{}", put.1);
    assert_eq!(engine.send("POST", "/admin/halt", Some(token), None).0, 200);
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert_complete(&db, "desk", engine.journal.path());

    // Each row's columns that are set.
    let rows: Vec<String> = db
        .client()
        .query(
            "SELECT concat_ws(' | ', event, token, action, outcome, reason) \
             FROM admin_audit WHERE engine_id = 'desk' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let id = event(&engine.out, "admin").get("token").to_owned();
    assert_eq!(
        rows[..3],
        [
            format!("rejected | {id} | limits | refused by the control plane | HTTP 400"),
            format!("taken | {id} | halt"),
            "finished | done".to_owned(),
        ],
        "the drain's own rows follow"
    );
}

#[test]
fn a_database_that_holds_another_journal_is_refused_and_nothing_mixes() {
    let db = pg::Postgres::start();
    let control = |engine_id: &str| {
        format!(
            "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 5000\n\
             [persistence]\ndatabase_url = \"{}\"\nengine_id = \"{engine_id}\"\n\
             retry_initial_ms = 50\nretry_max_ms = 200\n",
            db.url()
        )
    };
    let mut first = Engine::start(&control("twice"), &[]);
    first.wait_for("persistence: connected");
    first.wait_for("msg=status up_s=1 ");
    assert!(first.stop_within(LAST_COPY_WAIT), "{}", first.out);
    let (entries, kinds) = journal_kinds(first.journal.path());
    assert_eq!(progress(&db, "twice"), entries as i64);

    // That journal is gone (deleted, say): a new one begins at entry 0
    // under the same engine id. Copying it would mix two journals' entries
    // under the same numbers; the engine refuses, and says why.
    let mut second = Engine::start(&control("twice"), &[]);
    let refused = "persistence: the database does not match this journal; copying waits";
    second.wait_for(refused);
    let why = event(&second.out, refused).get("why").to_owned();
    assert!(why.contains(&format!("up to {entries}")), "{why}");
    let (code, body) = second.get("/health/ready");
    assert_eq!(code, 503);
    assert!(body.contains("does not match this journal"), "{body}");
    let health = json(&second.get("/health").1);
    assert_eq!(
        health["components"]["persistence"]["status"], "unhealthy",
        "{health}"
    );
    let metrics = second.get("/metrics").1;
    assert_eq!(sample(&metrics, "redline_persistence_mismatch"), 1.0);
    // It keeps trying (an operator may resolve it), and keeps refusing.
    std::thread::sleep(Duration::from_millis(500));
    let metrics = second.get("/metrics").1;
    assert!(sample(&metrics, "redline_persistence_failures_total") >= 2.0);
    assert!(second.stop_within(LAST_COPY_WAIT), "{}", second.out);
    assert_eq!(progress(&db, "twice"), entries as i64);
    assert_eq!(
        table_counts(&db, "twice"),
        kinds,
        "the first journal's rows"
    );

    // Under an engine id of its own, the second journal lands whole.
    let journal = std::mem::replace(&mut second.journal, tempfile::tempdir().unwrap());
    let mut again = Engine::start_on(journal, &control("second"), &[]);
    again.wait_for("persistence: connected");
    assert!(again.stop_within(LAST_COPY_WAIT), "{}", again.out);
    assert_complete(&db, "second", again.journal.path());
}

#[test]
fn a_database_too_far_behind_turns_readiness_red_and_halts_trading() {
    let db = pg::Postgres::start();
    let control = format!(
        "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 1000\n\
         [persistence]\ndatabase_url = \"{}\"\nengine_id = \"behind\"\n\
         retry_initial_ms = 50\nretry_max_ms = 200\n\
         max_backlog_entries = 20000\nbacklog_action = \"halt\"\n",
        db.url()
    );
    let mut engine = Engine::start(&control, &[]);
    engine.wait_for("persistence: connected");
    engine.wait_for("msg=status up_s=3 ");
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    let (entries, _) = journal_kinds(engine.journal.path());
    assert!(entries > 20_000, "a journal past the bound: {entries}");
    assert_eq!(progress(&db, "behind"), entries as i64);

    // Started again with the server down: until it answers, the backlog is
    // what this run journaled, not the whole journal.
    db.stop();
    let journal = std::mem::replace(&mut engine.journal, tempfile::tempdir().unwrap());
    let mut engine = Engine::start_on(journal, &control, &[]);
    engine.wait_for("persistence: the database is unreachable");
    engine.wait_for("msg=status up_s=1 ");
    let backlog = sample(
        &engine.get("/metrics").1,
        "redline_persistence_backlog_entries",
    );
    assert!(backlog < 20_000.0, "{backlog}");
    assert!(!engine.out.contains("too far behind"), "{}", engine.out);
    let waited = sample(
        &engine.get("/metrics").1,
        "redline_persistence_backlog_seconds",
    );
    assert!(
        waited >= 1.0,
        "this run's entries have waited since it began: {waited}"
    );

    // Past the bound: readiness fails and trading halts.
    let behind = "persistence: the database is too far behind the journal";
    engine.wait_for(behind);
    assert_eq!(event(&engine.out, behind).get("action"), "halt");
    let (code, body) = engine.get("/health/ready");
    assert_eq!(code, 503);
    assert!(body.contains("entries behind the journal"), "{body}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sample(
        &engine.get("/metrics").1,
        r#"redline_trading_state{state="halted"}"#,
    ) != 1.0
    {
        assert!(Instant::now() < deadline, "halted");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The server back: the persister catches up; trading stays halted
    // until an operator resumes it.
    db.restart();
    engine.wait_for_n("after=\"an outage\"", 1, RECONNECT_WAIT);
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert_complete(&db, "behind", engine.journal.path());
}

#[test]
fn the_password_comes_from_a_file_or_the_environment_and_is_never_shown() {
    let db = pg::Postgres::start();
    let secret = "never-shown-Pa55word";
    db.require_password("trader", secret);
    let url = format!("postgres://trader@127.0.0.1:{}/redline", db.port);
    let token = "password-test-token";
    let shown = |engine: &Engine| {
        let mut seen = engine.out.clone();
        for path in ["/health", "/metrics"] {
            seen += &engine.get(path).1;
        }
        let (code, config) = engine.admin("/admin/config", token);
        assert_eq!(code, 200, "{config}");
        assert!(config.contains("password_env"), "{config}");
        seen + &config
    };

    // From a file, with its line end; one others may read is warned of.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{secret}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o604)).unwrap();
    let control = format!(
        "[feed.synthetic]\nrate = 1000\n\
         [persistence]\ndatabase_url = \"{url}\"\nengine_id = \"file\"\n\
         password_file = \"{}\"\n",
        file.path().display()
    );
    let mut engine = Engine::start(&control, &[(TOKEN_ENV, token)]);
    engine.wait_for("persistence: connected");
    assert!(!shown(&engine).contains(secret));
    let warned = event(
        &engine.out,
        "a secret file is readable by others than its owner",
    );
    assert_eq!(
        (warned.get("key"), warned.get("mode")),
        ("persistence.password_file", "604")
    );
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert!(progress(&db, "file") > 0);

    // From the variable password_env names, DATABASE_URL overriding the
    // config's URL; then a wrong one.
    let control = "[feed.synthetic]\nrate = 1000\n\
                   [persistence]\ndatabase_url = \"postgres://nobody@127.0.0.1:1/none\"\n\
                   engine_id = \"env\"\npassword_env = \"REDLINE_TEST_DB_PASSWORD\"\n\
                   retry_initial_ms = 50\nretry_max_ms = 200\n";
    let env = |password| {
        [
            (TOKEN_ENV, token),
            ("DATABASE_URL", url.as_str()),
            ("REDLINE_TEST_DB_PASSWORD", password),
        ]
    };
    let mut engine = Engine::start(control, &env(secret));
    engine.wait_for("persistence: connected");
    assert!(!shown(&engine).contains(secret));
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert!(progress(&db, "env") > 0);

    let wrong = "wrong-Pa55word";
    let mut engine = Engine::start(control, &env(wrong));
    let unreachable = "persistence: the database is unreachable; the journal keeps everything";
    engine.wait_for(unreachable);
    let error = event(&engine.out, unreachable).get("error").to_owned();
    assert!(error.contains("password authentication failed"), "{error}");
    let seen = shown(&engine);
    assert!(!seen.contains(wrong) && !seen.contains(secret));
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
}

/// The P&L since the trading day began, and the P&L itself, from one
/// scrape (one snapshot of the gate), in the account currency.
fn day_and_total_pnl(engine: &Engine) -> (f64, f64) {
    let metrics = engine.get("/metrics").1;
    let pnl = sample(&metrics, "redline_realized_pnl") + sample(&metrics, "redline_unrealized_pnl");
    (sample(&metrics, "redline_day_pnl"), pnl)
}

#[test]
fn a_trading_day_that_began_while_stopped_begins_at_the_restart() {
    // The next trading day begins six seconds from now.
    let starts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        + Duration::from_secs(6);
    let of_day = starts.as_secs() % 86_400;
    let db = pg::Postgres::start();
    let config = format!(
        "{LAST_COPY_GRACE}[trading_day]\nstarts_utc = \"{:02}:{:02}:{:02}\"\n\
         [feed.synthetic]\nrate = 5000\n\
         [persistence]\ndatabase_url = \"{}\"\nengine_id = \"days\"\n",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        db.url()
    );
    let mut first = Engine::start(&config, &[]);
    assert!(first.out.contains("msg=\"trading day\""), "{}", first.out);
    first.wait_for("msg=status up_s=1 ");
    let (day, total) = day_and_total_pnl(&first);
    assert!(
        (day - total).abs() < 0.01,
        "the first day counts from 0: {day} {total}"
    );
    assert!(first.stop_within(LAST_COPY_WAIT), "{}", first.out);
    assert!(!first.out.contains("trading day began"), "{}", first.out);

    // Restarted after the day began: it begins at the first quote that
    // finds every position marked, from the P&L the journal implies.
    while std::time::SystemTime::now() < std::time::UNIX_EPOCH + starts {
        std::thread::sleep(Duration::from_millis(50));
    }
    let journal = std::mem::replace(&mut first.journal, tempfile::tempdir().unwrap());
    let mut second = Engine::start_on(journal, &config, &[]);
    let scheduled = event(&second.out, "trading day");
    assert!(scheduled.get("due").starts_with("now"), "{}", second.out);
    second.wait_for("trading day began: the daily loss limit counts from here");
    let (day, total) = day_and_total_pnl(&second);
    assert!(second.stop_within(LAST_COPY_WAIT), "{}", second.out);
    let entries = dump(second.journal.path());
    let starts: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["type"] == "day_started")
        .collect();
    assert_eq!(starts.len(), 1, "one day start, in the second run");
    let began = starts[0]["pnl_nanos"].as_i64().unwrap() as f64 / 1e9;
    assert!(
        (total - day - began).abs() < 0.01,
        "the day counts from {began}: day {day}, total {total}"
    );
    // And it is a risk event in the database.
    assert_complete(&db, "days", second.journal.path());
    let row = db
        .client()
        .query_one(
            "SELECT from_state, to_state, day_start_pnl FROM risk_events \
             WHERE engine_id = 'days' AND event = 'day_started'",
            &[],
        )
        .unwrap();
    let (from, to, pnl): (Option<String>, Option<String>, i64) =
        (row.get(0), row.get(1), row.get(2));
    assert_eq!((from, to), (None, None));
    assert_eq!(pnl, starts[0]["pnl_nanos"].as_i64().unwrap());
}

#[test]
fn persisted_retention_deletes_only_what_the_database_holds_and_a_lost_row_is_refused() {
    let db = pg::Postgres::start();
    let control = format!(
        "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 5000\n\
         [persistence]\ndatabase_url = \"{}\"\nengine_id = \"retained\"\n\
         retry_initial_ms = 50\nretry_max_ms = 200\n\
         segment_bytes = 65536\ncheckpoint_segments = 2\nretention = \"persisted\"\n",
        db.url()
    );
    let deleted = "journal: segments deleted (behind a checkpoint, and in PostgreSQL)";
    let mut engine = Engine::start(&control, &[]);
    engine.wait_for_n(deleted, 1, CHECKPOINTS_WAIT);
    // While the database is down the journal keeps what it lacks, and
    // checkpoints go on.
    db.stop();
    engine.wait_for("persistence: the database is unreachable");
    let taken = engine.out.matches("journal: checkpoint taken").count();
    engine.wait_for_n("journal: checkpoint taken", taken + 2, CHECKPOINTS_WAIT);
    db.restart();
    // It goes on from its progress, which the journal still holds.
    engine.wait_for_n("after=\"an outage\"", 1, RECONNECT_WAIT);
    engine.wait_for_n(deleted, 2, CHECKPOINTS_WAIT);
    let metrics = engine.get("/metrics").1;
    assert!(sample(&metrics, "redline_journal_segments_removed_total") >= 2.0);
    assert!(sample(&metrics, "redline_journal_removed_bytes_total") > 65536.0);
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert!(
        !engine.out.contains("does not match this journal"),
        "{}",
        engine.out
    );
    let summary = stdout_of(
        redline()
            .args(["journal", "inspect"])
            .arg(engine.journal.path()),
    );
    let next = next_entry(engine.journal.path());
    assert!(
        summary.contains("are no longer here (deleted behind a checkpoint)"),
        "{summary}"
    );
    assert_every_entry_once(&db, "retained", next);

    // The database is restored from a backup older than what the journal
    // still holds: refilling it is impossible, and the engine says so
    // (after starting from its checkpoint: segment 0 is gone).
    db.client()
        .execute(
            "UPDATE persist_progress SET next_seq = 0 WHERE engine_id = 'retained'",
            &[],
        )
        .unwrap();
    let journal = std::mem::replace(&mut engine.journal, tempfile::tempdir().unwrap());
    let mut again = Engine::start_on(journal, &control, &[]);
    let opened = event(&again.out, "journal opened");
    assert!(opened.find("from_checkpoint_before_entry").is_some());
    let refused = "persistence: the database does not match this journal; copying waits";
    again.wait_for(refused);
    let why = event(&again.out, refused).get("why").to_owned();
    assert!(why.contains("no longer holds them"), "{why}");
    let (code, body) = again.get("/health/ready");
    assert_eq!(code, 503);
    assert!(body.contains("no longer holds"), "{body}");
    assert!(again.stop_within(LAST_COPY_WAIT), "{}", again.out);
}

#[test]
fn a_restart_with_the_database_down_deletes_nothing_it_has_not_confirmed() {
    let db = pg::Postgres::start();
    let control = format!(
        "{LAST_COPY_GRACE}[feed.synthetic]\nrate = 5000\n\
         [persistence]\ndatabase_url = \"{}\"\nengine_id = \"unconfirmed\"\n\
         retry_initial_ms = 50\nretry_max_ms = 200\n\
         segment_bytes = 65536\ncheckpoint_segments = 2\nretention = \"persisted\"\n",
        db.url()
    );
    let mut engine = Engine::start(&control, &[]);
    engine.wait_for("persistence: connected");
    db.stop();
    engine.wait_for("persistence: the database is unreachable");
    engine.wait_for_n("journal: checkpoint taken", 2, CHECKPOINTS_WAIT);
    engine.child.kill().unwrap(); // SIGKILL, a backlog behind it.
    engine.child.wait().unwrap();
    let journal = std::mem::replace(&mut engine.journal, tempfile::tempdir().unwrap());

    // The next run starts with the database still down: its entries are
    // surely not copied, nor is the last run's backlog, so checkpoints
    // delete nothing.
    let mut engine = Engine::start_on(journal, &control, &[]);
    engine.wait_for_n("journal: checkpoint taken", 3, CHECKPOINTS_WAIT);
    assert!(
        !engine.out.contains("journal: segments deleted"),
        "{}",
        engine.out
    );
    db.restart();
    engine.wait_for("persistence: connected");
    assert!(engine.stop_within(LAST_COPY_WAIT), "{}", engine.out);
    assert!(
        !engine.out.contains("does not match this journal"),
        "{}",
        engine.out
    );
    // (The first run may have deleted segments the database held.)
    assert_every_entry_once(&db, "unconfirmed", next_entry(engine.journal.path()));
}
