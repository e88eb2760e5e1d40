//! Property test of the unpacker: whatever paths, symlink targets and hardlink targets a
//! layer holds, unpacking either fails with an error or writes only inside the rootfs.

use proptest::prelude::*;
use sessions_runtime::image::load::load_path;
use sessions_runtime::image::progress::Progress;
use sessions_runtime::image::unpack::Compression;
use sessions_runtime::image::write::{self, ImageSpec, LayerEntry};
use sessions_runtime::image::ImageStore;
use sessions_runtime::testing::layer;

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["..", ".", "a", "b", "sentinel", ""]),
        1..5,
    )
    .prop_map(|v| v.join("/"))
}

fn entry() -> impl Strategy<Value = LayerEntry> {
    let safe = || path().prop_map(|p| p.replace("..", "c"));
    prop_oneof![
        (path(), any::<bool>()).prop_map(|(p, abs)| LayerEntry::RawFile {
            path: if abs { format!("/{p}") } else { p }.into_bytes(),
            data: b"x".to_vec()
        }),
        safe().prop_map(|p| LayerEntry::dir(&p)),
        (safe(), path(), any::<bool>()).prop_map(|(p, t, abs)| LayerEntry::symlink(
            &p,
            &if abs { format!("/{t}") } else { t }
        )),
        (safe(), path()).prop_map(|(p, t)| LayerEntry::hardlink(&p, &t)),
    ]
}

/// `UNPACK_FUZZ_CASES` layer sets (default 64); prints its figure line (`--no-capture`).
#[test]
fn nothing_lands_outside_the_rootfs() {
    let cases = std::env::var("UNPACK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(64);
    let unpacked = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = prop::collection::vec(prop::collection::vec(entry(), 1..6), 1..3);
    let result = runner.run(&strategy, |layers| {
        let specs = layers
            .into_iter()
            .map(|l| layer(l, Compression::None))
            .collect();
        let built = write::build(&ImageSpec {
            layers: specs,
            config: Default::default(),
            architecture: "amd64".into(),
        });
        // Some generated paths cannot even be written to a tar (empty names): not interesting.
        prop_assume!(built.is_ok());
        let img = built.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let outer = dir.path();
        std::fs::create_dir(outer.join("sentinel")).unwrap();
        write::write_dir(
            &write::oci_layout(&img, Some("localhost/p:1")).unwrap(),
            &outer.join("layout"),
        )
        .unwrap();
        let store = ImageStore::open(&outer.join("data")).unwrap();
        let loaded =
            load_path(&store, &outer.join("layout"), None, &mut Progress::quiet()).unwrap();
        let _ = store.prepare("localhost/p:1", &loaded[0].digest);
        let mut top: Vec<String> = std::fs::read_dir(outer)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        prop_assert_eq!(
            top,
            vec!["data".to_string(), "layout".into(), "sentinel".into()]
        );
        prop_assert_eq!(
            std::fs::read_dir(outer.join("sentinel")).unwrap().count(),
            0
        );
        let mut images: Vec<String> = std::fs::read_dir(outer.join("data/images"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        images.sort();
        prop_assert!(
                images
                    .iter()
                    .all(|n| ["blobs", "refs.json", "refs.lock", "rootfs", "tmp"]
                        .contains(&n.as_str())),
                "{:?}",
                images
            );
        prop_assert_eq!(
            std::fs::read_dir(outer.join("data/images/tmp"))
                .unwrap()
                .count(),
            0
        );
        unpacked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "RELIABILITY-FIGURE\timage_unpack_prop::nothing_lands_outside_the_rootfs\t{cases}\t0\t{} layer sets with hostile paths, symlinks and hardlinks (`..`, absolute, through links) loaded and unpacked: 0 files outside the rootfs",
        unpacked.into_inner()
    );
}
