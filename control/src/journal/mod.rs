//! The journal: the source of truth for what the engine did. The side
//! thread appends every audit record to it, as an rkyv entry in a framed,
//! checksummed, sequence-numbered segment file, before anything else sees
//! the record; on start the engine reads it back, cuts off a torn tail and
//! refuses a corrupt one; `redline journal inspect` and `dump` read it for
//! an operator.

mod checkpoint;
mod checkpointer;
mod disk_wait;
mod frame;
mod inspect;
mod replay;
mod scan;
mod tail;
mod writer;

pub use checkpointer::{CheckpointSettings, CheckpointStatus, Checkpointer, Retention};
pub use disk_wait::{DiskWait, StallLog};
pub use inspect::{dump, inspect};
pub use replay::Rebuild;
pub use scan::segments;
pub use tail::Tail;
pub use writer::{Fsync, Journal, JournalSettings, JournalStats};
