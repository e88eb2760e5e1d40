//! The content-addressed image store under `{data_dir}/images`:
//!
//! ```text
//! images/blobs/sha256/<hex>     every manifest, config and layer, named by its digest
//! images/rootfs/<hex>/          unpacked rootfs per manifest digest (read-only for consumers)
//! images/rootfs/<hex>.json      its size and runtime config
//! images/refs.json              reference -> manifest digest
//! images/tmp/                   work area; everything is written here, then renamed into place
//! ```
//!
//! Crash-safe and safe beside concurrent readers: every file and rootfs is built under `tmp/`
//! and renamed into place; `refs.json` is rewritten whole under an exclusive `flock` on
//! `refs.lock`, so an `image load` from the CLI can run while the emulator serves.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::digest::{Digest, HashingWriter};
use super::error::{ImageError, Result};
use super::prepared::{ImageConfig, PreparedImage};
use super::reference::Reference;
use super::spec::{ConfigFile, Manifest, ManifestDoc};
use super::unpack;

/// Leftovers in `tmp/` older than this are from crashed runs and are removed on open.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// Handle on the store; cheap to clone, holds no open files.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

/// One line of `image ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSummary {
    /// Normalised reference.
    pub reference: String,
    /// Manifest digest.
    pub digest: String,
    /// Compressed size of config and layers.
    pub size: u64,
    /// Unpacked rootfs size, when unpacked.
    pub rootfs_bytes: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RootfsMeta {
    rootfs_bytes: u64,
    config: ImageConfig,
}

impl ImageStore {
    /// Opens (creating if needed) the store under `{data_dir}/images`. Directories it creates,
    /// the data dir included, are private to the user (0700), as `serve` creates them.
    pub fn open(data_dir: &Path) -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let root = data_dir.join("images");
        for p in std::iter::once(data_dir.to_path_buf())
            .chain(["blobs/sha256", "rootfs", "tmp"].map(|d| root.join(d)))
        {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&p)
                .map_err(ImageError::io("creating", &p))?;
        }
        let s = ImageStore { root };
        s.clean_stale_tmp();
        Ok(s)
    }

    /// The store's root directory (`{data_dir}/images`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with digest `d` lives.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    /// Whether the blob is present.
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Reads a whole (small) blob.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>> {
        let p = self.blob_path(d);
        fs::read(&p).map_err(ImageError::io("reading blob", &p))
    }

    /// A fresh path under `tmp/`.
    pub fn tmp_path(&self, what: &str) -> PathBuf {
        self.root.join("tmp").join(format!(
            "{what}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// Streams `r` into the store and returns its digest and size.
    pub fn put_blob_reader(
        &self,
        r: &mut dyn Read,
        mut on_bytes: impl FnMut(u64),
    ) -> Result<(Digest, u64)> {
        let tmp = self.tmp_path("blob");
        let f = File::create(&tmp).map_err(ImageError::io("creating", &tmp))?;
        let mut w = HashingWriter::new(io::BufWriter::new(f));
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    return Err(ImageError::io("reading blob content for", &tmp)(e));
                }
            };
            w.write_all(&buf[..n])
                .map_err(ImageError::io("writing", &tmp))?;
            on_bytes(n as u64);
        }
        let (bw, digest, size) = w.finish();
        let f = bw
            .into_inner()
            .map_err(|e| ImageError::io("writing", &tmp)(e.into_error()))?;
        f.sync_all().map_err(ImageError::io("syncing", &tmp))?;
        drop(f);
        self.commit_blob(&tmp, &digest)?;
        Ok((digest, size))
    }

    /// Stores `bytes` and returns their digest.
    pub fn put_blob_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        let d = Digest::of(bytes);
        if self.has_blob(&d) {
            return Ok(d);
        }
        let tmp = self.tmp_path("blob");
        fs::write(&tmp, bytes).map_err(ImageError::io("writing", &tmp))?;
        self.commit_blob(&tmp, &d)?;
        Ok(d)
    }

    /// Moves a fully written and hashed temp file to its content address.
    pub fn commit_blob(&self, tmp: &Path, d: &Digest) -> Result<()> {
        let dst = self.blob_path(d);
        let _ = fs::set_permissions(tmp, std::os::unix::fs::PermissionsExt::from_mode(0o444));
        fs::rename(tmp, &dst).map_err(ImageError::io("storing blob", &dst))
    }

    /// The reference index.
    pub fn refs(&self) -> Result<BTreeMap<String, Digest>> {
        let p = self.root.join("refs.json");
        match fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(ImageError::json(format!(
                "{} (delete it and load the images again)",
                p.display()
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(ImageError::io("reading", &p)(e)),
        }
    }

    /// Runs `f` on the reference index under the store lock and writes the result atomically.
    fn update_refs<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Digest>) -> Result<T>,
    ) -> Result<T> {
        let lock_path = self.root.join("refs.lock");
        let lock = File::create(&lock_path).map_err(ImageError::io("creating", &lock_path))?;
        // SAFETY: flock on a valid, open file descriptor owned by `lock` for this whole scope.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(ImageError::io("locking", &lock_path)(
                io::Error::last_os_error(),
            ));
        }
        let mut refs = self.refs()?;
        let out = f(&mut refs)?;
        let tmp = self.tmp_path("refs");
        let body =
            serde_json::to_vec_pretty(&refs).map_err(ImageError::json("the reference index"))?;
        let mut file = File::create(&tmp).map_err(ImageError::io("creating", &tmp))?;
        file.write_all(&body)
            .map_err(ImageError::io("writing", &tmp))?;
        file.sync_all().map_err(ImageError::io("syncing", &tmp))?;
        let dst = self.root.join("refs.json");
        fs::rename(&tmp, &dst).map_err(ImageError::io("replacing", &dst))?;
        drop(lock);
        Ok(out)
    }

    /// Points `reference` at the manifest `digest`. An image the reference pointed at before
    /// is deleted when no other reference uses it (like `rm`).
    pub fn tag(&self, reference: &Reference, digest: &Digest) -> Result<()> {
        let key = reference.to_string();
        let d = digest.clone();
        let replaced = self.update_refs(|r| {
            let old = r.insert(key, d.clone());
            let orphan = old.filter(|o| *o != d && !r.values().any(|v| v == o));
            Ok(orphan.map(|o| (o, r.values().cloned().collect::<BTreeSet<_>>())))
        })?;
        if let Some((old, remaining)) = replaced {
            self.delete_image(&old, &remaining);
        }
        Ok(())
    }

    /// The manifest digest a reference points at, if known locally.
    pub fn lookup_digest(&self, reference: &Reference) -> Result<Option<Digest>> {
        if let Some(d) = &reference.digest {
            if self.has_blob(d) {
                // A pinned index digest maps to the platform manifest stored under it.
                return Ok(Some(self.platform_manifest(d)?));
            }
            return Ok(None);
        }
        Ok(self.refs()?.get(&reference.to_string()).cloned())
    }

    /// For an index digest, the linux/amd64 manifest recorded beside it; else the digest itself.
    fn platform_manifest(&self, d: &Digest) -> Result<Digest> {
        let doc = ManifestDoc::parse(&self.read_blob(d)?, &format!("manifest {d}"))?;
        match doc {
            ManifestDoc::Manifest(_) => Ok(d.clone()),
            ManifestDoc::Index(idx) => {
                let chosen = super::platform::choose_platform(&idx, d.as_str())?;
                self.platform_manifest(&chosen.digest)
            }
        }
    }

    /// Reads and parses a stored manifest.
    pub fn manifest(&self, digest: &Digest) -> Result<Manifest> {
        match ManifestDoc::parse(&self.read_blob(digest)?, &format!("manifest {digest}"))? {
            ManifestDoc::Manifest(m) => Ok(m),
            ManifestDoc::Index(_) => Err(ImageError::invalid(
                format!("manifest {digest}"),
                "is an index, not a single-platform manifest",
            )),
        }
    }

    /// The cached image for `reference`, unpacking it if needed; `None` when not in the store.
    pub fn lookup(&self, reference: &str) -> Result<Option<PreparedImage>> {
        let r = Reference::parse(reference)?;
        match self.lookup_digest(&r)? {
            Some(d) => Ok(Some(self.prepare(&r.to_string(), &d)?)),
            None => Ok(None),
        }
    }

    /// Unpacks (once) the image with manifest `digest` and describes it.
    pub fn prepare(&self, reference: &str, digest: &Digest) -> Result<PreparedImage> {
        let dir = self.root.join("rootfs").join(digest.hex());
        let meta_path = self
            .root
            .join("rootfs")
            .join(format!("{}.json", digest.hex()));
        if dir.is_dir() {
            if let Ok(b) = fs::read(&meta_path) {
                if let Ok(meta) = serde_json::from_slice::<RootfsMeta>(&b) {
                    return Ok(PreparedImage {
                        reference: reference.to_string(),
                        digest: digest.to_string(),
                        rootfs: dir,
                        rootfs_bytes: meta.rootfs_bytes,
                        config: meta.config,
                    });
                }
            }
        }
        let manifest = self.manifest(digest)?;
        let config = ConfigFile::parse(
            &self.read_blob(&manifest.config.digest)?,
            &format!("config {}", manifest.config.digest),
        )?;
        let diff_ids = config
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .filter(|d| d.len() == manifest.layers.len());
        let mut layers = Vec::new();
        for (i, l) in manifest.layers.iter().enumerate() {
            let p = self.blob_path(&l.digest);
            if !p.is_file() {
                return Err(ImageError::invalid(
                    format!("image {reference}"),
                    format!(
                        "layer {} ({}) is missing from the store; load or pull the image again",
                        i + 1,
                        l.digest
                    ),
                ));
            }
            layers.push(unpack::LayerFile {
                path: p,
                name: format!("{} ({})", i + 1, l.digest),
                diff_id: diff_ids.as_ref().map(|d| d[i].clone()),
            });
        }
        let tmp = self.tmp_path("rootfs");
        fs::create_dir(&tmp).map_err(ImageError::io("creating", &tmp))?;
        let bytes = match unpack::unpack_layers(&tmp, &layers) {
            Ok(b) => b,
            Err(e) => {
                remove_tree(&tmp);
                return Err(e);
            }
        };
        let meta = RootfsMeta {
            rootfs_bytes: bytes,
            config: config.image_config(),
        };
        let mtmp = self.tmp_path("meta");
        fs::write(
            &mtmp,
            serde_json::to_vec_pretty(&meta).map_err(ImageError::json("rootfs metadata"))?,
        )
        .map_err(ImageError::io("writing", &mtmp))?;
        fs::rename(&mtmp, &meta_path).map_err(ImageError::io("storing", &meta_path))?;
        if let Err(e) = fs::rename(&tmp, &dir) {
            // Another process finished the same unpack first: use theirs.
            remove_tree(&tmp);
            if !dir.is_dir() {
                return Err(ImageError::io("storing rootfs", &dir)(e));
            }
        }
        Ok(PreparedImage {
            reference: reference.to_string(),
            digest: digest.to_string(),
            rootfs: dir,
            rootfs_bytes: meta.rootfs_bytes,
            config: meta.config,
        })
    }

    /// Every tagged image.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        let mut out = Vec::new();
        for (reference, digest) in self.refs()? {
            let size = self
                .manifest(&digest)
                .map(|m| m.config.size + m.layers.iter().map(|l| l.size).sum::<u64>())
                .unwrap_or(0);
            let meta_path = self
                .root
                .join("rootfs")
                .join(format!("{}.json", digest.hex()));
            let rootfs_bytes = fs::read(&meta_path)
                .ok()
                .and_then(|b| serde_json::from_slice::<RootfsMeta>(&b).ok())
                .map(|m| m.rootfs_bytes);
            out.push(ImageSummary {
                reference,
                digest: digest.to_string(),
                size,
                rootfs_bytes,
            });
        }
        Ok(out)
    }

    /// Removes a reference; when no other reference uses its image, also its rootfs and the
    /// blobs no remaining image needs. Returns the manifest digest it pointed at.
    pub fn remove(&self, reference: &str) -> Result<Digest> {
        let r = Reference::parse(reference)?;
        let key = r.to_string();
        let (digest, still_used, remaining) = self.update_refs(|refs| {
            let d = match refs.remove(&key) {
                Some(d) => d,
                None => return Err(ImageError::NotFound(key.clone())),
            };
            let used = refs.values().any(|v| *v == d);
            Ok((d, used, refs.values().cloned().collect::<BTreeSet<_>>()))
        })?;
        if !still_used {
            self.delete_image(&digest, &remaining);
        }
        Ok(digest)
    }

    /// Deletes an image's rootfs and the blobs that no image in `remaining` needs; best effort.
    fn delete_image(&self, digest: &Digest, remaining: &BTreeSet<Digest>) {
        let dir = self.root.join("rootfs").join(digest.hex());
        if dir.exists() {
            let doomed = self.tmp_path("rm");
            if fs::rename(&dir, &doomed).is_ok() {
                remove_tree(&doomed);
            }
        }
        let _ = fs::remove_file(
            self.root
                .join("rootfs")
                .join(format!("{}.json", digest.hex())),
        );
        let mut keep = BTreeSet::new();
        for d in remaining {
            if let Ok(m) = self.manifest(d) {
                keep.insert(d.clone());
                keep.insert(m.config.digest.clone());
                keep.extend(m.layers.iter().map(|l| l.digest.clone()));
            }
        }
        if let Ok(m) = self.manifest(digest) {
            let mine = std::iter::once(digest.clone())
                .chain(std::iter::once(m.config.digest.clone()))
                .chain(m.layers.iter().map(|l| l.digest.clone()));
            for d in mine {
                if !keep.contains(&d) {
                    let _ = fs::remove_file(self.blob_path(&d));
                }
            }
        }
    }

    fn clean_stale_tmp(&self) {
        let tmp = self.root.join("tmp");
        let Ok(rd) = fs::read_dir(&tmp) else { return };
        let now = SystemTime::now();
        for e in rd.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_TMP);
            if old {
                remove_tree(&e.path());
            }
        }
    }
}

/// Removes a file or tree, making read-only directories writable first; best effort.
pub fn remove_tree(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            unpack::make_writable(path);
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_data_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/b/data");
        ImageStore::open(&data).unwrap();
        for p in [
            data.clone(),
            data.join("images"),
            data.join("images/blobs/sha256"),
        ] {
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", p.display());
        }
    }

    #[test]
    fn blobs_are_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let s = ImageStore::open(dir.path()).unwrap();
        let d = s.put_blob_bytes(b"abc").unwrap();
        assert_eq!(d, Digest::of(b"abc"));
        assert_eq!(s.read_blob(&d).unwrap(), b"abc");
        let (d2, n) = s.put_blob_reader(&mut &b"abc"[..], |_| {}).unwrap();
        assert_eq!((d2, n), (d, 3));
        assert!(fs::read_dir(s.root().join("tmp")).unwrap().next().is_none());
    }

    #[test]
    fn tags_round_trip_and_remove_reports_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let s = ImageStore::open(dir.path()).unwrap();
        let d = Digest::of(b"m");
        s.tag(&Reference::parse("localhost/a:1").unwrap(), &d)
            .unwrap();
        assert_eq!(s.refs().unwrap().get("localhost/a:1"), Some(&d));
        assert_eq!(
            s.lookup_digest(&Reference::parse("localhost/a:1").unwrap())
                .unwrap(),
            Some(d.clone())
        );
        let e = s.remove("localhost/b:1").unwrap_err().to_string();
        assert!(e.contains("localhost/b:1"), "{e}");
        assert_eq!(s.remove("localhost/a:1").unwrap(), d);
        assert!(s.refs().unwrap().is_empty());
    }
}
