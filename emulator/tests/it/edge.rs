//! Limits at the edge (`sessions_emulator::edge`, `sessions_emulator::bodies`): body sizes and
//! JSON depth per surface, header-read, idle and TLS-handshake timeouts, the connection cap
//! and its `503`, shutdown that never waits on a client, backing off when descriptors run
//! out, and `location` values checked before they reach a header. In-process where a limit
//! can be set small; the built binary for signals and rlimits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::config::Config;
use sessions_emulator::dataplane::{pool_endpoint, pool_id};
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;
use sessions_runtime::pool::core::Provisioning;
use sessions_runtime::pool::logs::PoolContext;
use sessions_runtime::pool::spec::PoolSpec;

use crate::support::figures;
use crate::support::process::{serve_args, EmulatorProcess, BIN};

fn rg_path(name: &str) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/{name}?api-version=2021-04-01",
        defaults::SUBSCRIPTION_ID
    )
}

/// Reads from `s` until the peer closes (or `limit` passes); true when it closed.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test]
async fn arm_and_token_bodies_are_limited_but_the_data_plane_streams_any_size() {
    let srv = TestServer::start().await;
    // ARM: 5 MiB declared, and 5 MiB streamed without a length.
    let big = format!(
        r#"{{"location":"eastus","tags":{{"x":"{}"}}}}"#,
        "a".repeat(5 << 20)
    );
    let resp = srv
        .arm(Method::PUT, &rg_path("big"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "RequestEntityTooLarge", "{body}");
    let stream = futures::stream::iter(
        big.into_bytes()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let resp = srv
        .arm(Method::PUT, &rg_path("big"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 413);
    // Nested deeper than the limit: refused before parsing, naming the reason.
    let deep = format!(
        r#"{{"location":"eastus","tags":{{}},"properties":{}1{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let (status, body) = {
        let r = srv
            .arm(Method::PUT, &rg_path("deep"))
            .body(deep)
            .send()
            .await
            .expect("send");
        (r.status(), r.json::<Value>().await.expect("json"))
    };
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "InvalidRequestContent");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nested deeper than 64"),
        "{body}"
    );
    // Within the limits all is well.
    let r = srv
        .arm(Method::PUT, &rg_path("fine"))
        .json(&json!({"location": "eastus", "tags": {"x": "a".repeat(1 << 20)}}))
        .send()
        .await
        .expect("send");
    assert!(r.status().is_success(), "{}", r.status());
    // Token endpoint: 64 KiB.
    let r = srv
        .client
        .post(srv.url(&format!("/{}/oauth2/v2.0/token", defaults::TENANT_ID)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&pad={}",
            "a".repeat(100 << 10)
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request", "{body}");

    // The data plane streams 6 MiB to the session and back.
    let (sub, rg, name) = (defaults::SUBSCRIPTION_ID, "edge-rg", "bigbody");
    let ctx = PoolContext {
        resource_id: pool_id(sub, rg, name),
        location: "eastus".into(),
        environment_id: "/env".into(),
        tenant_id: "t".into(),
    };
    let handle = srv
        .state
        .pools()
        .apply(ctx, PoolSpec::simple("img:1", 8080, 2, 1));
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(20), handle.wait_provisioned()).await,
        Ok(Provisioning::Succeeded)
    );
    let ep = pool_endpoint(&srv.endpoint, &pool_id(sub, rg, name));
    let payload = vec![7u8; 6 << 20];
    let r = srv
        .client
        .post(format!("{ep}/echo?identifier=big-body"))
        .bearer_auth(srv.dataplane_token())
        .body(payload.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").len(), payload.len());
}

// Multi-threaded: the test blocks on std sockets while the server runs in-process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    let srv = TestServer::start_with(
        |c: &mut Config| {
            c.limits.header_read_timeout = Duration::from_millis(500);
            c.limits.idle_timeout = Duration::from_secs(1);
        },
        None,
    )
    .await;
    let addr = srv.endpoint.trim_start_matches("http://").to_string();
    // Half a request head, never finished.
    let mut half = TcpStream::connect(&addr).expect("connect");
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("write");
    // A connection that never says anything.
    let mut silent = TcpStream::connect(&addr).expect("connect");
    // A keep-alive connection idle after one request.
    let mut idle = TcpStream::connect(&addr).expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    for (name, s) in [
        ("half", &mut half),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        assert!(
            closed_within(s, Duration::from_secs(10)),
            "{name} stayed open"
        );
    }
    // The server still serves.
    let r = srv
        .client
        .get(srv.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}

// Multi-threaded: the test blocks on std sockets while the server runs in-process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_get_a_clear_503() {
    let srv = TestServer::start_with(|c: &mut Config| c.limits.max_connections = 4, None).await;
    let addr = srv.endpoint.trim_start_matches("http://").to_string();
    let held: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    // Let the server count them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(&addr).expect("connect");
    extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("ServerBusy"), "{answer}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = srv.client.get(srv.url("/health")).send().await;
        if r.as_ref().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Multi-threaded: the test blocks on std sockets while the server runs in-process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshakes_that_never_finish_are_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = sessions_emulator::tls::setup(dir.path(), None).expect("tls");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = Config::in_memory(format!("https://{addr}"));
    config.tls = true;
    config.limits.tls_handshake_timeout = Duration::from_millis(500);
    let state = sessions_emulator::state::AppState::new(config).expect("state");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sessions_emulator::server::run(
        listener,
        state,
        Some(tls.server_config.clone()),
        async {
            let _ = rx.await;
        },
    ));
    let mut silent = TcpStream::connect(addr).expect("connect");
    let mut partial = TcpStream::connect(addr).expect("connect");
    // The first bytes of a ClientHello record, then nothing.
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .expect("write");
    for (name, s) in [("silent", &mut silent), ("partial", &mut partial)] {
        assert!(
            closed_within(s, Duration::from_secs(10)),
            "{name} stayed open"
        );
    }
    let _ = tx.send(());
    let _ = server.await;
}

/// Bytes of `/proc/{pid}/stat` fields 14 and 15 (user and system CPU, in clock ticks).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// SIGTERM ends the process within a few seconds whatever its clients are doing: silent TCP
/// connections, half a TLS handshake, a request head never finished, a request waiting on a
/// session, a client that stopped reading a large answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sigterm_completes_whatever_clients_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = EmulatorProcess::start(dir.path(), false);
    let endpoint = emu.endpoint();
    let addr = endpoint.trim_start_matches("https://").to_string();
    let client = emu.client();
    let token = emu.token(&client).await;
    // A pool whose session sleeps for a minute on request.
    let pool = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/term?api-version=2026-07-01",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let body = json!({"location": "eastus", "properties": {
        "environmentId": defaults::environment_id(), "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
        "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
        "customContainerTemplate": {"containers": [{"image": "img:1", "name": "app",
            "resources": {"cpu": 0.25, "memory": "0.5Gi"}}], "ingress": {"targetPort": 8080}}}});
    let (s, created) = emu
        .arm(&client, &token, Method::PUT, &pool, Some(&body))
        .await;
    assert_eq!(s, 201, "{created}");
    let ep = loop {
        let (_, b) = emu.arm(&client, &token, Method::GET, &pool, None).await;
        if b["properties"]["provisioningState"] == "Succeeded" {
            break b["properties"]["poolManagementEndpoint"]
                .as_str()
                .expect("endpoint")
                .to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let dp_token = {
        let r = client
            .post(format!(
                "{endpoint}/{}/oauth2/v2.0/token",
                defaults::TENANT_ID
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", defaults::CLIENT_ID),
                ("client_secret", defaults::CLIENT_SECRET),
                ("scope", "https://dynamicsessions.io/.default"),
            ])
            .send()
            .await
            .expect("token");
        r.json::<Value>().await.expect("json")["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let waiting = {
        let (client, ep, t) = (client.clone(), ep.clone(), dp_token.clone());
        tokio::spawn(async move {
            client
                .get(format!("{ep}/sleep?ms=60000&identifier=sleeper"))
                .bearer_auth(t)
                .send()
                .await
        })
    };
    let mut held: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let mut partial = TcpStream::connect(&addr).expect("connect");
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .expect("write");
    held.push(partial);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let pid = emu.child.id();
    let started = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let mut emu = emu;
    let status = loop {
        if let Some(s) = emu.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still running {:?} after SIGTERM",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    figures::report(
        "edge::real_sigterm_completes_whatever_clients_do",
        1,
        0,
        &format!("SIGTERM with 50 silent connections, half a TLS handshake and a request waiting on a session: exited cleanly in {took:.1?}"),
    );
    waiting.abort();
    drop(held);
}

/// With the open-file limit reached, the accept loop backs off: it neither spins (CPU) nor
/// floods its log, and serves again once descriptors are free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_running_out_of_descriptors_backs_off() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("stderr.log");
    let mut args = serve_args(&dir.path().join("data"), true);
    args.extend(["--max-connections".into(), "100000".into()]);
    let mut cmd = Command::new(BIN);
    cmd.args(&args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"));
    // SAFETY: setrlimit is async-signal-safe; it only lowers this child's limit.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 96,
                rlim_max: 96,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("ready line");
    let ready: Value = serde_json::from_str(line.trim()).expect("ready");
    let endpoint = ready["endpoint"].as_str().expect("endpoint").to_string();
    let addr = endpoint.trim_start_matches("http://").to_string();
    let pid = child.id();
    // Far more connections than the process has descriptors for.
    let held: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    assert!(held.len() > 100, "only {} connections", held.len());
    let held_n = held.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (t0, log0) = (
        cpu_ticks(pid),
        std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (t1, log1) = (
        cpu_ticks(pid),
        std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0),
    );
    let ticks_per_s = 100; // USER_HZ
    let (cpu_ms, log_bytes) = ((t1 - t0) * 1000 / ticks_per_s, log1 - log0);
    assert!(
        t1 - t0 < 60,
        "the accept loop spins: {} ticks in 3 s",
        t1 - t0
    );
    assert!(
        log1 - log0 < 16 * 1024,
        "the log grew by {} bytes in 3 s",
        log1 - log0
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("out of file descriptors"), "{text}");
    drop(held);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = client.get(format!("{endpoint}/health")).send().await;
        if r.as_ref().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    figures::report(
        "edge::real_running_out_of_descriptors_backs_off",
        held_n,
        0,
        &format!("{held_n} connections against a 96-descriptor limit for 3 s: {cpu_ms} ms of CPU, {log_bytes} bytes of log; served again once descriptors were free"),
    );
}

/// 1,000 idle connections that finished their TLS handshake and 200 that never will do not
/// stop the emulator from serving (how much they delay a request is `make bench`'s
/// `bench-edge`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_idle_connections_and_half_handshakes_do_not_stop_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = EmulatorProcess::start(dir.path(), false);
    let endpoint = emu.endpoint();
    let addr = endpoint.trim_start_matches("https://").to_string();
    let pem = std::fs::read(emu.field("caFile")).expect("ca");
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.expect("cert")).expect("add");
    }
    let cfg = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let connector = tokio_rustls::TlsConnector::from(cfg);
    let mut idle = Vec::new();
    for _ in 0..1000 {
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        idle.push(connector.connect(name, tcp).await.expect("handshake"));
    }
    let mut half = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(&addr).expect("connect");
        s.write_all(&[0x16, 0x03, 0x01]).expect("write");
        half.push(s);
    }
    let client = emu.client();
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let r = client
            .get(format!("{endpoint}/health"))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        worst = worst.max(t.elapsed());
    }
    figures::report(
        "edge::real_idle_connections_and_half_handshakes_do_not_stop_service",
        20,
        0,
        &format!("1,000 idle TLS connections and 200 half handshakes held: 20 of 20 requests served, slowest {worst:.1?} (the delay over 30 s: scripts/bench-edge)"),
    );
    drop(idle);
    drop(half);
}

/// `location` becomes part of the `Location` and `Azure-AsyncOperation` URLs: a value that is
/// not a region name (too long, `..`, `?`, `#`, `/`, CR/LF) is refused with a 400 naming
/// `location` on every tracked resource type, and an accepted one gives short headers that
/// parse as URLs under `/locations/{region}/`.
#[tokio::test]
async fn locations_that_are_not_region_names_never_reach_a_header() {
    let srv = TestServer::start().await;
    let rg = defaults::resource_group_id();
    let env_body = |loc: &Value| json!({"location": loc});
    let pool_body = |loc: &Value| {
        json!({"location": loc, "properties": {
            "environmentId": defaults::environment_id(), "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {"containers": [{"image": "img:1", "name": "app",
                "resources": {"cpu": 0.25, "memory": "0.5Gi"}}], "ingress": {"targetPort": 8080}}}})
    };
    type Body = Box<dyn Fn(&Value) -> Value>;
    let kinds: Vec<(String, Body)> = vec![
        (rg_path("loc-rg"), Box::new(env_body)),
        (
            format!("{rg}/providers/Microsoft.App/managedEnvironments/locenv?api-version=2025-07-01"),
            Box::new(env_body),
        ),
        (
            format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/loclogs?api-version=2023-09-01"),
            Box::new(env_body),
        ),
        (
            format!("{rg}/providers/Microsoft.App/sessionPools/locpool?api-version=2026-07-01"),
            Box::new(pool_body),
        ),
    ];
    let bad = [
        json!("e".repeat(70_000)),
        json!("eastus/../../x"),
        json!("eastus?api-version=1#frag"),
        json!("east us\r\nX-Injected: 1"),
        json!("east%2Fus"),
        json!(""),
        json!("   "),
    ];
    let mut refused = 0;
    for (path, body) in &kinds {
        for loc in &bad {
            let r = srv
                .arm(Method::PUT, path)
                .json(&body(loc))
                .send()
                .await
                .expect("send");
            let status = r.status();
            assert!(
                r.headers().get("location").is_none()
                    && r.headers().get("azure-asyncoperation").is_none(),
                "{path}: a refused PUT has no operation headers"
            );
            let b: Value = r.json().await.expect("json");
            assert_eq!(status, 400, "{path} {loc}: {b}");
            let text = b.to_string();
            assert!(
                text.contains("location") && text.len() < 2048,
                "{path}: the error names location and stays short: {}",
                &text[..text.len().min(300)]
            );
            refused += 1;
        }
        let r = srv
            .arm(Method::PUT, path)
            .json(&body(&json!("East US")))
            .send()
            .await
            .expect("send");
        let (status, headers) = (r.status(), r.headers().clone());
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            r.text().await.unwrap_or_default()
        );
        for h in ["location", "azure-asyncoperation"] {
            if let Some(v) = headers.get(h) {
                let v = v.to_str().expect("ascii");
                assert!(v.len() < 512, "{h}: {v}");
                let u = url::Url::parse(v).expect("a URL");
                assert!(u.path().contains("/locations/eastus/"), "{h}: {v}");
                assert!(u.fragment().is_none(), "{h}: {v}");
            }
        }
    }
    figures::report(
        "edge::locations_that_are_not_region_names_never_reach_a_header",
        refused,
        0,
        &format!("{refused} PUTs with a location that is not a region name (70,000 characters, `..`, `?`, `#`, CR/LF, empty) on 4 resource types: {refused} refused with a 400 naming location, 0 operation headers"),
    );
}
