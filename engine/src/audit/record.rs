//! What one audit record holds.

use crate::command::{ActionKind, Outcome};
use crate::domain::{ExecReport, Intent, Reject};
use crate::risk::TradingState;

/// What kind of event led to a decision.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum Trigger {
    /// A quote.
    #[default]
    Quote,
    /// An execution report (or a refusal of one of the strategy's intents).
    Report,
    /// The strategy's timer.
    Timer,
    /// An operator's command (cancel-all, flatten, drain).
    Command,
}

/// When an intent passed each point of the path, in `clock::ticks()`.
/// Points it has not reached yet are 0.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub struct Stamps {
    /// What led to it.
    pub trigger: Trigger,
    /// The event that led to it was received: the quote's or report's
    /// receive stamp, or the timer's firing.
    pub event: u64,
    /// The strategy returned the intent.
    pub decided: u64,
    /// The risk gate passed (or refused) it.
    pub risk: u64,
    /// It was handed to the venue.
    pub sent: u64,
}

/// One thing that happened on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum AuditEvent {
    /// The risk gate passed an intent; it is on its way to the venue.
    Passed {
        /// What the strategy asked for.
        intent: Intent,
        /// Up to `risk`.
        stamps: Stamps,
    },
    /// An intent was refused, by the gate or for want of room toward the
    /// venue; it was not sent.
    Refused {
        /// What the strategy asked for.
        intent: Intent,
        /// Why.
        reason: Reject,
        /// Up to `risk`.
        stamps: Stamps,
    },
    /// An intent was handed to the venue.
    Sent {
        /// What went out.
        intent: Intent,
        /// All four points.
        stamps: Stamps,
    },
    /// An execution report from the venue, as the decide stage took it.
    Report {
        /// The report.
        report: ExecReport,
        /// When the decide stage took it.
        received: u64,
    },
    /// The trading state changed (the daily loss limit halted trading, or an
    /// operator changed it).
    State {
        /// Before.
        from: TradingState,
        /// After.
        to: TradingState,
        /// When.
        at: u64,
    },
    /// A trading day began: the daily loss limit counts from here.
    DayStarted {
        /// Realized plus unrealized P&L when it began, in nano-units of the
        /// account currency (saturated to the `i64` range).
        pnl_nanos: i64,
        /// When.
        at: u64,
    },
    /// The decide stage took an operator's command.
    Command {
        /// Its number.
        id: u64,
        /// Who sent it: the admin token's id (0: the engine itself).
        issuer: u32,
        /// What it asks.
        action: ActionKind,
        /// When it was taken.
        at: u64,
    },
    /// An operator's request that the control plane refused before sending
    /// it (a bad body, contradictory limits, invalid parameters): recorded,
    /// not applied.
    Rejected {
        /// Its number.
        id: u64,
        /// Who sent it: the admin token's id.
        issuer: u32,
        /// What it asked for.
        action: ActionKind,
        /// The HTTP status it was answered with.
        status: u16,
        /// When the decide stage recorded it.
        at: u64,
    },
    /// An operator's command ended.
    Finished {
        /// Its number.
        id: u64,
        /// How.
        outcome: Outcome,
        /// When.
        at: u64,
    },
}

/// An event with its place in the stream: each writer numbers its records
/// 0, 1, 2, ... with no gaps, so a reader can tell that nothing was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct AuditRecord {
    /// The writer's sequence number.
    pub seq: u64,
    /// What happened.
    pub event: AuditEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_with_its_stamp_fits_two_cache_lines() {
        assert!(std::mem::size_of::<AuditRecord>() + 8 <= 128);
    }
}
