//! The control side's end of the command ring: numbers each operator
//! command and hands it to the decide stage. The listener and the main
//! thread (which drains on SIGTERM) share it behind a lock; no hot-path
//! thread ever touches the lock.

use redline_engine::command::{Action, Command};
use redline_engine::ring;

/// The command ring's writing end.
pub struct Commander {
    ring: ring::Producer<Command>,
    next_id: u64,
    /// Who asked for a drain over the listener, for the main thread that
    /// runs it.
    drain_issuer: u32,
}

/// The command ring is full: the decide stage has not taken the commands
/// before (it is stalled, or they came faster than a person sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingFull;

impl Commander {
    /// A commander writing into `ring`.
    pub fn new(ring: ring::Producer<Command>) -> Self {
        Commander {
            ring,
            next_id: 1,
            drain_issuer: 0,
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
        self.ring
            .push(Command { id, issuer, action })
            .map_err(|_| RingFull)?;
        self.next_id += 1;
        Ok(id)
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
