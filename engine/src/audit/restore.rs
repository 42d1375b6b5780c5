//! Restarting from the journal: its entries, folded in order into a fresh
//! risk gate, rebuild what the gate held when the last run ended:
//! positions, cash and average costs (so realized P&L), the orders still
//! open, the trading state, the floor for new order ids and the P&L the
//! last trading day began from. Each instrument is marked at its last
//! trade in the journal until its first quote (its reference price is no
//! estimate of where the market went). No check is run and nothing is
//! counted: these are things that already happened.
//!
//! The trading state is the one the journal's last run traded under: a
//! drain's own halt (a clean stop) is not carried into the next run, an
//! operator's halt, reduce-only or a loss-limit halt is.

use super::{AuditEvent, Checkpoint, JournalEntry, RESTART_WRITER};
use crate::command::ActionKind;
use crate::domain::{ExecKind, InstrumentId, Intent, Price};
use crate::risk::{RiskGate, TradingState};

/// Folds journal entries into a gate.
#[derive(Debug)]
pub struct Restorer<'a> {
    gate: &'a mut RiskGate,
    state: TradingState,
    /// The state when a drain began, while its run is the last one seen.
    before_drain: Option<TradingState>,
    entries: u64,
    /// Orders left out: the gate could not take them back.
    dropped: u64,
    /// The most orders open at once, as far as the journal goes.
    peak_open: usize,
    /// When the day the gate's loss limit counts from began.
    day_began_wall_ns: Option<u64>,
    /// Each instrument's last trade price, by id.
    last_trade: Vec<Option<Price>>,
    /// The last run's: see [`Restored::run`].
    run: RunReports,
}

/// What the journal holds of the last run's reports, for a FIX start to
/// take back from its session file those the journal never got.
///
/// Runs are told apart by journal entry numbers, which only grow, never by
/// the wall clock. A run begins with the decide stage's record 0; a start
/// writes records of its own (by [`RESTART_WRITER`], numbered from 0)
/// before its run begins: orders and reports the run before took and its
/// journal never got.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub struct RunReports {
    /// The journal entry number of the last run's first record from the
    /// decide stage; `None` before any.
    pub began_entry: Option<u64>,
    /// The Report records from that entry on: the run's own, and any a
    /// start took back after it.
    pub reports: u64,
    /// The records of each start since that entry (or since the journal
    /// began, before any run), in order.
    pub starts: Vec<StartRecords>,
}

/// What one start wrote (by [`RESTART_WRITER`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub struct StartRecords {
    /// The journal entry number of its first record.
    pub began_entry: u64,
    /// The Report records among them.
    pub reports: u64,
}

impl RunReports {
    /// The Report records the journal holds from entry `entry` on, where
    /// `entry` is where a run or a start began writing (the journal's next
    /// entry then): the last run's count when it began there or later, else
    /// those of the starts that wrote there or later.
    pub fn reports_from(&self, entry: u64) -> u64 {
        match self.began_entry {
            Some(began) if began >= entry => self.reports,
            _ => self
                .starts
                .iter()
                .filter(|start| start.began_entry >= entry)
                .map(|start| start.reports)
                .sum(),
        }
    }
}

/// What a restore rebuilt, beside the gate itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Entries folded.
    pub entries: u64,
    /// The trading state the gate now has.
    pub state: TradingState,
    /// Orders the gate could not take back (of an instrument it does not
    /// have; room is made for any number): their fills are missing from
    /// the positions, so a restore that dropped any must not be traded
    /// on.
    pub dropped: u64,
    /// The most orders the journal's runs held open at once.
    pub peak_open: usize,
    /// When (journal time, ns since the Unix epoch) the trading day the
    /// daily loss limit now counts from began: the last day start the
    /// journal records, else its first entry; `None` for an empty journal.
    pub day_began_wall_ns: Option<u64>,
    /// The last run's reports.
    pub run: RunReports,
}

impl<'a> Restorer<'a> {
    /// A restore into `gate`, fresh from its config.
    pub fn new(gate: &'a mut RiskGate) -> Self {
        Restorer {
            state: gate.state(),
            last_trade: vec![None; gate.instruments()],
            gate,
            before_drain: None,
            entries: 0,
            dropped: 0,
            peak_open: 0,
            day_began_wall_ns: None,
            run: RunReports::default(),
        }
    }

    /// Folds the next entry, numbered `seq` in the journal.
    pub fn apply(&mut self, seq: u64, entry: &JournalEntry) {
        self.entries += 1;
        self.day_began_wall_ns.get_or_insert(entry.wall_ns);
        // Each run numbers the decide stage's records from 0: a new run.
        if entry.writer == 0 && entry.record.seq == 0 {
            self.end_of_run();
            self.run = RunReports {
                began_entry: Some(seq),
                reports: 0,
                starts: Vec::new(),
            };
        }
        if entry.writer == RESTART_WRITER && entry.record.seq == 0 {
            self.run.starts.push(StartRecords {
                began_entry: seq,
                reports: 0,
            });
        }
        match entry.record.event {
            AuditEvent::Passed {
                intent: Intent::New(order),
                ..
            } => {
                self.gate.raise_id_floor(order.id);
                if !self.gate.reopen(&order) {
                    // More are open than the gate was built for (a run that
                    // took back orders its journal never got, or a smaller
                    // max_open_orders than the journal's runs had): room is
                    // made, as at a start, so no fill goes missing; new
                    // orders wait until fewer than max_open_orders are open.
                    let room = (2 * self.gate.open_capacity()).max(self.gate.open_orders() + 1);
                    self.gate.make_room(room);
                    if !self.gate.reopen(&order) {
                        self.dropped += 1;
                    }
                }
                self.peak_open = self
                    .peak_open
                    .max(self.gate.open_orders() + self.dropped as usize);
            }
            AuditEvent::Refused {
                intent: Intent::New(order),
                ..
            } => self.gate.raise_id_floor(order.id),
            AuditEvent::Report { report, .. } => {
                self.run.reports += 1;
                if let Some(start) = self
                    .run
                    .starts
                    .last_mut()
                    .filter(|_| entry.writer == RESTART_WRITER)
                {
                    start.reports += 1;
                }
                if matches!(report.kind, ExecKind::Fill | ExecKind::PartialFill) {
                    if let Some(last) = self.last_trade.get_mut(report.instrument.index()) {
                        *last = Some(report.price);
                    }
                }
                self.gate.replay_report(&report);
            }
            AuditEvent::State { to, .. } => self.state = to,
            AuditEvent::DayStarted { pnl_nanos, .. } => {
                self.gate.restore_day_start(pnl_nanos);
                self.day_began_wall_ns = Some(entry.wall_ns);
            }
            AuditEvent::Command {
                action: ActionKind::Drain,
                ..
            } => {
                self.before_drain.get_or_insert(self.state);
            }
            _ => {}
        }
    }

    /// Goes on from `checkpoint` (taken by [`Restorer::checkpoint`] from a
    /// gate of the same config): the gate takes its ledger, and the next
    /// entry to fold is its `next_seq`. Only before any entry is folded.
    ///
    /// # Errors
    ///
    /// When the checkpoint is of other instruments than the gate's; nothing
    /// changes then.
    pub fn resume(&mut self, checkpoint: &Checkpoint) -> Result<(), String> {
        assert_eq!(self.entries, 0, "a restore resumes before it folds");
        if checkpoint.last_trade.len() != self.last_trade.len() {
            return Err(format!(
                "it holds {} instruments, the config {}",
                checkpoint.last_trade.len(),
                self.last_trade.len()
            ));
        }
        self.dropped = self.gate.load_ledger(&checkpoint.ledger)?;
        self.state = checkpoint.state;
        self.before_drain = checkpoint.before_drain;
        self.entries = checkpoint.entries;
        self.peak_open = (checkpoint.peak_open as usize).max(self.gate.open_orders());
        self.day_began_wall_ns = checkpoint.day_began_wall_ns;
        self.last_trade.clone_from(&checkpoint.last_trade);
        self.run.clone_from(&checkpoint.run);
        Ok(())
    }

    /// What the entries folded so far have built, to go on from later with
    /// [`Restorer::resume`]; `next_seq` is the journal entry after them.
    pub fn checkpoint(&self, next_seq: u64) -> Checkpoint {
        Checkpoint {
            next_seq,
            ledger: self.gate.ledger(),
            state: self.state,
            before_drain: self.before_drain,
            entries: self.entries,
            peak_open: self.peak_open as u64,
            day_began_wall_ns: self.day_began_wall_ns,
            last_trade: self.last_trade.clone(),
            run: self.run.clone(),
        }
    }

    /// Ends the restore: the gate takes the trading state.
    pub fn finish(mut self) -> Restored {
        self.end_of_run();
        for (index, price) in self.last_trade.iter().enumerate() {
            if let Some(price) = *price {
                self.gate.restore_mark(InstrumentId(index as u16), price);
            }
        }
        self.gate.restore_state(self.state);
        self.gate.await_marks();
        Restored {
            entries: self.entries,
            state: self.state,
            dropped: self.dropped,
            peak_open: self.peak_open,
            day_began_wall_ns: self.day_began_wall_ns,
            run: self.run,
        }
    }

    /// A run that drained stopped cleanly: what follows trades under the
    /// state it had before the drain halted it.
    fn end_of_run(&mut self) {
        if let Some(state) = self.before_drain.take() {
            self.state = state;
        }
    }
}
