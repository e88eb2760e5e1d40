//! Bearer-token checks: the ARM middleware (401 `AuthenticationFailed` /
//! `InvalidAuthenticationToken`, 403 `InvalidAuthenticationTokenAudience`) and
//! [`check_bearer`], which any surface can call with its own audience.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::tokens::{bearer_token, Claims, TokenError};
use crate::arm::error::ArmError;
use crate::defaults;
use crate::state::AppState;

/// Validates the request's bearer token for `audience` (signature, expiry, audience).
/// Map the error with [`TokenError::is_forbidden`]: true means 403, otherwise 401.
pub fn check_bearer(
    state: &AppState,
    headers: &http::HeaderMap,
    audience: &str,
) -> Result<Claims, TokenError> {
    let token = bearer_token(headers)?;
    state.tokens().validate(token, audience, state.now())
}

/// The ARM error for a refused token.
pub fn arm_error(state: &AppState, e: TokenError) -> ArmError {
    match e {
        TokenError::WrongAudience { got, expected } => {
            ArmError::InvalidAuthenticationTokenAudience {
                audience: got,
                expected,
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

/// Middleware for every ARM route: requires a valid `https://management.azure.com/` token.
/// The validated [`Claims`] are put into the request extensions.
pub async fn require_arm_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match check_bearer(&state, req.headers(), defaults::ARM_AUDIENCE) {
        Ok(claims) => {
            req.extensions_mut().insert(claims);
            next.run(req).await
        }
        Err(e) => arm_error(&state, e).into_response(),
    }
}
