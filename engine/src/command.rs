//! Operator commands: what the control plane asks the decide stage to do
//! (halt, resume, reduce-only, cancel-all, flatten, new limits, drain),
//! carried to it by the command ring, and how each one ended, which comes
//! back in the audit stream.

use crate::domain::Reject;
use crate::risk::RiskLimits;

/// What an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// The kill switch: no new order passes; cancels still do.
    Halt,
    /// Back to active trading (refused while the daily loss limit holds).
    Resume,
    /// Only orders that shrink a position pass.
    ReduceOnly,
    /// Cancel every order open now.
    CancelAll,
    /// Halt, cancel every open order, then close every position with
    /// marketable (IOC) orders through the risk gate; stays halted.
    Flatten,
    /// Enforce these limits from the next order on.
    Limits(RiskLimits),
    /// Halt and cancel every open order, for a clean stop: done when none
    /// is left open. Every later command is refused.
    Drain,
}

/// An action without its data, as the audit stream records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// [`Action::Halt`].
    Halt,
    /// [`Action::Resume`].
    Resume,
    /// [`Action::ReduceOnly`].
    ReduceOnly,
    /// [`Action::CancelAll`].
    CancelAll,
    /// [`Action::Flatten`].
    Flatten,
    /// [`Action::Limits`].
    Limits,
    /// [`Action::Drain`].
    Drain,
}

impl Action {
    /// Which action it is.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Halt => ActionKind::Halt,
            Action::Resume => ActionKind::Resume,
            Action::ReduceOnly => ActionKind::ReduceOnly,
            Action::CancelAll => ActionKind::CancelAll,
            Action::Flatten => ActionKind::Flatten,
            Action::Limits(_) => ActionKind::Limits,
            Action::Drain => ActionKind::Drain,
        }
    }
}

impl ActionKind {
    /// The name the admin endpoints and logs use.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Halt => "halt",
            ActionKind::Resume => "resume",
            ActionKind::ReduceOnly => "reduce-only",
            ActionKind::CancelAll => "cancel-all",
            ActionKind::Flatten => "flatten",
            ActionKind::Limits => "limits",
            ActionKind::Drain => "drain",
        }
    }
}

/// A numbered command: ids start at 1 and increase, so the control plane
/// can tell when the decide stage has taken (and finished) one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// Its number.
    pub id: u64,
    /// Who asked: the id of the admin token it came with (0 for the engine
    /// itself, say on SIGTERM).
    pub issuer: u32,
    /// What to do.
    pub action: Action,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It did what it asked.
    Done,
    /// A later command replaced it before it was done.
    Superseded,
    /// It ran out of time (10 s of path time) before it was done.
    Incomplete,
    /// The engine is draining; it was not applied.
    Draining,
    /// The daily loss limit keeps trading halted; it was not applied.
    LossLimit,
    /// The limits were refused (a control plane that validates never sees
    /// this).
    Invalid,
    /// One of its orders was refused by the risk gate, for this reason; it
    /// stopped there.
    Refused(Reject),
}

impl Outcome {
    /// The name the admin endpoints and logs use.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Superseded => "superseded",
            Outcome::Incomplete => "incomplete",
            Outcome::Draining => "refused: the engine is draining",
            Outcome::LossLimit => "refused: the daily loss limit holds trading halted",
            Outcome::Invalid => "refused: invalid limits",
            Outcome::Refused(_) => "refused by the risk gate",
        }
    }
}
