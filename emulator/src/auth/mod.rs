//! Token endpoint, OpenID discovery, JWKS, bearer-token validation.
//!
//! - [`keys`]: the RS256 signing key (data dir or in-memory).
//! - [`tokens`]: issuing and validating JWTs ([`TokenService`], [`TokenError`]).
//! - [`token_endpoint`]: `POST /{tenant}/oauth2/v2.0/token` (client credentials) and the
//!   AAD-shaped error table.
//! - [`discovery`]: OpenID configuration, JWKS, MSAL instance discovery.
//! - [`bearer`]: [`check_bearer`]: every surface checks its tokens with it and maps
//!   [`TokenError`] into its own error envelope (ARM in `crate::arm::auth`, the data plane in
//!   `crate::dataplane::routes`).
//!
//! The module sees no emulator state: its routes and checks run on any state that implements
//! [`AuthContext`] (the token service, the clock, the endpoint).

pub mod bearer;
pub mod discovery;
pub mod keys;
pub mod token_endpoint;
pub mod tokens;

use axum::routing::{get, post};
use axum::Router;

pub use bearer::{check_bearer, check_bearer_cached};
pub use tokens::{Claims, TokenError, TokenService};

/// What the identity surface needs from the emulator's state.
pub trait AuthContext: Clone + Send + Sync + 'static {
    /// The token issuer and validator of this emulator.
    fn tokens(&self) -> &TokenService;
    /// Now, from the emulator's clock.
    fn now(&self) -> time::OffsetDateTime;
    /// Base URL of this emulator without trailing slash.
    fn endpoint(&self) -> &str;
}

/// Routes of the identity surface (no auth required).
pub fn routes<S: AuthContext>() -> Router<S> {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token_endpoint::token::<S>),
        )
        .route("/{tenant}/oauth2/token", post(token_endpoint::token::<S>))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration::<S>),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration::<S>),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks::<S>))
        .route("/{tenant}/discovery/keys", get(discovery::jwks::<S>))
        .route(
            "/common/discovery/instance",
            get(discovery::instance_discovery::<S>),
        )
}
