//! The contract between the pool manager and whatever runs sessions.
//!
//! A [`Backend`] turns a [`SessionSpec`] (a prepared image plus the pool's container spec) into a
//! running [`Session`]. The session exposes the host address of the container's target port, a
//! [`RunState`] watch (starting, running, exited), a stream of [`LogLine`]s, and a
//! [`SessionControl`] to stop it gracefully or kill it. Nothing here knows about pools or HTTP
//! status codes.
//!
//! Lifecycle as seen by a caller:
//!
//! 1. `backend.prepare(&spec)` (optional) warms a template for the (image, spec) pair.
//! 2. `backend.start(spec)` returns a [`Session`] as soon as the instance is launched; its
//!    `addr` is already known.
//! 3. [`Session::wait_running`] resolves when the container process has started (the agent
//!    reported `started`). HTTP readiness is the caller's business (startup probes).
//! 4. [`Session::logs`] yields stdout/stderr lines; [`Session::state`] turns
//!    [`RunState::Exited`] when the process ends or the instance dies.
//! 5. [`SessionControl::stop`] sends SIGTERM, waits up to the grace period, then kills;
//!    [`SessionControl::kill`] kills at once. Dropping the [`Session`] also kills it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use super::error::{BackendError, Result};
use super::resources::Resources;
use crate::image::PreparedImage;

/// What the pool asks the container to be (the pool's `containers[0]`, secrets already resolved).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// Replaces the image `Entrypoint` when non-empty (Kubernetes `command`).
    pub command: Vec<String>,
    /// Replaces the image `Cmd` when non-empty (Kubernetes `args`).
    pub args: Vec<String>,
    /// Extra environment (`name`, `value`), applied over the image `Env`; secrets resolved.
    pub env: Vec<(String, String)>,
    /// CPU and memory.
    pub resources: Resources,
    /// The port the container listens on (the pool's `ingress.targetPort`).
    pub target_port: u16,
    /// Whether the session may open outbound connections (`sessionNetworkConfiguration`).
    pub egress_enabled: bool,
    /// Other container ports the host must reach besides `target_port` (e.g. the ports probes
    /// name). Each gets its own host address ([`Session::addr_for`]); callers never reach
    /// them through the data plane.
    pub extra_ports: Vec<u16>,
}

impl ContainerSpec {
    /// Every container port the host reaches: the target port first, then the distinct extra
    /// ports (without the target port).
    pub fn forwarded_ports(&self) -> Vec<u16> {
        let mut ports = vec![self.target_port];
        for p in &self.extra_ports {
            if !ports.contains(p) {
                ports.push(*p);
            }
        }
        ports
    }
}

impl Default for ContainerSpec {
    fn default() -> Self {
        Self {
            command: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            resources: Resources::default(),
            target_port: 8080,
            egress_enabled: true,
            extra_ports: Vec::new(),
        }
    }
}

/// Everything needed to start one session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Unique id of this session instance; becomes the guest hostname.
    pub session_id: String,
    /// The image of the main container (`containers[0]`; the session's root filesystem).
    pub image: PreparedImage,
    /// The main container's spec, plus what the whole session shares (target port, egress,
    /// forwarded ports; `resources` are the whole session's, see [`Self::total_resources`]).
    pub container: ContainerSpec,
    /// Name of the main container (console lines carry it).
    pub main_name: String,
    /// The template's other containers, in order: each its own root filesystem, command,
    /// args, env and resources, in the same VM and network namespace as the main one.
    pub sidecars: Vec<SidecarSpec>,
    /// Managed identities available to code in the session (`IDENTITY_ENDPOINT`), if any.
    pub identity: Option<IdentityBinding>,
}

impl SessionSpec {
    /// A single-container session: `image` with `container`, no identity.
    pub fn new(
        session_id: impl Into<String>,
        image: PreparedImage,
        container: ContainerSpec,
    ) -> Self {
        Self {
            session_id: session_id.into(),
            image,
            container,
            main_name: "main".into(),
            sidecars: Vec::new(),
            identity: None,
        }
    }
}

/// One more container of a session (a template's `containers[1..]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarSpec {
    /// Container name (unique in the template; a DNS label).
    pub name: String,
    /// Its image (its own root filesystem).
    pub image: PreparedImage,
    /// Replaces the image `Entrypoint` when non-empty.
    pub command: Vec<String>,
    /// Replaces the image `Cmd` when non-empty.
    pub args: Vec<String>,
    /// Extra environment, secrets resolved.
    pub env: Vec<(String, String)>,
    /// Its CPU and memory.
    pub resources: Resources,
}

/// A managed-identity token request from code in a session (the query of
/// `GET $IDENTITY_ENDPOINT?resource=...&api-version=...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityQuery {
    /// `resource`: the audience asked for.
    pub resource: String,
    /// `api-version`.
    pub api_version: Option<String>,
    /// `client_id` of a user-assigned identity.
    pub client_id: Option<String>,
    /// `principal_id` (or its alias `object_id`) of a user-assigned identity.
    pub principal_id: Option<String>,
    /// `mi_res_id`: resource id of a user-assigned identity.
    pub mi_res_id: Option<String>,
}

/// The answer to an [`IdentityQuery`]: an HTTP status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityAnswer {
    /// HTTP status (200 with a token, 400 for a request that cannot be served).
    pub status: u16,
    /// JSON body (`access_token`, `expires_on`, `resource`, `token_type`, `client_id`, or an
    /// error).
    pub body: serde_json::Value,
}

/// Issues tokens for the managed identities of a pool. Implemented above the runtime (the
/// emulator signs the tokens); the VM layer only relays requests from inside the session.
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// Answers one token request.
    async fn token(&self, query: IdentityQuery) -> IdentityAnswer;
}

/// What a session needs to serve `IDENTITY_ENDPOINT`: the secret `IDENTITY_HEADER` value its
/// code must send, and where tokens come from.
#[derive(Debug, Clone)]
pub struct IdentityBinding {
    /// The `IDENTITY_HEADER` value (random per session).
    pub header: String,
    /// The token issuer.
    pub source: std::sync::Arc<dyn TokenSource>,
}

/// The output of a command run inside a session's main container ([`SessionControl::exec`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecOutput {
    /// Exit code (`-1` when killed by a signal or timed out).
    pub exit_code: i32,
    /// Standard output (lossy UTF-8, truncated at the agent's limit).
    pub stdout: String,
    /// Standard error (lossy UTF-8, truncated at the agent's limit).
    pub stderr: String,
    /// Whether the command was killed because it ran longer than its timeout.
    pub timed_out: bool,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// The container's standard output.
    Stdout,
    /// The container's standard error.
    Stderr,
}

/// One line a container wrote (without the trailing newline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Which container wrote it: `None` for the main container, else a sidecar's name.
    #[serde(default)]
    pub container: Option<String>,
    /// Which stream.
    pub stream: LogStream,
    /// The text, lossily decoded as UTF-8.
    pub line: String,
    /// When the host received it.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

impl LogLine {
    /// A line received now.
    pub fn now(stream: LogStream, line: impl Into<String>) -> Self {
        Self {
            container: None,
            stream,
            line: line.into(),
            time: OffsetDateTime::now_utc(),
        }
    }
}

/// How the container process (or its instance) ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ExitStatus {
    /// The process exited with this code.
    Code {
        /// Exit code.
        code: i32,
    },
    /// The process was killed by this signal.
    Signal {
        /// Signal number.
        signal: i32,
    },
    /// The instance was killed (forced stop) before the process reported an exit.
    Killed,
    /// The instance died or could not start the process.
    Failed {
        /// Why, e.g. "qemu exited with status 1" or "exec /app/x: not found".
        reason: String,
    },
}

impl ExitStatus {
    /// The exit code, when the process exited normally.
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Code { code } => Some(*code),
            _ => None,
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Launched; the container process has not started yet.
    Starting,
    /// The container process is running (guest pid when known).
    Running {
        /// PID of the container process inside the instance (0 when not applicable).
        pid: u32,
    },
    /// Ended; final.
    Exited(ExitStatus),
}

/// Stops a session. Implementations are idempotent and safe to call concurrently.
#[async_trait]
pub trait SessionControl: Send + Sync {
    /// SIGTERM to the container process, wait up to `grace` for it to exit, then kill the
    /// instance. Returns the final exit status.
    async fn stop(&self, grace: Duration) -> ExitStatus;
    /// Kills the instance at once and releases every resource (process, sockets, temp dirs).
    async fn kill(&self) -> ExitStatus;
    /// Runs `argv` inside the session's main container (its root, env, user and working
    /// directory), waits up to `timeout` and returns its output. Backends that cannot run
    /// commands answer `Err` saying so.
    async fn exec(
        &self,
        argv: Vec<String>,
        timeout: Duration,
    ) -> std::result::Result<ExecOutput, String> {
        let _ = (argv, timeout);
        Err("this session backend cannot run commands in a session".into())
    }
    /// Backend-specific extras (e.g. the QEMU backend's `VmControl::guest_connect` debug probe),
    /// reachable by downcasting. `None` when there are none.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// A running (or ended) session. Dropping it kills the instance.
pub struct Session {
    /// Session id (as in the spec).
    pub id: String,
    /// Host address (on 127.0.0.1) that reaches the container's target port.
    pub addr: SocketAddr,
    /// Host address of every forwarded container port (the target port and
    /// [`ContainerSpec::extra_ports`]), by container port.
    pub ports: BTreeMap<u16, SocketAddr>,
    /// Lifecycle of the container process; ends in [`RunState::Exited`].
    pub state: watch::Receiver<RunState>,
    /// Container stdout/stderr lines. Taken by whoever forwards logs; bounded, lines are
    /// dropped (never blocking the instance) when nobody reads.
    pub logs: Option<mpsc::Receiver<LogLine>>,
    /// Stop/kill.
    pub control: Arc<dyn SessionControl>,
    /// Extra facts for diagnostics (backend kind, accelerator, template used, qemu pid...).
    pub info: SessionInfo,
}

/// Diagnostic facts about how a session was started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Backend kind (`qemu`, `fake`).
    pub backend: String,
    /// `kvm`, `tcg` or empty for the fake backend.
    pub accelerator: String,
    /// Whether the instance was cloned from a template.
    pub from_template: bool,
    /// Host pid of the instance process (QEMU), when there is one.
    pub host_pid: Option<u32>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .field("state", &*self.state.borrow())
            .field("info", &self.info)
            .finish()
    }
}

impl Session {
    /// The host address that reaches container port `port`, when the backend forwards it
    /// (the target port and [`ContainerSpec::extra_ports`]).
    pub fn addr_for(&self, port: u16) -> Option<SocketAddr> {
        self.ports.get(&port).copied()
    }

    /// Waits until the container process runs. Fails when it exits first or `timeout` passes.
    pub async fn wait_running(&self, timeout: Duration) -> Result<u32> {
        let mut state = self.state.clone();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                match &*state.borrow_and_update() {
                    RunState::Running { pid } => return Ok(*pid),
                    RunState::Exited(status) => {
                        return Err(BackendError::NotReady {
                            session: self.id.clone(),
                            message: format!("it ended first: {status:?}"),
                        })
                    }
                    RunState::Starting => {}
                }
                if state.changed().await.is_err() {
                    return Err(BackendError::NotReady {
                        session: self.id.clone(),
                        message: "the backend dropped the session".into(),
                    });
                }
            }
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(BackendError::NotReady {
                session: self.id.clone(),
                message: format!("the container process did not start within {timeout:?}"),
            })
        })
    }

    /// Waits until the session has ended and returns how.
    pub async fn wait_exit(&self) -> ExitStatus {
        let mut state = self.state.clone();
        loop {
            if let RunState::Exited(status) = &*state.borrow_and_update() {
                return status.clone();
            }
            if state.changed().await.is_err() {
                return ExitStatus::Failed {
                    reason: "the backend dropped the session".into(),
                };
            }
        }
    }

    /// The exit status if the session has ended.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match &*self.state.borrow() {
            RunState::Exited(status) => Some(status.clone()),
            _ => None,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let control = self.control.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                control.kill().await;
            });
        }
    }
}

/// Runs sessions. Object-safe: the pool manager holds an `Arc<dyn Backend>`.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Short name: `qemu` or `fake`.
    fn kind(&self) -> &str;

    /// Warms whatever makes later starts of this (image, container spec) fast, e.g. a template
    /// snapshot. Optional; `start` works without it. Errors here are not fatal for `start`.
    async fn prepare(&self, spec: &SessionSpec) -> Result<()> {
        let _ = spec;
        Ok(())
    }

    /// Launches one session. Returns once the instance is launched and its address is known;
    /// use [`Session::wait_running`] for the container start.
    async fn start(&self, spec: SessionSpec) -> Result<Session>;

    /// Drops cached templates/boot media for an image digest (e.g. when a pool is deleted).
    async fn forget(&self, image_digest: &str) {
        let _ = image_digest;
    }

    /// Stops whatever the backend keeps running between sessions (template snapshots and
    /// their parked spare VMs). The pool manager calls it when the last pool is gone, so an
    /// emulator without pools runs no VM; later starts make them again.
    async fn release_idle(&self) {}
}
