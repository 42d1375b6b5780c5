//! The deployment files, checked by the real tools: the systemd unit by
//! `systemd-analyze verify` (which exits 0 on a misspelled key, so its
//! stderr must be empty too) against the binary this build made, the
//! host config it names by `redline check-config`, and the Prometheus
//! rules by `promtool check rules` and their unit tests.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{redline, stdout_of};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    // A root holding the system's own units, the unit, this build's binary
    // where the unit runs it, and the kill its reload runs.
    let root = tempfile::tempdir().unwrap();
    let units = root.path().join("usr/lib/systemd");
    std::fs::create_dir_all(&units).unwrap();
    let copied = Command::new("cp")
        .args(["-r", "/usr/lib/systemd/system"])
        .arg(&units)
        .status()
        .expect("systemd's units are on this machine (Debian's systemd package)");
    assert!(copied.success());
    let etc = root.path().join("etc/systemd/system");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::copy(
        deploy().join("systemd/redline.service"),
        etc.join("redline.service"),
    )
    .unwrap();
    let bin = root.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_redline"), bin.join("redline")).unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    std::fs::copy("/bin/kill", root.path().join("bin/kill")).unwrap();

    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.path().display()))
        .arg("redline.service")
        .output()
        .expect("systemd-analyze is installed (Debian's systemd package)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");

    // The check sees a misspelled key: a unit with one fails here.
    let unit = std::fs::read_to_string(etc.join("redline.service")).unwrap();
    std::fs::write(
        etc.join("redline.service"),
        unit.replace("NotifyAccess=", "NotifyAcess="),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.path().display()))
        .arg("redline.service")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown key 'NotifyAcess'"));
}

#[test]
fn the_host_config_the_unit_names_is_valid() {
    let out = stdout_of(
        redline()
            .arg("check-config")
            .arg(deploy().join("systemd/redline.toml")),
    );
    assert!(out.ends_with(": ok\n"), "{out}");
}

#[test]
fn the_prometheus_rules_pass_promtool_and_their_unit_tests() {
    for args in [
        ["check", "rules", "redline.rules.yml"],
        ["test", "rules", "redline.rules.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(deploy().join("prometheus"))
            .output()
            .expect("promtool is installed (Debian's prometheus package; .ci/run installs it)");
        assert!(
            out.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
