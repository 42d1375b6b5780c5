//! A real PostgreSQL server for a test or a benchmark: initdb into a
//! temporary directory (as `nobody` when run as root, since initdb refuses
//! root), started with pg_ctl on a free loopback port with its socket in
//! that directory, optionally confined to some cores; stopped when
//! dropped. A machine without the server is a failing test, not a skipped
//! one. `redline-bench` includes this file too (`bench/src/persist.rs`), and
//! so do the binary's unit tests (`control/src/main.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running server.
pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    /// The cores its processes run on (`taskset -c` list), if confined.
    cores: Option<String>,
}

fn as_owner(program: &str) -> Command {
    let path = Path::new(BIN).join(program);
    assert!(
        path.exists(),
        "{} is missing: install Debian's postgresql-15 (.ci/run does)",
        path.display()
    );
    // initdb and the server refuse to run as root.
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

/// Whether this process runs as root (its effective uid is 0).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

impl Postgres {
    /// Initialises and starts a server with a `redline` superuser and
    /// database, trusting loopback connections.
    pub fn start() -> Postgres {
        Postgres::start_on(None)
    }

    /// As [`Postgres::start`], its processes confined to `cores` (a
    /// `taskset -c` list such as `0` or `0-3`) when given.
    pub fn start_on(cores: Option<String>) -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["nobody:nogroup"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = dir.path().join("data");
        let out = as_owner("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "redline",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let pg = Postgres { dir, port, cores };
        pg.pg_ctl_start();
        let out = as_owner("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "redline",
                "redline",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "createdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut pg_ctl = as_owner("pg_ctl");
        if let Some(cores) = &self.cores {
            // The server's processes inherit pg_ctl's affinity.
            let mut confined = Command::new("taskset");
            confined
                .args(["-c", cores])
                .arg(pg_ctl.get_program())
                .args(pg_ctl.get_args());
            pg_ctl = confined;
        }
        let out = pg_ctl
            .args(["-w", "-t", "30", "-o", &options, "-l"])
            .arg(self.dir.path().join("log"))
            .arg("-D")
            .arg(self.data())
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Stops the server at once (as a crash or an outage would).
    pub fn stop(&self) {
        let _ = as_owner("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .output();
    }

    /// Starts it again after [`Postgres::stop`].
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// Adds a login role `role` that must give `password` (SCRAM) to
    /// connect over loopback; every other role is still trusted.
    pub fn require_password(&self, role: &str, password: &str) {
        self.client()
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"
            ))
            .unwrap();
        // The first matching line wins: this one before the trusting ones.
        let hba = self.data().join("pg_hba.conf");
        let rest = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(
            &hba,
            format!("host all {role} 127.0.0.1/32 scram-sha-256\n{rest}"),
        )
        .unwrap();
        self.client()
            .batch_execute("SELECT pg_reload_conf()")
            .unwrap();
    }

    /// The URL the engine connects with.
    pub fn url(&self) -> String {
        format!("postgres://redline@127.0.0.1:{}/redline", self.port)
    }

    /// A client of its `redline` database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
