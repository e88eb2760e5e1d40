//! `sessions-emulator image ...`: load, list, remove, pull and push images in the store, and
//! put the built-in sample image back (`seed`). File-system only (plus the registry for
//! pull/push), so it works whether or not an emulator is running on the same data directory.
//! A fresh data dir gets the sample image seeded here as well as at `serve` (see
//! `sessions_runtime::image::sample`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use sessions_runtime::image::auth::RegistryCredentials;
use sessions_runtime::image::load::load_path;
use sessions_runtime::image::progress::{human_bytes, Progress};
use sessions_runtime::image::reference::Reference;
use sessions_runtime::image::registry::{self, RegistryOptions};
use sessions_runtime::image::sample;
use sessions_runtime::image::store::ImageStore;

/// Image subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ImageCommand {
    /// Load a `docker save` tar, an OCI archive tar or an OCI image layout directory.
    Load {
        /// The tar file or layout directory.
        path: PathBuf,
        /// Name the image (e.g. `localhost/app:v1`); needed when the source names none.
        #[arg(long)]
        tag: Option<String>,
    },
    /// List the images in the store.
    Ls {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove an image reference (and its data when nothing else uses it). The seeded sample
    /// image stays removed until `image seed`.
    Rm {
        /// The reference, e.g. `localhost/sample-session:latest`.
        reference: String,
    },
    /// Put the sample image built into this program back under
    /// localhost/sample-session:latest (replacing whatever has that name).
    Seed,
    /// Pull an image (linux/amd64) from a registry into the store.
    Pull {
        /// The reference, e.g. `myregistry.azurecr.io/app:v1`.
        reference: String,
        /// Registry user name.
        #[arg(long, requires = "password")]
        username: Option<String>,
        /// Registry password or token.
        #[arg(
            long,
            env = "SESSIONS_REGISTRY_PASSWORD",
            hide_env_values = true,
            requires = "username"
        )]
        password: Option<String>,
        /// Use plain HTTP (default: only for loopback registries).
        #[arg(long)]
        plain_http: bool,
        /// Extra PEM CA certificates to trust for an HTTPS registry.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Push an image from the store to a registry.
    Push {
        /// The local reference.
        reference: String,
        /// The destination reference (default: the same).
        #[arg(long)]
        to: Option<String>,
        /// Registry user name.
        #[arg(long, requires = "password")]
        username: Option<String>,
        /// Registry password or token.
        #[arg(
            long,
            env = "SESSIONS_REGISTRY_PASSWORD",
            hide_env_values = true,
            requires = "username"
        )]
        password: Option<String>,
        /// Use plain HTTP (default: only for loopback registries).
        #[arg(long)]
        plain_http: bool,
        /// Extra PEM CA certificates to trust for an HTTPS registry.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
}

fn creds(
    r: &Reference,
    username: Option<String>,
    password: Option<String>,
) -> Option<RegistryCredentials> {
    match (username, password) {
        (Some(u), Some(p)) => Some(RegistryCredentials {
            server: r.registry.clone(),
            username: u,
            password: p,
        }),
        _ => None,
    }
}

fn opts(plain_http: bool, ca_file: Option<PathBuf>) -> anyhow::Result<RegistryOptions> {
    let ca_pem = ca_file
        .map(|p| std::fs::read(&p).with_context(|| format!("reading --ca-file {}", p.display())))
        .transpose()?;
    Ok(RegistryOptions {
        plain_http: plain_http.then_some(true),
        ca_pem,
    })
}

/// Runs an image subcommand against the store in `data_dir`.
pub async fn run(cmd: ImageCommand, data_dir: &Path) -> anyhow::Result<()> {
    let store = ImageStore::open(data_dir)
        .with_context(|| format!("opening the image store in {}", data_dir.display()))?;
    if !matches!(cmd, ImageCommand::Seed) {
        if let Err(e) = sample::seed(&store, sample::SeedMode::Once) {
            eprintln!("warning: could not seed the sample image: {e}");
        }
    }
    match cmd {
        ImageCommand::Load { path, tag } => {
            let tag = tag.as_deref().map(Reference::parse).transpose()?;
            let s = store.clone();
            let loaded = tokio::task::spawn_blocking(
                move || -> anyhow::Result<Vec<(String, String, u64)>> {
                    let mut progress = Progress::auto(format!("loading {}", path.display()));
                    let images = load_path(&s, &path, tag.as_ref(), &mut progress)?;
                    progress.done("loaded");
                    let mut out = Vec::new();
                    for img in images {
                        let name = img
                            .references
                            .first()
                            .map(|r| r.to_string())
                            .unwrap_or_else(|| img.digest.to_string());
                        let prepared = s.prepare(&name, &img.digest)?;
                        let names = if img.references.is_empty() {
                            "(untagged: use --tag to name it)".to_string()
                        } else {
                            img.references
                                .iter()
                                .map(|r| r.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        };
                        out.push((names, img.digest.to_string(), prepared.rootfs_bytes));
                    }
                    Ok(out)
                },
            )
            .await??;
            for (names, digest, bytes) in loaded {
                println!("Loaded {names} {digest} (rootfs {})", human_bytes(bytes));
            }
        }
        ImageCommand::Ls { json } => {
            let list = store.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<50} {:<20} {:>10} {:>10}",
                    "REFERENCE", "DIGEST", "SIZE", "ROOTFS"
                );
                for i in list {
                    let short: String = i
                        .digest
                        .trim_start_matches("sha256:")
                        .chars()
                        .take(12)
                        .collect();
                    let rootfs = i
                        .rootfs_bytes
                        .map(human_bytes)
                        .unwrap_or_else(|| "-".into());
                    println!(
                        "{:<50} {:<20} {:>10} {:>10}",
                        i.reference,
                        format!("sha256:{short}"),
                        human_bytes(i.size),
                        rootfs
                    );
                }
            }
        }
        ImageCommand::Rm { reference } => {
            let r = Reference::parse(&reference)?;
            let d = store.remove(&reference)?;
            println!("Removed {r} ({d})");
            if r.to_string() == sample::REFERENCE {
                println!("It stays removed from this data dir; `sessions-emulator image seed` puts it back.");
            }
        }
        ImageCommand::Seed => {
            let d = sample::restore(&store)?;
            println!("Seeded {} {d}", sample::REFERENCE);
        }
        ImageCommand::Pull {
            reference,
            username,
            password,
            plain_http,
            ca_file,
        } => {
            let r = Reference::parse(&reference)?;
            let c = creds(&r, username, password);
            let mut progress = Progress::auto(format!("pulling {r}"));
            let digest = registry::pull(
                &store,
                &r,
                c.as_ref(),
                &opts(plain_http, ca_file)?,
                &mut progress,
            )
            .await?;
            progress.done("pulled");
            let s = store.clone();
            let name = r.to_string();
            let d2 = digest.clone();
            let prepared = tokio::task::spawn_blocking(move || s.prepare(&name, &d2)).await??;
            println!(
                "Pulled {r} {digest} (rootfs {})",
                human_bytes(prepared.rootfs_bytes)
            );
        }
        ImageCommand::Push {
            reference,
            to,
            username,
            password,
            plain_http,
            ca_file,
        } => {
            let src = Reference::parse(&reference)?;
            let dst = Reference::parse(to.as_deref().unwrap_or(&reference))?;
            let digest = store
                .lookup_digest(&src)?
                .ok_or_else(|| sessions_runtime::image::ImageError::NotFound(src.to_string()))?;
            let c = creds(&dst, username, password);
            let pushed = registry::push(
                &store,
                &digest,
                &dst,
                c.as_ref(),
                &opts(plain_http, ca_file)?,
            )
            .await?;
            println!("Pushed {dst} {pushed}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: ImageCommand,
    }

    #[test]
    fn parses_subcommands() {
        let c = Cli::try_parse_from(["x", "load", "img.tar", "--tag", "localhost/a:1"]).unwrap();
        assert!(matches!(c.cmd, ImageCommand::Load { tag: Some(_), .. }));
        assert!(Cli::try_parse_from(["x", "pull", "r.io/a", "--username", "u"]).is_err());
        assert!(Cli::try_parse_from(["x", "rm", "r.io/a"]).is_ok());
    }
}
