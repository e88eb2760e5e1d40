//! The one error type of the Azure client.
//!
//! Every failure the provider can hit while talking to Azure (or the emulator) ends up as an
//! [`AzureError`]. Service errors keep the HTTP status, the Azure error `code`, `message` and
//! `target` so resources can turn them into diagnostics that name the offending attribute.

use std::time::Duration;

use serde::Deserialize;

/// What went wrong while talking to Azure.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// The service answered with an error status and (usually) an Azure error body.
    #[error("{method} {path} failed with HTTP {status}: {code}: {message}")]
    Api {
        /// HTTP method of the failed request.
        method: String,
        /// Path (without host and query) of the failed request.
        path: String,
        /// HTTP status code.
        status: u16,
        /// Azure error code, e.g. `ResourceNotFound`, or `HttpStatus<n>` when the body had none.
        code: String,
        /// Azure error message, or the start of the body when it was not an Azure error.
        message: String,
        /// The property the service blamed, when it said.
        target: Option<String>,
    },
    /// A long-running operation ended in `Failed` or `Canceled`.
    #[error("long-running operation on {path} ended with status {status}: {code}: {message}")]
    OperationFailed {
        /// Resource path whose operation failed.
        path: String,
        /// Terminal status, `Failed` or `Canceled`.
        status: String,
        /// Azure error code from the operation status, or `OperationFailed`.
        code: String,
        /// Azure error message from the operation status.
        message: String,
    },
    /// The request never got an HTTP answer (DNS, TCP, TLS) even after retries.
    #[error("could not reach {url}: {detail}. Check `arm_endpoint`, `ca_certificate_file` and the network")]
    Transport {
        /// URL that could not be reached.
        url: String,
        /// What the HTTP stack reported.
        detail: String,
    },
    /// A response arrived but its body was not what the API promises.
    #[error("unexpected response from {path}: {detail}")]
    Decode {
        /// Path of the request.
        path: String,
        /// What did not parse.
        detail: String,
    },
    /// No token could be obtained.
    #[error(transparent)]
    Auth(#[from] crate::azure::auth::AuthError),
    /// Terraform asked the provider to stop (StopProvider / interrupt).
    #[error("operation cancelled because Terraform asked the provider to stop")]
    Cancelled,
    /// The operation ran longer than its timeout.
    #[error(
        "operation did not finish within {0:?}; raise the matching value in the `timeouts` block"
    )]
    Timeout(Duration),
    /// The client configuration itself is unusable.
    #[error("invalid Azure client configuration: {0}")]
    Config(String),
}

impl AzureError {
    /// True when the service said the resource does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, AzureError::Api { status: 404, .. })
    }

    /// The HTTP status of an [`AzureError::Api`], if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AzureError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Azure error code of a service error or a failed operation.
    pub fn code(&self) -> Option<&str> {
        match self {
            AzureError::Api { code, .. } | AzureError::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The `target` the service named, if any.
    pub fn target(&self) -> Option<&str> {
        match self {
            AzureError::Api { target, .. } => target.as_deref(),
            _ => None,
        }
    }
}

/// Code, message and target extracted from an Azure error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Azure error code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Offending property, if named.
    pub target: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<Inner>,
    code: Option<String>,
    message: Option<String>,
    target: Option<String>,
}

#[derive(Deserialize)]
struct Inner {
    code: Option<String>,
    message: Option<String>,
    target: Option<String>,
}

/// Parses an Azure error body: the ARM `{error:{code,message,target}}` envelope, or the flat
/// `{code,message}` of diagnostic settings and metrics. Anything else becomes `HttpStatus<n>`
/// with the (truncated) body as the message.
pub fn parse_error_body(status: u16, body: &[u8]) -> ErrorDetail {
    if let Ok(env) = serde_json::from_slice::<Envelope>(body) {
        if let Some(inner) = env.error {
            if inner.code.is_some() || inner.message.is_some() {
                return ErrorDetail {
                    code: inner.code.unwrap_or_else(|| format!("HttpStatus{status}")),
                    message: inner.message.unwrap_or_default(),
                    target: inner.target,
                };
            }
        }
        if env.code.is_some() || env.message.is_some() {
            return ErrorDetail {
                code: env.code.unwrap_or_else(|| format!("HttpStatus{status}")),
                message: env.message.unwrap_or_default(),
                target: env.target,
            };
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let message = if text.is_empty() {
        "the response had no body".to_string()
    } else {
        text.chars().take(500).collect()
    };
    ErrorDetail {
        code: format!("HttpStatus{status}"),
        message,
        target: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arm_envelope() {
        let d = parse_error_body(
            400,
            br#"{"error":{"code":"InvalidParameter","message":"bad cooldown","target":"properties.x"}}"#,
        );
        assert_eq!(d.code, "InvalidParameter");
        assert_eq!(d.message, "bad cooldown");
        assert_eq!(d.target.as_deref(), Some("properties.x"));
    }

    #[test]
    fn parses_flat_envelope() {
        let d = parse_error_body(404, br#"{"code":"ResourceNotFound","message":"nope"}"#);
        assert_eq!(d.code, "ResourceNotFound");
        assert_eq!(d.message, "nope");
        assert_eq!(d.target, None);
    }

    #[test]
    fn non_json_body_keeps_text() {
        let d = parse_error_body(502, b"Bad Gateway");
        assert_eq!(d.code, "HttpStatus502");
        assert_eq!(d.message, "Bad Gateway");
        let d = parse_error_body(500, b"");
        assert_eq!(d.message, "the response had no body");
    }

    #[test]
    fn display_includes_status_code_and_message() {
        let e = AzureError::Api {
            method: "PUT".into(),
            path: "/x".into(),
            status: 409,
            code: "Conflict".into(),
            message: "busy".into(),
            target: None,
        };
        let s = e.to_string();
        assert!(
            s.contains("409") && s.contains("Conflict") && s.contains("busy"),
            "{s}"
        );
        assert!(!e.is_not_found());
    }
}
