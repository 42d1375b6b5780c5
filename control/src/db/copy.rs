//! Journal entries as rows of the audit tables, and the batch that copies
//! them in with `COPY ... FROM STDIN BINARY` inside one transaction, with
//! the progress row, so that a batch lands whole or not at all.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::Transaction;
use redline_engine::audit::{AuditEvent, JournalEntry, Stamps, Trigger};
use redline_engine::command::Outcome;
use redline_engine::domain::{ExecKind, Intent, Side, TimeInForce};

/// The columns every table begins with.
const KEY: [(&str, Type); 5] = [
    ("engine_id", Type::TEXT),
    ("seq", Type::INT8),
    ("at", Type::TIMESTAMPTZ),
    ("writer", Type::INT2),
    ("writer_seq", Type::INT8),
];

/// One value of a row, typed as its column is. Rows are kept as flat runs
/// of cells, so that a batch allocates per batch, not per value.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    /// The batch's engine id (TEXT), written from the batch.
    Engine,
    Text(&'static str),
    /// Text made for this row (TEXT), such as an admin token's id.
    Owned(String),
    I16(i16),
    I32(i32),
    I64(i64),
    At(SystemTime),
    Null,
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Each cell goes only into a column of its own type: a mismatch is
        // a bug here, refused before PostgreSQL sees wrong bytes.
        match (self, ty) {
            (Cell::Text(s), &Type::TEXT) => s.to_sql(ty, out),
            (Cell::Owned(s), &Type::TEXT) => s.to_sql(ty, out),
            (Cell::I16(v), &Type::INT2) => v.to_sql(ty, out),
            (Cell::I32(v), &Type::INT4) => v.to_sql(ty, out),
            (Cell::I64(v), &Type::INT8) => v.to_sql(ty, out),
            (Cell::At(t), &Type::TIMESTAMPTZ) => t.to_sql(ty, out),
            (Cell::Null, _) => Ok(IsNull::Yes),
            _ => Err(format!("{self:?} in a {ty} column").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`.
        true
    }

    to_sql_checked!();
}

/// The rows of one table, `columns.len()` cells each.
struct Table {
    name: &'static str,
    columns: Vec<(&'static str, Type)>,
    cells: Vec<Cell>,
}

impl Table {
    fn new(name: &'static str, keyed: bool, columns: &[(&'static str, Type)]) -> Table {
        let mut all = if keyed { KEY.to_vec() } else { Vec::new() };
        all.extend_from_slice(columns);
        Table {
            name,
            columns: all,
            cells: Vec::new(),
        }
    }

    fn copy(
        &mut self,
        tx: &mut Transaction<'_>,
        engine_id: &String,
    ) -> Result<(), postgres::Error> {
        if self.cells.is_empty() {
            return Ok(());
        }
        let width = self.columns.len();
        debug_assert_eq!(self.cells.len() % width, 0, "{}: a ragged row", self.name);
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        let types: Vec<Type> = self.columns.iter().map(|(_, t)| t.clone()).collect();
        let sink = tx.copy_in(&format!(
            "COPY {} ({}) FROM STDIN BINARY",
            self.name,
            names.join(", ")
        ))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(width);
        for row in self.cells.chunks(width) {
            values.clear();
            values.extend(row.iter().map(|cell| match cell {
                Cell::Engine => engine_id as &(dyn ToSql + Sync),
                cell => cell,
            }));
            writer.write(&values)?;
        }
        writer.finish()?;
        self.cells.clear();
        Ok(())
    }
}

/// Entries gathered for one transaction.
pub struct Batch {
    engine_id: String,
    decisions: Table,
    orders: Table,
    executions: Table,
    risk_events: Table,
    admin_audit: Table,
    snapshots: Table,
    /// Each instrument's position as of the entries added.
    positions: Vec<i64>,
    /// Instruments whose position moved in this batch.
    moved: Vec<bool>,
    /// The entries added, the first one's wall time, and the last seq.
    pub entries: u64,
    pub first_wall_ns: Option<u64>,
    last: Option<(u64, u64)>,
}

fn text(s: Option<&'static str>) -> Cell {
    s.map_or(Cell::Null, Cell::Text)
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn trigger(stamps: &Stamps) -> &'static str {
    match stamps.trigger {
        Trigger::Quote => "quote",
        Trigger::Report => "report",
        Trigger::Timer => "timer",
        Trigger::Command => "command",
    }
}

fn wall(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// The intent's columns: intent, order_id, instrument, side, price, qty,
/// tif.
fn intent_cells(intent: Intent) -> [Cell; 7] {
    match intent {
        Intent::New(o) => [
            Cell::Text("new"),
            Cell::I64(o.id.0 as i64),
            Cell::I32(i32::from(o.instrument.0)),
            Cell::Text(side(o.side)),
            Cell::I64(o.price.0),
            Cell::I64(o.qty.0),
            Cell::Text(match o.tif {
                TimeInForce::Limit => "limit",
                TimeInForce::Ioc => "ioc",
            }),
        ],
        Intent::Cancel(id) => [
            Cell::Text("cancel"),
            Cell::I64(id.0 as i64),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
        ],
    }
}

/// The stamps' columns: trigger, event_ts, decided_ts, risk_ts.
fn stamp_cells(s: &Stamps) -> [Cell; 4] {
    [
        Cell::Text(trigger(s)),
        Cell::I64(s.event as i64),
        Cell::I64(s.decided as i64),
        Cell::I64(s.risk as i64),
    ]
}

const INTENT: [(&str, Type); 7] = [
    ("intent", Type::TEXT),
    ("order_id", Type::INT8),
    ("instrument", Type::INT4),
    ("side", Type::TEXT),
    ("price", Type::INT8),
    ("qty", Type::INT8),
    ("tif", Type::TEXT),
];

impl Batch {
    /// An empty batch for `engine_id`, starting from `positions` (by
    /// instrument id).
    pub fn new(engine_id: &str, positions: Vec<i64>) -> Batch {
        let stamps = [
            ("trigger", Type::TEXT),
            ("event_ts", Type::INT8),
            ("decided_ts", Type::INT8),
            ("risk_ts", Type::INT8),
        ];
        let mut decision = vec![("verdict", Type::TEXT)];
        decision.extend_from_slice(&INTENT);
        decision.push(("reason", Type::TEXT));
        decision.extend_from_slice(&stamps);
        let mut order = INTENT.to_vec();
        order.extend_from_slice(&stamps);
        order.push(("sent_ts", Type::INT8));
        let instruments = positions.len();
        Batch {
            engine_id: engine_id.to_owned(),
            decisions: Table::new("decisions", true, &decision),
            orders: Table::new("orders", true, &order),
            executions: Table::new(
                "executions",
                true,
                &[
                    ("order_id", Type::INT8),
                    ("instrument", Type::INT4),
                    ("side", Type::TEXT),
                    ("kind", Type::TEXT),
                    ("reason", Type::TEXT),
                    ("price", Type::INT8),
                    ("filled", Type::INT8),
                    ("leaves", Type::INT8),
                    ("received_ts", Type::INT8),
                ],
            ),
            risk_events: Table::new(
                "risk_events",
                true,
                &[
                    ("event", Type::TEXT),
                    ("from_state", Type::TEXT),
                    ("to_state", Type::TEXT),
                    ("day_start_pnl", Type::INT8),
                    ("at_ts", Type::INT8),
                ],
            ),
            admin_audit: Table::new(
                "admin_audit",
                true,
                &[
                    ("command_id", Type::INT8),
                    ("event", Type::TEXT),
                    ("token", Type::TEXT),
                    ("action", Type::TEXT),
                    ("outcome", Type::TEXT),
                    ("reason", Type::TEXT),
                    ("at_ts", Type::INT8),
                ],
            ),
            snapshots: Table::new(
                "position_snapshots",
                false,
                &[
                    ("engine_id", Type::TEXT),
                    ("seq", Type::INT8),
                    ("at", Type::TIMESTAMPTZ),
                    ("instrument", Type::INT4),
                    ("position", Type::INT8),
                ],
            ),
            positions,
            moved: vec![false; instruments],
            entries: 0,
            first_wall_ns: None,
            last: None,
        }
    }

    /// Adds journal entry `seq`.
    pub fn add(&mut self, seq: u64, entry: &JournalEntry) {
        self.entries += 1;
        self.first_wall_ns.get_or_insert(entry.wall_ns);
        self.last = Some((seq, entry.wall_ns));
        let table = match entry.record.event {
            AuditEvent::Passed { .. } | AuditEvent::Refused { .. } => &mut self.decisions,
            AuditEvent::Sent { .. } => &mut self.orders,
            AuditEvent::Report { .. } => &mut self.executions,
            AuditEvent::State { .. } | AuditEvent::DayStarted { .. } => &mut self.risk_events,
            AuditEvent::Command { .. }
            | AuditEvent::Finished { .. }
            | AuditEvent::Rejected { .. } => &mut self.admin_audit,
        };
        let cells = &mut table.cells;
        cells.extend([
            Cell::Engine,
            Cell::I64(seq as i64),
            Cell::At(wall(entry.wall_ns)),
            Cell::I16(i16::from(entry.writer)),
            Cell::I64(entry.record.seq as i64),
        ]);
        match entry.record.event {
            AuditEvent::Passed { intent, stamps } => {
                cells.push(Cell::Text("passed"));
                cells.extend(intent_cells(intent));
                cells.push(Cell::Null);
                cells.extend(stamp_cells(&stamps));
            }
            AuditEvent::Refused {
                intent,
                stamps,
                reason,
            } => {
                cells.push(Cell::Text("refused"));
                cells.extend(intent_cells(intent));
                cells.push(Cell::Text(reason.code()));
                cells.extend(stamp_cells(&stamps));
            }
            AuditEvent::Sent { intent, stamps } => {
                cells.extend(intent_cells(intent));
                cells.extend(stamp_cells(&stamps));
                cells.push(Cell::I64(stamps.sent as i64));
            }
            AuditEvent::Report { report, received } => {
                let (kind, reason) = match report.kind {
                    ExecKind::Ack => ("ack", None),
                    ExecKind::PartialFill => ("partial_fill", None),
                    ExecKind::Fill => ("fill", None),
                    ExecKind::Cancelled => ("cancelled", None),
                    ExecKind::Rejected(r) => ("rejected", Some(r.code())),
                    ExecKind::CancelRejected(r) => ("cancel_rejected", Some(r.code())),
                };
                if matches!(report.kind, ExecKind::Fill | ExecKind::PartialFill) {
                    let i = usize::from(report.instrument.0);
                    if let Some(position) = self.positions.get_mut(i) {
                        *position += report.side.sign() * report.filled.0;
                        self.moved[i] = true;
                    }
                }
                cells.extend([
                    Cell::I64(report.id.0 as i64),
                    Cell::I32(i32::from(report.instrument.0)),
                    Cell::Text(side(report.side)),
                    Cell::Text(kind),
                    text(reason),
                    Cell::I64(report.price.0),
                    Cell::I64(report.filled.0),
                    Cell::I64(report.leaves.0),
                    Cell::I64(received as i64),
                ]);
            }
            AuditEvent::State { from, to, at } => {
                cells.extend([
                    Cell::Text("state"),
                    Cell::Text(from.name()),
                    Cell::Text(to.name()),
                    Cell::Null,
                    Cell::I64(at as i64),
                ]);
            }
            AuditEvent::DayStarted { pnl_nanos, at } => {
                cells.extend([
                    Cell::Text("day_started"),
                    Cell::Null,
                    Cell::Null,
                    Cell::I64(pnl_nanos),
                    Cell::I64(at as i64),
                ]);
            }
            AuditEvent::Command {
                id,
                issuer,
                action,
                at,
            } => {
                cells.extend([
                    Cell::I64(id as i64),
                    Cell::Text("taken"),
                    Cell::Owned(format!("{issuer:08x}")),
                    Cell::Text(action.name()),
                    Cell::Null,
                    Cell::Null,
                    Cell::I64(at as i64),
                ]);
            }
            AuditEvent::Rejected {
                id,
                issuer,
                action,
                status,
                at,
            } => {
                cells.extend([
                    Cell::I64(id as i64),
                    Cell::Text("rejected"),
                    Cell::Owned(format!("{issuer:08x}")),
                    Cell::Text(action.name()),
                    Cell::Text("refused by the control plane"),
                    Cell::Owned(format!("HTTP {status}")),
                    Cell::I64(at as i64),
                ]);
            }
            AuditEvent::Finished { id, outcome, at } => {
                let reason = match outcome {
                    Outcome::Refused(r) => Some(r.code()),
                    _ => None,
                };
                cells.extend([
                    Cell::I64(id as i64),
                    Cell::Text("finished"),
                    Cell::Null,
                    Cell::Null,
                    Cell::Text(outcome.name()),
                    text(reason),
                    Cell::I64(at as i64),
                ]);
            }
        }
    }

    /// Copies every row in, sets the moved positions in `positions`, and
    /// moves `engine_id`'s progress to the entry after the last one, in
    /// `tx` (the caller commits); the batch is empty after. Positions
    /// carry over.
    ///
    /// # Errors
    ///
    /// A failed statement; nothing of the batch is committed then.
    pub fn copy(&mut self, tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
        let Some((last_seq, last_wall)) = self.last else {
            return Ok(());
        };
        let (mut instruments, mut positions) = (Vec::new(), Vec::new());
        for (instrument, moved) in self.moved.iter_mut().enumerate() {
            if std::mem::take(moved) {
                self.snapshots.cells.extend([
                    Cell::Engine,
                    Cell::I64(last_seq as i64),
                    Cell::At(wall(last_wall)),
                    Cell::I32(instrument as i32),
                    Cell::I64(self.positions[instrument]),
                ]);
                instruments.push(instrument as i32);
                positions.push(self.positions[instrument]);
            }
        }
        for table in [
            &mut self.decisions,
            &mut self.orders,
            &mut self.executions,
            &mut self.risk_events,
            &mut self.admin_audit,
            &mut self.snapshots,
        ] {
            table.copy(tx, &self.engine_id)?;
        }
        if !instruments.is_empty() {
            tx.execute(
                "INSERT INTO positions (engine_id, instrument, seq, at, position) \
                 SELECT $1, instrument, $3, $4, position FROM unnest($2::integer[], $5::bigint[]) \
                 AS moved (instrument, position) \
                 ON CONFLICT (engine_id, instrument) DO UPDATE \
                 SET seq = EXCLUDED.seq, at = EXCLUDED.at, position = EXCLUDED.position",
                &[
                    &self.engine_id,
                    &instruments,
                    &(last_seq as i64),
                    &wall(last_wall),
                    &positions,
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO persist_progress (engine_id, next_seq) VALUES ($1, $2) \
             ON CONFLICT (engine_id) DO UPDATE SET next_seq = EXCLUDED.next_seq",
            &[&self.engine_id, &(last_seq as i64 + 1)],
        )?;
        self.entries = 0;
        self.first_wall_ns = None;
        self.last = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_encodes_only_into_a_column_of_its_type() {
        let mut out = BytesMut::new();
        assert!(Cell::I64(7).to_sql(&Type::INT8, &mut out).is_ok());
        assert_eq!(&out[..], &7i64.to_be_bytes());
        assert!(Cell::I64(7).to_sql(&Type::TEXT, &mut out).is_err());
        assert!(Cell::Text("x").to_sql(&Type::INT4, &mut out).is_err());
        assert!(Cell::Engine.to_sql(&Type::TEXT, &mut out).is_err());
        assert!(matches!(
            Cell::Null.to_sql(&Type::INT8, &mut out),
            Ok(IsNull::Yes)
        ));
    }
}
