//! The hand-off from the image store to the VM layer: an unpacked, verified rootfs plus the
//! runtime config from the image. The VM layer turns it into boot media; it never parses images.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The parts of an OCI image config that decide how the container process starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `Entrypoint`, empty when unset.
    pub entrypoint: Vec<String>,
    /// `Cmd`, empty when unset.
    pub cmd: Vec<String>,
    /// `Env` as `NAME=value` pairs, in image order.
    pub env: Vec<String>,
    /// `WorkingDir`, `None` when unset (the process then starts in `/`).
    pub working_dir: Option<String>,
    /// `User` (`uid`, `uid:gid`, `name` or `name:group`), `None` for root.
    pub user: Option<String>,
    /// `ExposedPorts` keys such as `8080/tcp`.
    pub exposed_ports: Vec<String>,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
}

/// An image ready to boot: content-addressed, digests verified, layers applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedImage {
    /// The reference the image was resolved from, e.g. `localhost/sample-session:latest`.
    pub reference: String,
    /// Manifest digest (`sha256:...`) that identifies this image; templates are keyed by it.
    pub digest: String,
    /// Directory holding the unpacked root filesystem (read-only for consumers).
    pub rootfs: PathBuf,
    /// Total size in bytes of the unpacked rootfs (decides initramfs vs disk image).
    pub rootfs_bytes: u64,
    /// Runtime config from the image.
    pub config: ImageConfig,
}
