//! Generic handlers for simple tracked resources (`{id, name, type, location, tags,
//! systemData, properties}`) under a resource group: PUT (201/200), GET, PATCH (tags),
//! DELETE (202 + `Location` + `Azure-AsyncOperation`, the resource reading `Deleting` until
//! the session pools it takes along have stopped, or 200; 204 when missing), list by resource
//! group and by
//! subscription with paging. Each type is a [`TrackedType`] descriptor; managed
//! environments and workspaces use it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::error::ArmError;
use super::lookup::{require_resource, require_resource_group, require_subscription};
use super::operations;
use super::paging::list_page;
use super::path::normalize_location;
use super::request::{get_ci, kind, opt_string, opt_tags, parse_object, ArmQuery};
use super::resource::system_data;
use crate::auth::Claims;
use crate::state::AppState;
use sessions_runtime::id::ResourceId;
use sessions_runtime::store::{ListFilter, ResourceRecord};

/// Fills computed properties into `props`; `previous` is the stored properties on update.
pub type ComputeFn = fn(
    props: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    location: &str,
    now: OffsetDateTime,
);

/// Describes one simple tracked resource type.
#[derive(Debug)]
pub struct TrackedType {
    /// Provider namespace, canonical casing (`Microsoft.App`).
    pub namespace: &'static str,
    /// Collection segment, canonical casing (`managedEnvironments`).
    pub collection: &'static str,
    /// Accepted api-versions.
    pub api_versions: &'static [&'static str],
    /// PUT/DELETE answer as long-running operations (Azure-AsyncOperation / 202 Location).
    pub lro: bool,
    /// Checks the resource name (400 naming `name` when invalid).
    pub validate_name: fn(&str) -> Result<(), ArmError>,
    /// Read-only property names the client may not set (removed from requests).
    pub read_only: &'static [&'static str],
    /// Fills computed properties into `props`; `previous` is the stored properties on update.
    pub compute: ComputeFn,
}

impl TrackedType {
    /// `Namespace/collection`.
    pub fn resource_type(&self) -> String {
        format!("{}/{}", self.namespace, self.collection)
    }
}

/// Builds the stored/rendered body for a PUT of `request` (already parsed) on `id`.
pub fn build_body(
    t: &TrackedType,
    id: &str,
    name: &str,
    request: &Map<String, Value>,
    previous: Option<&Value>,
    claims: Option<&Claims>,
    now: OffsetDateTime,
) -> Result<Value, ArmError> {
    let location = opt_string(request, "location", "location")?
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            ArmError::validation(
                "LocationRequired",
                "location",
                "The location property is required for this definition.",
            )
        })?;
    super::path::check_location(&location)
        .map_err(|m| ArmError::validation("LocationNotAvailableForResourceType", "location", m))?;
    let location = normalize_location(&location);
    if let Some(prev) = previous {
        let old = prev["location"].as_str().unwrap_or_default();
        if !old.eq_ignore_ascii_case(&location) {
            return Err(ArmError::validation(
                "InvalidResourceLocation",
                "location",
                format!("The resource '{name}' already exists in location '{old}'. A resource with the same name cannot be moved to location '{location}'; delete it first or choose another name."),
            ));
        }
    }
    let tags = opt_tags(request)?;
    let mut props = match get_ci(request, "properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(ArmError::invalid_parameter(
                "properties",
                format!(
                    "The property 'properties' must be an object, got {}.",
                    kind(other)
                ),
            ))
        }
    };
    props.retain(|k, _| !t.read_only.iter().any(|r| r.eq_ignore_ascii_case(k)));
    let prev_props = previous.and_then(|p| p["properties"].as_object());
    (t.compute)(&mut props, prev_props, &location, now);
    let mut body = json!({
        "id": id,
        "name": name,
        "type": t.resource_type(),
        "location": location,
        "tags": tags.unwrap_or_default(),
        "systemData": system_data(previous.map(|p| &p["systemData"]), claims, now),
        "properties": props,
    });
    if previous.is_none() && body["tags"].as_object().is_some_and(|m| m.is_empty()) {
        body["tags"] = json!({});
    }
    Ok(body)
}

/// Writes `body` for `id`; returns true when created.
pub async fn store_body(
    state: &AppState,
    t: &TrackedType,
    id: &ResourceId,
    body: Value,
) -> Result<bool, ArmError> {
    let rec = ResourceRecord::new(id.clone(), t.resource_type(), body, state.now());
    Ok(state.store().put_resource(rec).await?)
}

async fn put(
    t: &'static TrackedType,
    state: AppState,
    (sub, rg, name): (String, String, String),
    q: ArmQuery,
    claims: Option<Extension<Claims>>,
    raw: Bytes,
) -> Result<Response, ArmError> {
    let api_version = q.api_version(t.api_versions, &t.resource_type())?;
    (t.validate_name)(&name)?;
    let req = parse_object(&raw)?;
    let rg_rec = require_resource_group(&state, &sub, &rg).await?;
    let id = ResourceId::resource(
        &sub,
        rg_rec.body["name"].as_str().unwrap_or(&rg),
        &t.resource_type(),
        &name,
    );
    let existing = state.store().get_resource(&id).await?;
    if existing
        .as_ref()
        .is_some_and(|e| super::session_pools::delete::body_is_deleting(&e.body))
    {
        return Err(super::session_pools::delete::conflict_deleting(&format!(
            "The {}",
            t.collection
        )));
    }
    let (id, name) = match &existing {
        Some(e) => (
            e.id.clone(),
            e.body["name"].as_str().unwrap_or(&name).to_string(),
        ),
        None => (id, name),
    };
    let body = build_body(
        t,
        id.as_str(),
        &name,
        &req,
        existing.as_ref().map(|e| &e.body),
        claims.as_deref(),
        state.now(),
    )?;
    let location = body["location"].as_str().unwrap_or_default().to_string();
    let created = store_body(&state, t, &id, body.clone()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    if t.lro {
        let kind = if created {
            operations::CREATE
        } else {
            operations::UPDATE
        };
        let op = operations::begin(&state, &id, &location, kind).await?;
        operations::succeed(&state, &op.id).await?;
        let headers = operations::async_headers(&state, &op, &api_version);
        return Ok((status, headers, Json(body)).into_response());
    }
    Ok((status, Json(body)).into_response())
}

async fn get_one(
    t: &'static TrackedType,
    state: AppState,
    (sub, rg, name): (String, String, String),
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    q.api_version(t.api_versions, &t.resource_type())?;
    require_subscription(&sub)?;
    Ok(Json(
        require_resource(&state, &sub, &rg, &t.resource_type(), &name)
            .await?
            .body,
    ))
}

async fn patch(
    t: &'static TrackedType,
    state: AppState,
    (sub, rg, name): (String, String, String),
    q: ArmQuery,
    claims: Option<Extension<Claims>>,
    raw: Bytes,
) -> Result<Json<Value>, ArmError> {
    q.api_version(t.api_versions, &t.resource_type())?;
    let req = parse_object(&raw)?;
    require_subscription(&sub)?;
    let rec = require_resource(&state, &sub, &rg, &t.resource_type(), &name).await?;
    if super::session_pools::delete::body_is_deleting(&rec.body) {
        return Err(super::session_pools::delete::conflict_deleting(&format!(
            "The {}",
            t.collection
        )));
    }
    let mut body = rec.body.clone();
    if let Some(tags) = opt_tags(&req)? {
        body["tags"] = Value::Object(tags);
    }
    body["systemData"] = system_data(
        Some(&rec.body["systemData"]),
        claims.as_deref(),
        state.now(),
    );
    store_body(&state, t, &rec.id, body.clone()).await?;
    Ok(Json(body))
}

async fn delete(
    t: &'static TrackedType,
    state: AppState,
    (sub, rg, name): (String, String, String),
    q: ArmQuery,
) -> Result<Response, ArmError> {
    let api_version = q.api_version(t.api_versions, &t.resource_type())?;
    require_subscription(&sub)?;
    let _guard = state.pool_writes().await;
    let id = ResourceId::resource(&sub, &rg, &t.resource_type(), &name);
    let Some(rec) = state.store().get_typed(&id, &t.resource_type()).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    if t.lro {
        if let Some(op) = super::session_pools::delete::running_delete(&state, &rec).await? {
            return Ok((
                StatusCode::ACCEPTED,
                operations::async_headers(&state, &op, &api_version),
            )
                .into_response());
        }
        let location = rec.body["location"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let op = operations::begin(&state, &rec.id, &location, operations::DELETE).await?;
        // The resource (an environment: and every session pool on it) reads `Deleting`
        // until the sessions have stopped, then the rows go.
        super::session_pools::delete::start(&state, &rec, &op).await?;
        return Ok((
            StatusCode::ACCEPTED,
            operations::async_headers(&state, &op, &api_version),
        )
            .into_response());
    }
    state.store().delete_tree(&rec.id).await?;
    Ok(StatusCode::OK.into_response())
}

async fn list(
    t: &'static TrackedType,
    state: AppState,
    sub: String,
    rg: Option<String>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    let api_version = q.api_version(t.api_versions, &t.resource_type())?;
    let path = match &rg {
        Some(rg) => {
            require_resource_group(&state, &sub, rg).await?;
            format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/{}",
                t.resource_type()
            )
        }
        None => {
            require_subscription(&sub)?;
            format!("/subscriptions/{sub}/providers/{}", t.resource_type())
        }
    };
    let filter = ListFilter::of_type(t.resource_type())
        .in_subscription(sub)
        .in_resource_group(rg);
    Ok(Json(
        list_page(&state, filter, &q, &api_version, &path, |r| r.body.clone()).await?,
    ))
}

/// The routes of `t`.
pub fn routes(t: &'static TrackedType) -> Router<AppState> {
    let item = format!(
        "/subscriptions/{{subscription}}/resourceGroups/{{rg}}/providers/{}/{}/{{name}}",
        t.namespace, t.collection
    );
    let by_rg = format!(
        "/subscriptions/{{subscription}}/resourceGroups/{{rg}}/providers/{}/{}",
        t.namespace, t.collection
    );
    let by_sub = format!(
        "/subscriptions/{{subscription}}/providers/{}/{}",
        t.namespace, t.collection
    );
    Router::new()
        .route(
            &item,
            get(
                move |State(s): State<AppState>,
                      Path(p): Path<(String, String, String)>,
                      q: ArmQuery| get_one(t, s, p, q),
            )
            .put(
                move |State(s): State<AppState>,
                      Path(p): Path<(String, String, String)>,
                      q: ArmQuery,
                      c: Option<Extension<Claims>>,
                      b: Bytes| put(t, s, p, q, c, b),
            )
            .patch(
                move |State(s): State<AppState>,
                      Path(p): Path<(String, String, String)>,
                      q: ArmQuery,
                      c: Option<Extension<Claims>>,
                      b: Bytes| patch(t, s, p, q, c, b),
            )
            .delete(
                move |State(s): State<AppState>,
                      Path(p): Path<(String, String, String)>,
                      q: ArmQuery| delete(t, s, p, q),
            ),
        )
        .route(
            &by_rg,
            get(
                move |State(s): State<AppState>,
                      Path((sub, rg)): Path<(String, String)>,
                      q: ArmQuery| list(t, s, sub, Some(rg), q),
            ),
        )
        .route(
            &by_sub,
            get(
                move |State(s): State<AppState>, Path(sub): Path<String>, q: ArmQuery| {
                    list(t, s, sub, None, q)
                },
            ),
        )
}
