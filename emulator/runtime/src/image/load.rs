//! Loading images from disk: `docker save` tars (legacy `manifest.json` + `<id>/layer.tar`, and
//! the newer ones that are also OCI layouts), OCI image layout directories and OCI archive tars.
//! Every blob is hashed into the store and checked against the digest that names it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::digest::Digest;
use super::error::{ImageError, Result};
use super::platform::choose_platform;
use super::progress::Progress;
use super::reference::Reference;
use super::spec::{
    ConfigFile, Descriptor, DockerSaveEntry, Index, Manifest, ManifestDoc, ANNOTATION_IMAGE_NAME,
    ANNOTATION_REF_NAME, OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD, OCI_MANIFEST,
};
use super::store::ImageStore;
use super::unpack::{detect_compression, Compression};

/// Small metadata files of tars are kept in memory rather than stored as blobs.
const SMALL_FILE: u64 = 4 * 1024 * 1024;
/// Deepest index nesting we follow.
const MAX_INDEX_DEPTH: usize = 4;

/// One image found in a loaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// linux/amd64 manifest digest (what the rootfs is keyed by).
    pub digest: Digest,
    /// References it was tagged with (may be empty when the source names none).
    pub references: Vec<Reference>,
}

/// Where the files of an image source come from.
enum Source {
    Dir(PathBuf),
    Tar {
        desc: String,
        small: HashMap<String, Vec<u8>>,
        blobs: HashMap<String, Digest>,
        links: HashMap<String, String>,
    },
}

fn norm(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Source {
    fn desc(&self) -> String {
        match self {
            Source::Dir(p) => p.display().to_string(),
            Source::Tar { desc, .. } => desc.clone(),
        }
    }

    /// Normalises `path` and follows tar symlinks; a path with `..` components (which could
    /// point outside a layout directory) becomes one that never exists.
    fn resolve_link(&self, path: &str) -> String {
        let mut p = norm(path);
        if p.split('/').any(|c| c == "..") || path.starts_with('/') {
            return "\0invalid".into();
        }
        if let Source::Tar { links, .. } = self {
            for _ in 0..8 {
                match links.get(&p) {
                    Some(t) => p = t.clone(),
                    None => break,
                }
            }
        }
        p
    }

    fn has(&self, path: &str) -> bool {
        let p = self.resolve_link(path);
        match self {
            Source::Dir(d) => d.join(&p).is_file(),
            Source::Tar { small, blobs, .. } => small.contains_key(&p) || blobs.contains_key(&p),
        }
    }

    fn missing(&self, path: &str) -> ImageError {
        ImageError::MissingFile {
            source_desc: self.desc(),
            path: path.to_string(),
        }
    }

    /// Reads a small file.
    fn read(&self, store: &ImageStore, path: &str) -> Result<Vec<u8>> {
        let p = self.resolve_link(path);
        match self {
            Source::Dir(d) => {
                let f = d.join(&p);
                if !f.is_file() {
                    return Err(self.missing(path));
                }
                fs::read(&f).map_err(ImageError::io("reading", &f))
            }
            Source::Tar { small, blobs, .. } => match (small.get(&p), blobs.get(&p)) {
                (Some(b), _) => Ok(b.clone()),
                (None, Some(d)) => store.read_blob(d),
                (None, None) => Err(self.missing(path)),
            },
        }
    }

    /// Puts a file into the store and returns the digest of its content.
    fn import(
        &self,
        store: &ImageStore,
        path: &str,
        progress: &mut Progress,
    ) -> Result<(Digest, u64)> {
        let p = self.resolve_link(path);
        match self {
            Source::Dir(d) => {
                let f = d.join(&p);
                let file = File::open(&f).map_err(|_| self.missing(path))?;
                store.put_blob_reader(&mut BufReader::new(file), |n| progress.add_bytes(n))
            }
            Source::Tar { small, blobs, .. } => match (small.get(&p), blobs.get(&p)) {
                (Some(b), _) => Ok((store.put_blob_bytes(b)?, b.len() as u64)),
                (None, Some(d)) => {
                    let size = fs::metadata(store.blob_path(d))
                        .map(|m| m.len())
                        .unwrap_or(0);
                    Ok((d.clone(), size))
                }
                (None, None) => Err(self.missing(path)),
            },
        }
    }

    /// Imports the blob a descriptor names and checks its digest.
    fn import_verified(
        &self,
        store: &ImageStore,
        d: &Descriptor,
        progress: &mut Progress,
    ) -> Result<()> {
        let path = format!("blobs/sha256/{}", d.digest.hex());
        let (actual, _) = self.import(store, &path, progress)?;
        if actual != d.digest {
            return Err(ImageError::DigestMismatch {
                blob: format!("{path} in {}", self.desc()),
                expected: d.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }
}

/// Reads a tar, storing big files as blobs and keeping small metadata files in memory.
fn read_tar(store: &ImageStore, path: &Path, progress: &mut Progress) -> Result<Source> {
    let desc = path.display().to_string();
    let f = File::open(path).map_err(ImageError::io("opening", path))?;
    let mut ar = tar::Archive::new(BufReader::new(f));
    let mut small = HashMap::new();
    let mut blobs = HashMap::new();
    let mut links = HashMap::new();
    let entries = ar.entries().map_err(ImageError::io("reading tar", path))?;
    for e in entries {
        let mut e =
            e.map_err(|err| ImageError::invalid(&desc, format!("not a readable tar: {err}")))?;
        let name = norm(&String::from_utf8_lossy(&e.path_bytes()));
        let kind = e.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            if let Some(t) = e.link_name_bytes() {
                let t = String::from_utf8_lossy(&t).into_owned();
                let target = if kind.is_symlink() {
                    let base = name.rsplit_once('/').map_or("", |(d, _)| d);
                    let mut parts: Vec<&str> = if base.is_empty() {
                        vec![]
                    } else {
                        base.split('/').collect()
                    };
                    for c in t.split('/') {
                        match c {
                            "" | "." => {}
                            ".." => {
                                parts.pop();
                            }
                            c => parts.push(c),
                        }
                    }
                    parts.join("/")
                } else {
                    norm(&t)
                };
                links.insert(name, target);
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let size = e.header().size().unwrap_or(0);
        let is_meta = name.ends_with(".json") || name == "oci-layout" || name == "repositories";
        if is_meta && size <= SMALL_FILE {
            let mut b = Vec::with_capacity(size as usize);
            e.read_to_end(&mut b)
                .map_err(ImageError::io("reading tar", path))?;
            small.insert(name, b);
        } else {
            let (d, _) = store.put_blob_reader(&mut e, |n| progress.add_bytes(n))?;
            blobs.insert(name, d);
        }
    }
    Ok(Source::Tar {
        desc,
        small,
        blobs,
        links,
    })
}

/// Refuses configs for other platforms.
pub fn check_config_platform(config: &ConfigFile, what: &str) -> Result<()> {
    let arch_ok = config.architecture.is_empty() || config.architecture == "amd64";
    let os_ok = config.os.is_empty() || config.os == "linux";
    if arch_ok && os_ok {
        Ok(())
    } else {
        Err(ImageError::NoMatchingPlatform {
            reference: what.to_string(),
            offered: format!("{}/{}", config.os, config.architecture),
        })
    }
}

/// Loads every image in the file or directory at `path` into `store`, tags it, and returns
/// what was loaded. `tag` names the image when the source holds exactly one.
pub fn load_path(
    store: &ImageStore,
    path: &Path,
    tag: Option<&Reference>,
    progress: &mut Progress,
) -> Result<Vec<LoadedImage>> {
    let meta = fs::metadata(path).map_err(ImageError::io("opening image", path))?;
    let source = if meta.is_dir() {
        Source::Dir(path.to_path_buf())
    } else {
        read_tar(store, path, progress)?
    };
    let mut images = if source.has("index.json") {
        load_oci(store, &source, progress)?
    } else if source.has("manifest.json") {
        load_docker_legacy(store, &source, progress)?
    } else {
        return Err(source.missing("index.json` or `manifest.json"));
    };
    if let Some(t) = tag {
        if images.len() != 1 {
            return Err(ImageError::invalid(
                source.desc(),
                format!(
                    "holds {} images, so --tag cannot say which to name {t}",
                    images.len()
                ),
            ));
        }
        images[0].references = vec![t.clone()];
    }
    for img in &images {
        for r in &img.references {
            store.tag(r, &img.digest)?;
        }
    }
    Ok(images)
}

fn load_oci(
    store: &ImageStore,
    source: &Source,
    progress: &mut Progress,
) -> Result<Vec<LoadedImage>> {
    let index_bytes = source.read(store, "index.json")?;
    let index: Index = serde_json::from_slice(&index_bytes)
        .map_err(ImageError::json(format!("index.json of {}", source.desc())))?;
    // Docker's own save (v25+) also writes manifest.json with RepoTags: use them for names.
    let docker_tags: Vec<DockerSaveEntry> = if source.has("manifest.json") {
        serde_json::from_slice(&source.read(store, "manifest.json")?).unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut out: Vec<LoadedImage> = Vec::new();
    for top in &index.manifests {
        let digest = resolve_manifest(store, source, top, 0, progress)?;
        let manifest = store.manifest(&digest)?;
        let mut refs = Vec::new();
        if let Some(name) = top.annotations.get(ANNOTATION_IMAGE_NAME) {
            refs.push(Reference::parse(name)?);
        } else if let Some(name) = top.annotations.get(ANNOTATION_REF_NAME) {
            // A full reference is used as is; a bare tag needs --tag to say which repository.
            if name.contains('/') {
                refs.push(Reference::parse(name)?);
            }
        }
        for e in &docker_tags {
            if e.config.ends_with(manifest.config.digest.hex()) {
                for t in e.repo_tags.iter().flatten() {
                    refs.push(Reference::parse(t)?);
                }
            }
        }
        refs.dedup();
        match out.iter_mut().find(|i| i.digest == digest) {
            Some(existing) => existing.references.extend(refs),
            None => out.push(LoadedImage {
                digest,
                references: refs,
            }),
        }
    }
    if out.is_empty() {
        return Err(ImageError::invalid(
            source.desc(),
            "index.json lists no manifests",
        ));
    }
    Ok(out)
}

/// Imports a manifest (following indexes to linux/amd64) with its config and layers.
fn resolve_manifest(
    store: &ImageStore,
    source: &Source,
    d: &Descriptor,
    depth: usize,
    progress: &mut Progress,
) -> Result<Digest> {
    if depth > MAX_INDEX_DEPTH {
        return Err(ImageError::invalid(
            source.desc(),
            "indexes nested too deeply",
        ));
    }
    source.import_verified(store, d, progress)?;
    let what = format!("manifest {} in {}", d.digest, source.desc());
    match ManifestDoc::parse(&store.read_blob(&d.digest)?, &what)? {
        ManifestDoc::Index(idx) => {
            let chosen = choose_platform(&idx, &what)?.clone();
            resolve_manifest(store, source, &chosen, depth + 1, progress)
        }
        ManifestDoc::Manifest(m) => {
            source.import_verified(store, &m.config, progress)?;
            let config = ConfigFile::parse(
                &store.read_blob(&m.config.digest)?,
                &format!("config {}", m.config.digest),
            )?;
            check_config_platform(&config, &what)?;
            let n = m.layers.len();
            for (i, l) in m.layers.iter().enumerate() {
                progress.layer(i + 1, n);
                source.import_verified(store, l, progress)?;
            }
            Ok(d.digest.clone())
        }
    }
}

fn load_docker_legacy(
    store: &ImageStore,
    source: &Source,
    progress: &mut Progress,
) -> Result<Vec<LoadedImage>> {
    let entries: Vec<DockerSaveEntry> =
        serde_json::from_slice(&source.read(store, "manifest.json")?).map_err(ImageError::json(
            format!("manifest.json of {}", source.desc()),
        ))?;
    if entries.is_empty() {
        return Err(ImageError::invalid(
            source.desc(),
            "manifest.json lists no images",
        ));
    }
    let mut out = Vec::new();
    for e in entries {
        let config_bytes = source.read(store, &e.config)?;
        let config_digest = store.put_blob_bytes(&config_bytes)?;
        verify_named(source, &e.config, &config_digest)?;
        let config = ConfigFile::parse(
            &config_bytes,
            &format!("config {} in {}", e.config, source.desc()),
        )?;
        check_config_platform(&config, &source.desc())?;
        let diff_ids = config
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        if diff_ids.len() != e.layers.len() {
            return Err(ImageError::invalid(
                source.desc(),
                format!(
                    "config lists {} layer diff_ids but manifest.json lists {} layers",
                    diff_ids.len(),
                    e.layers.len()
                ),
            ));
        }
        let mut layers = Vec::new();
        let n = e.layers.len();
        for (i, lp) in e.layers.iter().enumerate() {
            progress.layer(i + 1, n);
            let (d, size) = source.import(store, lp, progress)?;
            verify_named(source, lp, &d)?;
            let media_type = match detect_compression(&store.blob_path(&d))? {
                Compression::None => {
                    if d != diff_ids[i] {
                        return Err(ImageError::DigestMismatch {
                            blob: format!("{lp} in {}", source.desc()),
                            expected: diff_ids[i].to_string(),
                            actual: d.to_string(),
                        });
                    }
                    OCI_LAYER_TAR
                }
                Compression::Gzip => OCI_LAYER_GZIP,
                Compression::Zstd => OCI_LAYER_ZSTD,
            };
            layers.push(Descriptor {
                media_type: media_type.into(),
                digest: d,
                size,
                platform: None,
                annotations: Default::default(),
            });
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            config: Descriptor {
                media_type: OCI_CONFIG.into(),
                digest: config_digest,
                size: config_bytes.len() as u64,
                platform: None,
                annotations: Default::default(),
            },
            layers,
            annotations: Default::default(),
        };
        let mbytes =
            serde_json::to_vec(&manifest).map_err(ImageError::json("synthesised manifest"))?;
        let digest = store.put_blob_bytes(&mbytes)?;
        let references = e
            .repo_tags
            .iter()
            .flatten()
            .map(|t| Reference::parse(t))
            .collect::<Result<Vec<_>>>()?;
        out.push(LoadedImage { digest, references });
    }
    Ok(out)
}

/// Paths that carry a digest (`<hex>.json`, `blobs/sha256/<hex>`, `<hex>/layer.tar`) must match it.
fn verify_named(source: &Source, path: &str, actual: &Digest) -> Result<()> {
    let p = norm(path);
    let candidate = p
        .strip_prefix("blobs/sha256/")
        .or_else(|| p.strip_suffix(".json"));
    if let Some(h) = candidate {
        if let Ok(expected) = Digest::from_hex(h) {
            if &expected != actual {
                return Err(ImageError::DigestMismatch {
                    blob: format!("{path} in {}", source.desc()),
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::spec::Platform;

    fn desc(os: &str, arch: &str) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: Digest::of(format!("{os}/{arch}").as_bytes()),
            size: 1,
            platform: Some(Platform {
                architecture: arch.into(),
                os: os.into(),
                variant: None,
            }),
            annotations: Default::default(),
        }
    }

    #[test]
    fn picks_amd64_from_index() {
        let idx = Index {
            schema_version: 2,
            media_type: None,
            manifests: vec![desc("linux", "arm64"), desc("linux", "amd64")],
            annotations: Default::default(),
        };
        assert_eq!(
            choose_platform(&idx, "x")
                .unwrap()
                .platform
                .as_ref()
                .unwrap()
                .architecture,
            "amd64"
        );
        let idx = Index {
            manifests: vec![desc("linux", "arm64")],
            ..idx
        };
        let e = choose_platform(&idx, "x").unwrap_err().to_string();
        assert!(e.contains("linux/arm64"), "{e}");
    }

    #[test]
    fn norm_strips_dot_slash() {
        assert_eq!(norm("./blobs//sha256/x"), "blobs/sha256/x");
    }
}
