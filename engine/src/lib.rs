//! The redline hot path as a library.
//!
//! It owns what runs on pinned cores: the lock-free [`ring`] that joins
//! stages, the [`stage`] runtime that runs them on named, pinned threads with
//! a configured [`stage::Idle`] strategy, and the [`clock`] that stamps
//! events. Nothing here logs, locks or allocates once a stage is running; the
//! control plane (the `redline` binary) reads what the hot path publishes and
//! never the other way round.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod audit;
pub mod book;
pub mod clock;
pub mod command;
pub mod domain;
pub mod feed;
pub mod path;
pub mod ring;
pub mod risk;
pub mod seqlock;
pub mod stage;
pub mod strategy;
mod sync;
pub mod trading_day;
pub mod venue;
