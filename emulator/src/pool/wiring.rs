//! Builds the emulator's [`PoolManager`] from the start-up configuration: the backend chosen by
//! `serve --backend fake|qemu`, the matching image source, the injected clock and the time
//! scale (`--time-scale`, or the `SESSIONS_EMULATOR_TIME_SCALE` environment variable).

use std::sync::Arc;

use super::clock::{AppClock, TimeScale, TimeScaleError};
use super::images::{ImageSource, PlaceholderImages, StoreImages};
use super::lazy_qemu::LazyQemu;
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
    /// The image store could not be opened.
    #[error("the image store for the qemu backend could not be opened: {0}")]
    Images(#[from] crate::image::ImageError),
}

/// Where the qemu backend keeps images and boot media: the data dir, or for `--in-memory`
/// runs the user cache dir (`$XDG_CACHE_HOME/sessions-emulator`, else
/// `~/.cache/sessions-emulator`), so images and boot media are reused across runs.
pub fn vm_dir(config: &Config) -> std::path::PathBuf {
    if let Some(d) = &config.data_dir {
        return d.clone();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("sessions-emulator")
}

/// The time scale from the environment (default 1).
pub fn time_scale_from_env() -> Result<TimeScale, TimeScaleError> {
    match std::env::var(TIME_SCALE_ENV) {
        Ok(v) if !v.trim().is_empty() => v.parse(),
        _ => Ok(TimeScale::default()),
    }
}

/// A backend and the image source that feeds it.
pub type BackendParts = (Arc<dyn Backend>, Arc<dyn ImageSource>);

/// The backend and image source for `kind`: the fake backend with placeholder images, or the
/// (lazily started) qemu backend with the image store (cache first, then registry pulls), with
/// the sample image seeded into it (see [`crate::image::sample`]).
pub fn backend_for(kind: BackendKind, config: &Config) -> Result<BackendParts, WiringError> {
    Ok(match kind {
        BackendKind::Fake => (
            FakeBackend::arc(FakeOptions::default()),
            Arc::new(PlaceholderImages),
        ),
        BackendKind::Qemu => {
            let dir = vm_dir(config);
            let store = crate::image::ImageStore::open(&dir)?;
            let mode = match config.data_dir {
                Some(_) => crate::image::sample::SeedMode::Once,
                None => crate::image::sample::SeedMode::Always,
            };
            crate::image::sample::seed_logged(&store, mode);
            (
                Arc::new(LazyQemu::new(dir)),
                Arc::new(StoreImages::new(
                    store,
                    crate::image::RegistryOptions::default(),
                )),
            )
        }
    })
}

/// The pool manager for `config`, logging into `store`, timing with `clock`.
pub fn manager(
    config: &Config,
    store: &Store,
    clock: SharedClock,
) -> Result<PoolManager, WiringError> {
    let (backend, images) = backend_for(config.backend, config)?;
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
