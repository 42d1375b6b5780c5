//! A real Prometheus server for a test (Debian's `prometheus` package,
//! which `.ci/run` installs): started on a free loopback port with a
//! config and the rule files beside it in a temporary directory, asked
//! through its HTTP API, killed when dropped. A machine without it is a
//! failing test, not a skipped one.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running server.
pub struct Prometheus {
    child: Child,
    dir: tempfile::TempDir,
    pub base: String,
}

impl Prometheus {
    /// Starts a server on `config` (a `prometheus.yml`'s text) with each
    /// of `files` (name, text) beside it, and waits until it is ready.
    pub fn start(config: &str, files: &[(&str, &str)]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus is installed (Debian's prometheus package; .ci/run installs it)");
        let mut server = Prometheus {
            child,
            dir,
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_until("ready", Duration::from_secs(30), |p| {
            ureq::get(&format!("{}/-/ready", p.base))
                .timeout(Duration::from_secs(2))
                .call()
                .is_ok()
        });
        server
    }

    /// Polls `done` every 200 ms until it holds; panics after `within`,
    /// naming `what` and showing the server's log.
    pub fn wait_until(
        &mut self,
        what: &str,
        within: Duration,
        mut done: impl FnMut(&Prometheus) -> bool,
    ) {
        let deadline = Instant::now() + within;
        while !done(self) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("prometheus exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "prometheus: not {what} within {within:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// `GET /api/v1/{path}` with `query` parameters: its `data`, or the
    /// error Prometheus gave.
    pub fn api(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, String> {
        let mut request =
            ureq::get(&format!("{}/api/v1/{path}", self.base)).timeout(Duration::from_secs(10));
        for (key, value) in query {
            request = request.query(key, value);
        }
        let response = match request.call() {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(other) => return Err(other.to_string()),
        };
        let text = response.into_string().map_err(|e| e.to_string())?;
        let body: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        match body["status"].as_str() {
            Some("success") => Ok(body["data"].clone()),
            _ => Err(format!("{} {}", body["errorType"], body["error"])),
        }
    }

    /// The series an instant query of `expr` returns.
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api("query", &[("query", expr)])?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// Every rule of every group the server evaluates.
    pub fn rules(&self) -> Vec<Value> {
        let data = self.api("rules", &[]).unwrap();
        data["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
