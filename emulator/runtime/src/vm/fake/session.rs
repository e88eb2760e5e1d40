//! One fake session: binds `127.0.0.1:0` for the target port (and one more listener per extra
//! forwarded port, all serving the same app, as one container listening on several ports
//! would), serves [`super::app`] after the configured delay, and turns `/exit`, stop and kill
//! into a final [`RunState::Exited`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::app::{self, App};
use super::knobs::FakeOptions;
use crate::vm::backend::{ExitStatus, RunState, Session, SessionControl, SessionInfo};
use crate::vm::error::{BackendError, Result};

/// Log lines buffered per session before new ones are dropped.
const LOG_BUFFER: usize = 1024;
/// How long in-flight responses may take to finish when the process exits.
const DRAIN: Duration = Duration::from_secs(2);
/// SIGTERM, the signal a graceful stop reports.
const SIGTERM: i32 = 15;

enum Command {
    Stop,
    Kill,
}

struct Control {
    commands: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<RunState>,
}

#[async_trait]
impl SessionControl for Control {
    async fn stop(&self, _grace: Duration) -> ExitStatus {
        let _ = self.commands.send(Command::Stop);
        wait_exited(self.state.clone()).await
    }

    async fn kill(&self) -> ExitStatus {
        let _ = self.commands.send(Command::Kill);
        wait_exited(self.state.clone()).await
    }
}

async fn wait_exited(mut state: watch::Receiver<RunState>) -> ExitStatus {
    loop {
        if let RunState::Exited(status) = &*state.borrow_and_update() {
            return status.clone();
        }
        if state.changed().await.is_err() {
            return ExitStatus::Killed;
        }
    }
}

async fn bind(session_id: &str) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| BackendError::Start {
            session: session_id.to_owned(),
            message: format!("could not bind 127.0.0.1:0: {e}"),
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| BackendError::io("reading the fake session's address", e))?;
    Ok((listener, addr))
}

/// Binds and launches one fake session. `ports` are the container ports to expose, the
/// target port first (see [`crate::vm::ContainerSpec::forwarded_ports`]).
pub(super) async fn start(
    session_id: String,
    options: FakeOptions,
    ports: &[u16],
) -> Result<Session> {
    let (listener, addr) = bind(&session_id).await?;
    let mut port_addrs = BTreeMap::new();
    let mut extra = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        if i == 0 {
            port_addrs.insert(*port, addr);
        } else {
            let (l, a) = bind(&session_id).await?;
            port_addrs.insert(*port, a);
            extra.push(l);
        }
    }
    let (logs_tx, logs_rx) = mpsc::channel(LOG_BUFFER);
    let (exit_tx, exit_rx) = mpsc::unbounded_channel();
    let (state_tx, state_rx) = watch::channel(RunState::Starting);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let app = Arc::new(App {
        session_id: session_id.clone(),
        random: format!("{:032x}", rand::random::<u128>()),
        healthy: AtomicBool::new(!options.unhealthy_from_start),
        never_ready: options.never_ready,
        requests: AtomicU32::new(0),
        exit_after: options.exit_after_requests,
        logs: logs_tx,
        exit: exit_tx,
    });
    tokio::spawn(run(
        listener,
        extra,
        app,
        (options.ready_delay, options.stop_delay),
        state_tx,
        cmd_rx,
        exit_rx,
    ));
    Ok(Session {
        id: session_id,
        addr,
        ports: port_addrs,
        state: state_rx.clone(),
        logs: Some(logs_rx),
        control: Arc::new(Control {
            commands: cmd_tx,
            state: state_rx,
        }),
        info: SessionInfo {
            backend: "fake".into(),
            ..SessionInfo::default()
        },
    })
}

async fn run(
    listener: TcpListener,
    extra: Vec<TcpListener>,
    app: Arc<App>,
    (ready_delay, stop_delay): (Duration, Duration),
    state: watch::Sender<RunState>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut exits: mpsc::UnboundedReceiver<i32>,
) {
    if !ready_delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(ready_delay) => {}
            command = commands.recv() => {
                let status = match command {
                    Some(Command::Stop) => ExitStatus::Signal { signal: SIGTERM },
                    _ => ExitStatus::Killed,
                };
                let _ = state.send(RunState::Exited(status));
                return;
            }
        }
    }
    let _ = state.send(RunState::Running { pid: 1 });
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    // Extra ports feed their connections into the one accept loop below.
    let (extra_tx, mut extra_rx) = mpsc::channel::<tokio::net::TcpStream>(64);
    let mut acceptors = JoinSet::new();
    for l in extra {
        let tx = extra_tx.clone();
        acceptors.spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                if tx.send(stream).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(extra_tx);
    let (status, drain) = loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => Some(stream),
                Err(_) => None,
            },
            Some(stream) = extra_rx.recv() => Some(stream),
            Some(code) = exits.recv() => break (ExitStatus::Code { code }, true),
            command = commands.recv() => match command {
                Some(Command::Stop) if !stop_delay.is_zero() => {
                    // Cleaning up after SIGTERM; a kill cuts it short.
                    tokio::select! {
                        () = tokio::time::sleep(stop_delay) => break (ExitStatus::Signal { signal: SIGTERM }, true),
                        c = commands.recv() => match c {
                            Some(Command::Stop) => break (ExitStatus::Signal { signal: SIGTERM }, true),
                            Some(Command::Kill) | None => break (ExitStatus::Killed, false),
                        },
                    }
                }
                Some(Command::Stop) => break (ExitStatus::Signal { signal: SIGTERM }, true),
                Some(Command::Kill) | None => break (ExitStatus::Killed, false),
            },
        };
        let Some(stream) = stream else { continue };
        let app = app.clone();
        let service = hyper::service::service_fn(move |req| app::serve(app.clone(), req));
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(conn);
        connections.spawn(async move {
            let _ = watched.await;
        });
    };
    acceptors.abort_all();
    drop(listener);
    if drain {
        let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    }
    connections.abort_all();
    let _ = state.send(RunState::Exited(status));
}
