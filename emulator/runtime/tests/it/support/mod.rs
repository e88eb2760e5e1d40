//! Helpers shared by the runtime's integration tests: a pool manager on the fake backend with
//! its context and waits. Image builders live in `sessions_runtime::testing` (the emulator's
//! tests use them too).

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use sessions_runtime::clock::{ManualClock, TimeScale};
use sessions_runtime::id::ResourceId;
use sessions_runtime::pool::images::PlaceholderImages;
use sessions_runtime::pool::logs::PoolContext;
use sessions_runtime::pool::{ManagerConfig, PoolHandle, PoolManager, PoolSnapshot};
use sessions_runtime::vm::fake::{FakeBackend, FakeOptions};

/// Longest wait for a pool condition.
pub const WAIT: Duration = Duration::from_secs(20);

/// A manager on the fake backend with placeholder images, timed by `clock`, persisting nothing.
pub fn manager(clock: &ManualClock) -> PoolManager {
    PoolManager::without_store(ManagerConfig {
        backend: FakeBackend::arc(FakeOptions::default()),
        images: Arc::new(PlaceholderImages),
        clock: Arc::new(clock.clone()),
        scale: TimeScale::default(),
        boot_timeout: Duration::from_secs(20),
    })
}

/// The id of pool `name` in subscription `s`, resource group `rg`.
pub fn pool_id(name: &str) -> ResourceId {
    ResourceId::resource("s", "rg", "Microsoft.App/sessionPools", name)
}

/// The context of pool `name` (see [`pool_id`]).
pub fn ctx(name: &str) -> PoolContext {
    PoolContext {
        resource_id: pool_id(name),
        location: "eastus".into(),
        environment_id: "/env".into(),
        tenant_id: "t".into(),
    }
}

/// Waits until `f(snapshot)` holds, at most [`WAIT`]; panics with the snapshot otherwise.
pub async fn until(pool: &PoolHandle, what: &str, f: impl Fn(&PoolSnapshot) -> bool) {
    if tokio::time::timeout(WAIT, pool.wait_for(f)).await != Ok(true) {
        panic!(
            "timed out waiting for: {what}; snapshot: {:#?}",
            pool.snapshot()
        );
    }
}
