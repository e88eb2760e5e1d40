//! The Log Analytics query API: `GET` and `POST /v1/workspaces/{customerId}/query`.
//!
//! The request carries a bearer token for `https://api.loganalytics.io` (or for the emulator's
//! own endpoint, the scope SDKs derive from a custom endpoint). The query runs on the KQL
//! engine (`sessions_kql`) over the workspace's tables in the log store
//! ([`sessions_runtime::logstore::scan::WorkspaceSource`]); `timespan` limits
//! `TimeGenerated`, `workspaces` adds more workspaces to read from. The answer is
//! `{"tables":[{"name":"PrimaryResult","columns":[{"name","type"}],"rows":[...]}]}`, with
//! `statistics` when `Prefer: include-statistics=true`, and a `PartialError` beside the
//! rows when the result was cut at 500,000 rows. Errors: [`error::LaError`].
//!
//! - [`request`]: the request from GET or POST, the `Prefer` header.
//! - [`error`]: the service's error shapes.
//! - [`sources`]: several workspaces read as one source.

pub mod error;
pub mod request;
pub mod sources;

use std::sync::OnceLock;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use sessions_kql::{Catalog, DateTime, Engine, QueryOptions, QueryResult, TimeRange};
use sessions_runtime::logstore::scan::WorkspaceView;
use sessions_runtime::logstore::ticks;

use self::error::LaError;
use self::request::{Prefer, QueryRequest};
use super::routing;
use crate::auth::check_bearer;
use crate::defaults;
use crate::state::AppState;

/// The query API's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/v1/workspaces/{workspace}/query",
        get(query_get).post(query_post),
    )
}

/// The tables every workspace has.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(sessions_kql::tables::catalog)
}

fn correlation_of(headers: &HeaderMap) -> String {
    ["x-ms-correlation-request-id", "x-ms-client-request-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

async fn query_get(
    State(state): State<AppState>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let req = request::from_query_string(raw.as_deref());
    respond(&state, &workspace, &headers, req).await
}

async fn query_post(
    State(state): State<AppState>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = request::from_body(&body);
    respond(&state, &workspace, &headers, req).await
}

async fn respond(
    state: &AppState,
    workspace: &str,
    headers: &HeaderMap,
    req: Result<QueryRequest, LaError>,
) -> Response {
    let correlation = correlation_of(headers);
    match run(state, workspace, headers, req).await {
        Ok(body) => {
            let mut resp = (StatusCode::OK, Json(body)).into_response();
            if let Ok(v) = http::HeaderValue::from_str(&correlation) {
                resp.headers_mut().insert("x-ms-correlation-request-id", v);
            }
            resp
        }
        Err(e) => {
            tracing::debug!(error = %e, "log analytics query refused");
            e.into_response_with(&correlation)
        }
    }
}

/// Runs one request: token, workspaces, timespan, the query. Returns the response body.
pub async fn run(
    state: &AppState,
    workspace: &str,
    headers: &HeaderMap,
    req: Result<QueryRequest, LaError>,
) -> Result<Value, LaError> {
    check_bearer(state, headers, defaults::LOG_ANALYTICS_AUDIENCE)?;
    let req = req?;
    let prefer = Prefer::parse(headers.get("prefer").and_then(|v| v.to_str().ok()));
    execute(state, workspace, &req, prefer).await
}

/// Runs `req` against `workspace` (a customer id) without checking a token (the CLI's path
/// already holds one).
pub async fn execute(
    state: &AppState,
    workspace: &str,
    req: &QueryRequest,
    prefer: Prefer,
) -> Result<Value, LaError> {
    routing::ensure_fresh(state)
        .await
        .map_err(|e| LaError::Internal(e.to_string()))?;
    let logs = routing::logs(state)
        .ok_or_else(|| LaError::Internal("this emulator has no log store".into()))?
        .clone();
    let table = logs.routes();
    let now = state.now();
    let mut views: Vec<WorkspaceView> = Vec::new();
    for id in std::iter::once(workspace).chain(req.workspaces.iter().map(String::as_str)) {
        let info = table
            .workspace(id)
            .ok_or_else(|| LaError::WorkspaceNotFound(id.to_string()))?;
        if views.iter().all(|v| v.customer_id != info.customer_id) {
            views.push(WorkspaceView {
                customer_id: info.customer_id.clone(),
                retention_days: info.retention_days,
                now,
            });
        }
    }
    let now_kql = DateTime(ticks(now));
    let time_range = match &req.timespan {
        None => None,
        Some(t) => Some(TimeRange::parse_iso8601(t, now_kql).map_err(|m| {
            LaError::BadArgument {
                code: "InvalidTimespanFormat",
                message: format!("The timespan '{t}' is invalid: {m}. Use an ISO 8601 duration such as PT1H or an interval such as 2024-05-01T00:00:00Z/2024-05-02T00:00:00Z."),
            }
        })?),
    };
    let text = req.query.clone();
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        let sources = sources::Sources::new(views.into_iter().map(|v| logs.workspace(v)).collect());
        let opts = QueryOptions {
            now: now_kql,
            time_range,
            max_rows: sessions_kql::DEFAULT_MAX_ROWS,
        };
        Engine::new(catalog(), &sources).query(&text, &opts)
    })
    .await
    .map_err(|e| LaError::Internal(format!("the query task failed: {e}")))?
    .map_err(LaError::Query)?;
    Ok(body_of(&result, prefer, started.elapsed().as_secs_f64()))
}

/// The 200 body of a result.
pub fn body_of(result: &QueryResult, prefer: Prefer, seconds: f64) -> Value {
    let mut body = result.to_json();
    let Some(obj) = body.as_object_mut() else {
        return body;
    };
    if result.truncated {
        obj.insert(
            "error".into(),
            json!({
                "code": "PartialError",
                "message": "There were some errors when processing your query.",
                "details": [{
                    "code": "EngineError",
                    "message": "Something went wrong processing your query on the server.",
                    "innererror": {
                        "code": "-2133196797",
                        "message": format!("Query result set has exceeded the internal record count limit {} records (E_QUERY_RESULT_SET_TOO_LARGE). Add a take/limit or summarize to reduce the result.", sessions_kql::DEFAULT_MAX_ROWS),
                        "severity": 2,
                        "severityName": "Error"
                    }
                }]
            }),
        );
    }
    if prefer.statistics {
        obj.insert(
            "statistics".into(),
            json!({"query": {
                "executionTime": seconds,
                "resourceUsage": {"cache": {"memory": {"hits": 0, "misses": 0, "total": 0}}},
                "datasetStatistics": [{"tableRowCount": result.rows.len(), "tableSize": 0}],
            }}),
        );
    }
    if prefer.render {
        obj.insert("render".into(), json!({}));
    }
    body
}
