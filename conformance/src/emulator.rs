//! The emulator the harness runs against: one it starts itself ([`Emulator::start`]) or one
//! already running ([`Ready::from_data_dir`], [`Ready::from_env_output`]).
//!
//! [`Emulator::start`] runs `sessions-emulator serve --listen 127.0.0.1:0 --data-dir TMP
//! --backend qemu|fake` from a dedicated thread with a parent-death signal (so the emulator,
//! and with it every QEMU it started, dies with the harness even on SIGKILL), reads its one JSON
//! ready line ([`Ready`]), and on [`Emulator::stop`] (or drop) sends SIGTERM, waits, then
//! SIGKILL, and removes the temporary data dir. The emulator's stderr goes to a file beside the
//! data dir; [`Emulator::log_tail`] shows its end in error messages.
//!
//! The binary is found by [`find_binary`]: `--emulator-bin`, else `sessions-emulator` next to
//! our own executable, else the workspace's `target/release` or `target/debug`, else `PATH`.
//!
//! [`Client`] is a small HTTP client trusting the emulator's CA that fetches client-credential
//! tokens for the seeded service principal.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The emulator's executable name.
pub const BINARY: &str = "sessions-emulator";
/// The file in a data dir holding the running emulator's ready line.
pub const READY_FILE: &str = "ready.json";
/// How long a started emulator may take to print its ready line (a fresh data dir seeds the
/// sample image first).
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long [`Emulator::stop`] waits after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(20);

/// Audience scopes of the emulator's token endpoint.
pub mod scope {
    /// ARM.
    pub const ARM: &str = "https://management.azure.com/.default";
    /// The pool data plane.
    pub const DATA_PLANE: &str = "https://dynamicsessions.io/.default";
    /// The Log Analytics query API.
    pub const LOG_ANALYTICS: &str = "https://api.loganalytics.io/.default";
}

/// Why the emulator could not be found, started, read or reached.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// No binary anywhere we looked.
    #[error("cannot find the `sessions-emulator` binary (looked in: {looked}); build it with `cargo build --release -p sessions-emulator` or pass --emulator-bin PATH")]
    NotFound {
        /// Where we looked.
        looked: String,
    },
    /// `--emulator-bin` names no file.
    #[error("--emulator-bin {0} is not a file; build it with `cargo build --release -p sessions-emulator`")]
    BadBinary(PathBuf),
    /// Spawning failed.
    #[error("cannot run {bin}: {source}")]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The process ended or stayed silent before its ready line.
    #[error("the emulator did not become ready: {why}; its log ends with:\n{log}")]
    NotReady {
        /// What happened.
        why: String,
        /// The end of its stderr.
        log: String,
    },
    /// A ready line (or ready.json, or `env` output) is not what the emulator prints.
    #[error("{what} is not an emulator ready line: {why}")]
    BadReady {
        /// Where it came from.
        what: String,
        /// What is wrong.
        why: String,
    },
    /// No running emulator where the caller said.
    #[error("no running emulator found: {path} is missing or unreadable ({source}); start one with `sessions-emulator serve --data-dir DIR` or pass --endpoint with the values of `sessions-emulator env`")]
    NoReadyFile {
        /// The ready file looked at.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// HTTP trouble talking to the emulator.
    #[error("{0}")]
    Http(String),
    /// A temporary directory or log file could not be made.
    #[error("cannot prepare a temporary data dir: {0}")]
    TempDir(std::io::Error),
}

/// The values of a ready line: where the emulator listens and the seeded credentials and
/// resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// `https://127.0.0.1:PORT` (or `http://` with `--http`), without a trailing slash.
    pub endpoint: String,
    /// The CA to trust (absent with `--http`).
    pub ca_file: Option<PathBuf>,
    /// Tenant of the seeded service principal.
    pub tenant_id: String,
    /// Its client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The seeded subscription.
    pub subscription_id: String,
    /// The seeded resource group.
    pub resource_group: String,
    /// ARM id of the seeded managed environment.
    pub environment_id: String,
    /// ARM id of the seeded Log Analytics workspace.
    pub workspace_id: String,
    /// The workspace's customerId (for the query API).
    pub workspace_customer_id: Option<String>,
}

impl Ready {
    /// Parses the JSON ready line (`{"event":"ready",...}`), from stdout or `ready.json`.
    pub fn parse(line: &str, what: &str) -> Result<Self, EmulatorError> {
        let bad = |why: String| EmulatorError::BadReady {
            what: what.to_string(),
            why,
        };
        let v: Value = serde_json::from_str(line.trim()).map_err(|e| bad(format!("{e}")))?;
        if v["event"] != "ready" {
            return Err(bad("`event` is not \"ready\"".into()));
        }
        let field = |k: &str| -> Result<String, EmulatorError> {
            v[k].as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| bad(format!("`{k}` is missing")))
        };
        Ok(Ready {
            endpoint: field("endpoint")?.trim_end_matches('/').to_string(),
            ca_file: v["caFile"].as_str().map(PathBuf::from),
            tenant_id: field("tenantId")?,
            client_id: field("clientId")?,
            client_secret: field("clientSecret")?,
            subscription_id: field("subscriptionId")?,
            resource_group: field("resourceGroup")?,
            environment_id: field("environmentId")?,
            workspace_id: field("workspaceId")?,
            workspace_customer_id: v["workspaceCustomerId"].as_str().map(str::to_string),
        })
    }

    /// Reads `{data_dir}/ready.json` of a running emulator.
    pub fn from_data_dir(data_dir: &Path) -> Result<Self, EmulatorError> {
        let path = data_dir.join(READY_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| EmulatorError::NoReadyFile {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Builds the values from `sessions-emulator env` output (`export K='v'` lines) or from
    /// plain `K=V` pairs (e.g. the process environment). Needs `ARM_ENDPOINT`, `ARM_TENANT_ID`,
    /// `ARM_CLIENT_ID`, `ARM_CLIENT_SECRET`, `ARM_SUBSCRIPTION_ID`; the resource group,
    /// environment and workspace default to the seeded ones.
    pub fn from_env_output(text: &str) -> Result<Self, EmulatorError> {
        Self::from_vars(&parse_exports(text))
    }

    /// Same as [`Ready::from_env_output`], from a map of variables.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self, EmulatorError> {
        let get = |k: &str| -> Result<String, EmulatorError> {
            vars.get(k)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| EmulatorError::BadReady {
                    what: "the environment".into(),
                    why: format!("{k} is not set; run `eval \"$(sessions-emulator env)\"` first"),
                })
        };
        let subscription_id = get("ARM_SUBSCRIPTION_ID")?;
        let resource_group = vars
            .get("SESSIONS_RESOURCE_GROUP")
            .cloned()
            .unwrap_or_else(|| "sessions-dev".into());
        let environment_id = vars.get("SESSIONS_ENVIRONMENT_ID").cloned().unwrap_or_else(|| {
            format!("/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.App/managedEnvironments/sessions-env")
        });
        let workspace_id = vars.get("SESSIONS_WORKSPACE_ID").cloned().unwrap_or_else(|| {
            format!("/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.OperationalInsights/workspaces/sessions-logs")
        });
        Ok(Ready {
            endpoint: get("ARM_ENDPOINT")?.trim_end_matches('/').to_string(),
            ca_file: vars
                .get("ARM_CA_CERTIFICATE_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            tenant_id: get("ARM_TENANT_ID")?,
            client_id: get("ARM_CLIENT_ID")?,
            client_secret: get("ARM_CLIENT_SECRET")?,
            subscription_id,
            resource_group,
            environment_id,
            workspace_id,
            workspace_customer_id: vars.get("SESSIONS_WORKSPACE_CUSTOMER_ID").cloned(),
        })
    }

    /// The variables `sessions-emulator env` prints (Terraform provider `ARM_*`, Azure SDK
    /// `AZURE_*`, CA bundles), for child processes such as `terraform`.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("ARM_ENDPOINT", self.endpoint.clone()),
            ("ARM_AUTHORITY_HOST", self.endpoint.clone()),
            ("ARM_TENANT_ID", self.tenant_id.clone()),
            ("ARM_CLIENT_ID", self.client_id.clone()),
            ("ARM_CLIENT_SECRET", self.client_secret.clone()),
            ("ARM_SUBSCRIPTION_ID", self.subscription_id.clone()),
            ("AZURE_AUTHORITY_HOST", self.endpoint.clone()),
            ("AZURE_TENANT_ID", self.tenant_id.clone()),
            ("AZURE_CLIENT_ID", self.client_id.clone()),
            ("AZURE_CLIENT_SECRET", self.client_secret.clone()),
            ("AZURE_SUBSCRIPTION_ID", self.subscription_id.clone()),
        ];
        if let Some(ca) = &self.ca_file {
            let ca = ca.display().to_string();
            v.push(("ARM_CA_CERTIFICATE_FILE", ca.clone()));
            v.push(("REQUESTS_CA_BUNDLE", ca.clone()));
            v.push(("SSL_CERT_FILE", ca));
        }
        v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// `{endpoint}{path}` for an ARM path (`/subscriptions/...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }
}

/// Parses `export K='v'` / `K=v` lines (single- or double-quoted, or bare values).
pub fn parse_exports(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        out.insert(k.to_string(), unquote(v));
    }
    out
}

/// Undoes POSIX shell quoting of one word: `'a'\''b'`, `"a"`, or bare.
fn unquote(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                out.push(n);
                            }
                        }
                        c => out.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Finds the emulator binary: `explicit` (`--emulator-bin`), else next to our own executable
/// (and its parent, for test binaries in `target/*/deps`), else the workspace's
/// `target/release` then `target/debug` (`CARGO_TARGET_DIR` honoured), else `PATH`.
pub fn find_binary(explicit: Option<&Path>) -> Result<PathBuf, EmulatorError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(EmulatorError::BadBinary(p.to_path_buf()))
        };
    }
    let candidates = candidate_paths();
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let mut looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    looked.push("PATH".into());
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(BINARY);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(EmulatorError::NotFound {
        looked: looked.join(", "),
    })
}

fn candidate_paths() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(me) = std::env::current_exe() {
        if let Some(dir) = me.parent() {
            out.push(dir.join(BINARY));
            if dir.file_name().is_some_and(|n| n == "deps") {
                if let Some(up) = dir.parent() {
                    out.push(up.join(BINARY));
                }
            }
        }
    }
    let target = workspace_target_dir();
    out.push(target.join("release").join(BINARY));
    out.push(target.join("debug").join(BINARY));
    out
}

/// The target dir of the workspace this harness was built in (`CARGO_TARGET_DIR`, relative to
/// the workspace when not absolute, else `target/`): where a source checkout's binaries are.
pub(crate) fn workspace_target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| {
            if d.is_absolute() {
                d
            } else {
                workspace.join(d)
            }
        })
        .unwrap_or_else(|| workspace.join("target"))
}

/// Session backend of a started emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// Every session a QEMU microVM.
    #[default]
    Qemu,
    /// In-process sessions that behave like the sample image.
    Fake,
}

impl Backend {
    fn flag(self) -> &'static str {
        match self {
            Backend::Qemu => "qemu",
            Backend::Fake => "fake",
        }
    }
}

/// How to start an emulator.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// `--emulator-bin`; found by [`find_binary`] when absent.
    pub bin: Option<PathBuf>,
    /// `--backend`.
    pub backend: Backend,
    /// Serve plain HTTP (`--http`).
    pub http: bool,
    /// `--time-scale` (every session timer multiplied by it).
    pub time_scale: Option<f64>,
    /// More `serve` flags.
    pub extra_args: Vec<String>,
}

/// An emulator this process started; stopped (SIGTERM, then SIGKILL) and its data dir removed
/// on [`Emulator::stop`] or drop.
#[derive(Debug)]
pub struct Emulator {
    ready: Ready,
    bin: PathBuf,
    pid: i32,
    exited: mpsc::Receiver<std::io::Result<ExitStatus>>,
    status: Option<ExitStatus>,
    data_dir: PathBuf,
    log: PathBuf,
    // Last: removed after the process is gone.
    tmp: Option<tempfile::TempDir>,
}

impl Emulator {
    /// Starts an emulator on a free loopback port with a fresh temporary data dir and waits
    /// for its ready line.
    pub async fn start(opts: StartOptions) -> Result<Self, EmulatorError> {
        tokio::task::spawn_blocking(move || Self::start_blocking(opts))
            .await
            .map_err(|e| EmulatorError::NotReady {
                why: format!("the start-up task failed: {e}"),
                log: String::new(),
            })?
    }

    /// [`Emulator::start`] for synchronous callers.
    pub fn start_blocking(opts: StartOptions) -> Result<Self, EmulatorError> {
        let bin = find_binary(opts.bin.as_deref())?;
        let tmp = tempfile::Builder::new()
            .prefix("sessions-conformance-")
            .tempdir()
            .map_err(EmulatorError::TempDir)?;
        let data_dir = tmp.path().join("data");
        let log = tmp.path().join("emulator.log");
        let log_file = std::fs::File::create(&log).map_err(EmulatorError::TempDir)?;

        let mut cmd = Command::new(&bin);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--backend")
            .arg(opts.backend.flag());
        if opts.http {
            cmd.arg("--http");
        }
        if let Some(f) = opts.time_scale {
            cmd.arg("--time-scale").arg(f.to_string());
        }
        cmd.args(&opts.extra_args);
        for k in ["SESSIONS_EMULATOR_LISTEN", "SESSIONS_EMULATOR_DATA_DIR"] {
            cmd.env_remove(k);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }

        // The parent-death signal fires when the *thread* that forked ends, so the child is
        // spawned and waited for by a thread of its own that lives exactly as long as it.
        let (spawned_tx, spawned_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        let bin2 = bin.clone();
        std::thread::Builder::new()
            .name("sessions-emulator-child".into())
            .spawn(move || match cmd.spawn() {
                Err(source) => {
                    let _ = spawned_tx.send(Err(EmulatorError::Spawn { bin: bin2, source }));
                }
                Ok(mut child) => {
                    let stdout = child.stdout.take();
                    let _ = spawned_tx.send(Ok((child.id() as i32, stdout)));
                    let _ = exit_tx.send(child.wait());
                }
            })
            .map_err(|e| EmulatorError::Spawn {
                bin: bin.clone(),
                source: e,
            })?;
        let (pid, stdout) = spawned_rx.recv().map_err(|_| EmulatorError::NotReady {
            why: "the spawning thread died".into(),
            log: String::new(),
        })??;

        let mut emu = Emulator {
            ready: Ready {
                endpoint: String::new(),
                ca_file: None,
                tenant_id: String::new(),
                client_id: String::new(),
                client_secret: String::new(),
                subscription_id: String::new(),
                resource_group: String::new(),
                environment_id: String::new(),
                workspace_id: String::new(),
                workspace_customer_id: None,
            },
            bin,
            pid,
            exited: exit_rx,
            status: None,
            data_dir,
            log,
            tmp: Some(tmp),
        };

        let (line_tx, line_rx) = mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let _ = line_tx.send(first);
                // Drain the rest so the emulator never blocks on a full pipe.
                let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
            });
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match line_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if !line.trim().is_empty() => {
                    emu.ready = Ready::parse(&line, "the emulator's first stdout line")?;
                    return Ok(emu);
                }
                Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = emu.wait_exit(Duration::from_secs(5));
                    return Err(EmulatorError::NotReady {
                        why: format!(
                            "it exited before printing its ready line ({})",
                            status
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "still running".into())
                        ),
                        log: emu.log_tail(30),
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(s) = emu.try_status() {
                        return Err(EmulatorError::NotReady {
                            why: format!("it exited ({s})"),
                            log: emu.log_tail(30),
                        });
                    }
                    if Instant::now() >= deadline {
                        return Err(EmulatorError::NotReady {
                            why: format!("no ready line within {} s", READY_TIMEOUT.as_secs()),
                            log: emu.log_tail(30),
                        });
                    }
                }
            }
        }
    }

    /// The ready line's values.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// The binary that runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The emulator's (temporary) data dir: `sessions-emulator image load ... --data-dir` and
    /// `sessions-emulator env --data-dir` work on it while it runs.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// The last `n` lines of the emulator's stderr.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Ok(s)) = self.exited.try_recv() {
                self.status = Some(s);
            }
        }
        self.status
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            match self.exited.recv_timeout(timeout) {
                Ok(Ok(s)) => self.status = Some(s),
                Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        self.status
    }

    fn signal(&self, sig: i32) {
        if self.status.is_none() {
            // SAFETY: kill(2) on the pid of our own child, which the waiting thread has not
            // reaped yet (status is None).
            unsafe {
                libc::kill(self.pid, sig);
            }
        }
    }

    /// SIGTERM, up to [`STOP_GRACE`] for a clean exit, then SIGKILL; removes the data dir.
    /// Returns the exit status (`None` if it had to be killed).
    pub async fn stop(mut self) -> Option<ExitStatus> {
        tokio::task::spawn_blocking(move || self.stop_blocking())
            .await
            .ok()
            .flatten()
    }

    /// [`Emulator::stop`] for synchronous callers.
    pub fn stop_blocking(&mut self) -> Option<ExitStatus> {
        if self.try_status().is_some() {
            self.tmp.take();
            return self.status;
        }
        self.signal(libc::SIGTERM);
        let clean = self.wait_exit(STOP_GRACE);
        if clean.is_none() {
            self.signal(libc::SIGKILL);
            self.wait_exit(Duration::from_secs(10));
        }
        self.tmp.take();
        clean
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            self.signal(libc::SIGKILL);
            self.wait_exit(Duration::from_secs(10));
        }
        self.tmp.take();
    }
}

/// An HTTP client for one emulator: trusts its CA, fetches tokens for the seeded principal.
#[derive(Debug, Clone)]
pub struct Client {
    /// The emulator.
    pub ready: Ready,
    /// The underlying client (CA trusted; 120 s timeout per request).
    pub http: reqwest::Client,
}

impl Client {
    /// A client for `ready`.
    pub fn new(ready: &Ready) -> Result<Self, EmulatorError> {
        install_crypto_provider();
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10));
        if let Some(ca) = &ready.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                EmulatorError::Http(format!(
                    "cannot read the emulator's CA {}: {e}",
                    ca.display()
                ))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                EmulatorError::Http(format!("{} is not a PEM certificate: {e}", ca.display()))
            })?;
            b = b.add_root_certificate(cert);
        }
        let http = b
            .build()
            .map_err(|e| EmulatorError::Http(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client {
            ready: ready.clone(),
            http,
        })
    }

    /// A client-credentials token for `scope` (see [`scope`]).
    pub async fn token(&self, scope: &str) -> Result<String, EmulatorError> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.ready.endpoint, self.ready.tenant_id
        );
        let resp = self
            .http
            .post(&url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.ready.client_id.as_str()),
                ("client_secret", self.ready.client_secret.as_str()),
                ("scope", scope),
            ])
            .send()
            .await
            .map_err(|e| EmulatorError::Http(format!("POST {url}: {e}")))?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| {
            EmulatorError::Http(format!("POST {url}: {status}, body not JSON: {e}"))
        })?;
        body["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                EmulatorError::Http(format!("POST {url}: {status} without a token: {body}"))
            })
    }

    /// `GET {endpoint}/health` answers 2xx.
    pub async fn healthy(&self) -> bool {
        self.http
            .get(self.ready.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

/// Installs rustls' ring provider (reqwest's rustls backend needs one process-wide).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"event":"ready","endpoint":"https://127.0.0.1:7443/","caFile":"/d/ca.pem","tenantId":"t","clientId":"c","clientSecret":"s","subscriptionId":"sub","resourceGroup":"rg","environmentId":"/e","workspaceId":"/w","workspaceCustomerId":"cust"}"#;

    #[test]
    fn parses_the_ready_line() {
        let r = Ready::parse(LINE, "x").unwrap();
        assert_eq!(r.endpoint, "https://127.0.0.1:7443");
        assert_eq!(r.ca_file.as_deref(), Some(Path::new("/d/ca.pem")));
        assert_eq!(r.workspace_customer_id.as_deref(), Some("cust"));
        assert_eq!(r.url("/health"), "https://127.0.0.1:7443/health");
    }

    #[test]
    fn refuses_what_is_not_a_ready_line() {
        let e = Ready::parse(r#"{"event":"other"}"#, "stdout").unwrap_err();
        assert!(
            e.to_string()
                .contains("stdout is not an emulator ready line"),
            "{e}"
        );
        let e = Ready::parse(r#"{"event":"ready","endpoint":"x"}"#, "f").unwrap_err();
        assert!(e.to_string().contains("`tenantId` is missing"), "{e}");
        assert!(Ready::parse("not json", "f").is_err());
    }

    #[test]
    fn parses_env_output_round_trip() {
        let r = Ready::parse(LINE, "x").unwrap();
        let text: String = r
            .env_vars()
            .into_iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
            .collect();
        let back = Ready::from_env_output(&text).unwrap();
        assert_eq!(back.endpoint, r.endpoint);
        assert_eq!(back.ca_file, r.ca_file);
        assert_eq!(back.client_secret, "s");
        assert_eq!(back.resource_group, "sessions-dev");
        assert!(back
            .environment_id
            .ends_with("/managedEnvironments/sessions-env"));
    }

    #[test]
    fn env_output_names_what_is_missing() {
        let e = Ready::from_env_output("export ARM_ENDPOINT='https://x'\n").unwrap_err();
        assert!(e.to_string().contains("_ID is not set"), "{e}");
    }

    #[test]
    fn unquotes_shell_words() {
        assert_eq!(unquote("'it'\\''s'"), "it's");
        assert_eq!(unquote("\"a\\\"b\""), "a\"b");
        assert_eq!(unquote("bare"), "bare");
        let m = parse_exports("# c\nexport A='1'\nB=2\nnot a line\n");
        assert_eq!(m.get("A").map(String::as_str), Some("1"));
        assert_eq!(m.get("B").map(String::as_str), Some("2"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn explicit_binary_must_exist() {
        let e = find_binary(Some(Path::new("/nonexistent/sessions-emulator"))).unwrap_err();
        assert!(
            e.to_string()
                .contains("cargo build --release -p sessions-emulator"),
            "{e}"
        );
    }

    #[test]
    fn a_binary_that_exits_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("sessions-emulator");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'cannot start: no qemu' >&2\nexit 3\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = Emulator::start_blocking(StartOptions {
            bin: Some(fake),
            ..Default::default()
        })
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("exit"), "{msg}");
        assert!(msg.contains("cannot start: no qemu"), "{msg}");
    }
}
