//! The sample session image as a [`PreparedImage`] built by hand from the static
//! `sample-session` binary, for VM tests and benchmarks that must not depend on the image
//! store: a rootfs with `/app/sample-session`, `Entrypoint ["/app/sample-session"]`.

use std::path::{Path, PathBuf};

use crate::image::{ImageConfig, PreparedImage};
use crate::vm::error::{BackendError, Result};

/// Finds a static guest binary (`sample-session`, `sessions-agent`) built with
/// `cargo build --profile guest --target x86_64-unknown-linux-musl`.
pub fn find_guest_binary(name: &str) -> Result<PathBuf> {
    let rel = Path::new("x86_64-unknown-linux-musl/guest").join(name);
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        dirs.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(t));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    dirs.into_iter().map(|d| d.join(&rel)).find(|p| p.is_file()).ok_or(BackendError::Missing {
        what: "static guest binary",
        path: rel,
        hint: "build it: cargo build --profile guest --target x86_64-unknown-linux-musl -p sample-session -p sessions-agent (make guest)",
    })
}

/// Writes a rootfs under `root` holding the sample session and returns it as an image.
pub fn sample_image(root: &Path) -> Result<PreparedImage> {
    let binary = find_guest_binary("sample-session")?;
    let app = root.join("app");
    let io = |e| {
        BackendError::io(
            format!("writing the sample rootfs in {}", root.display()),
            e,
        )
    };
    std::fs::create_dir_all(&app).map_err(io)?;
    std::fs::create_dir_all(root.join("etc")).map_err(io)?;
    std::fs::copy(&binary, app.join("sample-session")).map_err(io)?;
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").map_err(io)?;
    let bytes = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
    let hash = super::qemu::media::file_hash(&binary)?;
    Ok(PreparedImage {
        reference: "localhost/sample-session:latest".into(),
        digest: format!("sha256:{hash}"),
        rootfs: root.to_path_buf(),
        rootfs_bytes: bytes,
        config: ImageConfig {
            entrypoint: vec!["/app/sample-session".into()],
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            exposed_ports: vec!["8080/tcp".into()],
            ..ImageConfig::default()
        },
    })
}
