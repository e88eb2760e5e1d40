//! [`AppState`]: everything a route handler needs, cheap to clone (one `Arc` inside). Everything
//! per emulator instance lives here or in its [`Config`]; nothing lives in process-wide statics,
//! so several emulators run side by side in one process.
//!
//! This module only holds the parts; [`crate::wiring`] builds them from a [`Config`] (store,
//! signing key, pool manager, seeded defaults). To add a component, add a field to [`Inner`] and
//! an accessor here, and build it in the wiring.

use std::sync::Arc;

use sessions_runtime::clock::SharedClock;
use sessions_runtime::pool::PoolManager;
use sessions_runtime::store::Store;
use time::OffsetDateTime;
use tokio::sync::{Mutex, MutexGuard};

use crate::auth::tokens::TokenService;
use crate::auth::AuthContext;
use crate::config::Config;
use crate::origins::Origins;

/// How a pool's MCP endpoint may be used: whether its MCP server is on, whether API keys are
/// disabled (every request is then refused), and the current key.
#[derive(Clone, PartialEq, Eq)]
pub struct McpAccess {
    /// `mcpServerSettings.isMcpServerEnabled`.
    pub enabled: bool,
    /// `mcpServerSettings.isMcpServerApiKeyDisabled`.
    pub api_key_disabled: bool,
    /// The key `fetchMcpServerCredentials` answers.
    pub api_key: String,
}

impl std::fmt::Debug for McpAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpAccess")
            .field("enabled", &self.enabled)
            .field("api_key_disabled", &self.api_key_disabled)
            .field("api_key", &"<redacted>")
            .finish()
    }
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
    pools: PoolManager,
    origins: Origins,
    mcp: parking_lot::RwLock<std::collections::HashMap<String, McpAccess>>,
    /// Serialises read-modify-write of session pool rows (see [`AppState::pool_writes`]).
    pool_writes: Mutex<()>,
}

/// The parts of an [`AppState`], built by [`crate::wiring`].
#[derive(Debug)]
pub struct Parts {
    /// Start-up configuration.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// Token issuer and validator.
    pub tokens: TokenService,
    /// The one clock of this emulator.
    pub clock: SharedClock,
    /// The pool manager.
    pub pools: PoolManager,
}

impl AppState {
    /// A state from its parts (no I/O; see [`crate::wiring`] for building the parts).
    pub fn from_parts(parts: Parts) -> Self {
        let Parts {
            config,
            store,
            tokens,
            clock,
            pools,
        } = parts;
        let origins = Origins::new(&config.endpoint);
        AppState {
            inner: Arc::new(Inner {
                config,
                store,
                tokens,
                clock,
                pools,
                origins,
                mcp: Default::default(),
                pool_writes: Mutex::new(()),
            }),
        }
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
    pub fn pools(&self) -> &PoolManager {
        &self.inner.pools
    }

    /// The pools' own origins (one listener per pool).
    pub fn origins(&self) -> &Origins {
        &self.inner.origins
    }

    /// How the MCP endpoint of `pool` may be used (set by ARM, read by the data plane);
    /// `None` when the pool has no MCP server.
    pub fn mcp_access(&self, pool: &sessions_runtime::id::ResourceId) -> Option<McpAccess> {
        self.inner.mcp.read().get(pool.key()).cloned()
    }

    /// Records (or with `None` forgets) the MCP access of `pool`.
    pub fn set_mcp_access(
        &self,
        pool: &sessions_runtime::id::ResourceId,
        access: Option<McpAccess>,
    ) {
        let mut m = self.inner.mcp.write();
        match access {
            Some(a) => {
                m.insert(pool.key().to_string(), a);
            }
            None => {
                m.remove(pool.key());
            }
        }
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// Takes the lock that serialises read-modify-write of session pool rows, so a
    /// provisioning task never overwrites a newer update. Per emulator.
    pub async fn pool_writes(&self) -> MutexGuard<'_, ()> {
        self.inner.pool_writes.lock().await
    }
}

impl AuthContext for AppState {
    fn tokens(&self) -> &TokenService {
        AppState::tokens(self)
    }

    fn now(&self) -> OffsetDateTime {
        AppState::now(self)
    }

    fn endpoint(&self) -> &str {
        AppState::endpoint(self)
    }
}
