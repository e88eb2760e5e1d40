//! Builds the emulator's [`PoolManager`] from the start-up configuration: the backend chosen by
//! `serve --backend fake|qemu`, the matching image source, the injected clock and the time
//! scale (`--time-scale`, or the `SESSIONS_EMULATOR_TIME_SCALE` environment variable).

use std::sync::Arc;

use super::clock::{AppClock, TimeScale, TimeScaleError};
use super::images::{ImageSource, PlaceholderImages};
use super::manager::{ManagerConfig, PoolManager, DEFAULT_BOOT_TIMEOUT};
use crate::clock::SharedClock;
use crate::config::{BackendKind, Config};
use crate::store::{Store, StoreError};
use crate::vm::fake::{FakeBackend, FakeOptions};
use crate::vm::Backend;

/// Environment variable that sets the time scale when `--time-scale` is not given.
pub const TIME_SCALE_ENV: &str = "SESSIONS_EMULATOR_TIME_SCALE";

/// Errors building the manager.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The log tables could not be created or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bad time scale.
    #[error("{TIME_SCALE_ENV}: {0}")]
    TimeScale(#[from] TimeScaleError),
}

/// The time scale from the environment (default 1).
pub fn time_scale_from_env() -> Result<TimeScale, TimeScaleError> {
    match std::env::var(TIME_SCALE_ENV) {
        Ok(v) if !v.trim().is_empty() => v.parse(),
        _ => Ok(TimeScale::default()),
    }
}

/// The backend and image source for `kind`.
pub fn backend_for(
    kind: BackendKind,
    _config: &Config,
) -> (Arc<dyn Backend>, Arc<dyn ImageSource>) {
    match kind {
        BackendKind::Fake => (
            FakeBackend::arc(FakeOptions::default()),
            Arc::new(PlaceholderImages),
        ),
        // The qemu backend is wired here once it exists; until then sessions run in-process.
        BackendKind::Qemu => (
            FakeBackend::arc(FakeOptions::default()),
            Arc::new(PlaceholderImages),
        ),
    }
}

/// The pool manager for `config`, logging into `store`, timing with `clock`.
pub fn manager(
    config: &Config,
    store: &Store,
    clock: SharedClock,
) -> Result<PoolManager, WiringError> {
    let (backend, images) = backend_for(config.backend, config);
    let scale = time_scale_from_env()?;
    Ok(PoolManager::new(
        ManagerConfig {
            backend,
            images,
            clock: Arc::new(AppClock(clock)),
            scale,
            boot_timeout: DEFAULT_BOOT_TIMEOUT,
        },
        store,
    )?)
}
