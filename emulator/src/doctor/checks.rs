//! The individual host checks behind `sessions-emulator doctor` and `serve`'s preflight. Each
//! returns one [`Check`]: what was found, or what is wrong and what to do about it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sessions_runtime::vm::qemu::host;

/// Below this much free space in the data dir, sessions cannot run (boot media, images).
pub const MIN_FREE_BYTES: u64 = 256 << 20;
/// Below this much free space, doctor warns.
pub const LOW_FREE_BYTES: u64 = 2 << 30;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Present and usable.
    Ok,
    /// Worth knowing; sessions still run (an optional tool is missing, a slower fallback).
    Note,
    /// Sessions cannot run until this is fixed.
    Fail,
}

impl Level {
    /// The word printed at the start of the line.
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Note => "note",
            Level::Fail => "FAIL",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`qemu`, `guest kernel`, ...).
    pub name: &'static str,
    /// How bad it is.
    pub level: Level,
    /// What was found, or what is wrong and what to do.
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, level: Level, detail: impl Into<String>) -> Self {
        Check {
            name,
            level,
            detail: detail.into(),
        }
    }
}

/// The guest agent and sample image built into this program.
pub fn guest() -> Check {
    match (sessions_guest::AGENT, sessions_guest::SAMPLE_SESSION) {
        (Some(agent), Some(sample)) => Check::new(
            "guest",
            Level::Ok,
            format!(
                "agent ({} KiB) and sample image ({} KiB) built in",
                agent.len() / 1024,
                sample.len() / 1024
            ),
        ),
        _ => Check::new("guest", Level::Fail, sessions_guest::ABSENT),
    }
}

/// Runs `program args` and returns the first line of its output, bounded in time.
fn first_line(program: &Path, args: &[&str]) -> Result<String, String> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} {} did not answer within 15 s",
                    program.display(),
                    args.join(" ")
                ));
            }
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot read the output of {}: {e}", program.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if !out.status.success() || line.is_empty() {
        return Err(format!(
            "{} {} failed ({}): {}",
            program.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(line)
}

/// The QEMU binary and its version; `Some(path)` when usable.
pub fn qemu() -> (Check, Option<PathBuf>) {
    let path = match host::find_qemu() {
        Ok(p) => p,
        Err(e) => return (Check::new("qemu", Level::Fail, e.to_string()), None),
    };
    match first_line(&path, &["--version"]) {
        Ok(version) => (
            Check::new(
                "qemu",
                Level::Ok,
                format!("{version} at {}", path.display()),
            ),
            Some(path),
        ),
        Err(e) => (
            Check::new(
                "qemu",
                Level::Fail,
                format!("{e}: reinstall qemu-system-x86 (scripts/setup --run does) or set SESSIONS_QEMU"),
            ),
            None,
        ),
    }
}

/// The guest kernel and its modules.
pub fn kernel() -> (Check, Option<host::GuestKernel>) {
    match host::find_kernel(Path::new("/boot"), Path::new("/lib/modules")) {
        Ok(k) => (
            Check::new(
                "guest kernel",
                Level::Ok,
                format!("{} (modules {})", k.image.display(), k.modules.display()),
            ),
            Some(k),
        ),
        Err(e) => (Check::new("guest kernel", Level::Fail, e.to_string()), None),
    }
}

/// KVM or TCG, and why (probes KVM once; the answer is cached in `vm_dir/vm/accel.json`).
pub async fn accelerator(qemu: &Path, kernel: &host::GuestKernel, vm_dir: &Path) -> Check {
    let choice = sessions_runtime::vm::qemu::accel::choose(
        qemu,
        kernel,
        &vm_dir.join("vm").join("accel.json"),
    )
    .await;
    match choice.accel {
        sessions_runtime::vm::qemu::cmdline::Accel::Kvm => {
            Check::new("accelerator", Level::Ok, format!("KVM ({})", choice.reason))
        }
        sessions_runtime::vm::qemu::cmdline::Accel::Tcg => Check::new(
            "accelerator",
            Level::Ok,
            format!(
                "TCG (software emulation: slower than KVM, sessions still run): {}",
                choice.reason
            ),
        ),
    }
}

/// Creates `dir` if needed (private, as `serve` does: it holds keys) and writes and removes a
/// file in it.
pub fn writable(name: &'static str, dir: &Path) -> Check {
    use std::os::unix::fs::DirBuilderExt;
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let result = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| std::fs::write(&probe, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe));
    match result {
        Ok(()) => Check::new(name, Level::Ok, format!("{} is writable", dir.display())),
        Err(e) => Check::new(
            name,
            Level::Fail,
            format!(
                "{} is not writable ({e}): fix its permissions or choose another with --data-dir",
                dir.display()
            ),
        ),
    }
}

/// Free bytes on the file system holding `path` (or its nearest existing ancestor).
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let c = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs is all-integer plain data, so zeroed is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer for the call.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// Free disk space where images and boot media go.
pub fn disk(dir: &Path) -> Check {
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
    match free_bytes(dir) {
        Ok(b) if b < MIN_FREE_BYTES => Check::new(
            "free disk",
            Level::Fail,
            format!(
                "only {} free for {}: sessions need at least {} for images and boot media; free some space or use another --data-dir",
                gib(b),
                dir.display(),
                gib(MIN_FREE_BYTES)
            ),
        ),
        Ok(b) if b < LOW_FREE_BYTES => Check::new(
            "free disk",
            Level::Note,
            format!("{} free for {}: enough for small images only", gib(b), dir.display()),
        ),
        Ok(b) => Check::new("free disk", Level::Ok, format!("{} free for {}", gib(b), dir.display())),
        Err(e) => Check::new(
            "free disk",
            Level::Note,
            format!("cannot tell the free space for {}: {e}", dir.display()),
        ),
    }
}

/// Whether `listen` can be bound; a port held by the emulator of `data_dir` is fine.
pub fn listen(listen: &str, data_dir: Option<&Path>) -> Check {
    let addr: SocketAddr = match listen.parse() {
        Ok(a) => a,
        Err(_) => {
            return Check::new(
                "listen",
                Level::Fail,
                format!("--listen must be HOST:PORT (e.g. 127.0.0.1:7443), got '{listen}'"),
            )
        }
    };
    if addr.port() == 0 {
        return Check::new(
            "listen",
            Level::Ok,
            format!("{listen}: a free port is picked at start"),
        );
    }
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Check::new("listen", Level::Ok, format!("{addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let ours = data_dir
                .and_then(|d| std::fs::read_to_string(d.join(crate::defaults::READY_FILE)).ok())
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["endpoint"].as_str().map(str::to_string))
                .filter(|ep| ep.ends_with(&format!(":{}", addr.port())));
            match ours {
                Some(ep) => Check::new(
                    "listen",
                    Level::Note,
                    format!("{addr} is in use by the sessions-emulator running on this data dir ({ep})"),
                ),
                None => Check::new(
                    "listen",
                    Level::Fail,
                    format!("{addr} is in use by another program: stop it, or pass --listen 127.0.0.1:0 for a free port"),
                ),
            }
        }
        Err(e) => Check::new(
            "listen",
            Level::Fail,
            format!("cannot listen on {addr}: {e}"),
        ),
    }
}

/// `name` on `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `mkfs.erofs`, needed only for large images (optional).
pub fn mkfs_erofs() -> Check {
    match on_path("mkfs.erofs") {
        Some(p) => Check::new("mkfs.erofs", Level::Ok, format!("{}", p.display())),
        None => Check::new(
            "mkfs.erofs",
            Level::Note,
            "not on PATH: images whose rootfs is above 64 MiB cannot boot; install erofs-utils (scripts/setup --run does)",
        ),
    }
}

/// `terraform` on PATH (optional: only the Terraform provider needs it).
pub fn terraform() -> Check {
    let Some(p) = on_path("terraform") else {
        return Check::new(
            "terraform",
            Level::Note,
            "not on PATH (optional: needed only to use the Terraform provider; Terraform >= 1.11 or OpenTofu)",
        );
    };
    match first_line(&p, &["version"]) {
        Ok(v) => Check::new("terraform", Level::Ok, format!("{v} at {}", p.display())),
        Err(e) => Check::new("terraform", Level::Note, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_port_fails_unless_our_emulator_holds_it() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = held.local_addr().expect("addr").to_string();
        let c = listen(&addr, None);
        assert_eq!(c.level, Level::Fail, "{c:?}");
        assert!(c.detail.contains("--listen 127.0.0.1:0"), "{}", c.detail);

        let dir = tempfile::tempdir().expect("tempdir");
        let ready = serde_json::json!({"endpoint": format!("https://{addr}")});
        std::fs::write(
            dir.path().join(crate::defaults::READY_FILE),
            ready.to_string(),
        )
        .expect("ready");
        assert_eq!(listen(&addr, Some(dir.path())).level, Level::Note);

        drop(held);
        assert_eq!(listen(&addr, None).level, Level::Ok);
        assert_eq!(listen("127.0.0.1:0", None).level, Level::Ok);
        assert_eq!(listen("nonsense", None).level, Level::Fail);
    }

    #[test]
    fn writable_and_free_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("a/b");
        assert_eq!(writable("data dir", &sub).level, Level::Ok);
        assert!(sub.is_dir());
        assert!(free_bytes(&sub.join("not/yet")).expect("statvfs") > 0);
        assert_ne!(disk(&sub).level, Level::Fail, "this machine has some disk");
        let ro = writable("data dir", Path::new("/proc/sessions-doctor"));
        assert_eq!(ro.level, Level::Fail);
        assert!(ro.detail.contains("--data-dir"), "{}", ro.detail);
    }

    #[test]
    fn first_line_reports_failures() {
        assert_eq!(
            first_line(Path::new("/bin/sh"), &["-c", "echo one; echo two"]).as_deref(),
            Ok("one")
        );
        assert!(first_line(Path::new("/bin/sh"), &["-c", "exit 3"]).is_err());
        assert!(first_line(Path::new("/nonexistent/qemu"), &["--version"]).is_err());
    }
}
