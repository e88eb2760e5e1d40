//! Routes of every pool's management endpoint `{endpoint}/pools/{subscriptionId}/{resourceGroup}/{poolName}`
//! (see [`super::pool_endpoint`]): authentication, pool lookup, `.management/*` or the proxy
//! with allocation.
//!
//! The emulator's server sends every path that [`is_dataplane_path`] accepts straight to
//! [`serve_request`] (no ARM canonicalisation, no route table); [`router`] serves the same
//! handler for routers built without that fast path. Both run on a [`DataPlane`]: the
//! emulator's state plus its own connection pool to sessions (nothing process-wide).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use super::error::DataPlaneError;
use super::headers::query_param;
use super::identifier;
use super::management;
use super::proxy::ProxyClient;
use sessions_runtime::pool::actor::PoolHandle;
use sessions_runtime::pool::core::AllocError;
use sessions_runtime::pool::session::SessionState;

use sessions_runtime::id::ResourceId;

use crate::auth::check_bearer_cached;
use crate::defaults::DATAPLANE_AUDIENCE;
use crate::state::AppState;

/// Longest wait for a ready session when one is booting (first request of an identifier).
pub const ALLOCATION_WAIT: Duration = Duration::from_secs(60);

/// The data plane of one emulator: its state and its own keep-alive pool of connections to
/// sessions. Cheap to clone; build one per server ([`crate::server::router`]).
#[derive(Clone, Debug)]
pub struct DataPlane {
    state: AppState,
    proxy: ProxyClient,
}

impl DataPlane {
    /// The data plane of `state`, with an empty connection pool.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            proxy: ProxyClient::new(),
        }
    }
}

/// The data-plane routes (merge into the emulator router).
pub fn router(dp: DataPlane) -> Router<AppState> {
    let handler = move |req: Request| {
        let dp = dp.clone();
        async move { handle(&dp, req).await }
    };
    Router::new()
        .route("/pools/{sub}/{rg}/{pool}", any(handler.clone()))
        .route("/pools/{sub}/{rg}/{pool}/", any(handler.clone()))
        .route("/pools/{sub}/{rg}/{pool}/{*rest}", any(handler))
}

/// 401/403 unless the request carries a valid `https://dynamicsessions.io` token. A token
/// this emulator already verified costs one lookup in its token service (no RSA, no
/// allocation).
fn authorize(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), DataPlaneError> {
    check_bearer_cached(state, headers, DATAPLANE_AUDIENCE).map_err(|e| {
        if e.is_forbidden() {
            DataPlaneError::Forbidden(e.to_string())
        } else {
            DataPlaneError::Unauthorized(e.to_string())
        }
    })
}

/// Splits `/pools/{sub}/{rg}/{pool}{rest}` into its raw (still percent-encoded) parts.
pub fn split_path(path: &str) -> Option<(&str, &str, &str, &str)> {
    let p = path.strip_prefix("/pools/")?;
    let mut it = p.splitn(4, '/');
    let sub = it.next()?;
    let rg = it.next()?;
    let pool = it.next()?;
    let rest = it.next().unwrap_or("");
    Some((sub, rg, pool, rest))
}

/// True for the paths [`router`] serves: `/pools/{sub}/{rg}/{pool}` with three non-empty
/// segments, optionally followed by `/` and anything.
pub fn is_dataplane_path(path: &str) -> bool {
    split_path(path)
        .is_some_and(|(sub, rg, pool, _)| !sub.is_empty() && !rg.is_empty() && !pool.is_empty())
}

async fn handle(dp: &DataPlane, req: Request) -> Response {
    match serve(dp, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Serves one data-plane request (the server's fast path; see the module docs). Logs it at
/// debug level like the rest of the emulator's requests.
pub async fn serve_request(dp: &DataPlane, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let log = tracing::enabled!(tracing::Level::DEBUG).then(|| req.uri().path().to_string());
    let resp = handle(dp, req).await;
    if let Some(path) = log {
        tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    }
    resp
}

async fn serve(dp: &DataPlane, req: Request) -> Result<Response, DataPlaneError> {
    let path = req.uri().path().to_string();
    let (sub, rg, name, rest) =
        split_path(&path).ok_or_else(|| DataPlaneError::PoolNotFound(path.clone()))?;
    let decode = super::headers::percent_decode;
    let (sub, rg, name) = (decode(sub), decode(rg), decode(name));
    let pool_id = super::pool_id(&sub, &rg, &name);
    serve_pool(dp, &pool_id, rest, req).await
}

/// Serves one request to the origin of pool `pool` (every path belongs to the pool).
pub async fn serve_origin_request(dp: &DataPlane, pool: &ResourceId, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = match serve_pool(dp, pool, &path, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    tracing::debug!(%method, %path, pool = %pool, status = resp.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    resp
}

/// Serves `rest` (the path after the pool's endpoint root, still percent-encoded) of pool
/// `pool_id`: authorization, `.management/*`, or the proxy with allocation.
async fn serve_pool(
    dp: &DataPlane,
    pool_id: &ResourceId,
    rest: &str,
    req: Request,
) -> Result<Response, DataPlaneError> {
    let state = &dp.state;
    let mcp_path = matches!(rest.trim_start_matches('/'), "mcp" | "mcp/");
    let mcp = mcp_path
        .then(|| state.mcp_access(pool_id))
        .flatten()
        .filter(|a| a.enabled);
    if mcp.is_none() {
        authorize(state, req.headers())?;
    }
    let name = pool_id.name().to_string();
    let pool = state
        .pools()
        .get(pool_id)
        .filter(|p| !p.snapshot().deleted)
        .ok_or_else(|| DataPlaneError::PoolNotFound(name.clone()))?;
    if mcp.is_some() {
        // The pool's MCP server (x-ms-apikey, not a bearer token); without MCP enabled, `/mcp`
        // is the container's own path like any other.
        let p = pool.clone();
        return Ok(
            super::mcp::handle(&pool, mcp, req, move |identifier: String| {
                let p = p.clone();
                async move {
                    resolve(&p, &identifier)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            })
            .await,
        );
    }
    let rest = format!("/{}", rest.trim_start_matches('/'));
    if let Some(op) = rest.strip_prefix("/.management/") {
        let endpoint = super::endpoint_of(state, pool_id);
        return management::handle(&pool, &endpoint, req.method(), op, req.uri().query()).await;
    }
    if rest == "/.management" {
        return Err(DataPlaneError::NotSupported(
            "'.management' needs an operation: stopSession, getSession or listSessions".into(),
        ));
    }
    let raw = query_param(req.uri().query(), "identifier").ok_or_else(|| {
        DataPlaneError::validation(
            "identifier",
            identifier::IdentifierError::Missing.to_string(),
        )
    })?;
    let id = identifier::validate(&raw)
        .map_err(|e| DataPlaneError::validation("identifier", e.to_string()))?
        .to_string();
    let addr = resolve(&pool, &id).await?;
    let client_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let proto = if state.config().tls { "https" } else { "http" };
    let req: axum::http::Request<Body> = req;
    dp.proxy.forward(addr, &rest, req, client_ip, proto).await
}

/// The address of the session for `id`: bound already (fast path) or newly allocated.
async fn resolve(pool: &PoolHandle, id: &str) -> Result<SocketAddr, DataPlaneError> {
    if let Some((_, addr)) = pool.route(id) {
        pool.touch(id);
        return Ok(addr);
    }
    let snap = pool.snapshot();
    let booting = snap.count(SessionState::Booting) > 0 || snap.count(SessionState::Ready) > 0;
    let wait = if booting {
        ALLOCATION_WAIT
    } else {
        Duration::ZERO
    };
    let name = pool.context().name().to_string();
    let started = std::time::Instant::now();
    match pool.allocate(id, wait).await {
        Ok(b) => {
            tracing::debug!(pool = %name, identifier = id, session = %b.session, new = b.new, wait_us = started.elapsed().as_micros() as u64, "allocated");
            Ok(b.address)
        }
        Err(AllocError::PoolFull { max }) => Err(DataPlaneError::PoolFull { pool: name, max }),
        Err(AllocError::NoneReady) => Err(DataPlaneError::NotReady {
            pool: name,
            detail: pool
                .snapshot()
                .last_error
                .clone()
                .unwrap_or_else(|| "no session became ready in time".into()),
        }),
        Err(AllocError::Deleted) => Err(DataPlaneError::PoolNotFound(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_path_keeps_rest_raw() {
        assert_eq!(
            split_path("/pools/s/rg/p/api/x%20y"),
            Some(("s", "rg", "p", "api/x%20y"))
        );
        assert_eq!(split_path("/pools/s/rg/p"), Some(("s", "rg", "p", "")));
        assert_eq!(split_path("/pools/s/rg"), None);
        assert_eq!(split_path("/other"), None);
    }

    #[test]
    fn dataplane_paths_need_three_segments() {
        assert!(is_dataplane_path("/pools/s/rg/p"));
        assert!(is_dataplane_path("/pools/s/rg/p/"));
        assert!(is_dataplane_path("/pools/s/rg/p/api/x"));
        assert!(!is_dataplane_path("/pools/s/rg/"));
        assert!(!is_dataplane_path("/pools/s//p"));
        assert!(!is_dataplane_path("/pools/s/rg"));
        assert!(!is_dataplane_path("/subscriptions/s"));
    }
}
