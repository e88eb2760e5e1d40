//! The bridge between the ARM session-pool resource and the pool runtime
//! ([`sessions_runtime::pool::PoolManager`]). Only this file (and [`super::pool_spec`], which
//! turns the ARM model into the runtime's [`sessions_runtime::pool::spec::PoolSpec`]) talks to
//! the runtime on behalf of ARM:
//!
//! - [`provision`]: create/update → start or update the pool's actor, wait until the (new)
//!   ready set is up, report `nodeCount`; `Failed` with a visible ARM error when the spec
//!   cannot run, the image cannot be resolved/pulled or sessions never become ready.
//! - [`deprovision_and_wait`]: delete → stop every session (the delete completes after).
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
use sessions_runtime::pool::session::SessionState;
use sessions_runtime::pool::{FailureKind, StartFailure};
use sessions_runtime::store::{ListFilter, StoreError};

use super::model::{
    ProvisioningState, SessionPool, TemplateCounts, TemplateStatus, TemplateUpdateStatus,
};
use super::pool_spec::pool_spec_with;
use super::render::RESOURCE_TYPE;
use super::stored::{StoredPool, TemplateRecord};
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
    let identity = super::identity::session_identity(state, resource_id, pool);
    let registry_identity = super::identity::registry_identity(state, resource_id, pool);
    let spec = match pool_spec_with(pool, identity, registry_identity) {
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

/// `templateUpdateStatus` of a stored pool: its active template (`Running`) and, during a
/// roll-out, the desired one (`Updating`, or `Failed` when provisioning failed), each with the
/// live session counts of its template generation. `None` for pools without a template record.
pub fn template_update_status(
    state: &AppState,
    resource_id: &ResourceId,
    stored: &StoredPool,
) -> Option<TemplateUpdateStatus> {
    let records = &stored.templates;
    if records.active.is_none() && records.desired.is_none() {
        return None;
    }
    let expected = stored
        .pool
        .properties
        .scale_configuration
        .as_ref()
        .and_then(|s| s.ready_session_instances)
        .unwrap_or(0);
    let snap = state.pools().get(resource_id).map(|h| h.snapshot());
    // During a roll-out the desired template is the pool's current generation and the active
    // one every older generation; otherwise the active template is the current generation.
    let counts = |current: bool| -> TemplateCounts {
        let mut c = TemplateCounts {
            expected,
            ..TemplateCounts::default()
        };
        let Some(snap) = &snap else { return c };
        let mine = |generation: u64| {
            if current {
                generation == snap.generation
            } else {
                generation < snap.generation
            }
        };
        for s in snap.sessions.iter().filter(|s| mine(s.generation)) {
            match s.state {
                SessionState::Booting => c.pending += 1,
                SessionState::Ready => c.ready += 1,
                SessionState::Allocated => c.allocated += 1,
                SessionState::Stopping(_) | SessionState::Ended(_) => {}
            }
        }
        for (generation, f) in &snap.failures {
            if mine(*generation) {
                c.image_pull_fail += f.image_pull as i32;
                c.crash += f.crash as i32;
            }
        }
        c
    };
    let failed = stored.status.provisioning_state == ProvisioningState::Failed;
    let status = |r: &TemplateRecord, details: &str, current: bool| TemplateStatus {
        containers: r.containers.clone(),
        ingress: r.ingress.clone(),
        created_time: r.created_time.clone(),
        details: details.to_string(),
        counts: counts(current),
    };
    let rolling = records.active.is_some() && records.desired.is_some();
    Some(TemplateUpdateStatus {
        active: records
            .active
            .as_ref()
            .map(|a| status(a, "Running", !rolling)),
        desired: records
            .desired
            .as_ref()
            .map(|d| status(d, if failed { "Failed" } else { "Updating" }, true)),
    })
}

/// Unregisters the pool at once (its data plane answers 404 from now on) and resolves once
/// every session of it has stopped.
pub async fn deprovision_and_wait(state: &AppState, resource_id: &ResourceId) {
    state.pools().remove(resource_id).await;
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
        if stored.status.provisioning_state == ProvisioningState::Deleting {
            continue; // its delete is resumed (super::delete::resume_pending)
        }
        state.origins().open(&id, stored.status.origin_port);
        super::mcp::publish(state, &id, &stored);
        let identity = super::identity::session_identity(state, &id, &stored.pool);
        let registry_identity = super::identity::registry_identity(state, &id, &stored.pool);
        match pool_spec_with(&stored.pool, identity, registry_identity) {
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
