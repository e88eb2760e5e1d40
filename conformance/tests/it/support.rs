//! Helpers shared by the conformance tests: where the workspace and its target dir are, and
//! `cargo build` run with the environment of a user's shell.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// The workspace's target dir (`CARGO_TARGET_DIR` when set).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root().join(d) })
        .unwrap_or_else(|| root().join("target"))
}

/// Removes the variables cargo and nextest set for a test process (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...) so that a `cargo` run from the test sees the environment a user's shell
/// has: build scripts that watch such a variable (ring's watches `CARGO_MANIFEST_DIR`) would
/// otherwise rebuild half the dependency tree, twice.
pub fn user_env(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let set_by_cargo = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "NEXTEST",
            "__NEXTEST",
            "RUST_TEST_",
        ]
        .iter()
        .any(|p| k.starts_with(p))
            || k == "CARGO";
        if set_by_cargo {
            cmd.env_remove(&k);
        }
    }
    cmd
}

/// `cargo build ARGS` in the workspace, as a user's shell would run it; panics with cargo's
/// output when the build fails.
pub fn cargo_build(args: &[&str]) {
    let out = user_env(&mut Command::new("cargo"))
        .arg("build")
        .args(args)
        .current_dir(root())
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds (or finds up to date) the release emulator, as `make run` and `make test` do, and
/// returns it.
pub fn release_emulator() -> PathBuf {
    cargo_build(&[
        "--release",
        "-p",
        "sessions-emulator",
        "--bin",
        "sessions-emulator",
    ]);
    let bin = target_dir().join("release/sessions-emulator");
    assert!(bin.is_file(), "{} missing after the build", bin.display());
    bin
}
