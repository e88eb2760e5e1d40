//! The HTTP server: [`router`] assembles every surface; [`run`] serves it on a listener
//! (plain HTTP or TLS) until the shutdown future completes, then drains connections.

use std::future::Future;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower::ServiceExt;

use sessions_runtime::id::ResourceId;

use crate::dataplane::DataPlane;
use crate::edge::Edge;
use crate::monitor::prometheus;
use crate::state::AppState;

/// Errors serving HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Accepting or serving failed.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

async fn health() -> &'static str {
    "ok"
}

/// Logs every request at debug level (`RUST_LOG=sessions_emulator=debug`).
async fn log_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    resp
}

/// The whole emulator as one router: `/health`, `/metrics`, the token endpoint and discovery,
/// ARM, the Log Analytics query API, the pool data plane (`/pools/...`). Every request but the
/// data plane's has its body limited first ([`crate::bodies`]); every answered request is
/// counted for `/metrics`.
/// ARM paths are canonicalised (case-insensitive keywords) before routing.
///
/// Data-plane fast path: a path of a pool endpoint
/// ([`crate::dataplane::routes::is_dataplane_path`]) goes straight to the data-plane handler,
/// skipping ARM canonicalisation, the route table and the logging middleware (the handler logs
/// its requests itself). It is the same handler the route table would reach, so behaviour
/// (auth, errors, streaming, headers) is identical.
pub fn router(state: AppState) -> Router {
    let dataplane = DataPlane::new(state.clone());
    let state_limits = state.config().limits.clone();
    let inner: Router = Router::new()
        .route("/health", get(health))
        .merge(crate::auth::routes::<AppState>())
        .merge(crate::arm::router(&state))
        .merge(crate::monitor::routes())
        .merge(crate::dataplane::router(dataplane.clone()))
        .fallback(crate::arm::fallback)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .method_not_allowed_fallback(crate::arm::method_not_allowed)
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state);
    let canonical = inner.map_request(crate::arm::path::canonicalize_request::<axum::body::Body>);
    let limits = Arc::new(state_limits);
    let svc = tower::service_fn(move |req: axum::extract::Request| {
        let fast = crate::dataplane::routes::is_dataplane_path(req.uri().path())
            .then(|| dataplane.clone());
        let canonical = canonical.clone();
        let limits = limits.clone();
        let method = req.method().clone();
        async move {
            let (surface, resp) = match fast {
                Some(dp) => (
                    "dataplane",
                    crate::dataplane::routes::serve_request(&dp, req).await,
                ),
                None => {
                    let surface = prometheus::surface(req.uri().path());
                    let resp = match crate::bodies::limit(req, &limits).await {
                        Ok(req) => match canonical.oneshot(req).await {
                            Ok(r) => r,
                            Err(e) => match e {},
                        },
                        Err(refused) => refused,
                    };
                    (surface, resp)
                }
            };
            prometheus::record_request(surface, &method, resp.status().as_u16());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    Router::new().fallback_service(svc)
}

/// Serves `state` on `listener` until `shutdown` resolves. First brings the state to life
/// ([`crate::wiring::start`]: stored pools get their sessions again); with `tls` every
/// connection is a TLS handshake first. Every session pool's own origin ([`crate::origins`])
/// is served on a listener of its own, through the same serve loop ([`serve_listener`]) and
/// under the same limits and connection cap ([`crate::edge::Edge`]). On the way out every
/// session is stopped.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let edge = Edge::new(state.config().limits.clone());
    install_origins(&state, &listener, tls.clone(), edge.clone());
    crate::wiring::start(&state).await;
    let monitor = crate::monitor::start(&state).await;
    let pools = state.pools().clone();
    let app = router(state.clone());
    let served = serve_listener(listener, app, tls, edge, shutdown).await;
    if let Some(m) = monitor {
        m.abort();
    }
    state.origins().close_all();
    pools.shutdown().await;
    served
}

/// The one serve loop of every listener (the main one and each pool's origin): plain HTTP or
/// TLS under `edge`'s limits ([`crate::edge`]), until `shutdown` resolves, then drains open
/// connections (for at most the drain timeout).
pub async fn serve_listener(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    edge: Edge,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    crate::edge::serve(listener, app, tls, edge, shutdown)
        .await
        .map_err(ServeError::from)
}

/// The router of one pool's origin: every path is the pool's data plane.
fn origin_router(dp: DataPlane, pool: ResourceId) -> Router {
    let svc = tower::service_fn(move |req: axum::extract::Request| {
        let (dp, pool) = (dp.clone(), pool.clone());
        let method = req.method().clone();
        async move {
            let resp = crate::dataplane::routes::serve_origin_request(&dp, &pool, req).await;
            prometheus::record_request("dataplane", &method, resp.status().as_u16());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    Router::new().fallback_service(svc)
}

/// Lets the state open pool origins: each is served by [`serve_listener`] with the main
/// listener's TLS settings, on the main listener's address.
fn install_origins(
    state: &AppState,
    listener: &TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    edge: Edge,
) {
    let ip = listener
        .local_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let dp = DataPlane::new(state.clone());
    let spawner: crate::origins::Spawner = Arc::new(move |l, pool: ResourceId, stop| {
        let app = origin_router(dp.clone(), pool.clone());
        let (tls, edge) = (tls.clone(), edge.clone());
        tokio::spawn(async move {
            if let Err(e) = serve_listener(l, app, tls, edge, crate::origins::stopped(stop)).await {
                tracing::warn!(pool = %pool, error = %e, "serving the pool's origin failed");
            }
        });
    });
    state.origins().install(spawner, ip);
}
