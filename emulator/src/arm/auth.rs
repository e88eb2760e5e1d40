//! ARM's side of authentication: every ARM route requires a valid
//! `https://management.azure.com/` token ([`require_arm_token`]), and a refused token becomes
//! ARM's 401 `AuthenticationFailed` / `InvalidAuthenticationToken` /
//! `ExpiredAuthenticationToken` / `InvalidAuthenticationTokenTenant` (another issuer or
//! tenant) or 403 `InvalidAuthenticationTokenAudience` ([`token_error`]).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ArmError;
use crate::auth::{check_bearer, TokenError};
use crate::defaults;
use crate::state::AppState;

/// The ARM error for a refused token.
pub fn token_error(state: &AppState, e: TokenError) -> ArmError {
    match e {
        TokenError::WrongAudience { got, expected } => {
            ArmError::InvalidAuthenticationTokenAudience {
                audience: got,
                expected,
            }
        }
        TokenError::WrongIssuer { .. } | TokenError::WrongTenant { .. } => {
            ArmError::AuthenticationFailed {
                code: "InvalidAuthenticationTokenTenant",
                message: e.to_string(),
                authorization_uri: state.config().authority(),
            }
        }
        TokenError::Missing | TokenError::BadScheme => ArmError::AuthenticationFailed {
            code: "AuthenticationFailed",
            message: e.to_string(),
            authorization_uri: state.config().authority(),
        },
        other => ArmError::AuthenticationFailed {
            code: if matches!(other, TokenError::Expired(_)) {
                "ExpiredAuthenticationToken"
            } else {
                "InvalidAuthenticationToken"
            },
            message: other.to_string(),
            authorization_uri: state.config().authority(),
        },
    }
}

/// The request's ARM token claims, or the ARM error refusing it.
pub fn check_arm_token(
    state: &AppState,
    headers: &http::HeaderMap,
) -> Result<crate::auth::Claims, ArmError> {
    check_bearer(state, headers, defaults::ARM_AUDIENCE).map_err(|e| token_error(state, e))
}

/// Middleware for every ARM route: requires a valid `https://management.azure.com/` token.
/// The validated claims are put into the request extensions.
pub async fn require_arm_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match check_arm_token(&state, req.headers()) {
        Ok(claims) => {
            req.extensions_mut().insert(claims);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}
