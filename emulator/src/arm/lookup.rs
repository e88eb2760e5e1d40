//! Lookups other routes use to check that what a request references exists: the
//! subscription, the resource group, a managed environment (session pools' `environmentId`),
//! a workspace (diagnostic settings' `workspaceId`).

use super::error::ArmError;
use crate::defaults;
use crate::state::AppState;
use crate::store::ResourceRecord;

/// Resource type of resource groups.
pub const RESOURCE_GROUP_TYPE: &str = "Microsoft.Resources/resourceGroups";
/// Resource type of managed environments.
pub const ENVIRONMENT_TYPE: &str = "Microsoft.App/managedEnvironments";
/// Resource type of Log Analytics workspaces.
pub const WORKSPACE_TYPE: &str = "Microsoft.OperationalInsights/workspaces";

/// `/subscriptions/{s}/resourceGroups/{rg}`.
pub fn resource_group_id(subscription: &str, rg: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{rg}")
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/{resource_type}/{name}`.
pub fn resource_id(subscription: &str, rg: &str, resource_type: &str, name: &str) -> String {
    format!(
        "{}/providers/{resource_type}/{name}",
        resource_group_id(subscription, rg)
    )
}

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
        .get_resource(&resource_group_id(subscription, rg))
        .await?
        .filter(|r| r.resource_type.eq_ignore_ascii_case(RESOURCE_GROUP_TYPE))
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
    let id = resource_id(subscription, rg, resource_type, name);
    if let Some(rec) = state.store().get_resource(&id).await? {
        if rec.resource_type.eq_ignore_ascii_case(resource_type) {
            return Ok(rec);
        }
    }
    require_resource_group(state, subscription, rg).await?;
    Err(ArmError::ResourceNotFound {
        resource_type: resource_type.to_string(),
        name: name.to_string(),
        resource_group: rg.to_string(),
    })
}

/// Parts of a top-level ARM resource id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedId {
    /// Subscription id.
    pub subscription: String,
    /// Resource group name.
    pub resource_group: String,
    /// `Namespace/type`.
    pub resource_type: String,
    /// Resource name.
    pub name: String,
}

/// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}`
/// (case-insensitive keywords). `None` for any other shape.
pub fn parse_resource_id(id: &str) -> Option<ParsedId> {
    let segs: Vec<&str> = id.trim().trim_matches('/').split('/').collect();
    if segs.len() != 8
        || !segs[0].eq_ignore_ascii_case("subscriptions")
        || !segs[2].eq_ignore_ascii_case("resourcegroups")
        || !segs[4].eq_ignore_ascii_case("providers")
        || segs.iter().any(|s| s.is_empty())
    {
        return None;
    }
    Some(ParsedId {
        subscription: segs[1].to_string(),
        resource_group: segs[3].to_string(),
        resource_type: format!("{}/{}", segs[5], segs[6]),
        name: segs[7].to_string(),
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
    let parsed =
        parse_resource_id(id).filter(|p| p.resource_type.eq_ignore_ascii_case(resource_type));
    let Some(_) = parsed else {
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
        .get_resource(id.trim())
        .await?
        .filter(|r| r.resource_type.eq_ignore_ascii_case(resource_type))
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
    fn parses_resource_ids() {
        let p = parse_resource_id(&defaults::environment_id()).expect("parsed");
        assert_eq!(p.resource_type, ENVIRONMENT_TYPE);
        assert_eq!(p.name, defaults::ENVIRONMENT);
        assert!(parse_resource_id("/subscriptions/s/resourceGroups/rg").is_none());
        assert!(parse_resource_id("/subscriptions/s/resourceGroups//providers/a/b/c").is_none());
    }
}
