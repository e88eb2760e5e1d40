//! Start-up, in one place: [`AppState::new`] / [`AppState::with_clock`] build an emulator's
//! state from its [`Config`] (database, signing key, session backend and image source, pool
//! manager with the configured time scale, seeded defaults), and [`start`] brings a built state
//! to life before it serves (the sessions of every stored pool, unfinished provisioning).
//! [`crate::server::run`] calls [`start`]; the command line only parses flags into a [`Config`].

use std::path::PathBuf;
use std::sync::Arc;

use sessions_runtime::clock::{SharedClock, SystemClock};
use sessions_runtime::image::{sample, ImageError, ImageStore};
use sessions_runtime::pool::backends::{self, BackendParts};
use sessions_runtime::pool::manager::DEFAULT_BOOT_TIMEOUT;
use sessions_runtime::pool::{ManagerConfig, PoolManager};
use sessions_runtime::store::{Store, StoreError};

use crate::auth::keys::{KeyError, SigningKey};
use crate::auth::tokens::TokenService;
use crate::config::{BackendKind, Config};
use crate::state::{AppState, Parts};

/// Errors building an emulator's state at start-up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database failed to open, migrate or seed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key failed to load or generate.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The image store of the qemu backend could not be opened.
    #[error("the image store for the qemu backend could not be opened: {0}")]
    Images(#[from] ImageError),
}

/// Where the qemu backend keeps images and boot media: the data dir, or for `--in-memory`
/// runs the user cache dir (`$XDG_CACHE_HOME/sessions-emulator`, else
/// `~/.cache/sessions-emulator`), so images and boot media are reused across runs.
pub fn vm_dir(config: &Config) -> PathBuf {
    if let Some(d) = &config.data_dir {
        return d.clone();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("sessions-emulator")
}

/// The backend and image source for `config.backend`; for the qemu backend with the sample
/// image seeded into its image store (see [`sessions_runtime::image::sample`]: once per data
/// dir, whenever missing for `--in-memory`).
pub fn backend_for(config: &Config) -> Result<BackendParts, StartError> {
    Ok(match config.backend {
        BackendKind::Fake => backends::fake(),
        BackendKind::Qemu => {
            let dir = vm_dir(config);
            let parts = backends::qemu(dir.clone())?;
            let mode = match config.data_dir {
                Some(_) => sample::SeedMode::Once,
                None => sample::SeedMode::Always,
            };
            sample::seed_logged(&ImageStore::open(&dir)?, mode);
            parts
        }
    })
}

/// The pool manager for `config`, logging into `store`, timing with `clock`.
pub fn manager(
    config: &Config,
    store: &Store,
    clock: SharedClock,
) -> Result<PoolManager, StartError> {
    let parts = backend_for(config)?;
    Ok(PoolManager::new(
        ManagerConfig {
            backend: parts.backend,
            images: parts.images,
            clock,
            scale: config.time_scale,
            boot_timeout: DEFAULT_BOOT_TIMEOUT,
        },
        store,
    )?)
}

impl AppState {
    /// Opens the store and key for `config` (data dir or in-memory), seeds defaults on first
    /// start, and uses the system clock.
    pub fn new(config: Config) -> Result<Self, StartError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`AppState::new`] with an injected clock (the one clock of this emulator: tokens,
    /// timestamps, cooldowns, probes).
    pub fn with_clock(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let (store, key) = match &config.data_dir {
            Some(dir) => (Store::open(dir)?, SigningKey::load_or_create(dir)?),
            None => (Store::in_memory()?, SigningKey::in_memory()?),
        };
        let tokens = TokenService::new(key, &config.endpoint);
        let pools = manager(&config, &store, clock.clone())?;
        let state = AppState::from_parts(Parts {
            config,
            store,
            tokens,
            clock,
            pools,
        });
        crate::arm::seed::seed_defaults(&state)?;
        Ok(state)
    }
}

/// Brings a built state to life before it serves: every stored session pool gets its sessions
/// again (those left by a previous run are reconciled) and provisioning left unfinished by a
/// previous run completes. Failures are logged; the emulator serves regardless.
pub async fn start(state: &AppState) {
    if let Err(e) = crate::arm::session_pools::runtime::restore_all(state).await {
        tracing::warn!(error = %e, "could not restore the sessions of stored pools");
    }
    if let Err(e) = crate::arm::session_pools::provision::resume_pending(state).await {
        tracing::warn!(error = %e, "could not resume provisioning of session pools");
    }
    if let Err(e) = crate::arm::session_pools::delete::resume_pending(state).await {
        tracing::warn!(error = %e, "could not resume deletes accepted by the previous run");
    }
}
