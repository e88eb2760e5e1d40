//! Image store: loading the three archive formats, layers applied overlay-style, and every
//! way a hostile image could escape the rootfs refused with a clear error.

use std::path::Path;

use sessions_runtime::image::load::load_path;
use sessions_runtime::image::progress::Progress;
use sessions_runtime::image::spec::Platform;
use sessions_runtime::image::unpack::Compression;
use sessions_runtime::image::write::{self, BuiltImage, LayerEntry};
use sessions_runtime::image::{
    ImageError, ImageStore, PreparedImage, PullPolicy, Reference, RegistryOptions,
};
use sessions_runtime::testing::{image, image_arch, layer, rich_image, tree};

const REF: &str = "localhost/test-app:v1";

fn load(store: &ImageStore, path: &Path, tag: Option<&str>) -> Result<PreparedImage, ImageError> {
    let tag = tag.map(|t| Reference::parse(t).unwrap());
    let imgs = load_path(store, path, tag.as_ref(), &mut Progress::quiet())?;
    assert_eq!(imgs.len(), 1);
    store.prepare(REF, &imgs[0].digest)
}

fn load_layout(img: &BuiltImage) -> (tempfile::TempDir, Result<PreparedImage, ImageError>) {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    write::write_dir(&write::oci_layout(img, Some(REF)).unwrap(), &layout).unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let r = load(&store, &layout, None);
    (dir, r)
}

#[test]
fn three_formats_give_the_same_rootfs() {
    let img = rich_image();
    let dir = tempfile::tempdir().unwrap();
    let layout = write::oci_layout(&img, Some(REF)).unwrap();
    write::write_dir(&layout, &dir.path().join("oci")).unwrap();
    write::write_tar(&layout, &dir.path().join("oci.tar")).unwrap();
    write::write_tar(
        &write::docker_save(&img, &[REF]).unwrap(),
        &dir.path().join("docker.tar"),
    )
    .unwrap();

    let mut trees = Vec::new();
    for (i, src) in ["oci", "oci.tar", "docker.tar"].iter().enumerate() {
        let store = ImageStore::open(&dir.path().join(format!("data{i}"))).unwrap();
        let p = load(&store, &dir.path().join(src), None).unwrap();
        assert_eq!(p.config.entrypoint, vec!["/app/server"], "{src}");
        assert_eq!(p.config.exposed_ports, vec!["8080/tcp"], "{src}");
        assert_eq!(p.config.working_dir.as_deref(), Some("/app"));
        // Each source names the image itself.
        assert_eq!(
            store.lookup(REF).unwrap().unwrap().digest,
            p.digest,
            "{src}"
        );
        trees.push(tree(&p.rootfs));
    }
    assert_eq!(trees[0], trees[1]);
    assert_eq!(trees[0], trees[2]);
    let t = &trees[0];
    assert_eq!(t["app/link"], "symlink -> server");
    assert!(t["app/hard"].contains("nlink=2"), "{}", t["app/hard"]);
    assert!(
        t["etc/secret"].starts_with("file 600"),
        "{}",
        t["etc/secret"]
    );
    assert_eq!(t["tmp"], "dir 1777");
    assert!(t["etc/config"].contains("a=2"));
    assert!(!t.contains_key("etc/old"), "whiteout not applied");
    assert!(
        !t.keys().any(|k| k.contains(".wh.")),
        "whiteout files leaked: {t:?}"
    );
}

#[test]
fn loading_twice_is_idempotent_and_rm_cleans_up() {
    let img = rich_image();
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("docker.tar");
    write::write_tar(&write::docker_save(&img, &[REF]).unwrap(), &tar).unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let a = load(&store, &tar, None).unwrap();
    let b = load(&store, &tar, Some("localhost/other:1")).unwrap();
    assert_eq!(a.digest, b.digest);
    assert_eq!(store.list().unwrap().len(), 2);
    store.remove(REF).unwrap();
    assert!(a.rootfs.exists(), "still used by localhost/other:1");
    store.remove("localhost/other:1").unwrap();
    assert!(!a.rootfs.exists());
    assert!(store.list().unwrap().is_empty());
    let blobs = std::fs::read_dir(store.root().join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, 0, "blobs of the removed image remain");
}

#[test]
fn whiteouts_remove_files_and_opaque_directories() {
    let img = image(vec![
        layer(
            vec![
                LayerEntry::dir("etc"),
                LayerEntry::file("etc/a", "a"),
                LayerEntry::file("etc/b", "b"),
                LayerEntry::dir("data"),
                LayerEntry::file("data/x", "x"),
                LayerEntry::dir("data/sub"),
                LayerEntry::file("data/sub/y", "y"),
            ],
            Compression::Gzip,
        ),
        layer(
            vec![
                LayerEntry::whiteout("etc/a"),
                // Whiteouts only hide lower layers: this layer's own file survives.
                LayerEntry::file("data/new", "n"),
                LayerEntry::opaque("data"),
                LayerEntry::whiteout("etc/never-existed"),
            ],
            Compression::Gzip,
        ),
    ]);
    let (_dir, r) = load_layout(&img);
    let t = tree(&r.unwrap().rootfs);
    let keys: Vec<&str> = t.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["data", "data/new", "etc", "etc/b"]);
}

fn expect_unsafe(entries: Vec<LayerEntry>, needle: &str) {
    let img = image(vec![layer(entries, Compression::Gzip)]);
    let (dir, r) = load_layout(&img);
    let e = r.expect_err("hostile image was accepted");
    assert!(
        matches!(e, ImageError::UnsafeEntry { .. }),
        "wrong error kind: {e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains(needle),
        "error `{msg}` does not mention `{needle}`"
    );
    // Nothing was written outside the store's rootfs area.
    assert!(!dir.path().join("escaped").exists());
    assert!(!dir.path().join("data/escaped").exists());
    assert!(!Path::new("/tmp/escaped-by-image-test").exists());
    // The failed unpack left no half-made rootfs behind.
    let rootfs = std::fs::read_dir(dir.path().join("data/images/rootfs"))
        .unwrap()
        .count();
    assert_eq!(rootfs, 0);
}

#[test]
fn dotdot_entry_is_refused() {
    expect_unsafe(
        vec![LayerEntry::RawFile {
            path: b"../escaped".to_vec(),
            data: b"x".to_vec(),
        }],
        "`../escaped`",
    );
}

#[test]
fn absolute_entry_is_refused() {
    expect_unsafe(
        vec![LayerEntry::RawFile {
            path: b"/tmp/escaped-by-image-test".to_vec(),
            data: b"x".to_vec(),
        }],
        "absolute",
    );
}

#[test]
fn writing_through_an_outward_symlink_is_refused() {
    expect_unsafe(
        vec![
            LayerEntry::symlink("up", "../../.."),
            LayerEntry::file("up/escaped", "x"),
        ],
        "symlink `up`",
    );
}

#[test]
fn writing_through_an_absolute_symlink_is_refused() {
    expect_unsafe(
        vec![
            LayerEntry::symlink("abs", "/tmp"),
            LayerEntry::file("abs/escaped-by-image-test", "x"),
        ],
        "absolute target",
    );
}

#[test]
fn symlink_across_layers_is_refused_too() {
    let img = image(vec![
        layer(vec![LayerEntry::symlink("up", "..")], Compression::Gzip),
        layer(vec![LayerEntry::file("up/escaped", "x")], Compression::Gzip),
    ]);
    let (_dir, r) = load_layout(&img);
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("up/escaped") && msg.contains("climbs above"),
        "{msg}"
    );
}

#[test]
fn hardlink_to_outside_is_refused() {
    expect_unsafe(
        vec![LayerEntry::hardlink("h", "../../../etc/passwd")],
        "`..`",
    );
    expect_unsafe(vec![LayerEntry::hardlink("h", "/etc/passwd")], "absolute");
}

#[test]
fn device_nodes_and_fifos_are_refused() {
    expect_unsafe(
        vec![
            LayerEntry::dir("dev"),
            LayerEntry::CharDevice {
                path: "dev/null".into(),
            },
        ],
        "device nodes",
    );
    expect_unsafe(
        vec![LayerEntry::Fifo {
            path: "pipe".into(),
        }],
        "fifos",
    );
}

#[test]
fn symlinks_inside_the_rootfs_are_followed() {
    let img = image(vec![layer(
        vec![
            LayerEntry::dir("usr"),
            LayerEntry::dir("usr/lib"),
            LayerEntry::symlink("lib", "usr/lib"),
            LayerEntry::file("lib/x", "x"),
        ],
        Compression::Gzip,
    )]);
    let (_dir, r) = load_layout(&img);
    let t = tree(&r.unwrap().rootfs);
    assert!(t.contains_key("usr/lib/x"), "{t:?}");
}

#[test]
fn oci_digest_mismatch_names_the_blob() {
    let img = rich_image();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("oci");
    write::write_dir(&write::oci_layout(&img, Some(REF)).unwrap(), &layout).unwrap();
    let victim = &img.layers[1].0.digest;
    let path = layout.join("blobs/sha256").join(victim.hex());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, bytes).unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let e = load(&store, &layout, None).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{msg}");
    assert!(
        msg.contains(&format!("blobs/sha256/{}", victim.hex())),
        "{msg}"
    );
    assert!(
        store.list().unwrap().is_empty(),
        "a corrupt image was tagged"
    );
}

#[test]
fn docker_save_layer_mismatch_names_the_layer() {
    let img = rich_image();
    let dir = tempfile::tempdir().unwrap();
    let mut files = write::docker_save(&img, &[REF]).unwrap();
    let (name, data) = files
        .iter_mut()
        .find(|(k, _)| k.ends_with("layer.tar"))
        .unwrap();
    let name = name.clone();
    data[600] ^= 0xff;
    let tar = dir.path().join("docker.tar");
    write::write_tar(&files, &tar).unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let msg = load(&store, &tar, None).unwrap_err().to_string();
    assert!(
        msg.contains("digest mismatch") && msg.contains(&name),
        "{msg}"
    );
}

#[test]
fn zstd_and_uncompressed_layers_unpack() {
    let img = image(vec![
        layer(
            vec![LayerEntry::dir("a"), LayerEntry::file("a/z", "zstd")],
            Compression::Zstd,
        ),
        layer(vec![LayerEntry::file("a/p", "plain")], Compression::None),
    ]);
    assert!(img.layers[0].0.media_type.ends_with("+zstd"));
    let (_dir, r) = load_layout(&img);
    let t = tree(&r.unwrap().rootfs);
    assert!(
        t["a/z"].contains("zstd") && t["a/p"].contains("plain"),
        "{t:?}"
    );
}

fn platform(arch: &str) -> Platform {
    Platform {
        architecture: arch.into(),
        os: "linux".into(),
        variant: None,
    }
}

#[test]
fn multi_platform_index_picks_amd64() {
    let arm = image_arch(
        vec![layer(
            vec![LayerEntry::file("arch", "arm64")],
            Compression::Gzip,
        )],
        "arm64",
    );
    let amd = image(vec![layer(
        vec![LayerEntry::file("arch", "amd64")],
        Compression::Gzip,
    )]);
    let dir = tempfile::tempdir().unwrap();
    let files = write::oci_layout_multi(
        &[
            (arm.clone(), platform("arm64")),
            (amd.clone(), platform("amd64")),
        ],
        Some(REF),
    )
    .unwrap();
    write::write_tar(&files, &dir.path().join("multi.tar")).unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let p = load(&store, &dir.path().join("multi.tar"), None).unwrap();
    assert_eq!(p.digest, amd.manifest_digest.to_string());
    assert_eq!(
        std::fs::read_to_string(p.rootfs.join("arch")).unwrap(),
        "amd64"
    );

    let only_arm = write::oci_layout_multi(&[(arm, platform("arm64"))], Some(REF)).unwrap();
    write::write_dir(&only_arm, &dir.path().join("arm")).unwrap();
    let msg = load(&store, &dir.path().join("arm"), None)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no linux/amd64") && msg.contains("linux/arm64"),
        "{msg}"
    );
}

#[test]
fn untagged_layout_needs_tag_and_bad_input_is_named() {
    let img = rich_image();
    let dir = tempfile::tempdir().unwrap();
    write::write_dir(
        &write::oci_layout(&img, None).unwrap(),
        &dir.path().join("oci"),
    )
    .unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let imgs = load_path(
        &store,
        &dir.path().join("oci"),
        None,
        &mut Progress::quiet(),
    )
    .unwrap();
    assert!(imgs[0].references.is_empty());
    load(&store, &dir.path().join("oci"), Some(REF)).unwrap();
    assert!(store.lookup(REF).unwrap().is_some());

    std::fs::write(dir.path().join("junk.tar"), b"not a tar at all").unwrap();
    let msg = load(&store, &dir.path().join("junk.tar"), None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("junk.tar"), "{msg}");
    let msg = load(&store, &dir.path().join("missing"), None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("missing"), "{msg}");
}

#[tokio::test]
async fn resolve_uses_the_cache_and_never_pulls_when_told_not_to() {
    let img = rich_image();
    let (dir, r) = load_layout(&img);
    let prepared = r.unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let got = store
        .resolve(REF, None, PullPolicy::Never, &RegistryOptions::default())
        .await
        .unwrap();
    assert_eq!(got.digest, prepared.digest);
    let by_digest = format!("localhost/test-app@{}", prepared.digest);
    let got = store
        .resolve(
            &by_digest,
            None,
            PullPolicy::Never,
            &RegistryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(got.rootfs, prepared.rootfs);
    let e = store
        .resolve(
            "localhost/nope:1",
            None,
            PullPolicy::Never,
            &RegistryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ImageError::NotFound(_)), "{e}");
    assert!(e.to_string().contains("image load"), "{e}");
}

#[test]
fn retagging_drops_the_replaced_image_when_unused() {
    let v1 = image(vec![layer(
        vec![LayerEntry::file("v", "1")],
        Compression::Gzip,
    )]);
    let v2 = image(vec![layer(
        vec![LayerEntry::file("v", "2")],
        Compression::Gzip,
    )]);
    let dir = tempfile::tempdir().unwrap();
    write::write_dir(
        &write::oci_layout(&v1, Some(REF)).unwrap(),
        &dir.path().join("v1"),
    )
    .unwrap();
    write::write_dir(
        &write::oci_layout(&v2, Some(REF)).unwrap(),
        &dir.path().join("v2"),
    )
    .unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let p1 = load(&store, &dir.path().join("v1"), None).unwrap();
    let p2 = load(&store, &dir.path().join("v2"), None).unwrap();
    assert!(!p1.rootfs.exists(), "the replaced image's rootfs remains");
    assert!(!store.has_blob(&v1.layers[0].0.digest));
    assert_eq!(std::fs::read_to_string(p2.rootfs.join("v")).unwrap(), "2");
    assert_eq!(store.lookup(REF).unwrap().unwrap().digest, p2.digest);
}

#[test]
fn layer_not_matching_the_config_diff_id_is_refused() {
    let mut img = image(vec![layer(
        vec![LayerEntry::file("f", "x")],
        Compression::Gzip,
    )]);
    let mut config: serde_json::Value = serde_json::from_slice(&img.config).unwrap();
    let wrong = sessions_runtime::image::Digest::of(b"something else");
    config["rootfs"]["diff_ids"][0] = serde_json::Value::String(wrong.to_string());
    img.config = serde_json::to_vec(&config).unwrap();
    img.config_digest = sessions_runtime::image::Digest::of(&img.config);
    let mut manifest: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap();
    manifest["config"]["digest"] = serde_json::Value::String(img.config_digest.to_string());
    manifest["config"]["size"] = serde_json::json!(img.config.len());
    img.manifest = serde_json::to_vec(&manifest).unwrap();
    img.manifest_digest = sessions_runtime::image::Digest::of(&img.manifest);
    let (_dir, r) = load_layout(&img);
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("diff_id") && msg.contains(wrong.as_str()),
        "{msg}"
    );
}

#[test]
fn docker_save_paths_cannot_point_outside_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("extracted");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(dir.path().join("outside.json"), b"{}").unwrap();
    std::fs::write(
        src.join("manifest.json"),
        br#"[{"Config":"../outside.json","RepoTags":["localhost/x:1"],"Layers":[]}]"#,
    )
    .unwrap();
    let store = ImageStore::open(&dir.path().join("data")).unwrap();
    let msg = load_path(&store, &src, None, &mut Progress::quiet())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("../outside.json"), "{msg}");
}
