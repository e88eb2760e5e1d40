//! Starting and ending QEMU processes so that none outlives us.
//!
//! Every QEMU runs in its own process group with `PR_SET_PDEATHSIG=SIGKILL`. The parent-death
//! signal fires when the *thread* that forked exits, so all forks happen on one spawner thread
//! that lives as long as the process. A waiter thread per VM reaps it and publishes the exit.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::watch;

use crate::vm::error::{BackendError, Result};

type SpawnRequest = (Command, std_mpsc::Sender<std::io::Result<Child>>);

fn spawner() -> &'static Mutex<std_mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<std_mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = std_mpsc::channel::<SpawnRequest>();
        let spawned = std::thread::Builder::new()
            .name("qemu-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            });
        if let Err(e) = spawned {
            tracing::error!("could not start the qemu spawner thread: {e}");
        }
        Mutex::new(tx)
    })
}

/// A running QEMU. Killing is idempotent; dropping kills.
#[derive(Debug)]
pub struct QemuProcess {
    pid: u32,
    /// `None` while running, then the exit description.
    exit: watch::Receiver<Option<String>>,
    reaped: Arc<Mutex<bool>>,
}

impl QemuProcess {
    /// Spawns `program args` in its own process group with the parent-death signal set.
    pub fn spawn(program: &std::path::Path, args: &[String], what: &str) -> Result<Self> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let parent = std::process::id();
        // SAFETY: only async-signal-safe calls (setpgid, prctl, getppid, _exit) run in the child.
        unsafe {
            cmd.pre_exec(move || {
                libc::setpgid(0, 0);
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let (reply_tx, reply_rx) = std_mpsc::channel();
        spawner()
            .lock()
            .map_err(|_| BackendError::Start {
                session: what.into(),
                message: "spawner poisoned".into(),
            })?
            .send((cmd, reply_tx))
            .map_err(|_| BackendError::Start {
                session: what.into(),
                message: "spawner thread is gone".into(),
            })?;
        let mut child = reply_rx
            .recv()
            .map_err(|_| BackendError::Start {
                session: what.into(),
                message: "spawner thread is gone".into(),
            })?
            .map_err(|e| BackendError::Start {
                session: what.into(),
                message: format!("could not run {}: {e}", program.display()),
            })?;
        let pid = child.id();
        let (tx, rx) = watch::channel(None);
        let reaped = Arc::new(Mutex::new(false));
        let reaped_w = reaped.clone();
        let stderr = child.stderr.take();
        let waited = std::thread::Builder::new()
            .name(format!("qemu-wait-{pid}"))
            .spawn(move || {
                let mut err_text = String::new();
                if let Some(mut e) = stderr {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err_text);
                }
                let status = child.wait();
                if let Ok(mut r) = reaped_w.lock() {
                    *r = true;
                }
                let mut text = match status {
                    Ok(s) => format!("qemu exited ({s})"),
                    Err(e) => format!("qemu wait failed: {e}"),
                };
                let err_text = err_text.trim();
                if !err_text.is_empty() {
                    let tail: String = err_text
                        .chars()
                        .rev()
                        .take(600)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    text.push_str(&format!(": {tail}"));
                }
                let _ = tx.send(Some(text));
            });
        if let Err(e) = waited {
            // SAFETY: killing the group we just created.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            return Err(BackendError::Start {
                session: what.into(),
                message: format!("waiter thread: {e}"),
            });
        }
        Ok(Self {
            pid,
            exit: rx,
            reaped,
        })
    }

    /// Host pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Exit watch: `Some(description)` once QEMU has exited and been reaped.
    pub fn exit(&self) -> watch::Receiver<Option<String>> {
        self.exit.clone()
    }

    /// SIGKILLs the process group (unless already reaped).
    pub fn kill(&self) {
        if let Ok(reaped) = self.reaped.lock() {
            if !*reaped {
                // SAFETY: the group id is our child's pid and it is not reaped, so not reused.
                unsafe { libc::kill(-(self.pid as i32), libc::SIGKILL) };
            }
        }
    }

    /// Kills and waits until reaped.
    pub async fn kill_and_wait(&self) -> String {
        self.kill();
        let mut exit = self.exit.clone();
        loop {
            if let Some(text) = exit.borrow_and_update().clone() {
                return text;
            }
            if exit.changed().await.is_err() {
                return "qemu waiter gone".into();
            }
        }
    }
}

impl Drop for QemuProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
