//! `sessions-agent`: static PID 1 inside each session microVM.
//!
//! Boot: mount the pseudo file systems, load the virtio modules listed in
//! `/.vm/modules/order`, bring up `lo` and `eth0` (10.0.2.15/24 via 10.0.2.2, slirp's layout),
//! find the `control`, `stdout` and `stderr` virtio-serial ports, and announce `ready` on the
//! control port. Then follow the host's [`protocol`]: `config` (entropy, hostname, argv, env),
//! `start` (run the container process with its stdout/stderr on their ports), `signal`,
//! `poweroff`. When the process exits the agent reports `exited` and powers the VM off.
//!
//! # Layout
//! - [`json`]: a minimal JSON reader/writer (std only).
//! - [`protocol`]: the versioned control messages.
//! - [`config`]: per-session config and its merge with the image config.
//! - [`sys`]: the system calls PID 1 needs.
//! - [`boot`]: the boot sequence.
//! - [`containers`]: the session's containers (roots, cgroups, framed output, spawning).
//! - [`identity`]: `IDENTITY_ENDPOINT` inside the session, relayed over the control channel.
//! - [`run`]: the control loop.

mod boot;
mod config;
mod containers;
mod identity;
mod json;
mod protocol;
mod run;
mod sys;

fn main() {
    if std::process::id() != 1 && std::env::var_os("SESSIONS_AGENT_NOT_INIT").is_none() {
        eprintln!(
            "sessions-agent: must run as PID 1 (/init) inside a session VM; refusing to run here"
        );
        std::process::exit(2);
    }
    let ports = match boot::boot() {
        Ok(ports) => ports,
        Err(e) => {
            eprintln!("sessions-agent: boot failed: {e}");
            sys::power_off();
        }
    };
    run::control_loop(ports);
}
