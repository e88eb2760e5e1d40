//! `POST /{tenant}/oauth2/v2.0/token` (and the v1 `/{tenant}/oauth2/token`): the
//! client-credentials grant as Azure identity libraries send it (form-encoded `client_id`,
//! `client_secret`, `scope=https://management.azure.com/.default` or v1 `resource=`).
//! Errors follow AAD: `{"error","error_description","error_codes","timestamp","trace_id",
//! "correlation_id"}` with 400 or 401.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::json;

use super::tokens::TOKEN_LIFETIME_SECS;
use super::AuthContext;
use crate::defaults;

/// An AAD token-endpoint error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenEndpointError {
    /// Unknown tenant.
    #[error(
        "AADSTS90002: Tenant '{0}' not found. Use the emulator's tenant id (see the ready line)."
    )]
    UnknownTenant(String),
    /// A required form field is missing.
    #[error("AADSTS900144: The request body must contain the following parameter: '{0}'.")]
    MissingParameter(&'static str),
    /// Grant other than client_credentials.
    #[error("AADSTS70003: The app requested an unsupported grant type '{0}'. Only 'client_credentials' is supported by the emulator.")]
    UnsupportedGrantType(String),
    /// Unknown client id.
    #[error("AADSTS700016: Application with identifier '{0}' was not found in the directory. Use the emulator's client id (see the ready line).")]
    UnknownClient(String),
    /// Wrong secret.
    #[error("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value for app '{0}'.")]
    BadSecret(String),
    /// The request body is larger than the token endpoint accepts.
    #[error("AADSTS9002313: Invalid request. The request body is larger than the {0} bytes the token endpoint accepts.")]
    BodyTooLarge(usize),
    /// Scope or resource the emulator does not issue tokens for.
    #[error("AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid: '{0}'. Use 'https://management.azure.com/.default', 'https://dynamicsessions.io/.default', 'https://api.loganalytics.io/.default' or the emulator's own endpoint followed by '/.default'.")]
    InvalidScope(String),
}

impl TokenEndpointError {
    fn parts(&self) -> (StatusCode, &'static str, u32) {
        use TokenEndpointError::*;
        match self {
            UnknownTenant(_) => (StatusCode::BAD_REQUEST, "invalid_request", 90002),
            MissingParameter(_) => (StatusCode::BAD_REQUEST, "invalid_request", 900144),
            UnsupportedGrantType(_) => (StatusCode::BAD_REQUEST, "unsupported_grant_type", 70003),
            UnknownClient(_) => (StatusCode::BAD_REQUEST, "unauthorized_client", 700016),
            BadSecret(_) => (StatusCode::UNAUTHORIZED, "invalid_client", 7000215),
            InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope", 70011),
            BodyTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", 9002313),
        }
    }
}

impl IntoResponse for TokenEndpointError {
    fn into_response(self) -> Response {
        let (status, error, code) = self.parts();
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let body = json!({
            "error": error,
            "error_description": self.to_string(),
            "error_codes": [code],
            "timestamp": now,
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": uuid::Uuid::new_v4().to_string(),
        });
        (status, Json(body)).into_response()
    }
}

/// Audiences the emulator issues tokens for, keyed by lower-cased resource without slash
/// (also used for managed-identity tokens of sessions).
pub fn audience_for(resource: &str) -> Option<&'static str> {
    match resource.trim_end_matches('/').to_ascii_lowercase().as_str() {
        "https://management.azure.com" | "https://management.core.windows.net" => {
            Some(defaults::ARM_AUDIENCE)
        }
        "https://dynamicsessions.io" => Some(defaults::DATAPLANE_AUDIENCE),
        "https://api.loganalytics.io" => Some(defaults::LOG_ANALYTICS_AUDIENCE),
        _ => None,
    }
}

/// Picks the audience from `scope` (v2, space-separated, `{resource}/.default`) or
/// `resource` (v1). A resource that is the emulator's own endpoint (`is_self`: the scope an
/// SDK derives from a custom endpoint) gets the audience `own`.
pub fn audience_from(
    scope: Option<&str>,
    resource: Option<&str>,
    is_self: &dyn Fn(&str) -> bool,
    own: &str,
) -> Result<String, TokenEndpointError> {
    let lookup = |r: &str| -> Option<String> {
        audience_for(r)
            .map(str::to_string)
            .or_else(|| is_self(r).then(|| own.to_string()))
    };
    if let Some(scope) = scope {
        let mut chosen = None;
        for s in scope.split_whitespace() {
            if matches!(s, "openid" | "profile" | "offline_access" | "email") {
                continue;
            }
            let resource = s.strip_suffix(".default").unwrap_or(s);
            match lookup(resource) {
                Some(a) if s.ends_with("/.default") => chosen = Some(a),
                _ => return Err(TokenEndpointError::InvalidScope(s.to_string())),
            }
        }
        return chosen.ok_or_else(|| TokenEndpointError::InvalidScope(scope.to_string()));
    }
    match resource {
        Some(r) => lookup(r).ok_or_else(|| TokenEndpointError::InvalidScope(r.to_string())),
        None => Err(TokenEndpointError::MissingParameter("scope")),
    }
}

/// `client_id`/`client_secret` from a `Basic` authorization header (client_secret_basic).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The token endpoint handler.
pub async fn token<S: AuthContext>(
    State(state): State<S>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenEndpointError> {
    if !tenant.eq_ignore_ascii_case(defaults::TENANT_ID)
        && !matches!(
            tenant.to_ascii_lowercase().as_str(),
            "organizations" | "common"
        )
    {
        return Err(TokenEndpointError::UnknownTenant(tenant));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let grant = form
        .get("grant_type")
        .ok_or(TokenEndpointError::MissingParameter("grant_type"))?;
    if grant != "client_credentials" {
        return Err(TokenEndpointError::UnsupportedGrantType(grant.clone()));
    }
    let basic = basic_credentials(&headers);
    let client_id = form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
        .ok_or(TokenEndpointError::MissingParameter("client_id"))?;
    let client = state
        .tokens()
        .client(&client_id)
        .ok_or_else(|| TokenEndpointError::UnknownClient(client_id.clone()))?
        .clone();
    let secret = form
        .get("client_secret")
        .cloned()
        .or_else(|| basic.map(|b| b.1))
        .ok_or(TokenEndpointError::MissingParameter("client_secret"))?;
    if secret != client.client_secret {
        return Err(TokenEndpointError::BadSecret(client_id));
    }
    let tokens = state.tokens();
    let audience = audience_from(
        form.get("scope").map(String::as_str),
        form.get("resource").map(String::as_str),
        &|r| tokens.is_self(r),
        tokens.self_audience(),
    )?;
    let now = state.now();
    let access_token = state.tokens().issue(&client, &audience, now);
    let exp = now.unix_timestamp() + TOKEN_LIFETIME_SECS;
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    });
    if form.contains_key("resource") && !form.contains_key("scope") {
        // v1 shape: string numbers, expires_on, resource.
        body = json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECS.to_string(),
            "ext_expires_in": TOKEN_LIFETIME_SECS.to_string(),
            "expires_on": exp.to_string(),
            "not_before": now.unix_timestamp().to_string(),
            "resource": form.get("resource"),
            "access_token": body["access_token"].take(),
        });
    }
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store, no-cache"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aud(scope: Option<&str>, resource: Option<&str>) -> Result<String, TokenEndpointError> {
        let own = "https://127.0.0.1:8443";
        audience_from(scope, resource, &|r| r.trim_end_matches('/') == own, own)
    }

    #[test]
    fn scopes_map_to_audiences() {
        assert_eq!(
            aud(Some("https://management.azure.com/.default"), None).as_deref(),
            Ok(defaults::ARM_AUDIENCE)
        );
        assert_eq!(
            aud(
                Some("https://dynamicsessions.io/.default offline_access"),
                None
            )
            .as_deref(),
            Ok(defaults::DATAPLANE_AUDIENCE)
        );
        assert_eq!(
            aud(None, Some("https://management.core.windows.net/")).as_deref(),
            Ok(defaults::ARM_AUDIENCE)
        );
        assert_eq!(
            aud(Some("https://api.loganalytics.io/.default"), None).as_deref(),
            Ok(defaults::LOG_ANALYTICS_AUDIENCE)
        );
        assert_eq!(
            aud(Some("https://127.0.0.1:8443/.default"), None).as_deref(),
            Ok("https://127.0.0.1:8443")
        );
        assert!(matches!(
            aud(Some("https://graph.microsoft.com/.default"), None),
            Err(TokenEndpointError::InvalidScope(_))
        ));
        assert!(matches!(
            aud(
                Some("https://management.azure.com/user_impersonation"),
                None
            ),
            Err(TokenEndpointError::InvalidScope(_))
        ));
        assert_eq!(
            aud(None, None),
            Err(TokenEndpointError::MissingParameter("scope"))
        );
    }
}
