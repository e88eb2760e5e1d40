//! Bearer-token checks any surface can call with its own audience: [`check_bearer`] validates
//! (signature, time window, audience) and returns the claims; [`check_bearer_cached`] is the
//! allocation-free hot path of the data plane. Callers map [`TokenError`] into their own
//! envelope ([`TokenError::is_forbidden`]: 403, otherwise 401).

use super::tokens::{bearer_token, Claims, TokenError};
use super::AuthContext;

/// Validates the request's bearer token for `audience` (signature, expiry, audience).
pub fn check_bearer(
    ctx: &impl AuthContext,
    headers: &http::HeaderMap,
    audience: &str,
) -> Result<Claims, TokenError> {
    let token = bearer_token(headers)?;
    ctx.tokens().validate(token, audience, ctx.now())
}

/// Like [`check_bearer`] without returning the claims: a token this emulator already verified
/// costs one map lookup and no allocation.
pub fn check_bearer_cached(
    ctx: &impl AuthContext,
    headers: &http::HeaderMap,
    audience: &str,
) -> Result<(), TokenError> {
    let token = bearer_token(headers)?;
    ctx.tokens().check(token, audience, ctx.now())
}
