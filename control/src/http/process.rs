//! What the operating system says about this process, read from `/proc`:
//! resident and virtual memory, CPU time, threads, open descriptors, and
//! the machine's memory. Off the hot path: the side thread reads it when
//! asked, and samples CPU time once a second for a CPU percentage.

use std::time::Instant;

/// One reading of the process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    /// Resident memory, in bytes.
    pub resident_bytes: u64,
    /// Virtual memory, in bytes.
    pub virtual_bytes: u64,
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The machine's memory, in bytes.
    pub memory_total_bytes: u64,
}

impl ProcessStats {
    /// Reads `/proc`; a figure it cannot read is 0.
    pub fn read() -> ProcessStats {
        let page = page_size();
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let mut pages = statm
            .split_whitespace()
            .map(|n| n.parse::<u64>().unwrap_or(0));
        let virtual_pages = pages.next().unwrap_or(0);
        let resident_pages = pages.next().unwrap_or(0);
        let stat = Stat::read();
        ProcessStats {
            resident_bytes: resident_pages * page,
            virtual_bytes: virtual_pages * page,
            cpu_seconds: stat.cpu_seconds(),
            threads: stat.field(20),
            open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64),
            memory_total_bytes: memory_total(),
        }
    }

    /// Resident memory as a percentage of the machine's.
    pub fn memory_percent(&self) -> f64 {
        if self.memory_total_bytes == 0 {
            0.0
        } else {
            100.0 * self.resident_bytes as f64 / self.memory_total_bytes as f64
        }
    }
}

/// User plus system CPU time so far, in seconds (reads one file).
pub fn cpu_seconds() -> f64 {
    Stat::read().cpu_seconds()
}

/// `/proc/self/stat`.
struct Stat(String);

impl Stat {
    fn read() -> Stat {
        Stat(std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
    }

    /// Field `n` (numbered from 1, as in proc(5)); 0 when unreadable.
    fn field(&self, n: usize) -> u64 {
        // The command name (field 2) is in parentheses and may hold
        // spaces; the fields after it start with field 3.
        let after_name = self.0.rsplit_once(')').map_or("", |(_, rest)| rest);
        after_name
            .split_whitespace()
            .nth(n - 3)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0)
    }

    fn cpu_seconds(&self) -> f64 {
        (self.field(14) + self.field(15)) as f64 / clock_ticks_per_second()
    }
}

/// CPU use between samples, as a percentage of one core (a process using
/// two cores fully shows 200).
#[derive(Debug)]
pub struct CpuSampler {
    last: Option<(Instant, f64)>,
    percent: f64,
}

impl CpuSampler {
    /// A sampler with no sample yet (0 percent).
    pub fn new() -> Self {
        CpuSampler {
            last: None,
            percent: 0.0,
        }
    }

    /// Takes a sample of `cpu_seconds` at `now`.
    pub fn sample(&mut self, now: Instant, cpu_seconds: f64) {
        if let Some((at, seconds)) = self.last {
            let wall = now.duration_since(at).as_secs_f64();
            if wall > 0.0 {
                self.percent = 100.0 * (cpu_seconds - seconds).max(0.0) / wall;
            }
        }
        self.last = Some((now, cpu_seconds));
    }

    /// The last interval's CPU use.
    pub fn percent(&self) -> f64 {
        self.percent
    }
}

fn memory_total() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a system constant; it has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a system constant; it has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let stats = ProcessStats::read();
        assert!(stats.resident_bytes > 0 && stats.virtual_bytes >= stats.resident_bytes);
        assert!(stats.threads >= 1 && stats.open_fds >= 3, "{stats:?}");
        assert!(stats.memory_total_bytes > stats.resident_bytes);
        assert!((0.0..100.0).contains(&stats.memory_percent()));
    }

    #[test]
    fn cpu_percent_is_cpu_time_over_wall_time() {
        let mut cpu = CpuSampler::new();
        let start = Instant::now();
        cpu.sample(start, 10.0);
        assert_eq!(cpu.percent(), 0.0);
        cpu.sample(start + std::time::Duration::from_secs(2), 11.0);
        assert!((cpu.percent() - 50.0).abs() < 1e-9);
    }
}
