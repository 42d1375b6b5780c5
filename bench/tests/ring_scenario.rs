//! The ring scenario as a user runs it, shortened: it prints a row for the
//! limit and every peer with every quantile, the reference costs, the
//! targets, and the throughput table.

use std::process::Command;

#[test]
fn ring_scenario_prints_every_row_with_numbers() {
    let out = Command::new(env!("CARGO_BIN_EXE_redline-bench"))
        .args([
            "ring",
            "--messages",
            "2000",
            "--warmup",
            "200",
            "--interval-ns",
            "20000",
        ])
        .args(["--throughput-items", "200000", "--rounds", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("p50"))
        .expect("a header row");
    for label in [
        "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean99", "p50 x", "mean99 x", "p99 x",
    ] {
        assert!(header.contains(label), "header lacks {label}: {header}");
    }
    let rows = [
        "cache-line limit (one line)",
        "cache-line limit, line per message",
        "redline ring",
        "rtrb",
        "disruptor (BusySpin)",
        "crossbeam ArrayQueue",
        "crossbeam-channel (try_recv spin)",
        "std sync_channel (try_recv spin)",
        "tokio mpsc (current-thread await)",
        "cache-line round trip",
        "clock read (rdtsc)",
    ];
    for name in rows {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(name) && !line.contains("M items/s"))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"));
        let numbers: Vec<f64> = line[name.len()..]
            .split_whitespace()
            .map(|field| {
                field
                    .parse()
                    .unwrap_or_else(|_| panic!("{field:?} in {line:?}"))
            })
            .collect();
        assert!(numbers.len() >= 6, "{name} row has {numbers:?}");
        assert!(
            numbers[..6].windows(2).all(|w| w[0] <= w[1]),
            "quantiles rise: {line}"
        );
        assert!(numbers[0] > 0.0, "{name} p50 is positive: {line}");
    }
    for variant in [
        "redline ring, single",
        "redline ring, batch 64",
        "rtrb, single",
        "crossbeam ArrayQueue, single",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(variant) && l.contains("M items/s")),
            "no throughput for {variant}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("ring p50 within 1.15x of the limit"),
        "{stdout}"
    );
}
