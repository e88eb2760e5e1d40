//! When a pool's provisioning completes: the one hook between the ARM resource and the pool
//! runtime.
//!
//! A PUT or PATCH stores the pool as `InProgress` with a new operation and calls [`spawn`]; the
//! background task runs [`complete`], which decides the outcome ([`provision`]), then sets
//! `provisioningState` to `Succeeded` (or `Failed`) and finishes the operation. Today
//! [`provision`] accepts every validated pool and reports `nodeCount` 0; connecting the pool
//! manager (start/update the pool's sessions, report nodes, fail on a pool it cannot run) means
//! changing [`provision`] and [`deprovision`] only.
//!
//! Writes to pools are serialised by [`write_lock`] so that a provisioning task never
//! overwrites a newer update (it also checks that its operation is still the pool's latest).

use tokio::sync::{Mutex, MutexGuard};

use super::model::{ProvisioningState, SessionPool};
use super::render::RESOURCE_TYPE;
use super::stored::StoredPool;
use crate::arm::error::ArmError;
use crate::arm::operations;
use crate::state::AppState;
use crate::store::ResourceRecord;

static WRITES: Mutex<()> = Mutex::const_new(());

/// Serialises read-modify-write of session pool rows.
pub async fn write_lock() -> MutexGuard<'static, ()> {
    WRITES.lock().await
}

/// The outcome of provisioning one pool.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The pool runs; `node_count` is reported as `properties.nodeCount`.
    Succeeded {
        /// Nodes in use.
        node_count: i32,
    },
    /// The pool cannot run; the operation shows `error`.
    Failed(ArmError),
}

/// Decides whether `pool` (stored under `resource_id`) is provisioned. The pool-manager hook.
pub async fn provision(state: &AppState, resource_id: &str, pool: &SessionPool) -> Outcome {
    crate::pool::arm_hook::provision(state, resource_id, pool).await
}

/// Called after a pool row is deleted. The pool-manager hook for tearing a pool down.
pub async fn deprovision(state: &AppState, resource_id: &str) {
    crate::pool::arm_hook::deprovision(state, resource_id).await
}

/// Completes operation `op_id` of the pool `resource_id` in the background.
pub fn spawn(state: AppState, resource_id: String, op_id: String) {
    tokio::spawn(async move {
        if let Err(e) = complete(&state, &resource_id, &op_id).await {
            tracing::warn!(pool = %resource_id, operation = %op_id, error = %e, "completing session pool provisioning failed");
        }
    });
}

/// Runs [`provision`] and records its outcome on the pool and the operation. The write lock
/// is held only while reading and writing the row, never while the pool provisions.
pub async fn complete(state: &AppState, resource_id: &str, op_id: &str) -> Result<(), ArmError> {
    let Some((id, pool)) = current(state, resource_id, op_id).await? else {
        return finish_superseded(state, resource_id, op_id).await;
    };
    let outcome = provision(state, &id, &pool).await;
    let guard = write_lock().await;
    let rec = state.store().get_resource(resource_id).await?;
    let Some(rec) = rec.filter(|r| r.resource_type.eq_ignore_ascii_case(RESOURCE_TYPE)) else {
        drop(guard);
        return operations::cancel(state, op_id).await;
    };
    let mut stored =
        StoredPool::from_body(&rec.body).map_err(|e| ArmError::InternalError(e.to_string()))?;
    if stored.operation.as_deref() != Some(op_id) {
        drop(guard);
        return operations::succeed(state, op_id).await;
    }
    stored.status.provisioning_state = match &outcome {
        Outcome::Succeeded { node_count } => {
            stored.status.node_count = *node_count;
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
    resource_id: &str,
    op_id: &str,
) -> Result<Option<(String, SessionPool)>, ArmError> {
    let _guard = write_lock().await;
    let rec = state.store().get_resource(resource_id).await?;
    let Some(rec) = rec.filter(|r| r.resource_type.eq_ignore_ascii_case(RESOURCE_TYPE)) else {
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
    resource_id: &str,
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
    let rows = state
        .store()
        .call(|c| {
            let mut stmt =
                c.prepare("SELECT id, body FROM resources WHERE lower(type) = lower(?1)")?;
            let rows = stmt
                .query_map([RESOURCE_TYPE], |r| {
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
        let Some(stored) = stored else { continue };
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
