//! The hot path's clock: a cheap, monotonic, cross-core timestamp.
//!
//! On x86-64 it reads the time-stamp counter (`rdtsc`: no syscall, a few
//! nanoseconds), which is invariant and synchronised across cores on the
//! machines redline targets (`constant_tsc` and `nonstop_tsc` in
//! `/proc/cpuinfo`); ticks become nanoseconds through a ratio calibrated once
//! against the OS monotonic clock. Elsewhere it falls back to
//! [`std::time::Instant`], whose ticks are nanoseconds.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Reads the raw counter. Never blocks, allocates or makes a syscall on
/// x86-64; a vDSO call elsewhere.
#[inline(always)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // `rdtsc` is not serialising: it may read the counter a few
        // instructions early, well under the scale measured here.
        // SAFETY: `rdtsc` exists on every x86-64 CPU and has no preconditions.
        #[allow(unused_unsafe)]
        unsafe {
            std::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        epoch().elapsed().as_nanos() as u64
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds per tick, measured once (the first call takes about 20 ms).
pub fn ns_per_tick() -> f64 {
    static RATIO: OnceLock<f64> = OnceLock::new();
    *RATIO.get_or_init(calibrate)
}

/// Converts a tick interval to nanoseconds.
#[inline]
pub fn ticks_to_ns(ticks: u64) -> u64 {
    (ticks as f64 * ns_per_tick()) as u64
}

/// Converts nanoseconds to a tick interval.
#[inline]
pub fn ns_to_ticks(ns: u64) -> u64 {
    (ns as f64 / ns_per_tick()) as u64
}

fn calibrate() -> f64 {
    if cfg!(not(target_arch = "x86_64")) {
        return 1.0;
    }
    let (i0, t0) = (Instant::now(), ticks());
    std::thread::sleep(Duration::from_millis(20));
    let (i1, t1) = (Instant::now(), ticks());
    let ns = i1.duration_since(i0).as_nanos() as f64;
    ns / t1.wrapping_sub(t0).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_advance_at_the_rate_of_the_os_clock() {
        let (t0, i0) = (ticks(), Instant::now());
        std::thread::sleep(Duration::from_millis(30));
        let (t1, i1) = (ticks(), Instant::now());
        let measured = ticks_to_ns(t1 - t0) as f64;
        let os = i1.duration_since(i0).as_nanos() as f64;
        assert!(
            (measured / os - 1.0).abs() < 0.05,
            "tsc {measured} ns vs os {os} ns"
        );
    }

    #[test]
    fn conversions_round_trip() {
        let back = ticks_to_ns(ns_to_ticks(1_000_000)) as i64;
        assert!((back - 1_000_000).abs() <= 2, "round trip gave {back} ns");
    }
}
