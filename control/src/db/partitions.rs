//! Daily partitions of the audit tables, made a few days ahead: the day
//! `now` falls in (UTC) and the next three. Rows outside every partition
//! land in each table's default partition, so a late or clock-skewed row
//! is never refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
const DAYS: u64 = 4;

/// Makes the partitions of the days from `now` on that do not exist yet.
///
/// # Errors
///
/// A failing statement.
pub fn ensure_partitions(client: &mut Client, now: SystemTime) -> Result<(), postgres::Error> {
    let today = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 86_400;
    let day = |d: u64| rfc3339(Duration::from_secs(d * 86_400))[..10].to_owned();
    let mut sql = String::new();
    for d in today..today + DAYS {
        let (from, to) = (day(d), day(d + 1));
        let suffix = from.replace('-', "");
        for table in TABLES {
            sql += &format!(
                "CREATE TABLE IF NOT EXISTS {table}_p{suffix} PARTITION OF {table} \
                 FOR VALUES FROM ('{from}') TO ('{to}');\n"
            );
        }
    }
    client.batch_execute(&sql)
}
