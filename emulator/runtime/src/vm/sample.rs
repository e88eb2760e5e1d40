//! The sample session image as a [`PreparedImage`] built by hand from the `sample-session`
//! binary built into this program (crate `sessions-guest`), for VM tests and benchmarks that
//! must not depend on the image store: a rootfs with `/app/sample-session`,
//! `Entrypoint ["/app/sample-session"]`.

use std::path::{Path, PathBuf};

use crate::image::{ImageConfig, PreparedImage};
use crate::vm::error::{BackendError, Result};

/// Writes a rootfs under `root` holding the sample session and returns it as an image.
pub fn sample_image(root: &Path) -> Result<PreparedImage> {
    let binary = sessions_guest::SAMPLE_SESSION.ok_or(BackendError::Missing {
        what: "sample session binary",
        path: PathBuf::from("(built into sessions-emulator)"),
        hint: sessions_guest::ABSENT,
    })?;
    let app = root.join("app");
    let io = |e| {
        BackendError::io(
            format!("writing the sample rootfs in {}", root.display()),
            e,
        )
    };
    std::fs::create_dir_all(&app).map_err(io)?;
    std::fs::create_dir_all(root.join("etc")).map_err(io)?;
    let exe = app.join("sample-session");
    std::fs::write(&exe, binary).map_err(io)?;
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(io)?;
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").map_err(io)?;
    let hash = super::qemu::media::bytes_hash(binary);
    Ok(PreparedImage {
        reference: crate::image::sample::REFERENCE.into(),
        digest: format!("sha256:{hash}"),
        rootfs: root.to_path_buf(),
        rootfs_bytes: binary.len() as u64,
        config: ImageConfig {
            entrypoint: vec!["/app/sample-session".into()],
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            exposed_ports: vec!["8080/tcp".into()],
            ..ImageConfig::default()
        },
    })
}
