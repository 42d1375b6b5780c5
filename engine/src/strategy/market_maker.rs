//! The market maker: rests a bid and an ask around each instrument's mid,
//! `half_spread_ticks` away, skewed against its inventory so that a long
//! position lowers both quotes (selling is likelier, buying less so), and
//! cancels and replaces a quote when its target moves `requote_ticks` or
//! more. It stops quoting the side that would take it past its position
//! limit. It follows the trading state: halted, it withdraws its quotes;
//! reduce-only, it quotes only the side that shrinks the position, no more
//! than the position; while the venue is down it leaves its quotes as
//! they are (no cancel could go out either) and places none.

use serde::Deserialize;

use super::registry::parse_params;
use super::{Context, Intents, Strategy, Tuning};
use crate::domain::{
    ClientOrderId, ExecReport, InstrumentId, Instruments, Price, Qty, Quote, Side, TimeInForce,
};

/// `[strategy.params]` of `market-maker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketMakerParams {
    /// Ticks from the mid to each quote; at least 1.
    pub half_spread_ticks: i64,
    /// Lots per quote; at least 1.
    pub qty: i64,
    /// Ticks both quotes move down per lot held long (up per lot short).
    pub skew_ticks_per_lot: i64,
    /// The net position, long or short, it will not quote past; at least
    /// `qty`.
    pub max_position: i64,
    /// How far a quote's target must move before it is replaced; at least 1.
    pub requote_ticks: i64,
}

impl MarketMakerParams {
    fn check(&self) -> Result<(), String> {
        let at_least = |key: &str, value: i64, min: i64| {
            if value < min {
                Err(format!("`{key}` must be at least {min}, got {value}"))
            } else {
                Ok(())
            }
        };
        at_least("half_spread_ticks", self.half_spread_ticks, 1)?;
        at_least("qty", self.qty, 1)?;
        at_least("skew_ticks_per_lot", self.skew_ticks_per_lot, 0)?;
        at_least("max_position", self.max_position, self.qty)?;
        at_least("requote_ticks", self.requote_ticks, 1)
    }
}

/// One resting quote.
#[derive(Debug, Clone, Copy)]
struct Resting {
    id: ClientOrderId,
    price: Price,
}

/// One instrument's resting bid and ask.
#[derive(Debug, Clone, Copy, Default)]
struct Quotes {
    bid: Option<Resting>,
    ask: Option<Resting>,
}

/// The market-making strategy.
#[derive(Debug)]
pub struct MarketMaker {
    params: MarketMakerParams,
    books: Box<[Quotes]>,
}

impl MarketMaker {
    /// The strategy over `instruments`.
    ///
    /// # Errors
    ///
    /// When a parameter is out of range.
    pub fn new(params: MarketMakerParams, instruments: &Instruments) -> Result<Self, String> {
        params.check()?;
        Ok(MarketMaker {
            params,
            books: vec![Quotes::default(); instruments.len()].into_boxed_slice(),
        })
    }

    /// The registry's tuner: new parameters, checked as at start.
    pub fn tuner(params: &toml::Table, _: &Instruments) -> Result<Tuning, String> {
        let params: MarketMakerParams = parse_params(params)?;
        params.check()?;
        Ok(Tuning::new(params))
    }

    /// The registry's factory.
    pub fn factory(
        params: &toml::Table,
        instruments: &Instruments,
    ) -> Result<Box<dyn Strategy>, String> {
        Ok(Box::new(MarketMaker::new(
            parse_params(params)?,
            instruments,
        )?))
    }

    /// Keeps one side's quote at `target`, a price and a quantity (or
    /// withdraws it when `target` is `None`): cancel and replace when its
    /// price moved far enough.
    fn requote(
        slot: &mut Option<Resting>,
        instrument: InstrumentId,
        side: Side,
        target: Option<(Price, Qty)>,
        params: &MarketMakerParams,
        out: &mut Intents,
    ) {
        if let Some(resting) = *slot {
            let close =
                target.is_some_and(|(t, _)| (t.0 - resting.price.0).abs() < params.requote_ticks);
            if close {
                return;
            }
            // Forget it once the cancel is asked for: a late fill still
            // reaches the engine's positions, which the skew reads.
            if !out.cancel(resting.id) {
                return;
            }
            *slot = None;
        }
        if let Some((price, qty)) = target {
            *slot = out
                .new_order(instrument, side, price, qty, TimeInForce::Limit)
                .map(|id| Resting { id, price });
        }
    }
}

impl Strategy for MarketMaker {
    fn retune(&mut self, tuning: &Tuning) -> bool {
        match tuning.get::<MarketMakerParams>() {
            Some(params) => {
                self.params = *params;
                true
            }
            None => false,
        }
    }

    fn on_quote(&mut self, quote: &Quote, ctx: &Context<'_>, out: &mut Intents) {
        let Some(book) = self.books.get_mut(quote.instrument.index()) else {
            return;
        };
        if !ctx.venue_up {
            return;
        }
        let p = &self.params;
        let instrument = quote.instrument;
        let position = ctx.position(instrument).0;
        let skew = p.skew_ticks_per_lot * position;
        let mid_x2 = quote.mid_x2();
        let (mid_down, mid_up) = (mid_x2.div_euclid(2), (mid_x2 + 1).div_euclid(2));
        let bid = mid_down - p.half_spread_ticks - skew;
        let ask = mid_up + p.half_spread_ticks - skew;
        let bid_qty = ctx.openable(instrument, Side::Buy, Qty(p.qty));
        let ask_qty = ctx.openable(instrument, Side::Sell, Qty(p.qty));
        let bid = (bid_qty.0 > 0 && position + p.qty <= p.max_position && bid >= 1)
            .then_some((Price(bid), bid_qty));
        let ask = (ask_qty.0 > 0 && position - p.qty >= -p.max_position && ask >= 1)
            .then_some((Price(ask), ask_qty));
        Self::requote(&mut book.bid, instrument, Side::Buy, bid, p, out);
        Self::requote(&mut book.ask, instrument, Side::Sell, ask, p, out);
    }

    fn on_report(&mut self, report: &ExecReport, _: &Context<'_>, _: &mut Intents) {
        if !report.is_final() {
            return;
        }
        if let Some(book) = self.books.get_mut(report.instrument.index()) {
            for slot in [&mut book.bid, &mut book.ask] {
                if slot.is_some_and(|r| r.id == report.id) {
                    *slot = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ExecKind, Intent, NewOrder};
    use crate::risk::TradingState;

    fn instruments() -> Instruments {
        super::super::one_instrument("100")
    }

    fn params() -> MarketMakerParams {
        MarketMakerParams {
            half_spread_ticks: 2,
            qty: 1,
            skew_ticks_per_lot: 1,
            max_position: 2,
            requote_ticks: 1,
        }
    }

    fn quote(bid: i64, ask: i64) -> Quote {
        Quote {
            instrument: InstrumentId(0),
            bid: Price(bid),
            ask: Price(ask),
            ..Quote::default()
        }
    }

    fn on_quote(mm: &mut MarketMaker, q: Quote, position: i64) -> Vec<Intent> {
        let positions = [Qty(position)];
        in_context(mm, q, &super::super::active(&positions))
    }

    fn in_context(mm: &mut MarketMaker, q: Quote, ctx: &Context<'_>) -> Vec<Intent> {
        let mut out = Intents::with_capacity(8);
        mm.on_quote(&q, ctx, &mut out);
        out.drain().collect()
    }

    fn new_orders(intents: &[Intent]) -> Vec<(Side, i64)> {
        intents
            .iter()
            .filter_map(|i| match i {
                Intent::New(NewOrder { side, price, .. }) => Some((*side, price.0)),
                Intent::Cancel(_) => None,
            })
            .collect()
    }

    #[test]
    fn quotes_both_sides_around_the_mid_and_skews_against_inventory() {
        let mut mm = MarketMaker::new(params(), &instruments()).unwrap();
        let flat = on_quote(&mut mm, quote(100, 102), 0);
        assert_eq!(new_orders(&flat), [(Side::Buy, 99), (Side::Sell, 103)]);
        let mut long = MarketMaker::new(params(), &instruments()).unwrap();
        let skewed = on_quote(&mut long, quote(100, 102), 1);
        assert_eq!(new_orders(&skewed), [(Side::Buy, 98), (Side::Sell, 102)]);
    }

    #[test]
    fn replaces_a_quote_only_when_its_target_moves() {
        let mut mm = MarketMaker::new(params(), &instruments()).unwrap();
        let first = on_quote(&mut mm, quote(100, 102), 0);
        assert!(
            on_quote(&mut mm, quote(100, 102), 0).is_empty(),
            "nothing moved"
        );
        let moved = on_quote(&mut mm, quote(101, 103), 0);
        let Intent::New(old_bid) = first[0] else {
            panic!()
        };
        assert_eq!(moved[0], Intent::Cancel(old_bid.id), "cancel, then replace");
        assert_eq!(new_orders(&moved), [(Side::Buy, 100), (Side::Sell, 104)]);
    }

    #[test]
    fn withdraws_the_side_that_would_pass_the_limit() {
        let mut mm = MarketMaker::new(params(), &instruments()).unwrap();
        let at_limit = on_quote(&mut mm, quote(100, 102), 2);
        assert_eq!(new_orders(&at_limit), [(Side::Sell, 101)]);
    }

    fn cancels(intents: &[Intent]) -> usize {
        intents
            .iter()
            .filter(|i| matches!(i, Intent::Cancel(_)))
            .count()
    }

    fn context(positions: &[Qty], state: TradingState, venue_up: bool) -> Context<'_> {
        Context {
            state,
            venue_up,
            ..super::super::active(positions)
        }
    }

    #[test]
    fn halted_it_withdraws_its_quotes_and_places_none() {
        let mut mm = MarketMaker::new(params(), &instruments()).unwrap();
        assert_eq!(new_orders(&on_quote(&mut mm, quote(100, 102), 0)).len(), 2);
        let flat = [Qty(0)];
        let halted = context(&flat, TradingState::Halted, true);
        let withdrawn = in_context(&mut mm, quote(100, 102), &halted);
        assert_eq!((cancels(&withdrawn), new_orders(&withdrawn).len()), (2, 0));
        assert!(in_context(&mut mm, quote(105, 107), &halted).is_empty());
        let back = on_quote(&mut mm, quote(100, 102), 0);
        assert_eq!(new_orders(&back), [(Side::Buy, 99), (Side::Sell, 103)]);
    }

    #[test]
    fn reduce_only_it_quotes_the_shrinking_side_no_larger_than_the_position() {
        let mut p = params();
        p.qty = 3;
        p.max_position = 5;
        let mut mm = MarketMaker::new(p, &instruments()).unwrap();
        let long = [Qty(2)];
        let reducing = context(&long, TradingState::ReduceOnly, true);
        let intents = in_context(&mut mm, quote(100, 102), &reducing);
        let asks: Vec<_> = intents
            .iter()
            .filter_map(|i| match i {
                Intent::New(o) => Some((o.side, o.qty)),
                Intent::Cancel(_) => None,
            })
            .collect();
        assert_eq!(asks, [(Side::Sell, Qty(2))], "a sell of what it holds");
        let mut flat_mm = MarketMaker::new(p, &instruments()).unwrap();
        let flat = [Qty(0)];
        let nothing = context(&flat, TradingState::ReduceOnly, true);
        assert!(in_context(&mut flat_mm, quote(100, 102), &nothing).is_empty());
    }

    #[test]
    fn while_the_venue_is_down_it_leaves_its_quotes_alone() {
        let mut mm = MarketMaker::new(params(), &instruments()).unwrap();
        let first = on_quote(&mut mm, quote(100, 102), 0);
        let flat = [Qty(0)];
        let down = context(&flat, TradingState::Active, false);
        assert!(
            in_context(&mut mm, quote(110, 112), &down).is_empty(),
            "no cancel could go out, and no order"
        );
        let up = on_quote(&mut mm, quote(110, 112), 0);
        let Intent::New(old_bid) = first[0] else {
            panic!()
        };
        assert_eq!(up[0], Intent::Cancel(old_bid.id), "the old quote, replaced");
        assert_eq!(cancels(&up), 2);
    }

    #[test]
    fn a_filled_quote_is_placed_again() {
        let mut mm = MarketMaker::new(params(), &instruments()).unwrap();
        let first = on_quote(&mut mm, quote(100, 102), 0);
        let Intent::New(bid) = first[0] else { panic!() };
        let fill = ExecReport {
            id: bid.id,
            instrument: bid.instrument,
            side: Side::Buy,
            kind: ExecKind::Fill,
            price: bid.price,
            filled: Qty(1),
            leaves: Qty(0),
        };
        let positions = [Qty(1)];
        let ctx = super::super::active(&positions);
        mm.on_report(&fill, &ctx, &mut Intents::with_capacity(1));
        let next = on_quote(&mut mm, quote(100, 102), 1);
        // The bid is placed anew (skewed); the ask is replaced for the skew.
        assert!(new_orders(&next).contains(&(Side::Buy, 98)), "{next:?}");
    }
}
