//! Schema migrations: the versioned SQL files in `control/migrations/`,
//! compiled in and applied in order, each inside a transaction with its
//! row in `redline_migrations`, under an advisory lock so that two engines
//! starting at once do not both apply one.

use postgres::Client;

/// Every migration, in order: version, name, SQL.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "audit", include_str!("../../migrations/0001_audit.sql")),
    (
        2,
        "trading_days",
        include_str!("../../migrations/0002_trading_days.sql"),
    ),
    (
        3,
        "positions",
        include_str!("../../migrations/0003_positions.sql"),
    ),
];

/// The advisory lock key migrations hold ("redline" in ASCII).
const LOCK: i64 = 0x0072_6564_6c69_6e65;

/// Applies the migrations `client`'s database has not had; returns the
/// versions applied now.
///
/// # Errors
///
/// A failing statement (that migration is rolled back whole; those before
/// it stay).
pub fn migrate(client: &mut Client) -> Result<Vec<i32>, postgres::Error> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS redline_migrations (
             version    integer     PRIMARY KEY,
             name       text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM redline_migrations WHERE version = $1",
                &[&version],
            )?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO redline_migrations (version, name) VALUES ($1, $2)",
            &[&version, &name],
        )?;
        tx.commit()?;
        applied.push(version);
    }
    Ok(applied)
}
