//! PostgreSQL: the schema's migrations, daily partitions, the journal's
//! entries as rows, and the persister thread that copies them in batches.
//! Without a database URL none of it runs and the journal alone serves.

mod copy;
mod migrate;
mod partitions;
mod persister;

pub use migrate::migrate;
pub use persister::{Breaker, PersistSettings, PersistStatus, Persister};
