//! FIX 4.4 over TCP, for a venue's order entry: the tag=value wire format
//! (frames, fields, checksums), the messages and tags redline sends and
//! reads, and UTC timestamps in FIX's form. Nothing here allocates once its
//! buffers are made, and nothing formats text through `core::fmt`: the
//! gateway stage encodes and decodes on the hot path.
//!
//! The wire format, the session (logon, heartbeats, sequence numbers,
//! resends), orders in FIX terms, and the gateway that holds the
//! connection.

mod frame;
mod gateway;
mod link_stats;
mod order_status;
mod orders;
mod resend_store;
mod session;
mod session_file;
mod stand_in;
mod status_check;
mod time;
mod value;
mod writer;

pub use frame::{scan, FieldError, Fields, FrameError, Message};
pub use gateway::{FixConfig, FixVenue, SequenceNumbers};
pub use link_stats::{
    LinkCount, LinkEnd, LinkReport, LinkState, LinkStats, LINK_COUNTS, STATUS_MISMATCHES,
};
pub use order_status::{OrderStatus, StatusOf};
pub use orders::{OrderCodec, Read, ReportError};
pub use resend_store::ResendStore;
pub use session::{
    Credentials, End, NotSent, Now, OnResend, Session, SessionConfig, SessionCounts, State,
    Verdict, Wire,
};
pub use session_file::{HandedReport, OrdersLost, ReportsLost, SeqNumbers, SessionFile};
pub use stand_in::{StandInCounts, StandInVenue};
pub use time::{civil_from_days, utc_timestamp, TIMESTAMP_LEN};
pub use value::{read_decimal, read_uint, write_decimal, write_uint};
pub use writer::{MessageWriter, MAX_MESSAGE};

/// The field delimiter.
pub const SOH: u8 = 0x01;

/// BeginString(8) of every message.
pub const BEGIN_STRING: &[u8] = b"FIX.4.4";

/// The tags redline writes or reads.
pub mod tag {
    /// BeginString(8).
    pub const BEGIN_STRING: u32 = 8;
    /// BodyLength(9).
    pub const BODY_LENGTH: u32 = 9;
    /// CheckSum(10).
    pub const CHECKSUM: u32 = 10;
    /// MsgType(35).
    pub const MSG_TYPE: u32 = 35;
    /// MsgSeqNum(34).
    pub const MSG_SEQ_NUM: u32 = 34;
    /// SenderCompID(49).
    pub const SENDER_COMP_ID: u32 = 49;
    /// TargetCompID(56).
    pub const TARGET_COMP_ID: u32 = 56;
    /// SendingTime(52).
    pub const SENDING_TIME: u32 = 52;
    /// PossDupFlag(43).
    pub const POSS_DUP_FLAG: u32 = 43;
    /// OrigSendingTime(122).
    pub const ORIG_SENDING_TIME: u32 = 122;
    /// BeginSeqNo(7).
    pub const BEGIN_SEQ_NO: u32 = 7;
    /// EndSeqNo(16).
    pub const END_SEQ_NO: u32 = 16;
    /// NewSeqNo(36).
    pub const NEW_SEQ_NO: u32 = 36;
    /// GapFillFlag(123).
    pub const GAP_FILL_FLAG: u32 = 123;
    /// Username(553).
    pub const USERNAME: u32 = 553;
    /// Password(554).
    pub const PASSWORD: u32 = 554;
    /// TestReqID(112).
    pub const TEST_REQ_ID: u32 = 112;
    /// EncryptMethod(98).
    pub const ENCRYPT_METHOD: u32 = 98;
    /// HeartBtInt(108).
    pub const HEART_BT_INT: u32 = 108;
    /// ResetSeqNumFlag(141).
    pub const RESET_SEQ_NUM_FLAG: u32 = 141;
    /// RefSeqNum(45).
    pub const REF_SEQ_NUM: u32 = 45;
    /// RefTagID(371).
    pub const REF_TAG_ID: u32 = 371;
    /// Text(58).
    pub const TEXT: u32 = 58;
    /// ClOrdID(11).
    pub const CL_ORD_ID: u32 = 11;
    /// OrigClOrdID(41).
    pub const ORIG_CL_ORD_ID: u32 = 41;
    /// OrderID(37).
    pub const ORDER_ID: u32 = 37;
    /// ExecID(17).
    pub const EXEC_ID: u32 = 17;
    /// Symbol(55).
    pub const SYMBOL: u32 = 55;
    /// Side(54).
    pub const SIDE: u32 = 54;
    /// TransactTime(60).
    pub const TRANSACT_TIME: u32 = 60;
    /// OrderQty(38).
    pub const ORDER_QTY: u32 = 38;
    /// OrdType(40).
    pub const ORD_TYPE: u32 = 40;
    /// Price(44).
    pub const PRICE: u32 = 44;
    /// TimeInForce(59).
    pub const TIME_IN_FORCE: u32 = 59;
    /// ExecType(150).
    pub const EXEC_TYPE: u32 = 150;
    /// OrdStatus(39).
    pub const ORD_STATUS: u32 = 39;
    /// LeavesQty(151).
    pub const LEAVES_QTY: u32 = 151;
    /// CumQty(14).
    pub const CUM_QTY: u32 = 14;
    /// AvgPx(6).
    pub const AVG_PX: u32 = 6;
    /// LastPx(31).
    pub const LAST_PX: u32 = 31;
    /// LastQty(32).
    pub const LAST_QTY: u32 = 32;
    /// OrdRejReason(103).
    pub const ORD_REJ_REASON: u32 = 103;
    /// CxlRejResponseTo(434).
    pub const CXL_REJ_RESPONSE_TO: u32 = 434;
    /// CxlRejReason(102).
    pub const CXL_REJ_REASON: u32 = 102;
    /// MassStatusReqID(584).
    pub const MASS_STATUS_REQ_ID: u32 = 584;
    /// MassStatusReqType(585).
    pub const MASS_STATUS_REQ_TYPE: u32 = 585;
    /// TotNumReports(911).
    pub const TOT_NUM_REPORTS: u32 = 911;
    /// LastRptRequested(912).
    pub const LAST_RPT_REQUESTED: u32 = 912;
    /// RefMsgType(372).
    pub const REF_MSG_TYPE: u32 = 372;
}

/// The message types (MsgType(35)) redline writes or reads.
pub mod msg_type {
    /// Heartbeat.
    pub const HEARTBEAT: &[u8] = b"0";
    /// TestRequest.
    pub const TEST_REQUEST: &[u8] = b"1";
    /// ResendRequest.
    pub const RESEND_REQUEST: &[u8] = b"2";
    /// Reject (session level).
    pub const REJECT: &[u8] = b"3";
    /// SequenceReset.
    pub const SEQUENCE_RESET: &[u8] = b"4";
    /// Logout.
    pub const LOGOUT: &[u8] = b"5";
    /// Logon.
    pub const LOGON: &[u8] = b"A";
    /// NewOrderSingle.
    pub const NEW_ORDER_SINGLE: &[u8] = b"D";
    /// OrderCancelRequest.
    pub const ORDER_CANCEL_REQUEST: &[u8] = b"F";
    /// ExecutionReport.
    pub const EXECUTION_REPORT: &[u8] = b"8";
    /// OrderCancelReject.
    pub const ORDER_CANCEL_REJECT: &[u8] = b"9";
    /// OrderMassStatusRequest.
    pub const ORDER_MASS_STATUS_REQUEST: &[u8] = b"AF";
    /// BusinessMessageReject.
    pub const BUSINESS_MESSAGE_REJECT: &[u8] = b"j";
}
