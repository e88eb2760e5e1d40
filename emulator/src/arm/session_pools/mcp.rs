//! The MCP credential actions of a session pool (2025-10-02-preview, 2026-03-02-preview):
//! `POST {pool}/fetchMcpServerCredentials` answers `200 {"apiKey": ...}` with the pool's API
//! key, `POST {pool}/rotateMcpServerCredentials` replaces the key (the old one stops working at
//! once) and answers the new one. Microsoft's MCP pages call the rotation `regenerateCredentials`;
//! that name is served as an alias of the rotation.
//!
//! The key is generated when the pool is created (every pool has one, whether its MCP server is
//! enabled or not) and stored with the pool; [`publish`] hands it and the settings to the
//! data plane, whose MCP endpoint accepts it in the `x-ms-apikey` header. With another api-version the actions answer 400
//! `InvalidApiVersionParameter` naming the versions that have them.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use sessions_runtime::store::ResourceRecord;

use super::render::RESOURCE_TYPE;
use super::stored::StoredPool;
use super::version::{ApiVersion, API_VERSIONS};
use crate::arm::error::ArmError;
use crate::arm::lookup::{require_resource, require_subscription};
use crate::arm::request::ArmQuery;
use crate::state::AppState;

/// Tells the data plane how the pool's MCP endpoint may be used now (after a create, an
/// update, a rotation, or at start-up).
pub fn publish(state: &AppState, id: &sessions_runtime::id::ResourceId, stored: &StoredPool) {
    let settings = stored
        .pool
        .properties
        .mcp_server_settings
        .clone()
        .unwrap_or_default();
    let access = stored
        .mcp_api_key
        .clone()
        .map(|api_key| crate::state::McpAccess {
            enabled: settings.enabled(),
            api_key_disabled: settings.api_key_disabled(),
            api_key,
        });
    state.set_mcp_access(id, access);
}

/// A fresh API key: 64 hex characters from two random (v4) UUIDs, 244 random bits.
pub fn new_api_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn mcp_version(q: &ArmQuery, action: &str) -> Result<ApiVersion, ArmError> {
    let v = q.api_version(&API_VERSIONS, RESOURCE_TYPE)?;
    let parsed = ApiVersion::parse(&v).filter(|v| v.has_mcp());
    parsed.ok_or_else(|| ArmError::InvalidApiVersionParameter {
        version: v,
        resource_type: format!("{RESOURCE_TYPE}/{action}"),
        supported: ApiVersion::mcp_versions(),
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
    let stored =
        StoredPool::from_body(&rec.body).map_err(|e| ArmError::InternalError(e.to_string()))?;
    Ok((rec, stored))
}

/// Stores `stored` back into its row.
async fn save(state: &AppState, rec: &ResourceRecord, stored: &StoredPool) -> Result<(), ArmError> {
    let body = stored
        .to_body()
        .map_err(|e| ArmError::InternalError(e.to_string()))?;
    let mut row = ResourceRecord::new(rec.id.clone(), RESOURCE_TYPE, body, state.now());
    row.created_at = rec.created_at;
    state.store().put_resource(row).await?;
    Ok(())
}

/// `fetchMcpServerCredentials`.
pub async fn fetch(
    State(state): State<AppState>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    mcp_version(&q, "fetchMcpServerCredentials")?;
    let _guard = state.pool_writes().await;
    let (rec, mut stored) = load(&state, &sub, &rg, &name).await?;
    let key = match &stored.mcp_api_key {
        Some(k) => k.clone(),
        None => {
            // A pool stored before keys existed gets one now.
            let k = new_api_key();
            stored.mcp_api_key = Some(k.clone());
            save(&state, &rec, &stored).await?;
            publish(&state, &rec.id, &stored);
            k
        }
    };
    Ok(Json(json!({ "apiKey": key })))
}

/// `rotateMcpServerCredentials` (and its alias `regenerateCredentials`).
pub async fn rotate(
    State(state): State<AppState>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    q: ArmQuery,
) -> Result<Json<Value>, ArmError> {
    mcp_version(&q, "rotateMcpServerCredentials")?;
    let _guard = state.pool_writes().await;
    let (rec, mut stored) = load(&state, &sub, &rg, &name).await?;
    let key = new_api_key();
    stored.mcp_api_key = Some(key.clone());
    save(&state, &rec, &stored).await?;
    publish(&state, &rec.id, &stored);
    Ok(Json(json!({ "apiKey": key })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_distinct() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
