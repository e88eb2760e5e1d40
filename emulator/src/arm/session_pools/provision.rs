//! Completing a pool's provisioning: the ARM side of a PUT or PATCH after the answer left.
//!
//! A PUT or PATCH stores the pool as `InProgress` with a new operation and calls [`spawn`]; the
//! background task runs [`complete`], which asks the runtime bridge for the outcome
//! ([`super::runtime::provision`]), then sets `provisioningState` to `Succeeded` (or `Failed`)
//! and finishes the operation.
//!
//! Writes to pools are serialised by the emulator's [`AppState::pool_writes`] lock so that a
//! provisioning task never overwrites a newer update (it also checks that its operation is
//! still the pool's latest).

use sessions_runtime::id::ResourceId;
use sessions_runtime::store::ResourceRecord;

use super::model::{ProvisioningState, SessionPool};
use super::render::RESOURCE_TYPE;
use super::runtime::{self, Outcome};
use super::stored::StoredPool;
use crate::arm::error::ArmError;
use crate::arm::operations;
use crate::state::AppState;

/// Completes operation `op_id` of the pool `resource_id` in the background.
pub fn spawn(state: AppState, resource_id: ResourceId, op_id: String) {
    tokio::spawn(async move {
        if let Err(e) = complete(&state, &resource_id, &op_id).await {
            tracing::warn!(pool = %resource_id, operation = %op_id, error = %e, "completing session pool provisioning failed");
        }
    });
}

/// Runs the provisioning and records its outcome on the pool and the operation. The write
/// lock is held only while reading and writing the row, never while the pool provisions.
pub async fn complete(
    state: &AppState,
    resource_id: &ResourceId,
    op_id: &str,
) -> Result<(), ArmError> {
    let Some((id, pool)) = current(state, resource_id, op_id).await? else {
        return finish_superseded(state, resource_id, op_id).await;
    };
    let outcome = runtime::provision(state, &id, &pool).await;
    let guard = state.pool_writes().await;
    let Some(rec) = state.store().get_typed(resource_id, RESOURCE_TYPE).await? else {
        drop(guard);
        // Deleted while it provisioned: the actor this provisioning may have started goes.
        runtime::deprovision_and_wait(state, resource_id).await;
        return operations::cancel(state, op_id).await;
    };
    let mut stored =
        StoredPool::from_body(&rec.body).map_err(|e| ArmError::InternalError(e.to_string()))?;
    if stored.status.provisioning_state == ProvisioningState::Deleting {
        drop(guard);
        runtime::deprovision_and_wait(state, resource_id).await;
        return operations::cancel(state, op_id).await;
    }
    if stored.operation.as_deref() != Some(op_id) {
        drop(guard);
        return operations::succeed(state, op_id).await;
    }
    stored.status.provisioning_state = match &outcome {
        Outcome::Succeeded { node_count } => {
            stored.status.node_count = *node_count;
            stored.templates.promote();
            ProvisioningState::Succeeded
        }
        Outcome::Failed(_) => ProvisioningState::Failed,
    };
    let body = stored
        .to_body()
        .map_err(|e| ArmError::InternalError(e.to_string()))?;
    let mut row = ResourceRecord::new(rec.id.clone(), RESOURCE_TYPE, body, state.now());
    row.created_at = rec.created_at;
    state.store().put_resource(row).await?;
    drop(guard);
    match outcome {
        Outcome::Succeeded { .. } => operations::succeed(state, op_id).await,
        Outcome::Failed(e) => operations::fail(state, op_id, &e).await,
    }
}

/// The pool's id and model when `op_id` is still its latest operation.
async fn current(
    state: &AppState,
    resource_id: &ResourceId,
    op_id: &str,
) -> Result<Option<(ResourceId, SessionPool)>, ArmError> {
    let _guard = state.pool_writes().await;
    let Some(rec) = state.store().get_typed(resource_id, RESOURCE_TYPE).await? else {
        return Ok(None);
    };
    let stored =
        StoredPool::from_body(&rec.body).map_err(|e| ArmError::InternalError(e.to_string()))?;
    Ok((stored.operation.as_deref() == Some(op_id)).then_some((rec.id, stored.pool)))
}

/// Finishes an operation whose pool was deleted (Canceled) or updated again (Succeeded: the
/// newer operation finishes the pool).
async fn finish_superseded(
    state: &AppState,
    resource_id: &ResourceId,
    op_id: &str,
) -> Result<(), ArmError> {
    let exists = state.store().get_resource(resource_id).await?.is_some();
    if exists {
        operations::succeed(state, op_id).await
    } else {
        operations::cancel(state, op_id).await
    }
}

/// At start-up: finishes the provisioning of every pool left `InProgress` by a previous run
/// (killed before its background task completed). Returns how many were resumed.
pub async fn resume_pending(state: &AppState) -> Result<usize, ArmError> {
    let mut n = 0;
    for (id, stored) in runtime::stored_pools(state).await? {
        if stored.status.provisioning_state != ProvisioningState::InProgress {
            continue;
        }
        if let Some(op) = stored.operation {
            spawn(state.clone(), id, op);
            n += 1;
        }
    }
    Ok(n)
}
