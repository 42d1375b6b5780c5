//! The deployment files, checked by the real tools: the systemd unit by
//! `systemd-analyze verify` (which exits 0 on a misspelled key, so its
//! stderr must be empty too) against the binary this build made; the
//! Dockerfile by hadolint; the Kubernetes manifests by
//! `kubernetes-validate --strict`; the compose file by the Compose
//! Specification's schema and `docker-compose config`; every config they
//! carry by `redline check-config`; and the Prometheus rules and config by
//! `promtool`. Each check is shown to catch a mistake.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{deploy, redline, stdout_of};

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
    check_config(&deploy().join("compose/redline.toml"));
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

#[test]
fn the_compose_file_passes_the_compose_spec_and_docker_compose() {
    let dir = deploy().join("compose");
    let compose = dir.join("compose.yaml");
    let text = std::fs::read_to_string(&compose).unwrap();
    // The Compose Specification's schema (check-jsonschema bundles it):
    // every key known, every value of its type.
    let spec = |file: &Path| {
        run_tool(
            "check-jsonschema",
            &[
                "--builtin-schema".as_ref(),
                "vendor.compose-spec".as_ref(),
                file.as_os_str(),
            ],
        )
    };
    let (ok, out) = spec(&compose);
    assert!(ok, "{out}");
    let (_dir, bad) = written(&text.replace("depends_on:", "depend_on:"), "compose.yaml");
    let (ok, out) = spec(&bad);
    assert!(!ok && out.contains("'depend_on' was unexpected"), "{out}");

    // docker-compose resolves what a schema cannot: the services each
    // depends on, the named volumes, the paths mounted. Debian's (1.29)
    // predates the spec's top-level `name`, so it reads the file without
    // that line, with the file's own directory for the relative paths.
    let resolve = |text: &str| {
        let unnamed: Vec<&str> = text.lines().filter(|l| !l.starts_with("name:")).collect();
        let (_dir, file) = written(&unnamed.join("\n"), "compose.yaml");
        run_tool(
            "docker-compose",
            &[
                "--project-directory".as_ref(),
                dir.as_os_str(),
                "--file".as_ref(),
                file.as_os_str(),
                "config".as_ref(),
            ],
        )
    };
    let (ok, out) = resolve(&text);
    assert!(ok, "{out}");
    let mounted: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- /"))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(mounted.len(), 6, "{out}");
    for path in mounted {
        assert!(Path::new("/").join(path).is_file(), "{path} is mounted");
    }
    // Grafana's provisioning reads the folder the dashboard is mounted in.
    let target = out
        .lines()
        .find_map(|l| l.trim().strip_suffix("/redline.json:ro"))
        .and_then(|l| l.rsplit(':').next())
        .unwrap_or_else(|| panic!("the dashboard is mounted: {out}"));
    let provider = std::fs::read_to_string(dir.join("grafana/dashboards.yaml")).unwrap();
    assert!(
        provider.contains(&format!("path: {target}\n")),
        "{target} in {provider}"
    );
    let (ok, out) = resolve(&text.replace("      postgres:\n", "      postgress:\n"));
    assert!(
        !ok && out.contains("depends on service 'postgress' which is undefined"),
        "{out}"
    );
}

#[test]
fn the_compose_prometheus_config_passes_promtool() {
    // With the rules it loads beside it, as the compose file mounts them.
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("compose/prometheus.yml", "prometheus.yml"),
        ("prometheus/redline.rules.yml", "redline.rules.yml"),
    ] {
        std::fs::copy(deploy().join(from), dir.path().join(to)).unwrap();
    }
    let config = dir.path().join("prometheus.yml");
    let (ok, out) = run_tool(
        "promtool",
        &["check".as_ref(), "config".as_ref(), config.as_os_str()],
    );
    assert!(ok && out.contains("SUCCESS: 1 rule files found"), "{out}");
}
