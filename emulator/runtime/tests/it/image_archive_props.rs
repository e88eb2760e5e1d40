//! Fuzzing of image sources: a valid image as an OCI layout directory, an OCI archive tar or a
//! `docker save` tar, with its `index.json`, `oci-layout`, manifest, config, `manifest.json`
//! or a layer changed at random (fields replaced or deleted with hostile values, bytes cut or
//! flipped; digests and sizes re-computed or not, so a change reaches the checks behind the
//! digest check), or the archive itself cut or flipped. Loading and then preparing what
//! loaded must answer `Ok` or a clear error: never a panic and never a hang (60 s a case).
//!
//! `IMAGE_FUZZ_CASES` inputs (default 300); the figure line is printed (`--no-capture`):
//! `RELIABILITY-FIGURE <TAB> test <TAB> tried <TAB> failed <TAB> figure`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use sessions_runtime::image::digest::Digest;
use sessions_runtime::image::load::load_path;
use sessions_runtime::image::progress::Progress;
use sessions_runtime::image::write::{self, BuiltImage, Files};
use sessions_runtime::image::ImageStore;
use sessions_runtime::testing::rich_image;

fn base() -> &'static BuiltImage {
    static IMG: OnceLock<BuiltImage> = OnceLock::new();
    IMG.get_or_init(rich_image)
}

/// How the image reaches the loader.
#[derive(Debug, Clone, Copy)]
enum Format {
    OciDir,
    OciTar,
    DockerTar,
}

/// Which file of the source a JSON mutation changes.
#[derive(Debug, Clone, Copy)]
enum Target {
    Index,
    Layout,
    Manifest,
    Config,
    DockerManifest,
}

/// What changes in the source.
#[derive(Debug, Clone)]
enum Change {
    /// Fields of one JSON file replaced or deleted; `rehash` keeps the digests right.
    Json {
        target: Target,
        mutations: Vec<(usize, bool, Value)>,
        rehash: bool,
    },
    /// One layer's bytes cut at `cut` (a fraction) or one byte flipped.
    Layer {
        which: usize,
        cut: Option<u16>,
        flip: (usize, u8),
        rehash: bool,
    },
    /// The archive (tar formats) cut or flipped.
    Archive { cut: Option<u16>, flip: (usize, u8) },
}

fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(true)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(u64::MAX)),
        Just(json!(1e308)),
        Just(json!("")),
        Just(json!("../../../../etc/passwd")),
        Just(json!("/abs/path")),
        Just(json!(format!("sha256:{}", "0".repeat(64)))),
        Just(json!("sha256:../../x")),
        Just(json!("sha512:abc")),
        Just(json!("application/vnd.oci.image.index.v1+json")),
        Just(json!("application/vnd.oci.image.manifest.v1+json")),
        Just(json!("application/vnd.docker.image.rootfs.diff.tar.gzip")),
        Just(json!("arm64")),
        Just(json!("windows")),
        Just(json!("x".repeat(10_000))),
        Just(json!([])),
        Just(json!({})),
        Just(
            json!([{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "digest": format!("sha256:{}", "1".repeat(64)), "size": 1}])
        ),
        "\\PC{0,20}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::Index),
        Just(Target::Layout),
        Just(Target::Manifest),
        Just(Target::Config),
        Just(Target::DockerManifest),
    ]
}

fn change() -> impl Strategy<Value = Change> {
    let flip = (any::<usize>(), 1u8..=255);
    prop_oneof![
        4 => (target(), prop::collection::vec((any::<usize>(), any::<bool>(), hostile_value()), 1..4), any::<bool>())
            .prop_map(|(target, mutations, rehash)| Change::Json { target, mutations, rehash }),
        2 => (any::<usize>(), prop::option::of(any::<u16>()), flip.clone(), any::<bool>())
            .prop_map(|(which, cut, flip, rehash)| Change::Layer { which, cut, flip, rehash }),
        1 => (prop::option::of(any::<u16>()), flip)
            .prop_map(|(cut, flip)| Change::Archive { cut, flip }),
    ]
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![
        Just(Format::OciDir),
        Just(Format::OciTar),
        Just(Format::DockerTar)
    ]
}

/// Every field of `v`, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(c, format!("{at}/{k}"), out)
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out)
            }
        }
        _ => {}
    }
}

fn mutate(bytes: &[u8], mutations: &[(usize, bool, Value)]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<Value>(bytes) else {
        return bytes.to_vec();
    };
    for (which, delete, value) in mutations {
        let mut all = Vec::new();
        pointers(&v, String::new(), &mut all);
        let at = &all[which % all.len()];
        let Some((parent, key)) = at.rsplit_once('/') else {
            v = value.clone();
            continue;
        };
        match v.pointer_mut(parent) {
            Some(Value::Object(m)) if *delete => {
                m.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Some(p) => {
                if let Some(slot) = p.pointer_mut(&format!("/{key}")) {
                    *slot = value.clone();
                }
            }
            None => {}
        }
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

fn cut_or_flip(bytes: &mut Vec<u8>, cut: Option<u16>, flip: (usize, u8)) {
    if bytes.is_empty() {
        return;
    }
    match cut {
        Some(c) => bytes.truncate(bytes.len() * c as usize / (u16::MAX as usize + 1)),
        None => {
            let at = flip.0 % bytes.len();
            bytes[at] ^= flip.1;
        }
    }
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// Replaces blob `old` of an OCI layout by `bytes`; returns the new digest and size.
fn replace_blob(files: &mut Files, old: &str, bytes: Vec<u8>) -> (String, u64) {
    files.remove(old);
    let d = Digest::of(&bytes);
    let size = bytes.len() as u64;
    files.insert(blob_path(&d), bytes);
    (d.as_str().to_string(), size)
}

/// Points the descriptor at `pointer` in JSON file `path` at (`digest`, `size`), if the file
/// still parses and has it; returns the file's new bytes.
fn repoint(bytes: &[u8], pointer: &str, digest: &str, size: u64) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<Value>(bytes) else {
        return bytes.to_vec();
    };
    if let Some(Value::Object(d)) = v.pointer_mut(pointer) {
        d.insert("digest".into(), json!(digest));
        d.insert("size".into(), json!(size));
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// An OCI layout: the manifest changed to `manifest` (and `index.json` pointed at it).
fn set_manifest(files: &mut Files, img: &BuiltImage, manifest: Vec<u8>) {
    let (d, size) = replace_blob(files, &blob_path(&img.manifest_digest), manifest);
    let index = files.get("index.json").cloned().unwrap_or_default();
    files.insert(
        "index.json".into(),
        repoint(&index, "/manifests/0", &d, size),
    );
}

fn oci_files(img: &BuiltImage, change: &Change) -> Files {
    let mut files = write::oci_layout(img, Some("localhost/fuzz:1")).expect("layout");
    match change {
        Change::Json {
            target,
            mutations,
            rehash,
        } => {
            let path = match target {
                Target::Index | Target::DockerManifest => "index.json".to_string(),
                Target::Layout => "oci-layout".to_string(),
                Target::Manifest => blob_path(&img.manifest_digest),
                Target::Config => blob_path(&img.config_digest),
            };
            let new = mutate(&files[&path], mutations);
            match (target, rehash) {
                (Target::Manifest, true) => set_manifest(&mut files, img, new),
                (Target::Config, true) => {
                    let (d, size) = replace_blob(&mut files, &path, new);
                    set_manifest(&mut files, img, repoint(&img.manifest, "/config", &d, size));
                }
                _ => {
                    files.insert(path, new);
                }
            }
        }
        Change::Layer {
            which,
            cut,
            flip,
            rehash,
        } => {
            let i = which % img.layers.len();
            let (desc, bytes) = &img.layers[i];
            let mut bytes = bytes.clone();
            cut_or_flip(&mut bytes, *cut, *flip);
            let path = blob_path(&desc.digest);
            if *rehash {
                let (d, size) = replace_blob(&mut files, &path, bytes);
                let manifest = repoint(&img.manifest, &format!("/layers/{i}"), &d, size);
                set_manifest(&mut files, img, manifest);
            } else {
                files.insert(path, bytes);
            }
        }
        Change::Archive { .. } => {}
    }
    files
}

fn docker_files(img: &BuiltImage, change: &Change) -> Files {
    let mut files = write::docker_save(img, &["localhost/fuzz:1"]).expect("docker save");
    let config = format!("{}.json", img.config_digest.hex());
    match change {
        Change::Json {
            target,
            mutations,
            rehash,
        } => {
            let path = match target {
                Target::Config | Target::Manifest => config.clone(),
                _ => "manifest.json".to_string(),
            };
            let new = mutate(&files[&path], mutations);
            if *rehash && path == config {
                files.remove(&path);
                let name = format!("{}.json", Digest::of(&new).hex());
                files.insert(name.clone(), new);
                let m = files["manifest.json"].clone();
                let mut v: Value = serde_json::from_slice(&m).expect("manifest.json");
                v[0]["Config"] = json!(name);
                files.insert(
                    "manifest.json".into(),
                    serde_json::to_vec(&v).expect("json"),
                );
            } else {
                files.insert(path, new);
            }
        }
        Change::Layer {
            which, cut, flip, ..
        } => {
            let i = which % img.layer_tars.len();
            let path = format!("{}/layer.tar", Digest::of(&img.layer_tars[i]).hex());
            let mut bytes = img.layer_tars[i].clone();
            cut_or_flip(&mut bytes, *cut, *flip);
            files.insert(path, bytes);
        }
        Change::Archive { .. } => {}
    }
    files
}

/// Writes the changed source under `dir`; returns its path.
fn write_source(dir: &Path, format: Format, change: &Change) -> std::path::PathBuf {
    let img = base();
    match format {
        Format::OciDir => {
            let p = dir.join("layout");
            write::write_dir(&oci_files(img, change), &p).expect("write dir");
            p
        }
        Format::OciTar | Format::DockerTar => {
            let files = match format {
                Format::DockerTar => docker_files(img, change),
                _ => oci_files(img, change),
            };
            let p = dir.join("image.tar");
            write::write_tar(&files, &p).expect("write tar");
            if let Change::Archive { cut, flip } = change {
                let mut bytes = std::fs::read(&p).expect("tar");
                cut_or_flip(&mut bytes, *cut, *flip);
                std::fs::write(&p, bytes).expect("tar");
            }
            p
        }
    }
}

/// What one case did: loaded and prepared, refused at load, refused at prepare.
enum Outcome {
    Prepared,
    RefusedAtLoad,
    RefusedAtPrepare,
}

/// Loads and prepares the source in a thread: an error is fine, a panic or a hang is not.
fn load_and_prepare(format: Format, change: Change) -> Result<Outcome, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let what = format!("{format:?} {change:?}");
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = write_source(dir.path(), format, &change);
        let store = ImageStore::open(&dir.path().join("data")).expect("store");
        let outcome = match load_path(&store, &src, None, &mut Progress::quiet()) {
            Err(e) => {
                assert!(!e.to_string().is_empty());
                Outcome::RefusedAtLoad
            }
            Ok(images) => {
                let mut outcome = Outcome::Prepared;
                for img in &images {
                    if store.prepare("localhost/fuzz:1", &img.digest).is_err() {
                        outcome = Outcome::RefusedAtPrepare;
                    }
                }
                outcome
            }
        };
        let _ = tx.send(outcome);
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(o) => Ok(o),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(format!("a hang: {what}")),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(format!("a panic: {what}")),
    }
}

#[test]
fn changed_image_sources_load_or_fail_cleanly() {
    let cases = std::env::var("IMAGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(300);
    let counts = [
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ];
    let mut runner = TestRunner::new(Config {
        cases: cases as u32,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(format(), change()),
        |(format, change)| match load_and_prepare(format, change) {
            Ok(o) => {
                let i = match o {
                    Outcome::Prepared => 0,
                    Outcome::RefusedAtLoad => 1,
                    Outcome::RefusedAtPrepare => 2,
                };
                counts[i].fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(e)),
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let [ok, load, prep] = counts.map(AtomicUsize::into_inner);
    eprintln!(
        "RELIABILITY-FIGURE\timage_archive_props::changed_image_sources_load_or_fail_cleanly\t{cases}\t0\t{} changed image sources (OCI layout dirs, OCI archives, docker save tars: manifests, configs, indexes and layers mutated, archives cut or flipped): {ok} loaded and prepared, {load} refused at load, {prep} refused at prepare; 0 panics, 0 hangs",
        ok + load + prep
    );
}
