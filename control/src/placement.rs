//! Placement: which stage threads a topology runs, and on which cores.
//!
//! A stage with a `core` in config gets that core. The others take the
//! highest-numbered cores not already taken, one each, never core 0 (left to
//! the OS, interrupts and the control plane); a stage left without a core
//! runs unpinned.

use redline_engine::stage::{StageSpec, Topology};

use crate::config::{Config, StageConfig};

/// The resolved layout: the topology and each stage's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `Pipeline` or `Fused`, never `Auto`.
    pub topology: Topology,
    /// The stage threads, in start order.
    pub stages: Vec<StageSpec>,
}

/// Lays out the configured topology on a machine with `cores`.
pub fn plan(config: &Config, cores: &[usize]) -> Plan {
    let topology = config.topology.mode.resolve(cores.len());
    let stages = &config.stages;
    let named: Vec<(&str, &StageConfig)> = match topology {
        Topology::Fused | Topology::Auto => vec![("fused", &stages.fused)],
        Topology::Pipeline => vec![
            ("feed", &stages.feed),
            ("decide", &stages.decide),
            ("gateway", &stages.gateway),
        ],
    };
    let taken: Vec<usize> = named.iter().filter_map(|(_, stage)| stage.core).collect();
    let mut free = cores
        .iter()
        .rev()
        .copied()
        .filter(|core| *core != 0 && !taken.contains(core));
    let stages = named
        .into_iter()
        .map(|(name, stage)| StageSpec {
            name: name.to_owned(),
            core: stage.core.or_else(|| free.next()),
            idle: stage.idle,
        })
        .collect();
    Plan { topology, stages }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cores_of(plan: &Plan) -> Vec<(&str, Option<usize>)> {
        plan.stages
            .iter()
            .map(|s| (s.name.as_str(), s.core))
            .collect()
    }

    #[test]
    fn two_cores_fuse_onto_core_one() {
        let config = Config::from_overlay("").unwrap();
        let plan = plan(&config, &[0, 1]);
        assert_eq!(plan.topology, Topology::Fused);
        assert_eq!(cores_of(&plan), [("fused", Some(1))]);
    }

    #[test]
    fn pipeline_takes_the_highest_cores_and_leaves_core_zero() {
        let config = Config::from_overlay("").unwrap();
        let plan = plan(&config, &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(plan.topology, Topology::Pipeline);
        assert_eq!(
            cores_of(&plan),
            [("feed", Some(7)), ("decide", Some(6)), ("gateway", Some(5))]
        );
    }

    #[test]
    fn configured_cores_are_kept_and_skipped_by_the_others() {
        let mut config = Config::from_overlay("").unwrap();
        config.stages.decide.core = Some(7);
        let plan = plan(&config, &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(
            cores_of(&plan),
            [("feed", Some(6)), ("decide", Some(7)), ("gateway", Some(5))]
        );
    }

    #[test]
    fn stages_beyond_the_spare_cores_run_unpinned() {
        let mut config = Config::from_overlay("").unwrap();
        config.topology.mode = Topology::Pipeline;
        let plan = plan(&config, &[0, 1]);
        assert_eq!(
            cores_of(&plan),
            [("feed", Some(1)), ("decide", None), ("gateway", None)]
        );
    }
}
