//! Churn leaves nothing behind: allocate a session, use it, stop it, again and again (1,000
//! times on the fake backend, 100 on QEMU), then compare what the emulator process holds with
//! what it held after a warm-up: descriptors (client and upstream sockets: an ended session's
//! keep-alive connection must be closed), resident memory, sessions, QEMU processes, run dirs.
//! The figures are printed (run with `--no-capture` to see them).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sessions_emulator::defaults;

use crate::support::figures;
use crate::support::host::{fd_count, qemu_of, rss_kib, run_dirs, wait_for};
use crate::support::process::EmulatorProcess;

const MGMT: &str = "api-version=2025-02-02-preview";

fn pool_body(image: &str, ready: u32, egress: &str) -> Value {
    json!({"location": "eastus", "properties": {
        "environmentId": defaults::environment_id(), "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 20, "readySessionInstances": ready},
        "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
        "sessionNetworkConfiguration": {"status": egress},
        "customContainerTemplate": {"containers": [{"image": image, "name": "app",
            "resources": {"cpu": 0.25, "memory": "0.5Gi"}}], "ingress": {"targetPort": 8080}}}})
}

/// One allocate + request + stopSession cycle for `identifier`; retries a 429 (the pool is
/// refilling) for up to a minute.
async fn cycle(client: &reqwest::Client, ep: &str, token: &str, identifier: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = client
            .get(format!("{ep}/cycle?identifier={identifier}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        if status == 200 {
            break;
        }
        assert_eq!(status, 429, "allocating {identifier}: {body}");
        assert!(
            Instant::now() < deadline,
            "no session for {identifier} within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = client
        .post(format!(
            "{ep}/.management/stopSession?{MGMT}&identifier={identifier}"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("stop");
    assert_eq!(r.status(), 200, "stopping {identifier}");
}

async fn live_sessions(client: &reqwest::Client, ep: &str, token: &str) -> u64 {
    let r = client
        .post(format!("{ep}/.management/listSessions?{MGMT}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list");
    let v: Value = r.json().await.expect("json");
    v["value"].as_array().map_or(0, |a| a.len() as u64)
}

struct Figures {
    fds: (usize, usize),
    rss_kib: (u64, u64),
}

/// Runs `n` cycles after `warm` warm-up cycles and returns descriptors and RSS after the
/// warm-up and at the end (once idle connections had their sweep).
async fn churn(emu: &EmulatorProcess, ep: &str, warm: usize, n: usize) -> Figures {
    let client = emu.client();
    let token = emu
        .token_for(&client, "https://dynamicsessions.io/.default")
        .await;
    let pid = emu.child.id();
    for i in 0..warm {
        cycle(&client, ep, &token, &format!("warm-{i:05}")).await;
    }
    // Idle upstream connections of ended sessions are swept every 2 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = (fd_count(pid), rss_kib(pid));
    for i in 0..n {
        cycle(&client, ep, &token, &format!("cycle-{i:05}")).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        live_sessions(&client, ep, &token).await,
        0,
        "sessions left allocated"
    );
    let after = (fd_count(pid), rss_kib(pid));
    Figures {
        fds: (before.0, after.0),
        rss_kib: (before.1, after.1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_thousand_fake_cycles_leak_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = EmulatorProcess::start(dir.path(), true);
    let client = emu.client();
    let ep = emu
        .create_pool(
            &client,
            "churn",
            &pool_body("img:1", 2, "EgressDisabled"),
            Duration::from_secs(30),
        )
        .await;
    let started = Instant::now();
    let n = figures::count("LEAK_FAKE_CYCLES", 1000);
    let f = churn(&emu, &ep, 100, n).await;
    assert!(
        f.fds.1 <= f.fds.0 + 8,
        "descriptors grew from {} to {}",
        f.fds.0,
        f.fds.1
    );
    assert!(
        f.rss_kib.1 <= f.rss_kib.0 + 64 * 1024,
        "RSS grew from {} to {} KiB",
        f.rss_kib.0,
        f.rss_kib.1
    );
    figures::report(
        "leaks::real_thousand_fake_cycles_leak_nothing",
        n,
        0,
        &format!(
            "{n} allocate+request+stopSession cycles (fake backend, {:.0?}): descriptors {} -> {}, RSS {} -> {} KiB, 0 sessions left",
            started.elapsed(),
            f.fds.0,
            f.fds.1,
            f.rss_kib.0,
            f.rss_kib.1
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_hundred_qemu_cycles_leak_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = crate::support::process::serve_args(dir.path(), true);
    let backend = args.iter().position(|a| a == "fake").expect("fake");
    args[backend] = "qemu".into();
    let emu = EmulatorProcess::start_with(args);
    let pid = emu.child.id();
    let client = emu.client();
    let ready = 2;
    let ep = emu
        .create_pool(
            &client,
            "churnvm",
            &pool_body("localhost/sample-session:latest", ready, "EgressEnabled"),
            Duration::from_secs(300),
        )
        .await;
    let started = Instant::now();
    let n = figures::count("LEAK_QEMU_CYCLES", 100);
    let f = churn(&emu, &ep, 5, n).await;
    let took = started.elapsed();
    // The ready set is back: `ready` microVMs (plus at most one parked spare clone).
    let settled = wait_for(Duration::from_secs(60), || {
        let q = qemu_of(pid).len();
        q >= ready as usize && q <= ready as usize + 1
    });
    let (qemu, dirs) = (qemu_of(pid).len(), run_dirs(pid).len());
    assert!(settled, "{qemu} QEMU processes for {ready} ready sessions");
    assert!(
        dirs <= qemu + 1,
        "{dirs} run dirs for {qemu} QEMU processes"
    );
    assert!(
        f.fds.1 <= f.fds.0 + 16,
        "descriptors grew from {} to {}",
        f.fds.0,
        f.fds.1
    );
    assert!(
        f.rss_kib.1 <= f.rss_kib.0 + 64 * 1024,
        "RSS grew from {} to {} KiB",
        f.rss_kib.0,
        f.rss_kib.1
    );
    drop(emu);
    assert!(
        wait_for(Duration::from_secs(10), || qemu_of(pid).is_empty()),
        "QEMU outlived the emulator"
    );
    figures::report(
        "leaks::real_hundred_qemu_cycles_leak_nothing",
        n,
        0,
        &format!(
            "{n} allocate+request+stopSession cycles (QEMU, {took:.0?}): descriptors {} -> {}, RSS {} -> {} KiB, {qemu} QEMU processes and {dirs} run dirs for {ready} ready sessions, 0 sessions left; 0 QEMU processes after the emulator ended",
            f.fds.0, f.fds.1, f.rss_kib.0, f.rss_kib.1
        ),
    );
}
