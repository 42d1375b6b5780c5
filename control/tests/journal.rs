//! The journal as an operator meets it, through the binary: a run leaves
//! every audit record in it, numbered without a gap; a restart goes on
//! from the next number; a torn last entry is cut off with a warning and
//! the run goes on; damage in the middle stops the start, naming the file
//! and offset, and so does a journal missing its first segments; `redline
//! journal inspect` and `dump` read it; one engine per directory; a full
//! disk stops trading until it has room, and loses no record; a restart
//! resumes from the newest checkpoint that serves and rebuilds what a read
//! of the whole journal would.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{
    dump, event, events, json, redline, replay_file, replay_setup, run_command, run_to_end, sample,
    stdout_of, Engine, TestConfig,
};

fn journal(command: &str, dir: &Path) -> Output {
    redline()
        .args(["journal", command])
        .arg(dir)
        .output()
        .unwrap()
}

fn inspect(dir: &Path) -> String {
    stdout_of(redline().args(["journal", "inspect"]).arg(dir))
}

/// The journal's segment files, in order.
fn segments(config: &TestConfig) -> Vec<PathBuf> {
    files(&config.journal(), "journal")
}

/// The files in `dir` with extension `extension`, in order.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// The journal's one (or last) segment file.
fn segment(config: &TestConfig) -> PathBuf {
    segments(config).pop().expect("a segment")
}

#[test]
fn a_run_journals_every_record_and_a_restart_goes_on_from_the_next_number() {
    let (_csv, config) = replay_setup(2000, "fastest", "fused");
    let first = run_to_end(&config);
    let records = event(&first, "stopped cleanly").num("audit_records") as u64;
    assert!(records > 2000, "{first}");
    let opened = event(&first, "journal opened");
    assert_eq!(opened.get("next_entry"), "0");
    assert!(!first.contains("small segments"), "the default's are not");

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
    let out = run_command(&config).output().unwrap();
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
fn a_journal_missing_its_first_segments_stops_the_start() {
    let (_csv, config) = replay_setup(2000, "fastest", "fused");
    let text = std::fs::read_to_string(config.path()).unwrap();
    let small = text.replace("[persistence]\n", "[persistence]\nsegment_bytes = 65536\n");
    std::fs::write(config.path(), small).unwrap();
    let out = run_to_end(&config);
    let warned = event(
        &out,
        "journal: small segments roll often and may slow the side thread",
    );
    assert_eq!(warned.get("segment_bytes"), "65536");
    assert_eq!(warned.get("fix"), "segment_bytes = 1048576 or more");
    let segments = segments(&config);
    assert!(segments.len() >= 3, "{segments:?}");
    std::fs::remove_file(&segments[0]).unwrap();
    let out = run_command(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the segments before it are missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&segments[1].display().to_string()),
        "{stderr}"
    );
    // What is left can still be read.
    assert!(inspect(&config.journal()).contains("tail: whole"));
}

#[test]
fn one_engine_per_journal_directory() {
    let (_csv, config) = replay_setup(200_000, "recorded", "fused");
    let mut first = run_command(&config)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its first line says it holds the journal.
    let mut line = String::new();
    let stdout = first.stdout.take().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert!(line.contains("msg=\"journal opened\""), "{line}");
    let second = run_command(&config).output().unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another redline"), "{stderr}");
}

/// What a journal's dump says the gate held at its end: each instrument's
/// position (by id) from the fills, and the orders still open.
fn implied_state(entries: &[serde_json::Value]) -> (Vec<i64>, usize) {
    let mut positions = vec![0; 8];
    let mut open = std::collections::HashSet::new();
    for e in entries {
        let kind = e["type"].as_str().unwrap();
        if kind == "passed" {
            if let Some(id) = e["intent"]["new"]["id"].as_u64() {
                open.insert(id);
            }
        }
        if let Some(report) = e.get("report") {
            let id = report["id"].as_u64().unwrap();
            let sign = if report["side"] == "buy" { 1 } else { -1 };
            if kind == "report.fill" || kind == "report.partial_fill" {
                positions[report["instrument"].as_u64().unwrap() as usize] +=
                    sign * report["filled"].as_i64().unwrap();
            }
            let ends = matches!(kind, "report.fill" | "report.cancelled" | "report.rejected")
                || (kind == "report.cancel_rejected" && report["reason"] == "UNKNOWN_ORDER");
            if ends {
                open.remove(&id);
            }
        }
    }
    (positions, open.len())
}

/// The default config's instrument symbols, by id.
fn symbols() -> Vec<String> {
    let out = redline().arg("default-config").output().unwrap();
    let config: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    config["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["symbol"].as_str().unwrap().to_owned())
        .collect()
}

/// `ESZ6:+2,NQZ6:-1` (or `flat`) for `positions` by id.
fn by_symbol(positions: &[i64]) -> String {
    let held: Vec<String> = symbols()
        .iter()
        .zip(positions)
        .filter(|(_, &p)| p != 0)
        .map(|(s, p)| format!("{s}:{p:+}"))
        .collect();
    if held.is_empty() {
        "flat".into()
    } else {
        held.join(",")
    }
}

#[test]
fn after_kill_9_a_restart_resumes_with_the_state_the_journal_implies() {
    // A slower feed keeps the journal (and its dump) small.
    let slow = "[feed.synthetic]\nrate = 5000\n";
    let mut engine = Engine::start(slow, &[]);
    engine.wait_for("msg=status up_s=1 ");
    engine.child.kill().unwrap(); // SIGKILL: no drain, no flush.
    engine.child.wait().unwrap();
    let journal = std::mem::replace(&mut engine.journal, tempfile::tempdir().unwrap());
    let before = dump(journal.path());
    let (positions, open) = implied_state(&before);
    assert!(
        positions.iter().any(|&p| p != 0),
        "it traded: {positions:?}"
    );
    assert!(open > 0, "orders were resting");

    let mut engine = Engine::start_on(journal, slow, &[]);
    let restored = event(&engine.out, "state restored from the journal");
    assert_eq!(
        restored.get("positions"),
        by_symbol(&positions),
        "{}",
        engine.out
    );
    assert_eq!(restored.get("open_orders"), open.to_string());
    assert_eq!(restored.get("state"), "active");
    assert_eq!(
        restored.get("until_every_held_instrument_is_quoted"),
        "only orders that shrink a position pass; the loss check waits"
    );
    let opened = event(&engine.out, "journal opened");
    assert_eq!(opened.get("next_entry"), before.len().to_string());
    assert_eq!(
        event(&engine.out, "cancelling the orders the journal left open").get("orders"),
        open.to_string()
    );
    assert!(engine.stop(), "{}", engine.out);

    // The restart went on from there: the whole journal implies the
    // positions its clean stop reports, and its first command was the
    // engine's own cancel-all of what the last run left open.
    let after = dump(engine.journal.path());
    let (positions, open) = implied_state(&after);
    let summary = event(&engine.out, "stopped cleanly");
    assert_eq!(summary.get("positions"), by_symbol(&positions));
    assert_eq!(open, 0, "drained");
    let restart = &after[before.len()..];
    let first_command = restart.iter().find(|e| e["type"] == "command").unwrap();
    assert_eq!(first_command["action"], "cancel-all");
    assert_eq!(first_command["token"], "00000000");
    let last_before = before
        .iter()
        .filter_map(|e| e["intent"]["new"]["id"].as_u64())
        .max()
        .unwrap();
    let first_after = restart
        .iter()
        .find_map(|e| e["intent"]["new"]["id"].as_u64())
        .unwrap();
    assert!(first_after > last_before, "order ids are never reused");
}

/// A small disk of its own: a tmpfs mounted on a temporary directory (the
/// tests run as root, as CI does), unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(bytes: u64) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mount = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            mount.status.success(),
            "cannot mount a tmpfs (the test needs root): {}",
            String::from_utf8_lossy(&mount.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Samples `name` from `/metrics` until `done` holds of it (up to 10 s).
fn metric_until(engine: &Engine, name: &str, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = sample(&engine.get("/metrics").1, name);
        if done(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{name} stayed at {value}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_full_disk_stops_trading_until_it_has_room_and_loses_no_record() {
    const MIB: u64 = 1 << 20;
    let disk = SmallDisk::mount(24 * MIB);
    // Most of the disk taken by something else: the journal gets about
    // 4 MiB, under two seconds of this feed.
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![1u8; (20 * MIB) as usize]).unwrap();
    let journal = disk.path().join("journal");
    let small = "[feed.synthetic]\nrate = 2000\n[rings]\naudit = 1024\n\
                 [persistence]\nsegment_bytes = 1048576\n";
    let mut engine = Engine::start(small, &[("REDLINE_JOURNAL_DIR", journal.to_str().unwrap())]);

    engine.wait_for("journal: cannot write; taking no more records until it can");
    let failed = event(
        &engine.out,
        "journal: cannot write; taking no more records until it can",
    );
    assert!(
        failed.get("error").contains("No space left"),
        "{}",
        engine.out
    );
    let (code, body) = engine.get("/health/ready");
    assert_eq!(code, 503);
    assert!(body.contains("journal writes failing"), "{body}");
    let (code, body) = engine.get("/health");
    assert_eq!(code, 503, "{body}");
    let persistence = &json(&body)["components"]["persistence"];
    assert_eq!(persistence["status"], "unhealthy", "{body}");
    assert!(
        persistence["message"]
            .as_str()
            .unwrap()
            .contains("No space left"),
        "{body}"
    );
    let metrics = engine.get("/metrics").1;
    assert!(sample(&metrics, "redline_journal_write_errors_total") >= 1.0);
    assert!(sample(&metrics, "redline_journal_backlog_entries") > 0.0);
    let free = "redline_journal_disk_free_bytes";
    metric_until(&engine, free, |bytes| bytes < MIB as f64);

    // The audit ring fills behind the held records and the hot path
    // waits for room: no quote is taken, no order sent, nothing dropped.
    metric_until(&engine, "redline_audit_waits_total", |waits| waits > 0.0);
    let sent = r#"redline_orders_sent_total{kind="new"}"#;
    let held = |name| sample(&engine.get("/metrics").1, name);
    let (quotes, orders) = (held("redline_quotes_total"), held(sent));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(held("redline_quotes_total"), quotes, "no quote taken");
    assert_eq!(held(sent), orders, "no order sent");
    // Not wedged: the stage goes on polling, so liveness holds and no
    // probe restarts an engine that a restart would not mend.
    assert_eq!(engine.get("/health/live").0, 200);

    // Room again: the held records are written and trading goes on.
    std::fs::remove_file(&ballast).unwrap();
    engine.wait_for("journal: writing again");
    metric_until(&engine, free, |bytes| bytes > 10.0 * MIB as f64);
    metric_until(&engine, sent, |now| now > orders);
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.get("/health/ready").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "{}",
            engine.get("/health/ready").1
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(engine.stop(), "{}", engine.out);

    // Every record the run made is in the journal, numbered without a gap.
    let records = event(&engine.out, "stopped cleanly").num("audit_records") as u64;
    let summary = inspect(&journal);
    assert!(
        summary.contains(&format!("{records} entries, next entry {records}")),
        "{summary}"
    );
    assert!(summary.contains("tail: whole"), "{summary}");
    for (i, entry) in dump(&journal).iter().enumerate() {
        assert_eq!(entry["seq"], i as u64, "numbered without a gap");
    }
}

/// A journal of small segments with a checkpoint every two.
const CHECKPOINTED: &str = "[feed.synthetic]\nrate = 5000\n\
     [persistence]\nsegment_bytes = 65536\ncheckpoint_segments = 2\n";

/// The checkpoint files in `dir`, in order.
fn checkpoints(dir: &Path) -> Vec<PathBuf> {
    files(dir, "checkpoint")
}

/// A copy of the journal directory `from`.
fn copy_journal(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let path = item.unwrap().path();
        std::fs::copy(&path, to.path().join(path.file_name().unwrap())).unwrap();
    }
    to
}

/// What a start restored, as its log says.
fn restored(engine: &Engine) -> Vec<String> {
    let restored = event(&engine.out, "state restored from the journal");
    [
        "positions",
        "realized_pnl",
        "open_orders",
        "state",
        "last_order_id",
    ]
    .iter()
    .map(|key| format!("{key}={}", restored.get(key)))
    .collect()
}

#[test]
fn a_restart_resumes_from_the_newest_checkpoint_and_rebuilds_what_the_whole_journal_implies() {
    let mut engine = Engine::start(CHECKPOINTED, &[]);
    // Three checkpoints: the oldest is deleted, two are kept.
    engine.wait_for_n("journal: checkpoint taken", 3, Duration::from_secs(30));
    let oldest = PathBuf::from(events(&engine.out, "journal: checkpoint taken")[0].get("file"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while oldest.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!oldest.exists(), "the oldest of three is deleted");
    let metrics = engine.get("/metrics").1;
    assert!(sample(&metrics, "redline_journal_checkpoints_total") >= 3.0);
    let newest = sample(&metrics, "redline_journal_checkpoint_sequence");
    assert!(newest > 0.0, "{metrics}");
    let health = json(&engine.get("/health").1);
    let message = health["components"]["persistence"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("newest checkpoint before entry"),
        "{message}"
    );
    engine.child.kill().unwrap(); // SIGKILL: no drain, no flush.
    engine.child.wait().unwrap();
    let journal = std::mem::replace(&mut engine.journal, tempfile::tempdir().unwrap());
    // Two kept, or three when the kill fell between a checkpoint's
    // write and the deletion of the one it made redundant.
    let kept = checkpoints(journal.path());
    assert!((2..=3).contains(&kept.len()), "{kept:?}");
    let summary = inspect(journal.path());
    assert!(summary.contains("checkpoint before entry"), "{summary}");
    assert!(
        files(journal.path(), "journal")[0].ends_with("00000000000000000000.journal"),
        "retention keep deletes no segment"
    );

    // The same journal three ways: whole, without its checkpoints, and
    // with its newest checkpoint damaged.
    let whole = copy_journal(journal.path());
    for checkpoint in checkpoints(whole.path()) {
        std::fs::remove_file(checkpoint).unwrap();
    }
    let damaged = copy_journal(journal.path());
    let newest_file = checkpoints(damaged.path()).pop().unwrap();
    let mut bytes = std::fs::read(&newest_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&newest_file, bytes).unwrap();

    let mut from_checkpoint = Engine::start_on(journal, CHECKPOINTED, &[]);
    let opened = event(&from_checkpoint.out, "journal opened");
    let at: u64 = opened.get("from_checkpoint_before_entry").parse().unwrap();
    let next: u64 = opened.get("next_entry").parse().unwrap();
    assert!(at >= newest as u64, "the newest: {}", from_checkpoint.out);
    assert_eq!(
        opened.num("entries_read") as u64,
        next - at,
        "only what follows it"
    );
    let expected = restored(&from_checkpoint);
    assert!(from_checkpoint.stop(), "{}", from_checkpoint.out);

    let mut read_whole = Engine::start_on(whole, CHECKPOINTED, &[]);
    let opened = event(&read_whole.out, "journal opened");
    assert_eq!(opened.find("from_checkpoint_before_entry"), None);
    assert_eq!(opened.num("entries_read") as u64, next);
    assert_eq!(restored(&read_whole), expected);
    assert!(read_whole.stop(), "{}", read_whole.out);

    let mut fell_back = Engine::start_on(damaged, CHECKPOINTED, &[]);
    let passed = event(
        &fell_back.out,
        "journal: a checkpoint could not serve; an older one or the whole journal did",
    );
    assert!(passed.get("why").contains("CRC-32"), "{}", fell_back.out);
    let opened = event(&fell_back.out, "journal opened");
    let older: u64 = opened.get("from_checkpoint_before_entry").parse().unwrap();
    assert!(older < at, "{}", fell_back.out);
    assert_eq!(opened.get("next_entry"), next.to_string());
    assert_eq!(restored(&fell_back), expected);
    assert!(fell_back.stop(), "{}", fell_back.out);
}

#[test]
fn a_restart_holding_an_instrument_the_feed_never_quotes_only_shrinks_and_says_why() {
    let mut engine = Engine::start("[feed.synthetic]\nrate = 5000\n", &[]);
    engine.wait_for("msg=status up_s=1 ");
    assert!(engine.stop(), "{}", engine.out);
    let journal = std::mem::replace(&mut engine.journal, tempfile::tempdir().unwrap());
    let (positions, _) = implied_state(&dump(journal.path()));
    assert!(
        positions[1..].iter().any(|&p| p != 0),
        "a position beside ESZ6's: {positions:?}"
    );
    // Then a feed of ESZ6 alone: the other held instruments are never
    // quoted, so their marks stay as stale as the stop was long.
    let file = replay_file(30_000);
    let replay = format!(
        "[feed]\nsource = \"replay\"\n[feed.replay]\npath = \"{}\"\npace = \"recorded\"\n",
        file.path().display()
    );
    let mut engine = Engine::start_on(journal, &replay, &[]);
    let restored = event(&engine.out, "state restored from the journal");
    assert_eq!(
        restored.get("until_every_held_instrument_is_quoted"),
        "only orders that shrink a position pass; the loss check waits"
    );
    engine.wait_for("msg=status up_s=2 ");
    let metrics = engine.get("/metrics").1;
    assert_eq!(sample(&metrics, "redline_risk_awaiting_marks"), 1.0);
    let waited = r#"redline_risk_rejections_total{reason="UNMARKED_POSITIONS"}"#;
    assert!(sample(&metrics, waited) > 0.0, "{metrics}");
    let (code, body) = engine.get("/health");
    assert_eq!(code, 200, "{body}");
    let health = json(&body);
    let risk = &health["components"]["risk"];
    assert_eq!(risk["status"], "degraded", "{risk}");
    assert!(
        risk["message"]
            .as_str()
            .unwrap()
            .contains("a held instrument has had no quote"),
        "{risk}"
    );
    assert!(engine.stop(), "{}", engine.out);
    // What was refused is in the journal with its reason, and what went
    // out only shrank ESZ6's position.
    let after = dump(engine.journal.path());
    let refused = after
        .iter()
        .filter(|e| e["type"] == "refused" && e["reason"] == "UNMARKED_POSITIONS")
        .count();
    assert!(refused > 0);
    let (now, _) = implied_state(&after);
    assert_eq!(now[1..], positions[1..]);
    assert!(
        now[0].abs() <= positions[0].abs() && now[0] * positions[0] >= 0,
        "ESZ6 went from {} to {}",
        positions[0],
        now[0]
    );
}
