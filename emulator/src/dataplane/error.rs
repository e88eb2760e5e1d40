//! The data plane's one error table: every way a pool-endpoint request can fail, mapped to a
//! status, a code and the data-plane envelope `{"error":{"code","message","target"?,"traceId"}}`.
//! Proxied requests that reach a container never pass through here: the container's own status
//! and body go back unchanged.
//!
//! | Error | Status | Code |
//! |---|---|---|
//! | bad/missing `identifier`, `api-version`, query | 400 | `SessionRequestValidationFailed` (with `target`) |
//! | `.management/<unknown>` or wrong method | 400 | `SessionRequestNotSupported` |
//! | missing/invalid/expired token | 401 | `InvalidAuthenticationToken` |
//! | token for another audience | 403 | `AuthorizationFailed` |
//! | unknown pool | 404 | `SessionPoolNotFound` |
//! | unknown identifier on get/stop | 404 | `SessionNotFound` |
//! | `maxConcurrentSessions` reached | 429 + `Retry-After` | `SessionPoolCapacityExceeded` |
//! | no session became ready in time | 429 + `Retry-After` | `SessionNotReady` |
//! | the session's container cannot be reached | 502 | `SessionUnreachable` |
//! | the container did not answer in time | 504 | `SessionTimeout` |

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Seconds a client is told to wait after a 429.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Everything a data-plane request can fail with before or instead of reaching a container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataPlaneError {
    /// A request field is missing or malformed.
    #[error("{message}")]
    Validation {
        /// The offending field (query parameter or path).
        target: String,
        /// What is wrong and what to send instead.
        message: String,
    },
    /// The management endpoint was used in a way it does not support.
    #[error("{0}")]
    NotSupported(String),
    /// No valid bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token that may not call this endpoint.
    #[error("{0}")]
    Forbidden(String),
    /// No pool at this endpoint.
    #[error("session pool '{0}' was not found: check the poolManagementEndpoint of the pool")]
    PoolNotFound(String),
    /// Nothing is bound to this identifier.
    #[error("session with identifier '{identifier}' was not found in session pool '{pool}'")]
    SessionNotFound {
        /// Pool name.
        pool: String,
        /// Identifier asked for.
        identifier: String,
    },
    /// The pool has `maxConcurrentSessions` allocated sessions.
    #[error("session pool '{pool}' has reached its maxConcurrentSessions ({max}); stop a session or retry later")]
    PoolFull {
        /// Pool name.
        pool: String,
        /// The limit.
        max: u32,
    },
    /// No ready session could be allocated in time (booting, or failing to start).
    #[error("session pool '{pool}' has no ready session available: {detail}; retry later")]
    NotReady {
        /// Pool name.
        pool: String,
        /// Why (e.g. the last start error).
        detail: String,
    },
    /// The container could not be reached.
    #[error("the session's container could not be reached: {0}")]
    Unreachable(String),
    /// The container did not answer in time.
    #[error("the session's container did not answer within {0} seconds")]
    Timeout(u64),
}

impl DataPlaneError {
    /// Shorthand for a validation error on `target`.
    pub fn validation(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            target: target.into(),
            message: message.into(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::NotSupported(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::PoolNotFound(_) | Self::SessionNotFound { .. } => StatusCode::NOT_FOUND,
            Self::PoolFull { .. } | Self::NotReady { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unreachable(_) => StatusCode::BAD_GATEWAY,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// Error code in the envelope.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "SessionRequestValidationFailed",
            Self::NotSupported(_) => "SessionRequestNotSupported",
            Self::Unauthorized(_) => "InvalidAuthenticationToken",
            Self::Forbidden(_) => "AuthorizationFailed",
            Self::PoolNotFound(_) => "SessionPoolNotFound",
            Self::SessionNotFound { .. } => "SessionNotFound",
            Self::PoolFull { .. } => "SessionPoolCapacityExceeded",
            Self::NotReady { .. } => "SessionNotReady",
            Self::Unreachable(_) => "SessionUnreachable",
            Self::Timeout(_) => "SessionTimeout",
        }
    }

    /// The envelope body with the given trace id.
    pub fn body(&self, trace_id: &str) -> serde_json::Value {
        let mut error = json!({
            "code": self.code(),
            "message": self.to_string(),
        });
        if let Self::Validation { target, .. } = self {
            error["target"] = json!(target);
        }
        error["traceId"] = json!(trace_id);
        json!({ "error": error })
    }
}

/// A fresh trace id (also sent as the `x-ms-trace-id` header).
pub fn trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl IntoResponse for DataPlaneError {
    fn into_response(self) -> Response {
        let trace = trace_id();
        let status = self.status();
        let body = self.body(&trace).to_string();
        let mut resp = (status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&trace) {
            headers.insert("x-ms-trace-id", v);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_envelope_has_target_and_trace() {
        let e = DataPlaneError::validation("identifier", "bad");
        insta::assert_json_snapshot!(e.body("trace-1"), @r#"
        {
          "error": {
            "code": "SessionRequestValidationFailed",
            "message": "bad",
            "target": "identifier",
            "traceId": "trace-1"
          }
        }
        "#);
    }

    #[test]
    fn pool_full_is_429_with_retry_after() {
        let resp = DataPlaneError::PoolFull {
            pool: "p".into(),
            max: 2,
        }
        .into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            resp.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(1u64))
        );
        assert!(resp.headers().contains_key("x-ms-trace-id"));
    }

    #[test]
    fn every_error_has_a_distinct_code_and_non_500_status() {
        let all = [
            DataPlaneError::validation("a", "b"),
            DataPlaneError::NotSupported("x".into()),
            DataPlaneError::Unauthorized("x".into()),
            DataPlaneError::Forbidden("x".into()),
            DataPlaneError::PoolNotFound("p".into()),
            DataPlaneError::SessionNotFound {
                pool: "p".into(),
                identifier: "i".into(),
            },
            DataPlaneError::PoolFull {
                pool: "p".into(),
                max: 1,
            },
            DataPlaneError::NotReady {
                pool: "p".into(),
                detail: "d".into(),
            },
            DataPlaneError::Unreachable("x".into()),
            DataPlaneError::Timeout(1),
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert!(all
            .iter()
            .all(|e| e.status() != StatusCode::INTERNAL_SERVER_ERROR));
    }
}
