//! Errors of the Log Analytics query API, in the service's shape:
//! `{"error": {"message", "code", "correlationId", "innererror"?}}`. Query errors (syntax,
//! semantics, unsupported KQL) come from [`sessions_kql::QueryError::to_service_json`];
//! this module adds the correlation id and the errors around the query (token, workspace,
//! arguments).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sessions_kql::QueryError;

use crate::auth::TokenError;

/// A failed query request.
#[derive(Debug, thiserror::Error)]
pub enum LaError {
    /// No or an unusable token.
    #[error("{0}")]
    Unauthorized(TokenError),
    /// A token for another audience.
    #[error(
        "The provided credentials have insufficient access to perform the requested operation: {0}"
    )]
    Forbidden(TokenError),
    /// No workspace with this id.
    #[error("Workspace '{0}' could not be found. Use the workspace's customerId (properties.customerId of the Microsoft.OperationalInsights/workspaces resource), not its name or ARM id.")]
    WorkspaceNotFound(String),
    /// A bad argument (query missing, timespan malformed, body not JSON...).
    #[error("{message}")]
    BadArgument {
        /// Inner code (`QueryValidationError`, `InvalidTimespanFormat`...).
        code: &'static str,
        /// What was wrong and what to do.
        message: String,
    },
    /// The query itself failed.
    #[error("{0}")]
    Query(QueryError),
    /// The emulator failed.
    #[error("{0}")]
    Internal(String),
}

impl LaError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            LaError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            LaError::Forbidden(_) => StatusCode::FORBIDDEN,
            LaError::WorkspaceNotFound(_) => StatusCode::NOT_FOUND,
            LaError::BadArgument { .. } => StatusCode::BAD_REQUEST,
            LaError::Query(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            LaError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response body, with `correlation` as `correlationId`.
    pub fn body(&self, correlation: &str) -> Value {
        let mut body = match self {
            LaError::Query(e) => e.to_service_json(),
            LaError::Unauthorized(e) => json!({"error": {
                "message": "Valid authentication was not provided",
                "code": if matches!(e, TokenError::Missing | TokenError::BadScheme) { "AuthorizationRequiredError" } else { "InvalidTokenError" },
                "innererror": {"code": "AuthenticationFailed", "message": e.to_string()},
            }}),
            LaError::Forbidden(_) => json!({"error": {
                "message": self.to_string(),
                "code": "InsufficientAccessError",
            }}),
            LaError::WorkspaceNotFound(_) => json!({"error": {
                "message": self.to_string(),
                "code": "WorkspaceNotFoundError",
            }}),
            LaError::BadArgument { code, message } => json!({"error": {
                "message": "The request had some invalid properties",
                "code": "BadArgumentError",
                "innererror": {"code": code, "message": message},
            }}),
            LaError::Internal(m) => json!({"error": {
                "message": format!("The emulator failed to run the query: {m}. Retry; if it persists, check the emulator log."),
                "code": "InternalServerError",
            }}),
        };
        if let Some(e) = body.get_mut("error").and_then(Value::as_object_mut) {
            e.insert("correlationId".into(), json!(correlation));
        }
        body
    }

    /// The response.
    pub fn into_response_with(self, correlation: &str) -> Response {
        let mut resp = (self.status(), axum::Json(self.body(correlation))).into_response();
        if let Ok(v) = http::HeaderValue::from_str(correlation) {
            resp.headers_mut().insert("x-ms-correlation-request-id", v);
        }
        resp
    }
}

impl From<TokenError> for LaError {
    fn from(e: TokenError) -> Self {
        if e.is_forbidden() {
            LaError::Forbidden(e)
        } else {
            LaError::Unauthorized(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_carry_the_correlation_id() {
        let b = LaError::WorkspaceNotFound("x".into()).body("c-1");
        assert_eq!(b["error"]["code"], "WorkspaceNotFoundError");
        assert_eq!(b["error"]["correlationId"], "c-1");
        let b = LaError::BadArgument {
            code: "QueryValidationError",
            message: "'query' is required".into(),
        }
        .body("c");
        assert_eq!(b["error"]["innererror"]["code"], "QueryValidationError");
        assert_eq!(
            LaError::from(TokenError::Missing).status(),
            StatusCode::UNAUTHORIZED
        );
    }
}
