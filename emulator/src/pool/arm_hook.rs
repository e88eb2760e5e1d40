//! The bridge between the ARM session-pool resource and the pool manager, called from
//! `arm::session_pools::provision`:
//!
//! - [`provision`]: create/update → start or update the pool's actor, wait until the (new) ready
//!   set is up, report `nodeCount`; `Failed` with a visible ARM error when the spec cannot run,
//!   the image cannot be resolved/pulled or sessions never become ready.
//! - [`deprovision`]: delete → stop every session.
//! - [`restore_all`]: at start-up, every stored pool gets its actor again (sessions left from
//!   the previous run are logged as ended with `EmulatorRestart` and the ready set is rebuilt);
//!   nothing in the control plane changes.
//! - [`node_count`]: the live `nodeCount` of a pool, read from its snapshot when ARM renders
//!   the pool (nothing is written per request or per session change).
//!
//! # `nodeCount`
//!
//! The emulator runs every session in its own microVM, so a "node" is one session VM:
//! `nodeCount` is the number of sessions of the pool that are booting, ready or allocated
//! (sessions being stopped are not counted). It follows the pool as it runs: allocations,
//! refills, expiries and stops change it, and it is 0 once the pool is being deleted.

use crate::arm::error::ArmError;
use crate::arm::session_pools::model::SessionPool;
use crate::arm::session_pools::provision::Outcome;
use crate::arm::session_pools::stored::StoredPool;
use crate::defaults;
use crate::state::AppState;
use crate::store::StoreError;

use super::core::Provisioning;
use super::from_arm::pool_spec;
use super::logs::PoolContext;

/// ARM error code of a pool whose image cannot be resolved or pulled.
pub const IMAGE_PULL_FAILED: &str = "ContainerImagePullFailed";
/// ARM error code of a pool whose sessions never become ready.
pub const NOT_READY: &str = "SessionPoolProvisioningFailed";

/// `(subscription, resource group, name)` of a pool id.
pub fn parse_id(resource_id: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = resource_id.trim_matches('/').split('/').collect();
    let at = |key: &str| {
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case(key))
            .and_then(|i| parts.get(i + 1))
            .map(|s| s.to_string())
    };
    Some((
        at("subscriptions")?,
        at("resourceGroups")?,
        at("sessionPools")?,
    ))
}

fn context(resource_id: &str, pool: &SessionPool) -> PoolContext {
    let (sub, rg, name) = parse_id(resource_id).unwrap_or_default();
    PoolContext {
        resource_id: resource_id.to_string(),
        subscription_id: sub,
        resource_group: rg,
        name,
        location: crate::arm::path::normalize_location(&pool.location),
        environment_id: pool.properties.environment_id.clone().unwrap_or_default(),
        tenant_id: defaults::TENANT_ID.to_string(),
    }
}

/// Starts or updates the pool and waits for the outcome.
pub async fn provision(state: &AppState, resource_id: &str, pool: &SessionPool) -> Outcome {
    let spec = match pool_spec(pool) {
        Ok(s) => s,
        Err(e) => {
            return Outcome::Failed(ArmError::Validation {
                code: "InvalidParameter".into(),
                target: Some(e.field.clone()),
                message: e.to_string(),
            })
        }
    };
    let (handle, outcome) = state
        .pools()
        .apply_and_wait(context(resource_id, pool), spec)
        .await;
    match outcome {
        Provisioning::Succeeded | Provisioning::InProgress => Outcome::Succeeded {
            node_count: handle.snapshot().node_count() as i32,
        },
        Provisioning::Failed { message } => {
            let image = message.contains("image") && message.contains("could not be resolved");
            Outcome::Failed(ArmError::Validation {
                code: if image { IMAGE_PULL_FAILED } else { NOT_READY }.into(),
                target: image
                    .then(|| "properties.customContainerTemplate.containers[0].image".to_string()),
                message: format!("The session pool could not be provisioned: {message}"),
            })
        }
        Provisioning::Deleting => Outcome::Failed(ArmError::Conflict(
            "The session pool was deleted while it was being provisioned.".into(),
        )),
    }
}

/// The live `nodeCount` of the pool `resource_id` (see the module docs), or `None` when no
/// pool actor runs for it (the stored value is shown then).
pub fn node_count(state: &AppState, resource_id: &str) -> Option<i32> {
    let handle = state.pools().get(resource_id)?;
    let snap = handle.snapshot();
    let n = if snap.deleted { 0 } else { snap.node_count() };
    Some(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Unregisters the pool at once and stops its sessions in the background (the ARM row is
/// already gone; clients poll until 404).
pub async fn deprovision(state: &AppState, resource_id: &str) {
    state.pools().remove_in_background(resource_id);
}

/// Re-creates the actor of every stored session pool (emulator start). Returns how many.
pub async fn restore_all(state: &AppState) -> Result<usize, StoreError> {
    let rows = state
        .store()
        .call(|c| {
            let mut stmt =
                c.prepare("SELECT id, body FROM resources WHERE lower(type) = lower(?1)")?;
            let rows = stmt
                .query_map([crate::arm::session_pools::render::RESOURCE_TYPE], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    let mut n = 0;
    for (id, body) in rows {
        let stored = serde_json::from_str(&body)
            .ok()
            .and_then(|v| StoredPool::from_body(&v).ok());
        let Some(stored) = stored else {
            tracing::warn!(pool = %id, "stored session pool could not be read; its sessions are not started");
            continue;
        };
        match pool_spec(&stored.pool) {
            Ok(spec) => {
                state.pools().apply(context(&id, &stored.pool), spec);
                n += 1;
            }
            Err(e) => tracing::warn!(pool = %id, error = %e, "stored session pool cannot run"),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_case_insensitively() {
        assert_eq!(
            parse_id("/subscriptions/S/resourcegroups/RG/providers/Microsoft.App/sessionpools/p1"),
            Some(("S".into(), "RG".into(), "p1".into()))
        );
        assert_eq!(parse_id("/subscriptions/S"), None);
    }
}
