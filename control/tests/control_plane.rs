//! The control plane as its users reach it: the real binary on a free
//! loopback port, a real HTTP client against every endpoint, promtool on
//! the real metrics, the admin token's failures, and liveness turning red
//! when a stage stalls.

mod support;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{
    assert_control_side_confined, assert_promtool_passes, event, json, sample, Engine, TOKEN_ENV,
};

#[test]
fn health_version_and_ping_answer_as_probes_expect() {
    let mut engine = Engine::start("", &[]);
    assert_eq!(engine.get("/ping"), (200, "pong\n".into()));
    let (code, body) = engine.get("/version");
    assert_eq!(code, 200);
    let version = json(&body);
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    for key in ["git_commit", "build_profile", "target"] {
        assert!(
            version[key].as_str().is_some_and(|v| !v.is_empty()),
            "{body}"
        );
    }
    for path in ["/health/live", "/live", "/health/ready", "/ready"] {
        assert_eq!(engine.get(path).0, 200, "{path}");
    }
    let (code, body) = engine.get("/health");
    assert_eq!(code, 200, "{body}");
    let health = json(&body);
    assert_eq!(health["status"], "healthy", "{body}");
    assert_eq!(health["trading_state"], "active");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let timestamp = health["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() == 24 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
        "RFC 3339 UTC: {timestamp}"
    );
    assert!(health["uptime_seconds"].as_f64().unwrap() > 0.0);
    for component in ["feed", "venue", "persistence", "risk", "stage.fused"] {
        let c = &health["components"][component];
        assert_eq!(c["status"], "healthy", "{component}: {body}");
        assert!(c["message"].is_string(), "{component}: {body}");
    }
    assert!(health["components"]["stage.fused"]["pinning"].is_string());
    let persistence = health["components"]["persistence"]["message"]
        .as_str()
        .unwrap();
    assert!(persistence.starts_with("journal: "), "{persistence}");
    let risk = health["components"]["risk"]["message"].as_str().unwrap();
    assert!(
        risk.starts_with("trading active; today's P&L ")
            && risk.ends_with(" against a daily loss limit of 250000"),
        "{risk}"
    );
    let system = &health["system"];
    assert!(
        system["resident_bytes"].as_u64().unwrap() > 1 << 20,
        "{body}"
    );
    assert!(system["memory_percent"].as_f64().unwrap() > 0.0, "{body}");
    assert!(system["cpu_percent"].as_f64().is_some(), "{body}");

    let (code, body) = engine.get("/no/such/thing");
    assert_eq!(code, 404);
    assert!(json(&body)["error"].is_string());
    assert_eq!(engine.request("POST", "/health", None).0, 405);
    assert!(engine.stop(), "exits 0 on SIGTERM: {}", engine.out);
}

#[test]
fn metrics_pass_promtool_and_move_with_the_path() {
    let mut engine = Engine::start("", &[]);
    let (code, first) = engine.get("/metrics");
    assert_eq!(code, 200);
    assert_promtool_passes(&first);
    for family in [
        "redline_quotes_total",
        "redline_decisions_total",
        "redline_orders_sent_total{kind=\"new\"}",
        "redline_executions_total{type=\"fill\"}",
        "redline_risk_rejections_total{reason=\"PRICE_COLLAR\"}",
        "redline_trading_state{state=\"active\"} 1",
        "redline_position_lots{instrument=\"ESZ6\"}",
        "redline_exposure{instrument=\"MSFT\"}",
        "redline_realized_pnl",
        "redline_unrealized_pnl",
        "redline_open_orders",
        "redline_ring_occupancy{ring=\"audit\"}",
        "redline_ring_full_total{ring=\"audit\"}",
        "redline_audit_backlog",
        "redline_pinning_failures_total",
        "redline_malformed_inputs_total{source=\"admin\"}",
        "redline_quote_to_send_seconds_bucket{le=\"0.000001\"}",
        "redline_quote_to_decision_seconds_count",
        "redline_decision_to_send_seconds_sum",
        "redline_process_resident_memory_bytes",
        "redline_process_cpu_seconds_total",
        "redline_process_threads",
        "redline_process_open_fds",
        "redline_process_start_time_seconds",
        "redline_journal_entries_total",
        "redline_journal_bytes_total",
        "redline_journal_fsyncs_total",
        "redline_journal_write_errors_total 0",
        "redline_journal_backlog_entries",
        "redline_journal_segments 1",
        "redline_journal_next_sequence",
        "redline_journal_disk_free_bytes",
        "redline_day_pnl",
        "redline_risk_limit{limit=\"max_daily_loss\"} 250000",
        "redline_risk_limit{limit=\"max_open_orders\"} 64",
    ] {
        assert!(first.contains(family), "{family} in:\n{first}");
    }
    let build = format!(
        "redline_build_info{{version=\"{}\",commit=\"",
        env!("CARGO_PKG_VERSION")
    );
    assert!(first.contains(&build), "{build} in:\n{first}");
    std::thread::sleep(Duration::from_millis(300));
    let (_, second) = engine.get("/metrics");
    let moved = |name| sample(&second, name) > sample(&first, name);
    assert!(moved("redline_quotes_total"), "quotes flow");
    assert!(moved("redline_journal_entries_total"), "the journal grows");
    assert!(moved("redline_journal_fsyncs_total"), "and is synced");
    assert!(
        moved("redline_quote_to_send_seconds_count"),
        "latency recorded"
    );
    let count = sample(&second, "redline_quote_to_send_seconds_count");
    let inf = second
        .lines()
        .find_map(|l| l.strip_prefix("redline_quote_to_send_seconds_bucket{le=\"+Inf\"} "))
        .unwrap();
    assert_eq!(inf.parse::<f64>().unwrap(), count, "+Inf bucket = count");
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn admin_needs_the_bearer_token_and_counts_failures() {
    let mut engine = Engine::start("", &[(TOKEN_ENV, "s3cret-token")]);
    let admin = event(&engine.out, "control plane on")
        .get("admin")
        .to_owned();
    assert!(admin.starts_with("on, bearer token "), "{admin}");
    assert!(admin.ends_with(" required"), "{admin}");
    let (code, body) = engine.get("/admin/latency");
    assert_eq!(code, 401);
    assert_eq!(json(&body)["error"], "missing bearer token");
    let (code, body) = engine.admin("/admin/latency", "s3cret-tokem");
    assert_eq!(code, 401);
    assert_eq!(json(&body)["error"], "wrong bearer token");

    let (code, body) = engine.admin("/admin/latency", "s3cret-token");
    assert_eq!(code, 200, "{body}");
    let latency = json(&body);
    for name in ["quote_to_decision", "decision_to_send", "quote_to_send"] {
        let l = &latency[name];
        assert_eq!(l["unit"], "ns");
        assert!(l["count"].as_u64().unwrap() > 0, "{name}: {body}");
        assert!(l["p99"].as_u64().unwrap() >= l["p50"].as_u64().unwrap());
        assert!(!l["percentiles"].as_array().unwrap().is_empty());
    }
    let (code, hgrm) = engine.admin("/admin/latency?format=hgrm", "s3cret-token");
    assert_eq!(code, 200);
    assert!(
        hgrm.starts_with("       Value     Percentile TotalCount"),
        "{hgrm}"
    );
    assert!(hgrm.contains("#[Max     ="), "{hgrm}");
    let (code, body) = engine.admin("/admin/latency?format=xml", "s3cret-token");
    assert_eq!(code, 400);
    assert!(json(&body)["error"]
        .as_str()
        .unwrap()
        .contains("json or hgrm"));
    let (code, _) = engine.admin("/admin/latency?format=hgrm&name=nope", "s3cret-token");
    assert_eq!(code, 400);
    assert_eq!(engine.admin("/admin/nothing", "s3cret-token").0, 404);

    let (_, metrics) = engine.get("/metrics");
    assert_eq!(sample(&metrics, "redline_admin_auth_failures_total"), 2.0);
    assert!(metrics.contains("redline_malformed_inputs_total{source=\"admin\"} 2"));
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn admin_is_disabled_without_a_token_and_a_token_file_turns_it_on() {
    let mut engine = Engine::start("", &[]);
    assert_eq!(
        event(&engine.out, "control plane on").get("admin"),
        "off: no token configured"
    );
    let (code, body) = engine.admin("/admin/latency", "anything");
    assert_eq!(code, 403);
    assert!(json(&body)["error"].as_str().unwrap().contains("disabled"));
    assert!(engine.stop(), "{}", engine.out);

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "from-a-file\n").unwrap();
    let control = format!("token_file = \"{}\"\n", file.path().display());
    let mut engine = Engine::start(&control, &[(TOKEN_ENV, "from-env")]);
    assert_eq!(engine.admin("/admin/latency", "from-a-file").0, 200);
    assert_eq!(
        engine.admin("/admin/latency", "from-env").0,
        401,
        "the file wins"
    );
    let exposed = "a secret file is readable by others than its owner";
    assert!(!engine.out.contains(exposed), "0600: {}", engine.out);
    assert!(engine.stop(), "{}", engine.out);

    // Readable by others: it still serves, with a warning that says how
    // to mend it.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut engine = Engine::start(&control, &[]);
    let warned = event(&engine.out, exposed);
    assert_eq!(warned.get("key"), "control.token_file");
    assert_eq!(warned.get("mode"), "644");
    assert!(warned.get("fix").starts_with("chmod 600 "));
    assert!(
        !engine.out.contains("from-a-file"),
        "never the token itself"
    );
    assert_eq!(engine.admin("/admin/latency", "from-a-file").0, 200);
    assert!(engine.stop(), "{}", engine.out);

    // Group-readable: fine when root owns it (a Kubernetes secret volume
    // with an fsGroup), as PostgreSQL allows for its key; else warned of.
    use std::os::unix::fs::MetadataExt as _;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let root_owned = std::fs::metadata(file.path()).unwrap().uid() == 0;
    let mut engine = Engine::start(&control, &[]);
    assert_eq!(engine.out.contains(exposed), !root_owned, "{}", engine.out);
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn a_listener_address_in_use_stops_the_start_with_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(
        config.path(),
        format!("[control]\nlisten = \"{addr}\"\n[stages.fused]\nidle = \"backoff\"\n"),
    )
    .unwrap();
    let journal = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_redline"))
        .arg("run")
        .arg("--config")
        .arg(config.path())
        .env("REDLINE_JOURNAL_DIR", journal.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("control.listen: cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn liveness_turns_red_when_a_stage_stalls() {
    let mut engine = Engine::start(
        "stall_ms = 200\ndrain_grace_ms = 500\n",
        &[("REDLINE_TEST_FREEZE_STAGE", "fused:300")],
    );
    assert!(engine.out.contains("test hook"), "{}", engine.out);
    // The stage freezes 300 ms after it starts; give it time to count as
    // stalled, then watch liveness, readiness and health agree.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (code, body) = loop {
        let (code, body) = engine.get("/health/live");
        if code == 503 || Instant::now() > deadline {
            break (code, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("fused"), "{body}");
    let (code, body) = engine.get("/health/ready");
    assert_eq!(code, 503);
    assert!(body.contains("stage fused stalled"), "{body}");
    let (code, body) = engine.get("/health");
    assert_eq!(code, 503);
    let health = json(&body);
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["components"]["stage.fused"]["status"], "unhealthy");
    engine.wait_for("msg=status up_s=2 ");
    // The drain cannot finish with the decide stage frozen: the engine
    // still stops after the grace period, and says so with status 1.
    assert!(!engine.stop(), "{}", engine.out);
    assert!(
        engine.out.contains("drain: not done within 500 ms"),
        "{}",
        engine.out
    );
}

#[test]
fn a_stalled_journal_shows_in_health_while_the_probes_answer() {
    // A second and a half in: after the start, which waits for the first
    // status line.
    let mut engine = Engine::start("", &[("REDLINE_TEST_STALL_JOURNAL", "1500:4000")]);
    assert!(
        engine.out.contains("test hook stalls a journal sync"),
        "{}",
        engine.out
    );
    // The side thread waits on the "disk"; the listener, on its own
    // thread, answers all the same, and says why nothing is journaled.
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (code, body) = engine.get("/health");
        if body.contains("journal stalled") || Instant::now() > deadline {
            assert_eq!(code, 200, "degraded, not unhealthy: {body}");
            break body;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let health = json(&body);
    let persistence = &health["components"]["persistence"];
    assert_eq!(persistence["status"], "degraded", "{body}");
    assert!(
        persistence["message"]
            .as_str()
            .unwrap()
            .contains("has waited on the disk for"),
        "{body}"
    );
    assert_eq!(engine.get("/health/live"), (200, "live\n".into()));
    let (code, ready) = engine.get("/health/ready");
    assert_eq!(code, 503);
    assert!(ready.contains("persistence: journal stalled"), "{ready}");
    let waited = sample(
        &engine.get("/metrics").1,
        "redline_journal_disk_wait_seconds",
    );
    assert!(waited > 1.0, "{waited}");
    // The log is written on a thread of its own too: it says so while the
    // stall lasts.
    engine.wait_for("journal: a write or sync is waiting on the disk");
    assert!(
        engine.get("/health").1.contains("journal stalled"),
        "logged during the stall"
    );

    // Once the disk answers, the journal catches up and trading goes on.
    let deadline = Instant::now() + Duration::from_secs(20);
    while engine.get("/health/ready").0 != 200 {
        assert!(Instant::now() < deadline, "{}", engine.get("/health").1);
        std::thread::sleep(Duration::from_millis(50));
    }
    engine.wait_for("journal: the disk answered; taking records again");
    let metrics = engine.get("/metrics").1;
    // A write may be in progress as it is read, but none stalls now.
    let waited = sample(&metrics, "redline_journal_disk_wait_seconds");
    assert!(waited < 1.0, "under control.stall_ms again: {waited}");
    assert_eq!(sample(&metrics, "redline_journal_write_errors_total"), 0.0);
    assert!(engine.stop(), "{}", engine.out);
}

/// Opens a connection to the engine's listener.
fn connect(engine: &Engine) -> std::net::TcpStream {
    let addr = engine.base.trim_start_matches("http://");
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// Sends `bytes` on a fresh connection and returns the status code of the
/// answer (0 if the connection closed without one).
fn status_of(engine: &Engine, bytes: &[u8]) -> u16 {
    use std::io::Read;
    let mut stream = connect(engine);
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[test]
fn hundreds_of_slow_connections_neither_stop_trading_nor_liveness() {
    let mut engine = Engine::start(
        "max_connections = 16\nrequest_timeout_ms = 1000\nidle_timeout_ms = 2000\n",
        &[],
    );
    // Slowloris: each sends part of a request head and then nothing.
    let slow: Vec<std::net::TcpStream> = (0..300)
        .map(|_| {
            let mut stream = connect(&engine);
            stream
                .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    let quotes = |engine: &Engine| sample(&engine.get("/metrics").1, "redline_quotes_total");
    let before = quotes(&engine);
    for _ in 0..15 {
        assert_eq!(engine.get("/health/live"), (200, "live\n".into()));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(quotes(&engine) > before + 10_000.0, "still trading");
    let metrics = engine.get("/metrics").1;
    assert!(sample(&metrics, "redline_admin_connections") <= 16.0);
    assert!(
        sample(
            &metrics,
            "redline_admin_connections_closed_total{reason=\"replaced_slow\"}"
        ) >= 280.0,
        "{metrics}"
    );
    drop(slow);

    // One that stalls alone is timed out with 408.
    let mut stalled = connect(&engine);
    stalled.write_all(b"GET /ping HTTP/1.1\r\n").unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut stalled, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");

    let huge_head = format!(
        "GET /ping HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
        "x".repeat(10_000)
    );
    assert_eq!(status_of(&engine, huge_head.as_bytes()), 431);
    assert_eq!(
        status_of(
            &engine,
            b"POST /admin/halt HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
        411
    );
    assert_eq!(
        status_of(
            &engine,
            b"POST /admin/halt HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n"
        ),
        413
    );
    // Garbage gets an error or a closed connection, never a dead engine.
    for garbage in [
        &b"\x00\xff\xfe garbage \r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /%%%%%ff HTTP/1.1\r\nHost: \xff\r\n\r\n",
        b"POST /admin/halt HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    ] {
        let code = status_of(&engine, garbage);
        assert!(code == 0 || code >= 400, "{garbage:?}: {code}");
    }
    assert_eq!(engine.get("/health/live").0, 200);
    assert!(
        sample(
            &engine.get("/metrics").1,
            "redline_malformed_inputs_total{source=\"admin\"}"
        ) >= 3.0
    );
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn the_control_side_keeps_off_the_pinned_stage_core() {
    let mut engine = Engine::start("", &[]);
    assert_control_side_confined(
        &engine,
        &[
            "redline-side",
            "redline-http",
            "redline-log",
            "redline-door",
        ],
    );
    assert!(engine.stop(), "{}", engine.out);
}
