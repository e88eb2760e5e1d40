//! The task that owns one running session VM: sends the per-session config and `start`,
//! follows the agent's events, forwards logs, and carries out stop/kill. When it ends, the
//! QEMU process is dead and reaped and its runtime dir removed.

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};

use super::channel::{spawn_event_reader, spawn_log_reader, AgentEvent, AgentWriter};
use super::launch::{console_tail, Launched};
use crate::vm::backend::{
    ExecOutput, ExitStatus, IdentityAnswer, LogLine, LogStream, RunState, SessionControl,
    SessionSpec,
};

/// How long to wait for QEMU to power off after the container exited.
const POWEROFF_WAIT: Duration = Duration::from_secs(3);
/// SIGTERM.
const SIGTERM: i32 = 15;

/// Commands from [`VmControl`] to the driver.
pub enum Command {
    /// SIGTERM, then kill after the grace.
    Stop(Duration),
    /// Kill now.
    Kill,
    /// Debug: TCP connect from the guest.
    Connect(SocketAddrV4, oneshot::Sender<Result<(), String>>),
    /// Run a command in the main container.
    Exec(
        Vec<String>,
        Duration,
        oneshot::Sender<Result<ExecOutput, String>>,
    ),
}

/// [`SessionControl`] of a QEMU session.
pub struct VmControl {
    /// To the driver.
    pub commands: mpsc::UnboundedSender<Command>,
    /// The session state.
    pub state: watch::Receiver<RunState>,
}

impl VmControl {
    async fn wait_exit(&self) -> ExitStatus {
        let mut state = self.state.clone();
        loop {
            if let RunState::Exited(s) = &*state.borrow_and_update() {
                return s.clone();
            }
            if state.changed().await.is_err() {
                return ExitStatus::Killed;
            }
        }
    }

    /// Debug: asks the guest agent to open a TCP connection to `addr` (e.g. `10.0.2.2:port`,
    /// the host as seen from slirp). Used to prove egress rules.
    pub async fn guest_connect(&self, addr: SocketAddrV4) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Connect(addr, tx))
            .map_err(|_| "session ended".to_string())?;
        rx.await.map_err(|_| "session ended".to_string())?
    }
}

#[async_trait]
impl SessionControl for VmControl {
    async fn stop(&self, grace: Duration) -> ExitStatus {
        let _ = self.commands.send(Command::Stop(grace));
        self.wait_exit().await
    }

    async fn kill(&self) -> ExitStatus {
        let _ = self.commands.send(Command::Kill);
        self.wait_exit().await
    }

    async fn exec(&self, argv: Vec<String>, timeout: Duration) -> Result<ExecOutput, String> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Exec(argv, timeout, tx))
            .map_err(|_| "the session has ended".to_string())?;
        rx.await.map_err(|_| "the session has ended".to_string())?
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

fn env_pairs(env: &[(String, String)]) -> Vec<String> {
    env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The `config` message for a session: the main container at the top level, the other
/// containers under `containers` (each with its root under `/.vm/containers/{name}`), and the
/// `IDENTITY_HEADER` value when the session has managed identities.
pub fn config_message(spec: &SessionSpec) -> Value {
    let image = &spec.image.config;
    let hostname: String = spec.session_id.chars().take(63).collect();
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let containers: Vec<Value> = spec
        .sidecars
        .iter()
        .map(|s| {
            let c = &s.image.config;
            json!({
                "name": s.name,
                "root": format!("/{}/{}", super::media::CONTAINERS_DIR, s.name),
                "entrypoint": c.entrypoint,
                "cmd": c.cmd,
                "image_env": c.env,
                "working_dir": c.working_dir,
                "user": c.user,
                "command": s.command,
                "args": s.args,
                "env": env_pairs(&s.env),
                "cpu_millis": s.resources.cpu_millis,
                "memory_mib": s.resources.memory_mib,
            })
        })
        .collect();
    let mut main_resources = spec.container.resources;
    for s in &spec.sidecars {
        main_resources.cpu_millis = main_resources
            .cpu_millis
            .saturating_sub(s.resources.cpu_millis);
        main_resources.memory_mib = main_resources
            .memory_mib
            .saturating_sub(s.resources.memory_mib);
    }
    json!({
        "session_id": spec.session_id,
        "hostname": hostname,
        "name": spec.main_name,
        "entrypoint": image.entrypoint,
        "cmd": image.cmd,
        "image_env": image.env,
        "working_dir": image.working_dir,
        "user": image.user,
        "command": spec.container.command,
        "args": spec.container.args,
        "env": env_pairs(&spec.container.env),
        "cpu_millis": main_resources.cpu_millis.max(1),
        "memory_mib": main_resources.memory_mib.max(1),
        "containers": containers,
        "identity_header": spec.identity.as_ref().map(|i| i.header.clone()),
        "entropy": hex::encode(rand::random::<[u8; 32]>()),
        "unix_ms": i64::try_from(now_ms).unwrap_or(0),
    })
}

/// Runs the session until it has ended; then everything is cleaned up.
pub async fn drive(
    vm: Launched,
    spec: Arc<SessionSpec>,
    from_template: bool,
    state: watch::Sender<RunState>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    logs: mpsc::Sender<LogLine>,
) {
    let Launched {
        process,
        qmp,
        control,
        stdout,
        stderr,
        console_log,
        dir,
        ..
    } = vm;
    let (read, write) = control.into_split();
    let mut agent = AgentWriter::new(write);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    spawn_event_reader(read, events_tx);
    spawn_log_reader(stdout, LogStream::Stdout, logs.clone());
    spawn_log_reader(stderr, LogStream::Stderr, logs);
    let mut exit = process.exit();
    let mut final_status: Option<ExitStatus> = None;
    let mut kill_at: Option<tokio::time::Instant> = None;
    // A clone's agent is already waiting for its config (the template was saved right after
    // `ready`), so config and start go out at once instead of after a hello/ready round trip.
    let mut configured = from_template;
    if from_template {
        let sent = async {
            agent.send("config", config_message(&spec)).await?;
            agent.send("start", json!({})).await
        }
        .await;
        if let Err(e) = sent {
            final_status = Some(ExitStatus::Failed {
                reason: e.to_string(),
            });
            kill_at = Some(tokio::time::Instant::now());
        }
    }
    let mut pending_connects: Vec<oneshot::Sender<Result<(), String>>> = Vec::new();
    let mut pending_execs: std::collections::HashMap<
        u64,
        oneshot::Sender<Result<ExecOutput, String>>,
    > = std::collections::HashMap::new();
    let mut next_exec: u64 = 1;
    // Token answers come back from their own tasks and are written to the agent here.
    let (answers_tx, mut answers) = mpsc::unbounded_channel::<(u64, IdentityAnswer)>();
    let mut last_error = String::new();
    let mut events_closed = false;
    loop {
        let deadline = kill_at
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86400 * 365));
        tokio::select! {
            event = events.recv(), if !events_closed => match event {
                Some(AgentEvent::Ready) if !configured && final_status.is_none() => {
                    configured = true;
                    let sent = async {
                        agent.send("config", config_message(&spec)).await?;
                        agent.send("start", json!({})).await
                    }.await;
                    if let Err(e) = sent {
                        final_status = Some(ExitStatus::Failed { reason: e.to_string() });
                        break;
                    }
                }
                Some(AgentEvent::Ready) => {}
                Some(AgentEvent::Started(pid)) => {
                    let _ = state.send(RunState::Running { pid });
                }
                Some(AgentEvent::ExitedCode(code)) => {
                    let status = if code == 127 && !last_error.is_empty() {
                        ExitStatus::Failed { reason: last_error.clone() }
                    } else {
                        ExitStatus::Code { code }
                    };
                    final_status.get_or_insert(status);
                    let _ = agent.send("poweroff", json!({})).await;
                    kill_at = Some(tokio::time::Instant::now() + POWEROFF_WAIT);
                }
                Some(AgentEvent::ExitedSignal(signal)) => {
                    final_status.get_or_insert(ExitStatus::Signal { signal });
                    let _ = agent.send("poweroff", json!({})).await;
                    kill_at = Some(tokio::time::Instant::now() + POWEROFF_WAIT);
                }
                Some(AgentEvent::Connected(result)) => {
                    if !pending_connects.is_empty() {
                        let _ = pending_connects.remove(0).send(result);
                    }
                }
                Some(AgentEvent::Error(message)) => {
                    tracing::warn!(session = %spec.session_id, "guest agent: {message}");
                    last_error = message;
                }
                Some(AgentEvent::ContainerExited { name, how }) => {
                    tracing::info!(session = %spec.session_id, container = %name, "container {how}; the session goes on with its main container");
                }
                Some(AgentEvent::TokenRequest { id, query }) => {
                    let answers = answers_tx.clone();
                    match &spec.identity {
                        Some(identity) => {
                            let source = identity.source.clone();
                            tokio::spawn(async move {
                                let _ = answers.send((id, source.token(query).await));
                            });
                        }
                        None => {
                            let _ = answers.send((id, IdentityAnswer {
                                status: 404,
                                body: json!({"error": "no_identity", "error_description": "this session pool exposes no managed identity to its sessions"}),
                            }));
                        }
                    }
                }
                Some(AgentEvent::ExecResult { id, output }) => {
                    if let Some(reply) = pending_execs.remove(&id) {
                        let _ = reply.send(Ok(output));
                    }
                }
                None => {
                    // Control channel closed: QEMU is going away; the exit arm decides.
                    events_closed = true;
                }
            },
            command = commands.recv() => match command {
                Some(Command::Stop(grace)) => {
                    if agent.send("signal", json!({ "signal": SIGTERM })).await.is_err() {
                        final_status.get_or_insert(ExitStatus::Killed);
                        break;
                    }
                    let at = tokio::time::Instant::now() + grace;
                    kill_at = Some(kill_at.map_or(at, |k| k.min(at)));
                }
                Some(Command::Kill) | None => {
                    final_status.get_or_insert(ExitStatus::Killed);
                    break;
                }
                Some(Command::Connect(addr, reply)) => {
                    let msg = json!({ "host": addr.ip().to_string(), "port": addr.port(), "timeout_ms": 2000 });
                    if agent.send("connect", msg).await.is_ok() {
                        pending_connects.push(reply);
                    }
                }
                Some(Command::Exec(argv, timeout, reply)) => {
                    let id = next_exec;
                    next_exec += 1;
                    let msg = json!({ "id": id, "argv": argv, "timeout_ms": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX) });
                    match agent.send("exec", msg).await {
                        Ok(()) => { pending_execs.insert(id, reply); }
                        Err(e) => { let _ = reply.send(Err(e.to_string())); }
                    }
                }
            },
            Some((id, answer)) = answers.recv() => {
                let msg = json!({ "id": id, "status": answer.status, "body": answer.body.to_string() });
                let _ = agent.send("token", msg).await;
            },
            text = qemu_exited(&mut exit) => {
                final_status.get_or_insert(ExitStatus::Failed { reason: format!("{text}; console: {}", console_tail(&console_log)) });
                break;
            }
            () = tokio::time::sleep_until(deadline) => {
                final_status.get_or_insert(ExitStatus::Killed);
                break;
            }
        }
    }
    drop(qmp);
    process.kill_and_wait().await;
    drop(dir);
    let status = final_status.unwrap_or(ExitStatus::Killed);
    let _ = state.send(RunState::Exited(status));
}

async fn qemu_exited(exit: &mut watch::Receiver<Option<String>>) -> String {
    loop {
        if let Some(text) = exit.borrow_and_update().clone() {
            return text;
        }
        if exit.changed().await.is_err() {
            return "qemu waiter gone".into();
        }
    }
}
