//! Journal entries as rows of the audit tables, and the batch that copies
//! them in with `COPY ... FROM STDIN BINARY` inside one transaction, with
//! the progress row, so that a batch lands whole or not at all.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
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

/// One value of a row.
type Value = Box<dyn ToSql + Sync + Send>;

/// The rows of one table.
struct Table {
    name: &'static str,
    columns: Vec<(&'static str, Type)>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    fn new(name: &'static str, keyed: bool, columns: &[(&'static str, Type)]) -> Table {
        let mut all = if keyed { KEY.to_vec() } else { Vec::new() };
        all.extend_from_slice(columns);
        Table {
            name,
            columns: all,
            rows: Vec::new(),
        }
    }

    fn copy(&mut self, tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        let types: Vec<Type> = self.columns.iter().map(|(_, t)| t.clone()).collect();
        let sink = tx.copy_in(&format!(
            "COPY {} ({}) FROM STDIN BINARY",
            self.name,
            names.join(", ")
        ))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for row in self.rows.drain(..) {
            let values: Vec<&(dyn ToSql + Sync)> = row
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            writer.write(&values)?;
        }
        writer.finish()?;
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

fn text(s: &str) -> Value {
    Box::new(s.to_owned())
}

fn opt_text(s: Option<&str>) -> Value {
    Box::new(s.map(str::to_owned))
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
fn intent_values(intent: Intent) -> Vec<Value> {
    match intent {
        Intent::New(o) => vec![
            text("new"),
            Box::new(o.id.0 as i64),
            Box::new(Some(i32::from(o.instrument.0))),
            opt_text(Some(side(o.side))),
            Box::new(Some(o.price.0)),
            Box::new(Some(o.qty.0)),
            opt_text(Some(match o.tif {
                TimeInForce::Limit => "limit",
                TimeInForce::Ioc => "ioc",
            })),
        ],
        Intent::Cancel(id) => vec![
            text("cancel"),
            Box::new(id.0 as i64),
            Box::new(None::<i32>),
            opt_text(None),
            Box::new(None::<i64>),
            Box::new(None::<i64>),
            opt_text(None),
        ],
    }
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
                    ("from_state", Type::TEXT),
                    ("to_state", Type::TEXT),
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
        let key = || -> Vec<Value> {
            vec![
                text(&self.engine_id),
                Box::new(seq as i64),
                Box::new(wall(entry.wall_ns)),
                Box::new(i16::from(entry.writer)),
                Box::new(entry.record.seq as i64),
            ]
        };
        let mut row = key();
        let stamp_values = |s: &Stamps| -> Vec<Value> {
            vec![
                text(trigger(s)),
                Box::new(s.event as i64),
                Box::new(s.decided as i64),
                Box::new(s.risk as i64),
            ]
        };
        let table = match entry.record.event {
            AuditEvent::Passed { intent, stamps } | AuditEvent::Refused { intent, stamps, .. } => {
                let reason = match entry.record.event {
                    AuditEvent::Refused { reason, .. } => Some(reason.code()),
                    _ => None,
                };
                row.push(text(if reason.is_some() {
                    "refused"
                } else {
                    "passed"
                }));
                row.extend(intent_values(intent));
                row.push(opt_text(reason));
                row.extend(stamp_values(&stamps));
                &mut self.decisions
            }
            AuditEvent::Sent { intent, stamps } => {
                row.extend(intent_values(intent));
                row.extend(stamp_values(&stamps));
                row.push(Box::new(stamps.sent as i64));
                &mut self.orders
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
                row.extend([
                    Box::new(report.id.0 as i64) as Value,
                    Box::new(i32::from(report.instrument.0)),
                    text(side(report.side)),
                    text(kind),
                    opt_text(reason),
                    Box::new(report.price.0),
                    Box::new(report.filled.0),
                    Box::new(report.leaves.0),
                    Box::new(received as i64),
                ]);
                &mut self.executions
            }
            AuditEvent::State { from, to, at } => {
                row.extend([
                    text(from.name()),
                    text(to.name()),
                    Box::new(at as i64) as Value,
                ]);
                &mut self.risk_events
            }
            AuditEvent::Command {
                id,
                issuer,
                action,
                at,
            } => {
                row.extend([
                    Box::new(id as i64) as Value,
                    text("taken"),
                    opt_text(Some(&format!("{issuer:08x}"))),
                    opt_text(Some(action.name())),
                    opt_text(None),
                    opt_text(None),
                    Box::new(at as i64),
                ]);
                &mut self.admin_audit
            }
            AuditEvent::Finished { id, outcome, at } => {
                let reason = match outcome {
                    Outcome::Refused(r) => Some(r.code()),
                    _ => None,
                };
                row.extend([
                    Box::new(id as i64) as Value,
                    text("finished"),
                    opt_text(None),
                    opt_text(None),
                    opt_text(Some(outcome.name())),
                    opt_text(reason),
                    Box::new(at as i64),
                ]);
                &mut self.admin_audit
            }
        };
        table.rows.push(row);
    }

    /// Copies every row in and moves `engine_id`'s progress to the entry
    /// after the last one, in `tx` (the caller commits); the batch is
    /// empty after. Positions carry over.
    ///
    /// # Errors
    ///
    /// A failed statement; nothing of the batch is committed then.
    pub fn copy(&mut self, tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
        let Some((last_seq, last_wall)) = self.last else {
            return Ok(());
        };
        for (instrument, moved) in self.moved.iter_mut().enumerate() {
            if std::mem::take(moved) {
                self.snapshots.rows.push(vec![
                    text(&self.engine_id),
                    Box::new(last_seq as i64),
                    Box::new(wall(last_wall)),
                    Box::new(instrument as i32),
                    Box::new(self.positions[instrument]),
                ]);
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
            table.copy(tx)?;
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
