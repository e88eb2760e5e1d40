//! Probes that name a port other than the target port (fake backend, manual clock): the
//! session is started with that port forwarded (`extra_ports`) and the probe goes to that
//! port's address, not to the target port.
//!
//! The test backend wraps the fake one and points the probe port's host address at a small
//! HTTP server the test controls, so the test sees every probe request and decides its answer
//! while the container's own `/health` on the target port stays healthy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use sessions_runtime::clock::{ManualClock, TimeScale};
use sessions_runtime::pool::images::PlaceholderImages;
use sessions_runtime::pool::probe::{ProbeAction, ProbeKind, ProbeSpec};
use sessions_runtime::pool::session::SessionState;
use sessions_runtime::pool::spec::PoolSpec;
use sessions_runtime::pool::{ManagerConfig, PoolManager};
use sessions_runtime::vm::fake::{FakeBackend, FakeOptions};
use sessions_runtime::vm::{Backend, Session, SessionSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{ctx, until, WAIT};

const PROBE_PORT: u16 = 9090;

/// The probe port's stand-in: answers 200 while `healthy`, else 503; counts requests.
struct ProbeServer {
    addr: SocketAddr,
    healthy: Arc<AtomicBool>,
    hits: Arc<AtomicU32>,
}

async fn probe_server() -> ProbeServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let healthy = Arc::new(AtomicBool::new(true));
    let hits = Arc::new(AtomicU32::new(0));
    let (h, n) = (healthy.clone(), hits.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (h, n) = (h.clone(), n.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let Ok(len) = s.read(&mut buf).await else {
                    return;
                };
                if !buf[..len].starts_with(b"GET /live ") {
                    return;
                }
                n.fetch_add(1, Ordering::SeqCst);
                let status = if h.load(Ordering::SeqCst) {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            });
        }
    });
    ProbeServer {
        addr,
        healthy,
        hits,
    }
}

/// The fake backend, with the probe port's address replaced by the test's server; records the
/// forwarded ports of every started session.
struct Redirecting {
    inner: FakeBackend,
    probe_addr: SocketAddr,
    started: Mutex<Vec<Vec<u16>>>,
}

#[async_trait]
impl Backend for Redirecting {
    fn kind(&self) -> &str {
        "fake"
    }

    async fn start(&self, spec: SessionSpec) -> sessions_runtime::vm::Result<Session> {
        self.started.lock().push(spec.container.forwarded_ports());
        let mut session = self.inner.start(spec).await?;
        if session.ports.contains_key(&PROBE_PORT) {
            session.ports.insert(PROBE_PORT, self.probe_addr);
        }
        Ok(session)
    }
}

#[tokio::test]
async fn pool_liveness_probe_on_another_port_is_sent_to_that_port() {
    let server = probe_server().await;
    let backend = Arc::new(Redirecting {
        inner: FakeBackend::new(FakeOptions::default()),
        probe_addr: server.addr,
        started: Mutex::new(Vec::new()),
    });
    let clock = ManualClock::starting_now();
    let m = PoolManager::without_store(ManagerConfig {
        backend: backend.clone(),
        images: Arc::new(PlaceholderImages),
        clock: Arc::new(clock.clone()),
        scale: TimeScale::default(),
        boot_timeout: WAIT,
    });
    let mut spec = PoolSpec::simple("img:1", 8080, 3, 1);
    spec.template.probes = vec![ProbeSpec {
        failure_threshold: 2,
        period_secs: 1,
        ..ProbeSpec::new(
            ProbeKind::Liveness,
            ProbeAction::Http {
                path: "/live".into(),
                port: PROBE_PORT,
                https: false,
                headers: vec![],
                host: None,
            },
        )
    }];
    let pool = m.apply(ctx("probeport"), spec);
    let a = pool.allocate("probed-user", WAIT).await.expect("allocate");
    assert_eq!(
        backend.started.lock().first().cloned(),
        Some(vec![8080, PROBE_PORT]),
        "the session forwards the probe's port besides the target port"
    );
    // The Liveness probe reaches the probe port (the test's server), and only there.
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.hits.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no probe reached port {PROBE_PORT}"
        );
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(pool.route("probed-user").is_some(), "healthy: still bound");
    // Failing on the probe port removes the session although the target port stays healthy.
    server.healthy.store(false, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + WAIT;
    while pool.route("probed-user").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session failing its Liveness probe on port {PROBE_PORT} was not removed"
        );
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.healthy.store(true, Ordering::SeqCst);
    until(&pool, "ready set restored", |s| {
        s.count(SessionState::Ready) == 1
    })
    .await;
    let b = pool.allocate("probed-user", WAIT).await.expect("again");
    assert_ne!(a.session, b.session, "a replacement session");
    m.shutdown().await;
}
