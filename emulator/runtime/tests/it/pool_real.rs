//! The pool manager with the real qemu backend (TCG here): the sample session image boots as a
//! microVM, becomes ready, is allocated, serves a request, is replaced when its container exits,
//! and everything is stopped at the end. Uses the agent and sample image built into the crate.

use std::sync::Arc;
use std::time::Duration;

use crate::support::pool_id;
use sessions_runtime::clock::{SystemClock, TimeScale};
use sessions_runtime::image::sample::SeedMode;
use sessions_runtime::image::ImageStore;
use sessions_runtime::pool::core::Provisioning;
use sessions_runtime::pool::images::StoreImages;
use sessions_runtime::pool::lazy_qemu::LazyQemu;
use sessions_runtime::pool::logs::PoolContext;
use sessions_runtime::pool::session::SessionState;
use sessions_runtime::pool::spec::{LifecycleSpec, PoolSpec};
use sessions_runtime::pool::{ManagerConfig, PoolManager};

const IMAGE: &str = "localhost/sample-session:latest";
const BOOT: Duration = Duration::from_secs(180);

#[tokio::test]
async fn real_pool_qemu_session_allocates_serves_and_is_replaced_on_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ImageStore::open(dir.path()).expect("image store");
    // The sample image built into this program, as `serve` seeds it into a fresh data dir.
    sessions_runtime::image::sample::seed(&store, SeedMode::Once).expect("seed the sample image");
    let manager = PoolManager::without_store(ManagerConfig {
        backend: Arc::new(LazyQemu::new(dir.path().to_path_buf())),
        images: Arc::new(StoreImages::new(store, Default::default())),
        clock: Arc::new(SystemClock),
        scale: TimeScale::default(),
        boot_timeout: BOOT,
    });
    let mut spec = PoolSpec::simple(IMAGE, 8080, 2, 1);
    spec.lifecycle = LifecycleSpec::OnContainerExit {
        max_alive_secs: 3600,
    };
    let ctx = PoolContext::new(pool_id("realpool"));
    let pool = manager.apply(ctx.clone(), spec);
    let outcome = tokio::time::timeout(BOOT * 2, pool.wait_provisioned())
        .await
        .expect("provisioning finished");
    assert_eq!(
        outcome,
        Provisioning::Succeeded,
        "{:?}",
        pool.snapshot().last_error
    );

    let a = pool.allocate("real-user", BOOT).await.expect("allocated");
    let body: serde_json::Value = reqwest::get(format!("http://{}/", a.address))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_ne!(body["kernel"], "fake", "{body}");

    // The container exits: the session ends and the identifier gets a fresh one.
    let _ = reqwest::Client::new()
        .post(format!("http://{}/exit?code=3", a.address))
        .send()
        .await;
    let gone = tokio::time::timeout(
        BOOT,
        pool.wait_for(|s| !s.bindings.contains_key("real-user")),
    )
    .await
    .expect("session ended");
    assert!(gone);
    tokio::time::timeout(BOOT, pool.wait_for(|s| s.count(SessionState::Ready) == 1))
        .await
        .expect("ready set restored");
    let b = pool
        .allocate("real-user", BOOT)
        .await
        .expect("fresh session");
    assert_ne!(a.session, b.session);

    tokio::time::timeout(BOOT, manager.remove(&ctx.resource_id))
        .await
        .expect("stopped");
    assert!(
        reqwest::get(format!("http://{}/", b.address))
            .await
            .is_err(),
        "VM is gone"
    );
}
