//! The session state machine's vocabulary: states, end reasons and the per-session record the
//! pool core keeps. No behaviour lives here beyond naming; transitions are in [`super::core`].
//!
//! ```text
//! Booting --ready--> Ready --allocate--> Allocated --stop/expire/exit/unhealthy--> Stopping --> Ended(reason)
//!    |                  \--replaced/unhealthy/deleted--> Stopping
//!    \--start failed--> Stopping(StartFailed)
//! ```

use std::fmt;
use std::net::SocketAddr;

use serde::Serialize;
use time::OffsetDateTime;

/// Opaque id of one session (one VM); stable for its whole life. Also used as the `etag`.
pub type SessionId = String;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "reason", content = "exitCode")]
pub enum EndReason {
    /// Timed lifecycle: no request for `cooldownPeriodInSeconds`; or OnContainerExit: reached
    /// `maxAlivePeriodInSeconds`.
    Expired,
    /// `.management/stopSession` (or the provider's stop action).
    Stopped,
    /// The container exited by itself with this code.
    Exited(i32),
    /// The Liveness probe failed `failureThreshold` times in a row.
    Unhealthy,
    /// Removed by a pool change: a new container template or fewer ready instances.
    Replaced,
    /// The pool was deleted.
    PoolDeleted,
    /// It was running when the emulator stopped; reconciled at the next start.
    EmulatorRestart,
    /// It never became ready: the backend failed to start it or the Startup probe gave up.
    StartFailed,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::Expired => f.write_str("Expired"),
            EndReason::Stopped => f.write_str("Stopped"),
            EndReason::Exited(code) => write!(f, "Exited({code})"),
            EndReason::Unhealthy => f.write_str("Unhealthy"),
            EndReason::Replaced => f.write_str("Replaced"),
            EndReason::PoolDeleted => f.write_str("PoolDeleted"),
            EndReason::EmulatorRestart => f.write_str("EmulatorRestart"),
            EndReason::StartFailed => f.write_str("StartFailed"),
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "endReason")]
pub enum SessionState {
    /// The backend is starting it, or the Startup probe has not passed yet.
    Booting,
    /// Started and healthy, waiting in the ready set for an identifier.
    Ready,
    /// Bound to an identifier; requests are forwarded to it.
    Allocated,
    /// Being stopped (grace, then kill).
    Stopping(EndReason),
    /// Gone; its identifier is free again.
    Ended(EndReason),
}

impl SessionState {
    /// Short name used in events and logs.
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::Booting => "Booting",
            SessionState::Ready => "Ready",
            SessionState::Allocated => "Allocated",
            SessionState::Stopping(_) => "Stopping",
            SessionState::Ended(_) => "Ended",
        }
    }

    /// True for Booting, Ready and Allocated (the session counts toward the pool).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            SessionState::Booting | SessionState::Ready | SessionState::Allocated
        )
    }
}

/// The pool core's record of one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Session id.
    pub id: SessionId,
    /// Template generation it was booted from (bumped by every template change).
    pub generation: u64,
    /// Current state.
    pub state: SessionState,
    /// The identifier it is bound to (Allocated only).
    pub identifier: Option<String>,
    /// When the backend was asked to start it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was bound to its identifier.
    #[serde(with = "time::serde::rfc3339::option")]
    pub allocated_at: Option<OffsetDateTime>,
    /// When the last request for it arrived.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_accessed_at: Option<OffsetDateTime>,
    /// When it will end unless a request pushes it out (Allocated only).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Host address that reaches the container's target port (known once started).
    pub address: Option<SocketAddr>,
}
