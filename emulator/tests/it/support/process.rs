//! The built `sessions-emulator` binary as a child process: started with any arguments, its
//! first stdout line must be the JSON ready line; SIGKILLed and reaped when dropped so no
//! process outlives a test. One harness for every test that runs the real binary.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sessions-emulator");
/// Longest wait for the ready line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running emulator process and its ready line.
pub struct EmulatorProcess {
    /// The process (for signals and exit status).
    pub child: Child,
    /// The parsed ready line (`endpoint`, `caFile`, `tenantId`, ...).
    pub ready: Value,
}

/// `serve --listen 127.0.0.1:0 --backend fake --data-dir {dir}` (plus `--http` when `http`).
pub fn serve_args(data_dir: &Path, http: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--backend",
        "fake",
        "--data-dir",
    ]
    .map(String::from)
    .into();
    args.push(data_dir.display().to_string());
    if http {
        args.push("--http".into());
    }
    args
}

impl EmulatorProcess {
    /// Starts the fake-backend emulator on `data_dir` (see [`serve_args`]).
    pub fn start(data_dir: &Path, http: bool) -> Self {
        Self::start_with(serve_args(data_dir, http))
    }

    /// Starts the binary with `args` and waits up to [`READY_TIMEOUT`] for its first stdout
    /// line, which must be the JSON ready line.
    pub fn start_with<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sessions-emulator");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let fail = |child: &mut Child, why: String| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{why}");
        };
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(l) => l,
            Err(_) => fail(
                &mut child,
                format!("no ready line within {READY_TIMEOUT:?}"),
            ),
        };
        let ready: Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => fail(
                &mut child,
                format!("ready line is not JSON ({e}): {line:?}"),
            ),
        };
        if ready["event"] != "ready" {
            fail(
                &mut child,
                format!("the first stdout line is not the ready line: {line:?}"),
            );
        }
        EmulatorProcess { child, ready }
    }

    /// A string field of the ready line (empty when absent).
    pub fn field(&self, key: &str) -> String {
        self.ready[key].as_str().unwrap_or_default().to_string()
    }

    /// The endpoint of the ready line.
    pub fn endpoint(&self) -> String {
        self.ready["endpoint"]
            .as_str()
            .expect("endpoint")
            .to_string()
    }

    /// A client trusting the emulator's CA (when it serves HTTPS) and nothing else.
    pub fn client(&self) -> reqwest::Client {
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

    /// An ARM token from the emulator's token endpoint (client credentials of the ready line).
    pub async fn token(&self, client: &reqwest::Client) -> String {
        self.token_for(client, "https://management.azure.com/.default")
            .await
    }

    /// A token for `scope` (`https://dynamicsessions.io/.default` for the data plane).
    pub async fn token_for(&self, client: &reqwest::Client, scope: &str) -> String {
        let resp = client
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                self.endpoint(),
                self.field("tenantId")
            ))
            .form(&[
                ("grant_type", "client_credentials".to_string()),
                ("client_id", self.field("clientId")),
                ("client_secret", self.field("clientSecret")),
                ("scope", scope.to_string()),
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

    /// Sends an ARM request with `token`; returns the status and the JSON body (`Null` when
    /// empty or not JSON).
    pub async fn arm(
        &self,
        client: &reqwest::Client,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = client
            .request(method, format!("{}{path}", self.endpoint()))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// PUTs session pool `name` (`body`, api-version 2026-07-01) in the seeded resource group
    /// and waits up to `limit` for `Succeeded`; returns its `poolManagementEndpoint`.
    pub async fn create_pool(
        &self,
        client: &reqwest::Client,
        name: &str,
        body: &Value,
        limit: Duration,
    ) -> String {
        let path = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/{name}?api-version=2026-07-01",
            self.field("subscriptionId"),
            self.field("resourceGroup")
        );
        let token = self.token(client).await;
        let (s, b) = self
            .arm(client, &token, Method::PUT, &path, Some(body))
            .await;
        assert!(
            s == StatusCode::CREATED || s == StatusCode::OK,
            "PUT pool {name}: {s} {b}"
        );
        let deadline = std::time::Instant::now() + limit;
        loop {
            let (_, b) = self.arm(client, &token, Method::GET, &path, None).await;
            match b["properties"]["provisioningState"].as_str() {
                Some("Succeeded") => {
                    return b["properties"]["poolManagementEndpoint"]
                        .as_str()
                        .expect("poolManagementEndpoint")
                        .to_string()
                }
                Some("Failed") => panic!("pool {name} failed: {b}"),
                _ => {}
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pool {name} did not provision within {limit:?}: {b}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILLs the process and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
