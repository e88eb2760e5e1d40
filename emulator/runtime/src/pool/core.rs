//! The pure pool state machine ("sans-IO" core). It owns the sessions of one pool and decides
//! every transition; it never awaits, never touches a backend and never reads a clock: callers
//! pass `now` in and execute the returned [`Effect`]s. The actor ([`super::actor`]) is the only
//! caller in production; the property test at the foot of this file drives it with random
//! operation sequences.
//!
//! # Capacity rule
//!
//! `maxConcurrentSessions` bounds the number of **allocated** sessions (bound to an identifier).
//! The ready set is kept at `min(readySessionInstances, maxConcurrentSessions - allocated)`
//! sessions (Booting + Ready of the current template), so the pool never runs more live sessions
//! than `maxConcurrentSessions`: a ready session that could never be allocated is not kept warm.
//! A full pool has no ready sessions; stopping one frees room and a replacement boots at once.
//! Sessions being stopped count toward nothing.
//!
//! # Template changes
//!
//! A new container template bumps the generation: ready and booting sessions of older
//! generations are stopped at once (`Replaced`) and new ones boot; allocated sessions keep
//! running on their template until they end.
//!
//! # Start failures
//!
//! A session that fails to start ends with `StartFailed`. After [`START_FAILURE_LIMIT`]
//! consecutive failures without a success, a pool still provisioning goes `Failed` with the last
//! error, and refills back off exponentially (up to [`MAX_BACKOFF`]) so a crash-looping image
//! does not spin. The first session that becomes ready resets the count.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use time::OffsetDateTime;

use super::failure::StartFailure;
use super::session::{EndReason, Session, SessionId, SessionState};

/// Consecutive start failures after which a provisioning pool is `Failed`.
pub const START_FAILURE_LIMIT: u32 = 3;
/// Longest pause between refill attempts of a failing pool.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How allocated sessions end by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Ends `cooldown` after the last request.
    Timed {
        /// Idle time (already time-scaled).
        cooldown: Duration,
    },
    /// Ends when the container exits or `max_alive` after allocation.
    OnContainerExit {
        /// Maximum age after allocation (already time-scaled).
        max_alive: Duration,
    },
}

/// The numbers of a pool that the core enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `maxConcurrentSessions`.
    pub max_concurrent: u32,
    /// `readySessionInstances`.
    pub ready_instances: u32,
    /// Lifecycle.
    pub lifecycle: Lifecycle,
}

/// The pool's provisioning as ARM shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioning {
    /// The (new) ready set is not up yet.
    InProgress,
    /// The ready set of the current template is up.
    Succeeded,
    /// Sessions of the current template kept failing to start: the last failure.
    Failed(StartFailure),
    /// The pool is being deleted.
    Deleting,
}

/// Something the caller must do after a core call.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask the backend to start a session of this template generation.
    Boot {
        /// New session id.
        session: SessionId,
        /// Template generation.
        generation: u64,
    },
    /// Ask the backend to stop this session (grace, then kill), then call
    /// [`PoolCore::on_stopped`].
    Stop {
        /// Session id.
        session: SessionId,
        /// Why.
        reason: EndReason,
    },
    /// A transition happened; persist/log it.
    Transition(Transition),
    /// The pool's provisioning state changed.
    Provisioning(Provisioning),
}

/// One state change of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When.
    pub at: OffsetDateTime,
    /// Session id.
    pub session: SessionId,
    /// Bound identifier, if any (before or after the change).
    pub identifier: Option<String>,
    /// Template generation of the session.
    pub generation: u64,
    /// State before (`None` for a new session).
    pub from: Option<SessionState>,
    /// State after.
    pub to: SessionState,
    /// Human-readable detail (error text, exit code, probe output).
    pub message: String,
}

/// Why an allocation could not be served right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// `maxConcurrentSessions` sessions are allocated.
    #[error(
        "the pool has reached maxConcurrentSessions ({max}); stop a session or wait for one to end"
    )]
    PoolFull {
        /// The limit.
        max: u32,
    },
    /// There is room, but no session is ready yet (one is booting, or the pool keeps failing).
    #[error("no ready session is available yet; retry shortly")]
    NoneReady,
    /// The pool is being deleted.
    #[error("the pool is being deleted")]
    Deleted,
}

/// Failed sessions of one template generation, as the `templateUpdateStatus` of a pool shows
/// them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureCounts {
    /// Sessions whose image could not be resolved or pulled.
    pub image_pull: u32,
    /// Sessions that could not start, exited before they were ready, exited on their own while
    /// ready, or failed their Liveness probe.
    pub crash: u32,
}

/// How many generations keep their [`FailureCounts`] (the current one and the one before:
/// a roll-out shows both).
const FAILURE_GENERATIONS: usize = 2;

/// The state of one pool.
#[derive(Debug)]
pub struct PoolCore {
    limits: Limits,
    generation: u64,
    id_prefix: String,
    next_seq: u64,
    sessions: BTreeMap<SessionId, Session>,
    bindings: HashMap<String, SessionId>,
    /// Ready sessions in the order they became ready (oldest first).
    ready_order: VecDeque<SessionId>,
    start_failures: u32,
    backoff_until: Option<OffsetDateTime>,
    provisioning: Provisioning,
    deleted: bool,
    failures: BTreeMap<u64, FailureCounts>,
    effects: Vec<Effect>,
}

impl PoolCore {
    /// A new pool; call [`Self::reconcile`] to boot its ready set.
    /// `id_prefix` makes session ids unique across emulator runs.
    pub fn new(limits: Limits, id_prefix: impl Into<String>) -> Self {
        Self {
            limits,
            generation: 1,
            id_prefix: id_prefix.into(),
            next_seq: 1,
            sessions: BTreeMap::new(),
            bindings: HashMap::new(),
            ready_order: VecDeque::new(),
            start_failures: 0,
            backoff_until: None,
            provisioning: Provisioning::InProgress,
            deleted: false,
            failures: BTreeMap::new(),
            effects: Vec::new(),
        }
    }

    /// Failed sessions per template generation (the current generation and the one before).
    pub fn failure_counts(&self) -> &BTreeMap<u64, FailureCounts> {
        &self.failures
    }

    fn count_failure(&mut self, generation: u64, image: bool) {
        let c = self.failures.entry(generation).or_default();
        if image {
            c.image_pull += 1;
        } else {
            c.crash += 1;
        }
        while self.failures.len() > FAILURE_GENERATIONS {
            let oldest = *self.failures.keys().next().unwrap_or(&generation);
            self.failures.remove(&oldest);
        }
    }

    /// Takes the effects accumulated since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Current limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Current template generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Provisioning state.
    pub fn provisioning(&self) -> &Provisioning {
        &self.provisioning
    }

    /// True once [`Self::delete`] was called.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// All sessions that have not ended (including Stopping ones).
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    /// One session.
    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id)
    }

    /// The session bound to `identifier`.
    pub fn bound(&self, identifier: &str) -> Option<&Session> {
        self.bindings
            .get(identifier)
            .and_then(|id| self.sessions.get(id))
    }

    /// Number of sessions in `state` (by name; Stopping/Ended reasons ignored).
    pub fn count(&self, state: SessionState) -> usize {
        self.sessions
            .values()
            .filter(|s| s.state.name() == state.name())
            .count()
    }

    /// Allocated sessions.
    pub fn allocated(&self) -> u32 {
        self.count(SessionState::Allocated) as u32
    }

    /// How many Booting+Ready sessions of the current template the pool wants.
    pub fn warm_target(&self) -> u32 {
        let room = self.limits.max_concurrent.saturating_sub(self.allocated());
        self.limits.ready_instances.min(room)
    }

    fn warm(&self) -> u32 {
        self.sessions
            .values()
            .filter(|s| {
                s.generation == self.generation
                    && matches!(s.state, SessionState::Booting | SessionState::Ready)
            })
            .count() as u32
    }

    fn ready_current(&self) -> u32 {
        self.sessions
            .values()
            .filter(|s| s.generation == self.generation && s.state == SessionState::Ready)
            .count() as u32
    }

    /// The earliest time at which [`Self::tick`] has work: an expiry or the end of a backoff.
    pub fn next_deadline(&self) -> Option<OffsetDateTime> {
        let expiry = self
            .sessions
            .values()
            .filter(|s| s.state == SessionState::Allocated)
            .filter_map(|s| s.expires_at)
            .min();
        match (expiry, self.backoff_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Ends expired sessions, lifts an elapsed backoff and refills.
    pub fn tick(&mut self, now: OffsetDateTime) {
        let expired: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|s| s.state == SessionState::Allocated)
            .filter(|s| s.expires_at.is_some_and(|e| e <= now))
            .map(|s| s.id.clone())
            .collect();
        for id in expired {
            self.begin_stop(
                &id,
                EndReason::Expired,
                now,
                "the session reached its expiry".into(),
            );
        }
        if self.backoff_until.is_some_and(|b| b <= now) {
            self.backoff_until = None;
        }
        self.reconcile(now);
    }

    /// Boots sessions up to the warm target and stops surplus warm ones.
    pub fn reconcile(&mut self, now: OffsetDateTime) {
        if self.deleted {
            return;
        }
        let target = self.warm_target();
        let mut warm = self.warm();
        // Surplus (limits lowered, or allocations took the room): stop booting ones first,
        // then the newest ready ones.
        if warm > target {
            let mut surplus: Vec<(bool, OffsetDateTime, SessionId)> = self
                .sessions
                .values()
                .filter(|s| {
                    s.generation == self.generation
                        && matches!(s.state, SessionState::Booting | SessionState::Ready)
                })
                .map(|s| (s.state == SessionState::Ready, s.created_at, s.id.clone()))
                .collect();
            surplus.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            for (_, _, id) in surplus.into_iter().take((warm - target) as usize) {
                self.begin_stop(
                    &id,
                    EndReason::Replaced,
                    now,
                    "more ready sessions than the pool needs".into(),
                );
            }
            warm = target;
        }
        if self.backoff_until.is_some() {
            return;
        }
        while warm < target {
            let id = format!("{}-{}", self.id_prefix, self.next_seq);
            self.next_seq += 1;
            let session = Session {
                id: id.clone(),
                generation: self.generation,
                state: SessionState::Booting,
                identifier: None,
                created_at: now,
                allocated_at: None,
                last_accessed_at: None,
                expires_at: None,
                address: None,
            };
            self.sessions.insert(id.clone(), session);
            self.effects.push(Effect::Boot {
                session: id.clone(),
                generation: self.generation,
            });
            self.transition(
                &id,
                None,
                SessionState::Booting,
                now,
                "session requested".into(),
            );
            warm += 1;
        }
        self.check_provisioned();
    }

    fn check_provisioned(&mut self) {
        if self.deleted {
            return;
        }
        if self.provisioning == Provisioning::InProgress
            && self.ready_current() >= self.warm_target()
        {
            self.set_provisioning(Provisioning::Succeeded);
        }
    }

    fn set_provisioning(&mut self, p: Provisioning) {
        if self.provisioning != p {
            self.provisioning = p.clone();
            self.effects.push(Effect::Provisioning(p));
        }
    }

    fn transition(
        &mut self,
        id: &str,
        from: Option<SessionState>,
        to: SessionState,
        at: OffsetDateTime,
        message: String,
    ) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        self.effects.push(Effect::Transition(Transition {
            at,
            session: id.to_string(),
            identifier: s.identifier.clone(),
            generation: s.generation,
            from,
            to,
            message,
        }));
    }

    /// The backend started the session at `address` and its Startup probe (or the default
    /// target-port check) passed.
    pub fn on_ready(&mut self, id: &str, address: std::net::SocketAddr, now: OffsetDateTime) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        if s.state != SessionState::Booting {
            return;
        }
        s.state = SessionState::Ready;
        s.address = Some(address);
        self.ready_order.push_back(id.to_string());
        self.start_failures = 0;
        self.backoff_until = None;
        self.transition(
            id,
            Some(SessionState::Booting),
            SessionState::Ready,
            now,
            "startup probe passed".into(),
        );
        if matches!(self.provisioning, Provisioning::Failed { .. }) {
            // A late success: the pool works after all.
            self.set_provisioning(Provisioning::Succeeded);
        }
        self.reconcile(now);
    }

    /// The session could not be started or never passed its Startup probe.
    pub fn on_start_failed(&mut self, id: &str, failure: StartFailure, now: OffsetDateTime) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        if s.state != SessionState::Booting {
            return;
        }
        let current = s.generation == self.generation;
        let generation = s.generation;
        self.count_failure(
            generation,
            failure.kind == super::failure::FailureKind::ImageUnavailable,
        );
        self.begin_stop(id, EndReason::StartFailed, now, failure.message.clone());
        if current && !self.deleted {
            self.start_failures += 1;
            if self.start_failures >= START_FAILURE_LIMIT {
                if self.provisioning == Provisioning::InProgress {
                    self.set_provisioning(Provisioning::Failed(failure));
                }
                let exp = (self.start_failures - START_FAILURE_LIMIT).min(5);
                let delay = Duration::from_secs(1u64 << exp).min(MAX_BACKOFF);
                self.backoff_until = Some(now + delay);
            }
        }
        self.reconcile(now);
    }

    /// The container exited by itself.
    pub fn on_exited(&mut self, id: &str, code: i32, now: OffsetDateTime) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        match s.state {
            SessionState::Booting => self.on_start_failed(
                id,
                StartFailure::never_ready(format!(
                    "the container exited with code {code} before it became ready"
                )),
                now,
            ),
            SessionState::Ready | SessionState::Allocated => {
                if code != 0 {
                    let generation = s.generation;
                    self.count_failure(generation, false);
                }
                self.begin_stop(
                    id,
                    EndReason::Exited(code),
                    now,
                    format!("the container exited with code {code}"),
                );
                self.reconcile(now);
            }
            SessionState::Stopping(_) | SessionState::Ended(_) => {}
        }
    }

    /// The Liveness probe failed `failureThreshold` times in a row.
    pub fn on_unhealthy(&mut self, id: &str, message: String, now: OffsetDateTime) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        match s.state {
            SessionState::Booting => {
                self.on_start_failed(id, StartFailure::never_ready(message), now)
            }
            SessionState::Ready | SessionState::Allocated => {
                let generation = s.generation;
                self.count_failure(generation, false);
                self.begin_stop(id, EndReason::Unhealthy, now, message);
                self.reconcile(now);
            }
            SessionState::Stopping(_) | SessionState::Ended(_) => {}
        }
    }

    /// The backend finished stopping the session; it is removed.
    pub fn on_stopped(&mut self, id: &str, now: OffsetDateTime) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let SessionState::Stopping(reason) = s.state else {
            return;
        };
        let from = s.state;
        self.transition(
            id,
            Some(from),
            SessionState::Ended(reason),
            now,
            "session removed".into(),
        );
        self.sessions.remove(id);
        self.ready_order.retain(|r| r != id);
    }

    /// Binds `identifier` to a session: the one already bound (its expiry is pushed out like any
    /// request), or the oldest ready one. Returns the session and whether it was newly bound.
    pub fn allocate(
        &mut self,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Result<(SessionId, bool), AllocError> {
        if let Some(id) = self.bindings.get(identifier).cloned() {
            self.touch(identifier, now);
            return Ok((id, false));
        }
        if self.deleted {
            return Err(AllocError::Deleted);
        }
        if self.allocated() >= self.limits.max_concurrent {
            return Err(AllocError::PoolFull {
                max: self.limits.max_concurrent,
            });
        }
        let pick = self.pick_ready().ok_or(AllocError::NoneReady)?;
        let expires_at = match self.limits.lifecycle {
            Lifecycle::Timed { cooldown } => now + cooldown,
            Lifecycle::OnContainerExit { max_alive } => now + max_alive,
        };
        if let Some(s) = self.sessions.get_mut(&pick) {
            s.state = SessionState::Allocated;
            s.identifier = Some(identifier.to_string());
            s.allocated_at = Some(now);
            s.last_accessed_at = Some(now);
            s.expires_at = Some(expires_at);
        }
        self.bindings.insert(identifier.to_string(), pick.clone());
        self.transition(
            &pick,
            Some(SessionState::Ready),
            SessionState::Allocated,
            now,
            format!("allocated to identifier {identifier}"),
        );
        self.reconcile(now);
        Ok((pick, true))
    }

    fn pick_ready(&mut self) -> Option<SessionId> {
        // Oldest ready of the current generation; older generations are already stopping.
        while let Some(id) = self.ready_order.pop_front() {
            if self
                .sessions
                .get(&id)
                .is_some_and(|s| s.state == SessionState::Ready && s.generation == self.generation)
            {
                return Some(id);
            }
        }
        None
    }

    /// A request for `identifier` arrived: Timed sessions get `now + cooldown` as expiry.
    /// Returns false when nothing is bound to it.
    pub fn touch(&mut self, identifier: &str, now: OffsetDateTime) -> bool {
        let Some(id) = self.bindings.get(identifier) else {
            return false;
        };
        let Some(s) = self.sessions.get_mut(id) else {
            return false;
        };
        s.last_accessed_at = Some(now);
        if let Lifecycle::Timed { cooldown } = self.limits.lifecycle {
            s.expires_at = Some(now + cooldown);
        }
        true
    }

    /// `.management/stopSession`: ends the session bound to `identifier`.
    /// Returns the stopped session id, or `None` when nothing is bound.
    pub fn stop(&mut self, identifier: &str, now: OffsetDateTime) -> Option<SessionId> {
        let id = self.bindings.get(identifier).cloned()?;
        self.begin_stop(
            &id,
            EndReason::Stopped,
            now,
            "stopped through .management/stopSession".into(),
        );
        self.reconcile(now);
        Some(id)
    }

    /// Applies new limits and, when `template_changed`, rolls the warm set to a new generation.
    pub fn update(&mut self, limits: Limits, template_changed: bool, now: OffsetDateTime) {
        if self.deleted {
            return;
        }
        let lifecycle_changed = self.limits.lifecycle != limits.lifecycle;
        self.limits = limits;
        if template_changed {
            self.generation += 1;
            let old: Vec<SessionId> = self
                .sessions
                .values()
                .filter(|s| matches!(s.state, SessionState::Booting | SessionState::Ready))
                .map(|s| s.id.clone())
                .collect();
            for id in old {
                self.begin_stop(
                    &id,
                    EndReason::Replaced,
                    now,
                    "the container template changed".into(),
                );
            }
            self.start_failures = 0;
            self.backoff_until = None;
        }
        if lifecycle_changed {
            // New rules apply from now on to sessions that are already allocated.
            for s in self.sessions.values_mut() {
                if s.state == SessionState::Allocated {
                    s.expires_at = Some(match limits.lifecycle {
                        Lifecycle::Timed { cooldown } => now + cooldown,
                        Lifecycle::OnContainerExit { max_alive } => {
                            s.allocated_at.unwrap_or(now) + max_alive
                        }
                    });
                }
            }
        }
        self.set_provisioning(Provisioning::InProgress);
        self.reconcile(now);
        // An update that needs no new session (e.g. only the max changed) is done at once.
        self.check_provisioned();
    }

    /// Stops every session; the pool accepts no more allocations.
    pub fn delete(&mut self, now: OffsetDateTime) {
        if self.deleted {
            return;
        }
        self.deleted = true;
        self.set_provisioning(Provisioning::Deleting);
        let all: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|s| s.state.is_live())
            .map(|s| s.id.clone())
            .collect();
        for id in all {
            self.begin_stop(
                &id,
                EndReason::PoolDeleted,
                now,
                "the pool was deleted".into(),
            );
        }
    }

    /// True when the pool is deleted and every session has been stopped.
    pub fn is_drained(&self) -> bool {
        self.deleted && self.sessions.is_empty()
    }

    fn begin_stop(&mut self, id: &str, reason: EndReason, now: OffsetDateTime, message: String) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        if !s.state.is_live() {
            return;
        }
        let from = s.state;
        let identifier = s.identifier.clone();
        s.state = SessionState::Stopping(reason);
        s.expires_at = None;
        self.transition(id, Some(from), SessionState::Stopping(reason), now, message);
        if let Some(identifier) = identifier {
            if self.bindings.get(&identifier).is_some_and(|b| b == id) {
                self.bindings.remove(&identifier);
            }
        }
        if let Some(s) = self.sessions.get_mut(id) {
            s.identifier = None;
        }
        self.effects.push(Effect::Stop {
            session: id.to_string(),
            reason,
        });
    }

    /// Checks the core's invariants; used by tests (returns the first violation).
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.allocated() > self.limits.max_concurrent {
            return Err(format!(
                "{} allocated > max {}",
                self.allocated(),
                self.limits.max_concurrent
            ));
        }
        for (identifier, id) in &self.bindings {
            let s = self
                .sessions
                .get(id)
                .ok_or_else(|| format!("{identifier} bound to missing session {id}"))?;
            if s.state != SessionState::Allocated || s.identifier.as_deref() != Some(identifier) {
                return Err(format!("{identifier} bound to {id} in state {:?}", s.state));
            }
        }
        let allocated_bound = self
            .sessions
            .values()
            .filter(|s| s.state == SessionState::Allocated)
            .count();
        if allocated_bound != self.bindings.len() {
            return Err(format!(
                "{allocated_bound} allocated sessions but {} bindings",
                self.bindings.len()
            ));
        }
        let live = self.sessions.values().filter(|s| s.state.is_live()).count() as u32;
        let older_warm = self
            .sessions
            .values()
            .filter(|s| {
                s.generation != self.generation
                    && !matches!(s.state, SessionState::Allocated | SessionState::Stopping(_))
            })
            .count();
        if older_warm > 0 {
            return Err(format!("{older_warm} warm sessions of an old template"));
        }
        if !self.deleted && live > self.limits.max_concurrent.max(self.allocated()) {
            return Err(format!(
                "{live} live sessions > max {}",
                self.limits.max_concurrent
            ));
        }
        if !self.deleted && self.backoff_until.is_none() && self.warm() != self.warm_target() {
            return Err(format!(
                "warm {} != target {}",
                self.warm(),
                self.warm_target()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::SocketAddr;

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid")
    }

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    fn timed(max: u32, ready: u32) -> Limits {
        Limits {
            max_concurrent: max,
            ready_instances: ready,
            lifecycle: Lifecycle::Timed {
                cooldown: Duration::from_secs(300),
            },
        }
    }

    /// Marks every booting session ready, as a healthy backend would.
    fn boot_all(core: &mut PoolCore, now: OffsetDateTime) {
        loop {
            let booting: Vec<_> = core
                .sessions()
                .filter(|s| s.state == SessionState::Booting)
                .map(|s| s.id.clone())
                .collect();
            if booting.is_empty() {
                return;
            }
            for id in booting {
                core.on_ready(&id, addr(), now);
            }
        }
    }

    fn stop_all(core: &mut PoolCore, now: OffsetDateTime) {
        let stopping: Vec<_> = core
            .sessions()
            .filter(|s| matches!(s.state, SessionState::Stopping(_)))
            .map(|s| s.id.clone())
            .collect();
        for id in stopping {
            core.on_stopped(&id, now);
        }
    }

    #[test]
    fn new_pool_boots_ready_set_and_succeeds() {
        let mut core = PoolCore::new(timed(5, 2), "p");
        core.reconcile(t0());
        assert_eq!(core.count(SessionState::Booting), 2);
        assert_eq!(core.provisioning(), &Provisioning::InProgress);
        boot_all(&mut core, t0());
        assert_eq!(core.provisioning(), &Provisioning::Succeeded);
        assert_eq!(core.count(SessionState::Ready), 2);
        core.check_invariants().expect("invariants");
    }

    #[test]
    fn allocation_binds_and_refills_and_reuses() {
        let mut core = PoolCore::new(timed(5, 2), "p");
        core.reconcile(t0());
        boot_all(&mut core, t0());
        let (a, new) = core.allocate("user-1", t0()).expect("allocated");
        assert!(new);
        assert_eq!(core.count(SessionState::Booting), 1, "refill");
        let (b, new) = core.allocate("user-1", t0()).expect("reused");
        assert!(!new);
        assert_eq!(a, b);
        core.check_invariants().expect("invariants");
    }

    #[test]
    fn full_pool_refuses_then_recovers_after_stop() {
        let mut core = PoolCore::new(timed(2, 1), "p");
        core.reconcile(t0());
        boot_all(&mut core, t0());
        core.allocate("a-one", t0()).expect("a");
        boot_all(&mut core, t0());
        core.allocate("b-two", t0()).expect("b");
        assert_eq!(core.warm_target(), 0);
        assert_eq!(
            core.allocate("c-three", t0()),
            Err(AllocError::PoolFull { max: 2 })
        );
        assert!(core.stop("a-one", t0()).is_some());
        assert_eq!(core.count(SessionState::Booting), 1);
        boot_all(&mut core, t0());
        core.allocate("c-three", t0()).expect("room again");
        core.check_invariants().expect("invariants");
    }

    #[test]
    fn timed_sessions_expire_after_cooldown_and_requests_push_it_out() {
        let mut core = PoolCore::new(timed(3, 1), "p");
        core.reconcile(t0());
        boot_all(&mut core, t0());
        let (id, _) = core.allocate("abcd", t0()).expect("a");
        let later = t0() + Duration::from_secs(200);
        assert!(core.touch("abcd", later));
        core.tick(t0() + Duration::from_secs(301));
        assert_eq!(
            core.session(&id).map(|s| s.state),
            Some(SessionState::Allocated)
        );
        assert_eq!(core.next_deadline(), Some(later + Duration::from_secs(300)));
        core.tick(later + Duration::from_secs(300));
        assert_eq!(
            core.session(&id).map(|s| s.state),
            Some(SessionState::Stopping(EndReason::Expired))
        );
        assert!(core.bound("abcd").is_none(), "identifier freed");
    }

    #[test]
    fn start_failures_fail_provisioning_and_back_off() {
        let mut core = PoolCore::new(timed(3, 1), "p");
        core.reconcile(t0());
        for _ in 0..START_FAILURE_LIMIT {
            let id = core
                .sessions()
                .find(|s| s.state == SessionState::Booting)
                .map(|s| s.id.clone())
                .expect("booting");
            core.on_start_failed(&id, StartFailure::image("image not found"), t0());
        }
        assert_eq!(
            core.provisioning(),
            &Provisioning::Failed(StartFailure::image("image not found"))
        );
        assert_eq!(core.count(SessionState::Booting), 0, "backing off");
        assert!(core.next_deadline().is_some());
        core.tick(t0() + MAX_BACKOFF);
        assert_eq!(core.count(SessionState::Booting), 1, "retrying");
    }

    #[test]
    fn template_update_replaces_warm_but_keeps_allocated() {
        let mut core = PoolCore::new(timed(5, 2), "p");
        core.reconcile(t0());
        boot_all(&mut core, t0());
        let (alloc, _) = core.allocate("keep-me", t0()).expect("a");
        boot_all(&mut core, t0());
        core.update(timed(5, 2), true, t0());
        assert_eq!(core.provisioning(), &Provisioning::InProgress);
        assert_eq!(
            core.session(&alloc).map(|s| s.state),
            Some(SessionState::Allocated)
        );
        assert_eq!(core.count(SessionState::Booting), 2);
        boot_all(&mut core, t0());
        stop_all(&mut core, t0());
        assert_eq!(core.provisioning(), &Provisioning::Succeeded);
        assert!(core
            .sessions()
            .filter(|s| s.state == SessionState::Ready)
            .all(|s| s.generation == 2));
        core.check_invariants().expect("invariants");
    }

    #[test]
    fn delete_stops_everything() {
        let mut core = PoolCore::new(timed(5, 2), "p");
        core.reconcile(t0());
        boot_all(&mut core, t0());
        core.allocate("abcd", t0()).expect("a");
        core.delete(t0());
        assert_eq!(core.allocate("efgh", t0()), Err(AllocError::Deleted));
        assert!(core
            .sessions()
            .all(|s| matches!(s.state, SessionState::Stopping(EndReason::PoolDeleted))));
        stop_all(&mut core, t0());
        assert!(core.is_drained());
    }

    #[derive(Debug, Clone)]
    enum Op {
        BootOne(usize),
        FailOne(usize),
        Allocate(u8),
        Request(u8),
        Stop(u8),
        Expire(u64),
        Unhealthy(usize),
        Exit(usize),
        Stopped(usize),
        Update(u32, u32, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<usize>().prop_map(Op::BootOne),
            1 => any::<usize>().prop_map(Op::FailOne),
            4 => (0u8..12).prop_map(Op::Allocate),
            2 => (0u8..12).prop_map(Op::Request),
            2 => (0u8..12).prop_map(Op::Stop),
            2 => (0u64..400).prop_map(Op::Expire),
            1 => any::<usize>().prop_map(Op::Unhealthy),
            1 => any::<usize>().prop_map(Op::Exit),
            3 => any::<usize>().prop_map(Op::Stopped),
            1 => (1u32..6, 0u32..6, any::<bool>()).prop_map(|(m, r, t)| Op::Update(m, r, t)),
        ]
    }

    fn nth(core: &PoolCore, n: usize, f: impl Fn(&Session) -> bool) -> Option<SessionId> {
        let ids: Vec<_> = core
            .sessions()
            .filter(|s| f(s))
            .map(|s| s.id.clone())
            .collect();
        (!ids.is_empty()).then(|| ids[n % ids.len()].clone())
    }

    proptest! {
        #[test]
        fn random_operations_keep_invariants(max in 1u32..6, ready in 0u32..6, ops in proptest::collection::vec(op(), 1..80)) {
            let mut core = PoolCore::new(timed(max, ready), "p");
            let mut now = t0();
            core.reconcile(now);
            for op in ops {
                match op {
                    Op::BootOne(n) => if let Some(id) = nth(&core, n, |s| s.state == SessionState::Booting) { core.on_ready(&id, addr(), now) },
                    Op::FailOne(n) => if let Some(id) = nth(&core, n, |s| s.state == SessionState::Booting) { core.on_start_failed(&id, StartFailure::backend("boom"), now) },
                    Op::Allocate(i) => {
                        let before = core.allocated();
                        match core.allocate(&format!("id-{i:02}"), now) {
                            Ok(_) => {}
                            Err(AllocError::PoolFull { .. }) => prop_assert_eq!(before, core.limits().max_concurrent),
                            Err(AllocError::NoneReady) => prop_assert_eq!(core.count(SessionState::Ready), 0),
                            Err(AllocError::Deleted) => prop_assert!(false, "not deleted"),
                        }
                    }
                    Op::Request(i) => { core.touch(&format!("id-{i:02}"), now); }
                    Op::Stop(i) => { core.stop(&format!("id-{i:02}"), now); }
                    Op::Expire(secs) => { now += Duration::from_secs(secs); core.tick(now); }
                    Op::Unhealthy(n) => if let Some(id) = nth(&core, n, |s| s.state.is_live()) { core.on_unhealthy(&id, "liveness".into(), now) },
                    Op::Exit(n) => if let Some(id) = nth(&core, n, |s| s.state.is_live()) { core.on_exited(&id, 1, now) },
                    Op::Stopped(n) => if let Some(id) = nth(&core, n, |s| matches!(s.state, SessionState::Stopping(_))) { core.on_stopped(&id, now) },
                    Op::Update(m, r, t) => { let m = m.max(core.allocated()); core.update(timed(m, r.min(m)), t, now) }
                }
                let _ = core.take_effects();
                if let Err(e) = core.check_invariants() {
                    prop_assert!(false, "{}", e);
                }
            }
            // Healthy backend from here on: the ready count is restored.
            now += MAX_BACKOFF;
            core.tick(now);
            boot_all(&mut core, now);
            prop_assert_eq!(core.count(SessionState::Ready) as u32, core.warm_target());
        }
    }
}
