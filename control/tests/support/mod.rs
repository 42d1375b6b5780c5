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
    config: tempfile::NamedTempFile,
    /// The config file's text as started.
    config_text: String,
    /// Its journal directory.
    pub journal: tempfile::TempDir,
}

impl Engine {
    /// Starts the binary with backoff idling, a free port and `control`
    /// (more `[control]` keys) with `env` set, and waits for its first
    /// status line.
    pub fn start(control: &str, env: &[(&str, &str)]) -> Engine {
        Engine::start_on(tempfile::tempdir().unwrap(), control, env)
    }

    /// As [`Engine::start`], on the journal in `journal` (an earlier
    /// engine's, for a restart).
    pub fn start_on(journal: tempfile::TempDir, control: &str, env: &[(&str, &str)]) -> Engine {
        let config = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        // A drain ends once its end is journaled; eight engines journaling
        // side by side on a CI disk can hold a sync for seconds, so the
        // grace is wider than the default 5 s unless a test sets its own.
        let grace = if control.contains("drain_grace_ms") {
            ""
        } else {
            "drain_grace_ms = 15000\n"
        };
        let text = format!(
            "[stages.fused]\nidle = \"backoff\"\n\
             [control]\nlisten = \"127.0.0.1:0\"\ntoken_env = \"{TOKEN_ENV}\"\n{grace}{control}"
        );
        std::fs::write(config.path(), &text).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_redline"));
        command
            .arg("run")
            .arg("--config")
            .arg(config.path())
            .env("REDLINE_JOURNAL_DIR", journal.path())
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
            config,
            config_text: text,
            journal,
        };
        engine.wait_for("msg=status ");
        let url = event(&engine.out, "control plane on").get("url").to_owned();
        engine.base = url;
        engine
    }

    pub fn wait_for(&mut self, text: &str) {
        self.wait_for_n(text, 1, Duration::from_secs(10));
    }

    /// Waits until it has printed `text` `n` times, up to `within`.
    pub fn wait_for_n(&mut self, text: &str, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.out.matches(text).count() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.out += &(line + "\n"),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("not {n} x {text:?} within {within:?}; got:\n{}", self.out);
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

    /// Rewrites the config file: as started, then `more`.
    pub fn rewrite_config(&self, more: &str) {
        std::fs::write(self.config.path(), format!("{}\n{more}", self.config_text)).unwrap();
    }

    /// Sends `signal` (`-HUP`, ...).
    pub fn signal(&self, signal: &str) {
        let kill = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    /// Sends SIGTERM and returns whether it exited 0 (within 20 s).
    pub fn stop(&mut self) -> bool {
        self.stop_within(Duration::from_secs(20))
    }

    /// Sends SIGTERM and returns whether it exited 0 within `bound` (a
    /// drain that copies a backlog into PostgreSQL takes longer).
    pub fn stop_within(&mut self, bound: Duration) -> bool {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        self.exits_0_within(bound)
    }

    /// Waits (up to 20 s) for the engine to exit, taking what it printed;
    /// returns whether it exited 0.
    pub fn exits_0(&mut self) -> bool {
        self.exits_0_within(Duration::from_secs(20))
    }

    /// As [`Engine::exits_0`], up to `bound`.
    pub fn exits_0_within(&mut self, bound: Duration) -> bool {
        let deadline = Instant::now() + bound;
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
                "still running after {bound:?}:\n{}",
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

/// Runs `promtool check metrics` on an exposition and fails the test
/// with what it says unless it passes.
pub fn assert_promtool_passes(metrics: &str) {
    use std::io::Write as _;
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian's prometheus package; .ci/run installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// One logfmt event's fields, values unquoted.
#[derive(Debug, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses one logfmt line.
    pub fn parse(line: &str) -> Fields {
        let mut fields = Vec::new();
        let mut rest = line.trim_start();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=').unwrap_or((rest, ""));
            let (value, after) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let mut value = String::new();
                    let mut chars = quoted.char_indices();
                    let mut end = quoted.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '"' => {
                                end = i + 1;
                                break;
                            }
                            '\\' => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some('r') => value.push('\r'),
                                Some('t') => value.push('\t'),
                                Some(other) => value.push(other),
                                None => {}
                            },
                            c => value.push(c),
                        }
                    }
                    (value, &quoted[end..])
                }
                None => {
                    let end = after.find(' ').unwrap_or(after.len());
                    (after[..end].to_owned(), &after[end..])
                }
            };
            fields.push((key.to_owned(), value));
            rest = after.trim_start();
        }
        Fields(fields)
    }

    /// The value of `key`, if it is there.
    pub fn find(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`; panics naming the line when it is not there.
    pub fn get(&self, key: &str) -> &str {
        self.find(key)
            .unwrap_or_else(|| panic!("no field {key:?} in {self:?}"))
    }

    /// The value of `key` as a number.
    pub fn num(&self, key: &str) -> f64 {
        self.get(key)
            .parse()
            .unwrap_or_else(|_| panic!("field {key:?} is not a number in {self:?}"))
    }
}

/// Each logged event in `out` whose `msg` is `msg`.
pub fn events(out: &str, msg: &str) -> Vec<Fields> {
    out.lines()
        .map(Fields::parse)
        .filter(|f| f.find("msg") == Some(msg))
        .collect()
}

/// The first event in `out` whose `msg` is `msg`; panics showing `out`
/// when there is none.
pub fn event(out: &str, msg: &str) -> Fields {
    events(out, msg)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {msg:?} event in:\n{out}"))
}

/// The repository's `deploy/` folder.
pub fn deploy() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

pub fn redline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redline"))
}

/// Runs `command`, asserts that it succeeded, and returns its stdout.
pub fn stdout_of(command: &mut Command) -> String {
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every entry `redline journal dump DIR` prints, as JSON.
pub fn dump(dir: &std::path::Path) -> Vec<Value> {
    stdout_of(redline().args(["journal", "dump"]).arg(dir))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A config file of `text` in a directory of its own, with the journal
/// beside it; its control plane listens on a free port, so that runs in
/// parallel do not fight over the default one (nor over a journal).
pub struct TestConfig {
    dir: tempfile::TempDir,
}

impl TestConfig {
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("redline.toml")
    }

    pub fn journal(&self) -> std::path::PathBuf {
        self.dir.path().join("journal")
    }
}

pub fn write_config(text: &str) -> TestConfig {
    let config = TestConfig {
        dir: tempfile::tempdir().unwrap(),
    };
    let mut text = text.to_owned();
    if !text.contains("[control]") {
        text += "\n[control]\nlisten = \"127.0.0.1:0\"\n";
    }
    if !text.contains("[persistence]") {
        text += &format!(
            "\n[persistence]\njournal_dir = \"{}\"\n",
            config.journal().display()
        );
    }
    std::fs::write(config.path(), text).unwrap();
    config
}

/// `redline check-config` on a config of `text` (see [`write_config`]).
pub fn check_config(text: &str) -> std::process::Output {
    let file = write_config(text);
    redline()
        .arg("check-config")
        .arg(file.path())
        .output()
        .unwrap()
}

/// A replay file of `n` quotes of ESZ6, 1 ms apart, and a config running it
/// at `pace` in `topology`.
pub fn replay_setup(n: usize, pace: &str, topology: &str) -> (tempfile::NamedTempFile, TestConfig) {
    let file = replay_file(n);
    let config = write_config(&format!(
        "[topology]\nmode = \"{topology}\"\n\
         [stages.fused]\nidle = \"backoff\"\n[stages.feed]\nidle = \"backoff\"\n\
         [stages.decide]\nidle = \"backoff\"\n[stages.gateway]\nidle = \"backoff\"\n\
         [feed]\nsource = \"replay\"\n[feed.replay]\npath = \"{}\"\npace = \"{pace}\"\n",
        file.path().display()
    ));
    (file, config)
}

/// A replay file of `n` quotes of ESZ6, 1 ms apart.
pub fn replay_file(n: usize) -> tempfile::NamedTempFile {
    let mut csv = String::from("timestamp_ns,symbol,bid,bid_size,ask,ask_size\n");
    for i in 0..n {
        let bid = 6000.0 + 0.25 * (i % 7) as f64;
        csv += &format!("{},ESZ6,{bid:.2},10,{:.2},12\n", i * 1_000_000, bid + 0.25);
    }
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), csv).unwrap();
    file
}

/// `redline run --config` on `config`, to be spawned or run.
pub fn run_command(config: &TestConfig) -> Command {
    let mut command = redline();
    command.arg("run").arg("--config").arg(config.path());
    command
}

/// Runs `redline run` on `config` to its end and returns its stdout.
pub fn run_to_end(config: &TestConfig) -> String {
    stdout_of(&mut run_command(config))
}

/// Each of the engine's threads by name, with the cores it may run on
/// (`/proc/PID/task/*/status`).
fn thread_cores(pid: u32) -> Vec<(String, String)> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap_or_default();
        threads.push((name.trim().to_owned(), allowed.trim().to_owned()));
    }
    threads
}

/// The nice value of the engine's thread called `name`.
pub fn thread_nice(pid: u32, name: &str) -> i32 {
    let tid = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|task| task.unwrap().path())
        .find(|dir| {
            std::fs::read_to_string(dir.join("comm"))
                .unwrap_or_default()
                .trim()
                == name
        })
        .and_then(|dir| dir.file_name()?.to_str()?.parse::<libc::id_t>().ok())
        .unwrap_or_else(|| panic!("no thread {name}"));
    // SAFETY: getpriority takes plain integers (a thread id under
    // PRIO_PROCESS on Linux).
    unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) }
}

/// The cores of a kernel CPU list (`0-2,5`), or of a comma list.
fn cpu_list(text: &str) -> Vec<usize> {
    let mut cores = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => cores.extend(from.parse::<usize>().unwrap()..=to.parse().unwrap()),
            None => cores.push(part.parse().unwrap()),
        }
    }
    cores
}

/// Asserts that the engine's stage runs on its core and every other
/// thread, `named` ones among them, only on the cores no stage is pinned
/// to (when the machine has one to spare).
pub fn assert_control_side_confined(engine: &Engine, named: &[&str]) {
    let threads = thread_cores(engine.child.id());
    let stage = event(&engine.out, "stage");
    let pinning = stage.get("pinning").to_owned();
    if let Some(core) = pinning.strip_prefix("pinned to core ") {
        let confined = event(
            &engine.out,
            "control side confined to the cores no stage is pinned to",
        );
        let spare = confined.get("cores").to_owned();
        assert!(!spare.split(',').any(|c| c == core), "{spare} vs {core}");
        let fused = threads.iter().find(|(n, _)| n == "fused").unwrap();
        assert_eq!(cpu_list(&fused.1), cpu_list(core), "{threads:?}");
        for name in named {
            assert!(
                threads.iter().any(|(n, _)| n == name),
                "no {name}: {threads:?}"
            );
        }
        for (name, allowed) in threads.iter().filter(|(n, _)| n != "fused") {
            assert_eq!(cpu_list(allowed), cpu_list(&spare), "{name}: {threads:?}");
        }
    } else {
        // A machine with no core to spare: the stage runs unpinned, and
        // there is nothing to keep off.
        assert!(engine.out.contains("control side"), "{}", engine.out);
    }
}
