//! The path scenario as a user runs it, shortened: a row for each topology
//! and the tokio peer, with numbers, and the target lines.

use std::process::Command;

#[test]
fn path_scenario_prints_each_topology_and_the_tokio_peer() {
    let out = Command::new(env!("CARGO_BIN_EXE_redline-bench"))
        .args([
            "path", "--rate", "20000", "--warmup", "2000", "--quotes", "20000",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "redline fused",
        "redline pipeline (rings)",
        "tokio pipeline (mpsc + tasks)",
    ] {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(row) && !line.contains("sent;"))
            .unwrap_or_else(|| panic!("no row for {row}:\n{stdout}"));
        let numbers: Vec<f64> = line[row.len()..]
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(numbers.len(), 11, "{line}");
        assert!(numbers[0] > 0.0, "a p50 was measured: {line}");
    }
    assert!(stdout.contains("fused p99 over tokio's"), "{stdout}");
}
