//! [`PoolManager`]: the registry of pool actors, keyed by the pool's [`ResourceId`]
//! (case-insensitive). Its callers apply a pool on create/update ([`PoolManager::apply`]),
//! remove it on delete ([`PoolManager::remove`]) and look it up by id ([`PoolManager::get`]).
//!
//! At start-up, [`PoolManager::new`] takes the sessions recorded as live by the previous run
//! (see [`super::logs`]); each is logged as ended with `EmulatorRestart` when its pool is
//! registered again (the caller re-applies every stored pool), and the pool's ready set is
//! rebuilt from scratch.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::actor::{self, Command, PoolHandle};
use super::core::Provisioning;
use super::images::ImageSource;
use super::logs::{self, LeftoverSession, LogSink, PoolContext};
use super::spec::PoolSpec;
use super::supervisor::SupDeps;
use crate::clock::{SharedClock, TimeScale};
use crate::id::ResourceId;
use crate::logstore::{Limits, LogStore};
use crate::store::{Store, StoreError};
use crate::vm::Backend;

/// Default real-time bound for one session boot (TCG microVMs are slow).
pub const DEFAULT_BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// Settings of the manager.
#[derive(Clone)]
pub struct ManagerConfig {
    /// Runs sessions.
    pub backend: Arc<dyn Backend>,
    /// Resolves images.
    pub images: Arc<dyn ImageSource>,
    /// Time for lifecycles and probes.
    pub clock: SharedClock,
    /// `--time-scale`.
    pub scale: TimeScale,
    /// Bound for one boot.
    pub boot_timeout: Duration,
}

impl std::fmt::Debug for ManagerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagerConfig")
            .field("backend", &self.backend.kind())
            .field("images", &self.images)
            .field("scale", &self.scale)
            .field("boot_timeout", &self.boot_timeout)
            .finish_non_exhaustive()
    }
}

/// All pool actors.
#[derive(Clone, Debug)]
pub struct PoolManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    deps: SupDeps,
    pools: Mutex<HashMap<ResourceId, PoolHandle>>,
    leftovers: Mutex<HashMap<String, Vec<LeftoverSession>>>,
}

impl PoolManager {
    /// A manager persisting its logs in `store` (a log store with default limits on the
    /// manager's clock). Sessions left live by a previous run are taken from the store for
    /// reconciliation.
    pub fn new(config: ManagerConfig, store: &Store) -> Result<Self, StoreError> {
        let logs = LogStore::open(store, config.clock.clone(), Limits::default())?;
        Self::with_logs(config, store, logs)
    }

    /// Like [`PoolManager::new`], sending log rows to `logs`.
    pub fn with_logs(
        config: ManagerConfig,
        store: &Store,
        logs: LogStore,
    ) -> Result<Self, StoreError> {
        let sink = LogSink::start(store.clone(), logs)?;
        let mut leftovers: HashMap<String, Vec<LeftoverSession>> = HashMap::new();
        for l in logs::take_leftovers(store)? {
            leftovers
                .entry(l.pool_resource_id.clone())
                .or_default()
                .push(l);
        }
        Ok(Self::build(config, Some(sink), leftovers))
    }

    /// A manager that persists nothing (unit tests).
    pub fn without_store(config: ManagerConfig) -> Self {
        Self::build(config, None, HashMap::new())
    }

    fn build(
        config: ManagerConfig,
        logs: Option<LogSink>,
        leftovers: HashMap<String, Vec<LeftoverSession>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                deps: SupDeps {
                    controls: Default::default(),
                    backend: config.backend,
                    images: config.images,
                    clock: config.clock,
                    scale: config.scale,
                    logs,
                    boot_timeout: config.boot_timeout,
                },
                pools: Mutex::new(HashMap::new()),
                leftovers: Mutex::new(leftovers),
            }),
        }
    }

    /// The backend kind (`fake`, `qemu`).
    pub fn backend_kind(&self) -> String {
        self.inner.deps.backend.kind().to_string()
    }

    /// The time scale in force.
    pub fn scale(&self) -> TimeScale {
        self.inner.deps.scale
    }

    /// Creates the pool's actor, or hands an existing one the new spec. Returns its handle;
    /// use [`PoolHandle::wait_provisioned`] for the outcome.
    pub fn apply(&self, ctx: PoolContext, spec: PoolSpec) -> PoolHandle {
        let id = ctx.resource_id.clone();
        let mut pools = self.inner.pools.lock();
        if let Some(h) = pools.get(&id) {
            if !h.snapshot().deleted {
                h.update(spec);
                return h.clone();
            }
        }
        let handle = actor::start(Arc::new(ctx), spec, self.inner.deps.clone());
        if let Some(list) = self.inner.leftovers.lock().remove(id.key()) {
            handle.send(Command::Leftovers(list));
        }
        pools.insert(id, handle.clone());
        handle
    }

    /// Like [`Self::apply`], then waits for the outcome of exactly this create/update.
    pub async fn apply_and_wait(
        &self,
        ctx: PoolContext,
        spec: PoolSpec,
    ) -> (PoolHandle, Provisioning) {
        let existing = self.get(&ctx.resource_id).filter(|h| !h.snapshot().deleted);
        match existing {
            Some(h) => {
                let p = h.update_and_wait(spec).await;
                (h, p)
            }
            None => {
                let h = self.apply(ctx, spec);
                let p = h.wait_provisioned().await;
                (h, p)
            }
        }
    }

    /// The pool with this id.
    pub fn get(&self, resource_id: &ResourceId) -> Option<PoolHandle> {
        self.inner.pools.lock().get(resource_id).cloned()
    }

    /// Deletes a pool: stops every session and waits until all are stopped. When it was the
    /// last pool, the backend also stops what it keeps between sessions
    /// ([`Backend::release_idle`]): no pool, no VM.
    pub async fn remove(&self, resource_id: &ResourceId) {
        if let Some(h) = self.detach(resource_id) {
            h.delete().await;
            self.release_idle_if_no_pool().await;
        }
    }

    /// Deletes a pool without waiting: the pool is unregistered at once (a new pool of the same
    /// name gets a fresh actor) and its sessions are stopped in the background (then as
    /// [`Self::remove`]).
    pub fn remove_in_background(&self, resource_id: &ResourceId) {
        if let Some(h) = self.detach(resource_id) {
            let manager = self.clone();
            tokio::spawn(async move {
                h.delete().await;
                manager.release_idle_if_no_pool().await;
            });
        }
    }

    async fn release_idle_if_no_pool(&self) {
        if self.inner.pools.lock().is_empty() {
            self.inner.deps.backend.release_idle().await;
        }
    }

    fn detach(&self, resource_id: &ResourceId) -> Option<PoolHandle> {
        self.inner.pools.lock().remove(resource_id)
    }

    /// The log store the pools' rows go to (`None` for [`PoolManager::without_store`]).
    pub fn logs(&self) -> Option<&LogStore> {
        self.inner.deps.logs.as_ref().map(LogSink::logs)
    }

    /// Every registered pool.
    pub fn pools(&self) -> Vec<PoolHandle> {
        self.inner.pools.lock().values().cloned().collect()
    }

    /// Emulator shutdown: stops every session of every pool without recording their end, so
    /// the next start reconciles them (`EmulatorRestart`) and rebuilds each ready set.
    pub async fn shutdown(&self) {
        let all: Vec<PoolHandle> = self.inner.pools.lock().drain().map(|(_, h)| h).collect();
        futures::future::join_all(all.iter().map(|h| h.shutdown())).await;
        if let Some(logs) = &self.inner.deps.logs {
            logs.flush().await;
        }
    }
}
