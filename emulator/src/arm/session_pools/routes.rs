//! HTTP routes of `Microsoft.App/sessionPools`: PUT (201 create / 200 update), GET, PATCH
//! (JSON merge patch), DELETE (202 + `Location` + `Azure-AsyncOperation`, 204 when missing;
//! the pool reads `Deleting` until its sessions have stopped, see [`super::delete`]), list by
//! resource group and by subscription (`{value, nextLink}`, pages of 100, `$top`,
//! `$skiptoken`), and the MCP credential actions ([`super::mcp`]).
//!
//! PUT and PATCH answer with the pool (`provisioningState: InProgress`) plus
//! `Azure-AsyncOperation`, `Location` and `Retry-After: 1`; [`super::provision`] then completes
//! the operation. Create-only properties (`location`, `properties.environmentId`,
//! `containerType`, `poolManagementType`) may be omitted on update (the stored value is kept)
//! but not changed (400 `PropertyChangeNotAllowed`).
//!
//! `poolManagementEndpoint` is the pool's own origin `{scheme}://{host}:{port}` (a port of its
//! own on the emulator's listen address, see [`crate::origins`]);
//! `{emulator endpoint}/pools/{subscriptionId}/{resourceGroup}/{poolName}` stays an alias.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use sessions_runtime::id::ResourceId;
use sessions_runtime::store::{ListFilter, ResourceRecord};

use super::carry::carry_over;
use super::error::PoolError;
use super::merge::apply_patch;
use super::model::{PoolStatus, ProvisioningState, SessionPool, WireEnum};
use super::parse::parse_pool;
use super::provision;
use super::render::{render_body, render_resource, Live, Secrets, RESOURCE_TYPE};
use super::runtime;
use super::stored::StoredPool;
use super::validate::{validate_name, validate_pool};
use super::version::{ApiVersion, API_VERSIONS};
use crate::arm::error::ArmError;
use crate::arm::lookup::{
    require_environment, require_resource, require_resource_group, require_subscription,
};
use crate::arm::operations;
use crate::arm::paging::list_page;
use crate::arm::request::{parse_object, ArmQuery};
use crate::arm::resource::system_data;
use crate::auth::Claims;
use crate::dataplane::endpoint_of;
use crate::state::AppState;

impl From<PoolError> for ArmError {
    fn from(e: PoolError) -> Self {
        ArmError::Validation {
            code: e.code.to_string(),
            target: e.target,
            message: e.message,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> ArmError {
    ArmError::InternalError(e.to_string())
}

fn api_version(q: &ArmQuery) -> Result<ApiVersion, ArmError> {
    let v = q.api_version(&API_VERSIONS, RESOURCE_TYPE)?;
    ApiVersion::parse(&v).ok_or_else(|| ArmError::InvalidApiVersionParameter {
        version: v,
        resource_type: RESOURCE_TYPE.into(),
        supported: ApiVersion::supported_list(),
    })
}

async fn load(
    state: &AppState,
    sub: &str,
    rg: &str,
    name: &str,
) -> Result<(ResourceRecord, StoredPool), ArmError> {
    require_subscription(sub)?;
    let rec = require_resource(state, sub, rg, RESOURCE_TYPE, name).await?;
    let stored = StoredPool::from_body(&rec.body).map_err(internal)?;
    Ok((rec, stored))
}

async fn find(
    state: &AppState,
    id: &ResourceId,
) -> Result<Option<(ResourceRecord, StoredPool)>, ArmError> {
    let Some(rec) = state.store().get_typed(id, RESOURCE_TYPE).await? else {
        return Ok(None);
    };
    let stored = StoredPool::from_body(&rec.body).map_err(internal)?;
    Ok(Some((rec, stored)))
}

/// Renders a stored pool; `poolManagementEndpoint` is rebuilt from the emulator's current
/// endpoint (the port may change across restarts).
fn render(state: &AppState, rec_id: &ResourceId, stored: &StoredPool, v: ApiVersion) -> Value {
    let mut status = stored.status.clone();
    status.pool_management_endpoint = endpoint_of(state, rec_id);
    status.node_count = runtime::node_count(state, rec_id).unwrap_or(status.node_count);
    let live = Live {
        template_update_status: v
            .has_template_update_status()
            .then(|| runtime::template_update_status(state, rec_id, stored))
            .flatten(),
    };
    render_resource(
        rec_id.as_str(),
        &stored.name,
        &stored.pool,
        &status,
        &live,
        v,
    )
}

fn change_not_allowed(target: &str, old: &str, new: &str) -> ArmError {
    ArmError::validation(
        "PropertyChangeNotAllowed",
        target,
        format!("'{target}' cannot be changed after the session pool is created (it is '{old}', the request has '{new}'); delete and re-create the pool to change it"),
    )
}

/// Keeps create-only properties the update omitted; rejects changed ones.
fn check_create_only(new: &mut SessionPool, old: &SessionPool) -> Result<(), ArmError> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    if new.location.trim().is_empty() {
        new.location = old.location.clone();
    } else if norm(&new.location) != norm(&old.location) {
        return Err(change_not_allowed("location", &old.location, &new.location));
    }
    let (np, op) = (&mut new.properties, &old.properties);
    match (&np.environment_id, &op.environment_id) {
        (None, _) => np.environment_id = op.environment_id.clone(),
        (Some(n), Some(o))
            if !n
                .trim_end_matches('/')
                .eq_ignore_ascii_case(o.trim_end_matches('/')) =>
        {
            return Err(change_not_allowed("properties.environmentId", o, n))
        }
        _ => {}
    }
    match (np.container_type, op.container_type) {
        (None, _) => np.container_type = op.container_type,
        (Some(n), Some(o)) if n != o => {
            return Err(change_not_allowed(
                "properties.containerType",
                o.as_str(),
                n.as_str(),
            ))
        }
        _ => {}
    }
    match (np.pool_management_type, op.pool_management_type) {
        (None, _) => np.pool_management_type = op.pool_management_type,
        (Some(n), Some(o)) if n != o => {
            return Err(change_not_allowed(
                "properties.poolManagementType",
                o.as_str(),
                n.as_str(),
            ))
        }
        _ => {}
    }
    Ok(())
}

/// Stores `pool` as InProgress with a new operation and starts provisioning.
#[allow(clippy::too_many_arguments)]
async fn accept(
    state: &AppState,
    id: ResourceId,
    name: String,
    pool: SessionPool,
    previous: Option<(&ResourceRecord, &StoredPool)>,
    claims: Option<&Claims>,
    v: ApiVersion,
    created_status: StatusCode,
) -> Result<Response, ArmError> {
    let kind = if previous.is_some() {
        operations::UPDATE
    } else {
        operations::CREATE
    };
    let op = operations::begin(state, &id, &pool.location, kind).await?;
    let origin_port = state
        .origins()
        .open(&id, previous.and_then(|(_, s)| s.status.origin_port));
    let status = PoolStatus {
        provisioning_state: ProvisioningState::InProgress,
        node_count: previous.map_or(0, |(_, s)| s.status.node_count),
        pool_management_endpoint: endpoint_of(state, &id),
        origin_port,
        system_data: system_data(
            previous.map(|(_, s)| &s.status.system_data),
            claims,
            state.now(),
        ),
    };
    let mut templates = previous
        .map(|(_, s)| s.templates.clone())
        .unwrap_or_default();
    templates.set(
        pool.properties.custom_container_template.as_ref(),
        crate::arm::resource::rfc3339(state.now()),
    );
    let mcp_api_key = previous
        .and_then(|(_, s)| s.mcp_api_key.clone())
        .or_else(|| Some(super::mcp::new_api_key()));
    let stored = StoredPool {
        name,
        pool,
        status,
        operation: Some(op.id.clone()),
        mcp_api_key,
        templates,
    };
    let body = stored.to_body().map_err(internal)?;
    let mut row = ResourceRecord::new(id.clone(), RESOURCE_TYPE, body, state.now());
    if let Some((rec, _)) = previous {
        row.created_at = rec.created_at;
    }
    state.store().put_resource(row).await?;
    super::mcp::publish(state, &id, &stored);
    provision::spawn(state.clone(), id.clone(), op.id.clone());
    let headers = operations::async_headers(state, &op, v.as_str());
    Ok((
        created_status,
        headers,
        Json(render(state, &id, &stored, v)),
    )
        .into_response())
}

async fn put(
    State(state): State<AppState>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    q: ArmQuery,
    claims: Option<Extension<Claims>>,
    raw: Bytes,
) -> Result<Response, ArmError> {
    let v = api_version(&q)?;
    validate_name(&name)?;
    let body = Value::Object(parse_object(&raw)?);
    let mut pool = parse_pool(&body, v)?;
    let rg_rec = require_resource_group(&state, &sub, &rg).await?;
    let rg_name = rg_rec.body["name"].as_str().unwrap_or(&rg).to_string();
    let _guard = state.pool_writes().await;
    let id = ResourceId::resource(&sub, &rg_name, RESOURCE_TYPE, &name);
    let existing = find(&state, &id).await?;
    if let Some((_, old)) = &existing {
        if old.status.provisioning_state == ProvisioningState::Deleting {
            return Err(super::delete::conflict_deleting("The session pool"));
        }
        check_create_only(&mut pool, &old.pool)?;
    } else if super::delete::body_is_deleting(&rg_rec.body) {
        return Err(super::delete::conflict_deleting("The resource group"));
    }
    carry_over(&mut pool, existing.as_ref().map(|(_, s)| &s.pool), v);
    validate_pool(&pool, v)?;
    if existing.is_none() {
        let env = pool.properties.environment_id.clone().unwrap_or_default();
        let env_rec = require_environment(&state, &env, "properties.environmentId").await?;
        if super::delete::body_is_deleting(&env_rec.body) {
            return Err(super::delete::conflict_deleting("The managed environment"));
        }
    }
    match &existing {
        Some((rec, old)) => {
            accept(
                &state,
                rec.id.clone(),
                old.name.clone(),
                pool,
                Some((rec, old)),
                claims.as_deref(),
                v,
                StatusCode::OK,
            )
            .await
        }
        None => {
            accept(
                &state,
                id,
                name,
                pool,
                None,
                claims.as_deref(),
                v,
                StatusCode::CREATED,
            )
            .await
        }
    }
}

async fn get_one(
    State(state): State<AppState>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    let v = api_version(&q)?;
    let (rec, stored) = load(&state, &sub, &rg, &name).await?;
    Ok(Json(render(&state, &rec.id, &stored, v)))
}

async fn patch(
    State(state): State<AppState>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    q: ArmQuery,
    claims: Option<Extension<Claims>>,
    raw: Bytes,
) -> Result<Response, ArmError> {
    let v = api_version(&q)?;
    let patch = parse_object(&raw)?;
    let _guard = state.pool_writes().await;
    let (rec, old) = load(&state, &sub, &rg, &name).await?;
    if old.status.provisioning_state == ProvisioningState::Deleting {
        return Err(super::delete::conflict_deleting("The session pool"));
    }
    let mut doc = render_body(&old.pool, v, Secrets::Include);
    apply_patch(&mut doc, &patch, v);
    let mut pool = parse_pool(&doc, v)?;
    check_create_only(&mut pool, &old.pool)?;
    carry_over(&mut pool, Some(&old.pool), v);
    validate_pool(&pool, v)?;
    accept(
        &state,
        rec.id.clone(),
        old.name.clone(),
        pool,
        Some((&rec, &old)),
        claims.as_deref(),
        v,
        StatusCode::OK,
    )
    .await
}

async fn delete(
    State(state): State<AppState>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    q: ArmQuery,
) -> Result<Response, ArmError> {
    let v = api_version(&q)?;
    require_subscription(&sub)?;
    let _guard = state.pool_writes().await;
    let id = ResourceId::resource(&sub, &rg, RESOURCE_TYPE, &name);
    let Some(rec) = state.store().get_typed(&id, RESOURCE_TYPE).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let stored = StoredPool::from_body(&rec.body).map_err(internal)?;
    // A second DELETE while the first runs answers the same operation.
    if stored.status.provisioning_state == ProvisioningState::Deleting {
        if let Some(op) = match &stored.operation {
            Some(op_id) => state.store().get_operation(op_id).await?,
            None => None,
        } {
            return Ok((
                StatusCode::ACCEPTED,
                operations::async_headers(&state, &op, v.as_str()),
            )
                .into_response());
        }
    }
    let op = operations::begin(&state, &rec.id, &stored.pool.location, operations::DELETE).await?;
    super::delete::start(&state, &rec, &op).await?;
    Ok((
        StatusCode::ACCEPTED,
        operations::async_headers(&state, &op, v.as_str()),
    )
        .into_response())
}

fn render_row(state: &AppState, r: &ResourceRecord, v: ApiVersion) -> Value {
    match StoredPool::from_body(&r.body) {
        Ok(s) => render(state, &r.id, &s, v),
        Err(e) => {
            tracing::warn!(pool = %r.id, error = %e, "unreadable stored session pool");
            json!({"id": r.id.as_str(), "type": RESOURCE_TYPE})
        }
    }
}

async fn list(
    state: AppState,
    sub: String,
    rg: Option<String>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    let v = api_version(&q)?;
    let path = match &rg {
        Some(rg) => {
            require_resource_group(&state, &sub, rg).await?;
            format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{RESOURCE_TYPE}")
        }
        None => {
            require_subscription(&sub)?;
            format!("/subscriptions/{sub}/providers/{RESOURCE_TYPE}")
        }
    };
    let filter = ListFilter::of_type(RESOURCE_TYPE)
        .in_subscription(sub)
        .in_resource_group(rg);
    Ok(Json(
        list_page(&state, filter, &q, v.as_str(), &path, |r| {
            render_row(&state, r, v)
        })
        .await?,
    ))
}

/// The session pool routes (mounted by [`crate::arm::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}",
            get(get_one).put(put).patch(patch).delete(delete),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}/fetchMcpServerCredentials",
            post(super::mcp::fetch),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}/rotateMcpServerCredentials",
            post(super::mcp::rotate),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}/regenerateCredentials",
            post(super::mcp::rotate),
        )
        .route(
            "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools",
            get(|State(s): State<AppState>, Path((sub, rg)): Path<(String, String)>, q: ArmQuery| list(s, sub, Some(rg), q)),
        )
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.App/sessionPools",
            get(|State(s): State<AppState>, Path(sub): Path<String>, q: ArmQuery| list(s, sub, None, q)),
        )
}
