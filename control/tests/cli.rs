//! The `redline` binary as a user runs it: version, config checks, and a
//! run that starts its stages and stops cleanly on SIGTERM and SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod support;

use support::{
    check_config as check, event, events, redline, replay_setup, run_command, run_to_end,
    write_config,
};

#[test]
fn version_names_the_binary_and_crate_version() {
    let out = redline().arg("--version").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("redline {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_accepts_a_partial_overlay() {
    let out = check("[topology]\nmode = \"pipeline\"\n[stages.feed]\nidle = \"backoff\"\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": ok\n"));
}

#[test]
fn check_config_accepts_the_embedded_default() {
    let default = redline().arg("default-config").output().unwrap();
    assert!(default.status.success());
    let out = check(std::str::from_utf8(&default.stdout).unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_prints_every_error_with_its_key_path_and_fails() {
    let out = check("[stages.decide]\ncore = 4096\n[stages.gateway]\ncore = 4097\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("redline: invalid config "), "{stderr}");
    assert!(stderr.contains("2 errors:"), "{stderr}");
    assert!(
        stderr.contains("`stages.decide.core`: core 4096 does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`stages.gateway.core`: core 4097 does not exist"),
        "{stderr}"
    );
}

#[test]
fn check_config_names_an_unknown_key() {
    let out = check("[topology]\npinnning = \"required\"\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`topology.pinnning`: unknown field `pinnning`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`pinning`"),
        "names the real keys: {stderr}"
    );
}

#[test]
fn run_refuses_an_invalid_config_before_starting_anything() {
    let file = write_config("[stages.fused]\nidle = \"sleepy\"\n");
    let out = run_command(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`stages.fused.idle`: unknown variant `sleepy`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing started");
}

/// Starts `redline run` on a backoff config, waits for it to report that it
/// runs and for one status line, sends `signal`, and returns its output.
fn run_until(signal: &str, topology: &str) -> (bool, String) {
    let file = write_config(&format!(
        "[topology]\nmode = \"{topology}\"\n\
         [stages.fused]\nidle = \"backoff\"\n[stages.feed]\nidle = \"backoff\"\n\
         [stages.decide]\nidle = \"backoff\"\n[stages.gateway]\nidle = \"backoff\"\n"
    ));
    let mut child = run_command(&file).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let mut seen = String::new();
    while !seen.contains("msg=status ") {
        match lines_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => seen += &(line + "\n"),
            Err(_) => {
                let _ = child.kill();
                panic!("no status line within 10 s; got:\n{seen}");
            }
        }
    }
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(lines_rx.try_iter().map(|line| line + "\n"));
    (status.success(), seen)
}

#[test]
fn run_starts_the_fused_stage_and_stops_cleanly_on_sigterm() {
    let (ok, out) = run_until("-TERM", "fused");
    assert!(ok, "exit status not 0:\n{out}");
    assert_eq!(event(&out, "starting").get("topology"), "fused", "{out}");
    assert_eq!(event(&out, "stage").get("stage"), "fused", "{out}");
    event(&out, "running; stop with Ctrl-C or SIGTERM (drains first)");
    assert_quotes_flow(&out);
}

/// The status line reports quotes processed in the last second; the feed
/// is paced at the default 100k/s, so some must have been.
fn assert_quotes_flow(out: &str) {
    let status = event(out, "status");
    assert!(
        status.num("quotes_per_s") > 1000.0,
        "quotes flow: {status:?}"
    );
    assert_eq!(status.get("state"), "active");
    for field in [
        "decisions_per_s",
        "orders",
        "fills",
        "rejects",
        "pnl",
        "realized_pnl",
        "unrealized_pnl",
        "quote_to_order_p50_ns",
        "quote_to_order_p99_ns",
        "quote_to_order_p999_ns",
    ] {
        status.num(field);
    }
    assert!(!status.get("positions").is_empty());
    let summary = event(out, "stopped cleanly");
    assert!(
        summary.num("orders_sent") > 0.0,
        "the strategy sent orders: {summary:?}"
    );
    let cents = |key| (summary.num(key) * 100.0).round() as i64;
    let (total, realized, unrealized) =
        (cents("pnl"), cents("realized_pnl"), cents("unrealized_pnl"));
    assert!(
        (total - realized - unrealized).abs() <= 1,
        "pnl is realized plus unrealized: {summary:?}"
    );
}

#[test]
fn run_starts_every_pipeline_stage_and_stops_cleanly_on_sigint() {
    let (ok, out) = run_until("-INT", "pipeline");
    assert!(ok, "exit status not 0:\n{out}");
    let stages: Vec<String> = events(&out, "stage")
        .iter()
        .map(|e| e.get("stage").to_owned())
        .collect();
    assert_eq!(stages, ["feed", "decide", "gateway"], "{out}");
    assert_quotes_flow(&out);
}

#[test]
fn a_replay_runs_every_quote_through_and_ends_the_run() {
    for topology in ["fused", "pipeline"] {
        let (_csv, config) = replay_setup(5000, "fastest", topology);
        let stdout = run_to_end(&config);
        let feed = event(&stdout, "starting").get("feed").to_owned();
        assert!(
            feed.starts_with("replay of 5000 quotes"),
            "{topology}: {feed}"
        );
        event(&stdout, "replay finished");
        assert_eq!(
            event(&stdout, "stopped cleanly").num("quotes"),
            5000.0,
            "{topology}: {stdout}"
        );
    }
}

#[test]
fn logs_are_json_lines_or_logfmt_at_the_configured_level() {
    let (csv, _) = replay_setup(500, "fastest", "fused");
    let with_log = |log: &str| {
        write_config(&format!(
            "[stages.fused]\nidle = \"backoff\"\n\
             [feed]\nsource = \"replay\"\n[feed.replay]\npath = \"{}\"\npace = \"fastest\"\n\
             [log]\n{log}",
            csv.path().display()
        ))
    };
    let json = run_to_end(&with_log("format = \"json\"\n"));
    let events: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = events
        .iter()
        .find(|e| e["msg"] == "stopped cleanly")
        .unwrap_or_else(|| panic!("no summary in {json}"));
    assert_eq!(summary["quotes"], 500, "numbers stay numbers: {summary}");
    assert_eq!(summary["level"], "info");
    assert!(events.iter().all(|e| e["ts"].as_str().is_some()));

    let logfmt = run_to_end(&with_log(""));
    assert_eq!(event(&logfmt, "stopped cleanly").num("quotes"), 500.0);
    assert!(logfmt.lines().all(|l| l.starts_with("ts=")), "{logfmt}");

    let quiet = run_to_end(&with_log("level = \"warn\"\n"));
    assert!(
        quiet.lines().all(|l| !l.contains(" level=info ")),
        "nothing below warn: {quiet}"
    );
    let out = check("[log]\nlevel = \"verbose\"\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`log.level`: unknown variant `verbose`"),
        "{stderr}"
    );
}

#[test]
fn a_replay_at_recorded_pace_takes_the_recorded_time() {
    // 200 quotes 1 ms apart: about 0.2 s, not instantly.
    let (_csv, config) = replay_setup(200, "recorded", "fused");
    let started = std::time::Instant::now();
    let out = run_command(&config).output().unwrap();
    assert!(out.status.success());
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_bad_replay_line_is_refused_before_anything_starts() {
    let csv = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(
        csv.path(),
        "1,ESZ6,6000.00,10,6000.25,12\n2,ESZ6,6000.00,10,5999.75,12\n",
    )
    .unwrap();
    let out = check(&format!(
        "[feed]\nsource = \"replay\"\n[feed.replay]\npath = \"{}\"\npace = \"fastest\"\n",
        csv.path().display()
    ));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = format!(
        "`feed.replay.path`: {}:2: field `ask`: 5999.75 is not above the bid",
        csv.path().display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_replay_source_needs_a_path() {
    let out = check("[feed]\nsource = \"replay\"\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`feed.replay.path`: must name the file to replay"),
        "{stderr}"
    );
}

#[test]
fn a_simulated_replay_makes_the_same_decisions_every_time() {
    // 20 s of recorded quotes run in simulated time: as fast as the path
    // goes, with the venue's 50 us latency and fills on the recorded
    // schedule.
    let (csv, _) = replay_setup(20_000, "recorded", "fused");
    let config = |venue_seed: u64| {
        write_config(&format!(
            "[clock]\nsource = \"simulated\"\n[venue.sim]\nseed = {venue_seed}\n\
             [feed]\nsource = \"replay\"\n[feed.replay]\npath = \"{}\"\n\
             pace = \"recorded\"\n",
            csv.path().display()
        ))
    };
    let digest = |stdout: &str| event(stdout, "stopped cleanly").get("digest").to_owned();
    let started = std::time::Instant::now();
    let first = run_to_end(&config(7));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "simulated time does not wait for the recorded 20 s"
    );
    let summary = event(&first, "stopped cleanly");
    assert_eq!(summary.num("quotes"), 20000.0, "{first}");
    assert_ne!(summary.num("fills"), 0.0, "{first}");
    assert_eq!(event(&first, "starting").get("time"), "simulated");
    let second = run_to_end(&config(7));
    assert_eq!(digest(&first), digest(&second), "{first}\n{second}");
    let other = run_to_end(&config(8));
    assert_ne!(digest(&first), digest(&other), "the venue seed matters");
}

#[test]
fn check_config_names_strategy_risk_venue_ring_and_trading_day_errors() {
    let out = check(
        "[strategy]\nname = \"market-maker\"\n\
         [strategy.params.market-maker]\nqty = 0\n\
         [risk]\nmax_order_qty = 0\n\
         [venue.sim]\nfill_probability = 1.5\n\
         [venue.fix]\nconnect = \"venue:9878\"\nheartbeat_s = 0\npassword_env = \"FIX_PW\"\n\
         [rings]\norders = 8\n\
         [trading_day]\nstarts_utc = \"5pm\"\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for expected in [
        "`trading_day.starts_utc`: must be a UTC time of day, HH:MM or HH:MM:SS, got \"5pm\"",
        "`rings.orders`: must be a power of two from 32",
        "`risk.max_order_qty`: must be at least 1, got 0",
        "`venue.sim.fill_probability`: must be from 0 to 1",
        "`venue.fix.connect`: \"venue:9878\" is not an address and port (\"10.0.0.7:9878\")",
        "`venue.fix.heartbeat_s`: must be in 1 ..= 3600, got 0",
        "`venue.fix.username`: is empty, yet a password is configured",
        "`strategy.params.market-maker`: `qty` must be at least 1, got 0",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    }
    let out = check("[strategy]\nname = \"martingale\"\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`strategy.name`: no strategy named `martingale`"),
        "{stderr}"
    );
    assert!(stderr.contains("`market-maker`"), "{stderr}");
}

#[test]
fn simulated_time_needs_the_fused_topology_and_a_schedule() {
    let out = check(
        "[clock]\nsource = \"simulated\"\n[topology]\nmode = \"pipeline\"\n\
         [feed.synthetic]\nrate = 0\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("2 errors:"), "{stderr}");
    assert!(stderr.contains("fused topology"), "{stderr}");
    assert!(stderr.contains("has none"), "{stderr}");
}

#[test]
fn check_config_names_a_bad_control_listener() {
    let out = check("[control]\nlisten = \"localhost\"\nstall_ms = 1\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`control.listen`: must be an IP address and port"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`control.stall_ms`: must be 10 to 600000"),
        "{stderr}"
    );
}
