//! [`AppState`]: everything a route handler needs, cheap to clone (one `Arc` inside).
//!
//! To add a component (pool manager, backend, log store, ...), add a field to [`Inner`] and
//! an accessor here; construct it in [`AppState::new`] or set it with a builder method.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::auth::keys::SigningKey;
use crate::auth::tokens::TokenService;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::store::{Store, StoreError};

/// Errors building the state at start-up.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database failed to open or migrate.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key failed to load or generate.
    #[error(transparent)]
    Key(#[from] crate::auth::keys::KeyError),
    /// The pool manager could not be built.
    #[error(transparent)]
    Pools(#[from] crate::pool::wiring::WiringError),
}

/// Shared emulator state handed to every route.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    store: Store,
    tokens: TokenService,
    clock: SharedClock,
    pools: crate::pool::PoolManager,
}

impl AppState {
    /// Opens the store and key for `config` (data dir or in-memory), seeds defaults on first
    /// start, and uses the system clock.
    pub fn new(config: Config) -> Result<Self, StateError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`AppState::new`] with an injected clock.
    pub fn with_clock(config: Config, clock: SharedClock) -> Result<Self, StateError> {
        let (store, key) = match &config.data_dir {
            Some(dir) => (Store::open(dir)?, SigningKey::load_or_create(dir)?),
            None => (Store::in_memory()?, SigningKey::in_memory()?),
        };
        let tokens = TokenService::new(key, &config.endpoint);
        let pools = crate::pool::wiring::manager(&config, &store, clock.clone())?;
        let state = AppState {
            inner: Arc::new(Inner {
                config,
                store,
                tokens,
                clock,
                pools,
            }),
        };
        crate::arm::seed::seed_defaults(&state)?;
        Ok(state)
    }

    /// The start-up configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Base URL of this emulator without trailing slash.
    pub fn endpoint(&self) -> &str {
        &self.inner.config.endpoint
    }

    /// The SQLite store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Token issuer/validator.
    pub fn tokens(&self) -> &TokenService {
        &self.inner.tokens
    }

    /// The injected clock.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The pool manager (sessions of every pool).
    pub fn pools(&self) -> &crate::pool::PoolManager {
        &self.inner.pools
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }
}
