//! `pack-image` (what `make session-image` runs): deterministic output in all three formats,
//! each loading to the same rootfs with the sample image's config; and the `image` CLI
//! commands (load, ls, rm) run in-process against a data dir.

use std::path::Path;
use std::process::Command;

use sessions_emulator::cli::image::{run, ImageCommand};
use sessions_runtime::image::load::load_path;
use sessions_runtime::image::progress::Progress;
use sessions_runtime::image::ImageStore;

const REF: &str = "localhost/sample-session:latest";

fn pack(binary: &Path, out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_pack-image"))
        .arg("--binary")
        .arg(binary)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run pack-image");
    assert!(
        o.status.success(),
        "pack-image failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn pack_image_is_deterministic_and_loads_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("sample-session");
    std::fs::write(&bin, b"\x7fELF not really, but bytes are bytes").unwrap();
    let a = pack(&bin, &dir.path().join("a"));
    let b = pack(&bin, &dir.path().join("b"));
    assert_eq!(
        a.split_whitespace().nth(1),
        b.split_whitespace().nth(1),
        "digests differ between runs"
    );
    for f in ["image.tar", "oci-archive.tar", "oci/index.json"] {
        assert_eq!(
            std::fs::read(dir.path().join("a").join(f)).unwrap(),
            std::fs::read(dir.path().join("b").join(f)).unwrap(),
            "{f} differs between runs"
        );
    }

    let mut trees = Vec::new();
    for (i, src) in ["oci", "oci-archive.tar", "image.tar"].iter().enumerate() {
        let store = ImageStore::open(&dir.path().join(format!("data{i}"))).unwrap();
        load_path(
            &store,
            &dir.path().join("a").join(src),
            None,
            &mut Progress::quiet(),
        )
        .unwrap();
        let p = store
            .lookup(REF)
            .unwrap()
            .unwrap_or_else(|| panic!("{src} did not name {REF}"));
        assert_eq!(p.config.entrypoint, vec!["/app/sample-session"]);
        assert_eq!(p.config.exposed_ports, vec!["8080/tcp"]);
        assert!(p.config.env.iter().any(|e| e.starts_with("PATH=")));
        trees.push(sessions_runtime::testing::tree(&p.rootfs));
    }
    assert_eq!(trees[0], trees[1]);
    assert_eq!(trees[0], trees[2]);
    let t = &trees[0];
    assert!(t["app/sample-session"].starts_with("file 755"), "{t:?}");
    assert_eq!(t["tmp"], "dir 1777");
    assert!(t["etc/passwd"].contains("root:x:0:0"));
    assert!(t.contains_key("etc/group"));
}

#[tokio::test]
async fn cli_load_ls_rm() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("sample-session");
    std::fs::write(&bin, b"bytes").unwrap();
    pack(&bin, &dir.path().join("img"));
    let data = dir.path().join("data");
    run(
        ImageCommand::Load {
            path: dir.path().join("img/image.tar"),
            tag: None,
        },
        &data,
    )
    .await
    .unwrap();
    run(
        ImageCommand::Load {
            path: dir.path().join("img/oci"),
            tag: Some("localhost/copy:1".into()),
        },
        &data,
    )
    .await
    .unwrap();
    run(ImageCommand::Ls { json: true }, &data).await.unwrap();
    let store = ImageStore::open(&data).unwrap();
    let names: Vec<String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|s| s.reference)
        .collect();
    assert_eq!(names, vec!["localhost/copy:1".to_string(), REF.to_string()]);
    run(
        ImageCommand::Rm {
            reference: REF.into(),
        },
        &data,
    )
    .await
    .unwrap();
    let e = run(
        ImageCommand::Rm {
            reference: REF.into(),
        },
        &data,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{e:#}").contains("not in the local image store"),
        "{e:#}"
    );
    let e = run(
        ImageCommand::Load {
            path: dir.path().join("nope.tar"),
            tag: None,
        },
        &data,
    )
    .await
    .unwrap_err();
    assert!(format!("{e:#}").contains("nope.tar"), "{e:#}");
    let e = run(
        ImageCommand::Load {
            path: dir.path().join("img/oci"),
            tag: Some("Bad Ref".into()),
        },
        &data,
    )
    .await
    .unwrap_err();
    assert!(format!("{e:#}").contains("Bad Ref"), "{e:#}");
}

#[test]
fn concurrent_loads_of_one_image_agree() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("sample-session");
    std::fs::write(&bin, b"bytes").unwrap();
    pack(&bin, &dir.path().join("img"));
    let data = dir.path().join("data");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let data = data.clone();
            // Both name the same manifest digest (docker-save would synthesise another).
            let src = dir.path().join(if i % 2 == 0 {
                "img/oci"
            } else {
                "img/oci-archive.tar"
            });
            std::thread::spawn(move || {
                let store = ImageStore::open(&data).unwrap();
                let imgs = load_path(&store, &src, None, &mut Progress::quiet()).unwrap();
                store.prepare(REF, &imgs[0].digest).unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for r in &results {
        assert!(r.rootfs.join("app/sample-session").is_file());
    }
    let store = ImageStore::open(&data).unwrap();
    assert!(store.lookup(REF).unwrap().is_some());
    let tmp_left = std::fs::read_dir(store.root().join("tmp")).unwrap().count();
    assert_eq!(tmp_left, 0, "temp files left behind");
}
