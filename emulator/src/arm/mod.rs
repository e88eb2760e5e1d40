//! Azure Resource Manager routes and the ARM error table.
//!
//! # Layout
//!
//! - [`error`]: [`ArmError`], the one table of ARM statuses, codes and messages.
//! - [`auth`]: the ARM token check and its errors.
//! - [`path`]: case-insensitive ARM paths (canonicalised before routing), extension paths,
//!   locations.
//! - [`request`]: query/`api-version`, JSON body parsing, case-insensitive property access.
//! - [`headers`]: `x-ms-request-id` / `x-ms-correlation-request-id` on every response.
//! - [`operations`]: long-running operations (`Azure-AsyncOperation`, `Location`, status routes).
//! - [`paging`]: `{value, nextLink}` pages.
//! - [`lookup`]: existence checks (subscription, resource group, referenced resources).
//! - [`resource`]: `systemData`, timestamps.
//! - [`tracked`]: generic handlers for simple tracked resources.
//! - [`subscriptions`], [`resource_groups`], [`environments`], [`workspaces`]: the resources.
//! - [`extensions`]: `{resourceId}/providers/Microsoft.Insights/...` dispatch (from [`fallback`]).
//!   Resource ids are [`sessions_runtime::id::ResourceId`] everywhere.
//! - [`diagnostic_settings`]: `Microsoft.Insights/diagnosticSettings` on any resource id.
//! - `Microsoft.App/sessionPools`: [`session_pools`], including the bridge to the pool runtime
//!   (`session_pools::runtime`).
//! - [`seed`]: the seeded defaults.
//!
//! Mounting routes: add them to [`router`] with `.merge(x::routes())`. Use the path parameter
//! names `{subscription}`, `{rg}` and `{name}` (the router rejects differently named
//! parameters at the same position) and canonical casing; the auth and header middleware
//! apply to every route merged here.

pub mod auth;
pub mod diagnostic_settings;
pub mod environments;
pub mod error;
pub mod extensions;
pub mod headers;
pub mod lookup;
pub mod operations;
pub mod paging;
pub mod path;
pub mod request;
pub mod resource;
pub mod resource_groups;
pub mod seed;
pub mod session_pools;
pub mod subscriptions;
pub mod tracked;
pub mod workspaces;

use axum::extract::{Request, State};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::Router;

pub use error::ArmError;

use crate::state::AppState;

/// Every ARM route, behind the ARM token check and the ARM tracing headers.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(subscriptions::routes())
        .merge(resource_groups::routes())
        .merge(tracked::routes(&environments::TYPE))
        .merge(tracked::routes(&workspaces::TYPE))
        .merge(operations::routes())
        .merge(session_pools::routes())
        .route_layer(from_fn_with_state(state.clone(), refresh_log_routes))
        .route_layer(from_fn_with_state(state.clone(), auth::require_arm_token))
        .route_layer(from_fn(headers::arm_headers))
}

/// After a successful write, log routes follow the resources before the answer leaves (a
/// diagnostic setting, an environment's `appLogsConfiguration`, a workspace, a deletion).
async fn refresh_log_routes(
    State(state): State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let write = req.method() != http::Method::GET && req.method() != http::Method::HEAD;
    let resp = next.run(req).await;
    if write && resp.status().as_u16() < 400 {
        if let Err(e) = crate::monitor::routing::ensure_fresh(&state).await {
            tracing::warn!(error = %e, "could not rebuild log routes");
        }
    }
    resp
}

/// Fallback for paths no route matched. ARM paths (`/subscriptions/...`) get the token check,
/// extension resources (`{resourceId}/providers/Microsoft.Insights/diagnosticSettings/...`),
/// or an ARM 404; other paths a plain JSON 404.
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with("/subscriptions") {
        let body = serde_json::json!({"error": {"code": "NotFound", "message": format!("No emulator route serves '{path}'.")}});
        return (http::StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    }
    let correlation = req.headers().get("x-ms-correlation-request-id").cloned();
    let client_request = req.headers().get("x-ms-client-request-id").cloned();
    let write = req.method() != http::Method::GET && req.method() != http::Method::HEAD;
    let mut resp = match auth::check_arm_token(&state, req.headers()) {
        Err(e) => e.into_response(),
        Ok(_) => extension_or_404(state.clone(), req, &path).await,
    };
    if write && resp.status().as_u16() < 400 {
        if let Err(e) = crate::monitor::routing::ensure_fresh(&state).await {
            tracing::warn!(error = %e, "could not rebuild log routes");
        }
    }
    headers::decorate(correlation, client_request, &mut resp);
    resp
}

/// Answer for a known path with an unsupported method: ARM's 405 body on ARM paths.
pub async fn method_not_allowed(req: Request) -> Response {
    let method = req.method().to_string();
    let mut resp = ArmError::MethodNotAllowed(method).into_response();
    if req.uri().path().starts_with("/subscriptions") {
        let correlation = req.headers().get("x-ms-correlation-request-id").cloned();
        let client_request = req.headers().get("x-ms-client-request-id").cloned();
        headers::decorate(correlation, client_request, &mut resp);
    }
    resp
}

async fn extension_or_404(state: AppState, req: Request, path: &str) -> Response {
    match extensions::dispatch(state, req, path).await {
        Some(resp) => resp,
        None => ArmError::InvalidResourceType(path.to_string()).into_response(),
    }
}
