//! The pre-trade risk gate: every intent passes it before anything is sent.
//!
//! It owns what the checks need and nothing else: each instrument's
//! position, open quantity each side, last quote and throttle; the open
//! orders; the trading state; and the P&L, marked to the mid, with what it
//! was when the trading day began (the daily loss limit counts from
//! there). It lives on the decide stage's thread and is updated from
//! quotes and execution reports. Checks fail closed: no quote means no
//! price, which means no order.
//!
//! Money is exact: an instrument's value per tick per lot is a whole number
//! of nano-units of the account currency (checked at start-up), and sums
//! that involve the mid are kept doubled, because the mid is in half-ticks.
//! The day's P&L (cash flow plus positions marked to the mid) is exact; it
//! splits into realized and unrealized by each position's average cost,
//! which is the one place a division rounds (to the nano-unit).

use super::ledger::{LaneLedger, Ledger};
use super::limits::RiskLimits;
use super::throttle::TokenBucket;
use super::trading_state::TradingState;
use crate::domain::{
    ClientOrderId, ExecKind, ExecReport, InstrumentId, Instruments, Intent, NewOrder, Price, Qty,
    Quote, Reject, Side,
};

/// Nano-units per currency unit.
const NANOS: u32 = 9;

/// The limits in the units the checks use.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_order_qty: i64,
    max_order_notional: i128,
    collar_bps: i64,
    max_position: i64,
    max_gross_exposure: i128,
    max_open_orders: usize,
    max_daily_loss: i128,
    stale_ticks: u64,
}

impl Limits {
    /// `limits` (checked by [`RiskLimits::problems`]) in the checks' units
    /// on a clock of `ticks_per_second`.
    fn new(limits: &RiskLimits, ticks_per_second: f64) -> Limits {
        let money = |d: crate::domain::Decimal| d.to_units(NANOS).expect("checked by problems");
        Limits {
            max_order_qty: limits.max_order_qty,
            max_order_notional: money(limits.max_order_notional),
            collar_bps: limits.price_collar_bps,
            max_position: limits.max_position,
            max_gross_exposure: money(limits.max_gross_exposure),
            max_open_orders: limits.max_open_orders,
            max_daily_loss: money(limits.max_daily_loss),
            stale_ticks: (limits.stale_quote_ms as f64 * ticks_per_second / 1e3) as u64,
        }
    }
}

/// One instrument's risk state.
#[derive(Debug, Clone, Copy)]
struct Lane {
    /// Nano-units per tick per lot.
    value: i128,
    position: i64,
    /// Lots open on each side.
    open_buy: i64,
    open_sell: i64,
    /// The last quote's mid, in half-ticks (the reference price before one).
    mid_x2: i64,
    /// The last quote's best bid and offer; zero before the first.
    bid: Price,
    ask: Price,
    /// What the open position cost, in nano-units, at its average price
    /// (negative for a short).
    cost: i128,
    /// When the last quote was received; `None` before the first.
    quoted_at: Option<u64>,
    throttle: TokenBucket,
}

impl Lane {
    /// The largest position it could reach if every open order filled,
    /// with `extra` more lots on `side`.
    fn worst_position(&self, side: Side, extra: i64) -> i64 {
        let (buy, sell) = match side {
            Side::Buy => (self.open_buy + extra, self.open_sell),
            Side::Sell => (self.open_buy, self.open_sell + extra),
        };
        (self.position + buy)
            .abs()
            .max((self.position - sell).abs())
    }

    /// Moves the position by `lots` (signed) filled at `price`: a fill
    /// that adds to the position adds its cost; one that reduces it takes
    /// off the average cost of the lots it closes, and any lots beyond
    /// open a new position at `price`.
    fn fill(&mut self, lots: i64, price: Price) {
        let at = |lots: i64| i128::from(lots) * i128::from(price.0) * self.value;
        if self.position == 0 || self.position.signum() == lots.signum() {
            self.cost += at(lots);
        } else {
            let closed = lots.abs().min(self.position.abs());
            self.cost -= self.cost * i128::from(closed) / i128::from(self.position.abs());
            let opened = lots.abs() - closed;
            self.cost += at(lots.signum() * opened);
        }
        self.position += lots;
    }

    /// The open position marked to the mid, less what it cost, in
    /// nano-units.
    fn unrealized(&self) -> i128 {
        (i128::from(self.position) * i128::from(self.mid_x2) * self.value - 2 * self.cost) / 2
    }
}

/// An order the gate let through and has not seen finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OpenOrder {
    /// Its id.
    pub id: ClientOrderId,
    /// What.
    pub instrument: InstrumentId,
    /// Which way.
    pub side: Side,
    /// Its limit price, in ticks.
    pub price: Price,
    /// Lots not yet filled.
    pub leaves: i64,
}

/// The risk gate. See the module docs.
#[derive(Debug, Clone)]
pub struct RiskGate {
    limits: Limits,
    state: TradingState,
    lanes: Box<[Lane]>,
    /// The positions again, as strategies read them.
    positions: Box<[Qty]>,
    /// Allocated once with room for `max_open_orders`.
    open: Vec<OpenOrder>,
    /// The highest client order id let through.
    last_id: u64,
    throttle: TokenBucket,
    /// Twice the cash flow of all fills, in nano-units.
    cash_x2: i128,
    /// Twice the mark-to-mid value of all positions, in nano-units.
    marked_x2: i128,
    /// `cash_x2 + marked_x2` when the trading day began.
    day_start_x2: i128,
    /// When the next trading day begins, and a day's length, in ticks
    /// (`u64::MAX`: never).
    next_day_at: u64,
    day_ticks: u64,
    /// After a restart, until every instrument holding a position has
    /// been quoted: the P&L is not known, so the loss check waits and only
    /// orders that shrink a position pass.
    awaiting_marks: bool,
    rejects: [u64; Reject::ALL.len()],
    accepted: u64,
    ticks_per_second: f64,
}

impl RiskGate {
    /// A gate enforcing `limits` over `instruments`, throttles full at
    /// `now` on a clock of `ticks_per_second`.
    ///
    /// # Errors
    ///
    /// When an instrument's value per tick per lot is not a whole number of
    /// nano-units, or a limit is out of range (see [`RiskLimits::problems`]).
    pub fn new(
        limits: &RiskLimits,
        instruments: &Instruments,
        ticks_per_second: f64,
        now: u64,
    ) -> Result<RiskGate, String> {
        if let Some((key, message)) = limits.problems().into_iter().next() {
            return Err(format!("`{key}` {message}"));
        }
        let mut lanes = Vec::with_capacity(instruments.len());
        for instrument in instruments.iter() {
            let spec = &instrument.spec;
            let value = spec
                .tick_size
                .checked_mul(spec.lot_size)
                .and_then(|v| v.checked_mul(spec.multiplier))
                .and_then(|v| v.to_units(NANOS))
                .ok_or_else(|| {
                    format!(
                        "instrument `{}`: tick_size x lot_size x multiplier must be a whole \
                         number of billionths",
                        spec.symbol
                    )
                })?;
            lanes.push(Lane {
                value,
                position: 0,
                open_buy: 0,
                open_sell: 0,
                mid_x2: 2 * instrument.reference.0,
                bid: Price(0),
                ask: Price(0),
                cost: 0,
                quoted_at: None,
                throttle: TokenBucket::new(
                    limits.instrument_order_burst,
                    limits.instrument_orders_per_second,
                    ticks_per_second,
                    now,
                ),
            });
        }
        Ok(RiskGate {
            limits: Limits::new(limits, ticks_per_second),
            state: TradingState::Active,
            positions: vec![Qty(0); lanes.len()].into_boxed_slice(),
            lanes: lanes.into_boxed_slice(),
            open: Vec::with_capacity(limits.max_open_orders),
            last_id: 0,
            throttle: TokenBucket::new(
                limits.order_burst,
                limits.orders_per_second,
                ticks_per_second,
                now,
            ),
            cash_x2: 0,
            marked_x2: 0,
            day_start_x2: 0,
            next_day_at: u64::MAX,
            day_ticks: u64::MAX,
            awaiting_marks: false,
            rejects: [0; Reject::ALL.len()],
            accepted: 0,
            ticks_per_second,
        })
    }

    /// Checks an intent at `now`; a new order that passes is counted as
    /// open from here on. Never allocates, blocks or logs.
    ///
    /// # Errors
    ///
    /// The reason the intent may not go out; it is counted per reason.
    pub fn check(&mut self, intent: &Intent, now: u64) -> Result<(), Reject> {
        let result = match intent {
            Intent::Cancel(id) => {
                if self.open.iter().any(|o| o.id == *id) {
                    Ok(())
                } else {
                    Err(Reject::UnknownOrder)
                }
            }
            Intent::New(order) => self
                .check_new(order, now, self.state)
                .map(|()| self.accept(order)),
        };
        if let Err(reason) = result {
            self.rejects[reason.index()] += 1;
        }
        result
    }

    /// Checks an order that closes a position (an operator's flatten) at
    /// `now`: every check applies, but the trading state is taken as
    /// reduce-only whatever it is, so it passes a halt only if it shrinks
    /// the position. One that passes is counted as open.
    ///
    /// # Errors
    ///
    /// The reason the order may not go out; it is counted per reason.
    pub fn check_closing(&mut self, order: &NewOrder, now: u64) -> Result<(), Reject> {
        let result = self
            .check_new(order, now, TradingState::ReduceOnly)
            .map(|()| self.accept(order));
        if let Err(reason) = result {
            self.rejects[reason.index()] += 1;
        }
        result
    }

    fn check_new(&mut self, order: &NewOrder, now: u64, state: TradingState) -> Result<(), Reject> {
        let limits = self.limits;
        let lane = self
            .lanes
            .get(order.instrument.index())
            .ok_or(Reject::InvalidOrder)?;
        valid_shape(order)?;
        trading_state(state, lane, order)?;
        if self.awaiting_marks && !shrinks(lane, order) {
            return Err(Reject::UnmarkedPositions);
        }
        fresh_id(self.last_id, order)?;
        order_qty(limits.max_order_qty, order)?;
        fresh_quote(lane, now, limits.stale_ticks)?;
        price_collar(lane, order, limits.collar_bps)?;
        order_notional(lane, order, limits.max_order_notional)?;
        position_limit(lane, order, limits.max_position)?;
        self.gross_exposure(order)?;
        open_orders(self.open.len(), limits.max_open_orders)?;
        self_trade(&self.open, order)?;
        // Last: a token is spent only on an order that is going out.
        let lane = &mut self.lanes[order.instrument.index()];
        if !self.throttle.has_token(now) || !lane.throttle.has_token(now) {
            return Err(Reject::RateThrottle);
        }
        self.throttle.take();
        lane.throttle.take();
        Ok(())
    }

    /// Gross exposure across instruments, every open order counted as
    /// filled, with `order` added.
    fn gross_exposure(&self, order: &NewOrder) -> Result<(), Reject> {
        let mut gross_x2: i128 = 0;
        for (index, lane) in self.lanes.iter().enumerate() {
            let extra = if index == order.instrument.index() {
                order.qty.0
            } else {
                0
            };
            let worst = i128::from(lane.worst_position(order.side, extra));
            gross_x2 += worst * i128::from(lane.mid_x2.abs()) * lane.value;
        }
        if gross_x2 > 2 * self.limits.max_gross_exposure {
            return Err(Reject::GrossExposure);
        }
        Ok(())
    }

    fn accept(&mut self, order: &NewOrder) {
        let lane = &mut self.lanes[order.instrument.index()];
        match order.side {
            Side::Buy => lane.open_buy += order.qty.0,
            Side::Sell => lane.open_sell += order.qty.0,
        }
        debug_assert!(
            self.open.len() < self.open.capacity(),
            "max_open_orders checked"
        );
        self.open.push(OpenOrder {
            id: order.id,
            instrument: order.instrument,
            side: order.side,
            price: order.price,
            leaves: order.qty.0,
        });
        self.last_id = order.id.0;
        self.accepted += 1;
    }

    /// Takes a quote: the instrument's mid and freshness, the marks, a new
    /// trading day if one is due, and the daily loss check. Returns
    /// whether a trading day began.
    pub fn on_quote(&mut self, quote: &Quote) -> bool {
        let Some(lane) = self.lanes.get_mut(quote.instrument.index()) else {
            return false;
        };
        let mid_x2 = quote.mid_x2();
        self.marked_x2 += i128::from(lane.position) * i128::from(mid_x2 - lane.mid_x2) * lane.value;
        lane.mid_x2 = mid_x2;
        lane.bid = quote.bid;
        lane.ask = quote.ask;
        lane.quoted_at = Some(quote.received);
        if self.awaiting_marks {
            // A loop over the instruments, only until the last held one is
            // quoted after a restart.
            self.awaiting_marks = !self.marked_at_quotes();
        }
        let new_day = quote.received >= self.next_day_at && self.marked_at_quotes();
        if new_day {
            self.day_start_x2 = self.cash_x2 + self.marked_x2;
            let days = (quote.received - self.next_day_at) / self.day_ticks + 1;
            self.next_day_at = self
                .next_day_at
                .saturating_add(days.saturating_mul(self.day_ticks));
        }
        self.check_loss();
        new_day
    }

    /// Begins trading days at `next_at` and every `every` ticks after (the
    /// first may be due already: it begins at the next quote that finds
    /// every position marked at a quote). Without it no day ends.
    pub fn schedule_days(&mut self, next_at: u64, every: u64) {
        self.next_day_at = next_at;
        self.day_ticks = every.max(1);
    }

    /// Whether every position is marked at a quote of this run, not at its
    /// instrument's reference price: the only marks a trading day may begin
    /// from, and what a restart awaits. Called only when a day is due, or
    /// while a restart awaits its marks.
    fn marked_at_quotes(&self) -> bool {
        self.lanes
            .iter()
            .all(|lane| lane.position == 0 || lane.quoted_at.is_some())
    }

    /// Takes an execution report of an order the gate let through: fills
    /// move position, cash and marks; finished orders stop counting as
    /// open, and so does one whose cancel the venue refused because it
    /// does not know it (the venue reports in order, so no fill of it is
    /// still to come). Reports of orders it does not know are ignored.
    pub fn on_report(&mut self, report: &ExecReport) {
        self.apply_report(report);
        self.check_loss();
    }

    /// For a restart: a journaled report, applied as [`RiskGate::on_report`]
    /// does but without the loss check (marks stand at the reference
    /// prices until the first quote; the journal's state changes say
    /// whether the limit halted trading).
    pub fn replay_report(&mut self, report: &ExecReport) {
        self.apply_report(report);
    }

    /// For a restart: opens `order` again as it was when it passed, with no
    /// check run and nothing counted; `false` (and nothing changes) when
    /// the gate has no room for another open order.
    pub fn reopen(&mut self, order: &NewOrder) -> bool {
        if !self.room_to_reopen(order.id, order.instrument) {
            return false;
        }
        self.accept(order);
        self.accepted -= 1;
        true
    }

    /// Whether a restart may open order `id` of `instrument` again: there
    /// is room, the instrument exists and the order is not open already.
    fn room_to_reopen(&self, id: ClientOrderId, instrument: InstrumentId) -> bool {
        self.open.len() < self.open.capacity()
            && instrument.index() < self.lanes.len()
            && !self.open.iter().any(|o| o.id == id)
    }

    /// For a restart: new orders need ids above `id` (ids already handed
    /// out, passed or refused, are never reused).
    pub fn raise_id_floor(&mut self, id: ClientOrderId) {
        self.last_id = self.last_id.max(id.0);
    }

    /// The highest order id used so far.
    pub fn last_id(&self) -> ClientOrderId {
        ClientOrderId(self.last_id)
    }

    /// For a restart: the trading state as journaled, taken as it is.
    pub fn restore_state(&mut self, state: TradingState) {
        self.state = state;
    }

    /// For a restart: marks `instrument` at `price`, the last trade the
    /// journal shows, rather than at its reference price, until its first
    /// quote (a day still waits for that quote to begin).
    pub fn restore_mark(&mut self, instrument: InstrumentId, price: Price) {
        let Some(lane) = self.lanes.get_mut(instrument.index()) else {
            return;
        };
        if lane.quoted_at.is_some() {
            return;
        }
        let mid_x2 = 2 * price.0;
        self.marked_x2 += i128::from(lane.position) * i128::from(mid_x2 - lane.mid_x2) * lane.value;
        lane.mid_x2 = mid_x2;
    }

    /// For a restart, once the journal is folded in: until every instrument
    /// holding a position has been quoted, only orders that shrink a
    /// position pass (refused [`Reject::UnmarkedPositions`]) and the loss
    /// check waits, since the P&L is not known. Returns whether it waits.
    pub fn await_marks(&mut self) -> bool {
        self.awaiting_marks = !self.marked_at_quotes();
        self.awaiting_marks
    }

    /// Whether a restart's positions still await a quote (see
    /// [`RiskGate::await_marks`]).
    pub fn awaiting_marks(&self) -> bool {
        self.awaiting_marks
    }

    /// For a restart: the P&L when the journal's last trading day began.
    pub fn restore_day_start(&mut self, pnl_nanos: i64) {
        self.day_start_x2 = 2 * i128::from(pnl_nanos);
    }

    /// For a checkpoint: what a restore has rebuilt so far (see
    /// [`Ledger`]).
    pub fn ledger(&self) -> Ledger {
        Ledger {
            lanes: self
                .lanes
                .iter()
                .map(|lane| LaneLedger {
                    value: lane.value,
                    position: lane.position,
                    cost: lane.cost,
                })
                .collect(),
            cash_x2: self.cash_x2,
            day_start_x2: self.day_start_x2,
            open: self.open.clone(),
            last_id: self.last_id,
        }
    }

    /// For a restart from a checkpoint: takes `ledger` into this gate,
    /// fresh from its config, as if the entries it was taken from had been
    /// replayed (positions marked at the reference prices). Returns how
    /// many of its open orders found no room (see [`RiskGate::reopen`]).
    ///
    /// # Errors
    ///
    /// When the ledger is of other instruments (their number, or one's
    /// value per tick per lot, differs); the gate is left as it was.
    pub fn load_ledger(&mut self, ledger: &Ledger) -> Result<u64, String> {
        if ledger.lanes.len() != self.lanes.len() {
            return Err(format!(
                "it holds {} instruments, the config {}",
                ledger.lanes.len(),
                self.lanes.len()
            ));
        }
        if let Some(index) =
            (0..self.lanes.len()).find(|&i| ledger.lanes[i].value != self.lanes[i].value)
        {
            return Err(format!(
                "instrument {index} was worth {} nano-units per tick per lot, the config says {}",
                ledger.lanes[index].value, self.lanes[index].value
            ));
        }
        for (index, (lane, kept)) in self.lanes.iter_mut().zip(&ledger.lanes).enumerate() {
            self.marked_x2 +=
                i128::from(kept.position - lane.position) * i128::from(lane.mid_x2) * lane.value;
            lane.position = kept.position;
            lane.cost = kept.cost;
            self.positions[index] = Qty(kept.position);
        }
        self.cash_x2 = ledger.cash_x2;
        self.day_start_x2 = ledger.day_start_x2;
        self.last_id = self.last_id.max(ledger.last_id);
        let mut dropped = 0;
        self.make_room(ledger.open.len());
        for order in &ledger.open {
            if !self.room_to_reopen(order.id, order.instrument) {
                dropped += 1;
                continue;
            }
            let lane = &mut self.lanes[order.instrument.index()];
            match order.side {
                Side::Buy => lane.open_buy += order.leaves,
                Side::Sell => lane.open_sell += order.leaves,
            }
            self.open.push(*order);
        }
        Ok(dropped)
    }

    fn apply_report(&mut self, report: &ExecReport) {
        let Some(at) = self.open.iter().position(|o| o.id == report.id) else {
            return;
        };
        let order = self.open[at];
        let lane = &mut self.lanes[order.instrument.index()];
        let filled = match report.kind {
            ExecKind::PartialFill | ExecKind::Fill => report.filled.0.min(order.leaves),
            _ => 0,
        };
        if filled > 0 {
            let signed = order.side.sign() * filled;
            lane.fill(signed, report.price);
            self.positions[order.instrument.index()] = Qty(lane.position);
            let lots = i128::from(signed);
            self.cash_x2 -= 2 * lots * i128::from(report.price.0) * lane.value;
            self.marked_x2 += lots * i128::from(lane.mid_x2) * lane.value;
        }
        let leaves = order.leaves - filled;
        let unknown = report.kind == ExecKind::CancelRejected(Reject::UnknownOrder);
        let done = report.is_final() || leaves == 0 || unknown;
        // A finished order takes all it had left off the open count; a
        // live one only what just filled.
        let released = if done { order.leaves } else { filled };
        match order.side {
            Side::Buy => lane.open_buy -= released,
            Side::Sell => lane.open_sell -= released,
        }
        if done {
            self.open.swap_remove(at);
        } else {
            self.open[at].leaves = leaves;
        }
    }

    /// Halts trading once the day's P&L is below the loss limit; not while
    /// a restart's positions await their marks (a stale mark must not halt
    /// until a new day, nor hide a loss: orders that add risk wait too).
    fn check_loss(&mut self) {
        if self.awaiting_marks {
            return;
        }
        if self.cash_x2 + self.marked_x2 - self.day_start_x2 < -2 * self.limits.max_daily_loss {
            self.state = TradingState::Halted;
        }
    }

    /// The trading state.
    pub fn state(&self) -> TradingState {
        self.state
    }

    /// Sets the trading state (the kill switch, reduce-only, resume). A
    /// day's P&L below the loss limit keeps it halted whatever is asked.
    pub fn set_state(&mut self, state: TradingState) {
        self.state = state;
        self.check_loss();
    }

    /// Enforces `limits` from `now` on; the throttles keep the tokens they
    /// have, up to the new bursts. Never allocates.
    ///
    /// # Errors
    ///
    /// When `limits` has problems ([`RiskLimits::problems`]) or asks for
    /// more open orders than the gate was built for; nothing changes then.
    pub fn set_limits(&mut self, limits: &RiskLimits, now: u64) -> Result<(), LimitsRefused> {
        if limits.max_open_orders > self.open.capacity() || !limits.problems().is_empty() {
            return Err(LimitsRefused);
        }
        self.limits = Limits::new(limits, self.ticks_per_second);
        self.throttle.set_rate(
            limits.order_burst,
            limits.orders_per_second,
            self.ticks_per_second,
            now,
        );
        for lane in self.lanes.iter_mut() {
            lane.throttle.set_rate(
                limits.instrument_order_burst,
                limits.instrument_orders_per_second,
                self.ticks_per_second,
                now,
            );
        }
        self.check_loss();
        Ok(())
    }

    /// The number of instruments it watches.
    pub fn instruments(&self) -> usize {
        self.lanes.len()
    }

    /// Each instrument's net position.
    pub fn positions(&self) -> &[Qty] {
        &self.positions
    }

    /// The instrument and side of an order let through and not finished.
    pub fn open_order(&self, id: ClientOrderId) -> Option<(InstrumentId, Side)> {
        self.open
            .iter()
            .find(|o| o.id == id)
            .map(|o| (o.instrument, o.side))
    }

    /// Orders let through and not finished.
    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    /// Each order let through and not finished, in no particular order.
    pub fn orders(&self) -> &[OpenOrder] {
        &self.open
    }

    /// The most lots one order may ask for now.
    pub fn max_order_qty(&self) -> i64 {
        self.limits.max_order_qty
    }

    /// The most orders it can hold open: `max_open_orders` at start (or
    /// what a restart made room for), which later limits may lower but not
    /// raise.
    pub fn open_capacity(&self) -> usize {
        self.open.capacity()
    }

    /// For a restart, before the path runs: room for `orders` open at
    /// once, when a restart takes back more than `max_open_orders` (the
    /// orders a killed run sent that its journal never got). Allocates;
    /// new orders are still refused while `max_open_orders` are open.
    pub fn make_room(&mut self, orders: usize) {
        self.open
            .reserve_exact(orders.saturating_sub(self.open.len()));
    }

    /// `instrument`'s best bid and offer as last quoted; `None` before its
    /// first quote.
    pub fn touch(&self, instrument: InstrumentId) -> Option<(Price, Price)> {
        let lane = self.lanes.get(instrument.index())?;
        lane.quoted_at.map(|_| (lane.bid, lane.ask))
    }

    /// Lots open on each side of `instrument`: `(buy, sell)`.
    pub fn open_lots(&self, instrument: InstrumentId) -> (i64, i64) {
        let lane = &self.lanes[instrument.index()];
        (lane.open_buy, lane.open_sell)
    }

    /// Realized plus unrealized P&L, in nano-units of the currency.
    pub fn pnl_nanos(&self) -> i128 {
        (self.cash_x2 + self.marked_x2) / 2
    }

    /// P&L since the trading day began (what the daily loss limit counts),
    /// in nano-units of the currency.
    pub fn day_pnl_nanos(&self) -> i128 {
        (self.cash_x2 + self.marked_x2 - self.day_start_x2) / 2
    }

    /// P&L of the lots closed so far, against their average cost, in
    /// nano-units of the currency.
    pub fn realized_nanos(&self) -> i128 {
        self.pnl_nanos() - self.unrealized_nanos()
    }

    /// P&L of the open positions marked to the mid, in nano-units of the
    /// currency.
    pub fn unrealized_nanos(&self) -> i128 {
        self.lanes.iter().map(Lane::unrealized).sum()
    }

    /// `instrument`'s open position marked to the mid, less its cost, in
    /// nano-units of the currency.
    pub fn instrument_unrealized_nanos(&self, instrument: InstrumentId) -> i128 {
        self.lanes[instrument.index()].unrealized()
    }

    /// `instrument`'s position valued at the mid, as a size: the absolute
    /// value, in nano-units of the currency.
    pub fn exposure_nanos(&self, instrument: InstrumentId) -> i128 {
        let lane = &self.lanes[instrument.index()];
        i128::from(lane.position).abs() * i128::from(lane.mid_x2.abs()) * lane.value / 2
    }

    /// Intents refused for `reason` so far.
    pub fn rejects(&self, reason: Reject) -> u64 {
        self.rejects[reason.index()]
    }

    /// New orders let through so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }
}

/// [`RiskGate::set_limits`] refused the limits: they have problems, or
/// ask for more open orders than the gate has room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsRefused;

/// Quantity and price must be positive.
fn valid_shape(order: &NewOrder) -> Result<(), Reject> {
    if order.qty.0 <= 0 || order.price.0 <= 0 {
        return Err(Reject::InvalidOrder);
    }
    Ok(())
}

/// Halted lets no new order through; reduce-only only those that shrink
/// the position, open orders counted as filled.
fn trading_state(state: TradingState, lane: &Lane, order: &NewOrder) -> Result<(), Reject> {
    match state {
        TradingState::Active => Ok(()),
        TradingState::Halted => Err(Reject::Halted),
        TradingState::ReduceOnly if shrinks(lane, order) => Ok(()),
        TradingState::ReduceOnly => Err(Reject::ReduceOnly),
    }
}

/// Whether `order`, filled along with the open orders on its side, only
/// shrinks its instrument's position.
fn shrinks(lane: &Lane, order: &NewOrder) -> bool {
    match order.side {
        Side::Buy => lane.position < 0 && lane.position + lane.open_buy + order.qty.0 <= 0,
        Side::Sell => lane.position > 0 && lane.position - lane.open_sell - order.qty.0 >= 0,
    }
}

/// Client order ids increase; one not above the last let through was used.
fn fresh_id(last_id: u64, order: &NewOrder) -> Result<(), Reject> {
    if order.id.0 <= last_id {
        return Err(Reject::DuplicateOrderId);
    }
    Ok(())
}

fn order_qty(max: i64, order: &NewOrder) -> Result<(), Reject> {
    if order.qty.0 > max {
        return Err(Reject::MaxOrderQty);
    }
    Ok(())
}

/// No quote, or one older than the limit, means no price to check against.
fn fresh_quote(lane: &Lane, now: u64, stale_ticks: u64) -> Result<(), Reject> {
    match lane.quoted_at {
        Some(at) if now.saturating_sub(at) <= stale_ticks => Ok(()),
        _ => Err(Reject::StaleMarketData),
    }
}

/// `|price - mid| <= bps / 10000 * mid`, in half-ticks to stay exact.
fn price_collar(lane: &Lane, order: &NewOrder, bps: i64) -> Result<(), Reject> {
    let distance_x2 = i128::from((2 * order.price.0 - lane.mid_x2).abs());
    if distance_x2 * 10_000 > i128::from(bps) * i128::from(lane.mid_x2) {
        return Err(Reject::PriceCollar);
    }
    Ok(())
}

fn order_notional(lane: &Lane, order: &NewOrder, max: i128) -> Result<(), Reject> {
    let notional = i128::from(order.qty.0) * i128::from(order.price.0) * lane.value;
    if notional > max {
        return Err(Reject::MaxOrderNotional);
    }
    Ok(())
}

/// The position, with every open order and this one filled, stays within
/// the limit either way.
fn position_limit(lane: &Lane, order: &NewOrder, max: i64) -> Result<(), Reject> {
    if lane.worst_position(order.side, order.qty.0) > max {
        return Err(Reject::PositionLimit);
    }
    Ok(())
}

fn open_orders(open: usize, max: usize) -> Result<(), Reject> {
    if open >= max {
        return Err(Reject::MaxOpenOrders);
    }
    Ok(())
}

/// A buy at or above one of our own resting sells (or a sell at or below
/// our own bid) would trade with ourselves.
fn self_trade(open: &[OpenOrder], order: &NewOrder) -> Result<(), Reject> {
    let crosses = open.iter().any(|resting| {
        resting.instrument == order.instrument
            && resting.side != order.side
            && match order.side {
                Side::Buy => order.price >= resting.price,
                Side::Sell => order.price <= resting.price,
            }
    });
    if crosses {
        return Err(Reject::SelfTrade);
    }
    Ok(())
}
