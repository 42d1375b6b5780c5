//! The buffer strategies write their intents into: owned by the engine,
//! sized once, so a strategy never allocates on the hot path. It also hands
//! out client order ids, so every new order's id is unique and increasing.
//!
//! Its capacity is a budget per event the engine handles (a quote, a
//! report, a timer), not per strategy call: the strategy's answers to the
//! engine's rejections of its own intents spend the same budget, so one
//! event can never make more than `capacity` intents, and the engine can
//! make room for all of them before it takes the event.

use crate::domain::{ClientOrderId, InstrumentId, Intent, NewOrder, Price, Qty, Side, TimeInForce};

/// A bounded list of intents, drained by the decide stage after each
/// strategy call.
#[derive(Debug)]
pub struct Intents {
    buf: Vec<Intent>,
    /// Intents still allowed for the event being handled.
    budget: usize,
    /// The id the next new order gets.
    next_id: u64,
    /// Intents refused because the buffer was full.
    refused: u64,
}

impl Intents {
    /// A buffer for at most `capacity` intents per strategy call; the only
    /// allocation it ever makes.
    pub fn with_capacity(capacity: usize) -> Self {
        Intents {
            buf: Vec::with_capacity(capacity),
            budget: capacity,
            next_id: 1,
            refused: 0,
        }
    }

    /// Hands out ids above `id` from now on (a restart goes on after the
    /// ids the journal holds).
    pub fn start_after(&mut self, id: ClientOrderId) {
        self.next_id = self.next_id.max(id.0 + 1);
    }

    /// Asks for a new order; returns its id, or `None` (and counts it) when
    /// this event's budget is spent: the order is then not sent.
    pub fn new_order(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        qty: Qty,
        tif: TimeInForce,
    ) -> Option<ClientOrderId> {
        if self.is_full() {
            self.refused += 1;
            return None;
        }
        self.budget -= 1;
        let id = ClientOrderId(self.next_id);
        self.next_id += 1;
        self.buf.push(Intent::New(NewOrder {
            id,
            instrument,
            side,
            price,
            qty,
            tif,
        }));
        Some(id)
    }

    /// Asks to cancel an open order; `false` (and counted) when this event's
    /// budget is spent.
    pub fn cancel(&mut self, id: ClientOrderId) -> bool {
        if self.is_full() {
            self.refused += 1;
            return false;
        }
        self.budget -= 1;
        self.buf.push(Intent::Cancel(id));
        true
    }

    /// Intents written since the last drain.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether none were written since the last drain.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether another intent would be refused.
    pub fn is_full(&self) -> bool {
        self.budget == 0
    }

    /// The most intents one event may make.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Intents refused so far because the buffer was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Takes the intents written, in order; allocates nothing. The budget
    /// stays spent until [`Intents::next_event`].
    pub fn drain(&mut self) -> std::vec::Drain<'_, Intent> {
        self.buf.drain(..)
    }

    /// Starts the budget of a new event. The engine calls it before it
    /// hands a strategy an event; a strategy has no need to.
    pub fn next_event(&mut self) {
        debug_assert!(self.buf.is_empty(), "drained before the next event");
        self.budget = self.buf.capacity();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_a_spent_budget_refuses_without_growing() {
        let mut intents = Intents::with_capacity(2);
        let id = |i: &mut Intents| {
            i.new_order(
                InstrumentId(0),
                Side::Buy,
                Price(1),
                Qty(1),
                TimeInForce::Ioc,
            )
        };
        assert_eq!(id(&mut intents), Some(ClientOrderId(1)));
        assert!(intents.cancel(ClientOrderId(1)));
        assert_eq!(id(&mut intents), None);
        assert!(!intents.cancel(ClientOrderId(1)));
        assert_eq!(intents.refused(), 2);
        assert!(intents.is_full());
        assert_eq!(intents.buf.capacity(), 2, "never grows");
        assert_eq!(intents.drain().count(), 2);
        assert_eq!(id(&mut intents), None, "a drain does not renew the budget");
        intents.next_event();
        assert_eq!(
            id(&mut intents),
            Some(ClientOrderId(2)),
            "ids go on in the next event"
        );
    }
}
