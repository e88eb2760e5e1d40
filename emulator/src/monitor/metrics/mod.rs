//! Azure Monitor metrics of session pools and managed environments, as ARM extensions under
//! the resource id: `.../providers/Microsoft.Insights/metrics`, `metricDefinitions`,
//! `metricNamespaces` (GET, ARM token).
//!
//! The values are the samples the runtime's sampler records every minute of the emulator's
//! clock (`sessions_runtime::pool::sampler`), kept 30 days. On an environment the three pool
//! metrics are served summed over its pools, `poolName` splitting them (an emulator choice:
//! Azure lists other metrics for environments).
//!
//! - [`definitions`]: the metrics, grains, definitions and namespaces answers.
//! - [`params`]: the query parameters.
//! - [`compute`]: series, buckets, aggregations, the answer.
//! - [`error`]: the flat `{code, message}` errors.

pub mod compute;
pub mod definitions;
pub mod error;
pub mod params;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sessions_runtime::id::ResourceId;
use sessions_runtime::logstore::persist::SampleScope;

use self::definitions::Scope;
use self::error::MetricsError;
use super::routing::{self, ENVIRONMENT_TYPE, POOL_TYPE};
use crate::state::AppState;

/// api-versions of `metrics`.
pub const METRICS_API_VERSIONS: &[&str] = &[
    "2018-01-01",
    "2019-07-01",
    "2021-05-01",
    "2023-10-01",
    "2024-02-01",
];
/// api-versions of `metricDefinitions`.
pub const DEFINITIONS_API_VERSIONS: &[&str] =
    &["2018-01-01", "2021-05-01", "2023-10-01", "2024-02-01"];
/// api-versions of `metricNamespaces`.
pub const NAMESPACES_API_VERSIONS: &[&str] = &["2017-12-01-preview", "2024-02-01"];

/// The extension kinds served here.
pub const KINDS: [&str; 3] = ["metrics", "metricDefinitions", "metricNamespaces"];

fn api_version(pairs: &[(String, String)], supported: &[&str]) -> Result<(), MetricsError> {
    let list = supported.join(", ");
    let v = params::param(pairs, "api-version")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| MetricsError::MissingApiVersion(list.clone()))?;
    if supported.iter().any(|s| s.eq_ignore_ascii_case(v.trim())) {
        Ok(())
    } else {
        Err(MetricsError::InvalidApiVersion {
            got: v.to_string(),
            supported: list,
        })
    }
}

/// Serves `kind` (one of [`KINDS`], case-insensitive) on `resource_id`.
pub async fn handle(state: AppState, req: Request, resource_id: &str, kind: &str) -> Response {
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or_default().to_string();
    drop(req);
    match serve(&state, &method, &query, resource_id, kind).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn serve(
    state: &AppState,
    method: &Method,
    query: &str,
    resource_id: &str,
    kind: &str,
) -> Result<Response, MetricsError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let kind = KINDS
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(kind))
        .unwrap_or("metrics");
    api_version(
        &pairs,
        match kind {
            "metricDefinitions" => DEFINITIONS_API_VERSIONS,
            "metricNamespaces" => NAMESPACES_API_VERSIONS,
            _ => METRICS_API_VERSIONS,
        },
    )?;
    if method != Method::GET && !(kind == "metrics" && method == Method::POST) {
        return Err(MetricsError::BadRequest(format!(
            "The requested resource does not support http method '{method}'."
        )));
    }
    let not_found = || MetricsError::ResourceNotFound(resource_id.to_string());
    let id = ResourceId::parse(resource_id).map_err(|_| not_found())?;
    let rec = state
        .store()
        .get_resource(&id)
        .await?
        .ok_or_else(not_found)?;
    let scope = if rec.id.is_type(POOL_TYPE) {
        Scope::Pool
    } else if rec.id.is_type(ENVIRONMENT_TYPE) {
        Scope::Environment
    } else {
        return Err(MetricsError::BadRequest(format!(
            "Metrics are not available for resource type '{}': the emulator serves metrics of Microsoft.App/sessionPools and Microsoft.App/managedEnvironments.",
            rec.resource_type
        )));
    };
    let canonical = rec.id.as_str().to_string();
    match kind {
        "metricDefinitions" => {
            return Ok(Json(definitions::definitions(&canonical, scope)).into_response())
        }
        "metricNamespaces" => {
            return Ok(Json(definitions::namespaces(&canonical, scope)).into_response())
        }
        _ => {}
    }
    let now = state.now().unix_timestamp();
    let q = params::parse(&pairs, scope, now)?;
    let logs = routing::logs(state)
        .ok_or_else(|| MetricsError::Internal("this emulator has no log store".into()))?;
    let sample_scope = match scope {
        Scope::Pool => SampleScope::Pool(rec.id.key().to_string()),
        Scope::Environment => SampleScope::Environment(rec.id.key().to_string()),
    };
    let samples = logs.samples(sample_scope, q.from - 86_400, q.to).await?;
    // Tracked resources keep `location` at the top; stored session pools under `pool`.
    let region = rec.body["location"]
        .as_str()
        .or(rec.body["pool"]["location"].as_str())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect::<String>();
    Ok(Json(compute::answer(&canonical, scope, &region, &samples, &q)).into_response())
}
