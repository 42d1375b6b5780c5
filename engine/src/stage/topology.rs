//! How the hot-path stages are laid out on threads.

use serde::{Deserialize, Serialize};

/// The layout of stages on threads, from config (`topology.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// [`Topology::Fused`] on machines with fewer than
    /// [`Topology::PIPELINE_MIN_CORES`] cores, [`Topology::Pipeline`]
    /// otherwise.
    #[default]
    Auto,
    /// Each stage on its own pinned thread, joined by rings.
    Pipeline,
    /// All stages in one loop on one pinned thread: no ring hop, and the best
    /// choice on small machines.
    Fused,
}

impl Topology {
    /// Cores a pipeline wants: one per stage, plus one for the OS and the
    /// control plane.
    pub const PIPELINE_MIN_CORES: usize = 4;

    /// Resolves [`Topology::Auto`] for a machine with `cores` cores.
    pub fn resolve(self, cores: usize) -> Topology {
        match self {
            Topology::Auto if cores < Self::PIPELINE_MIN_CORES => Topology::Fused,
            Topology::Auto => Topology::Pipeline,
            other => other,
        }
    }

    /// The name used in config and logs.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Auto => "auto",
            Topology::Pipeline => "pipeline",
            Topology::Fused => "fused",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Topology;

    #[test]
    fn auto_fuses_below_four_cores() {
        assert_eq!(Topology::Auto.resolve(2), Topology::Fused);
        assert_eq!(Topology::Auto.resolve(3), Topology::Fused);
        assert_eq!(Topology::Auto.resolve(4), Topology::Pipeline);
        assert_eq!(Topology::Pipeline.resolve(2), Topology::Pipeline);
        assert_eq!(Topology::Fused.resolve(64), Topology::Fused);
    }
}
