//! `Microsoft.Resources/resourceGroups`: PUT (201 create / 200 update), GET, HEAD, DELETE
//! (202 + `Location` + `Azure-AsyncOperation`; the group and its pools read `Deleting` while
//! the sessions of its pools stop, then everything inside is gone), list with `nextLink`
//! paging.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::error::ArmError;
use super::lookup::{require_resource_group, require_subscription, RESOURCE_GROUP_TYPE};
use super::operations;
use super::paging::list_page;
use super::path::normalize_location;
use super::request::{opt_string, opt_tags, parse_object, ArmQuery};
use super::session_pools;
use crate::auth::Claims;
use crate::state::AppState;
use sessions_runtime::id::ResourceId;
use sessions_runtime::store::{ListFilter, ResourceRecord};

/// api-versions accepted for resource groups.
pub const API_VERSIONS: &[&str] = &[
    "2014-04-01",
    "2015-01-01",
    "2015-11-01",
    "2016-02-01",
    "2016-06-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-01-01",
    "2025-03-01",
    "2025-04-01",
];

/// Checks a resource group name: 1-90 of letters, digits, `_ - . ( )`, not ending in `.`.
pub fn validate_name(name: &str) -> Result<(), ArmError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 90
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(ArmError::validation(
            "InvalidResourceGroupName",
            "resourceGroupName",
            format!("The resource group name '{name}' is invalid. It must be 1-90 letters, digits, underscores, hyphens, periods or parentheses and must not end with a period."),
        ))
    }
}

/// The stored (and rendered) body of a resource group.
pub fn body(
    id: &str,
    name: &str,
    location: &str,
    tags: Option<Map<String, Value>>,
    managed_by: Option<String>,
) -> Value {
    let mut b = json!({
        "id": id,
        "name": name,
        "type": RESOURCE_GROUP_TYPE,
        "location": location,
        "properties": { "provisioningState": "Succeeded" },
    });
    if let Some(t) = tags {
        b["tags"] = Value::Object(t);
    }
    if let Some(m) = managed_by {
        b["managedBy"] = json!(m);
    }
    b
}

async fn put(
    State(state): State<AppState>,
    Path((sub, rg)): Path<(String, String)>,
    q: ArmQuery,
    claims: Option<Extension<Claims>>,
    raw: Bytes,
) -> Result<Response, ArmError> {
    let _ = claims;
    q.api_version(API_VERSIONS, RESOURCE_GROUP_TYPE)?;
    require_subscription(&sub)?;
    validate_name(&rg)?;
    let req = parse_object(&raw)?;
    let location = opt_string(&req, "location", "location")?
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            ArmError::validation(
                "LocationRequired",
                "location",
                "The location property is required for this definition.",
            )
        })?;
    super::path::check_location(&location)
        .map_err(|m| ArmError::validation("LocationNotAvailableForResourceGroup", "location", m))?;
    let location = normalize_location(&location);
    let tags = opt_tags(&req)?;
    let managed_by = opt_string(&req, "managedBy", "managedBy")?;
    let id = ResourceId::resource_group(&sub, &rg);
    let existing = state.store().get_resource(&id).await?;
    let (id, name) = match &existing {
        Some(e) if session_pools::delete::body_is_deleting(&e.body) => {
            return Err(session_pools::delete::conflict_deleting(
                "The resource group",
            ));
        }
        Some(e) => {
            let old_loc = e.body["location"].as_str().unwrap_or_default();
            if !old_loc.eq_ignore_ascii_case(&location) {
                return Err(ArmError::validation(
                    "InvalidResourceGroupLocation",
                    "location",
                    format!("Invalid resource group location '{location}'. The Resource group already exists in location '{old_loc}'."),
                ));
            }
            let name = e.body["name"].as_str().unwrap_or(&rg).to_string();
            (e.id.clone(), name)
        }
        None => (id, rg.clone()),
    };
    let b = body(id.as_str(), &name, &location, tags, managed_by);
    let rec = ResourceRecord::new(id, RESOURCE_GROUP_TYPE, b.clone(), state.now());
    let created = state.store().put_resource(rec).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(b)).into_response())
}

async fn get_one(
    State(state): State<AppState>,
    Path((sub, rg)): Path<(String, String)>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    q.api_version(API_VERSIONS, RESOURCE_GROUP_TYPE)?;
    Ok(Json(require_resource_group(&state, &sub, &rg).await?.body))
}

async fn head(
    State(state): State<AppState>,
    Path((sub, rg)): Path<(String, String)>,
    q: ArmQuery,
) -> Result<StatusCode, ArmError> {
    q.api_version(API_VERSIONS, RESOURCE_GROUP_TYPE)?;
    require_subscription(&sub)?;
    let found = state
        .store()
        .get_resource(&ResourceId::resource_group(&sub, &rg))
        .await?;
    Ok(if found.is_some() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
}

async fn delete(
    State(state): State<AppState>,
    Path((sub, rg)): Path<(String, String)>,
    q: ArmQuery,
) -> Result<Response, ArmError> {
    let api_version = q.api_version(API_VERSIONS, RESOURCE_GROUP_TYPE)?;
    let _guard = state.pool_writes().await;
    let rec = require_resource_group(&state, &sub, &rg).await?;
    if let Some(op) = session_pools::delete::running_delete(&state, &rec).await? {
        return Ok((
            StatusCode::ACCEPTED,
            operations::async_headers(&state, &op, &api_version),
        )
            .into_response());
    }
    let location = rec.body["location"]
        .as_str()
        .unwrap_or(crate::defaults::LOCATION)
        .to_string();
    let op = operations::begin(&state, &rec.id, &location, operations::DELETE).await?;
    // The group reads `Deleting` (and so do its pools) until their sessions have stopped;
    // then every row below goes.
    session_pools::delete::start(&state, &rec, &op).await?;
    Ok((
        StatusCode::ACCEPTED,
        operations::async_headers(&state, &op, &api_version),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    Path(sub): Path<String>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    let api_version = q.api_version(API_VERSIONS, RESOURCE_GROUP_TYPE)?;
    require_subscription(&sub)?;
    let filter = ListFilter::of_type(RESOURCE_GROUP_TYPE).in_subscription(sub.clone());
    let path = format!("/subscriptions/{sub}/resourceGroups");
    Ok(Json(
        list_page(&state, filter, &q, &api_version, &path, |r| r.body.clone()).await?,
    ))
}

/// Resource group routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions/{subscription}/resourceGroups", get(list))
        .route(
            "/subscriptions/{subscription}/resourceGroups/{rg}",
            get(get_one).put(put).delete(delete).head(head),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("my-rg_1.(x)").is_ok());
        assert!(validate_name("bad.").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name(&"a".repeat(91)).is_err());
    }
}
