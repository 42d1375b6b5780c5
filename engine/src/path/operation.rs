//! The operator's commands that take more than one step: cancel-all,
//! flatten and drain. Each step writes at most a budget of intents (cancels
//! of the orders that were open when it started, or closing orders) for the
//! decide stage to route, or waits for the venue's answers, until the
//! operation is done, replaced, or out of time. One runs at a time; a new
//! one replaces it. Never allocates once built.

use crate::command::Outcome;
use crate::domain::{ClientOrderId, InstrumentId, Price, Qty, Reject, Side, TimeInForce};
use crate::risk::RiskGate;
use crate::strategy::Intents;

/// Which operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Cancel the orders open at the start; done when each has ended.
    CancelAll,
    /// Cancel every open order, then close every position; done when flat.
    Flatten,
    /// Cancel every open order; done when none is open.
    Drain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Cancelling,
    Closing,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// It wrote intents to route.
    Wrote,
    /// Nothing to do until the venue answers.
    Waiting,
    /// The operation ended.
    Finished(Outcome),
}

#[derive(Debug, Clone, Copy)]
struct Running {
    id: u64,
    kind: Kind,
    phase: Phase,
    /// Cancels written so far, from the start of `cancels`.
    cancelled: usize,
    /// The highest order id open at the start.
    last_open: ClientOrderId,
    /// Path time by which it must be done.
    deadline: u64,
}

/// The operation in progress, if any, and the room its cancels need.
#[derive(Debug)]
pub(super) struct Operations {
    running: Option<Running>,
    /// The orders open when it started, to cancel; room for every order
    /// the gate can hold open.
    cancels: Vec<ClientOrderId>,
}

impl Operations {
    /// Room for an operation over as many as `max_open` open orders.
    pub(super) fn new(max_open: usize) -> Self {
        Operations {
            running: None,
            cancels: Vec::with_capacity(max_open),
        }
    }

    /// Whether one is in progress.
    #[inline]
    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The id of the one in progress, if it is of `kind`.
    pub(super) fn running(&self, kind: Kind) -> Option<u64> {
        self.running.filter(|r| r.kind == kind).map(|r| r.id)
    }

    /// Starts operation `id` of `kind` over the orders `gate` holds open,
    /// to be done by path time `deadline`; returns the id of the one it
    /// replaces.
    pub(super) fn start(
        &mut self,
        id: u64,
        kind: Kind,
        gate: &RiskGate,
        deadline: u64,
    ) -> Option<u64> {
        let replaced = self.running.map(|r| r.id);
        self.cancels.clear();
        self.cancels.extend(gate.orders().iter().map(|o| o.id));
        let last_open = self.cancels.iter().max().copied().unwrap_or_default();
        self.running = Some(Running {
            id,
            kind,
            phase: Phase::Cancelling,
            cancelled: 0,
            last_open,
            deadline,
        });
        replaced
    }

    /// Ends the one in progress (replaced by a command, or one of its
    /// orders refused); returns its id.
    pub(super) fn stop(&mut self) -> Option<u64> {
        self.running.take().map(|r| r.id)
    }

    /// Moves the operation in progress on at path time `now`, writing at
    /// most `room` intents. Returns its id and what the step did; `None`
    /// when none is in progress. A finished operation is no longer in
    /// progress.
    pub(super) fn step(
        &mut self,
        gate: &RiskGate,
        intents: &mut Intents,
        room: usize,
        now: u64,
    ) -> Option<(u64, Step)> {
        let running = self.running.as_mut()?;
        let id = running.id;
        let step = if now >= running.deadline {
            Step::Finished(Outcome::Incomplete)
        } else {
            match running.phase {
                Phase::Cancelling => cancel(running, &self.cancels, gate, intents, room),
                Phase::Closing => close(gate, intents, room),
            }
        };
        if matches!(step, Step::Finished(_)) {
            self.running = None;
        }
        Some((id, step))
    }
}

/// Writes cancels of the orders open at the start that are still open;
/// once all are written, waits for them to end.
fn cancel(
    running: &mut Running,
    cancels: &[ClientOrderId],
    gate: &RiskGate,
    intents: &mut Intents,
    room: usize,
) -> Step {
    let mut written = 0;
    while running.cancelled < cancels.len() && written < room {
        let id = cancels[running.cancelled];
        running.cancelled += 1;
        // One that ended meanwhile needs no cancel.
        if gate.open_order(id).is_some() && intents.cancel(id) {
            written += 1;
        }
    }
    if written > 0 {
        return Step::Wrote;
    }
    let done = match running.kind {
        // New orders may go out meanwhile; only the old ones count.
        Kind::CancelAll => gate.orders().iter().all(|o| o.id > running.last_open),
        Kind::Flatten | Kind::Drain => gate.open_orders() == 0,
    };
    match (done, running.kind) {
        (false, _) => Step::Waiting,
        (true, Kind::Flatten) => {
            running.phase = Phase::Closing;
            close(gate, intents, room)
        }
        (true, _) => Step::Finished(Outcome::Done),
    }
}

/// Done when every position is flat; otherwise, once the last closing
/// orders have ended, writes an IOC at the touch for each open position
/// (as much of it as one order may be).
fn close(gate: &RiskGate, intents: &mut Intents, room: usize) -> Step {
    if gate.positions().iter().all(|p| p.0 == 0) {
        return Step::Finished(Outcome::Done);
    }
    if gate.open_orders() > 0 {
        return Step::Waiting;
    }
    let mut written = 0;
    for (index, position) in gate.positions().iter().enumerate() {
        if position.0 == 0 {
            continue;
        }
        if written == room {
            break;
        }
        let instrument = InstrumentId(index as u16);
        let Some((bid, ask)) = gate.touch(instrument) else {
            return Step::Finished(Outcome::Refused(Reject::StaleMarketData));
        };
        let (side, price): (Side, Price) = if position.0 > 0 {
            (Side::Sell, bid)
        } else {
            (Side::Buy, ask)
        };
        let qty = Qty(position.0.abs().min(gate.max_order_qty()));
        if intents
            .new_order(instrument, side, price, qty, TimeInForce::Ioc)
            .is_some()
        {
            written += 1;
        }
    }
    if written > 0 {
        Step::Wrote
    } else {
        Step::Waiting
    }
}
