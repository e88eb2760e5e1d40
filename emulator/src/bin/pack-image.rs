//! `pack-image`: packs a static binary into a one-layer session image without Docker, as an
//! OCI image layout, an OCI archive tar and a `docker save` tar. Deterministic: the same
//! binary always gives the same digests. Used by `scripts/session-image`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use sessions_runtime::image::spec::RuntimeConfig;
use sessions_runtime::image::unpack::Compression;
use sessions_runtime::image::write::{self, ImageSpec, LayerEntry, LayerSpec};

/// Packs a static binary as `/app/<name>` into a minimal image.
#[derive(Debug, Parser)]
#[command(name = "pack-image")]
struct Args {
    /// The static binary to pack.
    #[arg(long)]
    binary: PathBuf,
    /// Output directory: gets `oci/`, `oci-archive.tar` and `image.tar`.
    #[arg(long)]
    out: PathBuf,
    /// Image reference recorded in the outputs.
    #[arg(long, default_value = "localhost/sample-session:latest")]
    reference: String,
    /// Port recorded in ExposedPorts.
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let name = a
        .binary
        .file_name()
        .and_then(|n| n.to_str())
        .context("--binary must name a file")?
        .to_string();
    let bin = std::fs::read(&a.binary)
        .with_context(|| format!("reading --binary {}", a.binary.display()))?;
    sessions_runtime::image::Reference::parse(&a.reference).context("--reference")?;
    let entries = vec![
        LayerEntry::dir("app"),
        LayerEntry::exe(&format!("app/{name}"), bin),
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
    let mut labels = std::collections::BTreeMap::new();
    labels.insert("org.opencontainers.image.title".to_string(), name.clone());
    let spec = ImageSpec {
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
                [(format!("{}/tcp", a.port), serde_json::json!({}))]
                    .into_iter()
                    .collect(),
            ),
            labels: Some(labels),
            ..Default::default()
        },
        architecture: "amd64".into(),
    };
    let img = write::build(&spec)?;
    let layout = write::oci_layout(&img, Some(&a.reference))?;
    let oci_dir = a.out.join("oci");
    if oci_dir.exists() {
        std::fs::remove_dir_all(&oci_dir)
            .with_context(|| format!("removing old {}", oci_dir.display()))?;
    }
    write::write_dir(&layout, &oci_dir)?;
    write::write_tar(&layout, &a.out.join("oci-archive.tar"))?;
    write::write_tar(
        &write::docker_save(&img, &[a.reference.as_str()])?,
        &a.out.join("image.tar"),
    )?;
    println!(
        "{} {} -> {}/{{oci,oci-archive.tar,image.tar}}",
        a.reference,
        img.manifest_digest,
        a.out.display()
    );
    Ok(())
}
