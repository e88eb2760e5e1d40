//! Token endpoint, OpenID discovery, JWKS, bearer-token validation.
//!
//! - [`keys`]: the RS256 signing key (data dir or in-memory).
//! - [`tokens`]: issuing and validating JWTs ([`TokenService`], [`TokenError`]).
//! - [`token_endpoint`]: `POST /{tenant}/oauth2/v2.0/token` (client credentials) and the
//!   AAD-shaped error table.
//! - [`discovery`]: OpenID configuration, JWKS, MSAL instance discovery.
//! - [`bearer`]: the ARM auth middleware and [`check_bearer`] for other surfaces
//!   (the pool data plane maps [`TokenError`] into its own envelope).

pub mod bearer;
pub mod discovery;
pub mod keys;
pub mod token_endpoint;
pub mod tokens;

use axum::routing::{get, post};
use axum::Router;

pub use bearer::{check_bearer, require_arm_token};
pub use tokens::{Claims, TokenError, TokenService};

use crate::state::AppState;

/// Routes of the identity surface (no auth required).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::token))
        .route("/{tenant}/oauth2/token", post(token_endpoint::token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks))
        .route("/{tenant}/discovery/keys", get(discovery::jwks))
        .route(
            "/common/discovery/instance",
            get(discovery::instance_discovery),
        )
}
