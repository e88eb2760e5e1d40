//! One task per pool owns its [`PoolCore`]: commands arrive over an mpsc channel, readers get
//! [`PoolSnapshot`]s through a `watch` channel, supervisors report over a second channel. No
//! lock is held across an `.await`. The actor executes the core's [`Effect`]s (spawning and
//! stopping supervisors, writing log rows) and serves allocation waiters as sessions get ready.
//!
//! # Refills wait for a quiet moment
//!
//! A refill boot requested right after an allocation starts [`REFILL_DELAY`] (real time) after
//! that allocation, as long as other sessions of the pool are ready: booting a session (above
//! all a TCG microVM) takes a whole CPU for a while, and starting it at once would compete with
//! the first request of the session just allocated. The session counts as booting from the
//! start (nothing boots twice, the capacity rule is unchanged); a pool without a ready session
//! (someone may be waiting) boots at once.
//!
//! # Request times (the data-plane hot path)
//!
//! A request to a bound identifier must not cost an actor round trip. [`PoolHandle::touch`]
//! writes the request time into a small shared board (one short mutex, no allocation for an
//! identifier already on it, no wake-up of the actor). The actor folds the board into the core
//! whenever it wakes, and it always wakes before an expiry it would act on (the expiry deadline
//! can only be pushed out by a touch), so a request is never lost and a session never expires
//! while a request newer than its cooldown is on the board.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::TimeScale;

use super::core::{AllocError, Effect, Limits, PoolCore, Provisioning, Transition};
use super::failure::StartFailure;
use super::logs::{EventTable, Level, LogRow, PoolContext};
use super::session::{EndReason, Session, SessionId, SessionState};
use super::spec::{PoolSpec, Template};
use super::supervisor::{self, describe, SupDeps, SupEvent};

/// How long a refill boot waits after an allocation (see the module docs).
pub const REFILL_DELAY: Duration = Duration::from_millis(300);

/// A successful allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The session.
    pub session: SessionId,
    /// Host address of its target port.
    pub address: SocketAddr,
    /// True when this request bound the identifier (first request).
    pub new: bool,
}

/// What readers see of a pool; published after every change.
#[derive(Debug, Clone)]
pub struct PoolSnapshot {
    /// Provisioning state.
    pub provisioning: Provisioning,
    /// Limits in force.
    pub limits: Limits,
    /// Current template generation.
    pub generation: u64,
    /// Every session that has not ended, oldest first.
    pub sessions: Vec<Session>,
    /// identifier -> (session, address) of allocated sessions.
    pub bindings: HashMap<String, (SessionId, SocketAddr)>,
    /// The last start or probe error, if any.
    pub last_error: Option<String>,
    /// True once the pool is being deleted.
    pub deleted: bool,
    /// Number of updates applied so far (see [`PoolHandle::update_and_wait`]).
    pub updates: u64,
    /// Failed sessions per template generation (current and previous).
    pub failures: std::collections::BTreeMap<u64, super::core::FailureCounts>,
}

impl PoolSnapshot {
    /// Sessions in `state` (by name).
    pub fn count(&self, state: SessionState) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.state.name() == state.name())
            .count()
    }

    /// Sessions that count as nodes in use (Booting, Ready, Allocated).
    pub fn node_count(&self) -> usize {
        self.sessions.iter().filter(|s| s.state.is_live()).count()
    }
}

pub(crate) enum Command {
    Allocate {
        identifier: String,
        reply: oneshot::Sender<Result<Binding, AllocError>>,
    },
    Stop {
        identifier: String,
        reply: oneshot::Sender<Option<SessionId>>,
    },
    Update(Box<PoolSpec>, Option<oneshot::Sender<u64>>),
    Delete,
    Shutdown,
    Sync(oneshot::Sender<()>),
    Leftovers(Vec<super::logs::LeftoverSession>),
}

/// Request times recorded by the data plane, not yet folded into the core (see the module
/// docs): identifier -> time of its latest request.
#[derive(Debug, Default)]
struct TouchBoard {
    latest: Mutex<HashMap<String, OffsetDateTime>>,
}

impl TouchBoard {
    fn record(&self, identifier: &str, at: OffsetDateTime) {
        let mut latest = self.latest.lock();
        match latest.get_mut(identifier) {
            Some(t) => {
                if at > *t {
                    *t = at;
                }
            }
            None => {
                latest.insert(identifier.to_string(), at);
            }
        }
    }

    fn take(&self) -> HashMap<String, OffsetDateTime> {
        let mut latest = self.latest.lock();
        if latest.is_empty() {
            return HashMap::new();
        }
        std::mem::take(&mut *latest)
    }
}

/// A handle to a running pool actor. Cheap to clone.
#[derive(Clone)]
pub struct PoolHandle {
    ctx: Arc<PoolContext>,
    tx: mpsc::UnboundedSender<Command>,
    snapshot: watch::Receiver<Arc<PoolSnapshot>>,
    touches: Arc<TouchBoard>,
    clock: crate::clock::SharedClock,
    controls: super::supervisor::Controls,
}

impl std::fmt::Debug for PoolHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolHandle")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

/// Why a command could not run in a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// No session is bound to the identifier.
    #[error("no session is bound to identifier '{0}'")]
    NoSession(String),
    /// The backend could not run it (or the session ended meanwhile).
    #[error("{0}")]
    Failed(String),
}

impl PoolHandle {
    /// Runs `argv` in the main container of the session bound to `identifier` (a request to
    /// that session: its cooldown restarts) and returns its output.
    pub async fn exec(
        &self,
        identifier: &str,
        argv: Vec<String>,
        timeout: Duration,
    ) -> Result<crate::vm::ExecOutput, ExecError> {
        let session = match self.route(identifier) {
            Some((session, _)) => session,
            // Just allocated: the published snapshot may not show the binding yet.
            None => self
                .fresh_snapshot()
                .await
                .bindings
                .get(identifier)
                .map(|(s, _)| s.clone())
                .ok_or_else(|| ExecError::NoSession(identifier.to_string()))?,
        };
        self.touch(identifier);
        let control = self
            .controls
            .lock()
            .get(&session)
            .cloned()
            .ok_or_else(|| ExecError::NoSession(identifier.to_string()))?;
        control.exec(argv, timeout).await.map_err(ExecError::Failed)
    }

    /// Who the pool is.
    pub fn context(&self) -> &Arc<PoolContext> {
        &self.ctx
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<PoolSnapshot> {
        self.snapshot.borrow().clone()
    }

    /// A receiver of snapshots (for waiting on conditions).
    pub fn subscribe(&self) -> watch::Receiver<Arc<PoolSnapshot>> {
        self.snapshot.clone()
    }

    /// A snapshot that includes every command sent before this call (e.g. the last request
    /// times recorded by [`Self::touch`], which do not publish on their own).
    pub async fn fresh_snapshot(&self) -> Arc<PoolSnapshot> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Sync(tx)).is_ok() {
            let _ = rx.await;
        }
        self.snapshot()
    }

    /// The address of the session bound to `identifier` (fast path, no actor round trip).
    pub fn route(&self, identifier: &str) -> Option<(SessionId, SocketAddr)> {
        self.snapshot.borrow().bindings.get(identifier).cloned()
    }

    /// Records a request for `identifier` now (pushes a Timed session's expiry out). Costs one
    /// short lock; the actor picks it up the next time it wakes (see the module docs).
    pub fn touch(&self, identifier: &str) {
        self.touches.record(identifier, self.clock.now());
    }

    /// Binds `identifier` to a session (or returns the bound one), waiting up to `wait` for a
    /// ready session when none is ready yet.
    pub async fn allocate(&self, identifier: &str, wait: Duration) -> Result<Binding, AllocError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Allocate {
                identifier: identifier.to_string(),
                reply,
            })
            .map_err(|_| AllocError::Deleted)?;
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(AllocError::Deleted),
            Err(_) => Err(AllocError::NoneReady),
        }
    }

    /// Stops the session bound to `identifier`; `None` when nothing is bound.
    pub async fn stop(&self, identifier: &str) -> Option<SessionId> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Stop {
                identifier: identifier.to_string(),
                reply,
            })
            .ok()?;
        rx.await.ok().flatten()
    }

    /// Applies a new spec (limits and/or template).
    pub fn update(&self, spec: PoolSpec) {
        let _ = self.tx.send(Command::Update(Box::new(spec), None));
    }

    /// Applies a new spec and waits for its outcome: `Succeeded` once the ready set of the (new)
    /// template is up, `Failed` when its sessions keep failing to start.
    pub async fn update_and_wait(&self, spec: PoolSpec) -> Provisioning {
        let (ack, rx) = oneshot::channel();
        if self
            .tx
            .send(Command::Update(Box::new(spec), Some(ack)))
            .is_err()
        {
            return Provisioning::Deleting;
        }
        let Ok(n) = rx.await else {
            return Provisioning::Deleting;
        };
        if !self.wait_for(|s| s.updates >= n).await {
            return Provisioning::Deleting;
        }
        self.wait_provisioned().await
    }

    /// Stops every session; resolves once all are stopped and the actor has ended.
    pub async fn delete(&self) {
        let _ = self.tx.send(Command::Delete);
        self.tx.closed().await;
    }

    /// Emulator shutdown: stops every session without recording their end (they stay in the
    /// live-session table and are reconciled as `EmulatorRestart` at the next start).
    /// Resolves once every session is stopped.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Command::Shutdown);
        self.tx.closed().await;
    }

    /// Waits until provisioning leaves `InProgress` and returns the outcome.
    pub async fn wait_provisioned(&self) -> Provisioning {
        let mut rx = self.snapshot.clone();
        loop {
            let p = rx.borrow_and_update().provisioning.clone();
            if p != Provisioning::InProgress {
                return p;
            }
            if rx.changed().await.is_err() {
                return Provisioning::Deleting;
            }
        }
    }

    /// Waits until `f(snapshot)` holds (or the actor ends: then returns false).
    pub async fn wait_for(&self, f: impl Fn(&PoolSnapshot) -> bool) -> bool {
        let mut rx = self.snapshot.clone();
        loop {
            if f(&rx.borrow_and_update()) {
                return true;
            }
            if rx.changed().await.is_err() {
                return false;
            }
        }
    }

    pub(crate) fn send(&self, c: Command) {
        let _ = self.tx.send(c);
    }
}

/// Starts the actor of a pool and boots its ready set.
pub fn start(ctx: Arc<PoolContext>, spec: PoolSpec, deps: SupDeps) -> PoolHandle {
    let controls = deps.controls.clone();
    let scale = deps.scale;
    let now = deps.clock.now();
    let prefix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let core = PoolCore::new(spec.limits(scale), prefix);
    let (tx, rx) = mpsc::unbounded_channel();
    let (sup_tx, sup_rx) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = watch::channel(Arc::new(PoolSnapshot {
        provisioning: Provisioning::InProgress,
        limits: core.limits(),
        generation: core.generation(),
        sessions: Vec::new(),
        bindings: HashMap::new(),
        last_error: None,
        deleted: false,
        updates: 0,
        failures: Default::default(),
    }));
    let mut templates = HashMap::new();
    templates.insert(core.generation(), Arc::new(spec.template.clone()));
    let touches = Arc::new(TouchBoard::default());
    let clock = deps.clock.clone();
    let actor = Actor {
        ctx: ctx.clone(),
        touches: touches.clone(),
        deps,
        scale,
        core,
        spec,
        templates,
        stops: HashMap::new(),
        identifiers: HashMap::new(),
        waiters: VecDeque::new(),
        sup_tx,
        snap_tx,
        last_error: None,
        updates: 0,
        syncs: Vec::new(),
        last_allocation: None,
    };
    tokio::spawn(actor.run(rx, sup_rx, now));
    PoolHandle {
        ctx,
        tx,
        snapshot: snap_rx,
        touches,
        clock,
        controls,
    }
}

type Waiter = (String, oneshot::Sender<Result<Binding, AllocError>>);

struct Actor {
    ctx: Arc<PoolContext>,
    touches: Arc<TouchBoard>,
    deps: SupDeps,
    scale: TimeScale,
    core: PoolCore,
    spec: PoolSpec,
    templates: HashMap<u64, Arc<Template>>,
    stops: HashMap<SessionId, oneshot::Sender<()>>,
    identifiers: HashMap<SessionId, Arc<Mutex<Option<String>>>>,
    waiters: VecDeque<Waiter>,
    sup_tx: mpsc::UnboundedSender<(SessionId, SupEvent)>,
    snap_tx: watch::Sender<Arc<PoolSnapshot>>,
    last_error: Option<String>,
    updates: u64,
    syncs: Vec<oneshot::Sender<()>>,
    /// When the latest new binding was made (real time; see [`REFILL_DELAY`]).
    last_allocation: Option<std::time::Instant>,
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Command>,
        mut sup_rx: mpsc::UnboundedReceiver<(SessionId, SupEvent)>,
        now: OffsetDateTime,
    ) {
        self.pool_event(
            now,
            "PoolCreated",
            Level::Info,
            "session pool created; booting the ready set".into(),
        );
        self.core.reconcile(now);
        self.apply();
        let mut commands_open = true;
        loop {
            let deadline = self.core.next_deadline();
            let clock = self.deps.clock.clone();
            let timer = async move {
                match deadline {
                    Some(d) => clock.sleep_until(d).await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv(), if commands_open => match cmd {
                    Some(Command::Shutdown) => {
                        self.shutdown(&mut sup_rx).await;
                        break;
                    }
                    Some(c) => {
                        self.fold_touches();
                        self.command(c);
                    }
                    None => {
                        // Every handle is gone: treat as delete.
                        commands_open = false;
                        let now = self.deps.clock.now();
                        self.core.delete(now);
                    }
                },
                Some((id, ev)) = sup_rx.recv() => {
                    self.fold_touches();
                    self.supervisor(id, ev);
                }
                _ = timer => {
                    self.fold_touches();
                    let now = self.deps.clock.now();
                    self.core.tick(now);
                }
            }
            self.apply();
            self.serve_waiters();
            self.apply();
            self.publish();
            for s in self.syncs.drain(..) {
                let _ = s.send(());
            }
            if self.core.is_drained() {
                break;
            }
        }
        if let Some(logs) = &self.deps.logs {
            logs.flush().await;
        }
        // Dropping `rx` here closes the command channel: `PoolHandle::delete` returns.
    }

    /// Stops every supervisor and waits for each to report `Stopped`; records nothing.
    async fn shutdown(&mut self, sup_rx: &mut mpsc::UnboundedReceiver<(SessionId, SupEvent)>) {
        let mut pending: std::collections::HashSet<SessionId> =
            self.stops.keys().cloned().collect();
        for (_, tx) in self.stops.drain() {
            let _ = tx.send(());
        }
        // Sessions already stopping report too.
        pending.extend(
            self.core
                .sessions()
                .filter(|s| matches!(s.state, SessionState::Stopping(_)))
                .map(|s| s.id.clone()),
        );
        for (_, reply) in self.waiters.drain(..) {
            let _ = reply.send(Err(AllocError::Deleted));
        }
        while !pending.is_empty() {
            match sup_rx.recv().await {
                Some((id, SupEvent::Stopped)) => {
                    pending.remove(&id);
                }
                Some(_) => {}
                None => break,
            }
        }
        if let Some(logs) = &self.deps.logs {
            logs.flush().await;
        }
    }

    fn command(&mut self, c: Command) {
        let now = self.deps.clock.now();
        match c {
            Command::Allocate { identifier, reply } => match self.core.allocate(&identifier, now) {
                Ok((session, new)) => {
                    if new {
                        self.last_allocation = Some(std::time::Instant::now());
                    }
                    let _ = reply.send(self.binding(&session, new));
                }
                Err(AllocError::NoneReady) => self.waiters.push_back((identifier, reply)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Stop { identifier, reply } => {
                let _ = reply.send(self.core.stop(&identifier, now));
            }
            Command::Update(spec, ack) => {
                self.updates += 1;
                if let Some(ack) = ack {
                    let _ = ack.send(self.updates);
                }
                let template_changed = spec.template != self.spec.template;
                let limits = spec.limits(self.scale);
                self.spec = *spec;
                self.core.update(limits, template_changed, now);
                self.templates
                    .insert(self.core.generation(), Arc::new(self.spec.template.clone()));
                self.pool_event(
                    now,
                    "PoolUpdated",
                    Level::Info,
                    if template_changed {
                        "session pool updated: the container template changed; replacing ready sessions".into()
                    } else {
                        "session pool updated".into()
                    },
                );
            }
            Command::Delete => {
                self.pool_event(
                    now,
                    "PoolDeleted",
                    Level::Info,
                    "session pool deleted; stopping every session".into(),
                );
                self.core.delete(now);
                for (_, reply) in self.waiters.drain(..) {
                    let _ = reply.send(Err(AllocError::Deleted));
                }
            }
            Command::Shutdown => {}
            Command::Sync(reply) => self.syncs.push(reply),
            Command::Leftovers(list) => {
                for l in list {
                    let log = format!(
                        "session {} (state {}, identifier {}) ended: EmulatorRestart (it was running when the emulator stopped)",
                        l.session_id,
                        l.state,
                        l.identifier.as_deref().unwrap_or("-")
                    );
                    self.row(
                        EventTable::PoolEvent,
                        now,
                        "SessionEnded",
                        Level::Warning,
                        log.clone(),
                        Some(l.session_id.clone()),
                        l.identifier.clone(),
                    );
                    if l.identifier.is_some() {
                        self.row(
                            EventTable::Lifecycle,
                            now,
                            "SessionEnded",
                            Level::Warning,
                            log,
                            Some(l.session_id),
                            l.identifier,
                        );
                    }
                }
            }
        }
    }

    /// Applies the request times recorded by [`PoolHandle::touch`] since the last call.
    /// A time older than the bound session's last recorded access (e.g. one that belongs to an
    /// earlier session of the identifier) changes nothing.
    fn fold_touches(&mut self) {
        for (identifier, at) in self.touches.take() {
            let current = self
                .core
                .bound(&identifier)
                .is_some_and(|s| s.last_accessed_at.is_none_or(|l| at > l));
            if current {
                self.core.touch(&identifier, at);
            }
        }
    }

    fn binding(&self, session: &str, new: bool) -> Result<Binding, AllocError> {
        let address = self
            .core
            .session(session)
            .and_then(|s| s.address)
            .ok_or(AllocError::NoneReady)?;
        Ok(Binding {
            session: session.to_string(),
            address,
            new,
        })
    }

    fn serve_waiters(&mut self) {
        let now = self.deps.clock.now();
        if self.core.count(SessionState::Booting) == 0 && self.core.count(SessionState::Ready) == 0
        {
            // Nothing is on its way (e.g. backing off after start failures): answer now.
            for (_, reply) in self.waiters.drain(..) {
                let _ = reply.send(Err(AllocError::NoneReady));
            }
            return;
        }
        while let Some((identifier, reply)) = self.waiters.pop_front() {
            if reply.is_closed() {
                continue;
            }
            match self.core.allocate(&identifier, now) {
                Ok((session, new)) => {
                    if new {
                        self.last_allocation = Some(std::time::Instant::now());
                    }
                    let _ = reply.send(self.binding(&session, new));
                }
                Err(AllocError::NoneReady) => {
                    self.waiters.push_front((identifier, reply));
                    break;
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }

    fn supervisor(&mut self, id: SessionId, ev: SupEvent) {
        let now = self.deps.clock.now();
        match ev {
            SupEvent::Ready(addr) => self.core.on_ready(&id, addr, now),
            SupEvent::StartFailed(failure) => {
                self.last_error = Some(failure.message.clone());
                self.core.on_start_failed(&id, failure, now);
            }
            SupEvent::Exited(status) => {
                let code = status.code().unwrap_or(-1);
                if let Some(s) = self.core.session(&id) {
                    if s.state == SessionState::Booting {
                        let m =
                            format!("the container {} before it became ready", describe(&status));
                        self.last_error = Some(m.clone());
                        self.core
                            .on_start_failed(&id, StartFailure::never_ready(m), now);
                        return;
                    }
                }
                self.core.on_exited(&id, code, now);
            }
            SupEvent::Unhealthy(message) => {
                self.last_error = Some(message.clone());
                self.core.on_unhealthy(&id, message, now);
            }
            SupEvent::ProbeFailed(message) => {
                let identifier = self.core.session(&id).and_then(|s| s.identifier.clone());
                self.row(
                    EventTable::PoolEvent,
                    now,
                    "ProbeFailed",
                    Level::Warning,
                    message,
                    Some(id),
                    identifier,
                );
            }
            SupEvent::Stopped => {
                self.stops.remove(&id);
                self.identifiers.remove(&id);
                self.core.on_stopped(&id, now);
            }
        }
    }

    /// Executes the core's effects until there are none left.
    fn apply(&mut self) {
        loop {
            let effects = self.core.take_effects();
            if effects.is_empty() {
                return;
            }
            for e in effects {
                match e {
                    Effect::Boot {
                        session,
                        generation,
                    } => self.boot(session, generation),
                    Effect::Stop { session, .. } => {
                        if let Some(tx) = self.stops.remove(&session) {
                            let _ = tx.send(());
                        }
                    }
                    Effect::Transition(t) => self.transition(t),
                    Effect::Provisioning(p) => self.provisioning(p),
                }
            }
        }
    }

    fn boot(&mut self, session: SessionId, generation: u64) {
        let template = self
            .templates
            .get(&generation)
            .cloned()
            .unwrap_or_else(|| Arc::new(self.spec.template.clone()));
        let (stop_tx, stop_rx) = oneshot::channel();
        let identifier = Arc::new(Mutex::new(None));
        self.stops.insert(session.clone(), stop_tx);
        self.identifiers.insert(session.clone(), identifier.clone());
        let others_ready = self.core.count(SessionState::Ready) > 0 && self.waiters.is_empty();
        let start_delay = match self.last_allocation {
            Some(at) if others_ready => REFILL_DELAY.saturating_sub(at.elapsed()),
            _ => Duration::ZERO,
        };
        supervisor::spawn(
            start_delay,
            self.deps.clone(),
            self.ctx.clone(),
            template,
            session,
            identifier,
            self.sup_tx.clone(),
            stop_rx,
        );
    }

    fn transition(&mut self, t: Transition) {
        tracing::debug!(pool = %self.ctx.name(), session = %t.session, from = ?t.from, to = ?t.to, "{}", t.message);
        if t.to == SessionState::Allocated {
            if let Some(slot) = self.identifiers.get(&t.session) {
                *slot.lock() = t.identifier.clone();
            }
        }
        let (op, level) = match t.to {
            SessionState::Booting => ("SessionCreating", Level::Info),
            SessionState::Ready => ("SessionReady", Level::Info),
            SessionState::Allocated => ("SessionAllocated", Level::Info),
            SessionState::Stopping(r) => (stopping_op(r), stopping_level(r)),
            SessionState::Ended(_) => ("SessionDeleted", Level::Info),
        };
        let log = match t.to {
            SessionState::Stopping(r) | SessionState::Ended(r) => {
                format!(
                    "session {} {}: {} ({})",
                    t.session,
                    t.to.name(),
                    r,
                    t.message
                )
            }
            _ => format!("session {} {}: {}", t.session, t.to.name(), t.message),
        };
        self.row(
            EventTable::PoolEvent,
            t.at,
            op,
            level,
            log.clone(),
            Some(t.session.clone()),
            t.identifier.clone(),
        );
        // Lifecycle logs: allocation and the end of allocated sessions.
        let lifecycle = t.to == SessionState::Allocated
            || (matches!(t.to, SessionState::Stopping(_))
                && t.from == Some(SessionState::Allocated));
        if lifecycle {
            self.row(
                EventTable::Lifecycle,
                t.at,
                op,
                level,
                log,
                Some(t.session.clone()),
                t.identifier.clone(),
            );
        }
        if let Some(logs) = &self.deps.logs {
            match t.to {
                SessionState::Ended(_) => logs.send(LogRow::Gone {
                    session_id: t.session,
                }),
                s => logs.send(LogRow::Live {
                    pool: self.ctx.clone(),
                    session_id: t.session,
                    state: s.name(),
                    identifier: t.identifier,
                    time: t.at,
                }),
            }
        }
    }

    fn provisioning(&mut self, p: Provisioning) {
        let now = self.deps.clock.now();
        match &p {
            Provisioning::Succeeded => self.pool_event(
                now,
                "ProvisioningSucceeded",
                Level::Info,
                "the ready set is up".into(),
            ),
            Provisioning::Failed(failure) => self.pool_event(
                now,
                "ProvisioningFailed",
                Level::Error,
                format!("sessions of the pool keep failing to start: {failure}"),
            ),
            Provisioning::InProgress | Provisioning::Deleting => {}
        }
    }

    fn pool_event(&self, now: OffsetDateTime, op: &str, level: Level, log: String) {
        self.row(EventTable::PoolEvent, now, op, level, log, None, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        table: EventTable,
        time: OffsetDateTime,
        op: &str,
        level: Level,
        log: String,
        session_id: Option<String>,
        identifier: Option<String>,
    ) {
        if let Some(logs) = &self.deps.logs {
            logs.send(LogRow::Event {
                table,
                pool: self.ctx.clone(),
                time,
                operation: op.to_string(),
                log,
                level,
                session_id,
                identifier,
            });
        }
    }

    fn publish(&self) {
        let sessions: Vec<Session> = {
            let mut v: Vec<Session> = self.core.sessions().cloned().collect();
            v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            v
        };
        let bindings = sessions
            .iter()
            .filter(|s| s.state == SessionState::Allocated)
            .filter_map(|s| Some((s.identifier.clone()?, (s.id.clone(), s.address?))))
            .collect();
        let snap = PoolSnapshot {
            provisioning: self.core.provisioning().clone(),
            limits: self.core.limits(),
            generation: self.core.generation(),
            sessions,
            bindings,
            last_error: self.last_error.clone(),
            deleted: self.core.is_deleted(),
            updates: self.updates,
            failures: self.core.failure_counts().clone(),
        };
        self.snap_tx.send_replace(Arc::new(snap));
    }
}

fn stopping_op(r: EndReason) -> &'static str {
    match r {
        EndReason::Expired => "SessionExpired",
        EndReason::Stopped => "SessionStopped",
        EndReason::Exited(_) => "SessionExited",
        EndReason::Unhealthy => "SessionUnhealthy",
        EndReason::Replaced => "SessionReplaced",
        EndReason::PoolDeleted => "SessionPoolDeleted",
        EndReason::EmulatorRestart => "SessionEnded",
        EndReason::StartFailed => "SessionStartFailed",
    }
}

fn stopping_level(r: EndReason) -> Level {
    match r {
        EndReason::Unhealthy | EndReason::StartFailed => Level::Warning,
        EndReason::Exited(c) if c != 0 => Level::Warning,
        _ => Level::Info,
    }
}
