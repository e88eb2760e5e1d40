//! Lookups other routes use to check that what a request references exists: the
//! subscription, the resource group, a managed environment (session pools' `environmentId`),
//! a workspace (diagnostic settings' `workspaceId`).

use sessions_runtime::id::ResourceId;
use sessions_runtime::store::ResourceRecord;

use super::error::ArmError;
use crate::defaults;
use crate::state::AppState;

/// Resource type of resource groups.
pub const RESOURCE_GROUP_TYPE: &str = sessions_runtime::id::RESOURCE_GROUP_TYPE;
/// Resource type of managed environments.
pub const ENVIRONMENT_TYPE: &str = "Microsoft.App/managedEnvironments";
/// Resource type of Log Analytics workspaces.
pub const WORKSPACE_TYPE: &str = "Microsoft.OperationalInsights/workspaces";

/// 404 `SubscriptionNotFound` unless the emulator knows this subscription.
pub fn require_subscription(subscription: &str) -> Result<(), ArmError> {
    if subscription.eq_ignore_ascii_case(defaults::SUBSCRIPTION_ID) {
        Ok(())
    } else {
        Err(ArmError::SubscriptionNotFound(subscription.to_string()))
    }
}

/// The resource group, or 404 `SubscriptionNotFound` / `ResourceGroupNotFound`.
pub async fn require_resource_group(
    state: &AppState,
    subscription: &str,
    rg: &str,
) -> Result<ResourceRecord, ArmError> {
    require_subscription(subscription)?;
    state
        .store()
        .get_typed(
            &ResourceId::resource_group(subscription, rg),
            RESOURCE_GROUP_TYPE,
        )
        .await?
        .ok_or_else(|| ArmError::ResourceGroupNotFound(rg.to_string()))
}

/// A resource by id and type, or 404 `ResourceNotFound` (or `ResourceGroupNotFound` when its
/// group is missing).
pub async fn require_resource(
    state: &AppState,
    subscription: &str,
    rg: &str,
    resource_type: &str,
    name: &str,
) -> Result<ResourceRecord, ArmError> {
    let id = ResourceId::resource(subscription, rg, resource_type, name);
    if let Some(rec) = state.store().get_typed(&id, resource_type).await? {
        return Ok(rec);
    }
    require_resource_group(state, subscription, rg).await?;
    Err(ArmError::ResourceNotFound {
        resource_type: resource_type.to_string(),
        name: name.to_string(),
        resource_group: rg.to_string(),
    })
}

/// Resolves a referenced resource id of `resource_type` (e.g. a pool's `environmentId`).
/// A malformed id, a wrong type or a missing resource is a 400 `InvalidParameter` whose
/// `target` is `target` (the field path in the request).
pub async fn require_reference(
    state: &AppState,
    id: &str,
    resource_type: &str,
    target: &str,
) -> Result<ResourceRecord, ArmError> {
    let parsed = ResourceId::parse(id)
        .ok()
        .filter(|p| p.resource_group_name().is_some() && p.is_type(resource_type));
    let Some(parsed) = parsed else {
        return Err(ArmError::invalid_parameter(
            target,
            format!(
                "The property '{target}' must be the ARM id of a {resource_type} resource \
                 ('/subscriptions/{{subscription}}/resourceGroups/{{group}}/providers/{resource_type}/{{name}}'), got '{id}'."
            ),
        ));
    };
    state
        .store()
        .get_typed(&parsed, resource_type)
        .await?
        .ok_or_else(|| {
            ArmError::invalid_parameter(
                target,
                format!("The {resource_type} '{id}' referenced by '{target}' does not exist. Create it first or use an existing one."),
            )
        })
}

/// The managed environment named by `environment_id` (see [`require_reference`]).
pub async fn require_environment(
    state: &AppState,
    environment_id: &str,
    target: &str,
) -> Result<ResourceRecord, ArmError> {
    require_reference(state, environment_id, ENVIRONMENT_TYPE, target).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_have_the_lookup_types() {
        let env = ResourceId::parse(&defaults::environment_id()).expect("parsed");
        assert!(env.is_type(ENVIRONMENT_TYPE));
        assert_eq!(env.name(), defaults::ENVIRONMENT);
        let ws = ResourceId::parse(&defaults::workspace_id()).expect("parsed");
        assert!(ws.is_type(WORKSPACE_TYPE));
        let rg = ResourceId::parse(&defaults::resource_group_id()).expect("parsed");
        assert!(rg.is_type(RESOURCE_GROUP_TYPE));
    }
}
