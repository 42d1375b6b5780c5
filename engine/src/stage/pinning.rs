//! Pinning stage threads to cores, and the record of how it went.
//!
//! A pinning failure is either fatal at start-up ([`PinPolicy::Required`],
//! for production) or recorded and tolerated ([`PinPolicy::BestEffort`], the
//! embedded default); either way the outcome of every stage is kept for
//! health reporting.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What to do when a stage cannot be pinned to its core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinPolicy {
    /// Refuse to start: the topology fails to build, naming stage and core.
    Required,
    /// Run the stage unpinned, and record the failure.
    #[default]
    BestEffort,
}

/// How pinning a stage thread went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinOutcome {
    /// The thread runs on this core only.
    Pinned(usize),
    /// No core was configured; the scheduler places the thread.
    Unpinned,
    /// Pinning to `core` failed; the thread runs unpinned.
    Failed {
        /// The core asked for.
        core: usize,
        /// Why it failed.
        reason: String,
    },
}

impl PinOutcome {
    /// Whether this is a failure.
    pub fn is_failure(&self) -> bool {
        matches!(self, PinOutcome::Failed { .. })
    }
}

impl fmt::Display for PinOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinOutcome::Pinned(core) => write!(f, "pinned to core {core}"),
            PinOutcome::Unpinned => f.write_str("unpinned"),
            PinOutcome::Failed { core, reason } => {
                write!(
                    f,
                    "pinning to core {core} failed ({reason}); running unpinned"
                )
            }
        }
    }
}

/// The ids of the cores this process may run on, as the first call found
/// them: a thread that later confines itself to fewer (the control side
/// does) still sees, and may pin stages to, all of them.
pub fn available_cores() -> Vec<usize> {
    static CORES: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    CORES
        .get_or_init(|| {
            let mut ids: Vec<usize> = core_affinity::get_core_ids()
                .unwrap_or_default()
                .into_iter()
                .map(|core| core.id)
                .collect();
            ids.sort_unstable();
            ids
        })
        .clone()
}

/// Pins the calling thread to `core`, if one is given.
pub(crate) fn pin_current_thread(core: Option<usize>) -> PinOutcome {
    let Some(core) = core else {
        return PinOutcome::Unpinned;
    };
    if !available_cores().contains(&core) {
        return PinOutcome::Failed {
            core,
            reason: "no such core in this process's CPU set".into(),
        };
    }
    if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        PinOutcome::Pinned(core)
    } else {
        PinOutcome::Failed {
            core,
            reason: "the OS refused the affinity change".into(),
        }
    }
}
