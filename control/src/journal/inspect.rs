//! `redline journal inspect DIR` and `redline journal dump DIR`: the
//! journal read for a person (segments, entries by kind, first and last
//! entry and time, the checkpoints, the state of the tail) and for tools (one JSON object
//! per entry). Both only read: a torn tail is reported, not cut off.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use redline_engine::audit::{AuditEvent, JournalEntry, Stamps, Trigger, RESTART_WRITER};
use redline_engine::command::Outcome;
use redline_engine::domain::{ExecKind, ExecReport, Intent, Side, TimeInForce};
use serde_json::{json, Value};

use super::checkpoint;
use super::scan::scan;
use crate::timestamp::rfc3339;

/// The summary of the journal in `dir`.
///
/// # Errors
///
/// When the journal cannot be read or is corrupt.
pub fn inspect(dir: &Path) -> anyhow::Result<String> {
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut first: Option<(u64, u64)> = None;
    let mut last: Option<(u64, u64)> = None;
    let scan = scan(dir, 0, |seq, entry| {
        *kinds.entry(kind(&entry.record.event)).or_default() += 1;
        first.get_or_insert((seq, entry.wall_ns));
        last = Some((seq, entry.wall_ns));
    })?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "journal {}: {} segment(s), {} entries, next entry {}",
        dir.display(),
        scan.segments.len(),
        scan.entries(),
        scan.next_seq
    );
    for segment in &scan.segments {
        let name = segment
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let range = match segment.entries {
            0 => "no entries".to_owned(),
            n => format!(
                "entries {}..={}",
                segment.first_seq,
                segment.first_seq + n - 1
            ),
        };
        let _ = writeln!(out, "  {name}  {} bytes, {range}", segment.bytes);
    }
    if let Some(oldest) = scan.segments.first().filter(|s| s.first_seq > 0) {
        let _ = writeln!(
            out,
            "entries before {} are no longer here (deleted behind a checkpoint)",
            oldest.first_seq
        );
    }
    for (_, path) in checkpoint::list(dir)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let _ = match checkpoint::read(&path) {
            Ok(kept) => {
                let c = &kept.checkpoint;
                writeln!(
                    out,
                    "  {name}  checkpoint before entry {}: {} entries folded, state {}, {} \
                     order(s) open",
                    c.next_seq,
                    c.entries,
                    c.state.name(),
                    c.ledger.open.len()
                )
            }
            Err(why) => writeln!(out, "  {name}  checkpoint that cannot serve: {why}"),
        };
    }
    let at = |ns: u64| rfc3339(Duration::from_nanos(ns));
    if let (Some((first_seq, first_ns)), Some((last_seq, last_ns))) = (first, last) {
        let _ = writeln!(out, "first entry {first_seq} at {}", at(first_ns));
        let _ = writeln!(out, "last entry {last_seq} at {}", at(last_ns));
    }
    let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if !counts.is_empty() {
        let _ = writeln!(out, "entries by kind: {}", counts.join(", "));
    }
    match &scan.torn {
        None => {
            let _ = writeln!(out, "tail: whole");
        }
        Some(torn) => {
            let _ = writeln!(
                out,
                "tail: torn: {} bytes at byte {} of {} ({}); the engine cuts them off when it \
                 next starts",
                torn.bytes,
                torn.offset,
                torn.segment.display(),
                torn.why
            );
        }
    }
    Ok(out)
}

/// Writes every entry of the journal in `dir` to `out`, one JSON object a
/// line; returns how many.
///
/// # Errors
///
/// When the journal cannot be read or is corrupt (the entries before the
/// damage are written first), or `out` fails.
pub fn dump(dir: &Path, out: &mut impl Write) -> anyhow::Result<u64> {
    let mut written = 0;
    let mut failed = None;
    let scan = scan(dir, 0, |seq, entry| {
        if failed.is_none() {
            match writeln!(out, "{}", to_json(seq, entry)) {
                Ok(()) => written += 1,
                Err(e) => failed = Some(e),
            }
        }
    });
    match failed {
        // The reader went away (`| head`): it has what it wanted.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(written),
        Some(e) => return Err(e.into()),
        None => {}
    }
    let scan = scan?;
    if let Some(torn) = scan.torn {
        eprintln!(
            "redline: journal: the tail is torn ({} bytes at byte {} of {}: {}); the engine \
             cuts them off when it next starts",
            torn.bytes,
            torn.offset,
            torn.segment.display(),
            torn.why
        );
    }
    Ok(written)
}

/// The kind of an event, as inspect counts and dump names them.
fn kind(event: &AuditEvent) -> &'static str {
    match event {
        AuditEvent::Passed { .. } => "passed",
        AuditEvent::Refused { .. } => "refused",
        AuditEvent::Sent { .. } => "sent",
        AuditEvent::Report { report, .. } => match report.kind {
            ExecKind::Ack => "report.ack",
            ExecKind::PartialFill => "report.partial_fill",
            ExecKind::Fill => "report.fill",
            ExecKind::Cancelled => "report.cancelled",
            ExecKind::Rejected(_) => "report.rejected",
            ExecKind::CancelRejected(_) => "report.cancel_rejected",
        },
        AuditEvent::State { .. } => "state",
        AuditEvent::Command { .. } => "command",
        AuditEvent::Finished { .. } => "finished",
        AuditEvent::Rejected { .. } => "rejected",
        AuditEvent::DayStarted { .. } => "day_started",
    }
}

/// One entry as JSON: prices in ticks, quantities in lots, times on the
/// engine's clock (`at`, stamps) and the wall clock (`wall`).
fn to_json(seq: u64, entry: &JournalEntry) -> Value {
    let event = &entry.record.event;
    let mut value = json!({
        "seq": seq,
        "wall": rfc3339(Duration::from_nanos(entry.wall_ns)),
        "writer": match entry.writer {
            0 => "decide",
            1 => "gateway",
            RESTART_WRITER => "restart",
            _ => "unknown",
        },
        "writer_seq": entry.record.seq,
        "type": kind(event),
    });
    let fields = match *event {
        AuditEvent::Passed { intent, stamps } | AuditEvent::Sent { intent, stamps } => {
            json!({ "intent": intent_json(intent), "stamps": stamps_json(stamps) })
        }
        AuditEvent::Refused {
            intent,
            reason,
            stamps,
        } => json!({
            "intent": intent_json(intent),
            "reason": reason.code(),
            "stamps": stamps_json(stamps),
        }),
        AuditEvent::Report { report, received } => {
            json!({ "report": report_json(report), "received": received })
        }
        AuditEvent::State { from, to, at } => {
            json!({ "from": from.name(), "to": to.name(), "at": at })
        }
        AuditEvent::DayStarted { pnl_nanos, at } => {
            json!({ "pnl_nanos": pnl_nanos, "at": at })
        }
        AuditEvent::Command {
            id,
            issuer,
            action,
            at,
        } => json!({
            "id": id,
            "token": format!("{issuer:08x}"),
            "action": action.name(),
            "at": at,
        }),
        AuditEvent::Rejected {
            id,
            issuer,
            action,
            status,
            at,
        } => json!({
            "id": id,
            "token": format!("{issuer:08x}"),
            "action": action.name(),
            "status": status,
            "at": at,
        }),
        AuditEvent::Finished { id, outcome, at } => {
            let mut finished = json!({ "id": id, "outcome": outcome.name(), "at": at });
            if let Outcome::Refused(reason) = outcome {
                finished["reason"] = json!(reason.code());
            }
            finished
        }
    };
    if let (Value::Object(value), Value::Object(fields)) = (&mut value, fields) {
        value.extend(fields);
    }
    value
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn intent_json(intent: Intent) -> Value {
    match intent {
        Intent::New(order) => json!({
            "new": {
                "id": order.id.0,
                "instrument": order.instrument.0,
                "side": side(order.side),
                "price": order.price.0,
                "qty": order.qty.0,
                "tif": match order.tif {
                    TimeInForce::Limit => "limit",
                    TimeInForce::Ioc => "ioc",
                },
            }
        }),
        Intent::Cancel(id) => json!({ "cancel": { "id": id.0 } }),
    }
}

fn report_json(report: ExecReport) -> Value {
    let mut value = json!({
        "id": report.id.0,
        "instrument": report.instrument.0,
        "side": side(report.side),
        "price": report.price.0,
        "filled": report.filled.0,
        "leaves": report.leaves.0,
    });
    if let ExecKind::Rejected(reason) | ExecKind::CancelRejected(reason) = report.kind {
        value["reason"] = json!(reason.code());
    }
    value
}

fn stamps_json(stamps: Stamps) -> Value {
    json!({
        "trigger": match stamps.trigger {
            Trigger::Quote => "quote",
            Trigger::Report => "report",
            Trigger::Timer => "timer",
            Trigger::Command => "command",
        },
        "event": stamps.event,
        "decided": stamps.decided,
        "risk": stamps.risk,
        "sent": stamps.sent,
    })
}
