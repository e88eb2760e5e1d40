//! `real_sdk_python`: the official Azure SDK for Python (azure-identity +
//! azure-mgmt-appcontainers, in the `.venv-sdk` venv made by `scripts/setup`) authenticates
//! against the emulator's token endpoint over HTTPS (trusting the generated `ca.pem`) and
//! creates, gets, lists, updates and deletes a session pool with LRO polling.
//!
//! The emulator is the built binary on `127.0.0.1:0` with a temp data dir and the fake
//! backend; it is killed (and the temp dir removed) when the test ends, pass or fail.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// Kills the emulator child when dropped.
struct Emulator {
    child: Child,
    ready: Value,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn start_emulator() -> Emulator {
    let dir = tempfile::tempdir().expect("temp data dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessions-emulator"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "fake",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sessions-emulator");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["event"] == "ready" {
                    let _ = tx.send(v);
                }
            }
        }
    });
    let mut emu = Emulator {
        child,
        ready: Value::Null,
        _dir: dir,
    };
    emu.ready = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the emulator prints its ready line within 60 s");
    emu
}

#[test]
fn real_sdk_python() {
    let root = workspace_root();
    let python = root.join(".venv-sdk/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (it creates the venv with azure-identity and azure-mgmt-appcontainers)",
        python.display()
    );
    let emu = start_emulator();
    let r = &emu.ready;
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let ca = s("caFile");
    assert!(!ca.is_empty(), "the HTTPS emulator reports its caFile: {r}");
    let out = Command::new(&python)
        .arg(root.join("emulator/tests/sdk/session_pool_crud.py"))
        .env("EMULATOR_ENDPOINT", s("endpoint"))
        .env("EMULATOR_TENANT_ID", s("tenantId"))
        .env("EMULATOR_CLIENT_ID", s("clientId"))
        .env("EMULATOR_CLIENT_SECRET", s("clientSecret"))
        .env("EMULATOR_SUBSCRIPTION_ID", s("subscriptionId"))
        .env("EMULATOR_RESOURCE_GROUP", s("resourceGroup"))
        .env("EMULATOR_ENVIRONMENT_ID", s("environmentId"))
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("SSL_CERT_FILE", &ca)
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
        .output()
        .expect("run the python SDK script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python SDK script failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("SDK OK"), "{stdout}");
}
