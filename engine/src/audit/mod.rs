//! The audit stream: every decision, order, execution report and risk
//! event the hot path makes, with a sequence number and the timestamps of
//! the points it passed, written into a ring that the side thread drains.
//!
//! The writer ([`AuditLog`]) never drops a record: a stage checks there is
//! room for everything an event can write before it takes the event, and
//! waits (counting it) when there is not. The reader side folds records into
//! counters and latency histograms ([`AuditStats`]) and a digest of the
//! stream ([`Digest`]) that proves two runs decided the same.

mod checkpoint;
mod digest;
mod entry;
mod log;
mod record;
mod restore;
mod stats;

pub use checkpoint::Checkpoint;
pub use digest::Digest;
pub use entry::{EntryError, JournalEntry, RESTART_WRITER};
pub use log::AuditLog;
pub use record::{AuditEvent, AuditRecord, Stamps, Trigger};
pub use restore::{Restored, Restorer, RunReports, StartRecords};
pub use stats::{AuditStats, Latency};
