//! Writing images without Docker: build layers from a list of entries, then emit an OCI image
//! layout directory, an OCI archive tar or a `docker save` tar. Deterministic (fixed mtimes,
//! owners and gzip headers), so the same input always gives the same digests.
//!
//! Used by `pack-image` for the sample session image, and by tests to make odd images
//! (whiteouts, escapes, zstd layers, multi-platform indexes).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use tar::{EntryType, Header};

use super::digest::Digest;
use super::error::{ImageError, Result};
use super::spec::{
    ConfigFile, Descriptor, DockerSaveEntry, Index, Manifest, Platform, RootFs, RuntimeConfig,
    ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP,
    OCI_LAYER_TAR, OCI_LAYER_ZSTD, OCI_MANIFEST,
};
use super::unpack::Compression;

/// Modification time of every entry written (2024-01-01T00:00:00Z).
pub const FIXED_MTIME: u64 = 1_704_067_200;

/// One entry of a layer.
#[derive(Debug, Clone)]
pub enum LayerEntry {
    /// A directory.
    Dir { path: String, mode: u32 },
    /// A regular file.
    File {
        path: String,
        mode: u32,
        data: Vec<u8>,
    },
    /// A symlink.
    Symlink { path: String, target: String },
    /// A hardlink to an earlier entry.
    Hardlink { path: String, target: String },
    /// A character device (refused by the unpacker).
    CharDevice { path: String },
    /// A fifo (refused by the unpacker).
    Fifo { path: String },
    /// A regular file whose name is written verbatim, unchecked (for escape tests: `../x`, `/x`).
    RawFile { path: Vec<u8>, data: Vec<u8> },
}

impl LayerEntry {
    /// A directory with mode 0755.
    pub fn dir(path: &str) -> Self {
        LayerEntry::Dir {
            path: path.into(),
            mode: 0o755,
        }
    }
    /// A file with mode 0644.
    pub fn file(path: &str, data: impl Into<Vec<u8>>) -> Self {
        LayerEntry::File {
            path: path.into(),
            mode: 0o644,
            data: data.into(),
        }
    }
    /// An executable file (0755).
    pub fn exe(path: &str, data: impl Into<Vec<u8>>) -> Self {
        LayerEntry::File {
            path: path.into(),
            mode: 0o755,
            data: data.into(),
        }
    }
    /// A symlink.
    pub fn symlink(path: &str, target: &str) -> Self {
        LayerEntry::Symlink {
            path: path.into(),
            target: target.into(),
        }
    }
    /// A hardlink.
    pub fn hardlink(path: &str, target: &str) -> Self {
        LayerEntry::Hardlink {
            path: path.into(),
            target: target.into(),
        }
    }
    /// A whiteout hiding `path` from lower layers.
    pub fn whiteout(path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let p = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        LayerEntry::file(&p, Vec::new())
    }
    /// An opaque whiteout: hides everything lower layers put in `dir`.
    pub fn opaque(dir: &str) -> Self {
        LayerEntry::file(
            &format!("{}/.wh..wh..opq", dir.trim_end_matches('/')),
            Vec::new(),
        )
    }
}

/// A layer to build.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    /// Entries in archive order.
    pub entries: Vec<LayerEntry>,
    /// How to compress the tar.
    pub compression: Compression,
}

/// An image to build.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Layers, base first.
    pub layers: Vec<LayerSpec>,
    /// Runtime config.
    pub config: RuntimeConfig,
    /// CPU architecture recorded in the config (`amd64`).
    pub architecture: String,
}

/// A built image: every blob in memory.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// The manifest JSON.
    pub manifest: Vec<u8>,
    /// Its digest.
    pub manifest_digest: Digest,
    /// The config JSON.
    pub config: Vec<u8>,
    /// Its digest.
    pub config_digest: Digest,
    /// Layer blobs (compressed as asked) with their descriptors.
    pub layers: Vec<(Descriptor, Vec<u8>)>,
    /// Uncompressed layer tars (for `docker save`).
    pub layer_tars: Vec<Vec<u8>>,
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(FIXED_MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn werr(e: std::io::Error) -> ImageError {
    ImageError::invalid("image writer", e.to_string())
}

/// Builds an uncompressed layer tar.
pub fn layer_tar(entries: &[LayerEntry]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            LayerEntry::Dir { path, mode } => {
                let mut h = header(EntryType::Directory, *mode, 0);
                b.append_data(
                    &mut h,
                    format!("{}/", path.trim_end_matches('/')),
                    std::io::empty(),
                )
                .map_err(werr)?;
            }
            LayerEntry::File { path, mode, data } => {
                let mut h = header(EntryType::Regular, *mode, data.len() as u64);
                b.append_data(&mut h, path, &data[..]).map_err(werr)?;
            }
            LayerEntry::Symlink { path, target } => {
                let mut h = header(EntryType::Symlink, 0o777, 0);
                b.append_link(&mut h, path, target).map_err(werr)?;
            }
            LayerEntry::Hardlink { path, target } => {
                let mut h = header(EntryType::Link, 0o644, 0);
                b.append_link(&mut h, path, target).map_err(werr)?;
            }
            LayerEntry::CharDevice { path } => {
                let mut h = header(EntryType::Char, 0o666, 0);
                h.set_device_major(1).map_err(werr)?;
                h.set_device_minor(3).map_err(werr)?;
                b.append_data(&mut h, path, std::io::empty())
                    .map_err(werr)?;
            }
            LayerEntry::Fifo { path } => {
                let mut h = header(EntryType::Fifo, 0o644, 0);
                b.append_data(&mut h, path, std::io::empty())
                    .map_err(werr)?;
            }
            LayerEntry::RawFile { path, data } => {
                let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
                let name = &mut h.as_old_mut().name;
                if path.len() > name.len() {
                    return Err(ImageError::invalid(
                        "image writer",
                        "raw path longer than 100 bytes",
                    ));
                }
                name[..path.len()].copy_from_slice(path);
                h.set_cksum();
                b.append(&h, &data[..]).map_err(werr)?;
            }
        }
    }
    b.into_inner().map_err(werr)
}

/// Compresses a tar as asked (deterministic gzip header: no name, mtime 0).
pub fn compress(tar: &[u8], c: Compression) -> Result<Vec<u8>> {
    match c {
        Compression::None => Ok(tar.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::new(6));
            enc.write_all(tar).map_err(werr)?;
            enc.finish().map_err(werr)
        }
        Compression::Zstd => zstd::stream::encode_all(tar, 3).map_err(werr),
    }
}

fn media_type(c: Compression) -> &'static str {
    match c {
        Compression::None => OCI_LAYER_TAR,
        Compression::Gzip => OCI_LAYER_GZIP,
        Compression::Zstd => OCI_LAYER_ZSTD,
    }
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: Digest::of(bytes),
        size: bytes.len() as u64,
        platform: None,
        annotations: BTreeMap::new(),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(ImageError::json("image writer output"))
}

/// Builds every blob of an image.
pub fn build(spec: &ImageSpec) -> Result<BuiltImage> {
    let mut layers = Vec::new();
    let mut layer_tars = Vec::new();
    let mut diff_ids = Vec::new();
    for l in &spec.layers {
        let tar = layer_tar(&l.entries)?;
        diff_ids.push(Digest::of(&tar));
        let blob = compress(&tar, l.compression)?;
        layers.push((descriptor(media_type(l.compression), &blob), blob));
        layer_tars.push(tar);
    }
    let config = ConfigFile {
        architecture: spec.architecture.clone(),
        os: "linux".into(),
        config: Some(spec.config.clone()),
        rootfs: Some(RootFs {
            kind: "layers".into(),
            diff_ids,
        }),
    };
    let config_bytes = to_json(&config)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: descriptor(OCI_CONFIG, &config_bytes),
        layers: layers.iter().map(|(d, _)| d.clone()).collect(),
        annotations: BTreeMap::new(),
    };
    let manifest_bytes = to_json(&manifest)?;
    Ok(BuiltImage {
        manifest_digest: Digest::of(&manifest_bytes),
        manifest: manifest_bytes,
        config_digest: Digest::of(&config_bytes),
        config: config_bytes,
        layers,
        layer_tars,
    })
}

/// The files of an image layout or archive, path -> content, in a stable order.
pub type Files = BTreeMap<String, Vec<u8>>;

fn add_blobs(files: &mut Files, img: &BuiltImage) {
    files.insert(
        format!("blobs/sha256/{}", img.manifest_digest.hex()),
        img.manifest.clone(),
    );
    files.insert(
        format!("blobs/sha256/{}", img.config_digest.hex()),
        img.config.clone(),
    );
    for (d, b) in &img.layers {
        files.insert(format!("blobs/sha256/{}", d.digest.hex()), b.clone());
    }
}

fn name_annotations(reference: Option<&str>) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if let Some(r) = reference {
        a.insert(ANNOTATION_IMAGE_NAME.into(), r.to_string());
        let tag = r
            .rsplit_once(':')
            .filter(|(_, t)| !t.contains('/'))
            .map_or("latest", |(_, t)| t);
        a.insert(ANNOTATION_REF_NAME.into(), tag.to_string());
    }
    a
}

/// An OCI image layout for one image, named `reference` (annotations
/// `io.containerd.image.name` = reference, `org.opencontainers.image.ref.name` = its tag).
pub fn oci_layout(img: &BuiltImage, reference: Option<&str>) -> Result<Files> {
    let mut files = Files::new();
    files.insert(
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    );
    add_blobs(&mut files, img);
    let mut d = descriptor(OCI_MANIFEST, &img.manifest);
    d.annotations = name_annotations(reference);
    let index = Index {
        schema_version: 2,
        media_type: Some(OCI_INDEX.into()),
        manifests: vec![d],
        annotations: BTreeMap::new(),
    };
    files.insert("index.json".into(), to_json(&index)?);
    Ok(files)
}

/// An OCI image layout whose `index.json` points at a multi-platform index of `images`.
pub fn oci_layout_multi(
    images: &[(BuiltImage, Platform)],
    reference: Option<&str>,
) -> Result<Files> {
    let mut files = Files::new();
    files.insert(
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    );
    let mut manifests = Vec::new();
    for (img, platform) in images {
        add_blobs(&mut files, img);
        let mut d = descriptor(OCI_MANIFEST, &img.manifest);
        d.platform = Some(platform.clone());
        manifests.push(d);
    }
    let inner = to_json(&Index {
        schema_version: 2,
        media_type: Some(OCI_INDEX.into()),
        manifests,
        annotations: BTreeMap::new(),
    })?;
    let mut d = descriptor(OCI_INDEX, &inner);
    files.insert(format!("blobs/sha256/{}", d.digest.hex()), inner);
    d.annotations = name_annotations(reference);
    let index = Index {
        schema_version: 2,
        media_type: Some(OCI_INDEX.into()),
        manifests: vec![d],
        annotations: BTreeMap::new(),
    };
    files.insert("index.json".into(), to_json(&index)?);
    Ok(files)
}

/// A legacy `docker save` archive: `manifest.json`, `<config hex>.json`, `<diff id hex>/layer.tar`.
pub fn docker_save(img: &BuiltImage, repo_tags: &[&str]) -> Result<Files> {
    let mut files = Files::new();
    let config_name = format!("{}.json", img.config_digest.hex());
    files.insert(config_name.clone(), img.config.clone());
    let mut layers = Vec::new();
    for tar in &img.layer_tars {
        let p = format!("{}/layer.tar", Digest::of(tar).hex());
        files.insert(p.clone(), tar.clone());
        layers.push(p);
    }
    let entry = DockerSaveEntry {
        config: config_name,
        repo_tags: Some(repo_tags.iter().map(|s| s.to_string()).collect()),
        layers,
    };
    files.insert("manifest.json".into(), to_json(&vec![entry])?);
    let mut repos: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if let Some(last) = img.layer_tars.last() {
        for t in repo_tags {
            if let Some((repo, tag)) = t.rsplit_once(':') {
                repos
                    .entry(repo.into())
                    .or_default()
                    .insert(tag.into(), Digest::of(last).hex().into());
            }
        }
    }
    files.insert("repositories".into(), to_json(&repos)?);
    Ok(files)
}

/// Writes `files` under `dir` (created; existing files replaced).
pub fn write_dir(files: &Files, dir: &Path) -> Result<()> {
    for (p, b) in files {
        let dst = dir.join(p);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(ImageError::io("creating", parent))?;
        }
        fs::write(&dst, b).map_err(ImageError::io("writing", &dst))?;
    }
    Ok(())
}

/// Writes `files` as a tar at `path` (directories first, fixed metadata).
pub fn write_tar(files: &Files, path: &Path) -> Result<()> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for p in files.keys() {
        let mut acc = String::new();
        for c in p
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(c);
            dirs.insert(acc.clone());
        }
    }
    for d in &dirs {
        let mut h = header(EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, format!("{d}/"), std::io::empty())
            .map_err(werr)?;
    }
    for (p, data) in files {
        let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
        b.append_data(&mut h, p, &data[..]).map_err(werr)?;
    }
    let bytes = b.into_inner().map_err(werr)?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(ImageError::io("creating", parent))?;
    }
    fs::write(path, bytes).map_err(ImageError::io("writing", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(c: Compression) -> ImageSpec {
        ImageSpec {
            layers: vec![LayerSpec {
                entries: vec![
                    LayerEntry::dir("app"),
                    LayerEntry::exe("app/x", b"hi".to_vec()),
                ],
                compression: c,
            }],
            config: RuntimeConfig {
                entrypoint: Some(vec!["/app/x".into()]),
                ..Default::default()
            },
            architecture: "amd64".into(),
        }
    }

    #[test]
    fn builds_are_deterministic() {
        let a = build(&spec(Compression::Gzip)).unwrap();
        let b = build(&spec(Compression::Gzip)).unwrap();
        assert_eq!(a.manifest_digest, b.manifest_digest);
    }

    #[test]
    fn whiteout_names() {
        match LayerEntry::whiteout("etc/old") {
            LayerEntry::File { path, .. } => assert_eq!(path, "etc/.wh.old"),
            _ => unreachable!(),
        }
    }
}
