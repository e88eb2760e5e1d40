//! Pool manager end to end with the fake backend and a manual clock (no HTTP edge): allocation,
//! identifier reuse, the capacity limit, lifecycles, probes, roll-out, delete.

use std::time::Duration;

use sessions_runtime::clock::{Clock, ManualClock};
use sessions_runtime::pool::core::{AllocError, Provisioning};
use sessions_runtime::pool::probe::{ProbeAction, ProbeKind, ProbeSpec};
use sessions_runtime::pool::session::SessionState;
use sessions_runtime::pool::spec::{LifecycleSpec, PoolSpec};
use sessions_runtime::pool::PoolSnapshot;

/// Probes naming a port other than the target port (shares this module's helpers).
mod probe_ports;

use crate::support::{ctx, manager, until, WAIT};

fn ready(s: &PoolSnapshot) -> usize {
    s.count(SessionState::Ready)
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body")
}

async fn post(addr: std::net::SocketAddr, path: &str) {
    let _ = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .send()
        .await;
}

#[tokio::test]
async fn pool_allocates_binds_reuses_and_refills() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let pool = m.apply(ctx("alloc"), PoolSpec::simple("img:1", 8080, 5, 2));
    assert_eq!(
        tokio::time::timeout(WAIT, pool.wait_provisioned()).await,
        Ok(Provisioning::Succeeded)
    );
    let a = pool.allocate("user-one", WAIT).await.expect("allocated");
    assert!(a.new);
    let again = pool.allocate("user-one", WAIT).await.expect("reused");
    assert_eq!(
        (again.session.clone(), again.new),
        (a.session.clone(), false)
    );
    let b = pool.allocate("user-two", WAIT).await.expect("second");
    assert_ne!(a.session, b.session);
    assert!(!get(a.address, "/").await.is_empty());
    until(&pool, "ready set refilled", |s| {
        ready(s) == 2 && s.count(SessionState::Allocated) == 2
    })
    .await;
}

#[tokio::test]
async fn pool_full_refuses_then_recovers_after_stop() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let pool = m.apply(ctx("full"), PoolSpec::simple("img:1", 8080, 2, 1));
    pool.allocate("aaaa", WAIT).await.expect("a");
    pool.allocate("bbbb", WAIT).await.expect("b");
    assert_eq!(
        pool.allocate("cccc", WAIT).await,
        Err(AllocError::PoolFull { max: 2 })
    );
    assert!(pool.stop("aaaa").await.is_some());
    assert!(pool.stop("aaaa").await.is_none(), "identifier is free");
    pool.allocate("cccc", WAIT).await.expect("room again");
}

#[tokio::test]
async fn pool_timed_session_expires_after_cooldown_and_requests_extend_it() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let pool = m.apply(ctx("timed"), PoolSpec::simple("img:1", 8080, 3, 1));
    let first = pool.allocate("idle-user", WAIT).await.expect("a");
    clock.advance(Duration::from_secs(200));
    pool.touch("idle-user");
    let snap = pool.fresh_snapshot().await;
    assert!(
        snap.sessions
            .iter()
            .any(|x| x.last_accessed_at == Some(clock.now())),
        "touch applied"
    );
    clock.advance(Duration::from_secs(299));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        pool.route("idle-user").is_some(),
        "still alive 499 s in, 299 s after the last request"
    );
    clock.advance(Duration::from_secs(2));
    until(&pool, "session expired", |s| {
        !s.bindings.contains_key("idle-user")
    })
    .await;
    let fresh = pool.allocate("idle-user", WAIT).await.expect("fresh");
    assert_ne!(fresh.session, first.session, "a new session after expiry");
}

#[tokio::test]
async fn pool_on_container_exit_ends_session_when_container_exits() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let mut spec = PoolSpec::simple("img:1", 8080, 3, 1);
    spec.lifecycle = LifecycleSpec::OnContainerExit {
        max_alive_secs: 600,
    };
    let pool = m.apply(ctx("exit"), spec);
    let a = pool.allocate("exit-user", WAIT).await.expect("a");
    post(a.address, "/exit").await;
    until(&pool, "exited session unbound", |s| {
        !s.bindings.contains_key("exit-user")
    })
    .await;
    until(&pool, "exited session removed", |s| {
        s.sessions.iter().all(|x| x.id != a.session)
    })
    .await;
    // maxAlive: a second session ends at its maximum age.
    let b = pool.allocate("exit-user", WAIT).await.expect("b");
    assert_ne!(a.session, b.session);
    clock.advance(Duration::from_secs(599));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(pool.route("exit-user").is_some());
    clock.advance(Duration::from_secs(1));
    until(&pool, "maxAlive reached", |s| {
        !s.bindings.contains_key("exit-user")
    })
    .await;
}

fn probe(kind: ProbeKind, path: &str, failure_threshold: u32) -> ProbeSpec {
    ProbeSpec {
        failure_threshold,
        period_secs: 1,
        ..ProbeSpec::new(
            kind,
            ProbeAction::Http {
                path: path.into(),
                port: 8080,
                https: false,
                headers: vec![],
                host: None,
            },
        )
    }
}

#[tokio::test]
async fn pool_startup_probe_failing_fails_provisioning() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let mut spec = PoolSpec::simple("img:1", 8080, 3, 1);
    spec.template.container.env = vec![("SESSIONS_FAKE_NEVER_READY".into(), "1".into())];
    spec.template.probes = vec![probe(ProbeKind::Startup, "/ready", 1)];
    let pool = m.apply(ctx("neverready"), spec);
    let p = tokio::time::timeout(WAIT, pool.wait_provisioned())
        .await
        .expect("outcome");
    match p {
        Provisioning::Failed(failure) => {
            assert!(failure.message.contains("Startup probe"), "{failure:?}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(
        pool.allocate("someone", Duration::from_millis(10)).await,
        Err(AllocError::NoneReady)
    );
    assert!(pool.snapshot().last_error.is_some());
}

#[tokio::test]
async fn pool_start_failure_fails_provisioning() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let mut spec = PoolSpec::simple("img:1", 8080, 3, 1);
    spec.template.container.env = vec![("SESSIONS_FAKE_FAIL_START".into(), "1".into())];
    let pool = m.apply(ctx("failstart"), spec);
    let p = tokio::time::timeout(WAIT, pool.wait_provisioned())
        .await
        .expect("outcome");
    assert!(matches!(p, Provisioning::Failed { .. }), "{p:?}");
}

#[tokio::test]
async fn pool_liveness_failure_replaces_the_session() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let mut spec = PoolSpec::simple("img:1", 8080, 3, 1);
    spec.template.probes = vec![probe(ProbeKind::Liveness, "/health", 2)];
    let pool = m.apply(ctx("liveness"), spec);
    let a = pool.allocate("sick-user", WAIT).await.expect("a");
    post(a.address, "/unhealthy").await;
    for _ in 0..50 {
        if pool.route("sick-user").is_none() {
            break;
        }
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    until(&pool, "unhealthy session removed", |s| {
        !s.bindings.contains_key("sick-user")
    })
    .await;
    until(&pool, "ready set restored", |s| ready(s) == 1).await;
    let b = pool.allocate("sick-user", WAIT).await.expect("replacement");
    assert_ne!(a.session, b.session);
}

#[tokio::test]
async fn pool_template_update_rolls_ready_set_and_keeps_allocated() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let c = ctx("rollout");
    let pool = m.apply(c.clone(), PoolSpec::simple("img:1", 8080, 5, 2));
    let kept = pool.allocate("keep-me", WAIT).await.expect("a");
    until(&pool, "ready set", |s| ready(s) == 2).await;
    let old: Vec<String> = pool
        .snapshot()
        .sessions
        .iter()
        .filter(|s| s.state == SessionState::Ready)
        .map(|s| s.id.clone())
        .collect();
    let same = m.apply(c, PoolSpec::simple("img:2", 8080, 5, 2));
    assert_eq!(
        tokio::time::timeout(WAIT, same.wait_provisioned()).await,
        Ok(Provisioning::Succeeded)
    );
    until(&pool, "new ready set of generation 2", |s| {
        s.generation == 2
            && s.sessions
                .iter()
                .filter(|x| x.state == SessionState::Ready)
                .all(|x| x.generation == 2 && !old.contains(&x.id))
            && ready(s) == 2
    })
    .await;
    assert_eq!(pool.route("keep-me").map(|r| r.0), Some(kept.session));
}

#[tokio::test]
async fn pool_delete_stops_everything() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let c = ctx("deleteme");
    let pool = m.apply(c.clone(), PoolSpec::simple("img:1", 8080, 5, 2));
    let a = pool.allocate("some-user", WAIT).await.expect("a");
    tokio::time::timeout(WAIT, m.remove(&c.resource_id))
        .await
        .expect("deleted");
    assert!(m.get(&c.resource_id).is_none());
    assert!(
        reqwest::get(format!("http://{}/", a.address))
            .await
            .is_err(),
        "session server is gone"
    );
}

#[tokio::test]
async fn pool_concurrent_first_requests_for_one_identifier_share_a_session() {
    let clock = ManualClock::starting_now();
    let m = manager(&clock);
    let pool = m.apply(ctx("race"), PoolSpec::simple("img:1", 8080, 10, 3));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let p = pool.clone();
            tokio::spawn(async move { p.allocate("same-user", WAIT).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        ids.insert(t.await.expect("join").expect("allocated").session);
    }
    assert_eq!(ids.len(), 1);
}
