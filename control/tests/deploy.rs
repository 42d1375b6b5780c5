//! The deployment files, checked by the real tools: the systemd unit by
//! `systemd-analyze verify` (which exits 0 on a misspelled key, so its
//! stderr must be empty too) against the binary this build made; the
//! Dockerfile by hadolint; the Kubernetes manifests by
//! `kubernetes-validate --strict`; every config they carry by `redline
//! check-config`; and the Prometheus rules by `promtool check rules` and
//! their unit tests. Each check is shown to catch a mistake.

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

    let root_arg = format!("--root={}", root.path().display());
    let verify = || {
        run_tool(
            "systemd-analyze",
            &[
                "verify".as_ref(),
                root_arg.as_ref(),
                "redline.service".as_ref(),
            ],
        )
    };
    let (ok, out) = verify();
    assert!(ok && out.trim().is_empty(), "{out}");

    // The check sees a misspelled key: a unit with one fails here.
    let unit = std::fs::read_to_string(etc.join("redline.service")).unwrap();
    std::fs::write(
        etc.join("redline.service"),
        unit.replace("NotifyAccess=", "NotifyAcess="),
    )
    .unwrap();
    let (_, out) = verify();
    assert!(out.contains("Unknown key 'NotifyAcess'"), "{out}");
}

/// Runs `tool` with `args` (a tool .ci/run installs); its output, and
/// whether it succeeded.
fn run_tool(tool: &str, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is installed (.ci/run installs it): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `text` written to a file of its own.
fn written(text: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn check_config(path: &Path) {
    let out = stdout_of(redline().arg("check-config").arg(path));
    assert!(out.ends_with(": ok\n"), "{out}");
}

#[test]
fn every_config_the_deployments_carry_is_valid() {
    check_config(&deploy().join("systemd/redline.toml"));
    check_config(&deploy().join("container/redline.toml"));
    // The Kubernetes ConfigMap's redline.toml: the block under its key.
    let manifest = std::fs::read_to_string(deploy().join("kubernetes/redline.yaml")).unwrap();
    let block: Vec<&str> = manifest
        .lines()
        .skip_while(|l| l.trim() != "redline.toml: |")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    assert!(block.iter().any(|l| l.starts_with("listen")), "{block:?}");
    let (_dir, path) = written(&block.join("\n"), "redline.toml");
    check_config(&path);
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let dockerfile = deploy().join("../Dockerfile");
    let (ok, out) = run_tool("hadolint", &[dockerfile.as_os_str()]);
    assert!(ok && out.trim().is_empty(), "{out}");
    // It sees a mistake: a root user at the end.
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let (_dir, bad) = written(&text.replace("USER 10001:10001", "USER root"), "Dockerfile");
    let (ok, out) = run_tool("hadolint", &[bad.as_os_str()]);
    assert!(!ok && out.contains("DL3002"), "{out}");
}

#[test]
fn the_kubernetes_manifests_pass_strict_schema_validation() {
    let manifest = deploy().join("kubernetes/redline.yaml");
    let strict = std::ffi::OsStr::new("--strict");
    let (ok, out) = run_tool("kubernetes-validate", &[strict, manifest.as_os_str()]);
    assert!(ok && !out.contains("ERROR"), "{out}");
    assert_eq!(out.matches("passed for resource").count(), 3, "{out}");
    // It sees a misspelled key.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let (_dir, bad) = written(&text.replace("readinessProbe", "readinesProbe"), "bad.yaml");
    let (ok, out) = run_tool("kubernetes-validate", &[strict, bad.as_os_str()]);
    assert!(
        !ok && out.contains("'readinesProbe' was unexpected"),
        "{out}"
    );
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
