//! `Microsoft.Insights/diagnosticSettings` (api-version 2021-05-01-preview) on any emulator
//! resource id: PUT (synchronous 200), GET, DELETE (200, or 204 when missing), list
//! `{value:[...]}`; plus the read-only `diagnosticSettingsCategories` list.
//!
//! Errors use this API's flat `{code, message}` shape ([`error::DiagError`]). Validation
//! ([`validate`]) checks categories per resource type ([`categories`]), that `workspaceId`
//! names an existing workspace, `logAnalyticsDestinationType` (`Dedicated` or null), at most
//! five settings per resource, and that a workspace is not used twice for one category.
//! Settings are stored as children of their resource, so deleting the resource removes them.

pub mod categories;
pub mod error;
pub mod validate;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use sessions_runtime::id::ResourceId;
use sessions_runtime::store::{ListFilter, ResourceRecord};

use self::error::DiagError;
use super::lookup::WORKSPACE_TYPE;
use super::path::ExtensionPath;
use super::request::{get_ci, kind};
use crate::state::AppState;

/// Resource type of diagnostic settings.
pub const TYPE: &str = "Microsoft.Insights/diagnosticSettings";
/// Accepted api-versions.
pub const API_VERSIONS: &[&str] = &[
    "2021-05-01-preview",
    "2020-01-01-preview",
    "2017-05-01-preview",
];
/// Most settings one resource may have.
pub const MAX_PER_RESOURCE: usize = 5;

fn api_version(req: &Request) -> Result<(), DiagError> {
    let v = req
        .uri()
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "api-version")
                .map(|(_, v)| v.into_owned())
        })
        .filter(|v| !v.trim().is_empty())
        .ok_or(DiagError::MissingApiVersion)?;
    if API_VERSIONS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(v.trim()))
    {
        Ok(())
    } else {
        Err(DiagError::InvalidApiVersion(v))
    }
}

async fn target(
    state: &AppState,
    ext: &ExtensionPath,
) -> Result<(ResourceRecord, categories::Supported), DiagError> {
    let not_found = || DiagError::ResourceNotFound(ext.resource_id.clone());
    let id = ResourceId::parse(&ext.resource_id).map_err(|_| not_found())?;
    let rec = state
        .store()
        .get_resource(&id)
        .await?
        .ok_or_else(not_found)?;
    let supported = categories::for_type(&rec.resource_type).ok_or_else(|| {
        DiagError::BadRequest(format!(
            "The resource type '{}' does not support diagnostic settings. Use a managed environment, session pool or workspace id.",
            rec.resource_type
        ))
    })?;
    Ok((rec, supported))
}

fn setting_id(resource_id: &ResourceId, name: &str) -> ResourceId {
    resource_id.provider(TYPE, name)
}

async fn siblings(
    state: &AppState,
    resource: &ResourceRecord,
) -> Result<Vec<ResourceRecord>, DiagError> {
    let filter = ListFilter::of_type(TYPE)
        .in_subscription(resource.id.subscription_id())
        .under(resource.id.clone());
    Ok(state
        .store()
        .list_resources(filter, None, Some(1000))
        .await?)
}

fn validate_name(name: &str) -> Result<(), DiagError> {
    let ok = !name.is_empty()
        && name.len() <= 260
        && !name.chars().any(|c| {
            matches!(
                c,
                '<' | '>' | '*' | '%' | '&' | ':' | '\\' | '?' | '+' | '/'
            ) || c.is_control()
        });
    if ok {
        Ok(())
    } else {
        Err(DiagError::BadRequest(format!(
            "The diagnostic setting name '{name}' is invalid: use 1-260 characters without < > * % & : \\ ? + /."
        )))
    }
}

async fn put(
    state: &AppState,
    req: Request,
    ext: &ExtensionPath,
    name: &str,
) -> Result<Response, DiagError> {
    validate_name(name)?;
    let (resource, supported) = target(state, ext).await?;
    let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .map_err(|e| DiagError::BadRequest(format!("The request body could not be read: {e}.")))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        DiagError::BadRequest(format!(
            "The request content was invalid and could not be deserialized: {e}."
        ))
    })?;
    let Value::Object(body) = body else {
        return Err(DiagError::BadRequest(format!(
            "The request body must be a JSON object, got {}.",
            kind(&body)
        )));
    };
    let props = match get_ci(&body, "properties") {
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(DiagError::BadRequest(format!(
                "The property 'properties' must be an object, got {}.",
                kind(other)
            )))
        }
        None => {
            return Err(DiagError::BadRequest(
                "The property 'properties' is required.".into(),
            ))
        }
    };
    let v = validate::validate(props, &resource.resource_type, supported)?;
    if let Some(ws) = &v.workspace_id {
        let ws_id = ResourceId::parse(ws)
            .ok()
            .filter(|p| p.resource_group_name().is_some() && p.is_type(WORKSPACE_TYPE));
        let exists = match ws_id {
            Some(id) => state
                .store()
                .get_typed(&id, WORKSPACE_TYPE)
                .await?
                .is_some(),
            None => false,
        };
        if !exists {
            return Err(DiagError::BadRequest(format!(
                "The Log Analytics workspace '{ws}' (properties.workspaceId) does not exist. Use the full ARM id of an existing Microsoft.OperationalInsights/workspaces resource."
            )));
        }
    }
    let id = setting_id(&resource.id, name);
    let others = siblings(state, &resource).await?;
    let existing = others.iter().find(|r| r.id == id);
    if existing.is_none() && others.len() >= MAX_PER_RESOURCE {
        return Err(DiagError::BadRequest(format!(
            "Diagnostic settings does not support more than {MAX_PER_RESOURCE} diagnostic settings per resource. Delete one first."
        )));
    }
    if let Some(ws) = &v.workspace_id {
        for other in others.iter().filter(|r| r.id != id) {
            let p = &other.body["properties"];
            if !p["workspaceId"]
                .as_str()
                .is_some_and(|w| w.eq_ignore_ascii_case(ws))
            {
                continue;
            }
            let used = enabled_of(p);
            if let Some(dup) = v
                .enabled
                .iter()
                .find(|c| used.iter().any(|u| u.eq_ignore_ascii_case(c)))
            {
                return Err(DiagError::Conflict(format!(
                    "Data sink '{ws}' is already used in diagnostic setting '{}' for category '{dup}'. Data sinks can't be reused in different settings on the same category for the same resource.",
                    other.body["name"].as_str().unwrap_or_default()
                )));
            }
        }
    }
    let (id, name) = match existing {
        Some(e) => (
            e.id.clone(),
            e.body["name"].as_str().unwrap_or(name).to_string(),
        ),
        None => (id, name.to_string()),
    };
    let out = json!({
        "id": id.as_str(),
        "name": name,
        "type": TYPE,
        "properties": v.properties,
    });
    let rec = ResourceRecord::new(id, TYPE, out.clone(), state.now());
    state.store().put_resource(rec).await?;
    Ok((StatusCode::OK, Json(out)).into_response())
}

fn enabled_of(props: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["logs", "metrics"] {
        for e in props[key].as_array().map(Vec::as_slice).unwrap_or_default() {
            if e["enabled"] == json!(true) {
                if let Some(c) = e["category"].as_str().or(e["categoryGroup"].as_str()) {
                    out.push(c.to_string());
                }
            }
        }
    }
    out
}

async fn serve(state: AppState, req: Request, ext: ExtensionPath) -> Result<Response, DiagError> {
    api_version(&req)?;
    let method = req.method().clone();
    match (&ext.name, method) {
        (None, Method::GET) => {
            let (resource, _) = target(&state, &ext).await?;
            let value: Vec<Value> = siblings(&state, &resource)
                .await?
                .into_iter()
                .map(|r| r.body)
                .collect();
            Ok(Json(json!({ "value": value })).into_response())
        }
        (Some(name), Method::GET) => {
            let (resource, _) = target(&state, &ext).await?;
            let rec = state
                .store()
                .get_resource(&setting_id(&resource.id, name))
                .await?
                .ok_or_else(|| DiagError::SettingNotFound(name.clone()))?;
            Ok(Json(rec.body).into_response())
        }
        (Some(name), Method::PUT) => put(&state, req, &ext, name).await,
        (Some(name), Method::DELETE) => {
            let (resource, _) = target(&state, &ext).await?;
            let existed = state
                .store()
                .delete_resource(&setting_id(&resource.id, name))
                .await?;
            Ok(if existed {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            }
            .into_response())
        }
        (_, m) => Err(DiagError::MethodNotAllowed(m.to_string())),
    }
}

/// Serves `{resourceId}/providers/Microsoft.Insights/diagnosticSettings[/{name}]`.
pub async fn handle(state: AppState, req: Request, ext: ExtensionPath) -> Response {
    match serve(state, req, ext).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Serves `GET {resourceId}/providers/Microsoft.Insights/diagnosticSettingsCategories`.
pub async fn categories(state: AppState, req: Request, ext: ExtensionPath) -> Response {
    let checked = api_version(&req);
    let method = req.method().clone();
    drop(req);
    let result = async {
        checked?;
        if method != Method::GET || ext.name.is_some() {
            return Err(DiagError::MethodNotAllowed(method.to_string()));
        }
        let (resource, supported) = target(&state, &ext).await?;
        let groups: Vec<&str> = supported.groups.to_vec();
        let mut value: Vec<Value> = supported
            .logs
            .iter()
            .map(|c| category_body(&resource.id, c, "Logs", &groups))
            .collect();
        value.extend(
            supported
                .metrics
                .iter()
                .map(|c| category_body(&resource.id, c, "Metrics", &[])),
        );
        Ok(Json(json!({ "value": value })).into_response())
    }
    .await;
    result.unwrap_or_else(|e: DiagError| e.into_response())
}

fn category_body(
    resource_id: &ResourceId,
    name: &str,
    category_type: &str,
    groups: &[&str],
) -> Value {
    json!({
        "id": format!("{resource_id}/providers/Microsoft.Insights/diagnosticSettingsCategories/{name}"),
        "name": name,
        "type": "Microsoft.Insights/diagnosticSettingsCategories",
        "properties": { "categoryType": category_type, "categoryGroups": groups },
    })
}
