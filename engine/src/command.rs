//! Operator commands: what the control plane asks the decide stage to do
//! (halt, resume, reduce-only, cancel-all, flatten, new limits, new
//! strategy parameters, drain, and the control side's own log-level
//! changes and the requests it refused, to be recorded), the command ring
//! that carries them to it, and how each one ended, which comes back in the
//! audit stream.

use crate::domain::Reject;
use crate::ring;
use crate::risk::RiskLimits;
use crate::strategy::Tuning;

/// Slots in the command ring: commands come at a person's pace.
pub const COMMAND_SLOTS: usize = 64;

/// What an operator asks for.
#[derive(Debug)]
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
    /// Give the strategy these parameters from the next event on.
    Strategy(Tuning),
    /// The control side changed its log level: nothing for the decide
    /// stage to do but record who did it, and when.
    LogLevel,
    /// Halt and cancel every open order, for a clean stop: done when none
    /// is left open. Every later command is refused.
    Drain,
    /// The control plane refused a request for `action` before sending it
    /// (a bad body, contradictory limits, invalid parameters) and answered
    /// it with HTTP `status`: nothing to do but record who asked for what.
    Rejected {
        /// What the request asked for.
        action: ActionKind,
        /// The HTTP status it was answered with.
        status: u16,
    },
}

/// An action without its data, as the audit stream records it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
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
    /// [`Action::Strategy`].
    Strategy,
    /// [`Action::LogLevel`].
    LogLevel,
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
            Action::Strategy(_) => ActionKind::Strategy,
            Action::LogLevel => ActionKind::LogLevel,
            Action::Drain => ActionKind::Drain,
            Action::Rejected { action, .. } => *action,
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
            ActionKind::Strategy => "strategy",
            ActionKind::LogLevel => "log-level",
            ActionKind::Drain => "drain",
        }
    }
}

/// A numbered command: ids start at 1 and increase, so the control plane
/// can tell when the decide stage has taken (and finished) one.
#[derive(Debug)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
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
    /// The limits or strategy parameters were refused (a control plane
    /// that validates never sees this).
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
            Outcome::Invalid => "refused: invalid limits or strategy parameters",
            Outcome::Refused(_) => "refused by the risk gate",
        }
    }
}

/// The command ring: commands to the decide stage, and back from it the
/// strategy parameters it has read, for the control side to free. Both
/// rings hold [`COMMAND_SLOTS`]: no more parameters can be on their way
/// back than commands in flight, and the sender takes them back before
/// each command, so the way back never fills.
pub fn command_ring() -> (CommandSender, CommandReceiver) {
    let (commands, receiving) = ring::new(COMMAND_SLOTS);
    let (returning, spent) = ring::new(COMMAND_SLOTS);
    (
        CommandSender { commands, spent },
        CommandReceiver {
            commands: receiving,
            spent: returning,
        },
    )
}

/// The control side's end of the command ring.
pub struct CommandSender {
    commands: ring::Producer<Command>,
    spent: ring::Consumer<Tuning>,
}

impl CommandSender {
    /// Sends `command`, after taking back (and freeing) what the decide
    /// stage has finished with.
    ///
    /// # Errors
    ///
    /// When the ring is full; the command comes back.
    // The command comes back whole, as a ring's push hands back its value;
    // a large error costs nothing at a person's pace.
    #[allow(clippy::result_large_err)]
    pub fn push(&mut self, command: Command) -> Result<(), Command> {
        self.reclaim();
        self.commands.push(command).map_err(|ring::Full(c)| c)
    }

    /// Frees the strategy parameters the decide stage has handed back;
    /// returns how many.
    pub fn reclaim(&mut self) -> usize {
        self.spent.drain(COMMAND_SLOTS).count()
    }
}

/// The decide stage's end of the command ring. Never allocates or frees.
pub struct CommandReceiver {
    commands: ring::Consumer<Command>,
    spent: ring::Producer<Tuning>,
}

impl CommandReceiver {
    /// The next command, if one is waiting: one load when none is.
    #[inline]
    pub fn pop(&mut self) -> Option<Command> {
        self.commands.pop()
    }

    /// Hands `tuning` back to the control side to free.
    pub fn give_back(&mut self, tuning: Tuning) {
        if let Err(ring::Full(tuning)) = self.spent.push(tuning) {
            // Cannot happen (see `command_ring`); were it to, leaking one
            // small value beats freeing it on the hot path.
            std::mem::forget(tuning);
        }
    }
}
