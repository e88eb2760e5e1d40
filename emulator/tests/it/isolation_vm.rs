//! Isolation of microVM sessions from the host and from each other, measured from inside
//! sessions with the sample app's `GET /connect` (an ordinary `connect()`, and a hand-made
//! SYN written to the network interface, which reaches whatever slirp would connect to).
//!
//! Targets, all of them listening: the emulator's listener and the pool's own origin (via
//! the gateway `10.0.2.2` and as `127.0.0.1`), a service of the test on every host address
//! (via the gateway, as `127.0.0.1`, and at the host's own non-loopback address), every
//! session's forwarded port (`127.0.0.2`), and the DNS forwarder on another port. A target
//! is reached only when the answer is `open`. With egress disabled and enabled, none is; with
//! egress enabled the internet is reached exactly where the host reaches it.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use sessions_emulator::defaults;

use crate::support::figures;
use crate::support::host::qemu_of;
use crate::support::process::{serve_args, EmulatorProcess};

fn pool_body(egress: &str) -> Value {
    json!({"location": "eastus", "properties": {
        "environmentId": defaults::environment_id(), "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 3, "readySessionInstances": 1},
        "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
        "sessionNetworkConfiguration": {"status": egress},
        "customContainerTemplate": {"containers": [{"image": "localhost/sample-session:latest",
            "name": "app", "resources": {"cpu": 0.25, "memory": "0.5Gi"}}],
            "ingress": {"targetPort": 8080}}}})
}

/// The host's IPv4 addresses that are not loopback.
fn host_ips() -> Vec<Ipv4Addr> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.split_whitespace()
        .filter_map(|a| a.parse::<Ipv4Addr>().ok())
        .filter(|a| !a.is_loopback())
        .collect()
}

/// The host ports of every session forward of emulator `pid` (`hostfwd=tcp:127.0.0.2:P-:G`).
fn forward_ports(pid: u32) -> Vec<u16> {
    let mut ports = Vec::new();
    for q in qemu_of(pid) {
        let cmd = std::fs::read(format!("/proc/{q}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).into_owned();
        for part in cmd.split("hostfwd=tcp:127.0.0.2:").skip(1) {
            if let Some(p) = part.split('-').next().and_then(|p| p.parse().ok()) {
                ports.push(p);
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("port")
}

/// Asks the session bound to `identifier` to connect; returns the `result`.
async fn connect(
    client: &reqwest::Client,
    ep: &str,
    token: &str,
    identifier: &str,
    host: &str,
    port: u16,
    mode: &str,
) -> String {
    let url = format!(
        "{ep}/connect?identifier={identifier}&host={host}&port={port}&mode={mode}&timeout_ms=2000"
    );
    for _ in 0..100 {
        // A generous bound: TCG guests on a loaded 2-core runner answer slowly.
        let r = client
            .get(&url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .expect("connect");
        if r.status() == 429 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let v: Value = r.json().await.expect("json");
        return v["result"].as_str().unwrap_or("no result").to_string();
    }
    panic!("no session for {identifier}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sessions_reach_neither_the_host_nor_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = serve_args(dir.path(), true);
    let i = args.iter().position(|a| a == "fake").expect("fake");
    args[i] = "qemu".into();
    let emu = EmulatorProcess::start_with(args);
    let pid = emu.child.id();
    let client = emu.client();
    let limit = Duration::from_secs(300);
    let open_ep = emu
        .create_pool(&client, "isoopen", &pool_body("EgressEnabled"), limit)
        .await;
    let closed_ep = emu
        .create_pool(&client, "isoclosed", &pool_body("EgressDisabled"), limit)
        .await;
    let token = emu
        .token_for(&client, "https://dynamicsessions.io/.default")
        .await;

    // A service of the test on every address of the host.
    let service = TcpListener::bind("0.0.0.0:0").expect("bind");
    let sport = service.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for c in service.incoming() {
            drop(c)
        }
    });

    // Wake one session in each pool, and a second one in the open pool (another session).
    for (ep, id) in [
        (&open_ep, "iso-open"),
        (&closed_ep, "iso-closed"),
        (&open_ep, "iso-other"),
    ] {
        assert_eq!(
            connect(&client, ep, &token, id, "127.0.0.1", 8080, "tcp").await,
            "open",
            "a session reaches its own app on its loopback"
        );
    }
    let emu_port = port_of(&emu.endpoint());
    let mut targets: Vec<(String, u16, &str)> = Vec::new();
    for port in [emu_port, port_of(&open_ep), port_of(&closed_ep), sport] {
        targets.push(("10.0.2.2".into(), port, "tcp"));
        targets.push(("10.0.2.2".into(), port, "raw"));
        targets.push(("127.0.0.1".into(), port, "raw"));
    }
    for ip in host_ips() {
        targets.push((ip.to_string(), sport, "tcp"));
        targets.push((ip.to_string(), sport, "raw"));
    }
    let forwards = forward_ports(pid);
    assert!(
        forwards.len() >= 3,
        "forwards of the sessions: {forwards:?}"
    );
    for port in &forwards {
        targets.push(("127.0.0.2".into(), *port, "raw"));
        targets.push(("10.0.2.2".into(), *port, "tcp"));
    }
    targets.push(("10.0.2.3".into(), emu_port, "tcp"));
    targets.push(("255.255.255.255".into(), emu_port, "raw"));

    let mut tally = Vec::new();
    for (ep, id, egress) in [
        (&open_ep, "iso-open", "enabled"),
        (&closed_ep, "iso-closed", "disabled"),
    ] {
        let asks = targets.iter().map(|(h, p, m)| {
            let (client, token) = (client.clone(), token.clone());
            async move {
                (
                    (h.clone(), *p, *m),
                    connect(&client, ep, &token, id, h, *p, m).await,
                )
            }
        });
        // A few at a time: each is a thread in a 1-vCPU TCG guest.
        let answers: Vec<_> = futures::stream::iter(asks)
            .buffer_unordered(6)
            .collect()
            .await;
        let reached: Vec<_> = answers.iter().filter(|(_, r)| r == "open").collect();
        let errors: Vec<_> = answers.iter().filter(|(_, r)| r == "error").collect();
        assert!(
            errors.is_empty(),
            "egress {egress}: attempts that could not be made: {errors:?}"
        );
        assert!(
            reached.is_empty(),
            "egress {egress}: a session reached {reached:?}"
        );
        tally.push((egress, answers.len(), reached.len()));
    }
    // The internet: exactly where the host has it (here, a package registry).
    let host_has = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect("index.crates.io:443"),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let open = connect(
        &client,
        &open_ep,
        &token,
        "iso-open",
        "index.crates.io",
        443,
        "tcp",
    )
    .await;
    let closed = connect(
        &client,
        &closed_ep,
        &token,
        "iso-closed",
        "index.crates.io",
        443,
        "tcp",
    )
    .await;
    assert_eq!(
        open == "open",
        host_has,
        "egress enabled: the session reaches the internet exactly where the host does ({open})"
    );
    assert_ne!(closed, "open", "egress disabled: no internet");
    let tried: usize = tally.iter().map(|f| f.1).sum();
    let reached: usize = tally.iter().map(|f| f.2).sum();
    let per: Vec<String> = tally
        .iter()
        .map(|(egress, tried, reached)| format!("egress {egress}: {reached} of {tried} reached"))
        .collect();
    figures::report(
        "isolation_vm::real_sessions_reach_neither_the_host_nor_each_other",
        tried,
        reached,
        &format!(
            "connections from inside sessions to the emulator's listener, the pools' origins, a host service on every host address, every session's forward and the DNS forwarder (connect() and hand-made SYNs): {}; internet (index.crates.io:443): host {host_has}, egress enabled {open}, egress disabled {closed}",
            per.join(", ")
        ),
    );
}
