//! Errors of the diagnostic settings API, rendered in its flat `{code, message}` shape (this
//! API does not use the `{"error": {...}}` envelope).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A diagnostic-settings error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagError {
    /// Invalid request (category, destination, body shape...).
    #[error("{0}")]
    BadRequest(String),
    /// The api-version is missing.
    #[error("The api-version query parameter (?api-version=) is required for all requests. Use api-version=2021-05-01-preview.")]
    MissingApiVersion,
    /// The api-version is not supported.
    #[error("The api-version '{0}' is not supported for Microsoft.Insights/diagnosticSettings. Use api-version=2021-05-01-preview.")]
    InvalidApiVersion(String),
    /// The resource the setting is attached to does not exist.
    #[error("The Resource '{0}' was not found. Create the resource before configuring its diagnostic settings.")]
    ResourceNotFound(String),
    /// The diagnostic setting does not exist.
    #[error("The diagnostic setting '{0}' doesn't exist.")]
    SettingNotFound(String),
    /// Not allowed with this method.
    #[error("The requested resource does not support http method '{0}'.")]
    MethodNotAllowed(String),
    /// A conflict with another setting on the same resource.
    #[error("{0}")]
    Conflict(String),
    /// Storage failure.
    #[error("The emulator failed to process the request: {0}. Retry; if it persists, check the emulator log.")]
    Internal(String),
}

impl DiagError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            DiagError::BadRequest(_)
            | DiagError::MissingApiVersion
            | DiagError::InvalidApiVersion(_)
            | DiagError::Conflict(_) => StatusCode::BAD_REQUEST,
            DiagError::ResourceNotFound(_) | DiagError::SettingNotFound(_) => StatusCode::NOT_FOUND,
            DiagError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            DiagError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Error code.
    pub fn code(&self) -> &'static str {
        match self {
            DiagError::BadRequest(_) => "BadRequest",
            DiagError::MissingApiVersion => "MissingApiVersionParameter",
            DiagError::InvalidApiVersion(_) => "InvalidApiVersionParameter",
            DiagError::ResourceNotFound(_) => "ResourceNotFound",
            DiagError::SettingNotFound(_) => "ResourceNotFound",
            DiagError::MethodNotAllowed(_) => "MethodNotAllowed",
            DiagError::Conflict(_) => "Conflict",
            DiagError::Internal(_) => "InternalServerError",
        }
    }
}

impl From<sessions_runtime::store::StoreError> for DiagError {
    fn from(e: sessions_runtime::store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        DiagError::Internal(e.to_string())
    }
}

impl IntoResponse for DiagError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code(), "message": self.to_string() });
        (self.status(), axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_shape() {
        let r = DiagError::BadRequest("x".into()).into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
