//! Why a session failed to start, as a type: the pool core counts these, a pool still
//! provisioning reports the last one ([`super::core::Provisioning::Failed`]), and the callers map
//! the [`FailureKind`] onto their own error codes (the ARM edge turns `ImageUnavailable` into
//! `ContainerImagePullFailed`). The message is for people: pool events, logs, the error text.

use std::fmt;

/// What went wrong, coarse enough for callers to pick an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The pool's image could not be resolved or pulled.
    ImageUnavailable,
    /// The backend could not start the session (host tools missing, VM start failed, boot
    /// timeout).
    BackendFailed,
    /// The session started but never became ready: the container exited, the target port
    /// never accepted a connection, or the Startup probe gave up.
    NeverReady,
}

/// One start failure: its kind and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFailure {
    /// The kind.
    pub kind: FailureKind,
    /// What happened, for people.
    pub message: String,
}

impl StartFailure {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// [`FailureKind::ImageUnavailable`].
    pub fn image(message: impl Into<String>) -> Self {
        Self::new(FailureKind::ImageUnavailable, message)
    }

    /// [`FailureKind::BackendFailed`].
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(FailureKind::BackendFailed, message)
    }

    /// [`FailureKind::NeverReady`].
    pub fn never_ready(message: impl Into<String>) -> Self {
        Self::new(FailureKind::NeverReady, message)
    }
}

impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
