//! Boot media per image, cached in `<data>/vm/media/` keyed by (image digest, agent hash,
//! kernel version, format version); each file is built into a temp file and renamed, so readers
//! never see a partial file.
//!
//! - Small rootfs: `<key>.cpio`, an uncompressed newc initramfs holding the image rootfs, our
//!   agent as `/init`, the guest kernel modules under `/.vm/modules` (with their load `order`)
//!   and `/dev/console`. The kernel unpacks it into a tmpfs-like rootfs: fast, but every byte
//!   is copied into guest RAM at each cold boot.
//! - Rootfs above the threshold ([`DISK_THRESHOLD_BYTES`] unless configured): the rootfs goes
//!   into `<key>.erofs`, a read-only erofs image (`mkfs.erofs`, uncompressed) that QEMU attaches
//!   as a read-only virtio-blk disk, and `<key>.cpio` holds only the agent, the modules (plus
//!   `virtio_blk`, `erofs`, `overlay`) and the marker `/.vm/rootfs`. The agent mounts the disk
//!   under a tmpfs-backed overlay (writes stay in guest RAM, nothing is copied up front) and
//!   switches root to it before starting the container. [`disk_for`] finds the disk image
//!   that belongs to an initramfs.
//! - Sessions of several containers: each other container's rootfs goes into the initramfs
//!   under `/.vm/containers/{name}/` (small) or onto its own erofs disk `<key>.c{i}.erofs`
//!   (above the threshold) with the marker `/.vm/containers/{name}.disk` naming the disk by
//!   its virtio serial (`erofs serial:c{i}`). The key covers every image's digest.
//!   [`sidecar_disks_for`] finds those disks. Disks are found by serial in the guest (`root`
//!   for the main container's), never by device order.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cpio::CpioWriter;
use super::host::{GuestKernel, DISK_MODULES, GUEST_MODULES};
use crate::image::PreparedImage;
use crate::vm::error::{BackendError, Result};

/// Bump when the media layout changes so stale caches are rebuilt.
const FORMAT: u32 = 3;
/// Virtio serial of the main container's root disk.
pub const ROOT_DISK_SERIAL: &str = "root";
/// Where the other containers' root filesystems live in the guest.
pub const CONTAINERS_DIR: &str = ".vm/containers";
/// Default rootfs size above which the rootfs goes on an erofs disk image.
pub const DISK_THRESHOLD_BYTES: u64 = 64 * 1024 * 1024;
/// The marker file telling the agent to mount its root from the virtio-blk disk.
pub const DISK_MARKER: &str = ".vm/rootfs";

/// Hex sha256 of a file (the agent build hash).
pub fn file_hash(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| BackendError::io(format!("reading {}", path.display()), e))?;
    Ok(bytes_hash(&bytes))
}

/// sha256 of `bytes`, lowercase hex.
pub fn bytes_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Cache key of the boot media for an image.
pub fn media_key(digest: &str, agent_hash: &str, kernel: &GuestKernel) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{FORMAT}\n{digest}\n{agent_hash}\n{}\n",
        kernel.version
    ));
    hex::encode(&h.finalize()[..12])
}

/// The erofs disk image that goes with the initramfs `initrd`, when the image has one.
pub fn disk_for(initrd: &Path) -> Option<PathBuf> {
    let disk = initrd.with_extension("erofs");
    disk.is_file().then_some(disk)
}

/// The erofs disks of the other containers that go with `initrd`, with their virtio serials
/// (`c{i}`), in container order.
pub fn sidecar_disks_for(initrd: &Path) -> Vec<(PathBuf, String)> {
    (1..=64)
        .map(|i| {
            (
                initrd.with_extension(format!("c{i}.erofs")),
                format!("c{i}"),
            )
        })
        .take_while(|(p, _)| p.is_file())
        .collect()
}

/// The cache key of a session's media: the main image's, extended with every other
/// container's name and digest.
pub fn session_media_key(
    digest: &str,
    sidecars: &[(String, PreparedImage)],
    agent_hash: &str,
    kernel: &GuestKernel,
) -> String {
    let key = media_key(digest, agent_hash, kernel);
    if sidecars.is_empty() {
        return key;
    }
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    for (name, image) in sidecars {
        h.update(format!("\n{name}\n{}", image.digest));
    }
    format!("{key}-{}", hex::encode(&h.finalize()[..6]))
}

/// Returns the cached initramfs for `image` (with its erofs disk image beside it when the
/// rootfs is larger than `disk_threshold` bytes), building them first when missing.
pub fn initramfs(
    cache_dir: &Path,
    image: &PreparedImage,
    sidecars: &[(String, PreparedImage)],
    agent: &Path,
    agent_hash: &str,
    kernel: &GuestKernel,
    disk_threshold: u64,
) -> Result<PathBuf> {
    let on_disk = image.rootfs_bytes > disk_threshold;
    let key = session_media_key(&image.digest, sidecars, agent_hash, kernel);
    let key = if on_disk { format!("{key}-disk") } else { key };
    let path = cache_dir.join(format!("{key}.cpio"));
    let disk = path.with_extension("erofs");
    let sidecar_on_disk: Vec<bool> = sidecars
        .iter()
        .map(|(_, i)| i.rootfs_bytes > disk_threshold)
        .collect();
    let sidecar_disk = |i: usize| path.with_extension(format!("c{}.erofs", i + 1));
    let disks_ready = sidecar_on_disk
        .iter()
        .enumerate()
        .all(|(i, d)| !d || sidecar_disk(i).is_file());
    if path.is_file() && (!on_disk || disk.is_file()) && disks_ready {
        return Ok(path);
    }
    for (name, i) in sidecars {
        if !i.rootfs.is_dir() {
            return Err(BackendError::BootMedia {
                digest: i.digest.clone(),
                message: format!(
                    "rootfs {} of container '{name}' is not a directory",
                    i.rootfs.display()
                ),
            });
        }
    }
    if !image.rootfs.is_dir() {
        return Err(BackendError::BootMedia {
            digest: image.digest.clone(),
            message: format!("rootfs {} is not a directory", image.rootfs.display()),
        });
    }
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| BackendError::io(format!("creating {}", cache_dir.display()), e))?;
    let fail = |message: String| BackendError::BootMedia {
        digest: image.digest.clone(),
        message,
    };
    if on_disk {
        tracing::info!(
            digest = %image.digest,
            bytes = image.rootfs_bytes,
            threshold = disk_threshold,
            "large rootfs: building an erofs disk image"
        );
        let tmp = cache_dir.join(format!(".{key}.{}.erofs.tmp", std::process::id()));
        if let Err(message) = write_erofs(&tmp, &image.rootfs) {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(message));
        }
        std::fs::rename(&tmp, &disk)
            .map_err(|e| BackendError::io(format!("renaming {}", tmp.display()), e))?;
    }
    let mut in_initramfs = Vec::new();
    for (i, (name, sidecar)) in sidecars.iter().enumerate() {
        if sidecar_on_disk[i] {
            let target = sidecar_disk(i);
            let tmp = cache_dir.join(format!(
                ".{key}.c{}.{}.erofs.tmp",
                i + 1,
                std::process::id()
            ));
            if let Err(message) = write_erofs(&tmp, &sidecar.rootfs) {
                let _ = std::fs::remove_file(&tmp);
                return Err(fail(message));
            }
            std::fs::rename(&tmp, &target)
                .map_err(|e| BackendError::io(format!("renaming {}", tmp.display()), e))?;
            in_initramfs.push(SidecarMedia::Disk {
                name: name.clone(),
                serial: format!("c{}", i + 1),
            });
        } else {
            in_initramfs.push(SidecarMedia::Tree {
                name: name.clone(),
                rootfs: sidecar.rootfs.clone(),
            });
        }
    }
    let tmp = cache_dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let rootfs = (!on_disk).then_some(image.rootfs.as_path());
    if let Err(message) = write_initramfs(&tmp, rootfs, &in_initramfs, agent, kernel) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(message));
    }
    std::fs::rename(&tmp, &path)
        .map_err(|e| BackendError::io(format!("renaming {}", tmp.display()), e))?;
    Ok(path)
}

/// Packs `rootfs` into an uncompressed erofs image with `mkfs.erofs`.
fn write_erofs(out: &Path, rootfs: &Path) -> std::result::Result<(), String> {
    let output = std::process::Command::new("mkfs.erofs")
        .arg("--quiet")
        .arg("-T0")
        .arg(out)
        .arg(rootfs)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            format!("could not run mkfs.erofs ({e}); install erofs-utils (scripts/setup does)")
        })?;
    if !output.status.success() {
        return Err(format!(
            "mkfs.erofs {} failed ({}): {}",
            rootfs.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

/// Where one other container's root filesystem goes.
enum SidecarMedia {
    /// Into the initramfs under `/.vm/containers/{name}/`.
    Tree {
        /// Container name.
        name: String,
        /// Its unpacked rootfs.
        rootfs: PathBuf,
    },
    /// On its own erofs disk, found in the guest by its virtio serial.
    Disk {
        /// Container name.
        name: String,
        /// The disk's virtio serial.
        serial: String,
    },
}

fn write_initramfs(
    out: &Path,
    rootfs: Option<&Path>,
    sidecars: &[SidecarMedia],
    agent: &Path,
    kernel: &GuestKernel,
) -> std::result::Result<(), String> {
    let file = std::fs::File::create(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let mut w = CpioWriter::new(BufWriter::new(file));
    if let Some(rootfs) = rootfs {
        w.tree(rootfs, "")
            .map_err(|e| format!("packing rootfs {}: {e}", rootfs.display()))?;
    }
    let io = |e: std::io::Error| format!("writing initramfs: {e}");
    w.dir("dev", 0o755, 0, 0).map_err(io)?;
    w.char_device("dev/console", 0o600, 5, 1).map_err(io)?;
    w.dir(".vm", 0o700, 0, 0).map_err(io)?;
    w.dir(".vm/modules", 0o700, 0, 0).map_err(io)?;
    if !sidecars.is_empty() {
        w.dir(CONTAINERS_DIR, 0o755, 0, 0).map_err(io)?;
    }
    let mut any_sidecar_disk = false;
    for s in sidecars {
        match s {
            SidecarMedia::Tree { name, rootfs } => {
                let prefix = format!("{CONTAINERS_DIR}/{name}");
                w.dir(&prefix, 0o755, 0, 0).map_err(io)?;
                w.tree(rootfs, &prefix)
                    .map_err(|e| format!("packing rootfs {} of '{name}': {e}", rootfs.display()))?;
            }
            SidecarMedia::Disk { name, serial } => {
                any_sidecar_disk = true;
                w.dir(&format!("{CONTAINERS_DIR}/{name}"), 0o755, 0, 0)
                    .map_err(io)?;
                let marker = format!("erofs serial:{serial}\n");
                w.file(
                    &format!("{CONTAINERS_DIR}/{name}.disk"),
                    0o600,
                    0,
                    0,
                    marker.len() as u64,
                    &mut marker.as_bytes(),
                )
                .map_err(io)?;
            }
        }
    }
    let mut order = String::new();
    let disk_modules = if rootfs.is_none() || any_sidecar_disk {
        DISK_MODULES
    } else {
        &[]
    };
    for rel in GUEST_MODULES.iter().chain(disk_modules) {
        let src = kernel.modules.join("kernel").join(format!("{rel}.ko"));
        let Ok(mut f) = std::fs::File::open(&src) else {
            continue;
        };
        let size = f.metadata().map_err(io)?.len();
        let name = rel.rsplit('/').next().unwrap_or(rel);
        w.file(&format!(".vm/modules/{name}.ko"), 0o600, 0, 0, size, &mut f)
            .map_err(io)?;
        order.push_str(name);
        order.push('\n');
    }
    w.file(
        ".vm/modules/order",
        0o600,
        0,
        0,
        order.len() as u64,
        &mut order.as_bytes(),
    )
    .map_err(io)?;
    if rootfs.is_none() {
        let marker = format!("erofs serial:{ROOT_DISK_SERIAL}\n");
        let marker = marker.as_bytes();
        w.file(
            DISK_MARKER,
            0o600,
            0,
            0,
            marker.len() as u64,
            &mut &marker[..],
        )
        .map_err(io)?;
    }
    let mut a =
        std::fs::File::open(agent).map_err(|e| format!("open agent {}: {e}", agent.display()))?;
    let size = a.metadata().map_err(io)?.len();
    w.file("init", 0o755, 0, 0, size, &mut a).map_err(io)?;
    let mut inner = w.finish().map_err(io)?;
    inner.flush().map_err(io)?;
    Ok(())
}
