//! Secrets at rest and in logs, on the built binary: with every log level on (`RUST_LOG=trace`)
//! a run that stores pool secrets (a registry password among them), fetches an MCP API key
//! and requests tokens with the client secret writes none of those values to its log, the
//! database or its WAL; the files that hold keys or secrets are 0600 in a 0700 data dir. And a
//! full disk: the write is refused with a clear answer while reads go on.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::defaults;

use crate::support::figures;
use crate::support::process::{serve_args, BIN};

/// Starts the binary with `RUST_LOG=trace`, stderr into `log`; returns it and its ready line.
fn start_logged(
    data: &std::path::Path,
    log: &std::path::Path,
    http: bool,
) -> (std::process::Child, Value) {
    let mut child = Command::new(BIN)
        .args(serve_args(data, http))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    (
        child,
        serde_json::from_str(line.trim()).expect("ready JSON"),
    )
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_secrets_never_reach_logs_or_disk_in_plain_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let log = dir.path().join("emulator.log");
    let (mut child, ready) = start_logged(&data, &log, false);
    let endpoint = ready["endpoint"].as_str().expect("endpoint").to_string();
    let pem = std::fs::read(ready["caFile"].as_str().expect("ca")).expect("ca.pem");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
        .build()
        .expect("client");
    let token = |scope: &'static str| {
        let (client, endpoint) = (client.clone(), endpoint.clone());
        async move {
            let r = client
                .post(format!(
                    "{endpoint}/{}/oauth2/v2.0/token",
                    defaults::TENANT_ID
                ))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", defaults::CLIENT_ID),
                    ("client_secret", defaults::CLIENT_SECRET),
                    ("scope", scope),
                ])
                .send()
                .await
                .expect("token");
            r.json::<Value>().await.expect("json")["access_token"]
                .as_str()
                .expect("token")
                .to_string()
        }
    };
    let arm = token("https://management.azure.com/.default").await;
    let secrets = [
        "Secret-Value-4f1c9a",
        "Registry-Password-77e2b0",
        "Env-Secret-90ad3c",
    ];
    let pool = format!(
        "{endpoint}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/secretive?api-version=2025-10-02-preview",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let body = json!({"location": "eastus", "properties": {
        "environmentId": defaults::environment_id(), "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
        "secrets": [{"name": "a", "value": secrets[0]}, {"name": "reg", "value": secrets[1]},
                    {"name": "env", "value": secrets[2]}],
        "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
        "mcpServerSettings": {"isMcpServerEnabled": true},
        "customContainerTemplate": {
            "registryCredentials": {"server": "127.0.0.1:9", "username": "u", "passwordSecretRef": "reg"},
            "containers": [{"image": "img:1", "name": "app", "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                "env": [{"name": "TOKEN", "secretRef": "env"}]}],
            "ingress": {"targetPort": 8080}}}});
    let r = client
        .put(&pool)
        .bearer_auth(&arm)
        .json(&body)
        .send()
        .await
        .expect("put");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let mut mcp_key = String::new();
    for _ in 0..200 {
        let r = client
            .post(pool.replace("?api-version", "/fetchMcpServerCredentials?api-version"))
            .bearer_auth(&arm)
            .send()
            .await
            .expect("fetch");
        if r.status() == 200 {
            mcp_key = r.json::<Value>().await.expect("json")["apiKey"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(mcp_key.len() >= 16, "an MCP API key: {mcp_key:?}");
    let dp = token("https://dynamicsessions.io/.default").await;
    let ep = {
        let v: Value = client
            .get(&pool)
            .bearer_auth(&arm)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        v["properties"]["poolManagementEndpoint"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for _ in 0..100 {
        let r = client
            .get(format!("{ep}/x?identifier=secret-user"))
            .bearer_auth(&dp)
            .send()
            .await
            .expect("dp");
        if r.status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();

    let text = std::fs::read(&log).expect("log");
    assert!(
        text.len() > 10_000,
        "a trace log was written ({} bytes)",
        text.len()
    );
    let mut all: Vec<&str> = secrets.to_vec();
    all.push(&mcp_key);
    all.push(defaults::CLIENT_SECRET);
    for s in &all {
        assert!(!contains(&text, s), "the log holds a secret value");
    }
    let mut db = Vec::new();
    for f in ["emulator.db", "emulator.db-wal"] {
        db.extend(std::fs::read(data.join(f)).unwrap_or_default());
    }
    assert!(db.len() > 4096);
    for s in &all[..4] {
        assert!(
            !contains(&db, s),
            "the database holds a secret value in plain text"
        );
    }
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data dir");
    let files = [
        "emulator.db",
        "secrets.key",
        "signing-key.pem",
        "ca-key.pem",
    ];
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    figures::report(
        "secrets::real_secrets_never_reach_logs_or_disk_in_plain_text",
        all.len(),
        0,
        &format!(
            "{} secret values (pool secrets, a registry password, an env secret, the MCP API key, the client secret) searched in a {} KiB trace log: 0 found; 4 in the database and its WAL ({} KiB): 0 found; data dir 0700, {} key and secret files 0600",
            all.len(),
            text.len() / 1024,
            db.len() / 1024,
            files.len()
        ),
    );
}

/// The data dir on a small file system (just above what `serve`'s start-up check asks for)
/// filled to the brim: a write is answered 507 with what
/// to do, reads and the health check go on, and once there is space again writes work.
/// Needs root (it mounts a tmpfs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_disk_full_is_reported_and_reads_keep_working() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).expect("mkdir");
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=300m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("mount");
    assert!(
        st.success(),
        "mounting a tmpfs needs root (run the tests as root, as CI does)"
    );
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let data = mnt.join("data");
    let emu = crate::support::process::EmulatorProcess::start(&data, true);
    let client = emu.client();
    let token = emu.token(&client).await;
    let rg = |name: &str| {
        format!(
            "/subscriptions/{}/resourcegroups/{name}?api-version=2021-04-01",
            defaults::SUBSCRIPTION_ID
        )
    };
    let (s, _) = emu
        .arm(
            &client,
            &token,
            Method::PUT,
            &rg("before"),
            Some(&json!({"location": "eastus"})),
        )
        .await;
    assert!(s.is_success(), "{s}");
    // Fill the file system.
    let filler = mnt.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", filler.display()))
        .stderr(Stdio::null())
        .status();
    let big = json!({"location": "eastus", "tags": {"pad": "x".repeat(200_000)}});
    let mut refused = None;
    for i in 0..20 {
        let (s, b) = emu
            .arm(
                &client,
                &token,
                Method::PUT,
                &rg(&format!("full{i}")),
                Some(&big),
            )
            .await;
        if !s.is_success() {
            refused = Some((s, b));
            break;
        }
    }
    let (s, b) = refused.expect("a write on a full disk was refused");
    assert_eq!(s.as_u16(), 507, "{b}");
    assert_eq!(b["error"]["code"], "InsufficientStorage", "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("full"),
        "{b}"
    );
    let (s, b) = emu
        .arm(&client, &token, Method::GET, &rg("before"), None)
        .await;
    assert_eq!(s.as_u16(), 200, "reads keep working: {b}");
    let h = client
        .get(format!("{}/health", emu.endpoint()))
        .send()
        .await
        .expect("health");
    assert_eq!(h.status(), 200);
    std::fs::remove_file(&filler).expect("free space");
    let (s, b) = emu
        .arm(
            &client,
            &token,
            Method::PUT,
            &rg("after"),
            Some(&json!({"location": "eastus"})),
        )
        .await;
    assert!(s.is_success(), "writes work again: {s} {b}");
    drop(emu);
    figures::report(
        "secrets::real_disk_full_is_reported_and_reads_keep_working",
        1,
        0,
        "data dir on a full file system: the write answered 507 InsufficientStorage saying the disk is full; reads and /health answered 200; writes worked again once space was freed",
    );
}
