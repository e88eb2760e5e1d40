//! The HTTP server: [`router`] assembles every surface; [`run`] serves it on a listener
//! (plain HTTP or TLS) until the shutdown future completes, then drains connections.

use std::future::Future;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::dataplane::DataPlane;
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

/// The whole emulator as one router: `/health`, the token endpoint and discovery, ARM, the
/// pool data plane (`/pools/...`).
/// ARM paths are canonicalised (case-insensitive keywords) before routing.
///
/// Data-plane fast path: a path of a pool endpoint
/// ([`crate::dataplane::routes::is_dataplane_path`]) goes straight to the data-plane handler,
/// skipping ARM canonicalisation, the route table and the logging middleware (the handler logs
/// its requests itself). It is the same handler the route table would reach, so behaviour
/// (auth, errors, streaming, headers) is identical.
pub fn router(state: AppState) -> Router {
    let dataplane = DataPlane::new(state.clone());
    let inner: Router = Router::new()
        .route("/health", get(health))
        .merge(crate::auth::routes::<AppState>())
        .merge(crate::arm::router(&state))
        .merge(crate::dataplane::router(dataplane.clone()))
        .fallback(crate::arm::fallback)
        .method_not_allowed_fallback(crate::arm::method_not_allowed)
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state);
    let canonical = inner.map_request(crate::arm::path::canonicalize_request::<axum::body::Body>);
    let svc = tower::service_fn(move |req: axum::extract::Request| {
        let fast = crate::dataplane::routes::is_dataplane_path(req.uri().path())
            .then(|| dataplane.clone());
        let canonical = canonical.clone();
        async move {
            match fast {
                Some(dp) => Ok(crate::dataplane::routes::serve_request(&dp, req).await),
                None => canonical.oneshot(req).await,
            }
        }
    });
    Router::new().fallback_service(svc)
}

/// Serves `state` on `listener` until `shutdown` resolves. First brings the state to life
/// ([`crate::wiring::start`]: stored pools get their sessions again); with `tls` every
/// connection is a TLS handshake first (failed handshakes are logged and dropped). On the way
/// out every session is stopped.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    crate::wiring::start(&state).await;
    let pools = state.pools().clone();
    let app = router(state);
    let served = match tls {
        None => {
            // TCP_NODELAY as on the TLS path: a streamed response writes its head and its body
            // separately, and with Nagle's algorithm the body would wait for the caller's
            // delayed ACK (up to 40 ms).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(ServeError::from)
        }
        Some(cfg) => crate::tls::serve_tls(listener, app, cfg, shutdown)
            .await
            .map_err(ServeError::from),
    };
    pools.shutdown().await;
    served
}
