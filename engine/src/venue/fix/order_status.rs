//! The venue's word on its orders: an OrderMassStatusRequest(AF) asking
//! for the status of every order of the session (MassStatusReqType(585)
//! 7), and the ExecutionReports that answer it, ExecType(150) I (order
//! status), one an order, each naming the request in MassStatusReqID(584),
//! the last marked LastRptRequested(912) Y. An answer with
//! TotNumReports(911) 0 says there are none. The gateway asks at each
//! logon, when so configured, to check its open orders against the
//! venue's; a stand-in venue answers.
//!
//! No allocation, no `core::fmt`.

use super::frame::Message;
use super::orders::{lots, order_id, required, side_code, side_of, OrderCodec, ReportError};
use super::value::read_uint;
use super::writer::MessageWriter;
use super::{msg_type, tag};
use crate::domain::{ClientOrderId, InstrumentId, Qty, Side};

/// One answer to an OrderMassStatusRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderStatus {
    /// MassStatusReqID(584): the request it answers.
    pub request: u64,
    /// The order it tells of; `None` in an answer that says there are none.
    pub order: Option<StatusOf>,
    /// Whether it is the last answer to the request.
    pub last: bool,
}

/// An order as the venue holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusOf {
    /// Its ClOrdID.
    pub id: ClientOrderId,
    /// Its instrument.
    pub instrument: InstrumentId,
    /// Its side.
    pub side: Side,
    /// OrdStatus(39) as the venue sent it.
    pub ord_status: u8,
    /// Lots still open (LeavesQty(151)); 0 for an order that has ended.
    pub leaves: Qty,
    /// Lots filled (CumQty(14)).
    pub filled: Qty,
}

impl StatusOf {
    /// Whether the venue holds it open: OrdStatus new, partially filled,
    /// pending new, cancel or replace, stopped, suspended, or accepted for
    /// bidding; not filled, cancelled, expired, done for the day,
    /// rejected or calculated.
    pub fn is_live(&self) -> bool {
        matches!(
            self.ord_status,
            b'0' | b'1' | b'6' | b'7' | b'9' | b'A' | b'D' | b'E'
        )
    }
}

/// OrdStatus(39) values FIX 4.4 has.
const ORD_STATUSES: &[u8] = b"0123456789ABCDE";

impl OrderCodec {
    /// The body of an OrderMassStatusRequest for every order of the
    /// session, numbered `request`.
    pub fn mass_status_request(&self, request: u64, w: &mut MessageWriter) {
        w.uint(tag::MASS_STATUS_REQ_ID, request)
            .field(tag::MASS_STATUS_REQ_TYPE, b"7");
    }

    /// Reads an answer to an OrderMassStatusRequest; `Ok(None)` for any
    /// other message (an order status no request asked for included).
    ///
    /// # Errors
    ///
    /// When a field it needs is missing or malformed, or names no
    /// configured instrument.
    pub fn status(&self, message: &Message) -> Result<Option<OrderStatus>, ReportError> {
        if message.msg_type() != msg_type::EXECUTION_REPORT
            || message.get(tag::EXEC_TYPE) != Some(b"I")
        {
            return Ok(None);
        }
        let Some(request) = message.get(tag::MASS_STATUS_REQ_ID) else {
            return Ok(None);
        };
        let request = read_uint(request).ok_or(ReportError::BadValue(tag::MASS_STATUS_REQ_ID))?;
        let total = match message.get(tag::TOT_NUM_REPORTS) {
            Some(value) => {
                Some(read_uint(value).ok_or(ReportError::BadValue(tag::TOT_NUM_REPORTS))?)
            }
            None => None,
        };
        if total == Some(0) {
            return Ok(Some(OrderStatus {
                request,
                order: None,
                last: true,
            }));
        }
        let ord_status = match required(message, tag::ORD_STATUS)? {
            [status] if ORD_STATUSES.contains(status) => *status,
            _ => return Err(ReportError::BadValue(tag::ORD_STATUS)),
        };
        let id = order_id(message)?;
        let (index, lane) = self.instrument_of(message)?;
        Ok(Some(OrderStatus {
            request,
            order: Some(StatusOf {
                id,
                instrument: InstrumentId(index as u16),
                side: side_of(message)?,
                ord_status,
                leaves: lots(lane, message, tag::LEAVES_QTY)?,
                filled: lots(lane, message, tag::CUM_QTY)?,
            }),
            last: message.get(tag::LAST_RPT_REQUESTED) == Some(b"Y"),
        }))
    }

    /// For a stand-in venue: the body of the answer to request `request`
    /// that tells of `status`, the `nth` (from 1) of `total`, numbered
    /// `exec_id`; `None` (with `total` 0) for the one answer that says
    /// there are none.
    pub fn status_body(
        &self,
        request: u64,
        status: Option<&StatusOf>,
        (nth, total): (u64, u64),
        exec_id: u64,
        w: &mut MessageWriter,
    ) {
        w.uint(tag::MASS_STATUS_REQ_ID, request)
            .uint(tag::EXEC_ID, exec_id)
            .field(tag::EXEC_TYPE, b"I")
            .uint(tag::TOT_NUM_REPORTS, total)
            .field(
                tag::LAST_RPT_REQUESTED,
                if nth >= total { b"Y" } else { b"N" },
            );
        let Some(status) = status else {
            w.field(tag::ORD_STATUS, b"8");
            return;
        };
        let lane = self.lane(status.instrument);
        let lots = |qty: Qty| qty.0.saturating_mul(lane.lot_units);
        w.uint(tag::ORDER_ID, status.id.0)
            .uint(tag::CL_ORD_ID, status.id.0)
            .field(tag::ORD_STATUS, &[status.ord_status])
            .field(tag::SYMBOL, &lane.symbol)
            .field(tag::SIDE, side_code(status.side))
            .decimal(tag::LEAVES_QTY, lots(status.leaves), lane.lot_scale)
            .decimal(tag::CUM_QTY, lots(status.filled), lane.lot_scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InstrumentSpec, Instruments};

    fn codec() -> OrderCodec {
        let specs = [InstrumentSpec {
            symbol: "ESZ6".into(),
            tick_size: "0.25".parse().unwrap(),
            lot_size: "0.5".parse().unwrap(),
            multiplier: "1".parse().unwrap(),
            reference_price: "100".parse().unwrap(),
        }];
        OrderCodec::new(&Instruments::new(&specs).unwrap()).unwrap()
    }

    /// `body` written as an ExecutionReport and read back.
    fn read(body: impl FnOnce(&mut MessageWriter)) -> Result<Option<OrderStatus>, ReportError> {
        let mut w = MessageWriter::default();
        w.begin(msg_type::EXECUTION_REPORT)
            .uint(tag::MSG_SEQ_NUM, 3);
        body(&mut w);
        let bytes = w.finish().unwrap().to_vec();
        codec().status(&Message::parse(&bytes).unwrap())
    }

    #[test]
    fn an_answer_reads_back_as_the_stand_in_wrote_it() {
        let status = StatusOf {
            id: ClientOrderId(42),
            instrument: InstrumentId(0),
            side: Side::Sell,
            ord_status: b'1',
            leaves: Qty(3),
            filled: Qty(2),
        };
        assert!(status.is_live());
        let codec = codec();
        for (nth, last) in [(1, false), (2, true)] {
            let answer = read(|w| codec.status_body(7, Some(&status), (nth, 2), 9, w));
            assert_eq!(
                answer,
                Ok(Some(OrderStatus {
                    request: 7,
                    order: Some(status),
                    last,
                }))
            );
        }
        let none = read(|w| codec.status_body(8, None, (0, 0), 10, w));
        assert_eq!(
            none,
            Ok(Some(OrderStatus {
                request: 8,
                order: None,
                last: true,
            }))
        );
    }

    #[test]
    fn other_reports_are_no_answer_and_a_broken_answer_is_an_error() {
        // An order status no request asked for.
        assert_eq!(
            read(|w| {
                w.field(tag::EXEC_TYPE, b"I");
            }),
            Ok(None)
        );
        assert_eq!(
            read(|w| {
                w.field(tag::EXEC_TYPE, b"F")
                    .uint(tag::MASS_STATUS_REQ_ID, 1);
            }),
            Ok(None)
        );
        let broken = |ord_status: &'static [u8], leaves: &'static [u8]| {
            read(move |w| {
                w.uint(tag::MASS_STATUS_REQ_ID, 1)
                    .field(tag::EXEC_TYPE, b"I")
                    .uint(tag::CL_ORD_ID, 5)
                    .field(tag::ORD_STATUS, ord_status)
                    .field(tag::SYMBOL, b"ESZ6")
                    .field(tag::SIDE, b"1")
                    .field(tag::LEAVES_QTY, leaves)
                    .field(tag::CUM_QTY, b"0");
            })
        };
        assert!(matches!(broken(b"1", b"1.5"), Ok(Some(_))));
        assert_eq!(
            broken(b"Z", b"1"),
            Err(ReportError::BadValue(tag::ORD_STATUS))
        );
        assert_eq!(
            broken(b"0", b"0.3"),
            Err(ReportError::BadValue(tag::LEAVES_QTY)),
            "not a whole lot"
        );
    }

    #[test]
    fn the_request_asks_for_every_order() {
        let mut w = MessageWriter::default();
        w.begin(msg_type::ORDER_MASS_STATUS_REQUEST);
        codec().mass_status_request(12, &mut w);
        let bytes = w.finish().unwrap().to_vec();
        let message = Message::parse(&bytes).unwrap();
        assert_eq!(message.uint(tag::MASS_STATUS_REQ_ID), Some(12));
        assert_eq!(message.get(tag::MASS_STATUS_REQ_TYPE), Some(&b"7"[..]));
    }
}
