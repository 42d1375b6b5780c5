//! Placement: which stage threads a topology runs, and on which cores;
//! keeping the control side off the cores the stages are pinned to; and
//! letting background work yield a shared core to the side thread.
//!
//! A stage with a `core` in config gets that core. The others take the
//! highest-numbered cores not already taken, one each, never core 0 (left to
//! the OS, interrupts and the control plane); a stage left without a core
//! runs unpinned.

use redline_engine::stage::{PinOutcome, StageSpec, StageStatus, Topology};

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

/// The cores of `cores` that no stage of `stages` is pinned to.
pub fn spare_cores(stages: &[StageStatus], cores: &[usize]) -> Vec<usize> {
    let pinned: Vec<usize> = stages
        .iter()
        .filter_map(|s| match s.pinning {
            PinOutcome::Pinned(core) => Some(core),
            _ => None,
        })
        .collect();
    cores
        .iter()
        .copied()
        .filter(|core| !pinned.contains(core))
        .collect()
}

/// Confines the calling thread, and every thread it starts from now on
/// (they inherit its affinity), to `cores`, so that the control side (the
/// listener, the side thread) is never scheduled onto a pinned stage's
/// core and preempts it there.
///
/// # Errors
///
/// When `cores` is empty or the OS refuses; the thread is unchanged.
pub fn confine_current_thread(cores: &[usize]) -> Result<(), String> {
    if cores.is_empty() {
        return Err("every core holds a pinned stage".into());
    }
    // SAFETY: cpu_set_t is a plain bit array, for which all zeroes is the
    // empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &core in cores {
        if core >= libc::CPU_SETSIZE as usize {
            return Err(format!("core {core} is beyond the CPU set's size"));
        }
        // SAFETY: `core` is below CPU_SETSIZE, so the bit is inside `set`.
        unsafe { libc::CPU_SET(core, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the
    // calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// Lowers the calling thread's scheduling priority to `nice` (Linux keeps
/// a nice value per thread), so that background work on a control core,
/// such as the copy into the database, yields that core to the side
/// thread, which the hot path waits on once its audit ring is full.
/// Raising the value needs no privilege.
///
/// # Errors
///
/// When the OS refuses; the thread is unchanged.
pub fn lower_current_thread_priority(nice: i32) -> Result<(), String> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // SAFETY: setpriority takes plain integers; PRIO_PROCESS with a thread
    // id names that one thread on Linux.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
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

    #[test]
    fn a_confined_thread_and_its_children_run_only_on_the_spare_cores() {
        let cores = redline_engine::stage::available_cores();
        let confined = std::thread::spawn(move || {
            let spare = &cores[..1];
            confine_current_thread(spare).unwrap();
            let child = std::thread::spawn(|| core_affinity::get_core_ids().unwrap());
            let mine: Vec<usize> = core_affinity::get_core_ids()
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect();
            let its: Vec<usize> = child.join().unwrap().iter().map(|c| c.id).collect();
            (spare.to_vec(), mine, its)
        });
        let (spare, mine, its) = confined.join().unwrap();
        assert_eq!(mine, spare);
        assert_eq!(its, spare, "threads it starts inherit it");
        assert!(confine_current_thread(&[]).is_err());
    }

    #[test]
    fn a_lowered_thread_alone_runs_at_the_lower_priority() {
        let nice = || {
            // SAFETY: gettid has no preconditions; getpriority takes plain
            // integers (a thread id under PRIO_PROCESS on Linux).
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
        };
        let before = nice();
        let wanted = (before + 5).min(19);
        let lowered = std::thread::spawn(move || {
            lower_current_thread_priority(wanted).unwrap();
            nice()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, wanted);
        assert_eq!(nice(), before, "the caller's own thread alone");
    }
}
