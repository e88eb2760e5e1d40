//! A new user's first five minutes, for real (QEMU microVMs under TCG here, the real
//! `terraform`, the release binaries `make run` builds):
//!
//! - `real_release_binary_alone_serves_a_session`: the release `sessions-emulator`, copied alone
//!   into an empty directory, starts `--in-memory` with a fresh image cache, has the sample
//!   image seeded, runs a pool whose session answers a request, stops on SIGTERM and leaves no
//!   QEMU behind. Nothing from the build tree is needed: the guest is built in.
//! - `real_readme_quickstart_verbatim`: every `sh` block of
//!   `docs/guides/emulator-quickstart.md` after the first (`make run`, which this test replaces
//!   by starting the same release binary on a free port) runs verbatim in one `bash`, from the
//!   repository root, with a fresh `HOME` (the guide's default data dir, Terraform CLI config
//!   and working directory all live there): `sessions-emulator env`, the provider with
//!   `dev_overrides`, `terraform apply` of `examples/quickstart`, a request with a new
//!   identifier answered by a session, `terraform destroy`. Then no QEMU may be left.
//!
//! Both first run `cargo build --release -p sessions-emulator --bin sessions-emulator` (what
//! `make run` builds; `make test` builds it before the tests, so here it finds nothing to do),
//! so they never test a stale binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{release_emulator, root, user_env};

/// How long the emulator may take to print its ready line.
const READY: Duration = Duration::from_secs(60);
/// How long a pool may take to provision under TCG on a busy 2-core machine.
const PROVISION: Duration = Duration::from_secs(300);

/// A running emulator process; SIGKILLed (with its QEMUs, by parent-death signal) on drop.
struct Emulator {
    child: Child,
    ready: Value,
    stderr: PathBuf,
}

impl Emulator {
    /// Starts `bin args...` with `env` changes, in `cwd`, and waits for the ready line.
    fn start(bin: &Path, args: &[&str], cwd: &Path, env: &[(&str, &Path)], log: &Path) -> Self {
        let mut cmd = Command::new(bin);
        cmd.args(args).current_dir(cwd);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("SESSIONS_") || k.starts_with("XDG_") {
                cmd.env_remove(&k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let stderr = std::fs::File::create(log).expect("emulator log file");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn sessions-emulator");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut emu = Emulator {
            child,
            ready: Value::Null,
            stderr: log.to_path_buf(),
        };
        let line = rx.recv_timeout(READY).unwrap_or_else(|_| {
            panic!(
                "no ready line within {READY:?}; stderr:\n{}",
                emu.log_tail()
            )
        });
        emu.ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the ready line is not JSON ({e}): {line}"));
        assert_eq!(emu.ready["event"], "ready", "{line}");
        emu
    }

    fn field(&self, k: &str) -> String {
        self.ready[k].as_str().unwrap_or_default().to_string()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// SIGTERM, then waits for a clean exit.
    fn terminate(&mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {}", self.pid());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "exit after SIGTERM: {status:?}; stderr:\n{}",
                    self.log_tail()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the emulator did not stop within 60 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// QEMU processes started by the emulator `pid` (their runtime dirs are named after it).
fn qemu_of(pid: u32) -> Vec<u32> {
    let marker = format!("sessions-vm/{pid}-");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let p: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let zombie = std::fs::read_to_string(e.path().join("stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true);
            (text.contains("qemu-system") && text.contains(&marker) && !zombie).then_some(p)
        })
        .collect()
}

/// Waits (bounded) until the emulator `pid` runs no QEMU.
fn assert_no_qemu_within(pid: u32, within: Duration, when: &str) {
    let deadline = Instant::now() + within;
    loop {
        let left = qemu_of(pid);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "QEMU processes still running {when}: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `curl` with `args`; returns the HTTP status and body.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("run curl (scripts/setup installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        code.trim().parse().unwrap_or(0),
        format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

fn token(emu: &Emulator, scope: &str) -> String {
    let ep = emu.field("endpoint");
    let (status, body) = curl(&[
        &format!("{ep}/{}/oauth2/v2.0/token", emu.field("tenantId")),
        "-d",
        "grant_type=client_credentials",
        "-d",
        &format!("client_id={}", emu.field("clientId")),
        "--data-urlencode",
        &format!("client_secret={}", emu.field("clientSecret")),
        "--data-urlencode",
        &format!("scope={scope}"),
    ]);
    assert_eq!(status, 200, "token: {body}");
    let v: Value = serde_json::from_str(&body).expect("token JSON");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

#[test]
fn real_release_binary_alone_serves_a_session() {
    let bin = release_emulator();
    let tmp = tempfile::tempdir().expect("tempdir");
    let alone = tmp.path().join("alone");
    std::fs::create_dir(&alone).expect("mkdir");
    let copy = alone.join("sessions-emulator");
    std::fs::copy(&bin, &copy).expect("copy the binary");
    let cache = tmp.path().join("cache");
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).expect("mkdir home");

    let mut emu = Emulator::start(
        &copy,
        &["serve", "--in-memory", "--http", "--listen", "127.0.0.1:0"],
        &alone,
        &[("XDG_CACHE_HOME", &cache), ("HOME", &home)],
        &tmp.path().join("emulator.log"),
    );
    let ep = emu.field("endpoint");
    let arm = token(&emu, "https://management.azure.com/.default");
    let pool = format!(
        "{ep}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/alone?api-version=2025-10-02-preview",
        emu.field("subscriptionId"),
        emu.field("resourceGroup")
    );
    let body = json!({
        "location": "eastus",
        "properties": {
            "environmentId": emu.field("environmentId"),
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {
                "containers": [{"name": "sample", "image": "localhost/sample-session:latest",
                                "resources": {"cpu": 0.25, "memory": "0.5Gi"}}],
                "ingress": {"targetPort": 8080}
            }
        }
    })
    .to_string();
    let auth = format!("Authorization: Bearer {arm}");
    let (status, text) = curl(&[
        "-X",
        "PUT",
        &pool,
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "--data",
        &body,
    ]);
    assert!(status == 200 || status == 201, "PUT pool: {status} {text}");

    let deadline = Instant::now() + PROVISION;
    let endpoint = loop {
        let (status, text) = curl(&[&pool, "-H", &auth]);
        assert_eq!(status, 200, "GET pool: {text}");
        let v: Value = serde_json::from_str(&text).expect("pool JSON");
        match v["properties"]["provisioningState"].as_str() {
            Some("Succeeded") => {
                break v["properties"]["poolManagementEndpoint"]
                    .as_str()
                    .expect("poolManagementEndpoint")
                    .to_string()
            }
            Some("Failed") => panic!("the pool failed: {v}\nstderr:\n{}", emu.log_tail()),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the pool did not provision within {PROVISION:?}: {v}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    let data = token(&emu, "https://dynamicsessions.io/.default");
    let (status, text) = curl(&[
        &format!("{endpoint}/hello?identifier=alone-user-1"),
        "-H",
        &format!("Authorization: Bearer {data}"),
    ]);
    assert_eq!(status, 200, "a session answers: {text}");
    let echo: Value = serde_json::from_str(&text).expect("the sample session's JSON echo");
    assert_eq!(echo["path"], "/hello", "{echo}");
    let kernel = echo["kernel"].as_str().unwrap_or_default();
    assert!(
        !kernel.is_empty() && kernel != "fake" && kernel != "unknown",
        "answered by a microVM (guest kernel release), not {kernel:?}: {echo}"
    );

    let pid = emu.pid();
    assert!(!qemu_of(pid).is_empty(), "the session is a QEMU microVM");
    emu.terminate();
    assert_no_qemu_within(pid, Duration::from_secs(10), "after SIGTERM");
    let names: Vec<_> = std::fs::read_dir(&alone)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["sessions-emulator"],
        "the binary needs and writes nothing beside itself"
    );
}

/// The `sh` blocks of a Markdown file, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn sh_blocks_are_found_in_order() {
    let md = "x\n```sh\na\nb\n```\ntext\n```json\n{}\n```\n```sh\nc\n```\n";
    assert_eq!(sh_blocks(md), ["a\nb\n", "c\n"]);
}

#[test]
fn real_readme_quickstart_verbatim() {
    let guide_path = root().join("docs/guides/emulator-quickstart.md");
    let guide = std::fs::read_to_string(&guide_path).expect("the quickstart guide");
    let blocks = sh_blocks(&guide);
    assert!(
        blocks.len() >= 4,
        "the guide has its steps as sh blocks: {blocks:?}"
    );
    assert_eq!(
        blocks[0].trim(),
        "make run",
        "the guide starts the emulator with `make run` (this test starts the same binary itself)"
    );

    let bin = release_emulator();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).expect("mkdir home");
    // `make run`: the release emulator with its default data dir, on a free port instead of
    // 7443 so that it cannot collide with anything else on this machine.
    let data_dir = home.join(".local/share/sessions-emulator");
    let mut emu = Emulator::start(
        &bin,
        &["serve", "--listen", "127.0.0.1:0"],
        &root(),
        &[("HOME", &home)],
        &tmp.path().join("emulator.log"),
    );
    assert!(data_dir.join("ready.json").is_file(), "default data dir");

    let script = format!("set -euo pipefail\nset -x\n{}", blocks[1..].concat());
    let real_home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home.join(".cargo"));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home.join(".rustup"));
    let mut cmd = Command::new("bash");
    user_env(&mut cmd);
    cmd.arg("-c").arg(&script).current_dir(root());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let strip = ["TF_", "SESSIONS_", "XDG_", "ARM_", "AZURE_"]
            .iter()
            .any(|p| k.starts_with(p))
            || ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"].contains(&k.as_str());
        if strip {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", &home)
        .env("CARGO_HOME", &cargo_home)
        .env("RUSTUP_HOME", &rustup_home)
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null());
    let started = Instant::now();
    let out = cmd.output().expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the guide's steps failed ({}) after {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- emulator\n{}",
        out.status,
        started.elapsed(),
        emu.log_tail()
    );
    let context = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(
        stdout.contains("Apply complete! Resources: 1 added"),
        "terraform apply created the pool\n{context}"
    );
    let echo = stdout
        .lines()
        .find_map(|l| {
            serde_json::from_str::<Value>(l.trim())
                .ok()
                .filter(|v| v["kernel"].is_string())
        })
        .unwrap_or_else(|| {
            panic!("a session answered the guide's request with its JSON echo\n{context}")
        });
    let kernel = echo["kernel"].as_str().unwrap_or_default();
    assert!(
        kernel != "fake" && kernel != "unknown" && !kernel.is_empty(),
        "answered by a microVM: {echo}"
    );
    assert!(
        stdout.contains("Destroy complete! Resources: 1 destroyed"),
        "terraform destroy deleted the pool\n{context}"
    );
    let pid = emu.pid();
    assert_no_qemu_within(pid, Duration::from_secs(30), "after terraform destroy");
    emu.terminate();
    assert!(
        !data_dir.join("ready.json").exists(),
        "clean exit removes ready.json"
    );
}
