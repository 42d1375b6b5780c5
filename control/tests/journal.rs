//! The journal as an operator meets it, through the binary: a run leaves
//! every audit record in it, numbered without a gap; a restart goes on
//! from the next number; a torn last entry is cut off with a warning and
//! the run goes on; damage in the middle stops the start, naming the file
//! and offset; `redline journal inspect` and `dump` read it; one engine
//! per directory.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{event, redline, replay_setup, run_to_end, TestConfig};

fn journal(command: &str, dir: &Path) -> Output {
    redline()
        .args(["journal", command])
        .arg(dir)
        .output()
        .unwrap()
}

fn inspect(dir: &Path) -> String {
    let out = journal("inspect", dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every entry `dump` prints, as JSON.
fn dump(dir: &Path) -> Vec<serde_json::Value> {
    let out = journal("dump", dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The journal's one segment file.
fn segment(config: &TestConfig) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(config.journal())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "journal"))
        .collect();
    files.sort();
    files.pop().expect("a segment")
}

#[test]
fn a_run_journals_every_record_and_a_restart_goes_on_from_the_next_number() {
    let (_csv, config) = replay_setup(2000, "fastest", "fused");
    let first = run_to_end(&config);
    let records = event(&first, "stopped cleanly").num("audit_records") as u64;
    assert!(records > 2000, "{first}");
    let opened = event(&first, "journal opened");
    assert_eq!(opened.get("next_entry"), "0");

    let summary = inspect(&config.journal());
    assert!(
        summary.contains(&format!("{records} entries, next entry {records}")),
        "{summary}"
    );
    assert!(summary.contains("tail: whole"), "{summary}");
    assert!(summary.contains("report.ack "), "{summary}");
    let entries = dump(&config.journal());
    assert_eq!(entries.len() as u64, records);
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], i as u64, "numbered without a gap");
    }
    assert!(entries.iter().any(|e| e["type"] == "sent"
        && e["intent"]["new"]["qty"].as_i64().is_some()
        && e["stamps"]["sent"].as_u64() > Some(0)));

    let second = run_to_end(&config);
    assert_eq!(
        event(&second, "journal opened").get("next_entry"),
        records.to_string()
    );
    let more = event(&second, "stopped cleanly").num("audit_records") as u64;
    let entries = dump(&config.journal());
    assert_eq!(entries.len() as u64, records + more);
    assert_eq!(entries.last().unwrap()["seq"], records + more - 1);
}

#[test]
fn a_torn_last_entry_is_cut_off_and_the_run_goes_on() {
    let (_csv, config) = replay_setup(500, "fastest", "fused");
    let first = run_to_end(&config);
    let records = event(&first, "stopped cleanly").num("audit_records") as u64;
    let segment = segment(&config);
    let len = std::fs::metadata(&segment).unwrap().len();
    // A crash in the middle of the last write: its entry is cut short.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 7).unwrap();
    drop(file);
    let summary = inspect(&config.journal());
    assert!(summary.contains("tail: torn"), "{summary}");
    assert!(
        summary.contains(&format!("{} entries", records - 1)),
        "{summary}"
    );

    let second = run_to_end(&config);
    let torn = event(
        &second,
        "journal: torn tail cut off (a crash in the middle of a write)",
    );
    assert!(torn.get("found").contains("only"), "{torn:?}");
    assert_eq!(
        event(&second, "journal opened").get("next_entry"),
        (records - 1).to_string()
    );
    assert!(inspect(&config.journal()).contains("tail: whole"));

    // A flipped byte in the last entry is cut off the same way.
    let mut bytes = std::fs::read(&segment).unwrap();
    *bytes.last_mut().unwrap() ^= 0x40;
    std::fs::write(&segment, &bytes).unwrap();
    let third = run_to_end(&config);
    assert!(
        event(
            &third,
            "journal: torn tail cut off (a crash in the middle of a write)"
        )
        .get("found")
        .contains("CRC-32"),
        "{third}"
    );
}

#[test]
fn damage_in_the_middle_stops_the_start_and_names_where() {
    let (_csv, config) = replay_setup(500, "fastest", "fused");
    run_to_end(&config);
    let segment = segment(&config);
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    let out = redline()
        .arg("run")
        .arg("--config")
        .arg(config.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the journal is corrupt in"), "{stderr}");
    assert!(stderr.contains(&segment.display().to_string()), "{stderr}");
    assert!(stderr.contains("good entries after it"), "{stderr}");
    let out = journal("inspect", &config.journal());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at byte"));
    // Dump gives what comes before the damage, then the error.
    let out = journal("dump", &config.journal());
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stdout.is_empty());
}

#[test]
fn one_engine_per_journal_directory() {
    let (_csv, config) = replay_setup(200_000, "recorded", "fused");
    let mut first = redline()
        .arg("run")
        .arg("--config")
        .arg(config.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its first line says it holds the journal.
    let mut line = String::new();
    let stdout = first.stdout.take().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert!(line.contains("msg=\"journal opened\""), "{line}");
    let second = redline()
        .arg("run")
        .arg("--config")
        .arg(config.path())
        .output()
        .unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another redline"), "{stderr}");
}
