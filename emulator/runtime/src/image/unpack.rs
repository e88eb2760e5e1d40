//! Applies layer tars (plain, gzip or zstd) to a rootfs directory, overlay-style.
//!
//! Each layer is read twice: the first pass applies its whiteouts (`.wh.name` removes `name`,
//! `.wh..wh..opq` empties its directory) to what the lower layers left, the second writes its
//! entries. Nothing can land outside the rootfs: entries with `..` components or absolute paths
//! are refused, so are symlinks whose targets would lead outward (absolute, or climbing above the
//! root) when a later entry is written through them, hardlinks to paths outside the rootfs, and
//! device nodes and fifos. Modes, symlinks and hardlinks inside the rootfs are preserved;
//! ownership too when running as root.

use std::collections::{HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::digest::{Digest, HashingReader};
use super::error::{ImageError, Result};

/// Most symlinks followed while resolving one path (as the kernel's ELOOP limit).
const MAX_SYMLINKS: usize = 40;
const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";

/// Layer compression, detected from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

/// Detects the compression of the file at `path` by its magic bytes.
pub fn detect_compression(path: &Path) -> Result<Compression> {
    let mut f = File::open(path).map_err(ImageError::io("opening layer", path))?;
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        let r = f
            .read(&mut magic[n..])
            .map_err(ImageError::io("reading layer", path))?;
        if r == 0 {
            break;
        }
        n += r;
    }
    Ok(if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Compression::Gzip
    } else if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// Opens a layer blob as an uncompressed tar stream.
pub fn open_layer(path: &Path) -> Result<Box<dyn Read>> {
    let kind = detect_compression(path)?;
    let f = BufReader::new(File::open(path).map_err(ImageError::io("opening layer", path))?);
    Ok(match kind {
        Compression::None => Box::new(f),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(f)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(f)
                .map_err(ImageError::io("starting zstd decoder for", path))?,
        ),
    })
}

/// A layer to apply: its blob, a name for errors, and the expected digest of its
/// uncompressed tar (the config's `diff_id`) when known.
#[derive(Debug, Clone)]
pub struct LayerFile {
    /// Path of the (possibly compressed) layer blob.
    pub path: PathBuf,
    /// Name used in errors, e.g. `2 (sha256:...)`.
    pub name: String,
    /// Expected sha256 of the uncompressed tar.
    pub diff_id: Option<Digest>,
}

/// Unpacks `layers` (base first) into the empty directory `root`, checking each layer's
/// uncompressed digest, then returns the total size of regular files in the result.
pub fn unpack_layers(root: &Path, layers: &[LayerFile]) -> Result<u64> {
    let mut u = Unpacker {
        root: root.to_path_buf(),
        layer: String::new(),
        dir_modes: Vec::new(),
        as_root: running_as_root(),
    };
    for l in layers {
        u.layer = l.name.clone();
        u.apply(&l.path, l.diff_id.as_ref())?;
    }
    u.finish()?;
    tree_size(root)
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A directory with the mode and optional `(uid, gid)` to give it at the end.
type DirMode = (PathBuf, u32, Option<(u32, u32)>);

struct Unpacker {
    root: PathBuf,
    layer: String,
    /// Directories created, with the mode and owner to apply once every layer is written
    /// (directories stay writable for us until then).
    dir_modes: Vec<DirMode>,
    as_root: bool,
}

/// An entry's path split into safe components.
struct EntryPath {
    display: String,
    parent: Vec<OsString>,
    name: OsString,
}

impl Unpacker {
    fn unsafe_entry(&self, entry: &str, reason: impl Into<String>) -> ImageError {
        ImageError::UnsafeEntry {
            layer: self.layer.clone(),
            entry: entry.to_string(),
            reason: reason.into(),
        }
    }

    fn io_err(&self, entry: &str) -> impl FnOnce(io::Error) -> ImageError + '_ {
        let entry = entry.to_string();
        move |e| {
            ImageError::invalid(
                format!("layer {}", self.layer),
                format!("cannot write entry `{entry}`: {e}"),
            )
        }
    }

    /// Splits and checks a tar path: no absolute paths, no `..`.
    fn split(&self, raw: &[u8], what: &str) -> Result<Option<EntryPath>> {
        let display = String::from_utf8_lossy(raw).into_owned();
        if raw.first() == Some(&b'/') {
            return Err(self.unsafe_entry(
                &display,
                format!("{what} is an absolute path; layer paths must be relative to the rootfs"),
            ));
        }
        let mut comps = Vec::new();
        for c in raw.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    return Err(self.unsafe_entry(
                        &display,
                        format!("{what} has a `..` component, which could escape the rootfs"),
                    ));
                }
                _ => comps.push(OsStr::from_bytes(c).to_os_string()),
            }
        }
        Ok(comps.pop().map(|name| EntryPath {
            display,
            parent: comps,
            name,
        }))
    }

    /// Resolves `comps` (a directory path inside the rootfs) to a host path, following
    /// symlinks as the kernel would inside a chroot but refusing any that lead outward.
    /// Missing directories are created when `create` is set, else `None` is returned.
    fn resolve_dir(
        &mut self,
        entry: &str,
        comps: &[OsString],
        create: bool,
    ) -> Result<Option<PathBuf>> {
        let mut cur: Vec<OsString> = Vec::new();
        let mut pending: VecDeque<OsString> = comps.iter().cloned().collect();
        let mut followed = 0usize;
        while let Some(c) = pending.pop_front() {
            if c == ".." {
                if cur.pop().is_none() {
                    return Err(
                        self.unsafe_entry(entry, "a symlink on its path climbs above the rootfs")
                    );
                }
                continue;
            }
            if c == "." || c.is_empty() {
                continue;
            }
            let host = self.host_path(&cur).join(&c);
            match fs::symlink_metadata(&host) {
                Ok(m) if m.file_type().is_symlink() => {
                    followed += 1;
                    if followed > MAX_SYMLINKS {
                        return Err(
                            self.unsafe_entry(entry, "too many levels of symlinks on its path")
                        );
                    }
                    let target = fs::read_link(&host).map_err(self.io_err(entry))?;
                    let tb = target.as_os_str().as_bytes();
                    let rel = self.rel_display(&cur, &c);
                    if tb.first() == Some(&b'/') {
                        return Err(self.unsafe_entry(
                            entry,
                            format!("it would be written through symlink `{rel}` -> `{}`, an absolute target that leads outside the rootfs when followed", target.display()),
                        ));
                    }
                    let mut new: VecDeque<OsString> = tb
                        .split(|&b| b == b'/')
                        .map(|p| OsStr::from_bytes(p).to_os_string())
                        .collect();
                    new.extend(pending.drain(..));
                    pending = new;
                    // Check the climb now so the error names the symlink.
                    let ups = tb.split(|&b| b == b'/').fold(
                        (cur.len() as isize, false),
                        |(d, bad), p| match p {
                            b".." => (d - 1, bad || d - 1 < 0),
                            b"" | b"." => (d, bad),
                            _ => (d + 1, bad),
                        },
                    );
                    if ups.1 {
                        return Err(self.unsafe_entry(
                            entry,
                            format!("it would be written through symlink `{rel}` -> `{}`, which climbs above the rootfs", target.display()),
                        ));
                    }
                }
                Ok(m) if m.is_dir() => cur.push(c),
                Ok(_) => {
                    return Err(self.unsafe_entry(
                        entry,
                        format!(
                            "its parent `{}` is not a directory",
                            self.rel_display(&cur, &c)
                        ),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if !create {
                        return Ok(None);
                    }
                    fs::create_dir(&host).map_err(self.io_err(entry))?;
                    self.dir_modes.push((host, 0o755, None));
                    cur.push(c);
                }
                Err(e) => return Err(self.io_err(entry)(e)),
            }
        }
        Ok(Some(self.host_path(&cur)))
    }

    fn host_path(&self, comps: &[OsString]) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(comps);
        p
    }

    fn rel_display(&self, cur: &[OsString], c: &OsStr) -> String {
        let mut p = PathBuf::new();
        p.extend(cur);
        p.push(c);
        p.display().to_string()
    }

    fn apply(&mut self, path: &Path, diff_id: Option<&Digest>) -> Result<()> {
        // Pass 1: whiteouts against the lower layers.
        let mut ar = tar::Archive::new(open_layer(path)?);
        let entries = ar.entries().map_err(self.io_err("(archive)"))?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                ImageError::invalid(format!("layer {}", self.layer), format!("corrupt tar: {e}"))
            })?;
            let raw = entry.path_bytes().into_owned();
            let Some(p) = self.split(&raw, "the path")? else {
                continue;
            };
            let name = p.name.as_bytes();
            if !name.starts_with(WHITEOUT_PREFIX.as_bytes()) {
                continue;
            }
            let Some(dir) = self.resolve_dir(&p.display, &p.parent, false)? else {
                continue;
            };
            if name == OPAQUE_WHITEOUT.as_bytes() {
                let rd = match fs::read_dir(&dir) {
                    Ok(rd) => rd,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(self.io_err(&p.display)(e)),
                };
                for child in rd {
                    let child = child.map_err(self.io_err(&p.display))?;
                    remove_any(&child.path()).map_err(self.io_err(&p.display))?;
                }
            } else {
                let target = &name[WHITEOUT_PREFIX.len()..];
                if target.is_empty() || target == b"." || target == b".." {
                    return Err(self.unsafe_entry(&p.display, "whiteout names no file"));
                }
                let victim = dir.join(OsStr::from_bytes(target));
                match remove_any(&victim) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(self.io_err(&p.display)(e)),
                }
            }
        }

        // Pass 2: the entries themselves, hashing the uncompressed stream on the way.
        let mut ar = tar::Archive::new(HashingReader::new(open_layer(path)?));
        ar.set_preserve_permissions(true);
        ar.set_preserve_ownerships(self.as_root);
        ar.set_preserve_mtime(true);
        ar.set_unpack_xattrs(false);
        let entries = ar.entries().map_err(self.io_err("(archive)"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                ImageError::invalid(format!("layer {}", self.layer), format!("corrupt tar: {e}"))
            })?;
            let raw = entry.path_bytes().into_owned();
            let Some(p) = self.split(&raw, "the path")? else {
                continue;
            };
            if p.name.as_bytes().starts_with(WHITEOUT_PREFIX.as_bytes()) {
                continue;
            }
            let kind = entry.header().entry_type();
            match kind {
                EntryType::Regular
                | EntryType::Continuous
                | EntryType::Directory
                | EntryType::Symlink
                | EntryType::Link => {}
                // Metadata records (pax/GNU) that carry no file of their own.
                EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink => continue,
                EntryType::Char | EntryType::Block => {
                    return Err(self.unsafe_entry(
                        &p.display,
                        "device nodes are not allowed in session images",
                    ));
                }
                EntryType::Fifo => {
                    return Err(
                        self.unsafe_entry(&p.display, "fifos are not allowed in session images")
                    )
                }
                other => {
                    return Err(self.unsafe_entry(
                        &p.display,
                        format!("unsupported tar entry type {other:?}"),
                    ));
                }
            }
            let parent = self
                .resolve_dir(&p.display, &p.parent, true)?
                .ok_or_else(|| {
                    self.unsafe_entry(&p.display, "parent directory could not be created")
                })?;
            let dst = parent.join(&p.name);
            let existing = fs::symlink_metadata(&dst).ok();
            let mode = entry.header().mode().unwrap_or(0o755) & 0o7777;
            let owner = if self.as_root {
                Some((
                    entry.header().uid().unwrap_or(0) as u32,
                    entry.header().gid().unwrap_or(0) as u32,
                ))
            } else {
                None
            };
            if kind == EntryType::Directory {
                match existing {
                    Some(m) if m.is_dir() => {}
                    Some(_) => {
                        remove_any(&dst).map_err(self.io_err(&p.display))?;
                        fs::create_dir(&dst).map_err(self.io_err(&p.display))?;
                    }
                    None => fs::create_dir(&dst).map_err(self.io_err(&p.display))?,
                }
                fs::set_permissions(&dst, fs::Permissions::from_mode(0o755 | (mode & 0o7000)))
                    .map_err(self.io_err(&p.display))?;
                self.dir_modes.push((dst, mode, owner));
                continue;
            }
            if existing.is_some() {
                remove_any(&dst).map_err(self.io_err(&p.display))?;
            }
            if kind == EntryType::Link {
                let link = entry
                    .link_name_bytes()
                    .map(|b| b.into_owned())
                    .unwrap_or_default();
                let lp = self
                    .split(&link, "the hardlink target")?
                    .ok_or_else(|| self.unsafe_entry(&p.display, "hardlink target is empty"))?;
                let tdir = self
                    .resolve_dir(&p.display, &lp.parent, false)?
                    .ok_or_else(|| {
                        self.unsafe_entry(
                            &p.display,
                            format!(
                                "hardlink target `{}` does not exist in the rootfs",
                                lp.display
                            ),
                        )
                    })?;
                let target = tdir.join(&lp.name);
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_dir() => {
                        return Err(self.unsafe_entry(
                            &p.display,
                            format!("hardlink target `{}` is a directory", lp.display),
                        ));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        return Err(self.unsafe_entry(
                            &p.display,
                            format!(
                                "hardlink target `{}` does not exist in the rootfs",
                                lp.display
                            ),
                        ));
                    }
                }
                fs::hard_link(&target, &dst).map_err(self.io_err(&p.display))?;
                continue;
            }
            entry.unpack(&dst).map_err(self.io_err(&p.display))?;
        }
        if let Some(expected) = diff_id {
            let mut rest = ar.into_inner();
            io::copy(&mut rest, &mut io::sink()).map_err(self.io_err("(end of archive)"))?;
            let actual = rest.digest();
            if &actual != expected {
                return Err(ImageError::DigestMismatch {
                    blob: format!(
                        "layer {} (uncompressed content vs the config's diff_id)",
                        self.layer
                    ),
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Applies the recorded directory modes and owners, deepest first.
    fn finish(&mut self) -> Result<()> {
        // Later records for the same path win.
        let mut last: std::collections::HashMap<PathBuf, (u32, Option<(u32, u32)>)> =
            std::collections::HashMap::new();
        for (path, mode, owner) in std::mem::take(&mut self.dir_modes) {
            last.insert(path, (mode, owner));
        }
        for (path, (mode, owner)) in last {
            if let Some((uid, gid)) = owner {
                let _ = std::os::unix::fs::lchown(&path, Some(uid), Some(gid));
            }
            match fs::set_permissions(&path, fs::Permissions::from_mode(mode)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(ImageError::io("setting the mode of", &path)(e)),
            }
        }
        Ok(())
    }
}

/// Removes a file, symlink or whole directory tree (never following symlinks).
fn remove_any(path: &Path) -> io::Result<()> {
    let m = fs::symlink_metadata(path)?;
    if m.is_dir() {
        make_writable(path);
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Gives the owner write permission on every directory of a tree so it can be removed.
pub fn make_writable(path: &Path) {
    if let Ok(m) = fs::symlink_metadata(path) {
        if m.is_dir() {
            let _ = fs::set_permissions(
                path,
                fs::Permissions::from_mode((m.mode() & 0o7777) | 0o700),
            );
            if let Ok(rd) = fs::read_dir(path) {
                for c in rd.flatten() {
                    make_writable(&c.path());
                }
            }
        }
    }
}

/// Total bytes of regular files under `root`, hardlinked files counted once.
pub fn tree_size(root: &Path) -> Result<u64> {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for c in fs::read_dir(&dir).map_err(ImageError::io("reading", &dir))? {
            let c = c.map_err(ImageError::io("reading", &dir))?;
            let m = fs::symlink_metadata(c.path()).map_err(ImageError::io("reading", c.path()))?;
            if m.is_dir() {
                stack.push(c.path());
            } else if m.is_file() && seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
    }
    Ok(total)
}
