//! Daily partitions of the audit tables (UTC days, named
//! `TABLE_pYYYYMMDD`): made for the day now falls in and the next three,
//! and for any past day a copied backlog reaches back to; dropped once
//! older than the retention, if there is one. Rows outside every partition
//! land in each table's default partition, so a late or clock-skewed row
//! is never refused; a day made later takes its rows out of the default.
//!
//! Only the persister's thread calls these, between its batches.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::error::SqlState;
use postgres::Client;

use crate::timestamp::rfc3339;

/// The partitioned tables.
pub const TABLES: [&str; 6] = [
    "decisions",
    "orders",
    "executions",
    "risk_events",
    "admin_audit",
    "position_snapshots",
];

/// Days made ahead, today included.
pub const AHEAD: u64 = 4;

/// A UTC day, as days since the Unix epoch.
pub fn day_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 86_400
}

/// Day `d` as `YYYY-MM-DD`.
fn date(d: u64) -> String {
    rfc3339(Duration::from_secs(d * 86_400))[..10].to_owned()
}

/// Day `d`'s first instant, as a literal that means UTC whatever the
/// session's time zone.
fn midnight(d: u64) -> String {
    format!("'{} 00:00:00+00'", date(d))
}

/// `table`'s partition of day `d`.
fn partition(table: &str, d: u64) -> String {
    format!("{table}_p{}", date(d).replace('-', ""))
}

/// Makes the partitions of `days` that do not exist yet; returns their
/// names. A day whose rows went to the default partition meanwhile (its
/// partition was not made in time) is made with them moved into it.
///
/// # Errors
///
/// A failing statement: that day's partition of that table, and those
/// after it, are not made; those before stay.
pub fn make(client: &mut Client, days: Range<u64>) -> Result<Vec<String>, postgres::Error> {
    let wanted: Vec<String> = days
        .clone()
        .flat_map(|d| TABLES.map(|table| partition(table, d)))
        .collect();
    let missing: Vec<String> = client
        .query(
            "SELECT name FROM unnest($1::text[]) AS wanted (name) \
             WHERE to_regclass(name) IS NULL",
            &[&wanted],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut made = Vec::new();
    for d in days {
        let bounds = format!("FROM ({}) TO ({})", midnight(d), midnight(d + 1));
        for table in TABLES {
            let name = partition(table, d);
            if !missing.contains(&name) {
                continue;
            }
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES {bounds}"
            );
            match client.batch_execute(&sql) {
                Ok(()) => {}
                Err(e) if e.code() == Some(&SqlState::CHECK_VIOLATION) => {
                    move_out_of_default(client, table, &name, d)?;
                }
                Err(e) => return Err(e),
            }
            made.push(name);
        }
    }
    Ok(made)
}

/// Makes `table`'s partition `name` of day `d` from the rows its default
/// partition holds of that day, in one transaction. A partition takes its
/// parent's columns in order (every partition here is made from it), so
/// the rows move column for column.
fn move_out_of_default(
    client: &mut Client,
    table: &str,
    name: &str,
    d: u64,
) -> Result<(), postgres::Error> {
    let (from, to) = (midnight(d), midnight(d + 1));
    let mut tx = client.transaction()?;
    tx.batch_execute(&format!(
        "CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         WITH moved AS (DELETE FROM {table}_default WHERE at >= {from} AND at < {to} \
                        RETURNING *) \
         INSERT INTO {name} SELECT * FROM moved;
         ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to});"
    ))?;
    tx.commit()
}

/// What [`expire`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expired {
    /// The partitions dropped.
    pub dropped: Vec<String>,
    /// The rows deleted from the default partitions.
    pub rows: u64,
}

/// Drops every day partition (of the names [`make`] gives) before day
/// `keep_from`, and deletes the default partitions' rows from before it:
/// every engine's rows, as retention is the database's.
///
/// # Errors
///
/// A failing statement: what it had removed before stays removed.
pub fn expire(client: &mut Client, keep_from: u64) -> Result<Expired, postgres::Error> {
    let mut expired = Expired::default();
    let first_kept = date(keep_from).replace('-', "");
    for table in TABLES {
        for name in partitions_of(client, table)? {
            let Some(day) = name.strip_prefix(table).and_then(|n| n.strip_prefix("_p")) else {
                continue;
            };
            if day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit()) && *day < *first_kept {
                client.batch_execute(&format!("DROP TABLE {name}"))?;
                expired.dropped.push(name);
            }
        }
        expired.rows += client.execute(
            &format!(
                "DELETE FROM {table}_default WHERE at < {}",
                midnight(keep_from)
            ),
            &[],
        )?;
    }
    Ok(expired)
}

/// The names of `table`'s partitions, in order.
fn partitions_of(client: &mut Client, table: &str) -> Result<Vec<String>, postgres::Error> {
    Ok(client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = $1::text::regclass ORDER BY 1",
            &[&table],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrate;
    use crate::test_pg::Postgres;

    /// A migrated database, and a client of it whose session time zone is
    /// far from UTC (the partitions must not follow it).
    fn database() -> (Postgres, Client) {
        let db = Postgres::start();
        let mut client = db.client();
        migrate(&mut client).unwrap();
        client
            .batch_execute("SET TIME ZONE 'Pacific/Auckland'")
            .unwrap();
        (db, client)
    }

    /// The `seq` column of what `sql` selects.
    fn seqs(client: &mut Client, sql: &str) -> Vec<i64> {
        client
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    fn count(client: &mut Client, sql: &str) -> i64 {
        client.query_one(sql, &[]).unwrap().get(0)
    }

    /// 2026-12-03 as a day number.
    const DAY: u64 = 20_790;

    fn risk_event(client: &mut Client, seq: i64, at: &str) {
        client
            .execute(
                &format!(
                    "INSERT INTO risk_events (engine_id, seq, at, writer, writer_seq, at_ts) \
                     VALUES ('e', $1, '{at}', 0, 0, 0)"
                ),
                &[&seq],
            )
            .unwrap();
    }

    #[test]
    fn days_are_made_once_on_utc_bounds_whatever_the_session_zone() {
        assert_eq!(date(DAY), "2026-12-03");
        assert_eq!(
            day_of(UNIX_EPOCH + Duration::from_secs(DAY * 86_400 + 86_399)),
            DAY
        );
        let (_db, mut client) = database();
        let made = make(&mut client, DAY..DAY + AHEAD).unwrap();
        assert_eq!(made.len(), TABLES.len() * AHEAD as usize);
        assert!(made.contains(&"executions_p20261206".to_owned()));
        assert_eq!(
            make(&mut client, DAY..DAY + AHEAD).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            partitions_of(&mut client, "risk_events").unwrap(),
            [
                "risk_events_default",
                "risk_events_p20261203",
                "risk_events_p20261204",
                "risk_events_p20261205",
                "risk_events_p20261206",
            ]
        );
        // The last second of a UTC day (the next day in Auckland) and the
        // first of the next.
        risk_event(&mut client, 1, "2026-12-03 23:59:59+00");
        risk_event(&mut client, 2, "2026-12-04 00:00:00+00");
        assert_eq!(
            count(&mut client, "SELECT count(*) FROM risk_events_p20261203"),
            1
        );
        assert_eq!(
            count(&mut client, "SELECT count(*) FROM risk_events_p20261204"),
            1
        );
        assert_eq!(
            count(&mut client, "SELECT count(*) FROM risk_events_default"),
            0
        );
    }

    #[test]
    fn a_day_made_late_takes_its_rows_out_of_the_default() {
        let (_db, mut client) = database();
        make(&mut client, DAY..DAY + 1).unwrap();
        // Rows of the next two days, before their partitions exist.
        risk_event(&mut client, 1, "2026-12-04 10:00:00+00");
        risk_event(&mut client, 2, "2026-12-04 23:00:00+00");
        risk_event(&mut client, 3, "2026-12-05 01:00:00+00");
        assert_eq!(
            count(&mut client, "SELECT count(*) FROM risk_events_default"),
            3
        );
        let made = make(&mut client, DAY + 1..DAY + 2).unwrap();
        assert_eq!(made.len(), TABLES.len());
        assert_eq!(
            count(
                &mut client,
                "SELECT count(*) FROM risk_events_p20261204 WHERE event = 'state'"
            ),
            2
        );
        let rest = seqs(&mut client, "SELECT seq FROM risk_events_default");
        assert_eq!(rest, [3], "the other day's row stays in the default");
        // The moved day takes new rows and keeps its key.
        risk_event(&mut client, 4, "2026-12-04 12:00:00+00");
        let again = client.execute(
            "INSERT INTO risk_events (engine_id, seq, at, writer, writer_seq, at_ts) \
             VALUES ('e', 1, '2026-12-04 10:00:00+00', 0, 0, 0)",
            &[],
        );
        assert_eq!(again.unwrap_err().code(), Some(&SqlState::UNIQUE_VIOLATION));
        assert_eq!(count(&mut client, "SELECT count(*) FROM risk_events"), 4);
    }

    #[test]
    fn expiry_drops_the_days_before_the_first_kept_and_nothing_else() {
        let (_db, mut client) = database();
        make(&mut client, DAY - 3..DAY + 1).unwrap();
        client
            .batch_execute(
                "CREATE TABLE risk_events_archive PARTITION OF risk_events \
                 FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-01-02 00:00:00+00')",
            )
            .unwrap();
        risk_event(&mut client, 1, "2026-12-01 12:00:00+00");
        risk_event(&mut client, 2, "2026-12-02 12:00:00+00");
        risk_event(&mut client, 3, "2026-12-03 12:00:00+00");
        // The default's: one before the first day kept, one in it.
        risk_event(&mut client, 4, "2026-11-01 12:00:00+00");
        risk_event(&mut client, 5, "2026-12-10 12:00:00+00");
        risk_event(&mut client, 6, "2020-01-01 12:00:00+00");
        let expired = expire(&mut client, DAY - 1).unwrap();
        let mut dropped = expired.dropped.clone();
        dropped.sort();
        let mut wanted: Vec<String> = [DAY - 3, DAY - 2]
            .iter()
            .flat_map(|&d| TABLES.map(|table| partition(table, d)))
            .collect();
        wanted.sort();
        assert_eq!(dropped, wanted);
        assert_eq!(expired.rows, 1);
        assert_eq!(
            partitions_of(&mut client, "risk_events").unwrap(),
            [
                "risk_events_archive",
                "risk_events_default",
                "risk_events_p20261202",
                "risk_events_p20261203",
            ]
        );
        let left = seqs(&mut client, "SELECT seq FROM risk_events ORDER BY seq");
        assert_eq!(
            left,
            [2, 3, 5, 6],
            "a partition not made here is left alone"
        );
        assert_eq!(expire(&mut client, DAY - 1).unwrap(), Expired::default());
    }
}
