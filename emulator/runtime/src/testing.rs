//! Helpers for tests of this crate and of the crates above it (the emulator's image-packing
//! tests use them too): small OCI images built in memory and a comparable description of an
//! unpacked tree. Nothing here runs in production.

#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::image::spec::RuntimeConfig;
use crate::image::unpack::Compression;
use crate::image::write::{self, BuiltImage, ImageSpec, LayerEntry, LayerSpec};

/// One layer with the given compression.
pub fn layer(entries: Vec<LayerEntry>, compression: Compression) -> LayerSpec {
    LayerSpec {
        entries,
        compression,
    }
}

/// Builds an amd64 image from layers.
pub fn image(layers: Vec<LayerSpec>) -> BuiltImage {
    image_arch(layers, "amd64")
}

/// Builds an image for `arch`.
pub fn image_arch(layers: Vec<LayerSpec>, arch: &str) -> BuiltImage {
    write::build(&ImageSpec {
        layers,
        config: RuntimeConfig {
            entrypoint: Some(vec!["/app/server".into()]),
            cmd: Some(vec!["--flag".into()]),
            env: Some(vec!["PATH=/bin".into()]),
            working_dir: Some("/app".into()),
            exposed_ports: Some(
                [("8080/tcp".to_string(), serde_json::json!({}))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        },
        architecture: arch.into(),
    })
    .expect("build image")
}

/// A three-layer image with files, modes, symlinks, hardlinks and a whiteout.
pub fn rich_image() -> BuiltImage {
    image(vec![
        layer(
            vec![
                LayerEntry::dir("app"),
                LayerEntry::exe("app/server", b"#!/bin/true\n".to_vec()),
                LayerEntry::dir("etc"),
                LayerEntry::file("etc/config", "a=1\n"),
                LayerEntry::file("etc/old", "gone\n"),
                LayerEntry::Dir {
                    path: "tmp".into(),
                    mode: 0o1777,
                },
            ],
            Compression::Gzip,
        ),
        layer(
            vec![
                LayerEntry::symlink("app/link", "server"),
                LayerEntry::hardlink("app/hard", "app/server"),
                LayerEntry::whiteout("etc/old"),
                LayerEntry::File {
                    path: "etc/secret".into(),
                    mode: 0o600,
                    data: b"s".to_vec(),
                },
            ],
            Compression::Gzip,
        ),
        layer(
            vec![LayerEntry::file("etc/config", "a=2\n")],
            Compression::Gzip,
        ),
    ])
}

/// A description of a tree: relative path -> kind, mode and content or target.
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(root).expect("prefix").display().to_string();
        let m = std::fs::symlink_metadata(&p).expect("metadata");
        let mode = m.permissions().mode() & 0o7777;
        let desc = if m.file_type().is_symlink() {
            format!(
                "symlink -> {}",
                std::fs::read_link(&p).expect("link").display()
            )
        } else if m.is_dir() {
            walk(root, &p, out);
            format!("dir {mode:o}")
        } else {
            format!(
                "file {mode:o} nlink={} {:?}",
                m.nlink(),
                String::from_utf8_lossy(&std::fs::read(&p).expect("read"))
            )
        };
        out.insert(rel, desc);
    }
}
