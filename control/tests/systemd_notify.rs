//! systemd notification as a `Type=notify` unit with `WatchdogSec=` sees
//! it: `READY=1` once the stages run, `WATCHDOG=1` while their heartbeats
//! advance and never once one is wedged, `STOPPING=1` on SIGTERM.

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use support::Engine;

/// systemd's end of `NOTIFY_SOCKET`.
struct Systemd {
    socket: UnixDatagram,
    path: String,
    _dir: tempfile::TempDir,
}

impl Systemd {
    fn new() -> Systemd {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Systemd {
            socket,
            path: path.to_string_lossy().into_owned(),
            _dir: dir,
        }
    }

    /// The messages that arrive within `wait`.
    fn messages(&self, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut messages = Vec::new();
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        messages
    }
}

fn count(messages: &[String], what: &str) -> usize {
    messages
        .iter()
        .filter(|m| m.lines().any(|l| l == what))
        .count()
}

#[test]
fn ready_then_the_watchdog_while_stages_beat_then_stopping() {
    let systemd = Systemd::new();
    let mut engine = Engine::start(
        "",
        &[
            ("NOTIFY_SOCKET", &systemd.path),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let running = systemd.messages(Duration::from_secs(1));
    assert_eq!(count(&running, "READY=1"), 1, "{running:?}");
    assert!(count(&running, "WATCHDOG=1") >= 5, "{running:?}");
    assert!(engine.stop(), "{}", engine.out);
    let stopping = systemd.messages(Duration::from_millis(300));
    assert_eq!(count(&stopping, "STOPPING=1"), 1, "{stopping:?}");
}

#[test]
fn a_wedged_stage_starves_the_watchdog() {
    let systemd = Systemd::new();
    let _engine = Engine::start(
        "",
        &[
            ("NOTIFY_SOCKET", &systemd.path),
            ("WATCHDOG_USEC", "200000"),
            ("REDLINE_TEST_FREEZE_STAGE", "fused:300"),
        ],
    );
    // Engine::start returns after the first status line, a second in:
    // the stage has been wedged for most of it.
    let _ = systemd.messages(Duration::from_millis(200));
    let wedged = systemd.messages(Duration::from_secs(1));
    assert_eq!(count(&wedged, "WATCHDOG=1"), 0, "{wedged:?}");
}
