//! Idle strategies: what a stage thread does when a poll found no work.
//!
//! Each is a `Copy` type behind the [`IdleStrategy`] trait, so a stage loop is
//! monomorphised for its strategy and pays no dynamic dispatch; [`Idle`] is
//! the configuration name that picks one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a stage loop calls after a poll that did no work.
pub trait IdleStrategy: Copy + Send + 'static {
    /// Waits a little. `idle_polls` counts the empty polls in a row before
    /// this one (0 on the first), so a strategy can escalate.
    fn idle(self, idle_polls: u32);
}

/// Spins on the CPU: the lowest wake-up latency (tens of nanoseconds), and
/// one core at 100% forever. For production on an isolated core.
#[derive(Debug, Clone, Copy, Default)]
pub struct BusySpin;

impl IdleStrategy for BusySpin {
    #[inline(always)]
    fn idle(self, _: u32) {
        std::hint::spin_loop();
    }
}

/// Spins for a while, then yields the core to the scheduler on each empty
/// poll: near busy-spin latency while traffic flows, and it lets other
/// threads run on a shared core. Still 100% of a core when idle.
#[derive(Debug, Clone, Copy)]
pub struct SpinThenYield {
    /// Empty polls spent spinning before yielding.
    pub spins: u32,
}

impl Default for SpinThenYield {
    fn default() -> Self {
        Self { spins: 10_000 }
    }
}

impl IdleStrategy for SpinThenYield {
    #[inline]
    fn idle(self, idle_polls: u32) {
        if idle_polls < self.spins {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Spins, then yields, then parks for a short bounded time: near-zero CPU
/// when idle, and up to `park` of extra latency on the first item after a
/// quiet spell. What tests and shared machines use.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Empty polls spent spinning.
    pub spins: u32,
    /// Empty polls after the spins spent yielding.
    pub yields: u32,
    /// How long each later empty poll parks; it also bounds how long a stop
    /// takes to be noticed.
    pub park: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            spins: 1_000,
            yields: 100,
            park: Duration::from_micros(200),
        }
    }
}

impl IdleStrategy for Backoff {
    #[inline]
    fn idle(self, idle_polls: u32) {
        if idle_polls < self.spins {
            std::hint::spin_loop();
        } else if idle_polls < self.spins.saturating_add(self.yields) {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(self.park);
        }
    }
}

/// The idle strategy named in config (`idle = "busy-spin"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Idle {
    /// [`BusySpin`].
    BusySpin,
    /// [`SpinThenYield`] with its default spins.
    SpinThenYield,
    /// [`Backoff`] with its default spins, yields and park.
    Backoff,
}

impl Idle {
    /// The name used in config and logs.
    pub fn name(self) -> &'static str {
        match self {
            Idle::BusySpin => "busy-spin",
            Idle::SpinThenYield => "spin-then-yield",
            Idle::Backoff => "backoff",
        }
    }
}
