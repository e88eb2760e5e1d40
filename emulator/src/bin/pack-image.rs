//! `pack-image`: packs a static binary into a one-layer session image without Docker, as an
//! OCI image layout, an OCI archive tar and a `docker save` tar. Deterministic: the same
//! binary always gives the same digests. Without `--binary` it writes the sample session image
//! from the `sample-session` built into this program, the same image `sessions-emulator` seeds
//! (see `image::sample`). Used by `scripts/session-image`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use sessions_runtime::image::sample;
use sessions_runtime::image::write;

/// Packs a static binary as `/app/<name>` into a minimal image.
#[derive(Debug, Parser)]
#[command(name = "pack-image")]
struct Args {
    /// The static binary to pack (default: the `sample-session` built into this program).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Output directory: gets `oci/`, `oci-archive.tar` and `image.tar`.
    #[arg(long)]
    out: PathBuf,
    /// Image reference recorded in the outputs.
    #[arg(long, default_value = sample::REFERENCE)]
    reference: String,
    /// Port recorded in ExposedPorts.
    #[arg(long, default_value_t = sample::PORT)]
    port: u16,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let (name, bin) = match &a.binary {
        Some(path) => {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .context("--binary must name a file")?
                .to_string();
            let bin = std::fs::read(path)
                .with_context(|| format!("reading --binary {}", path.display()))?;
            (name, bin)
        }
        None => (
            "sample-session".to_string(),
            sessions_guest::SAMPLE_SESSION
                .context(sessions_guest::ABSENT)?
                .to_vec(),
        ),
    };
    sessions_runtime::image::Reference::parse(&a.reference).context("--reference")?;
    let img = write::build(&sample::spec(bin, &name, a.port))?;
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
