//! Pool data plane: each pool's management endpoint, its own origin
//! `{scheme}://{host}:{port}` (see [`endpoint_of`] and [`crate::origins`]), and its alias
//! `{endpoint}/pools/{subscriptionId}/{resourceGroup}/{poolName}` on the main listener
//! (see [`pool_endpoint`]). Both serve the same routes below.
//!
//! - Any method and path with `?identifier=X` is reverse-proxied to the session bound to `X`
//!   (a ready session is allocated and bound on the first request) at its target port.
//! - `POST .management/{stopSession,getSession,listSessions}` are answered by the emulator.
//! - Every request needs a bearer token for `https://dynamicsessions.io` (401 without a valid
//!   token, 403 for another audience).
//!
//! # What reaches the container
//!
//! Method, path after the endpoint root, every query parameter except `identifier` and
//! `api-version`, every header except the hop-by-hop set (`Connection` and the headers it names,
//! `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`), `Authorization`
//! and `Host` (replaced by the session's address); plus `X-Forwarded-For` (caller address appended), `X-Forwarded-Proto` and
//! `X-Forwarded-Host` (the caller's `Host`). The body streams through unchanged. The response
//! (status, headers minus hop-by-hop, body) comes back unchanged.
//!
//! # Layout
//!
//! - [`routes`]: the axum routes, auth, pool lookup, allocation.
//! - [`proxy`]: the streaming reverse proxy; [`upstream`]: its keep-alive connections to
//!   sessions, driven by the serving task.
//! - [`headers`]: header and query rewriting.
//! - [`management`]: the `.management/*` operations.
//! - [`mcp`]: the pool's MCP server (`{endpoint}/mcp`, `x-ms-apikey`) when it is enabled.
//! - [`identifier`]: the identifier rule; [`paging`]: api-versions, `skip`, `nextLink`.
//! - [`error`]: the data-plane error table and envelope.

pub mod error;
pub mod headers;
pub mod identifier;
pub mod management;
pub mod mcp;
pub mod paging;
pub mod proxy;
pub mod routes;
pub mod upstream;

pub use routes::{router, DataPlane};

use sessions_runtime::id::ResourceId;

/// `poolManagementEndpoint` of the pool `pool`: its own origin
/// (`{scheme}://{host}:{port}`, see [`crate::origins`]) when it has a listener, else the
/// path-prefixed alias [`pool_endpoint`].
pub fn endpoint_of(state: &crate::state::AppState, pool: &ResourceId) -> String {
    state
        .origins()
        .url(pool)
        .unwrap_or_else(|| pool_endpoint(state.endpoint(), pool))
}

/// The path-prefixed alias of a pool's endpoint on the main listener:
/// `{endpoint}/pools/{subscriptionId}/{resourceGroup}/{poolName}`.
pub fn pool_endpoint(endpoint: &str, pool: &ResourceId) -> String {
    format!(
        "{}/pools/{}/{}/{}",
        endpoint.trim_end_matches('/'),
        pool.subscription_id(),
        pool.resource_group_name().unwrap_or_default(),
        pool.name()
    )
}

/// The resource id of the pool whose endpoint is `/pools/{subscription}/{resource_group}/{name}`.
pub fn pool_id(subscription: &str, resource_group: &str, name: &str) -> ResourceId {
    ResourceId::resource(subscription, resource_group, POOL_TYPE, name)
}

/// Resource type of session pools (the data plane serves one per pool).
pub const POOL_TYPE: &str = "Microsoft.App/sessionPools";
