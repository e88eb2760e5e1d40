//! Boot media per image: an uncompressed newc initramfs holding the image rootfs, our agent as
//! `/init`, the guest kernel modules under `/.vm/modules` (with their load `order`) and
//! `/dev/console`. Cached in `<data>/vm/media/` keyed by (image digest, agent hash, kernel
//! version, format version); built into a temp file and renamed, so readers never see a
//! partial file.
//!
//! Large rootfs (above [`DISK_THRESHOLD_BYTES`]) are meant to go on an erofs image on
//! virtio-blk with a tiny initramfs that mounts it; until that lands they also use the
//! initramfs (slower to load, same behaviour).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cpio::CpioWriter;
use super::host::{GuestKernel, GUEST_MODULES};
use crate::image::PreparedImage;
use crate::vm::error::{BackendError, Result};

/// Bump when the media layout changes so stale caches are rebuilt.
const FORMAT: u32 = 1;
/// Rootfs size above which a disk image would be preferable.
pub const DISK_THRESHOLD_BYTES: u64 = 64 * 1024 * 1024;

/// Hex sha256 of a file (the agent build hash).
pub fn file_hash(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| BackendError::io(format!("reading {}", path.display()), e))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
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

/// Returns the cached initramfs for `image`, building it first when missing.
pub fn initramfs(
    cache_dir: &Path,
    image: &PreparedImage,
    agent: &Path,
    agent_hash: &str,
    kernel: &GuestKernel,
) -> Result<PathBuf> {
    let key = media_key(&image.digest, agent_hash, kernel);
    let path = cache_dir.join(format!("{key}.cpio"));
    if path.is_file() {
        return Ok(path);
    }
    if image.rootfs_bytes > DISK_THRESHOLD_BYTES {
        tracing::info!(
            digest = %image.digest,
            bytes = image.rootfs_bytes,
            "large rootfs packed as initramfs (disk-image boot media not implemented yet)"
        );
    }
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| BackendError::io(format!("creating {}", cache_dir.display()), e))?;
    let tmp = cache_dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let built = write_initramfs(&tmp, image, agent, kernel);
    if let Err(message) = built {
        let _ = std::fs::remove_file(&tmp);
        return Err(BackendError::BootMedia {
            digest: image.digest.clone(),
            message,
        });
    }
    std::fs::rename(&tmp, &path)
        .map_err(|e| BackendError::io(format!("renaming {}", tmp.display()), e))?;
    Ok(path)
}

fn write_initramfs(
    out: &Path,
    image: &PreparedImage,
    agent: &Path,
    kernel: &GuestKernel,
) -> std::result::Result<(), String> {
    let file = std::fs::File::create(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let mut w = CpioWriter::new(BufWriter::new(file));
    if !image.rootfs.is_dir() {
        return Err(format!(
            "rootfs {} is not a directory",
            image.rootfs.display()
        ));
    }
    w.tree(&image.rootfs, "")
        .map_err(|e| format!("packing rootfs {}: {e}", image.rootfs.display()))?;
    let io = |e: std::io::Error| format!("writing initramfs: {e}");
    w.dir("dev", 0o755, 0, 0).map_err(io)?;
    w.char_device("dev/console", 0o600, 5, 1).map_err(io)?;
    w.dir(".vm", 0o700, 0, 0).map_err(io)?;
    w.dir(".vm/modules", 0o700, 0, 0).map_err(io)?;
    let mut order = String::new();
    for rel in GUEST_MODULES {
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
    let mut a =
        std::fs::File::open(agent).map_err(|e| format!("open agent {}: {e}", agent.display()))?;
    let size = a.metadata().map_err(io)?.len();
    w.file("init", 0o755, 0, 0, size, &mut a).map_err(io)?;
    let mut inner = w.finish().map_err(io)?;
    inner.flush().map_err(io)?;
    Ok(())
}
