//! Long-running operations as ARM clients poll them.
//!
//! A route that starts an asynchronous change calls [`begin`], answers with
//! [`async_headers`] (PUT/PATCH: `Azure-AsyncOperation` + `Location` + `Retry-After: 1`) or
//! [`location_headers`] (DELETE: `Location` + `Retry-After: 1`), and later calls [`succeed`] or
//! [`fail`]. Clients poll:
//!
//! - `GET /subscriptions/{s}/providers/Microsoft.App/locations/{loc}/operationStatuses/{id}`:
//!   200 `{id, name, status, startTime, endTime?, error?}`.
//! - `GET .../operationResults/{id}`: 202 (+`Location`, `Retry-After`) while running; when
//!   done 204 for deletes, 200 with the status body otherwise; a failed operation answers
//!   400 with its error.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ArmError;
use super::path::normalize_location;
use super::request::ArmQuery;
use super::resource::rfc3339;
use crate::state::AppState;
use sessions_runtime::id::ResourceId;
use sessions_runtime::store::{OperationRecord, OperationStatus};

/// Operation kind for creates.
pub const CREATE: &str = "Create";
/// Operation kind for updates (PUT on existing, PATCH).
pub const UPDATE: &str = "Update";
/// Operation kind for deletes.
pub const DELETE: &str = "Delete";

/// Starts (and persists) an `InProgress` operation on `resource_id` in `location`.
pub async fn begin(
    state: &AppState,
    resource_id: &ResourceId,
    location: &str,
    kind: &str,
) -> Result<OperationRecord, ArmError> {
    let op = OperationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        resource_id: resource_id.clone(),
        kind: kind.to_string(),
        status: OperationStatus::InProgress,
        subscription: resource_id.subscription_id().to_string(),
        location: normalize_location(location),
        start_time: state.now(),
        end_time: None,
        error: None,
    };
    state.store().put_operation(op.clone()).await?;
    Ok(op)
}

async fn finish(
    state: &AppState,
    op_id: &str,
    status: OperationStatus,
    error: Option<Value>,
) -> Result<(), ArmError> {
    let mut op = state
        .store()
        .get_operation(op_id)
        .await?
        .ok_or_else(|| ArmError::OperationNotFound(op_id.to_string()))?;
    op.status = status;
    op.end_time = Some(state.now());
    op.error = error;
    state.store().put_operation(op).await?;
    Ok(())
}

/// Marks the operation `Succeeded`.
pub async fn succeed(state: &AppState, op_id: &str) -> Result<(), ArmError> {
    finish(state, op_id, OperationStatus::Succeeded, None).await
}

/// Marks the operation `Failed` with `error` (shown under `error` in the status).
pub async fn fail(state: &AppState, op_id: &str, error: &ArmError) -> Result<(), ArmError> {
    finish(state, op_id, OperationStatus::Failed, Some(error.detail())).await
}

/// Marks the operation `Canceled`.
pub async fn cancel(state: &AppState, op_id: &str) -> Result<(), ArmError> {
    finish(state, op_id, OperationStatus::Canceled, None).await
}

/// Absolute URL of `operationStatuses/{id}` (or `operationResults` when `results`).
pub fn operation_url(
    state: &AppState,
    op: &OperationRecord,
    api_version: &str,
    results: bool,
) -> String {
    format!(
        "{}/subscriptions/{}/providers/Microsoft.App/locations/{}/{}/{}?api-version={api_version}",
        state.endpoint(),
        op.subscription,
        op.location,
        if results {
            "operationResults"
        } else {
            "operationStatuses"
        },
        op.id
    )
}

fn header(v: &str) -> HeaderValue {
    HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Headers for a PUT/PATCH answer: `Azure-AsyncOperation`, `Location`, `Retry-After: 1`.
pub fn async_headers(state: &AppState, op: &OperationRecord, api_version: &str) -> HeaderMap {
    let mut h = location_headers(state, op, api_version);
    h.insert(
        "azure-asyncoperation",
        header(&operation_url(state, op, api_version, false)),
    );
    h
}

/// Headers for a DELETE answer: `Location` (operationResults), `Retry-After: 1`.
pub fn location_headers(state: &AppState, op: &OperationRecord, api_version: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::LOCATION,
        header(&operation_url(state, op, api_version, true)),
    );
    h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    h
}

/// The operation-status body `{id, name, status, startTime, endTime?, error?}`.
pub fn status_body(op: &OperationRecord) -> Value {
    let mut body = json!({
        "id": format!(
            "/subscriptions/{}/providers/Microsoft.App/locations/{}/operationStatuses/{}",
            op.subscription, op.location, op.id
        ),
        "name": op.id,
        "resourceId": op.resource_id.as_str(),
        "status": op.status.as_str(),
        "startTime": rfc3339(op.start_time),
    });
    if let Some(end) = op.end_time {
        body["endTime"] = json!(rfc3339(end));
    }
    if let Some(err) = &op.error {
        body["error"] = err.clone();
    }
    body
}

#[derive(serde::Deserialize)]
struct OpPath {
    subscription: String,
    namespace: String,
    location: String,
    id: String,
}

async fn load(state: &AppState, p: &OpPath, q: &ArmQuery) -> Result<OperationRecord, ArmError> {
    let _ = &p.namespace;
    if q.get("api-version").is_none_or(|v| v.trim().is_empty()) {
        return Err(ArmError::MissingApiVersionParameter);
    }
    let op = state
        .store()
        .get_operation(&p.id)
        .await?
        .filter(|op| {
            op.subscription.eq_ignore_ascii_case(&p.subscription)
                && op
                    .location
                    .eq_ignore_ascii_case(&normalize_location(&p.location))
        })
        .ok_or_else(|| ArmError::OperationNotFound(p.id.clone()))?;
    Ok(op)
}

async fn get_status(
    State(state): State<AppState>,
    Path(p): Path<OpPath>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    let op = load(&state, &p, &q).await?;
    Ok(Json(status_body(&op)))
}

async fn get_result(
    State(state): State<AppState>,
    Path(p): Path<OpPath>,
    q: ArmQuery,
) -> Result<Response, ArmError> {
    let op = load(&state, &p, &q).await?;
    let api_version = q.get("api-version").unwrap_or_default().to_string();
    Ok(match op.status {
        OperationStatus::InProgress => (
            StatusCode::ACCEPTED,
            location_headers(&state, &op, &api_version),
        )
            .into_response(),
        OperationStatus::Succeeded | OperationStatus::Canceled if op.kind == DELETE => {
            StatusCode::NO_CONTENT.into_response()
        }
        OperationStatus::Succeeded | OperationStatus::Canceled => {
            (StatusCode::OK, Json(status_body(&op))).into_response()
        }
        OperationStatus::Failed => {
            let error = op.error.clone().unwrap_or_else(
                || json!({"code": "OperationFailed", "message": "The operation failed."}),
            );
            (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
        }
    })
}

/// Operation status and result routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/subscriptions/{subscription}/providers/{namespace}/locations/{location}/operationStatuses/{id}",
            get(get_status),
        )
        .route(
            "/subscriptions/{subscription}/providers/{namespace}/locations/{location}/operationResults/{id}",
            get(get_result),
        )
}
