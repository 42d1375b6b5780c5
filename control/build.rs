//! Build facts for `/version`: the git commit, the build profile and the
//! target triple, handed to the crate as environment variables.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=REDLINE_GIT_COMMIT={commit}");
    for (key, var) in [
        ("REDLINE_BUILD_PROFILE", "PROFILE"),
        ("REDLINE_TARGET", "TARGET"),
    ] {
        let value = std::env::var(var).unwrap_or_else(|_| "unknown".into());
        println!("cargo:rustc-env={key}={value}");
    }
    // Only paths that exist: cargo counts a missing one as changed, which
    // rebuilt this crate on every build in a clone without packed-refs.
    for path in ["../.git/HEAD", "../.git/refs/heads", "../.git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
