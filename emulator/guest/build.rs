//! Builds the guest binaries (`sessions-agent`, `sample-session`) for
//! `x86_64-unknown-linux-musl` with the workspace's `guest` profile, in a nested `cargo build`,
//! and writes `$OUT_DIR/guest.rs`, which embeds them. See the crate docs for
//! `SESSIONS_EMULATOR_GUEST`.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "x86_64-unknown-linux-musl";
const MODE_ENV: &str = "SESSIONS_EMULATOR_GUEST";
/// (package, binary, constant) of every embedded guest binary.
const BINARIES: [(&str, &str, &str); 2] = [
    ("sessions-agent", "sessions-agent", "AGENT"),
    ("sample-session", "sample-session", "SAMPLE_SESSION"),
];
/// Sources whose change rebuilds the guest (relative to the workspace root).
const SOURCES: [&str; 6] = [
    "emulator/agent/src",
    "emulator/agent/Cargo.toml",
    "examples/session-image/src",
    "examples/session-image/Cargo.toml",
    "Cargo.toml",
    "Cargo.lock",
];

fn main() {
    println!("cargo:rerun-if-env-changed={MODE_ENV}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");

    match env::var(MODE_ENV).unwrap_or_default().trim() {
        "" | "build" => {}
        "none" => {
            write_rs(&out, None);
            return;
        }
        other => fail(&format!(
            "{MODE_ENV}={other:?} is not understood: use `build` (the default: build and embed \
             the guest) or `none` (no guest: only `--backend fake` sessions)"
        )),
    }
    for s in SOURCES {
        println!("cargo:rerun-if-changed={}", root.join(s).display());
    }
    check_target_installed();

    let target_dir = guest_target_dir(&out);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(&cargo);
    cmd.arg("build")
        .args(["--profile", "guest", "--target", TARGET])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in BINARIES {
        cmd.args(["-p", package]);
    }
    // The outer build's settings for *this* crate must not leak into the nested build: cargo
    // reads CARGO_ENCODED_RUSTFLAGS and CARGO_BUILD_* itself, clippy sets
    // RUSTC_WORKSPACE_WRAPPER, and build scripts of the nested build would see our CARGO_CFG_*
    // (host cfgs) and package variables.
    for (key, _) in env::vars_os() {
        let k = key.to_string_lossy();
        let leaks = [
            "CARGO_CFG_",
            "CARGO_FEATURE_",
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BUILD_",
        ]
        .iter()
        .any(|p| k.starts_with(p))
            || [
                "CARGO_ENCODED_RUSTFLAGS",
                "RUSTC_WORKSPACE_WRAPPER",
                "CARGO_TARGET_DIR",
                "CARGO_PRIMARY_PACKAGE",
                "OUT_DIR",
                "TARGET",
                "HOST",
                "NUM_JOBS",
                "OPT_LEVEL",
                "DEBUG",
                "PROFILE",
                "RUSTC_LINKER",
            ]
            .contains(&k.as_ref());
        if leaks {
            cmd.env_remove(&key);
        }
    }
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| fail(&format!("could not run {cargo:?} for the guest build: {e}")));
    if !output.status.success() {
        fail(&format!(
            "building the guest binaries failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let built = target_dir.join(TARGET).join("guest");
    let mut copies = Vec::new();
    for (_, binary, constant) in BINARIES {
        let from = built.join(binary);
        let to = out.join(binary);
        std::fs::copy(&from, &to).unwrap_or_else(|e| {
            fail(&format!(
                "the guest build did not produce {}: {e}",
                from.display()
            ))
        });
        copies.push((constant, to));
    }
    write_rs(&out, Some(&copies));
}

/// Where the nested build puts its artefacts: `<target dir>/guest-build`, beside the outer
/// build's profiles, so that debug, release, test and clippy builds share one guest build.
/// The outer target dir is the nearest ancestor of `OUT_DIR` holding cargo's `CACHEDIR.TAG`.
fn guest_target_dir(out: &Path) -> PathBuf {
    out.ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(|d| d.join("guest-build"))
        .unwrap_or_else(|| out.join("guest-build"))
}

/// Fails the build, saying what to run, when the musl target's standard library is missing.
fn check_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let has_std = libdir
        .as_deref()
        .and_then(|d| std::fs::read_dir(d).ok())
        .is_some_and(|mut entries| {
            entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
        });
    if !has_std {
        fail(&format!(
            "sessions-emulator carries its guest (the sessions-agent PID 1 of every session \
             microVM and the sample session image), built for the {TARGET} target, which is \
             not installed for this toolchain.\n\
             Run first:  rustup target add {TARGET}    (scripts/setup does it)\n\
             then build again. To build an emulator without a guest, which can only run \
             `--backend fake` sessions, set {MODE_ENV}=none."
        ));
    }
}

/// Writes `guest.rs`: the embedded binaries, or `None` and the reason.
fn write_rs(out: &Path, copies: Option<&[(&str, PathBuf)]>) {
    let mut rs = String::new();
    match copies {
        Some(copies) => {
            for (constant, path) in copies {
                rs.push_str(&format!(
                    "/// Embedded at build time (see the crate docs).\n\
                     pub const {constant}: Option<&[u8]> = Some(include_bytes!({:?}));\n",
                    path.display().to_string()
                ));
            }
            rs.push_str("/// Empty: the guest is embedded.\npub const ABSENT: &str = \"\";\n");
        }
        None => {
            for (_, _, constant) in BINARIES {
                rs.push_str(&format!(
                    "/// Not embedded: see [`ABSENT`].\npub const {constant}: Option<&[u8]> = None;\n"
                ));
            }
            rs.push_str(&format!(
                "/// Why this build has no guest, and how to get one.\n\
                 pub const ABSENT: &str = \"this sessions-emulator was built with \
                 {MODE_ENV}=none: it carries no guest agent and no sample image, so only \
                 `--backend fake` can run sessions; rebuild it without {MODE_ENV} (the \
                 {TARGET} target must be installed: rustup target add {TARGET}, which \
                 scripts/setup does)\";\n"
            ));
        }
    }
    let path = out.join("guest.rs");
    std::fs::write(&path, rs)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
}

fn fail(message: &str) -> ! {
    for line in message.lines() {
        println!("cargo::error={line}");
    }
    eprintln!("{message}");
    std::process::exit(1);
}
