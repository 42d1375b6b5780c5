//! Stage threads: the loops of the hot path, each on its own named thread,
//! pinned to a configured core, idling by a configured strategy.
//!
//! A [`Stage`] is polled in a loop by the [`Runtime`]; the same stages can run
//! one per thread, joined by rings ([`Topology::Pipeline`]), or polled in turn
//! by one loop on one thread ([`Topology::Fused`], with [`Fused`]).

mod idle;
mod pinning;
mod runtime;
mod topology;

pub use idle::{Backoff, BusySpin, Idle, IdleStrategy, SpinThenYield};
pub use pinning::{available_cores, PinOutcome, PinPolicy};
pub use runtime::{Runtime, StageError, StageSpec, StageStatus};
pub use topology::Topology;

/// One loop body of the hot path.
///
/// `poll` must never block, lock, allocate or log: it does the work that is
/// ready (drains its input rings, say) and returns. The runtime calls it
/// again at once when it did some work, and after the stage's idle strategy
/// when it did none.
pub trait Stage: Send + 'static {
    /// Does the work that is ready and returns how many items it handled
    /// (0 means idle).
    fn poll(&mut self) -> usize;

    /// Called once on the stage's thread after its last poll, when it is
    /// stopped: to end what it holds cleanly (a venue session's Logout).
    /// Bounded in time; nothing by default.
    fn finish(&mut self) {}
}

impl<S: Stage + ?Sized> Stage for Box<S> {
    #[inline]
    fn poll(&mut self) -> usize {
        (**self).poll()
    }

    fn finish(&mut self) {
        (**self).finish();
    }
}

/// Several stages polled in turn by one loop on one thread: the fused
/// topology. The parts hand items to each other however they are wired;
/// fusing only removes the thread hops between them.
pub struct Fused(pub Vec<Box<dyn Stage>>);

impl Stage for Fused {
    #[inline]
    fn poll(&mut self) -> usize {
        self.0.iter_mut().map(|stage| stage.poll()).sum()
    }

    fn finish(&mut self) {
        for stage in &mut self.0 {
            stage.finish();
        }
    }
}
