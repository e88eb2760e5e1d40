//! Errors of the session-pool control plane, before they become ARM error bodies.
//!
//! Each [`PoolError`] carries the Azure error `code`, a message that says what was wrong and
//! what to do, and the `target` (JSON path of the offending field, e.g.
//! `properties.scaleConfiguration.readySessionInstances`). [`PoolErrorKind`] decides the HTTP
//! status; the route layer maps it onto the shared ARM error table.
//!
//! Codes used (documented in the module docs of [`super`]):
//!
//! | code | status | when |
//! |---|---|---|
//! | `InvalidRequestContent` | 400 | body is not JSON, or a field has the wrong JSON type |
//! | `InvalidParameter` | 400 | a value breaks a service rule (range, enum, reference, combination) |
//! | `SessionPoolInvalidReadySessionInstances` | 400 | `readySessionInstances` < 1 or >= `maxConcurrentSessions` |
//! | `LocationRequired` | 400 | `location` missing on create |
//! | `LocationNotAvailableForResourceType` | 400 | `location` is not a region name (characters, length) |
//! | `InvalidResourceName` | 400 | pool name breaks `^[a-z][a-z0-9]*$`, 3-63 characters |
//! | `PropertyChangeNotAllowed` | 400 | a create-only property changed on update |
//! | `ResourceNotFound` | 404 | the pool does not exist |

use thiserror::Error;

/// Which HTTP status family an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolErrorKind {
    /// 400: the request is wrong.
    BadRequest,
    /// 404: something the request names does not exist.
    NotFound,
    /// 409: the request conflicts with the resource's current state.
    Conflict,
}

impl PoolErrorKind {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            PoolErrorKind::BadRequest => 400,
            PoolErrorKind::NotFound => 404,
            PoolErrorKind::Conflict => 409,
        }
    }
}

/// One session-pool error: status family, Azure code, message and target field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct PoolError {
    /// Status family.
    pub kind: PoolErrorKind,
    /// Azure error code (`error.code`).
    pub code: &'static str,
    /// Human message (`error.message`): what was wrong and what to do.
    pub message: String,
    /// JSON path of the offending field (`error.target`), when one field is to blame.
    pub target: Option<String>,
}

impl PoolError {
    /// 400 `InvalidRequestContent` naming `target`.
    pub fn content(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad("InvalidRequestContent", target, message)
    }

    /// 400 `InvalidParameter` naming `target`.
    pub fn invalid(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad("InvalidParameter", target, message)
    }

    /// 400 with an explicit code naming `target`.
    pub fn bad(code: &'static str, target: impl Into<String>, message: impl Into<String>) -> Self {
        PoolError {
            kind: PoolErrorKind::BadRequest,
            code,
            message: message.into(),
            target: Some(target.into()),
        }
    }

    /// 404 with an explicit code and optional target.
    pub fn not_found(
        code: &'static str,
        target: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        PoolError {
            kind: PoolErrorKind::NotFound,
            code,
            message: message.into(),
            target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_code_status_and_target() {
        let e = PoolError::invalid("properties.x", "x must be 1");
        assert_eq!(e.kind.status(), 400);
        assert_eq!(e.code, "InvalidParameter");
        assert_eq!(e.target.as_deref(), Some("properties.x"));
        assert_eq!(e.to_string(), "InvalidParameter: x must be 1");
        let e = PoolError::not_found("ResourceNotFound", None, "gone");
        assert_eq!(e.kind.status(), 404);
        assert_eq!(PoolErrorKind::Conflict.status(), 409);
    }
}
