//! Errors of the Azure Monitor metrics API, in its flat `{code, message}` shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed metrics request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    /// `api-version` missing.
    #[error("The api-version query parameter (?api-version=) is required for all requests. Supported api-versions: {0}.")]
    MissingApiVersion(String),
    /// `api-version` not supported for this operation.
    #[error("The api-version '{got}' is invalid. The supported versions are '{supported}'.")]
    InvalidApiVersion {
        /// What was sent.
        got: String,
        /// What is accepted.
        supported: String,
    },
    /// The resource does not exist.
    #[error("The Resource '{0}' was not found. Create it before reading its metrics.")]
    ResourceNotFound(String),
    /// A bad parameter; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// The emulator failed.
    #[error(
        "The emulator failed to read metrics: {0}. Retry; if it persists, check the emulator log."
    )]
    Internal(String),
}

impl MetricsError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            MetricsError::ResourceNotFound(_) => StatusCode::NOT_FOUND,
            MetricsError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Error code.
    pub fn code(&self) -> &'static str {
        match self {
            MetricsError::MissingApiVersion(_) => "MissingApiVersionParameter",
            MetricsError::InvalidApiVersion { .. } => "InvalidApiVersionParameter",
            MetricsError::ResourceNotFound(_) => "ResourceNotFound",
            MetricsError::BadRequest(_) => "BadRequest",
            MetricsError::Internal(_) => "InternalServerError",
        }
    }
}

impl IntoResponse for MetricsError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code(), "message": self.to_string()});
        (self.status(), axum::Json(body)).into_response()
    }
}

impl From<sessions_runtime::store::StoreError> for MetricsError {
    fn from(e: sessions_runtime::store::StoreError) -> Self {
        MetricsError::Internal(e.to_string())
    }
}
