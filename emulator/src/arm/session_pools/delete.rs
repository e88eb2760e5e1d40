//! Deletes as ARM does them, for a session pool and for the resources whose delete cascades
//! to session pools (a resource group, a managed environment).
//!
//! `DELETE` answers at once with 202, `Location` and `Azure-AsyncOperation` (operation kind
//! `Delete`). Until the sessions have stopped, the resource still reads with
//! `provisioningState: Deleting` (the pools inside too, and a PUT or PATCH on any of them is
//! refused with 409); the data plane of a deleting pool already answers 404. Then every row
//! goes, the operation succeeds (its `operationResults` answer 204) and reads answer 404.
//!
//! [`start`] marks and spawns; [`resume_pending`] finishes, at start-up, every delete a
//! previous run accepted but did not complete (the `Delete` operations still `InProgress`).

use serde_json::{json, Value};

use sessions_runtime::id::ResourceId;
use sessions_runtime::store::{ListFilter, OperationRecord, ResourceRecord};

use super::model::ProvisioningState;
use super::render::RESOURCE_TYPE;
use super::stored::StoredPool;
use crate::arm::error::ArmError;
use crate::arm::operations;
use crate::state::AppState;

/// `provisioningState` of a generic resource body that is being deleted.
pub const DELETING: &str = "Deleting";

/// Whether a generic ARM body (resource group, environment) reads `Deleting`.
pub fn body_is_deleting(body: &Value) -> bool {
    body["properties"]["provisioningState"]
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case(DELETING))
}

/// The 409 for a write to a resource that is being deleted.
pub fn conflict_deleting(what: &str) -> ArmError {
    ArmError::Conflict(format!(
        "{what} is being deleted; wait until the delete has finished (reads answer 404), then create it again."
    ))
}

/// The delete already running on a generic resource `rec` (resource group, environment), if
/// any: a second DELETE answers the same operation.
pub async fn running_delete(
    state: &AppState,
    rec: &ResourceRecord,
) -> Result<Option<OperationRecord>, ArmError> {
    if !body_is_deleting(&rec.body) {
        return Ok(None);
    }
    for id in state.store().running_operations(&rec.id).await? {
        if let Some(op) = state.store().get_operation(&id).await? {
            if op.kind == operations::DELETE {
                return Ok(Some(op));
            }
        }
    }
    Ok(None)
}

/// The session pools a delete of `root` takes along: the pool itself, the pools inside a
/// resource group, or the pools of a managed environment (by `environmentId`).
async fn pools_of(state: &AppState, root: &ResourceId) -> Result<Vec<ResourceId>, ArmError> {
    let kind = root.resource_type();
    if kind.eq_ignore_ascii_case(RESOURCE_TYPE) {
        return Ok(vec![root.clone()]);
    }
    let mut out: Vec<ResourceId> = state
        .store()
        .descendants(root)
        .await?
        .into_iter()
        .filter(|r| r.resource_type.eq_ignore_ascii_case(RESOURCE_TYPE))
        .map(|r| r.id)
        .collect();
    if kind.eq_ignore_ascii_case("Microsoft.App/managedEnvironments") {
        let all = state
            .store()
            .list_resources(
                ListFilter::of_type(RESOURCE_TYPE).in_subscription(root.subscription_id()),
                None,
                None,
            )
            .await?;
        for r in all {
            let env = r.body["pool"]["properties"]["environmentId"]
                .as_str()
                .unwrap_or_default();
            let same = env
                .trim_end_matches('/')
                .eq_ignore_ascii_case(root.as_str().trim_end_matches('/'));
            if same && !out.contains(&r.id) {
                out.push(r.id);
            }
        }
    }
    Ok(out)
}

/// Writes `provisioningState: Deleting` into a pool row (and the delete operation into it).
async fn mark_pool(state: &AppState, rec: &ResourceRecord, op_id: &str) -> Result<(), ArmError> {
    let mut stored =
        StoredPool::from_body(&rec.body).map_err(|e| ArmError::InternalError(e.to_string()))?;
    stored.status.provisioning_state = ProvisioningState::Deleting;
    stored.operation = Some(op_id.to_string());
    let body = stored
        .to_body()
        .map_err(|e| ArmError::InternalError(e.to_string()))?;
    let mut row = ResourceRecord::new(rec.id.clone(), RESOURCE_TYPE, body, state.now());
    row.created_at = rec.created_at;
    state.store().put_resource(row).await?;
    Ok(())
}

/// Writes `properties.provisioningState: Deleting` into a generic row.
async fn mark_generic(state: &AppState, rec: &ResourceRecord) -> Result<(), ArmError> {
    let mut body = rec.body.clone();
    if !body["properties"].is_object() {
        body["properties"] = json!({});
    }
    body["properties"]["provisioningState"] = json!(DELETING);
    let mut row = ResourceRecord::new(rec.id.clone(), &rec.resource_type, body, state.now());
    row.created_at = rec.created_at;
    state.store().put_resource(row).await?;
    Ok(())
}

/// Accepts the delete of `root` under operation `op`: marks it and every session pool it takes
/// along `Deleting` and finishes in the background. The caller holds the pool write lock.
pub async fn start(
    state: &AppState,
    root: &ResourceRecord,
    op: &OperationRecord,
) -> Result<(), ArmError> {
    let pools = pools_of(state, &root.id).await?;
    for id in &pools {
        if let Some(rec) = state.store().get_typed(id, RESOURCE_TYPE).await? {
            mark_pool(state, &rec, &op.id).await?;
        }
    }
    if !root.resource_type.eq_ignore_ascii_case(RESOURCE_TYPE) {
        mark_generic(state, root).await?;
    }
    spawn_finish(state.clone(), root.id.clone(), pools, op.id.clone());
    Ok(())
}

fn spawn_finish(state: AppState, root: ResourceId, pools: Vec<ResourceId>, op_id: String) {
    tokio::spawn(async move {
        if let Err(e) = finish(&state, &root, &pools, &op_id).await {
            tracing::warn!(resource = %root, operation = %op_id, error = %e, "finishing a delete failed");
            let _ = operations::fail(&state, &op_id, &e).await;
        }
    });
}

/// Stops the sessions of every pool (concurrently, waiting until all are stopped), then
/// removes the rows and completes the operation.
async fn finish(
    state: &AppState,
    root: &ResourceId,
    pools: &[ResourceId],
    op_id: &str,
) -> Result<(), ArmError> {
    futures::future::join_all(
        pools
            .iter()
            .map(|id| super::runtime::deprovision_and_wait(state, id)),
    )
    .await;
    for id in pools {
        state.origins().close(id);
        state.set_mcp_access(id, None);
    }
    {
        let _guard = state.pool_writes().await;
        for id in pools {
            state.store().delete_tree(id).await?;
        }
        state.store().delete_tree(root).await?;
    }
    operations::succeed(state, op_id).await
}

/// At start-up: finishes every delete accepted by a previous run (its pools get no sessions
/// again: [`super::runtime::restore_all`] skips pools reading `Deleting`). Returns how many.
pub async fn resume_pending(state: &AppState) -> Result<usize, ArmError> {
    let running = state
        .store()
        .running_operations_of_kind(operations::DELETE)
        .await?;
    let mut n = 0;
    for op in running {
        let root = op.resource_id.clone();
        let pools = pools_of(state, &root).await?;
        spawn_finish(state.clone(), root, pools, op.id);
        n += 1;
    }
    Ok(n)
}
