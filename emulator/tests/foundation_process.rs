//! Tests of the real `sessions-emulator` binary and of HTTPS: the ready line, `env`,
//! SIGTERM shutdown, persistence across SIGKILL, and the server certificate chaining to
//! `ca.pem`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessions_emulator::defaults;

const BIN: &str = env!("CARGO_BIN_EXE_sessions-emulator");
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running emulator process, SIGKILLed on drop.
struct Emulator {
    child: Child,
    ready: Value,
}

impl Emulator {
    fn start(args: &[&str]) -> Emulator {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sessions-emulator");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no ready line within {READY_TIMEOUT:?}");
            }
        };
        let ready: Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ready line is not JSON ({e}): {line:?}");
            }
        };
        Emulator { child, ready }
    }

    fn endpoint(&self) -> String {
        self.ready["endpoint"]
            .as_str()
            .expect("endpoint")
            .to_string()
    }

    fn client(&self) -> reqwest::Client {
        let certs: Vec<reqwest::Certificate> = self.ready["caFile"]
            .as_str()
            .map(|ca| {
                let pem = std::fs::read(ca).expect("read ca.pem");
                vec![reqwest::Certificate::from_pem(&pem).expect("pem")]
            })
            .unwrap_or_default();
        reqwest::Client::builder()
            .tls_certs_only(certs)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    async fn token(&self, client: &reqwest::Client) -> String {
        let resp = client
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                self.endpoint(),
                self.ready["tenantId"].as_str().expect("tenant")
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_id",
                    self.ready["clientId"].as_str().expect("client"),
                ),
                (
                    "client_secret",
                    self.ready["clientSecret"].as_str().expect("secret"),
                ),
                ("scope", "https://management.azure.com/.default"),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.expect("json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn arm(
    client: &reqwest::Client,
    ep: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client
        .request(method, format!("{ep}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn data_dir_args(dir: &Path) -> Vec<String> {
    vec![
        "serve".into(),
        "--data-dir".into(),
        dir.display().to_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--backend".into(),
        "fake".into(),
    ]
}

/// Resources the restart test creates and expects back: (path with api-version, body).
/// Session pools can add their own entry here.
fn restart_resources() -> Vec<(String, Value)> {
    let sub = format!("/subscriptions/{}", defaults::SUBSCRIPTION_ID);
    vec![
        (format!("{sub}/resourceGroups/restart-rg?api-version=2021-04-01"), json!({"location": "eastus", "tags": {"a": "b"}})),
        (
            format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.App/managedEnvironments/restart-env?api-version=2026-07-01"),
            json!({"location": "eastus"}),
        ),
        (
            format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.OperationalInsights/workspaces/restart-logs?api-version=2023-09-01"),
            json!({"location": "eastus"}),
        ),
        (
            format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.App/managedEnvironments/restart-env/providers/Microsoft.Insights/diagnosticSettings/d1?api-version=2021-05-01-preview"),
            json!({"properties": {"workspaceId": format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.OperationalInsights/workspaces/restart-logs"), "logs": [{"category": "AppEnvSessionConsoleLogs", "enabled": true}]}}),
        ),
    ]
}

#[tokio::test]
async fn real_restart_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = data_dir_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let first = Emulator::start(&args);
    let client = first.client();
    let ep = first.endpoint();
    let token = first.token(&client).await;
    let mut created = Vec::new();
    for (path, body) in restart_resources() {
        let (s, b) = arm(&client, &ep, &token, Method::PUT, &path, Some(body)).await;
        assert!(s.is_success(), "PUT {path}: {s} {b}");
        created.push((path, b));
    }
    let ca_before = std::fs::read(dir.path().join("ca.pem")).expect("ca.pem");
    first.kill(); // SIGKILL: no chance to flush anything not yet durable.

    let second = Emulator::start(&args);
    assert_eq!(
        std::fs::read(dir.path().join("ca.pem")).expect("ca.pem"),
        ca_before,
        "the CA survives restarts"
    );
    let client = second.client();
    let ep = second.endpoint();
    // The signing key survives too: the old token is still valid.
    for (path, before) in &created {
        let (s, after) = arm(&client, &ep, &token, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path} after restart: {after}");
        assert_eq!(&after, before, "{path} changed across the restart");
    }
    // Seeded defaults are still there (and not re-seeded over changes).
    let rg = format!("{}?api-version=2021-04-01", defaults::resource_group_id());
    let (s, _) = arm(&client, &ep, &token, Method::GET, &rg, None).await;
    assert_eq!(s, StatusCode::OK);
    second.kill();
}

#[tokio::test]
async fn real_serve_ready_line_env_and_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = data_dir_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut emu = Emulator::start(&args);
    let ready = emu.ready.clone();
    for k in [
        "endpoint",
        "caFile",
        "tenantId",
        "clientId",
        "clientSecret",
        "subscriptionId",
        "resourceGroup",
        "environmentId",
        "workspaceId",
        "workspaceCustomerId",
    ] {
        assert!(ready[k].is_string(), "{k} missing in {ready}");
    }
    assert_eq!(ready["event"], "ready");
    assert!(emu.endpoint().starts_with("https://127.0.0.1:"));
    assert!(!emu.endpoint().ends_with(":0"));
    let ready_file = dir.path().join("ready.json");
    assert!(ready_file.exists());

    let out = Command::new(BIN)
        .args(["env", "--data-dir", &dir.path().display().to_string()])
        .output()
        .expect("run env");
    assert!(
        out.status.success(),
        "env failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("export ARM_ENDPOINT='{}'", emu.endpoint())),
        "{text}"
    );
    assert!(text.contains("export SSL_CERT_FILE='"), "{text}");

    let pid = emu.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = emu.child.wait().expect("wait");
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    assert!(!ready_file.exists(), "ready.json is removed on clean exit");

    // `env` without a running emulator explains what to do.
    let out = Command::new(BIN)
        .args(["env", "--data-dir", &dir.path().display().to_string()])
        .output()
        .expect("run env");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sessions-emulator serve"));
}

#[tokio::test]
async fn https_server_certificate_chains_to_ca_pem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = sessions_emulator::tls::setup(dir.path(), None).expect("tls setup");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let endpoint = format!("https://{addr}");
    let state = sessions_emulator::state::AppState::new(
        sessions_emulator::config::Config::in_memory(&endpoint),
    )
    .expect("state");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sessions_emulator::server::run(
        listener,
        state,
        Some(setup.server_config.clone()),
        async {
            let _ = rx.await;
        },
    ));
    let pem = std::fs::read(&setup.ca_file).expect("ca.pem");
    for host in [
        format!("https://{addr}"),
        format!("https://localhost:{}", addr.port()),
    ] {
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
            .build()
            .expect("client");
        let resp = client
            .get(format!("{host}/health"))
            .send()
            .await
            .expect("TLS request verified by ca.pem");
        assert_eq!(resp.status(), StatusCode::OK);
    }
    // Without the CA the certificate is not trusted.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only(Vec::new())
        .build()
        .expect("client");
    assert!(untrusting
        .get(format!("{endpoint}/health"))
        .send()
        .await
        .is_err());
    // A second setup reuses the CA.
    let again = sessions_emulator::tls::setup(dir.path(), None).expect("tls setup");
    assert_eq!(again.ca_pem, setup.ca_pem);
    let _ = tx.send(());
    let _ = server.await;
}
