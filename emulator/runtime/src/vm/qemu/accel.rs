//! Choosing the accelerator: KVM only when it really boots a stock kernel. Some hosts (e.g.
//! PVM guests) have a `/dev/kvm` that cannot run normal kernels, so a bare existence check is
//! not enough. The probe boots the guest kernel under KVM with no root file system; a working
//! KVM reaches the "unable to mount root" panic and exits within seconds. The answer is cached
//! process-wide, in the data dir and host-wide in `/tmp/sessions-vm/accel.json` (keyed by host
//! kernel, QEMU binary and guest kernel), so test processes do not probe again.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::cmdline::Accel;
use super::host::GuestKernel;

/// How long the KVM test guest may take to reach its panic.
const PROBE_TIMEOUT: Duration = Duration::from_secs(8);

/// The decision and why it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccelChoice {
    /// The accelerator.
    pub accel: Accel,
    /// One line saying why.
    pub reason: String,
    /// What the cached decision depends on.
    pub key: String,
}

static CHOICE: tokio::sync::OnceCell<AccelChoice> = tokio::sync::OnceCell::const_new();

/// The cache key: host kernel release, QEMU binary (path, size, mtime), guest kernel.
pub fn probe_key(qemu: &Path, kernel: &GuestKernel) -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let qemu_id = std::fs::metadata(qemu)
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            format!("{}:{}:{}", qemu.display(), m.len(), m.mtime())
        })
        .unwrap_or_default();
    format!("{}|{qemu_id}|{}", release.trim(), kernel.version)
}

/// Parses `SESSIONS_VM_ACCEL` (`kvm`, `tcg`, `auto`/unset).
pub fn forced(value: Option<&str>) -> Option<Accel> {
    match value.map(str::trim) {
        Some("kvm") => Some(Accel::Kvm),
        Some("tcg") => Some(Accel::Tcg),
        _ => None,
    }
}

/// Returns the accelerator, probing at most once per process (and once per data dir).
pub async fn choose(qemu: &Path, kernel: &GuestKernel, cache_file: &Path) -> AccelChoice {
    CHOICE
        .get_or_init(|| async {
            let choice = decide(qemu, kernel, cache_file).await;
            tracing::info!(
                accel = choice.accel.as_str(),
                "VM accelerator: {} ({})",
                choice.accel.as_str(),
                choice.reason
            );
            choice
        })
        .await
        .clone()
}

/// Why a `/dev/kvm` served by PVM (`kvm_pvm`, a software hypervisor used when the host is
/// itself a VM) cannot run our guests; empty elsewhere.
fn pvm_note() -> &'static str {
    if Path::new("/sys/module/kvm_pvm").exists() {
        "; this /dev/kvm is PVM (module kvm_pvm), which runs only PVM-aware guest kernels \
         (CONFIG_PVM_GUEST), not the distro kernel"
    } else {
        ""
    }
}

async fn decide(qemu: &Path, kernel: &GuestKernel, cache_file: &Path) -> AccelChoice {
    let mut choice = probe_or_cached(qemu, kernel, cache_file).await;
    let note = pvm_note();
    if choice.accel == Accel::Tcg && !note.is_empty() && !choice.reason.contains("kvm_pvm") {
        choice.reason.push_str(note);
    }
    choice
}

async fn probe_or_cached(qemu: &Path, kernel: &GuestKernel, cache_file: &Path) -> AccelChoice {
    let key = probe_key(qemu, kernel);
    if let Some(accel) = forced(std::env::var("SESSIONS_VM_ACCEL").ok().as_deref()) {
        return AccelChoice {
            accel,
            reason: "forced by SESSIONS_VM_ACCEL".into(),
            key,
        };
    }
    let kvm_usable = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if !kvm_usable {
        return AccelChoice {
            accel: Accel::Tcg,
            reason: "/dev/kvm is missing or not accessible".into(),
            key,
        };
    }
    let host_cache = super::rundir::root().join("accel.json");
    let cached = [cache_file, host_cache.as_path()]
        .into_iter()
        .find_map(|file| {
            std::fs::read(file)
                .ok()
                .and_then(|b| serde_json::from_slice::<AccelChoice>(&b).ok())
                .filter(|c| c.key == key)
        });
    if let Some(cached) = cached {
        return AccelChoice {
            reason: format!("{} (cached probe)", cached.reason),
            ..cached
        };
    }
    let choice = match probe_kvm(qemu, kernel).await {
        Ok(()) => AccelChoice {
            accel: Accel::Kvm,
            reason: "/dev/kvm booted a test guest".into(),
            key,
        },
        Err(why) => AccelChoice {
            accel: Accel::Tcg,
            reason: format!("/dev/kvm exists but {why}"),
            key,
        },
    };
    if let Ok(bytes) = serde_json::to_vec(&choice) {
        for file in [cache_file, host_cache.as_path()] {
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(file, &bytes);
        }
    }
    choice
}

/// Boots the kernel under KVM without a root file system and waits for its panic.
async fn probe_kvm(qemu: &Path, kernel: &GuestKernel) -> Result<(), String> {
    let mut child = tokio::process::Command::new(qemu)
        .args([
            "-M",
            "microvm",
            "-accel",
            "kvm",
            "-cpu",
            "host,-arch-capabilities",
            "-m",
            "128M",
            "-smp",
            "1",
        ])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-nographic",
            "-no-reboot",
            "-serial",
            "stdio",
        ])
        .arg("-kernel")
        .arg(&kernel.image)
        .args(["-append", "console=ttyS0 panic=-1 root=/dev/nonexistent"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("the KVM probe could not run qemu: {e}"))?;
    let mut out = child.stdout.take().ok_or("the KVM probe has no stdout")?;
    let read = async {
        let mut text = Vec::new();
        let _ = out.read_to_end(&mut text).await;
        String::from_utf8_lossy(&text).into_owned()
    };
    match tokio::time::timeout(PROBE_TIMEOUT, read).await {
        Ok(text) if text.contains("Kernel panic") || text.contains("VFS") => Ok(()),
        Ok(text) if text.contains("Linux version") => {
            Err("a KVM test guest did not finish booting".into())
        }
        Ok(_) => Err("a KVM test guest printed nothing (qemu failed under KVM)".into()),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!("a KVM test guest did not boot within {PROBE_TIMEOUT:?} (e.g. a PVM host that cannot run stock kernels)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_values() {
        assert_eq!(forced(Some("kvm")), Some(Accel::Kvm));
        assert_eq!(forced(Some("tcg")), Some(Accel::Tcg));
        assert_eq!(forced(Some("auto")), None);
        assert_eq!(forced(None), None);
    }

    #[tokio::test]
    async fn cached_decision_is_reused_when_the_key_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = dir.path().join("accel.json");
        let kernel = GuestKernel {
            image: "/k".into(),
            modules: "/m".into(),
            version: "v".into(),
        };
        let qemu = Path::new("/nonexistent/qemu");
        let key = probe_key(qemu, &kernel);
        let stored = AccelChoice {
            accel: Accel::Tcg,
            reason: "probed earlier".into(),
            key: key.clone(),
        };
        std::fs::write(&cache, serde_json::to_vec(&stored).expect("json")).expect("write");
        // Only meaningful where /dev/kvm is accessible; elsewhere the answer is TCG anyway.
        let got = decide(qemu, &kernel, &cache).await;
        assert_eq!(got.accel, Accel::Tcg);
        assert_eq!(got.key, key);
    }
}
