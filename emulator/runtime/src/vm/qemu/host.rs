//! Facts about the host the QEMU backend needs: the guest kernel and its modules, the host TSC
//! rate, the QEMU binary; and the agent binary (built into this program).

use std::path::{Path, PathBuf};

use crate::vm::error::{BackendError, Result};

/// Kernel modules the guest needs, in load order (dependencies first). Missing ones are
/// skipped (a kernel may have them built in).
pub const GUEST_MODULES: &[&str] = &[
    "drivers/virtio/virtio_ring",
    "drivers/virtio/virtio",
    "drivers/virtio/virtio_mmio",
    "net/core/failover",
    "drivers/net/net_failover",
    "drivers/net/virtio_net",
    "drivers/char/virtio_console",
];

/// Extra modules for images whose rootfs is on an erofs disk (see [`super::media`]), loaded
/// after [`GUEST_MODULES`].
pub const DISK_MODULES: &[&str] = &[
    "drivers/block/virtio_blk",
    "lib/libcrc32c",
    "fs/erofs/erofs",
    "fs/overlayfs/overlay",
];

/// The guest kernel and its module tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestKernel {
    /// `/boot/vmlinuz-<version>`.
    pub image: PathBuf,
    /// `/lib/modules/<version>`.
    pub modules: PathBuf,
    /// `<version>`.
    pub version: String,
}

/// Finds the newest `/boot/vmlinuz-*-cloud-amd64` that has a module tree (or any vmlinuz when
/// no cloud kernel is installed).
pub fn find_kernel(boot: &Path, lib_modules: &Path) -> Result<GuestKernel> {
    let missing = || BackendError::Missing {
        what: "guest kernel",
        path: boot.join("vmlinuz-*-cloud-amd64"),
        hint: "install linux-image-cloud-amd64 (scripts/setup does) or pass --vm-kernel",
    };
    let mut found: Vec<GuestKernel> = std::fs::read_dir(boot)
        .map_err(|_| missing())?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix("vmlinuz-")?.to_owned();
            let modules = lib_modules.join(&version);
            modules.is_dir().then(|| GuestKernel {
                image: e.path(),
                modules,
                version,
            })
        })
        .collect();
    found.sort_by(|a, b| {
        let cloud = |k: &GuestKernel| k.version.ends_with("-cloud-amd64");
        (cloud(a), &a.version).cmp(&(cloud(b), &b.version))
    });
    found.pop().ok_or_else(missing)
}

/// The host TSC rate in kHz from `/proc/cpuinfo` (`cpu MHz`), for `tsc_early_khz`.
pub fn tsc_khz(cpuinfo: &str) -> Option<u64> {
    let line = cpuinfo.lines().find(|l| l.starts_with("cpu MHz"))?;
    let mhz: f64 = line.split(':').nth(1)?.trim().parse().ok()?;
    (mhz > 0.0).then(|| (mhz * 1000.0).round() as u64)
}

/// The static agent binary: `$SESSIONS_AGENT` when set, else the agent built into this
/// program (crate `sessions-guest`), written once to `<vm_dir>/agent/sessions-agent-<hash>`
/// (content-addressed, so boot media caches keyed by its hash stay right).
pub fn find_agent(vm_dir: &Path) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SESSIONS_AGENT") {
        return Ok(PathBuf::from(p));
    }
    let bytes = sessions_guest::AGENT.ok_or(BackendError::Missing {
        what: "guest agent",
        path: PathBuf::from("(built into sessions-emulator)"),
        hint: sessions_guest::ABSENT,
    })?;
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    let dir = vm_dir.join("agent");
    let path = dir.join(format!("sessions-agent-{}", &hash[..16]));
    if path.is_file() {
        return Ok(path);
    }
    let io = |what: &str, p: &Path| {
        let context = format!("{what} {}", p.display());
        move |e| BackendError::io(context, e)
    };
    std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
    let tmp = dir.join(format!(".sessions-agent-{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io("writing", &tmp))?;
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(io("making executable", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("storing", &path))?;
    Ok(path)
}

/// The QEMU binary: `$SESSIONS_QEMU` or `qemu-system-x86_64` on `PATH`.
pub fn find_qemu() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SESSIONS_QEMU") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("qemu-system-x86_64"))
        .find(|p| p.is_file())
        .ok_or(BackendError::Missing {
            what: "qemu-system-x86_64",
            path: PathBuf::from("$PATH"),
            hint: "install qemu-system-x86 (scripts/setup does) or set SESSIONS_QEMU",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsc_from_cpuinfo() {
        assert_eq!(
            tsc_khz("model name\t: x\ncpu MHz\t\t: 2596.150\n"),
            Some(2_596_150)
        );
        assert_eq!(tsc_khz("cpu MHz : 2100.000"), Some(2_100_000));
        assert_eq!(tsc_khz("nothing"), None);
    }

    #[test]
    fn prefers_cloud_kernel_with_modules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let boot = dir.path().join("boot");
        let lib = dir.path().join("lib");
        for v in ["6.1.0-1-amd64", "6.1.0-2-cloud-amd64", "9.9.9-cloud-amd64"] {
            std::fs::create_dir_all(&boot).expect("mkdir");
            std::fs::write(boot.join(format!("vmlinuz-{v}")), b"k").expect("write");
        }
        for v in ["6.1.0-1-amd64", "6.1.0-2-cloud-amd64"] {
            std::fs::create_dir_all(lib.join(v)).expect("mkdir");
        }
        let k = find_kernel(&boot, &lib).expect("kernel");
        assert_eq!(k.version, "6.1.0-2-cloud-amd64");
        assert!(find_kernel(&dir.path().join("none"), &lib).is_err());
    }
}
