//! The one ARM error table: every failure an ARM route can answer, mapped to its HTTP status,
//! Azure error code and message, rendered as the common-types v5 error body
//! `{"error":{"code","message","target","details":[]}}`.
//!
//! Route code returns `Result<_, ArmError>`; nothing else in the emulator chooses ARM status
//! codes. Validation failures use [`ArmError::validation`] so `target` names the offending field.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every error an ARM route can answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArmError {
    /// A resource (not a resource group) does not exist.
    #[error("The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")]
    ResourceNotFound {
        /// `Namespace/type`, e.g. `Microsoft.App/managedEnvironments`.
        resource_type: String,
        /// The resource name as the caller sent it.
        name: String,
        /// The resource group name as the caller sent it.
        resource_group: String,
    },
    /// A resource group does not exist.
    #[error("Resource group '{0}' could not be found.")]
    ResourceGroupNotFound(String),
    /// A subscription the emulator does not know.
    #[error("The subscription '{0}' could not be found.")]
    SubscriptionNotFound(String),
    /// A long-running operation id the emulator does not know.
    #[error("The operation '{0}' could not be found. Use the URL from the Azure-AsyncOperation or Location header of the original request.")]
    OperationNotFound(String),
    /// No route serves this path.
    #[error("The resource type '{0}' could not be found in this emulator. Check the path and the provider namespace.")]
    InvalidResourceType(String),
    /// The route exists but not with this HTTP method.
    #[error("The requested resource does not support http method '{0}'.")]
    MethodNotAllowed(String),
    /// The request had no `api-version` query parameter.
    #[error("The api-version query parameter (?api-version=) is required for all requests.")]
    MissingApiVersionParameter,
    /// The `api-version` is not one the resource type supports.
    #[error("The api-version '{version}' is invalid for resource type '{resource_type}'. The supported versions are '{supported}'.")]
    InvalidApiVersionParameter {
        /// The version the caller sent.
        version: String,
        /// The resource type the request addressed.
        resource_type: String,
        /// Comma-separated supported versions.
        supported: String,
    },
    /// The body is not valid JSON (or not the JSON type expected).
    #[error("The request content was invalid and could not be deserialized: '{0}'.")]
    InvalidRequestContent(String),
    /// A field has an invalid value. `code` is the Azure code (`InvalidParameter`,
    /// `LocationRequired`, `SessionPoolInvalidReadySessionInstances`, ...).
    #[error("{message}")]
    Validation {
        /// The Azure error code.
        code: String,
        /// JSON path of the offending field, e.g. `properties.scaleConfiguration`.
        target: Option<String>,
        /// What was wrong and what to do.
        message: String,
    },
    /// No bearer token, or a token that is malformed, expired or badly signed (401).
    #[error("{message}")]
    AuthenticationFailed {
        /// `AuthenticationFailed` (no token) or `InvalidAuthenticationToken` (bad token).
        code: &'static str,
        /// What was wrong.
        message: String,
        /// `{endpoint}/{tenant}`, sent in `WWW-Authenticate`.
        authorization_uri: String,
    },
    /// A valid token for another audience (403).
    #[error("The access token has an invalid audience '{audience}'. The audience must be '{expected}'. Request a token for the scope '{expected}.default'.")]
    InvalidAuthenticationTokenAudience {
        /// The `aud` claim the token carried.
        audience: String,
        /// The audience required.
        expected: String,
    },
    /// The data directory is full: the write was not done (507); reads still work.
    #[error("{0}")]
    InsufficientStorage(String),
    /// The request body is larger than ARM accepts (413).
    #[error("The request content is larger than the {0} bytes the emulator accepts for this request; send a smaller body.")]
    RequestTooLarge(usize),
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The emulator failed internally (500). Only for store or I/O failures, never bad input.
    #[error("The emulator failed to process the request: {0}. Retry; if it persists, check the emulator log.")]
    InternalError(String),
}

impl ArmError {
    /// A 400 with `code`, the field path `target` and a message naming the field.
    pub fn validation(
        code: impl Into<String>,
        target: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ArmError::Validation {
            code: code.into(),
            target: Some(target.into()),
            message: message.into(),
        }
    }

    /// A 400 `InvalidParameter` on `target`.
    pub fn invalid_parameter(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation("InvalidParameter", target, message)
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        use ArmError::*;
        match self {
            ResourceNotFound { .. }
            | ResourceGroupNotFound(_)
            | SubscriptionNotFound(_)
            | OperationNotFound(_)
            | InvalidResourceType(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            MissingApiVersionParameter
            | InvalidApiVersionParameter { .. }
            | InvalidRequestContent(_)
            | Validation { .. } => StatusCode::BAD_REQUEST,
            AuthenticationFailed { .. } => StatusCode::UNAUTHORIZED,
            InvalidAuthenticationTokenAudience { .. } => StatusCode::FORBIDDEN,
            RequestTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Conflict(_) => StatusCode::CONFLICT,
            InternalError(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Azure error code of this error.
    pub fn code(&self) -> &str {
        use ArmError::*;
        match self {
            ResourceNotFound { .. } => "ResourceNotFound",
            ResourceGroupNotFound(_) => "ResourceGroupNotFound",
            SubscriptionNotFound(_) => "SubscriptionNotFound",
            OperationNotFound(_) => "OperationNotFound",
            InvalidResourceType(_) => "InvalidResourceType",
            MethodNotAllowed(_) => "MethodNotAllowed",
            MissingApiVersionParameter => "MissingApiVersionParameter",
            InvalidApiVersionParameter { .. } => "InvalidApiVersionParameter",
            InvalidRequestContent(_) => "InvalidRequestContent",
            Validation { code, .. } => code,
            AuthenticationFailed { code, .. } => code,
            InvalidAuthenticationTokenAudience { .. } => "InvalidAuthenticationTokenAudience",
            RequestTooLarge(_) => "RequestEntityTooLarge",
            InsufficientStorage(_) => "InsufficientStorage",
            Conflict(_) => "Conflict",
            InternalError(_) => "InternalServerError",
        }
    }

    /// The field the error is about, if any.
    pub fn target(&self) -> Option<&str> {
        match self {
            ArmError::Validation { target, .. } => target.as_deref(),
            _ => None,
        }
    }

    /// The JSON body `{"error":{...}}`.
    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        if let Some(target) = self.target() {
            error["target"] = json!(target);
        }
        error["details"] = json!([]);
        json!({ "error": error })
    }

    /// The `{code, message, target?}` object an operation status carries under `error`.
    pub fn detail(&self) -> serde_json::Value {
        let mut body = self.body();
        let mut error = body["error"].take();
        if let Some(obj) = error.as_object_mut() {
            obj.remove("details");
        }
        error
    }
}

impl From<sessions_runtime::store::StoreError> for ArmError {
    fn from(e: sessions_runtime::store::StoreError) -> Self {
        if let sessions_runtime::store::StoreError::Full(_) = &e {
            tracing::warn!(error = %e, "a write failed: the data directory is full");
            return ArmError::InsufficientStorage(e.to_string());
        }
        tracing::error!(error = %e, "store failure");
        ArmError::InternalError(e.to_string())
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), axum::Json(self.body())).into_response();
        let headers = resp.headers_mut();
        headers.insert("x-ms-failure-cause", HeaderValue::from_static("gateway"));
        if let ArmError::AuthenticationFailed {
            authorization_uri, ..
        } = &self
        {
            let value = format!(
                "Bearer authorization_uri=\"{authorization_uri}\", error=\"invalid_token\", error_description=\"{}\"",
                self.to_string().replace('"', "'")
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let ArmError::InvalidAuthenticationTokenAudience { .. } = &self {
            let value = "Bearer error=\"invalid_token\", error_description=\"The access token has an invalid audience.\"";
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_has_target_and_details() {
        let e = ArmError::invalid_parameter("location", "The field 'location' is required.");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let body = e.body();
        assert_eq!(body["error"]["code"], "InvalidParameter");
        assert_eq!(body["error"]["target"], "location");
        assert_eq!(body["error"]["details"], json!([]));
    }

    #[test]
    fn not_found_has_no_target() {
        let e = ArmError::ResourceGroupNotFound("rg".into());
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert!(e.body()["error"].get("target").is_none());
        assert_eq!(
            e.body()["error"]["message"],
            "Resource group 'rg' could not be found."
        );
    }

    #[test]
    fn auth_error_sets_www_authenticate() {
        let e = ArmError::AuthenticationFailed {
            code: "AuthenticationFailed",
            message: "Authentication failed. The 'Authorization' header is missing.".into(),
            authorization_uri: "https://127.0.0.1:7443/t".into(),
        };
        let resp = e.into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let h = resp.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap_or_default();
        assert!(h.starts_with(
            "Bearer authorization_uri=\"https://127.0.0.1:7443/t\", error=\"invalid_token\""
        ));
    }
}
