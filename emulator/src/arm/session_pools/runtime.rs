//! The bridge between the ARM session-pool resource and the pool runtime
//! ([`sessions_runtime::pool::PoolManager`]). Only this file (and [`super::pool_spec`], which
//! turns the ARM model into the runtime's [`sessions_runtime::pool::spec::PoolSpec`]) talks to
//! the runtime on behalf of ARM:
//!
//! - [`provision`]: create/update → start or update the pool's actor, wait until the (new)
//!   ready set is up, report `nodeCount`; `Failed` with a visible ARM error when the spec
//!   cannot run, the image cannot be resolved/pulled or sessions never become ready.
//! - [`deprovision`]: delete → stop every session.
//! - [`restore_all`]: at start-up, every stored pool gets its actor again (sessions left from
//!   the previous run are logged as ended with `EmulatorRestart` and the ready set is rebuilt);
//!   nothing in the control plane changes.
//! - [`node_count`]: the live `nodeCount` of a pool, read from its snapshot when ARM renders
//!   the pool (nothing is written per request or per session change).
//! - [`failure_error`]: the one mapping of the runtime's typed provisioning failure
//!   ([`StartFailure`]) to ARM error codes.
//!
//! # `nodeCount`
//!
//! The emulator runs every session in its own microVM, so a "node" is one session VM:
//! `nodeCount` is the number of sessions of the pool that are booting, ready or allocated
//! (sessions being stopped are not counted). It follows the pool as it runs: allocations,
//! refills, expiries and stops change it, and it is 0 once the pool is being deleted.

use sessions_runtime::id::ResourceId;
use sessions_runtime::pool::core::Provisioning;
use sessions_runtime::pool::logs::PoolContext;
use sessions_runtime::pool::{FailureKind, StartFailure};
use sessions_runtime::store::{ListFilter, StoreError};

use super::model::SessionPool;
use super::pool_spec::pool_spec;
use super::render::RESOURCE_TYPE;
use super::stored::StoredPool;
use crate::arm::error::ArmError;
use crate::arm::path::normalize_location;
use crate::defaults;
use crate::state::AppState;

/// ARM error code of a pool whose image cannot be resolved or pulled.
pub const IMAGE_PULL_FAILED: &str = "ContainerImagePullFailed";
/// ARM error code of a pool whose sessions never become ready.
pub const NOT_READY: &str = "SessionPoolProvisioningFailed";
/// The field an image failure points at.
pub const IMAGE_FIELD: &str = "properties.customContainerTemplate.containers[0].image";

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

fn context(resource_id: &ResourceId, pool: &SessionPool) -> PoolContext {
    PoolContext {
        resource_id: resource_id.clone(),
        location: normalize_location(&pool.location),
        environment_id: pool.properties.environment_id.clone().unwrap_or_default(),
        tenant_id: defaults::TENANT_ID.to_string(),
    }
}

/// The ARM error of a pool whose sessions kept failing to start.
pub fn failure_error(failure: &StartFailure) -> ArmError {
    let (code, target) = match failure.kind {
        FailureKind::ImageUnavailable => (IMAGE_PULL_FAILED, Some(IMAGE_FIELD.to_string())),
        FailureKind::BackendFailed | FailureKind::NeverReady => (NOT_READY, None),
    };
    ArmError::Validation {
        code: code.into(),
        target,
        message: format!("The session pool could not be provisioned: {failure}"),
    }
}

/// Starts or updates the pool and waits for the outcome.
pub async fn provision(state: &AppState, resource_id: &ResourceId, pool: &SessionPool) -> Outcome {
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
        Provisioning::Failed(failure) => Outcome::Failed(failure_error(&failure)),
        Provisioning::Deleting => Outcome::Failed(ArmError::Conflict(
            "The session pool was deleted while it was being provisioned.".into(),
        )),
    }
}

/// The live `nodeCount` of the pool `resource_id` (see the module docs), or `None` when no
/// pool actor runs for it (the stored value is shown then).
pub fn node_count(state: &AppState, resource_id: &ResourceId) -> Option<i32> {
    let handle = state.pools().get(resource_id)?;
    let snap = handle.snapshot();
    let n = if snap.deleted { 0 } else { snap.node_count() };
    Some(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Unregisters the pool at once and stops its sessions in the background (the ARM row is
/// already gone; clients poll until 404).
pub fn deprovision(state: &AppState, resource_id: &ResourceId) {
    state.pools().remove_in_background(resource_id);
}

/// Every stored session pool that reads back, with its id.
pub async fn stored_pools(state: &AppState) -> Result<Vec<(ResourceId, StoredPool)>, StoreError> {
    let rows = state
        .store()
        .list_resources(ListFilter::of_type(RESOURCE_TYPE), None, None)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match StoredPool::from_body(&r.body) {
            Ok(stored) => Some((r.id, stored)),
            Err(e) => {
                tracing::warn!(pool = %r.id, error = %e, "stored session pool could not be read; its sessions are not started");
                None
            }
        })
        .collect())
}

/// Re-creates the actor of every stored session pool (emulator start). Returns how many.
pub async fn restore_all(state: &AppState) -> Result<usize, StoreError> {
    let mut n = 0;
    for (id, stored) in stored_pools(state).await? {
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
    fn failures_map_to_arm_codes_by_kind() {
        let image = failure_error(&StartFailure::image("image x could not be resolved: gone"));
        assert!(
            matches!(
                &image,
                ArmError::Validation { code, target: Some(t), message }
                    if code == IMAGE_PULL_FAILED && t == IMAGE_FIELD
                        && message == "The session pool could not be provisioned: image x could not be resolved: gone"
            ),
            "{image:?}"
        );
        // The message no longer decides the code: an image word in a readiness failure is
        // still a readiness failure.
        for f in [
            StartFailure::never_ready("the image's server never listened"),
            StartFailure::backend("the session could not be started: no qemu"),
        ] {
            let e = failure_error(&f);
            assert!(
                matches!(&e, ArmError::Validation { code, target: None, .. } if code == NOT_READY),
                "{e:?}"
            );
        }
    }
}
