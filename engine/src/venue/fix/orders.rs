//! Orders in FIX 4.4 terms: a [`NewOrder`] as a NewOrderSingle(D), a
//! cancel as an OrderCancelRequest(F), and an ExecutionReport(8) or
//! OrderCancelReject(9) back as an [`ExecReport`]. Prices and quantities
//! go out as decimals (ticks times the tick size, lots times the lot
//! size) and come back as ticks and lots.
//!
//! ClOrdID(11) of an order is its [`ClientOrderId`] in decimal; that of
//! its n-th cancel request is the id, `c` and n (`42c1`), so every request
//! has an id of its own and each names its order. A report names its
//! order by OrigClOrdID(41) when it has one, else by ClOrdID(11): the
//! digits before any `c`.
//!
//! No allocation after [`OrderCodec::new`], no `core::fmt`.

use super::frame::Message;
use super::value::{read_decimal, read_uint, write_uint, MAX_UINT_DIGITS};
use super::writer::MessageWriter;
use super::{msg_type, tag};
use crate::domain::{
    ClientOrderId, Decimal, ExecKind, ExecReport, InstrumentId, Instruments, Intent, NewOrder,
    Price, Qty, Reject, Side, TimeInForce,
};

/// Extra fractional digits a venue's price may have past the tick's, for
/// a fill at an improved price; such a price is rounded to the nearest
/// tick (and counted by the gateway).
const SUB_TICK_DIGITS: u32 = 3;

/// An instrument's terms on the wire.
#[derive(Debug, Clone)]
pub(super) struct Lane {
    pub(super) symbol: Box<[u8]>,
    /// The tick size as `tick_units / 10^tick_scale`.
    tick_units: i64,
    tick_scale: u32,
    /// The lot size as `lot_units / 10^lot_scale`.
    pub(super) lot_units: i64,
    pub(super) lot_scale: u32,
}

/// Why a report from the venue cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportError {
    /// A field it needs is missing.
    Missing(u32),
    /// A field's value is not what FIX allows there (or not a whole
    /// number of lots).
    BadValue(u32),
    /// A Symbol(55) no configured instrument has.
    UnknownSymbol,
}

impl ReportError {
    /// The tag involved, if any, and words for logs.
    pub fn describe(self) -> (Option<u32>, &'static str) {
        match self {
            ReportError::Missing(t) => (Some(t), "a report without a field it needs"),
            ReportError::BadValue(t) => (Some(t), "a report with a value FIX does not allow"),
            ReportError::UnknownSymbol => (Some(tag::SYMBOL), "a report of an unknown symbol"),
        }
    }
}

/// A report read, and whether its price was off the tick grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// The report.
    pub report: ExecReport,
    /// Its price was between ticks and is rounded to the nearest.
    pub off_tick: bool,
}

/// Writes and reads orders for the configured instruments.
#[derive(Debug, Clone)]
pub struct OrderCodec {
    lanes: Box<[Lane]>,
}

/// `value` as `units / 10^scale` with the smallest scale that holds it
/// exactly in an `i64`.
fn units_of(value: Decimal) -> Option<(i64, u32)> {
    (0..=crate::domain::MAX_SCALE).find_map(|scale| {
        let units = value.to_units(scale)?;
        Some((i64::try_from(units).ok()?, scale))
    })
}

impl OrderCodec {
    /// A codec for `instruments`.
    ///
    /// # Errors
    ///
    /// The symbol of an instrument whose tick or lot size cannot be
    /// written exactly (more than 18 fractional digits).
    pub fn new(instruments: &Instruments) -> Result<OrderCodec, String> {
        let lanes = instruments
            .iter()
            .map(|i| {
                let (tick_units, tick_scale) = units_of(i.spec.tick_size).ok_or(&i.spec.symbol)?;
                let (lot_units, lot_scale) = units_of(i.spec.lot_size).ok_or(&i.spec.symbol)?;
                Ok(Lane {
                    symbol: i.spec.symbol.as_bytes().into(),
                    tick_units,
                    tick_scale,
                    lot_units,
                    lot_scale,
                })
            })
            .collect::<Result<_, &String>>()
            .map_err(Clone::clone)?;
        Ok(OrderCodec { lanes })
    }

    pub(super) fn lane(&self, instrument: InstrumentId) -> &Lane {
        &self.lanes[instrument.index()]
    }

    /// The instrument a message's Symbol(55) names: its index and lane.
    pub(super) fn instrument_of(&self, message: &Message) -> Result<(usize, &Lane), ReportError> {
        let symbol = required(message, tag::SYMBOL)?;
        self.lanes
            .iter()
            .enumerate()
            .find(|(_, lane)| &lane.symbol[..] == symbol)
            .ok_or(ReportError::UnknownSymbol)
    }

    /// The body of a NewOrderSingle for `order`, sent at `unix_ns`.
    pub fn new_order(&self, order: &NewOrder, unix_ns: u64, w: &mut MessageWriter) {
        let lane = self.lane(order.instrument);
        w.uint(tag::CL_ORD_ID, order.id.0)
            .field(tag::SYMBOL, &lane.symbol)
            .field(tag::SIDE, side_code(order.side))
            .timestamp(tag::TRANSACT_TIME, unix_ns)
            .decimal(
                tag::ORDER_QTY,
                order.qty.0.saturating_mul(lane.lot_units),
                lane.lot_scale,
            )
            .field(tag::ORD_TYPE, b"2")
            .decimal(
                tag::PRICE,
                order.price.0.saturating_mul(lane.tick_units),
                lane.tick_scale,
            )
            .field(
                tag::TIME_IN_FORCE,
                match order.tif {
                    TimeInForce::Limit => b"0",
                    TimeInForce::Ioc => b"3",
                },
            );
    }

    /// The body of the `attempt`-th OrderCancelRequest (from 1) of
    /// `order`, sent at `unix_ns`.
    pub fn cancel(&self, order: &NewOrder, attempt: u32, unix_ns: u64, w: &mut MessageWriter) {
        let lane = self.lane(order.instrument);
        let mut id = [0u8; 2 * MAX_UINT_DIGITS + 1];
        let mut n = write_uint(&mut id, order.id.0);
        id[n] = b'c';
        n += 1;
        n += write_uint(&mut id[n..], u64::from(attempt));
        w.uint(tag::ORIG_CL_ORD_ID, order.id.0)
            .field(tag::CL_ORD_ID, &id[..n])
            .field(tag::SYMBOL, &lane.symbol)
            .field(tag::SIDE, side_code(order.side))
            .timestamp(tag::TRANSACT_TIME, unix_ns)
            .decimal(
                tag::ORDER_QTY,
                order.qty.0.saturating_mul(lane.lot_units),
                lane.lot_scale,
            );
    }

    /// Reads an ExecutionReport or OrderCancelReject; `Ok(None)` for one
    /// that moves nothing (pending new or cancel, restated, a status).
    /// A cancel reject names no instrument or side: those of the report
    /// are the defaults, for the gateway to fill from the order.
    ///
    /// # Errors
    ///
    /// When a field the report needs is missing or malformed.
    pub fn report(&self, message: &Message) -> Result<Option<Read>, ReportError> {
        if message.msg_type() == msg_type::EXECUTION_REPORT
            && message.get(tag::EXEC_TYPE) == Some(b"I")
        {
            // An order status moves nothing (see `order_status`), even one
            // that names no order.
            return Ok(None);
        }
        let id = order_id(message)?;
        if message.msg_type() == msg_type::ORDER_CANCEL_REJECT {
            let reason = match message.get(tag::CXL_REJ_REASON) {
                // Too late to cancel, or unknown: the order is done.
                Some(b"0" | b"1") => Reject::UnknownOrder,
                _ => Reject::VenueRejected,
            };
            return Ok(Some(Read {
                report: ExecReport {
                    id,
                    instrument: InstrumentId::default(),
                    side: Side::Buy,
                    kind: ExecKind::CancelRejected(reason),
                    price: Price(0),
                    filled: Qty(0),
                    leaves: Qty(0),
                },
                off_tick: false,
            }));
        }
        let (index, lane) = self.instrument_of(message)?;
        let side = side_of(message)?;
        let leaves = lots(lane, message, tag::LEAVES_QTY)?;
        let (kind, price_tag, filled) = match required(message, tag::EXEC_TYPE)? {
            b"0" => (ExecKind::Ack, tag::PRICE, Qty(0)),
            b"F" => {
                let kind = if leaves.0 == 0 {
                    ExecKind::Fill
                } else {
                    ExecKind::PartialFill
                };
                (kind, tag::LAST_PX, lots(lane, message, tag::LAST_QTY)?)
            }
            // Cancelled, expired, done for the day: nothing more of it.
            b"4" | b"C" | b"3" => (ExecKind::Cancelled, tag::PRICE, Qty(0)),
            b"8" => {
                let reason = match message.get(tag::ORD_REJ_REASON) {
                    Some(b"6") => Reject::DuplicateOrderId,
                    Some(b"5") => Reject::UnknownOrder,
                    _ => Reject::VenueRejected,
                };
                (ExecKind::Rejected(reason), tag::PRICE, Qty(0))
            }
            // Pending new or cancel, restated, an order status, replaced.
            b"A" | b"6" | b"D" | b"I" | b"5" | b"E" => return Ok(None),
            _ => return Err(ReportError::BadValue(tag::EXEC_TYPE)),
        };
        if filled.0 <= 0 && matches!(kind, ExecKind::Fill | ExecKind::PartialFill) {
            return Err(ReportError::BadValue(tag::LAST_QTY));
        }
        let (price, off_tick) = match message.get(price_tag) {
            Some(value) => ticks(lane, value).ok_or(ReportError::BadValue(price_tag))?,
            None if price_tag == tag::LAST_PX => return Err(ReportError::Missing(price_tag)),
            None => (Price(0), false),
        };
        Ok(Some(Read {
            report: ExecReport {
                id,
                instrument: InstrumentId(index as u16),
                side,
                kind,
                price,
                filled,
                leaves,
            },
            off_tick,
        }))
    }
}

/// The venue's side of the same terms, for a stand-in venue: orders read
/// and reports written.
impl OrderCodec {
    /// Reads a NewOrderSingle or OrderCancelRequest as the intent it
    /// carries; a cancel names its order by OrigClOrdID.
    ///
    /// # Errors
    ///
    /// When a field is missing or malformed, or the price is off the tick.
    pub fn intent(&self, message: &Message) -> Result<Intent, ReportError> {
        if message.msg_type() == msg_type::ORDER_CANCEL_REQUEST {
            return Ok(Intent::Cancel(order_id(message)?));
        }
        let id = read_uint(required(message, tag::CL_ORD_ID)?)
            .map(ClientOrderId)
            .ok_or(ReportError::BadValue(tag::CL_ORD_ID))?;
        let (index, lane) = self.instrument_of(message)?;
        let side = side_of(message)?;
        let price = match ticks(lane, required(message, tag::PRICE)?) {
            Some((price, false)) => price,
            _ => return Err(ReportError::BadValue(tag::PRICE)),
        };
        let tif = match message.get(tag::TIME_IN_FORCE) {
            None | Some(b"0" | b"1") => TimeInForce::Limit,
            Some(b"3") => TimeInForce::Ioc,
            Some(_) => return Err(ReportError::BadValue(tag::TIME_IN_FORCE)),
        };
        Ok(Intent::New(NewOrder {
            id,
            instrument: InstrumentId(index as u16),
            side,
            price,
            qty: lots(lane, message, tag::ORDER_QTY)?,
            tif,
        }))
    }

    /// The body of the ExecutionReport (or, for a refused cancel, the
    /// OrderCancelReject) that tells of `report`, numbered `exec_id`; the
    /// message type to send it as comes first.
    pub fn report_body(
        &self,
        report: &ExecReport,
        exec_id: u64,
        unix_ns: u64,
        w: &mut MessageWriter,
    ) {
        if let ExecKind::CancelRejected(reason) = report.kind {
            w.uint(tag::CL_ORD_ID, report.id.0)
                .uint(tag::ORIG_CL_ORD_ID, report.id.0)
                .uint(tag::ORDER_ID, report.id.0)
                .field(tag::ORD_STATUS, b"8")
                .field(tag::CXL_REJ_RESPONSE_TO, b"1")
                .field(
                    tag::CXL_REJ_REASON,
                    if reason == Reject::UnknownOrder {
                        b"1"
                    } else {
                        b"99"
                    },
                );
            return;
        }
        let lane = self.lane(report.instrument);
        let (exec_type, status): (&[u8], &[u8]) = match report.kind {
            ExecKind::Ack => (b"0", b"0"),
            ExecKind::PartialFill => (b"F", b"1"),
            ExecKind::Fill => (b"F", b"2"),
            ExecKind::Cancelled => (b"4", b"4"),
            ExecKind::Rejected(_) | ExecKind::CancelRejected(_) => (b"8", b"8"),
        };
        w.uint(tag::ORDER_ID, report.id.0)
            .uint(tag::CL_ORD_ID, report.id.0)
            .uint(tag::EXEC_ID, exec_id)
            .field(tag::EXEC_TYPE, exec_type)
            .field(tag::ORD_STATUS, status)
            .field(tag::SYMBOL, &lane.symbol)
            .field(tag::SIDE, side_code(report.side))
            .decimal(
                tag::LEAVES_QTY,
                report.leaves.0.saturating_mul(lane.lot_units),
                lane.lot_scale,
            )
            .timestamp(tag::TRANSACT_TIME, unix_ns);
        let price = report.price.0.saturating_mul(lane.tick_units);
        if matches!(report.kind, ExecKind::Fill | ExecKind::PartialFill) {
            w.decimal(tag::LAST_PX, price, lane.tick_scale).decimal(
                tag::LAST_QTY,
                report.filled.0.saturating_mul(lane.lot_units),
                lane.lot_scale,
            );
        } else {
            w.decimal(tag::PRICE, price, lane.tick_scale);
        }
        if let ExecKind::Rejected(reason) = report.kind {
            w.field(tag::ORD_REJ_REASON, b"99")
                .field(tag::TEXT, reason.code().as_bytes());
        }
    }

    /// The message type [`OrderCodec::report_body`] writes for `report`.
    pub fn report_type(report: &ExecReport) -> &'static [u8] {
        match report.kind {
            ExecKind::CancelRejected(_) => msg_type::ORDER_CANCEL_REJECT,
            _ => msg_type::EXECUTION_REPORT,
        }
    }
}

pub(super) fn side_code(side: Side) -> &'static [u8] {
    match side {
        Side::Buy => b"1",
        Side::Sell => b"2",
    }
}

/// Side(54): 1 buy, 2 sell.
pub(super) fn side_of(message: &Message) -> Result<Side, ReportError> {
    match required(message, tag::SIDE)? {
        b"1" => Ok(Side::Buy),
        b"2" => Ok(Side::Sell),
        _ => Err(ReportError::BadValue(tag::SIDE)),
    }
}

pub(super) fn required<'a>(message: &Message<'a>, t: u32) -> Result<&'a [u8], ReportError> {
    message.get(t).ok_or(ReportError::Missing(t))
}

/// The order a report is of: OrigClOrdID if there is one, else ClOrdID,
/// up to any `c`.
pub(super) fn order_id(message: &Message) -> Result<ClientOrderId, ReportError> {
    let (t, value) = match message.get(tag::ORIG_CL_ORD_ID) {
        Some(value) => (tag::ORIG_CL_ORD_ID, value),
        None => (tag::CL_ORD_ID, required(message, tag::CL_ORD_ID)?),
    };
    let digits = value.split(|&b| b == b'c').next().unwrap_or_default();
    read_uint(digits)
        .map(ClientOrderId)
        .ok_or(ReportError::BadValue(t))
}

/// A quantity field as lots; it must be a whole number of them.
pub(super) fn lots(lane: &Lane, message: &Message, t: u32) -> Result<Qty, ReportError> {
    let units = read_decimal(required(message, t)?, lane.lot_scale)
        .filter(|&u| u >= 0 && u % lane.lot_units == 0)
        .ok_or(ReportError::BadValue(t))?;
    Ok(Qty(units / lane.lot_units))
}

/// A price as ticks, rounded to the nearest when it lies between them
/// (by at most [`SUB_TICK_DIGITS`] more digits than the tick has).
fn ticks(lane: &Lane, value: &[u8]) -> Option<(Price, bool)> {
    if let Some(units) = read_decimal(value, lane.tick_scale) {
        let off = units % lane.tick_units != 0;
        return Some((Price(round_div(units, lane.tick_units)), off));
    }
    let scale = lane.tick_scale + SUB_TICK_DIGITS;
    let tick = lane.tick_units.checked_mul(10i64.pow(SUB_TICK_DIGITS))?;
    let units = read_decimal(value, scale)?;
    Some((Price(round_div(units, tick)), true))
}

/// `a / b` rounded to the nearest, halves away from zero; `b` positive.
fn round_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    let r = a % b;
    if 2 * r.abs() >= b {
        q + a.signum()
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::scan;
    use super::*;
    use crate::domain::InstrumentSpec;

    fn instruments() -> Instruments {
        let spec = |symbol: &str, tick: &str, lot: &str| InstrumentSpec {
            symbol: symbol.into(),
            tick_size: tick.parse().unwrap(),
            lot_size: lot.parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        };
        Instruments::new(&[spec("ESZ6", "0.25", "1"), spec("BTC-USD", "0.01", "0.001")]).unwrap()
    }

    fn body(write: impl FnOnce(&mut MessageWriter)) -> String {
        let mut w = MessageWriter::default();
        w.begin(msg_type::NEW_ORDER_SINGLE);
        write(&mut w);
        let bytes = w.finish().unwrap().to_vec();
        assert_eq!(scan(&bytes), Ok(Some(bytes.len())));
        String::from_utf8(bytes).unwrap().replace('\x01', "|")
    }

    fn read(fields: &[(u32, &str)]) -> Result<Option<Read>, ReportError> {
        let kind = if fields.iter().any(|&(t, _)| t == tag::CXL_REJ_RESPONSE_TO) {
            msg_type::ORDER_CANCEL_REJECT
        } else {
            msg_type::EXECUTION_REPORT
        };
        let mut w = MessageWriter::default();
        w.begin(kind);
        for &(t, value) in fields {
            w.field(t, value.as_bytes());
        }
        let bytes = w.finish().unwrap().to_vec();
        let codec = OrderCodec::new(&instruments()).unwrap();
        codec.report(&Message::parse(&bytes).unwrap())
    }

    const NOW: u64 = 1_796_307_572_123_000_000;

    #[test]
    fn a_new_order_goes_out_in_decimals() {
        let codec = OrderCodec::new(&instruments()).unwrap();
        let order = NewOrder {
            id: ClientOrderId(42),
            instrument: InstrumentId(0),
            side: Side::Buy,
            price: Price(24_001),
            qty: Qty(3),
            tif: TimeInForce::Limit,
        };
        let text = body(|w| codec.new_order(&order, NOW, w));
        assert!(
            text.contains(
                "|11=42|55=ESZ6|54=1|60=20261203-14:19:32.123|38=3|40=2|44=6000.25|59=0|"
            ),
            "{text}"
        );
        let order = NewOrder {
            id: ClientOrderId(43),
            instrument: InstrumentId(1),
            side: Side::Sell,
            price: Price(6_543_210),
            qty: Qty(1_500),
            tif: TimeInForce::Ioc,
        };
        let text = body(|w| codec.new_order(&order, NOW, w));
        assert!(
            text.contains("|11=43|55=BTC-USD|54=2|")
                && text.contains("|38=1.500|40=2|44=65432.10|59=3|"),
            "{text}"
        );
        let text = body(|w| codec.cancel(&order, 2, NOW, w));
        assert!(
            text.contains("|41=43|11=43c2|55=BTC-USD|54=2|60=20261203-14:19:32.123|38=1.500|"),
            "{text}"
        );
    }

    #[test]
    fn reports_read_back_in_ticks_and_lots() {
        let fill = read(&[
            (tag::CL_ORD_ID, "43"),
            (tag::SYMBOL, "BTC-USD"),
            (tag::SIDE, "2"),
            (tag::EXEC_TYPE, "F"),
            (tag::ORD_STATUS, "1"),
            (tag::LAST_PX, "65432.1"),
            (tag::LAST_QTY, "0.5"),
            (tag::LEAVES_QTY, "1.000"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            fill.report,
            ExecReport {
                id: ClientOrderId(43),
                instrument: InstrumentId(1),
                side: Side::Sell,
                kind: ExecKind::PartialFill,
                price: Price(6_543_210),
                filled: Qty(500),
                leaves: Qty(1_000),
            }
        );
        assert!(!fill.off_tick);
        let ack = read(&[
            (tag::CL_ORD_ID, "42"),
            (tag::SYMBOL, "ESZ6"),
            (tag::SIDE, "1"),
            (tag::EXEC_TYPE, "0"),
            (tag::PRICE, "6000.25"),
            (tag::LEAVES_QTY, "3"),
        ])
        .unwrap()
        .unwrap()
        .report;
        assert_eq!(
            (ack.kind, ack.price, ack.leaves),
            (ExecKind::Ack, Price(24_001), Qty(3))
        );
        // A cancel's report names the order by OrigClOrdID.
        let cancelled = read(&[
            (tag::CL_ORD_ID, "42c1"),
            (tag::ORIG_CL_ORD_ID, "42"),
            (tag::SYMBOL, "ESZ6"),
            (tag::SIDE, "1"),
            (tag::EXEC_TYPE, "4"),
            (tag::LEAVES_QTY, "0"),
        ])
        .unwrap()
        .unwrap()
        .report;
        assert_eq!(
            (cancelled.id, cancelled.kind),
            (ClientOrderId(42), ExecKind::Cancelled)
        );
        let refused = read(&[
            (tag::CL_ORD_ID, "44"),
            (tag::SYMBOL, "ESZ6"),
            (tag::SIDE, "1"),
            (tag::EXEC_TYPE, "8"),
            (tag::ORD_REJ_REASON, "3"),
            (tag::LEAVES_QTY, "0"),
        ])
        .unwrap()
        .unwrap()
        .report;
        assert_eq!(refused.kind, ExecKind::Rejected(Reject::VenueRejected));
        let too_late = read(&[
            (tag::CL_ORD_ID, "42c2"),
            (tag::ORIG_CL_ORD_ID, "42c1"),
            (tag::CXL_REJ_RESPONSE_TO, "1"),
            (tag::CXL_REJ_REASON, "0"),
        ])
        .unwrap()
        .unwrap()
        .report;
        assert_eq!(
            (too_late.id, too_late.kind),
            (
                ClientOrderId(42),
                ExecKind::CancelRejected(Reject::UnknownOrder)
            )
        );
        let pending = read(&[
            (tag::CL_ORD_ID, "42"),
            (tag::SYMBOL, "ESZ6"),
            (tag::SIDE, "1"),
            (tag::EXEC_TYPE, "A"),
            (tag::LEAVES_QTY, "3"),
        ]);
        assert_eq!(pending, Ok(None));
    }

    /// What redline writes, the venue's side reads back; and what the
    /// venue's side writes, redline reads back.
    #[test]
    fn both_sides_read_what_the_other_writes() {
        let codec = OrderCodec::new(&instruments()).unwrap();
        let order = NewOrder {
            id: ClientOrderId(43),
            instrument: InstrumentId(1),
            side: Side::Sell,
            price: Price(6_543_210),
            qty: Qty(1_500),
            tif: TimeInForce::Ioc,
        };
        let message = |kind: &[u8], write: &dyn Fn(&mut MessageWriter)| {
            let mut w = MessageWriter::default();
            w.begin(kind);
            write(&mut w);
            w.finish().unwrap().to_vec()
        };
        let bytes = message(msg_type::NEW_ORDER_SINGLE, &|w| {
            codec.new_order(&order, NOW, w)
        });
        assert_eq!(
            codec.intent(&Message::parse(&bytes).unwrap()),
            Ok(Intent::New(order))
        );
        let bytes = message(msg_type::ORDER_CANCEL_REQUEST, &|w| {
            codec.cancel(&order, 1, NOW, w)
        });
        assert_eq!(
            codec.intent(&Message::parse(&bytes).unwrap()),
            Ok(Intent::Cancel(order.id))
        );
        let report = |kind, filled, leaves| ExecReport {
            id: order.id,
            instrument: order.instrument,
            side: order.side,
            kind,
            price: order.price,
            filled: Qty(filled),
            leaves: Qty(leaves),
        };
        for sent in [
            report(ExecKind::Ack, 0, 1_500),
            report(ExecKind::PartialFill, 500, 1_000),
            report(ExecKind::Fill, 1_000, 0),
            report(ExecKind::Cancelled, 0, 0),
            report(ExecKind::Rejected(Reject::VenueRejected), 0, 0),
        ] {
            let bytes = message(OrderCodec::report_type(&sent), &|w| {
                codec.report_body(&sent, 7, NOW, w)
            });
            let read = codec
                .report(&Message::parse(&bytes).unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(read.report, sent);
        }
        let refused = ExecReport {
            kind: ExecKind::CancelRejected(Reject::UnknownOrder),
            ..report(ExecKind::Ack, 0, 0)
        };
        let bytes = message(OrderCodec::report_type(&refused), &|w| {
            codec.report_body(&refused, 8, NOW, w)
        });
        let read = codec
            .report(&Message::parse(&bytes).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!((read.report.id, read.report.kind), (order.id, refused.kind));
    }

    #[test]
    fn an_improved_price_is_rounded_to_a_tick_and_said_so() {
        let fill = |px: &str| {
            read(&[
                (tag::CL_ORD_ID, "42"),
                (tag::SYMBOL, "ESZ6"),
                (tag::SIDE, "1"),
                (tag::EXEC_TYPE, "F"),
                (tag::LAST_PX, px),
                (tag::LAST_QTY, "1"),
                (tag::LEAVES_QTY, "0"),
            ])
            .unwrap()
            .unwrap()
        };
        let exact = fill("6000.250");
        assert_eq!((exact.report.price, exact.off_tick), (Price(24_001), false));
        let between = fill("6000.37");
        assert_eq!(
            (between.report.price, between.off_tick),
            (Price(24_001), true)
        );
        let nearer_up = fill("6000.376");
        assert_eq!(
            (nearer_up.report.price, nearer_up.off_tick),
            (Price(24_002), true)
        );
        assert_eq!(nearer_up.report.kind, ExecKind::Fill);
    }

    #[test]
    fn a_malformed_report_names_its_field() {
        let base = [
            (tag::CL_ORD_ID, "42"),
            (tag::SYMBOL, "ESZ6"),
            (tag::SIDE, "1"),
            (tag::EXEC_TYPE, "F"),
            (tag::LAST_PX, "6000.25"),
            (tag::LAST_QTY, "1"),
            (tag::LEAVES_QTY, "0"),
        ];
        let with = |t: u32, value: Option<&'static str>| {
            let fields: Vec<_> = base
                .iter()
                .filter_map(|&(bt, bv)| {
                    if bt == t {
                        value.map(|v| (bt, v))
                    } else {
                        Some((bt, bv))
                    }
                })
                .collect();
            read(&fields)
        };
        assert!(with(0, None).unwrap().is_some(), "the base reads");
        assert_eq!(
            with(tag::CL_ORD_ID, None),
            Err(ReportError::Missing(tag::CL_ORD_ID))
        );
        assert_eq!(
            with(tag::CL_ORD_ID, Some("x1")),
            Err(ReportError::BadValue(tag::CL_ORD_ID))
        );
        assert_eq!(
            with(tag::SYMBOL, Some("NQZ6")),
            Err(ReportError::UnknownSymbol)
        );
        assert_eq!(
            with(tag::SIDE, Some("7")),
            Err(ReportError::BadValue(tag::SIDE))
        );
        assert_eq!(
            with(tag::EXEC_TYPE, Some("Z")),
            Err(ReportError::BadValue(tag::EXEC_TYPE))
        );
        assert_eq!(
            with(tag::LAST_PX, None),
            Err(ReportError::Missing(tag::LAST_PX))
        );
        assert_eq!(
            with(tag::LAST_PX, Some("abc")),
            Err(ReportError::BadValue(tag::LAST_PX))
        );
        assert_eq!(
            with(tag::LAST_QTY, Some("0")),
            Err(ReportError::BadValue(tag::LAST_QTY))
        );
        assert_eq!(
            with(tag::LEAVES_QTY, Some("-1")),
            Err(ReportError::BadValue(tag::LEAVES_QTY))
        );
        assert_eq!(
            with(tag::LEAVES_QTY, Some("0.5")),
            Err(ReportError::BadValue(tag::LEAVES_QTY))
        );
    }
}
