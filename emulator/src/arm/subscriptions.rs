//! Subscriptions: `GET /subscriptions` and `GET /subscriptions/{s}` (SDKs and tools call
//! them to check credentials). Only the seeded subscription exists.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ArmError;
use super::lookup::require_subscription;
use super::request::ArmQuery;
use crate::defaults;
use crate::state::AppState;

/// api-versions accepted for subscriptions.
pub const API_VERSIONS: &[&str] = &[
    "2014-04-01",
    "2015-01-01",
    "2016-06-01",
    "2018-02-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2022-01-01",
    "2022-09-01",
    "2022-12-01",
    "2023-07-01",
    "2024-03-01",
    "2024-11-01",
    "2025-01-01",
];

const TYPE: &str = "Microsoft.Resources/subscriptions";

/// The seeded subscription's body.
pub fn body() -> Value {
    json!({
        "id": format!("/subscriptions/{}", defaults::SUBSCRIPTION_ID),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": defaults::SUBSCRIPTION_ID,
        "tenantId": defaults::TENANT_ID,
        "displayName": "Sessions Emulator",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

async fn list(q: ArmQuery) -> Result<Json<Value>, ArmError> {
    q.api_version(API_VERSIONS, TYPE)?;
    Ok(Json(
        json!({ "value": [body()], "count": { "type": "Total", "value": 1 } }),
    ))
}

async fn get_one(Path(sub): Path<String>, q: ArmQuery) -> Result<Json<Value>, ArmError> {
    q.api_version(API_VERSIONS, TYPE)?;
    require_subscription(&sub)?;
    Ok(Json(body()))
}

/// Subscription routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(list))
        .route("/subscriptions/{subscription}", get(get_one))
}
