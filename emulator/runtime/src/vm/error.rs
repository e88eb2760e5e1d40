//! The one error type of the VM layer. Messages say what went wrong and what to do about it;
//! the pool manager maps them to session end reasons, never to HTTP statuses.

use std::path::PathBuf;

/// Everything a [`crate::vm::Backend`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A field of the container spec is out of range or malformed.
    #[error("invalid container spec: `{field}` {message}")]
    InvalidSpec {
        /// The spec field, e.g. `resources.memory`.
        field: &'static str,
        /// What is wrong with it and what would be accepted.
        message: String,
    },
    /// A host tool or file the backend needs is missing.
    #[error("{what} not found at {path}: {hint}")]
    Missing {
        /// What is missing, e.g. "guest kernel".
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// How to get it.
        hint: &'static str,
    },
    /// Building boot media (initramfs, disk image) failed.
    #[error("could not build boot media for image {digest}: {message}")]
    BootMedia {
        /// Image digest.
        digest: String,
        /// What failed.
        message: String,
    },
    /// Starting the VM (or in-process server) failed.
    #[error("could not start session {session}: {message}")]
    Start {
        /// Session id.
        session: String,
        /// What failed.
        message: String,
    },
    /// The session did not get ready, or ended before it did.
    #[error("session {session} did not start: {message}")]
    NotReady {
        /// Session id.
        session: String,
        /// Why (timeout, exit, VM died), with the last console lines when known.
        message: String,
    },
    /// The guest agent broke the control protocol.
    #[error("guest agent protocol error: {0}")]
    Protocol(String),
    /// A QMP command failed.
    #[error("QMP command `{command}` failed: {message}")]
    Qmp {
        /// The QMP command.
        command: String,
        /// QEMU's error description.
        message: String,
    },
    /// Host I/O failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl BackendError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias of the VM layer.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;
