//! One task per session: boots it through the backend, gates readiness (Startup probe or the
//! target-port check), watches it (Liveness probe, container exit), forwards its console lines,
//! and stops it when the actor asks. It reports to the pool actor with [`SupEvent`]s and decides
//! nothing itself.
//!
//! Protocol with the actor: at most one of `Ready` then at most one terminal report
//! (`StartFailed`, `Exited`, `Unhealthy`); then it waits for the stop request (or the actor to
//! go away), stops the instance (grace, then kill) and always ends with exactly one `Stopped`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use super::failure::StartFailure;
use super::images::ImageSource;
use super::logs::{LogRow, LogSink, PoolContext};
use super::probe::{self, ProbeSpec, ProbeTracker, Verdict, DEFAULT_POLL};
use super::session::SessionId;
use super::spec::Template;
use crate::clock::{SharedClock, TimeScale};
use crate::telemetry::{self, StartKind};
use crate::vm::{
    Backend, ExitStatus, IdentityBinding, LogStream, RunState, Session, SessionControl,
    SessionSpec, SidecarSpec,
};

/// What a supervisor reports.
#[derive(Debug)]
pub enum SupEvent {
    /// Started and ready at this address.
    Ready(SocketAddr),
    /// Never became ready.
    StartFailed(StartFailure),
    /// The container process ended by itself.
    Exited(ExitStatus),
    /// The Liveness probe failed `failureThreshold` times in a row.
    Unhealthy(String),
    /// One probe check failed (for pool events only).
    ProbeFailed(String),
    /// The instance is gone; final.
    Stopped,
}

/// The controls of every running session, by session id: how a pool reaches a session to run
/// a command in it ([`super::actor::PoolHandle::exec`]).
pub type Controls = Arc<Mutex<std::collections::HashMap<SessionId, Arc<dyn SessionControl>>>>;

/// Shared, read-mostly things every supervisor of a pool needs.
#[derive(Clone)]
pub struct SupDeps {
    /// Controls of running sessions (registered while a session runs).
    pub controls: Controls,
    /// Runs sessions.
    pub backend: Arc<dyn Backend>,
    /// Resolves images.
    pub images: Arc<dyn ImageSource>,
    /// Time for probes.
    pub clock: SharedClock,
    /// Time scale for probe periods.
    pub scale: TimeScale,
    /// Console rows go here (optional in unit tests).
    pub logs: Option<LogSink>,
    /// Real-time bound for image resolution + backend start + process start + port check.
    pub boot_timeout: Duration,
}

impl std::fmt::Debug for SupDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupDeps")
            .field("backend", &self.backend.kind())
            .field("images", &self.images)
            .field("scale", &self.scale)
            .field("boot_timeout", &self.boot_timeout)
            .finish_non_exhaustive()
    }
}

/// Starts the supervisor of one session; the backend is asked to start it after
/// `start_delay` (real time; a stop request during the delay ends it without starting).
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    start_delay: Duration,
    deps: SupDeps,
    pool: Arc<PoolContext>,
    template: Arc<Template>,
    session_id: SessionId,
    identifier: Arc<Mutex<Option<String>>>,
    events: mpsc::UnboundedSender<(SessionId, SupEvent)>,
    stop: oneshot::Receiver<()>,
) {
    tokio::spawn(async move {
        let report = |e: SupEvent| {
            let _ = events.send((session_id.clone(), e));
        };
        let mut stop = stop;
        let mut boot_started = std::time::Instant::now();
        let delayed_boot = async {
            tokio::time::sleep(start_delay).await;
            boot_started = std::time::Instant::now();
            tokio::time::timeout(deps.boot_timeout, boot(&deps, &template, &session_id)).await
        };
        let started = tokio::select! {
            r = delayed_boot => match r {
                Ok(r) => r,
                Err(_) => Err(StartFailure::backend(format!("the session did not start within {} s", deps.boot_timeout.as_secs()))),
            },
            _ = &mut stop => {
                report(SupEvent::Stopped);
                return;
            }
        };
        let mut session = match started {
            Ok(s) => {
                deps.controls
                    .lock()
                    .insert(session_id.clone(), s.control.clone());
                s
            }
            Err(failure) => {
                report(SupEvent::StartFailed(failure));
                let _ = stop.await;
                report(SupEvent::Stopped);
                return;
            }
        };
        if let (Some(rx), Some(sink)) = (session.logs.take(), deps.logs.clone()) {
            tokio::spawn(forward_logs(
                rx,
                sink,
                deps.clock.clone(),
                pool.clone(),
                template.clone(),
                session_id.clone(),
                identifier.clone(),
            ));
        }
        let addr = session.addr;
        let liveness_probes: Vec<(ProbeSpec, SocketAddr)> = template
            .liveness_probes()
            .map(|p| (p.clone(), probe_addr(&session, p)))
            .collect();
        let terminal = tokio::select! {
            r = readiness(&deps, &template, &session, &report) => match r {
                Ok(()) => {
                    let kind = if session.info.from_template { StartKind::Clone } else { StartKind::Boot };
                    telemetry::global().start(kind).observe(boot_started.elapsed());
                    report(SupEvent::Ready(addr));
                    tokio::select! {
                        status = session.wait_exit() => Some(SupEvent::Exited(status)),
                        msg = liveness_any(&deps, &liveness_probes, &report) => Some(SupEvent::Unhealthy(msg)),
                        _ = &mut stop => None,
                    }
                }
                Err(message) => Some(SupEvent::StartFailed(StartFailure::never_ready(message))),
            },
            status = session.wait_exit() => Some(SupEvent::StartFailed(StartFailure::never_ready(format!("the container ended before it became ready: {}", describe(&status))))),
            _ = &mut stop => None,
        };
        if let Some(ev) = terminal {
            report(ev);
            let _ = stop.await;
        }
        if session.exit_status().is_some() {
            session.control.kill().await;
        } else {
            session.control.stop(template.stop_grace).await;
        }
        deps.controls.lock().remove(&session_id);
        drop(session);
        report(SupEvent::Stopped);
    });
}

/// The host address of the container port `probe` names (the backend forwards every probe
/// port, see [`super::spec::Template::session_container`]); the target port's address if the
/// backend did not forward it.
fn probe_addr(session: &Session, probe: &ProbeSpec) -> SocketAddr {
    session
        .addr_for(probe.action.port())
        .unwrap_or(session.addr)
}

/// A short text for an exit status.
pub fn describe(status: &ExitStatus) -> String {
    match status {
        ExitStatus::Code { code } => format!("exited with code {code}"),
        ExitStatus::Signal { signal } => format!("killed by signal {signal}"),
        ExitStatus::Killed => "killed".into(),
        ExitStatus::Failed { reason } => format!("failed: {reason}"),
    }
}

async fn boot(
    deps: &SupDeps,
    template: &Template,
    session_id: &str,
) -> Result<Session, StartFailure> {
    let image = deps
        .images
        .resolve(&template.image, template.registry.as_ref())
        .await
        .map_err(StartFailure::image)?;
    let mut sidecars = Vec::with_capacity(template.sidecars.len());
    for s in &template.sidecars {
        let image = deps
            .images
            .resolve(&s.image, template.registry.as_ref())
            .await
            .map_err(|e| StartFailure::image(format!("container '{}': {e}", s.name)))?;
        sidecars.push(SidecarSpec {
            name: s.name.clone(),
            image,
            command: s.command.clone(),
            args: s.args.clone(),
            env: s.env.clone(),
            resources: s.resources,
        });
    }
    let spec = SessionSpec {
        session_id: session_id.to_string(),
        image,
        container: template.session_container(),
        main_name: template.container_name.clone(),
        sidecars,
        identity: template.identity.as_ref().map(|i| IdentityBinding {
            header: format!("{:032x}", rand::random::<u128>()),
            source: i.source.clone(),
        }),
    };
    deps.backend
        .start(spec)
        .await
        .map_err(|e| StartFailure::backend(format!("the session could not be started: {e}")))
}

async fn readiness(
    deps: &SupDeps,
    template: &Template,
    session: &Session,
    report: &impl Fn(SupEvent),
) -> Result<(), String> {
    session
        .wait_running(deps.boot_timeout)
        .await
        .map_err(|e| format!("the container process did not start: {e}"))?;
    readiness_check(deps, template, session, report).await?;
    let http_startup_on_target = template.startup_probe().is_some_and(|p| {
        matches!(p.action, probe::ProbeAction::Http { port, .. } if port == template.container.target_port)
    });
    // Only software-emulated guests pay for first-time code paths; KVM guests and the fake
    // backend get no extra request.
    if template.warm_up && session.info.accelerator == "tcg" && !http_startup_on_target {
        // A reset before any answer means the guest is not listening yet (see
        // `probe::WarmUp::Refused`): try again until the boot deadline, then go on regardless.
        let deadline = tokio::time::Instant::now() + deps.boot_timeout;
        while probe::warm_up(session.addr).await == probe::WarmUp::Refused
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(DEFAULT_POLL).await;
        }
    }
    Ok(())
}

/// Every Startup probe (each container's, concurrently), or without any the target-port
/// check.
async fn readiness_check(
    deps: &SupDeps,
    template: &Template,
    session: &Session,
    report: &impl Fn(SupEvent),
) -> Result<(), String> {
    let probes: Vec<&ProbeSpec> = template.startup_probes().collect();
    match probes.is_empty() {
        false => {
            futures::future::try_join_all(
                probes
                    .into_iter()
                    .map(|p| startup(deps, p, probe_addr(session, p), report)),
            )
            .await?;
            Ok(())
        }
        true => {
            let deadline = tokio::time::Instant::now() + deps.boot_timeout;
            loop {
                if probe::tcp_accepts(session.addr).await.is_ok() {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!(
                        "the target port {} never accepted a connection within {} s",
                        template.container.target_port,
                        deps.boot_timeout.as_secs()
                    ));
                }
                tokio::time::sleep(DEFAULT_POLL).await;
            }
        }
    }
}

async fn startup(
    deps: &SupDeps,
    spec: &ProbeSpec,
    addr: SocketAddr,
    report: &impl Fn(SupEvent),
) -> Result<(), String> {
    let mut tracker = ProbeTracker::new(spec);
    deps.clock.sleep(spec.initial_delay(deps.scale)).await;
    loop {
        let r = probe::check(&spec.action, addr, spec.timeout(deps.scale)).await;
        let ok = r.is_ok();
        if let Err(e) = &r {
            report(SupEvent::ProbeFailed(format!("Startup probe failed: {e}")));
        }
        match tracker.record(ok) {
            Verdict::Passed => return Ok(()),
            Verdict::Failed => {
                return Err(format!(
                    "the Startup probe failed {} times in a row: {}",
                    spec.failure_threshold,
                    r.err().unwrap_or_default()
                ))
            }
            Verdict::Pending => deps.clock.sleep(spec.period(deps.scale)).await,
        }
    }
}

/// Returns as soon as one of the Liveness probes (each container's) has failed; pends forever
/// without any.
async fn liveness_any(
    deps: &SupDeps,
    probes: &[(ProbeSpec, SocketAddr)],
    report: &impl Fn(SupEvent),
) -> String {
    if probes.is_empty() {
        return futures::future::pending().await;
    }
    let all = probes
        .iter()
        .map(|(spec, addr)| Box::pin(liveness(deps, spec, *addr, report)));
    futures::future::select_all(all).await.0
}

/// Returns only when the Liveness probe `spec` has failed.
async fn liveness(
    deps: &SupDeps,
    spec: &ProbeSpec,
    addr: SocketAddr,
    report: &impl Fn(SupEvent),
) -> String {
    let mut tracker = ProbeTracker::new(spec);
    deps.clock.sleep(spec.initial_delay(deps.scale)).await;
    loop {
        let r = probe::check(&spec.action, addr, spec.timeout(deps.scale)).await;
        if let Err(e) = &r {
            report(SupEvent::ProbeFailed(format!("Liveness probe failed: {e}")));
        }
        if tracker.record(r.is_ok()) == Verdict::Failed {
            return format!(
                "the Liveness probe failed {} times in a row: {}",
                spec.failure_threshold,
                r.err().unwrap_or_default()
            );
        }
        deps.clock.sleep(spec.period(deps.scale)).await;
    }
}

async fn forward_logs(
    mut rx: mpsc::Receiver<crate::vm::LogLine>,
    sink: LogSink,
    clock: SharedClock,
    pool: Arc<PoolContext>,
    template: Arc<Template>,
    session_id: SessionId,
    identifier: Arc<Mutex<Option<String>>>,
) {
    let main_origin = pool.origin(&template.container_name, &template.image);
    let sidecar_origins: Vec<(String, _)> = template
        .sidecars
        .iter()
        .map(|s| (s.name.clone(), pool.origin(&s.name, &s.image)))
        .collect();
    let session: Arc<str> = Arc::from(session_id);
    let mut bound: Option<Arc<str>> = None;
    while let Some(line) = rx.recv().await {
        // The emulator's clock stamps every row (the backend's receive time is the host's
        // wall clock, which an injected clock does not follow).
        let time = clock.now();
        {
            let current = identifier.lock();
            if current.as_deref() != bound.as_deref() {
                bound = current.as_deref().map(Arc::from);
            }
        }
        let origin = match &line.container {
            Some(name) => sidecar_origins
                .iter()
                .find(|(n, _)| n == name)
                .map_or_else(|| main_origin.clone(), |(_, o)| o.clone()),
            None => main_origin.clone(),
        };
        sink.send(LogRow::Console {
            origin,
            time,
            session_id: session.clone(),
            identifier: bound.clone(),
            stream: match line.stream {
                LogStream::Stdout => "stdout",
                LogStream::Stderr => "stderr",
            },
            log: line.line,
        });
    }
}

/// True if `state` means the process is gone.
pub fn is_exited(state: &RunState) -> bool {
    matches!(state, RunState::Exited(_))
}
