//! `sessions-guest`: the guest binaries that `sessions-emulator` carries inside itself, so the
//! emulator binary needs nothing from the build tree at run time (only QEMU and a guest kernel
//! on the host).
//!
//! The build script (`build.rs`) compiles two static binaries for `x86_64-unknown-linux-musl`
//! with the workspace's `guest` profile, in a nested `cargo build` with a target dir of its own
//! (`<target>/guest-build`, shared by every profile of the outer build), and this crate embeds
//! them with `include_bytes!`:
//!
//! - [`AGENT`]: `sessions-agent` (`emulator/agent`), `/init` of every session microVM.
//! - [`SAMPLE_SESSION`]: `sample-session` (`examples/session-image`), the server of the seeded
//!   image `localhost/sample-session:latest`.
//!
//! What the build does is chosen with the environment variable `SESSIONS_EMULATOR_GUEST`:
//!
//! - unset or `build` (the default): build and embed both. When the musl target is not
//!   installed the build fails and says what to run (`rustup target add
//!   x86_64-unknown-linux-musl`, which `scripts/setup` does).
//! - `none`: embed nothing. The emulator still builds and runs `--backend fake` sessions; the
//!   `qemu` backend, `serve` and `doctor` report that this build has no guest and how to get
//!   one ([`ABSENT`]). `make test-fast` uses this when the musl target is missing.
//!
//! # Layout
//! - `build.rs`: the nested build; [`AGENT`], [`SAMPLE_SESSION`], [`ABSENT`] come from the
//!   file it writes into `OUT_DIR`.

include!(concat!(env!("OUT_DIR"), "/guest.rs"));

/// Environment variable choosing what the build embeds (`build` or `none`).
pub const GUEST_ENV: &str = "SESSIONS_EMULATOR_GUEST";

/// The rust target the guest binaries are built for.
pub const GUEST_TARGET: &str = "x86_64-unknown-linux-musl";

/// Whether this build carries the guest binaries.
pub fn embedded() -> bool {
    AGENT.is_some() && SAMPLE_SESSION.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_binaries_are_static_elf_executables_or_absent_with_a_reason() {
        match (AGENT, SAMPLE_SESSION) {
            (Some(agent), Some(sample)) => {
                for bin in [agent, sample] {
                    assert!(bin.starts_with(b"\x7fELF"), "not an ELF file");
                    assert!(
                        bin.len() > 10_000,
                        "suspiciously small: {} bytes",
                        bin.len()
                    );
                }
                assert!(ABSENT.is_empty());
            }
            (None, None) => assert!(ABSENT.contains(GUEST_ENV), "{ABSENT}"),
            _ => panic!("the agent and the sample session are embedded together or not at all"),
        }
    }
}
