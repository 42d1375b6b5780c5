//! A checkpoint of a restore: what folding a journal's entries up to one
//! entry has built (the gate's [`Ledger`] and the restorer's own state), in
//! its byte form (rkyv), so that a restart folds only the entries after it
//! and the journal's older segments may go. The control side writes and
//! reads the files; nothing here touches one.

use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::entry::EntryError;
use super::restore::RunReports;
use crate::domain::Price;
use crate::risk::{Ledger, TradingState};

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Checkpoint {
    /// The journal entry it was taken before: it holds the fold of every
    /// entry numbered below.
    pub next_seq: u64,
    /// The gate's part.
    pub ledger: Ledger,
    /// The trading state the entries so far leave.
    pub state: TradingState,
    /// The state before a drain in the run being folded, if one began.
    pub before_drain: Option<TradingState>,
    /// Entries folded.
    pub entries: u64,
    /// The most orders open at once so far.
    pub peak_open: u64,
    /// When the trading day the loss limit counts from began (ns since the
    /// Unix epoch); `None` before any entry.
    pub day_began_wall_ns: Option<u64>,
    /// Each instrument's last trade price so far, by id.
    pub last_trade: Vec<Option<Price>>,
    /// What the entries so far hold of the last run's reports.
    pub run: RunReports,
}

impl Checkpoint {
    /// Its bytes.
    pub fn encode(&self) -> AlignedVec {
        rkyv::to_bytes::<rancor::Error>(self).expect("a plain struct always serialises")
    }

    /// The checkpoint in `bytes`, checked before it is read.
    ///
    /// # Errors
    ///
    /// When the bytes fail rkyv's validation.
    pub fn decode(bytes: &[u8]) -> Result<Checkpoint, EntryError> {
        let mut aligned = AlignedVec::<16>::with_capacity(bytes.len());
        aligned.extend_from_slice(bytes);
        rkyv::from_bytes::<Checkpoint, rancor::Error>(&aligned)
            .map_err(|e| EntryError(e.to_string()))
    }
}
