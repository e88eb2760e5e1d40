//! The sample session image `localhost/sample-session:latest`, and its seeding into image
//! stores.
//!
//! The image is one gzip layer holding the static `sample-session` server as
//! `/app/sample-session` (plus `/etc/passwd`, `/etc/group`, `/root`, `/tmp`), `Entrypoint
//! ["/app/sample-session"]`, `ExposedPorts 8080/tcp`. It is built deterministically from the
//! binary ([`spec`]), so one binary always gives one digest. `sessions-emulator` carries the
//! binary (crate `sessions-guest`); `pack-image` writes the same image as files.
//!
//! Seeding ([`seed`]) puts it into a store the way the seeded environment and workspace are put
//! into a fresh data dir: once. `images/seeded.json` records the digest seeded last, so:
//!
//! - a store that never had it gets it ([`Seeding::Seeded`]);
//! - after `image rm` it stays removed ([`Seeding::KeptRemoved`]): nothing reappears behind
//!   the user's back; `sessions-emulator image seed` puts it back ([`restore`]);
//! - a reference still pointing at what was seeded follows the binary: a newer build's sample
//!   replaces it ([`Seeding::Updated`]);
//! - an image the user loaded under that name is left alone ([`Seeding::UserImage`]).
//!
//! `--in-memory` runs start fresh every time, so they seed it whenever it is missing
//! ([`SeedMode::Always`]).

use std::collections::BTreeMap;
use std::fs;

use super::digest::Digest;
use super::error::{ImageError, Result};
use super::reference::Reference;
use super::spec::RuntimeConfig;
use super::store::ImageStore;
use super::unpack::Compression;
use super::write::{self, BuiltImage, ImageSpec, LayerEntry, LayerSpec};

/// The reference the sample image is seeded under.
pub const REFERENCE: &str = "localhost/sample-session:latest";

/// The port the sample session listens on.
pub const PORT: u16 = 8080;

/// The record of what was seeded, in the store root.
const SEEDED_FILE: &str = "seeded.json";

/// The image spec for a static binary packed as `/app/<name>`, listening on `port`.
pub fn spec(binary: Vec<u8>, name: &str, port: u16) -> ImageSpec {
    let entries = vec![
        LayerEntry::dir("app"),
        LayerEntry::exe(&format!("app/{name}"), binary),
        LayerEntry::dir("etc"),
        LayerEntry::file(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        LayerEntry::file("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        LayerEntry::dir("root"),
        LayerEntry::Dir {
            path: "tmp".into(),
            mode: 0o1777,
        },
    ];
    let mut labels = BTreeMap::new();
    labels.insert(
        "org.opencontainers.image.title".to_string(),
        name.to_string(),
    );
    ImageSpec {
        layers: vec![LayerSpec {
            entries,
            compression: Compression::Gzip,
        }],
        config: RuntimeConfig {
            entrypoint: Some(vec![format!("/app/{name}")]),
            env: Some(vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ]),
            exposed_ports: Some(
                [(format!("{port}/tcp"), serde_json::json!({}))]
                    .into_iter()
                    .collect(),
            ),
            labels: Some(labels),
            ..Default::default()
        },
        architecture: "amd64".into(),
    }
}

/// The sample image built from the `sample-session` binary carried by this build; `None` when
/// the build has no guest (`SESSIONS_EMULATOR_GUEST=none`, see [`sessions_guest::ABSENT`]).
pub fn embedded() -> Option<Result<BuiltImage>> {
    sessions_guest::SAMPLE_SESSION
        .map(|bin| write::build(&spec(bin.to_vec(), "sample-session", PORT)))
}

/// Stores every blob of `img` and points `reference` at it.
pub fn put(store: &ImageStore, img: &BuiltImage, reference: &Reference) -> Result<()> {
    store.put_blob_bytes(&img.config)?;
    for (_, blob) in &img.layers {
        store.put_blob_bytes(blob)?;
    }
    store.put_blob_bytes(&img.manifest)?;
    store.tag(reference, &img.manifest_digest)
}

/// When to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedMode {
    /// Once per store (a data dir): a removed sample stays removed.
    Once,
    /// Whenever it is missing (`--in-memory` runs, which start fresh every time).
    Always,
}

/// What [`seed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeding {
    /// The sample was missing and is now in the store.
    Seeded(Digest),
    /// The sample seeded by an earlier build was replaced by this build's.
    Updated(Digest),
    /// This build's sample is already there.
    Present(Digest),
    /// The user removed the seeded sample; it stays removed.
    KeptRemoved,
    /// The reference names an image the user put there; left alone.
    UserImage(Digest),
    /// This build carries no sample binary (see [`sessions_guest::ABSENT`]).
    NotEmbedded,
}

fn reference() -> Reference {
    Reference::parse(REFERENCE).expect("the sample reference is valid")
}

fn read_seeded(store: &ImageStore) -> Option<Digest> {
    let bytes = fs::read(store.root().join(SEEDED_FILE)).ok()?;
    let map: BTreeMap<String, Digest> = serde_json::from_slice(&bytes).ok()?;
    map.get(REFERENCE).cloned()
}

fn write_seeded(store: &ImageStore, digest: &Digest) -> Result<()> {
    let map: BTreeMap<&str, &Digest> = [(REFERENCE, digest)].into_iter().collect();
    let body = serde_json::to_vec_pretty(&map).map_err(ImageError::json("the seeding record"))?;
    let tmp = store.tmp_path("seeded");
    fs::write(&tmp, body).map_err(ImageError::io("writing", &tmp))?;
    let dst = store.root().join(SEEDED_FILE);
    fs::rename(&tmp, &dst).map_err(ImageError::io("replacing", &dst))
}

/// Seeds this build's sample image into `store` following the rules in the module docs.
pub fn seed(store: &ImageStore, mode: SeedMode) -> Result<Seeding> {
    let Some(img) = embedded() else {
        return Ok(Seeding::NotEmbedded);
    };
    seed_image(store, &img?, mode)
}

/// [`seed`], logging what happened; a failure is logged, not fatal (pools naming the image
/// then fail with `ContainerImagePullFailed`, as for any missing image).
pub fn seed_logged(store: &ImageStore, mode: SeedMode) {
    match seed(store, mode) {
        Ok(Seeding::Seeded(d)) => tracing::info!(image = REFERENCE, digest = %d, "seeded the sample image"),
        Ok(Seeding::Updated(d)) => {
            tracing::info!(image = REFERENCE, digest = %d, "updated the seeded sample image to this build's")
        }
        Ok(Seeding::KeptRemoved) => tracing::info!(
            image = REFERENCE,
            "the sample image was removed from this data dir; `sessions-emulator image seed` puts it back"
        ),
        Ok(Seeding::UserImage(d)) => {
            tracing::debug!(image = REFERENCE, digest = %d, "keeping the image loaded under the sample's name")
        }
        Ok(Seeding::Present(_)) => {}
        Ok(Seeding::NotEmbedded) => tracing::warn!("no sample image: {}", sessions_guest::ABSENT),
        Err(e) => tracing::warn!(image = REFERENCE, "could not seed the sample image: {e}"),
    }
}

/// [`seed`] with a given image (tests use small stand-ins for the binary).
pub fn seed_image(store: &ImageStore, img: &BuiltImage, mode: SeedMode) -> Result<Seeding> {
    let builtin = img.manifest_digest.clone();
    let current = store.refs()?.get(REFERENCE).cloned();
    let seeded = read_seeded(store);
    let recorded = seeded.as_ref() == Some(&builtin);
    let outcome = match (current, seeded) {
        (Some(c), _) if c == builtin => Seeding::Present(builtin.clone()),
        (Some(c), Some(s)) if c == s => {
            put(store, img, &reference())?;
            Seeding::Updated(builtin.clone())
        }
        (Some(c), _) => return Ok(Seeding::UserImage(c)),
        (None, Some(_)) if mode == SeedMode::Once => return Ok(Seeding::KeptRemoved),
        (None, _) => {
            put(store, img, &reference())?;
            Seeding::Seeded(builtin.clone())
        }
    };
    if !recorded {
        write_seeded(store, &builtin)?;
    }
    Ok(outcome)
}

/// Puts this build's sample image under [`REFERENCE`], replacing whatever is there
/// (`sessions-emulator image seed`).
pub fn restore(store: &ImageStore) -> Result<Digest> {
    let img = embedded().ok_or_else(|| {
        ImageError::invalid("the built-in sample image", sessions_guest::ABSENT)
    })??;
    put(store, &img, &reference())?;
    write_seeded(store, &img.manifest_digest)?;
    Ok(img.manifest_digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(bytes: &[u8]) -> BuiltImage {
        write::build(&spec(bytes.to_vec(), "sample-session", PORT)).expect("build")
    }

    fn current(store: &ImageStore) -> Option<Digest> {
        store.refs().expect("refs").get(REFERENCE).cloned()
    }

    #[test]
    fn the_same_binary_gives_the_same_digest() {
        assert_eq!(image(b"one").manifest_digest, image(b"one").manifest_digest);
        assert_ne!(image(b"one").manifest_digest, image(b"two").manifest_digest);
    }

    #[test]
    fn seeded_once_removal_sticks_and_restore_brings_it_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::open(dir.path()).expect("store");
        let v1 = image(b"v1");
        let d1 = v1.manifest_digest.clone();
        assert_eq!(
            seed_image(&store, &v1, SeedMode::Once).expect("seed"),
            Seeding::Seeded(d1.clone())
        );
        assert_eq!(current(&store), Some(d1.clone()));
        let prepared = store.lookup(REFERENCE).expect("lookup").expect("present");
        assert_eq!(prepared.config.entrypoint, vec!["/app/sample-session"]);
        assert_eq!(
            seed_image(&store, &v1, SeedMode::Once).expect("again"),
            Seeding::Present(d1.clone())
        );

        store.remove(REFERENCE).expect("rm");
        assert_eq!(
            seed_image(&store, &v1, SeedMode::Once).expect("after rm"),
            Seeding::KeptRemoved
        );
        assert_eq!(current(&store), None);
        // An --in-memory run seeds what is missing.
        assert_eq!(
            seed_image(&store, &v1, SeedMode::Always).expect("always"),
            Seeding::Seeded(d1.clone())
        );
    }

    #[test]
    fn a_newer_build_updates_its_own_seed_but_not_a_user_image() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::open(dir.path()).expect("store");
        let (v1, v2) = (image(b"v1"), image(b"v2"));
        seed_image(&store, &v1, SeedMode::Once).expect("seed v1");
        assert_eq!(
            seed_image(&store, &v2, SeedMode::Once).expect("seed v2"),
            Seeding::Updated(v2.manifest_digest.clone())
        );
        assert_eq!(current(&store), Some(v2.manifest_digest.clone()));
        // The old image's blobs are gone with its last reference.
        assert!(!store.has_blob(&v1.manifest_digest));

        let mine = image(b"the user's own build");
        put(&store, &mine, &reference()).expect("user load");
        assert_eq!(
            seed_image(&store, &v2, SeedMode::Once).expect("seed over user"),
            Seeding::UserImage(mine.manifest_digest.clone())
        );
        assert_eq!(current(&store), Some(mine.manifest_digest));
    }
}
