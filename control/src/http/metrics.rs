//! `/metrics`: the Prometheus text exposition (format 0.0.4) of what the
//! hot path publishes and the audit stream adds up to. Names start with
//! `redline_`, are in base units (seconds, bytes; money in the account
//! currency) and counters end in `_total`. Latency histograms are built
//! from the side thread's hdrhistograms.

use std::fmt::{Display, Write as _};

use hdrhistogram::Histogram;
use redline_engine::audit::AuditStats;
use redline_engine::domain::Reject;
use redline_engine::feed::{Count, FeedReport, FeedState};
use redline_engine::path::PathCounters;
use redline_engine::ring::RingLevel;
use redline_engine::risk::TradingState;
use redline_engine::venue::fix::{LinkCount, LinkState, LINK_COUNTS};

use super::door::{DoorCounters, CLOSE_REASONS};
use super::health::Database;
use super::health::Watch;
use super::process::ProcessStats;
use super::{Desk, PlaneCounters};
use crate::db::Breaker;
use crate::journal::JournalStats;

/// Latency bucket bounds, in nanoseconds: 100 ns to 10 ms.
const BUCKETS_NS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// Everything one exposition is rendered from.
pub struct Sources<'a> {
    /// What the path publishes.
    pub counters: &'a PathCounters,
    /// The audit stream's totals.
    pub stats: &'a AuditStats,
    /// Instrument symbols, by id.
    pub symbols: &'a [String],
    /// Heartbeats and stages.
    pub watch: &'a Watch,
    /// The listener's own counts.
    pub plane: &'a PlaneCounters,
    /// The admin commands answered.
    pub admin: &'a Desk,
    /// The listener's connections.
    pub door: &'a DoorCounters,
    /// `/proc`.
    pub process: ProcessStats,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time: f64,
    /// The journal's counts.
    pub journal: &'a JournalStats,
    /// The persister's, when there is a database.
    pub database: Option<&'a Database>,
    /// The risk limits in force.
    pub limits: &'a redline_engine::risk::RiskLimits,
}

/// Renders the exposition.
pub fn render(s: &Sources<'_>) -> String {
    let mut out = Exposition(String::with_capacity(16 * 1024));
    out.gauge(
        "build_info",
        "1, labelled with the running build's version and git commit.",
    );
    out.sample(
        "build_info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("commit", env!("REDLINE_GIT_COMMIT")),
        ],
        1,
    );
    let stats = s.stats;
    out.counter("quotes", "Quotes taken by the decide stage.");
    out.sample("quotes_total", &[], s.watch.quotes());
    out.counter(
        "decisions",
        "Intents the strategy made that reached the risk gate.",
    );
    out.sample("decisions_total", &[], stats.decisions);
    out.counter("orders_sent", "Intents handed to the venue, by kind.");
    out.sample("orders_sent_total", &[("kind", "new")], stats.orders_sent);
    out.sample(
        "orders_sent_total",
        &[("kind", "cancel")],
        stats.cancels_sent,
    );
    out.counter("executions", "Execution reports from the venue, by type.");
    for (kind, count) in [
        ("ack", stats.acks),
        ("partial_fill", stats.partial_fills),
        ("fill", stats.fills),
        ("cancelled", stats.cancelled),
        ("rejected", stats.venue_rejects),
        ("cancel_rejected", stats.cancel_rejects),
    ] {
        out.sample("executions_total", &[("type", kind)], count);
    }
    out.counter(
        "risk_rejections",
        "Intents the engine refused before the venue, by reason code.",
    );
    for reason in Reject::ALL {
        let count = stats.refused[reason.index()];
        out.sample("risk_rejections_total", &[("reason", reason.code())], count);
    }
    out.counter(
        "venue_rejections",
        "Orders and cancels the venue refused, by reason code.",
    );
    for reason in Reject::ALL {
        let count = stats.rejects[reason.index()] - stats.refused[reason.index()];
        out.sample(
            "venue_rejections_total",
            &[("reason", reason.code())],
            count,
        );
    }
    out.gauge(
        "trading_state",
        "1 for the engine's trading state, 0 for the others.",
    );
    let state = s.counters.state();
    for each in TradingState::ALL {
        out.sample(
            "trading_state",
            &[("state", each.name())],
            u8::from(each == state),
        );
    }
    risk(&mut out, s);
    rings(&mut out, s);
    feed(&mut out, s.watch.network().map(|n| &n.report));
    venue(&mut out, s.watch);
    out.counter(
        "audit_waits",
        "Times the decide stage waited for room in the audit ring.",
    );
    out.sample("audit_waits_total", &[], s.counters.audit_waits());
    out.gauge(
        "stage_pinned",
        "1 when the stage runs on the core it was given (or none was given), 0 when pinning failed.",
    );
    for stage in s.watch.stages() {
        out.sample(
            "stage_pinned",
            &[("stage", &stage.name)],
            u8::from(!stage.pinning.is_failure()),
        );
    }
    out.counter("pinning_failures", "Stages that could not be pinned.");
    let failures = s
        .watch
        .stages()
        .filter(|st| st.pinning.is_failure())
        .count();
    out.sample("pinning_failures_total", &[], failures);
    out.counter(
        "stage_heartbeats",
        "Loop iterations of each stage; stops moving when a stage stalls.",
    );
    for (stage, heartbeat) in s.watch.heartbeats() {
        out.sample(
            "stage_heartbeats_total",
            &[("stage", &stage.name)],
            heartbeat,
        );
    }
    out.counter(
        "malformed_inputs",
        "Inputs refused as malformed, by source.",
    );
    out.sample(
        "malformed_inputs_total",
        &[("source", "admin")],
        s.plane.bad_requests + s.door.malformed(),
    );
    if let Some(network) = s.watch.network() {
        out.sample(
            "malformed_inputs_total",
            &[("source", "feed")],
            network.report.get(Count::Malformed),
        );
    }
    if let Some((_, r)) = s.watch.venue() {
        out.sample(
            "malformed_inputs_total",
            &[("source", "venue")],
            r.get(LinkCount::Garbled) + r.get(LinkCount::BadReports),
        );
    }
    out.counter(
        "admin_auth_failures",
        "Admin requests refused for a missing or wrong token.",
    );
    out.sample("admin_auth_failures_total", &[], s.plane.auth_failures);
    out.gauge(
        "admin_connections",
        "Connections open to the control-plane listener.",
    );
    // Relaxed: counts read for display.
    out.sample(
        "admin_connections",
        &[],
        s.door.open.load(std::sync::atomic::Ordering::Relaxed),
    );
    out.counter(
        "admin_connections_closed",
        "Connections the listener closed on its own, by reason (limits and timeouts).",
    );
    for (reason, count) in CLOSE_REASONS.iter().zip(&s.door.closed) {
        out.sample(
            "admin_connections_closed_total",
            &[("reason", reason)],
            count.load(std::sync::atomic::Ordering::Relaxed),
        );
    }
    out.counter(
        "admin_commands",
        "Admin commands answered, by command and outcome (in_progress: answered 202 before it \
         ended).",
    );
    for (command, outcome, count) in s.admin.answered() {
        out.sample(
            "admin_commands_total",
            &[("command", command), ("outcome", outcome)],
            count,
        );
    }
    for (name, help, latency) in [
        (
            "quote_to_decision_seconds",
            "From receiving a quote to the strategy's decision on it.",
            &stats.quote_to_decision,
        ),
        (
            "decision_to_send_seconds",
            "From a decision to handing the intent to the venue.",
            &stats.decision_to_send,
        ),
        (
            "quote_to_send_seconds",
            "From receiving a quote to handing the order it led to to the venue.",
            &stats.quote_to_send,
        ),
    ] {
        histogram(&mut out, name, help, latency.histogram());
    }
    journal(&mut out, s.journal);
    if let Some(db) = s.database {
        database(&mut out, db, s.journal.next_seq);
    }
    process(&mut out, s);
    out.0
}

fn risk(out: &mut Exposition, s: &Sources<'_>) {
    // A snapshot the decide stage left part-way (it stopped mid-write)
    // leaves the risk families out rather than showing a torn one.
    let Some(risk) = &s.watch.hot().risk else {
        return;
    };
    out.gauge(
        "position_lots",
        "Net position per instrument, in lots (negative when short).",
    );
    for (symbol, instrument) in s.symbols.iter().zip(&risk.instruments) {
        out.sample(
            "position_lots",
            &[("instrument", symbol)],
            instrument.position,
        );
    }
    out.gauge(
        "exposure",
        "Absolute position value at the mid per instrument, in the account currency.",
    );
    for (symbol, instrument) in s.symbols.iter().zip(&risk.instruments) {
        out.sample(
            "exposure",
            &[("instrument", symbol)],
            Money(instrument.exposure_nanos),
        );
    }
    out.gauge(
        "open_order_lots",
        "Lots in open orders per instrument and side.",
    );
    for (symbol, instrument) in s.symbols.iter().zip(&risk.instruments) {
        for (side, lots) in [("buy", instrument.open_buy), ("sell", instrument.open_sell)] {
            out.sample(
                "open_order_lots",
                &[("instrument", symbol), ("side", side)],
                lots,
            );
        }
    }
    out.gauge("open_orders", "Orders let through and not finished.");
    out.sample("open_orders", &[], risk.open_orders);
    out.gauge(
        "realized_pnl",
        "P&L of closed lots against their average cost, in the account currency.",
    );
    out.sample("realized_pnl", &[], Money(risk.realized_nanos));
    out.gauge(
        "unrealized_pnl",
        "P&L of open positions at the mid, in the account currency.",
    );
    out.sample("unrealized_pnl", &[], Money(risk.unrealized_nanos));
    out.gauge(
        "day_pnl",
        "P&L since the trading day began (what risk.max_daily_loss counts), in the account \
         currency.",
    );
    out.sample("day_pnl", &[], Money(risk.day_pnl_nanos));
    out.gauge(
        "risk_awaiting_marks",
        "1 while a restart awaits a quote of a held instrument: only orders that shrink a \
         position pass, and the daily loss check waits.",
    );
    out.sample("risk_awaiting_marks", &[], u8::from(risk.awaiting_marks));
    out.gauge(
        "risk_limit",
        "The risk limits in force, by key of [risk] (money in the account currency).",
    );
    if let serde_json::Value::Object(limits) = serde_json::json!(s.limits) {
        for (key, value) in &limits {
            // Money is a decimal string, the rest numbers.
            let number = value
                .as_f64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()));
            if let Some(number) = number {
                out.sample("risk_limit", &[("limit", key)], number);
            }
        }
    }
    out.gauge(
        "unrealized_pnl_by_instrument",
        "Unrealized P&L per instrument, in the account currency.",
    );
    for (symbol, instrument) in s.symbols.iter().zip(&risk.instruments) {
        out.sample(
            "unrealized_pnl_by_instrument",
            &[("instrument", symbol)],
            Money(instrument.unrealized_nanos),
        );
    }
}

/// A per-ring family: name, whether a counter, help, and its value.
type RingFamily = (&'static str, bool, &'static str, fn(&RingLevel) -> u64);

/// The feed's state, for every source (the synthetic feed and a replay
/// are always in sequence), and the network feed's own families.
fn feed(out: &mut Exposition, network: Option<&FeedReport>) {
    out.gauge(
        "feed_state",
        "1 for the feed's state: waiting, in_sequence, recovering (a gap is open; no quotes), \
         stopped (a book refused a change; no quotes until the next session). The synthetic \
         feed and a replay are always in_sequence.",
    );
    let state = network.map_or(FeedState::InSequence, |r| r.state);
    for each in [
        FeedState::Waiting,
        FeedState::InSequence,
        FeedState::Recovering,
        FeedState::Stopped,
    ] {
        out.sample(
            "feed_state",
            &[("state", each.name())],
            u8::from(state == each),
        );
    }
    out.gauge(
        "feed_messages_behind",
        "Messages the network feed's session has sent that it has not applied (0 for the \
         other sources).",
    );
    out.sample("feed_messages_behind", &[], network.map_or(0, |r| r.behind));
    if let Some(r) = network {
        network_counts(out, r);
    }
}

/// The venue's link: its state (the simulated venue is always active) and
/// its events (the simulated venue counts none: served all the same, so
/// that an alert on them evaluates on every engine), and for a FIX venue
/// its sequence numbers and open orders.
fn venue(out: &mut Exposition, watch: &Watch) {
    out.gauge(
        "venue_state",
        "1 for the venue link's state: disconnected, connecting, logging_on, active (orders \
         go), logging_out. The simulated venue is always active.",
    );
    let report = watch.venue().map(|(_, report)| *report);
    let state = report.map_or(LinkState::Active, |r| r.state);
    for each in LinkState::ALL {
        out.sample(
            "venue_state",
            &[("state", each.name())],
            u8::from(state == each),
        );
    }
    out.counter(
        "venue_events",
        "What the FIX gateway counted: connections made and failed, logons, disconnects, \
         messages sent and received in sequence, resend requests, gap fills, test requests, \
         session rejects of its messages, messages skipped, garbled bytes, unreadable reports, \
         fills between ticks, orders refused while down, socket errors, orders lost with a \
         connection, orders and reports a restart took back from the session file, checks of \
         the open orders against the venue's word (OrderMassStatusRequest) answered and \
         unanswered, and the orders they found differing, by how, and fills of orders not held \
         open. The simulated venue counts none.",
    );
    for count in LINK_COUNTS {
        out.sample(
            "venue_events_total",
            &[("event", count.name())],
            report.map_or(0, |r| r.get(count)),
        );
    }
    let Some(r) = report else {
        return;
    };
    out.gauge(
        "venue_seq_num",
        "The next MsgSeqNum the FIX session sends (out) and expects (in).",
    );
    out.sample("venue_seq_num", &[("direction", "out")], r.next_out);
    out.sample("venue_seq_num", &[("direction", "in")], r.next_in);
    out.gauge(
        "venue_open_orders",
        "Orders the FIX gateway sent that the venue has not finished.",
    );
    out.sample("venue_open_orders", &[], r.open_orders);
}

/// The network feed's counts and its books' size.
fn network_counts(out: &mut Exposition, r: &FeedReport) {
    out.counter("feed_packets", "Datagrams the network feed received.");
    out.sample("feed_packets_total", &[], r.get(Count::Packets));
    out.counter(
        "feed_messages",
        "ITCH messages the network feed applied to its books, in sequence.",
    );
    out.sample("feed_messages_total", &[], r.get(Count::Messages));
    out.counter(
        "feed_dropped_packets",
        "Packets the network feed dropped, by reason: malformed (refused whole), foreign \
         (another session), duplicate (applied before), ahead (past a gap, with no room to \
         hold it: asked for again).",
    );
    for count in [
        Count::Malformed,
        Count::Foreign,
        Count::Duplicate,
        Count::Ahead,
    ] {
        out.sample(
            "feed_dropped_packets_total",
            &[("reason", count.name())],
            r.get(count),
        );
    }
    out.counter(
        "feed_held_packets",
        "Packets past a gap the network feed held and applied once the gap was filled.",
    );
    out.sample("feed_held_packets_total", &[], r.get(Count::Held));
    out.counter(
        "feed_gaps",
        "Sequence gaps the network feed found itself in (a late start included).",
    );
    out.sample("feed_gaps_total", &[], r.get(Count::Gaps));
    out.counter("feed_gaps_filled", "Sequence gaps filled.");
    out.sample("feed_gaps_filled_total", &[], r.get(Count::Recoveries));
    out.counter(
        "feed_retransmit_requests",
        "Requests sent to the MoldUDP64 re-request server.",
    );
    out.sample(
        "feed_retransmit_requests_total",
        &[],
        r.get(Count::Requests),
    );
    out.counter(
        "feed_book_anomalies",
        "Changes the books could not take as sent, by kind: unknown_orders (an order they do \
         not hold), book_refusals (full, or a live reference again), overdrawn (more shares \
         than an order held).",
    );
    for count in [Count::UnknownOrders, Count::BookRefusals, Count::Overdrawn] {
        out.sample(
            "feed_book_anomalies_total",
            &[("kind", count.name())],
            r.get(count),
        );
    }
    out.counter(
        "feed_socket_errors",
        "Receive or send calls on the feed's socket that failed.",
    );
    out.sample("feed_socket_errors_total", &[], r.get(Count::SocketErrors));
    out.gauge(
        "feed_next_sequence",
        "The next message the network feed will apply.",
    );
    out.sample("feed_next_sequence", &[], r.next);
    out.gauge("feed_book_orders", "Live orders in the feed's books.");
    out.sample("feed_book_orders", &[], r.orders);
}

fn rings(out: &mut Exposition, s: &Sources<'_>) {
    // Each gauge read once per sample, so that the families agree with
    // each other.
    let levels = &s.watch.hot().rings;
    let families: [RingFamily; 3] = [
        (
            "ring_occupancy",
            false,
            "Items in each hot-path ring.",
            |l| l.len as u64,
        ),
        (
            "ring_capacity",
            false,
            "Slots in each hot-path ring.",
            |l| l.capacity as u64,
        ),
        (
            "ring_full",
            true,
            "Times a ring's producer found less room than it wanted.",
            |l| l.short,
        ),
    ];
    for (name, counter, help, value) in families {
        let sample = if counter {
            out.counter(name, help);
            format!("{name}_total")
        } else {
            out.gauge(name, help);
            name.to_owned()
        };
        for (ring, level) in levels {
            out.sample(&sample, &[("ring", ring)], value(level));
        }
    }
    out.gauge(
        "audit_backlog",
        "Audit records written and not yet taken by the side thread.",
    );
    let backlog: usize = levels
        .iter()
        .filter(|(name, _)| name.starts_with("audit"))
        .map(|(_, level)| level.len)
        .sum();
    out.sample("audit_backlog", &[], backlog);
}

fn histogram(out: &mut Exposition, name: &str, help: &str, h: &Histogram<u64>) {
    out.family(name, "histogram", help);
    let bucket = format!("{name}_bucket");
    for le in BUCKETS_NS {
        let count = if h.is_empty() {
            0
        } else {
            h.count_between(0, le)
        };
        let bound = format!("{}", le as f64 / 1e9);
        out.sample(&bucket, &[("le", &bound)], count);
    }
    out.sample(&bucket, &[("le", "+Inf")], h.len());
    // hdrhistogram keeps no exact sum: mean x count, to its precision.
    let sum = if h.is_empty() {
        0.0
    } else {
        h.mean() * h.len() as f64 / 1e9
    };
    out.sample(&format!("{name}_sum"), &[], sum);
    out.sample(&format!("{name}_count"), &[], h.len());
}

fn journal(out: &mut Exposition, j: &JournalStats) {
    out.counter("journal_entries", "Audit records written to the journal.");
    out.sample("journal_entries_total", &[], j.entries);
    out.counter("journal_bytes", "Bytes written to the journal.");
    out.sample("journal_bytes_total", &[], j.bytes);
    out.counter("journal_fsyncs", "Journal syncs to the disk.");
    out.sample("journal_fsyncs_total", &[], j.fsyncs);
    out.counter("journal_write_errors", "Journal writes that failed.");
    out.sample("journal_write_errors_total", &[], j.write_errors);
    out.gauge(
        "journal_disk_wait_seconds",
        "How long the journal's write or sync in progress has waited on the disk; 0 when none is.",
    );
    out.sample(
        "journal_disk_wait_seconds",
        &[],
        j.disk_wait.map_or(0.0, |d| d.as_secs_f64()),
    );
    out.gauge(
        "journal_backlog_entries",
        "Audit records taken and not yet written to the journal (a failing disk grows it).",
    );
    out.sample("journal_backlog_entries", &[], j.backlog);
    out.gauge(
        "journal_segments",
        "Segment files in the journal directory.",
    );
    out.sample("journal_segments", &[], j.segments);
    if let Some(free) = j.disk_free_bytes {
        out.gauge(
            "journal_disk_free_bytes",
            "Bytes left to the journal on its file system (a full disk stops trading).",
        );
        out.sample("journal_disk_free_bytes", &[], free);
    }
    out.gauge(
        "journal_next_sequence",
        "The journal sequence number the next record takes.",
    );
    out.sample("journal_next_sequence", &[], j.next_seq);
    let Some(c) = &j.checkpoints else {
        return;
    };
    out.counter("journal_checkpoints", "Journal checkpoints written.");
    out.sample("journal_checkpoints_total", &[], c.taken);
    out.counter(
        "journal_checkpoint_errors",
        "Checkpointer turns that failed (restarts read more journal meanwhile).",
    );
    out.sample("journal_checkpoint_errors_total", &[], c.errors);
    if let Some(newest) = c.newest {
        out.gauge(
            "journal_checkpoint_sequence",
            "The journal entry the newest checkpoint was taken before: a restart reads from there.",
        );
        out.sample("journal_checkpoint_sequence", &[], newest);
    }
    out.counter(
        "journal_segments_removed",
        "Journal segments deleted by retention.",
    );
    out.sample("journal_segments_removed_total", &[], c.removed_segments);
    out.counter(
        "journal_removed_bytes",
        "Bytes of journal segments deleted by retention.",
    );
    out.sample("journal_removed_bytes_total", &[], c.removed_bytes);
}

fn database(out: &mut Exposition, db: &Database, journaled: u64) {
    let status = &db.status;
    out.counter(
        "persistence_entries",
        "Journal entries copied into PostgreSQL.",
    );
    out.sample("persistence_entries_total", &[], status.entries);
    out.counter(
        "persistence_batches",
        "Transactions committed into PostgreSQL.",
    );
    out.sample("persistence_batches_total", &[], status.batches);
    out.counter(
        "persistence_failures",
        "Failed connections and batches (the circuit breaker opened).",
    );
    out.sample("persistence_failures_total", &[], status.failures);
    out.counter(
        "persistence_partitions_made",
        "Daily partitions the engine made in PostgreSQL.",
    );
    out.sample(
        "persistence_partitions_made_total",
        &[],
        status.partitions_made,
    );
    out.counter(
        "persistence_partitions_dropped",
        "Daily partitions dropped past persistence.database_retention_days.",
    );
    out.sample(
        "persistence_partitions_dropped_total",
        &[],
        status.partitions_dropped,
    );
    out.counter(
        "persistence_upkeep_failures",
        "Failed attempts to make or drop daily partitions (copying goes on).",
    );
    out.sample(
        "persistence_upkeep_failures_total",
        &[],
        status.upkeep_failures,
    );
    out.gauge(
        "persistence_mismatch",
        "1 while the database cannot be completed from this journal (it holds this engine id's \
         entries from another journal).",
    );
    out.sample(
        "persistence_mismatch",
        &[],
        u8::from(status.mismatch.is_some()),
    );
    out.gauge(
        "persistence_breaker_state",
        "The circuit breaker's state: 1 for the one it is in.",
    );
    for breaker in Breaker::ALL {
        out.sample(
            "persistence_breaker_state",
            &[("state", breaker.name())],
            u8::from(breaker == status.breaker),
        );
    }
    out.gauge(
        "persistence_backlog_entries",
        "Journal entries not yet in PostgreSQL.",
    );
    out.sample(
        "persistence_backlog_entries",
        &[],
        journaled.saturating_sub(status.next_seq),
    );
    out.gauge(
        "persistence_backlog_seconds",
        "How long ago the oldest journal entry not yet in PostgreSQL was journaled.",
    );
    out.sample("persistence_backlog_seconds", &[], db.backlog_seconds);
}

fn process(out: &mut Exposition, s: &Sources<'_>) {
    let p = s.process;
    out.gauge("process_resident_memory_bytes", "Resident memory.");
    out.sample("process_resident_memory_bytes", &[], p.resident_bytes);
    out.gauge("process_virtual_memory_bytes", "Virtual memory.");
    out.sample("process_virtual_memory_bytes", &[], p.virtual_bytes);
    out.counter("process_cpu_seconds", "User and system CPU time.");
    out.sample("process_cpu_seconds_total", &[], p.cpu_seconds);
    out.gauge("process_threads", "Threads in the process.");
    out.sample("process_threads", &[], p.threads);
    out.gauge("process_open_fds", "Open file descriptors.");
    out.sample("process_open_fds", &[], p.open_fds);
    out.gauge(
        "process_start_time_seconds",
        "When the process started, in seconds since the Unix epoch.",
    );
    out.sample("process_start_time_seconds", &[], s.start_time);
}

/// Nano-units of money, shown in currency units.
struct Money(i64);

impl Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0 as f64 / 1e9)
    }
}

/// The exposition being written.
struct Exposition(String);

impl Exposition {
    /// A counter's family: the text format names it with its `_total`.
    fn counter(&mut self, name: &str, help: &str) {
        self.family(&format!("{name}_total"), "counter", help);
    }

    fn gauge(&mut self, name: &str, help: &str) {
        self.family(name, "gauge", help);
    }

    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP redline_{name} {help}");
        let _ = writeln!(self.0, "# TYPE redline_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        let _ = write!(self.0, "redline_{name}");
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"");
                for c in value.chars() {
                    match c {
                        '\\' => self.0.push_str("\\\\"),
                        '"' => self.0.push_str("\\\""),
                        '\n' => self.0.push_str("\\n"),
                        c => self.0.push(c),
                    }
                }
                self.0.push('"');
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}
