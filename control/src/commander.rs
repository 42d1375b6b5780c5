//! The control side's end of the command ring: numbers each operator
//! command and hands it to the decide stage, and keeps what the engine has
//! in force (risk limits, the strategy's parameters, the log level) as the
//! audit stream says the commands that change them are done. The listener,
//! the main thread (drain on SIGTERM, reload on SIGHUP) and the side thread
//! (which settles changes as their outcomes arrive) share it behind a lock;
//! no hot-path thread ever touches the lock.

use redline_engine::command::{Action, Command, CommandSender, Outcome};
use redline_engine::risk::RiskLimits;

use crate::log::{Level, Log};
use crate::side::Tally;

/// A change to what is in force, applied once its command is done.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// New risk limits.
    Limits(RiskLimits),
    /// The running strategy's whole parameter table.
    Strategy(toml::Table),
    /// A new log level.
    LogLevel(Level),
}

impl Change {
    /// What it changes, as logs name it.
    pub fn name(&self) -> &'static str {
        match self {
            Change::Limits(_) => "limits",
            Change::Strategy(_) => "strategy",
            Change::LogLevel(_) => "log-level",
        }
    }
}

/// What the engine has in force of what can change while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct InForce {
    /// The risk limits.
    pub limits: RiskLimits,
    /// The running strategy's parameters.
    pub strategy: toml::Table,
}

/// The command ring's writing end, and what is in force.
pub struct Commander {
    sender: CommandSender,
    next_id: u64,
    /// Who asked for a drain over the listener, for the main thread that
    /// runs it.
    drain_issuer: u32,
    in_force: InForce,
    /// The most open orders the gate has room for: limits may not raise
    /// `max_open_orders` above it.
    open_capacity: usize,
    /// Changes sent whose commands have not ended yet, by command id.
    awaiting: Vec<(u64, Change)>,
    log: Log,
}

/// The command ring is full: the decide stage has not taken the commands
/// before (it is stalled, or they came faster than a person sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingFull;

impl Commander {
    /// A commander writing into `sender`, starting from `in_force`, with
    /// room for `open_capacity` open orders; log-level changes apply to
    /// `log`.
    pub fn new(sender: CommandSender, in_force: InForce, open_capacity: usize, log: Log) -> Self {
        Commander {
            sender,
            next_id: 1,
            drain_issuer: 0,
            in_force,
            open_capacity,
            awaiting: Vec::new(),
            log,
        }
    }

    /// Sends `action` on behalf of `issuer` (an admin token's id; 0 for
    /// the engine itself); returns the command's id.
    ///
    /// # Errors
    ///
    /// When the ring is full; nothing was sent.
    pub fn send(&mut self, issuer: u32, action: Action) -> Result<u64, RingFull> {
        let id = self.next_id;
        self.sender
            .push(Command { id, issuer, action })
            .map_err(|_| RingFull)?;
        self.next_id += 1;
        Ok(id)
    }

    /// Sends `action`, which makes `change`: in force once it is done.
    ///
    /// # Errors
    ///
    /// As [`Commander::send`].
    pub fn send_change(
        &mut self,
        issuer: u32,
        action: Action,
        change: Change,
    ) -> Result<u64, RingFull> {
        let id = self.send(issuer, action)?;
        self.awaiting.push((id, change));
        Ok(id)
    }

    /// What is in force.
    pub fn in_force(&self) -> &InForce {
        &self.in_force
    }

    /// What is wrong with `limits` as new limits: their own contradictions
    /// and more open orders than the gate has room for.
    pub fn limit_problems(&self, limits: &RiskLimits) -> Vec<String> {
        let mut problems: Vec<String> = limits
            .problems()
            .into_iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect();
        if limits.max_open_orders > self.open_capacity {
            problems.push(format!(
                "max_open_orders: at most {} (the room allocated at start; restart with a larger \
                 risk.max_open_orders to raise it)",
                self.open_capacity
            ));
        }
        problems
    }

    /// Puts in force the changes whose commands `tally` says are done, and
    /// forgets those that ended otherwise; frees what the decide stage
    /// handed back. The side thread calls it every turn.
    pub fn settle(&mut self, tally: &Tally) {
        self.sender.reclaim();
        if self.awaiting.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.awaiting.len() {
            let id = self.awaiting[i].0;
            let Some(outcome) = tally.outcome(id) else {
                i += 1;
                continue;
            };
            let (_, change) = self.awaiting.swap_remove(i);
            let done = outcome == Outcome::Done;
            self.log
                .event(
                    if done { Level::Info } else { Level::Warn },
                    if done { "in force" } else { "not applied" },
                )
                .field("change", change.name())
                .field("id", id)
                .field("outcome", outcome.name())
                .emit();
            if !done {
                continue;
            }
            match change {
                Change::Limits(limits) => self.in_force.limits = limits,
                Change::Strategy(params) => self.in_force.strategy = params,
                Change::LogLevel(level) => self.log.set_level(level),
            }
        }
    }

    /// Notes who asked for a drain (the main thread sends it).
    pub fn set_drain_issuer(&mut self, issuer: u32) {
        self.drain_issuer = issuer;
    }

    /// Who asked for the drain: the admin token's id, or 0 for a signal.
    pub fn drain_issuer(&self) -> u32 {
        self.drain_issuer
    }
}
