//! [`Runtime`]: what every VM launch needs to know about the host, decided once when the
//! backend starts (binaries, kernel, accelerator, boot media cache).

use std::path::PathBuf;

use super::accel::AccelChoice;
use super::host::GuestKernel;

/// Everything about the host that every VM launch needs.
#[derive(Debug)]
pub struct Runtime {
    /// QEMU binary.
    pub qemu: PathBuf,
    /// Guest kernel.
    pub kernel: GuestKernel,
    /// Agent binary.
    pub agent: PathBuf,
    /// sha256 of the agent binary.
    pub agent_hash: String,
    /// Accelerator decision.
    pub accel: AccelChoice,
    /// Host TSC rate.
    pub tsc_khz: Option<u64>,
    /// Boot media cache.
    pub media_dir: PathBuf,
    /// Rootfs size above which boot media put the rootfs on an erofs disk.
    pub disk_threshold: u64,
}
