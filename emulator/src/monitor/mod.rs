//! Azure Monitor and Log Analytics: where the pools' logs and metrics become visible.
//!
//! # Layout
//!
//! - [`routing`]: diagnostic settings, environments' `appLogsConfiguration` and workspaces
//!   turned into the log store's routes (rebuilt whenever a resource changes).
//! - [`query`]: the Log Analytics query API (`/v1/workspaces/{customerId}/query`).
//! - [`metrics`]: Azure Monitor metrics, metric definitions and namespaces of pools and
//!   environments (reached through ARM's extension dispatch).
//!
//! This module comes before `arm` in the crate's layering: ARM calls into it (route refresh
//! after writes, the `Microsoft.Insights` metrics extension), never the other way round.

pub mod metrics;
pub mod query;
pub mod routing;

use axum::Router;

use crate::state::AppState;

/// The routes of this module that are not ARM extensions.
pub fn routes() -> Router<AppState> {
    query::routes()
}

/// Brings monitoring to life before the emulator serves: routes built from the stored
/// resources, the metric sampler started (it runs until the returned handle is aborted).
pub async fn start(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if let Err(e) = routing::ensure_fresh(state).await {
        tracing::warn!(error = %e, "could not build log routes");
    }
    let logs = routing::logs(state)?.clone();
    Some(sessions_runtime::pool::sampler::spawn(
        state.pools().clone(),
        logs,
        state.clock().clone(),
    ))
}
