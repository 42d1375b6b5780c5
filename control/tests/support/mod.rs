//! The engine as the control-plane tests drive it: the real binary on a
//! free loopback port, what it prints, and a real HTTP client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TOKEN_ENV: &str = "REDLINE_TEST_ADMIN_TOKEN";

/// A running `redline run`, its address and what it printed so far
/// (stdout and stderr).
pub struct Engine {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub out: String,
    pub base: String,
    _config: tempfile::NamedTempFile,
}

impl Engine {
    /// Starts the binary with backoff idling, a free port and `control`
    /// (more `[control]` keys) with `env` set, and waits for its first
    /// status line.
    pub fn start(control: &str, env: &[(&str, &str)]) -> Engine {
        let config = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        let text = format!(
            "[stages.fused]\nidle = \"backoff\"\n\
             [control]\nlisten = \"127.0.0.1:0\"\ntoken_env = \"{TOKEN_ENV}\"\n{control}"
        );
        std::fs::write(config.path(), text).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_redline"));
        command
            .arg("run")
            .arg("--config")
            .arg(config.path())
            .env_remove(TOKEN_ENV)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        forward(stdout, tx.clone());
        forward(stderr, tx);
        let mut engine = Engine {
            child,
            lines,
            out: String::new(),
            base: String::new(),
            _config: config,
        };
        engine.wait_for("status: up");
        let addr = engine
            .out
            .split("control plane on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no control plane address in:\n{}", engine.out))
            .to_owned();
        engine.base = format!("http://{addr}");
        engine
    }

    pub fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.out.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.out += &(line + "\n"),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no {text:?} within 10 s; got:\n{}", self.out);
                }
            }
        }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, None)
    }

    pub fn admin(&self, path: &str, token: &str) -> (u16, String) {
        self.request("GET", path, Some(token))
    }

    pub fn request(&self, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
        self.send(method, path, token, None)
    }

    /// `method path` with `token` and `body`, and the answer; answers
    /// take up to 10 s (a command waits for the venue).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut request =
            ureq::request(method, &format!("{}{path}", self.base)).timeout(Duration::from_secs(10));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        let answer = match body {
            Some(body) => request.send_string(body),
            None => request.call(),
        };
        match answer {
            Ok(response) => (response.status(), response.into_string().unwrap()),
            Err(ureq::Error::Status(code, response)) => (code, response.into_string().unwrap()),
            Err(other) => panic!("{method} {path}: {other}"),
        }
    }

    /// Sends SIGTERM and returns whether it exited 0.
    pub fn stop(&mut self) -> bool {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        self.exits_0()
    }

    /// Waits (up to 20 s) for the engine to exit, taking what it printed;
    /// returns whether it exited 0.
    pub fn exits_0(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            while let Ok(line) = self.lines.try_recv() {
                self.out += &(line + "\n");
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // What it printed last may still be on its way.
                std::thread::sleep(Duration::from_millis(50));
                while let Ok(line) = self.lines.try_recv() {
                    self.out += &(line + "\n");
                }
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "still running after 20 s:\n{}",
                self.out
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends each line `from` prints to `to`, from a thread of its own.
fn forward(from: impl std::io::Read + Send + 'static, to: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            if to.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The value of an unlabelled sample in a metrics text.
pub fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name}"))
}
