//! Routes of every pool's management endpoint `{endpoint}/pools/{subscriptionId}/{resourceGroup}/{poolName}`
//! (see [`super::pool_endpoint`]): authentication, pool lookup, `.management/*` or the proxy
//! with allocation.
//!
//! The emulator's server sends every path that [`is_dataplane_path`] accepts straight to
//! [`serve_request`] (no ARM canonicalisation, no route table); [`router`] serves the same
//! handler for routers built without that fast path.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use super::error::DataPlaneError;
use super::headers::query_param;
use super::identifier;
use super::management;
use super::proxy::ProxyClient;
use crate::auth::bearer::check_bearer;
use crate::defaults::DATAPLANE_AUDIENCE;
use crate::pool::actor::PoolHandle;
use crate::pool::core::AllocError;
use crate::pool::session::SessionState;
use crate::state::AppState;

/// Longest wait for a ready session when one is booting (first request of an identifier).
pub const ALLOCATION_WAIT: Duration = Duration::from_secs(60);

/// The data-plane routes (merge into the emulator router).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pools/{sub}/{rg}/{pool}", any(handle))
        .route("/pools/{sub}/{rg}/{pool}/", any(handle))
        .route("/pools/{sub}/{rg}/{pool}/{*rest}", any(handle))
}

/// Validated data-plane tokens: emulator endpoint -> token -> `exp`. A token is verified once
/// (signature, audience) and afterwards only its expiry is checked, keeping RSA verification
/// off the per-request path; a hit allocates nothing. Cleared when it grows past
/// [`TOKEN_CACHE_MAX`] tokens.
type TokenCache =
    parking_lot::Mutex<std::collections::HashMap<String, std::collections::HashMap<String, i64>>>;

/// Most cached tokens.
pub const TOKEN_CACHE_MAX: usize = 4096;

fn token_cache() -> &'static TokenCache {
    static CACHE: std::sync::OnceLock<TokenCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// 401/403 unless the request carries a valid `https://dynamicsessions.io` token.
fn authorize(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), DataPlaneError> {
    let now = state.now().unix_timestamp();
    let token = crate::auth::tokens::bearer_token(headers).ok();
    if let Some(t) = token {
        let cache = token_cache().lock();
        let hit = cache
            .get(state.endpoint())
            .and_then(|tokens| tokens.get(t))
            .is_some_and(|exp| *exp > now);
        if hit {
            return Ok(());
        }
    }
    let claims = check_bearer(state, headers, DATAPLANE_AUDIENCE).map_err(|e| {
        if e.is_forbidden() {
            DataPlaneError::Forbidden(e.to_string())
        } else {
            DataPlaneError::Unauthorized(e.to_string())
        }
    })?;
    if let Some(t) = token {
        let mut cache = token_cache().lock();
        if cache.values().map(|tokens| tokens.len()).sum::<usize>() >= TOKEN_CACHE_MAX {
            cache.clear();
        }
        cache
            .entry(state.endpoint().to_string())
            .or_default()
            .insert(t.to_string(), claims.exp);
    }
    Ok(())
}

fn proxy_client() -> &'static ProxyClient {
    static CLIENT: std::sync::OnceLock<ProxyClient> = std::sync::OnceLock::new();
    CLIENT.get_or_init(ProxyClient::new)
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

async fn handle(State(state): State<AppState>, req: Request) -> Response {
    match serve(&state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Serves one data-plane request (the server's fast path; see the module docs). Logs it at
/// debug level like the rest of the emulator's requests.
pub async fn serve_request(state: AppState, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let log = tracing::enabled!(tracing::Level::DEBUG).then(|| req.uri().path().to_string());
    let resp = handle(State(state), req).await;
    if let Some(path) = log {
        tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    }
    resp
}

async fn serve(state: &AppState, req: Request) -> Result<Response, DataPlaneError> {
    authorize(state, req.headers())?;
    let path = req.uri().path().to_string();
    let (sub, rg, name, rest) =
        split_path(&path).ok_or_else(|| DataPlaneError::PoolNotFound(path.clone()))?;
    let decode = super::headers::percent_decode;
    let (sub, rg, name) = (decode(sub), decode(rg), decode(name));
    let pool = state
        .pools()
        .find(&sub, &rg, &name)
        .filter(|p| !p.snapshot().deleted)
        .ok_or_else(|| DataPlaneError::PoolNotFound(name.clone()))?;
    let rest = format!("/{}", rest.trim_start_matches('/'));
    if let Some(op) = rest.strip_prefix("/.management/") {
        let endpoint = super::pool_endpoint(state.endpoint(), &sub, &rg, &name);
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
    proxy_client()
        .forward(addr, &rest, req, client_ip, proto)
        .await
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
    let name = pool.context().name.clone();
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
