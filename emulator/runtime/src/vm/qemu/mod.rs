//! The `qemu` backend: every session is a QEMU `microvm` booting the distro kernel (as an
//! uncompressed PVH `vmlinux` when it can be extracted) with an initramfs made of the image
//! rootfs plus our agent as `/init`, or, for a rootfs above the disk threshold, a small
//! initramfs plus the rootfs on a read-only erofs virtio-blk disk. Sessions start as clones of
//! a template snapshot (one spare clone parked per template), or cold when templates are off
//! or cannot be made.
//!
//! Where the time goes (TCG, measured with `scripts/bench-vm`, QMP `info jit` and the agent's
//! boot line on the console): a cold boot is about 0.2 s of QEMU start and kernel entry, about
//! 1 s of kernel init, 0.2-0.3 s for the agent (mounts, modules, devices, network) and 0.2 s
//! from `config` to the container answering. A clone has no boot, but TCG translates every
//! code path afresh in each QEMU process: about 15 MiB of host code and 0.25 s of CPU for
//! config, container start and the first request; that is the floor of a clone under TCG and
//! most of its private memory.
//!
//! # Layout
//! - [`host`]: guest kernel, QEMU binary, agent binary, host TSC rate.
//! - [`accel`]: KVM-or-TCG decision (probed once, cached).
//! - [`cmdline`]: the exact QEMU arguments (pure, unit-tested).
//! - [`netfilter`]: the frame filter that keeps egress-enabled sessions away from the host.
//! - [`cpio`], [`media`]: boot media per image, cached by digest and agent build.
//! - [`process`]: spawning QEMU so it never outlives us (process group, parent-death signal).
//! - [`rundir`]: per-VM socket dirs, swept when their owner died.
//! - [`launch`]: one QEMU with its QMP/control/stdout/stderr sockets connected.
//! - [`qmp`], [`channel`]: QMP client; agent control protocol and log lines.
//! - [`template`]: template snapshots and copy-on-write clones.
//! - [`driver`]: the task owning a running session VM.
//! - [`vmlinux`]: the uncompressed kernel for PVH boot (no in-guest decompression).

pub mod accel;
pub mod channel;
pub mod cmdline;
pub mod cpio;
pub mod driver;
pub mod host;
pub mod launch;
pub mod media;
pub mod netfilter;
pub mod process;
pub mod qmp;
pub mod rundir;
pub mod setup;
pub mod template;
pub mod vmlinux;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

pub use driver::VmControl;
pub use setup::Runtime;

use self::accel::AccelChoice;
use self::cmdline::Memory;
use self::host::GuestKernel;
use self::template::TemplateStore;
use super::backend::{Backend, RunState, Session, SessionInfo, SessionSpec};
use super::error::{BackendError, Result};

/// Log lines buffered per session before new ones are dropped.
const LOG_BUFFER: usize = 4096;

/// Settings of the QEMU backend.
#[derive(Debug, Clone)]
pub struct QemuOptions {
    /// Data dir; boot media are cached in `<data_dir>/vm/media`, the accelerator decision in
    /// `<data_dir>/vm/accel.json`.
    pub data_dir: PathBuf,
    /// Guest kernel image; default: newest `/boot/vmlinuz-*-cloud-amd64`.
    pub kernel: Option<PathBuf>,
    /// Agent binary; default: `$SESSIONS_AGENT`, else the one built into this program (see
    /// [`host::find_agent`]).
    pub agent: Option<PathBuf>,
    /// Start sessions as clones of template snapshots (default true).
    pub templates: bool,
    /// Rootfs size in bytes above which the rootfs boots from an erofs disk image instead of
    /// the initramfs (default [`media::DISK_THRESHOLD_BYTES`]).
    pub disk_threshold_bytes: u64,
    /// Park one spare clone per template, launched ahead of need (default true; costs one
    /// paused QEMU per template, saves QEMU start-up and state loading on each clone start).
    pub spare_clones: bool,
}

impl QemuOptions {
    /// Defaults for a data dir.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            kernel: None,
            agent: None,
            templates: true,
            disk_threshold_bytes: media::DISK_THRESHOLD_BYTES,
            spare_clones: true,
        }
    }
}

/// The kernel file QEMU boots: the cached PVH `vmlinux` extracted from the bzImage when that
/// works (much faster under TCG, less memory per VM), else the bzImage itself.
async fn boot_image(kernel: &GuestKernel) -> PathBuf {
    let (image, version) = (kernel.image.clone(), kernel.version.clone());
    let extracted = tokio::task::spawn_blocking(move || {
        let mut magic = [0u8; 4];
        let is_elf = std::fs::File::open(&image)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok_and(|()| &magic == b"\x7fELF");
        if is_elf {
            return Ok(image); // already an uncompressed kernel
        }
        vmlinux::prepare(&image, &version, &rundir::root().join("kernel"))
    })
    .await;
    match extracted {
        Ok(Ok(path)) => {
            tracing::debug!(kernel = %path.display(), "booting the uncompressed kernel (PVH)");
            path
        }
        Ok(Err(e)) => {
            tracing::info!(
                kernel = %kernel.image.display(),
                "booting the compressed kernel (slower): no PVH vmlinux: {e}"
            );
            kernel.image.clone()
        }
        Err(e) => {
            tracing::warn!("kernel extraction task failed: {e}");
            kernel.image.clone()
        }
    }
}

/// The QEMU microVM backend.
pub struct QemuBackend {
    rt: Arc<Runtime>,
    templates: TemplateStore,
    use_templates: bool,
}

impl QemuBackend {
    /// Finds QEMU, kernel and agent, picks the accelerator and sweeps leftovers of dead
    /// emulators. Fails with a message saying what to install when something is missing.
    pub async fn new(options: QemuOptions) -> Result<Self> {
        let swept = rundir::sweep_stale();
        if swept > 0 {
            tracing::info!("removed {swept} VM runtime dirs left by a dead emulator");
        }
        let qemu = host::find_qemu()?;
        let mut kernel = host::find_kernel(Path::new("/boot"), Path::new("/lib/modules"))?;
        if let Some(image) = options.kernel {
            kernel.image = image;
        }
        kernel.image = boot_image(&kernel).await;
        let agent = match options.agent {
            Some(a) => a,
            None => host::find_agent(&options.data_dir.join("vm"))?,
        };
        let agent_hash = media::file_hash(&agent)?;
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let vm_dir = options.data_dir.join("vm");
        let accel = accel::choose(&qemu, &kernel, &vm_dir.join("accel.json")).await;
        let tsc_khz = host::tsc_khz(&cpuinfo);
        let rt = Runtime {
            qemu,
            kernel,
            agent,
            agent_hash,
            accel,
            tsc_khz,
            media_dir: vm_dir.join("media"),
            disk_threshold: options.disk_threshold_bytes,
        };
        Ok(Self {
            rt: Arc::new(rt),
            templates: TemplateStore::new(options.spare_clones),
            use_templates: options.templates,
        })
    }

    /// The accelerator in use and why.
    pub fn accel(&self) -> &AccelChoice {
        &self.rt.accel
    }

    async fn media(&self, spec: &SessionSpec) -> Result<PathBuf> {
        let rt = self.rt.clone();
        let image = spec.image.clone();
        let sidecars: Vec<(String, crate::image::PreparedImage)> = spec
            .sidecars
            .iter()
            .map(|s| (s.name.clone(), s.image.clone()))
            .collect();
        tokio::task::spawn_blocking(move || {
            media::initramfs(
                &rt.media_dir,
                &image,
                &sidecars,
                &rt.agent,
                &rt.agent_hash,
                &rt.kernel,
                rt.disk_threshold,
            )
        })
        .await
        .map_err(|e| BackendError::BootMedia {
            digest: spec.image.digest.clone(),
            message: format!("builder task failed: {e}"),
        })?
    }

    /// Starts a session; `template` decides cold boot vs clone.
    pub async fn start_with(&self, spec: SessionSpec, use_template: bool) -> Result<Session> {
        let initrd = self.media(&spec).await?;
        let template = if use_template {
            self.templates
                .get(&self.rt, initrd.clone(), &spec.container)
                .await
                .ok()
        } else {
            None
        };
        let (vm, from_template) = match &template {
            Some(t) => {
                let mut vm = self
                    .templates
                    .clone_vm(&self.rt, t, &spec.session_id, &spec.container)
                    .await?;
                template::resume(&mut vm).await?;
                (vm, true)
            }
            None => (
                launch::launch(
                    &self.rt,
                    &spec.session_id,
                    initrd,
                    &spec.container,
                    Memory::Anonymous,
                )
                .await?,
                false,
            ),
        };
        let (state_tx, state_rx) = watch::channel(RunState::Starting);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (logs_tx, logs_rx) = mpsc::channel(LOG_BUFFER);
        let info = SessionInfo {
            backend: "qemu".into(),
            accelerator: self.rt.accel.accel.as_str().into(),
            from_template,
            host_pid: Some(vm.process.pid()),
        };
        let addr = SocketAddr::from((cmdline::FORWARD_ADDR, vm.host_port));
        let ports = vm
            .forwards
            .iter()
            .map(|(guest, host)| (*guest, SocketAddr::from((cmdline::FORWARD_ADDR, *host))))
            .collect();
        let id = spec.session_id.clone();
        tokio::spawn(driver::drive(
            vm,
            Arc::new(spec),
            from_template,
            state_tx,
            cmd_rx,
            logs_tx,
        ));
        Ok(Session {
            id,
            addr,
            ports,
            state: state_rx.clone(),
            logs: Some(logs_rx),
            control: Arc::new(VmControl {
                commands: cmd_tx,
                state: state_rx,
            }),
            info,
        })
    }
}

#[async_trait]
impl Backend for QemuBackend {
    fn kind(&self) -> &str {
        "qemu"
    }

    async fn prepare(&self, spec: &SessionSpec) -> Result<()> {
        let initrd = self.media(spec).await?;
        if self.use_templates {
            let template = self
                .templates
                .get(&self.rt, initrd, &spec.container)
                .await
                .map_err(|message| BackendError::NotReady {
                    session: "template".into(),
                    message,
                })?;
            self.templates
                .park_spare(&self.rt, &template, &spec.container);
        }
        Ok(())
    }

    async fn start(&self, spec: SessionSpec) -> Result<Session> {
        self.start_with(spec, self.use_templates).await
    }

    async fn forget(&self, image_digest: &str) {
        // Boot media stay cached on disk (keyed by digest); templates made from them go.
        let key = media::media_key(image_digest, &self.rt.agent_hash, &self.rt.kernel);
        for name in [format!("{key}.cpio"), format!("{key}-disk.cpio")] {
            self.templates.forget_media(&self.rt.media_dir.join(name));
        }
    }

    async fn release_idle(&self) {
        // Boot media stay cached on disk; templates and their parked spares go.
        self.templates.clear();
    }
}
