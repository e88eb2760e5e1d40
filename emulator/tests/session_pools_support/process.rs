//! The built `sessions-emulator` binary as a child process on `127.0.0.1:0` (fake backend),
//! killed and reaped when dropped so no process outlives a test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running emulator process and its ready line.
pub struct EmulatorProcess {
    child: Child,
    /// The parsed ready line (`endpoint`, `caFile`, `tenantId`, ...).
    pub ready: Value,
}

impl EmulatorProcess {
    /// Starts `sessions-emulator serve` on `data_dir` (`--http` when `http`) and waits up to
    /// 60 s for its ready line.
    pub fn start(data_dir: &Path, http: bool) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessions-emulator"));
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "fake",
            "--data-dir",
        ])
        .arg(data_dir);
        if http {
            cmd.arg("--http");
        }
        let mut child = cmd
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
        let mut p = EmulatorProcess {
            child,
            ready: Value::Null,
        };
        p.ready = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the emulator prints its ready line within 60 s");
        p
    }

    /// A string field of the ready line.
    pub fn field(&self, key: &str) -> String {
        self.ready[key].as_str().unwrap_or_default().to_string()
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
