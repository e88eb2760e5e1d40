//! The qemu backend, built on first use. Finding QEMU, the guest kernel and the agent (and
//! probing KVM) is async and can fail; doing it lazily keeps emulator start-up synchronous and
//! turns a missing host tool into a visible pool provisioning error (with the install hint)
//! instead of a start-up crash.

use std::path::PathBuf;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::vm::error::{BackendError, Result};
use crate::vm::qemu::{QemuBackend, QemuOptions};
use crate::vm::{Backend, Session, SessionSpec};

/// A [`QemuBackend`] created by the first `prepare`/`start`.
pub struct LazyQemu {
    options: QemuOptions,
    cell: OnceCell<std::result::Result<QemuBackend, String>>,
}

impl LazyQemu {
    /// A backend keeping its VM state (boot media, accelerator probe) under `data_dir/vm`.
    /// The run dirs a killed emulator left behind are removed now, not at first use: nothing
    /// of a dead emulator lingers while this one starts.
    pub fn new(data_dir: PathBuf) -> Self {
        let swept = crate::vm::qemu::rundir::sweep_stale();
        if swept > 0 {
            tracing::info!("removed {swept} VM runtime dirs left by a dead emulator");
        }
        Self {
            options: QemuOptions::new(data_dir),
            cell: OnceCell::new(),
        }
    }

    async fn get(&self) -> Result<&QemuBackend> {
        let r = self
            .cell
            .get_or_init(|| async {
                QemuBackend::new(self.options.clone())
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
        r.as_ref().map_err(|message| BackendError::Start {
            session: "-".into(),
            message: format!("the qemu backend is not usable on this host: {message}"),
        })
    }
}

#[async_trait]
impl Backend for LazyQemu {
    fn kind(&self) -> &str {
        "qemu"
    }

    async fn prepare(&self, spec: &SessionSpec) -> Result<()> {
        self.get().await?.prepare(spec).await
    }

    async fn start(&self, spec: SessionSpec) -> Result<Session> {
        self.get().await?.start(spec).await
    }

    async fn forget(&self, image_digest: &str) {
        if let Ok(b) = self.get().await {
            b.forget(image_digest).await;
        }
    }

    async fn release_idle(&self) {
        // Never started: nothing to release (and no reason to start it now).
        if let Some(Ok(b)) = self.cell.get() {
            b.release_idle().await;
        }
    }
}
