//! ARM error `target`s (e.g. `properties.customContainerTemplate.containers[0].image`) ->
//! the Terraform attribute path they are about (`custom_container_template[0].container[0].image`),
//! so a service-side error points at the attribute in the configuration.
//!
//! The target is translated segment by segment (camelCase -> the model's names, wrapper
//! objects such as `scaleConfiguration` dropped) and then cut back to the longest prefix the
//! schema has, so it never names an attribute that does not exist.

use super::model::{
    Container, CustomContainerTemplate, Env, HttpGet, Probe, Registry, SessionPool,
};
use crate::plugin::model::Model;
use crate::plugin::schema::Block;
use crate::plugin::{AttributePath, PathStep};

/// ARM segments that only wrap other properties.
const WRAPPERS: &[&str] = &[
    "properties",
    "scaleconfiguration",
    "dynamicpoolconfiguration",
    "lifecycleconfiguration",
    "sessionnetworkconfiguration",
    "ingress",
    "resources",
];

/// ARM names that are not the camelCase of the Terraform name: `(arm, terraform steps)`, the
/// terraform side as attribute names with an optional `[0]` for `max_items = 1` blocks.
fn renamed(seg: &str) -> Option<Vec<(&'static str, Option<i64>)>> {
    Some(match seg {
        "environmentid" => vec![(SessionPool::CONTAINER_APP_ENVIRONMENT_ID, None)],
        "executiontype" => vec![(SessionPool::LIFECYCLE_TYPE, None)],
        "status" => vec![(SessionPool::NETWORK_EGRESS_ENABLED, None)],
        "secrets" => vec![(SessionPool::SECRET, None)],
        "managedidentitysettings" => vec![(SessionPool::MANAGED_IDENTITY_SETTING, None)],
        "customcontainertemplate" => vec![(SessionPool::CUSTOM_CONTAINER_TEMPLATE, Some(0))],
        "targetport" => vec![(CustomContainerTemplate::INGRESS_TARGET_PORT, None)],
        "registrycredentials" | "registryserver" => {
            vec![(CustomContainerTemplate::REGISTRY, Some(0))]
        }
        "passwordsecretref" => vec![(Registry::PASSWORD_SECRET_NAME, None)],
        "containers" => vec![(CustomContainerTemplate::CONTAINER, None)],
        "secretref" => vec![(Env::SECRET_NAME, None)],
        "probes" => vec![(Container::PROBE, None)],
        "httpget" => vec![(Probe::HTTP_GET, Some(0))],
        "tcpsocket" => vec![(Probe::TCP_SOCKET, Some(0))],
        "httpheaders" => vec![(HttpGet::HTTP_HEADER, None)],
        "userassignedidentities" => vec![("identity_ids", None)],
        _ => return None,
    })
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits `containers[0]` into `("containers", Some(0))`.
fn split_index(seg: &str) -> (&str, Option<i64>) {
    match seg.split_once('[') {
        Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
        None => (seg, None),
    }
}

/// The longest prefix of `path` that exists in `block`.
fn valid_prefix(block: &Block, path: &AttributePath) -> AttributePath {
    let mut out = AttributePath::root();
    let mut cur = block;
    let mut in_block = false;
    for step in path.steps() {
        match step {
            PathStep::Attribute(n) => {
                if let Some(b) = cur.nested(n) {
                    cur = &b.block;
                    out.push(step.clone());
                    in_block = true;
                } else if cur.attr(n).is_some() {
                    out.push(step.clone());
                    return out;
                } else {
                    return out;
                }
            }
            PathStep::Index(_) if in_block => out.push(step.clone()),
            _ => return out,
        }
    }
    out
}

/// Maps an ARM error `target` to the Terraform attribute it is about, if the schema has it.
pub fn target_to_path(target: &str) -> Option<AttributePath> {
    let mut path = AttributePath::root();
    let mut is_identity = false;
    for raw in target.split('.') {
        let (name, index) = split_index(raw);
        let lower = name.to_ascii_lowercase();
        if WRAPPERS.contains(&lower.as_str()) {
            continue;
        }
        if lower == "identity" && path.is_root() {
            is_identity = true;
            path = path.then_attr(SessionPool::IDENTITY).index(0);
            continue;
        }
        if lower == "type" && is_identity {
            path = path.then_attr("type");
            continue;
        }
        match renamed(&lower) {
            Some(steps) => {
                for (n, i) in steps {
                    path = path.then_attr(n);
                    if let Some(i) = index.or(i) {
                        path = path.index(i);
                    }
                }
            }
            None => {
                path = path.then_attr(snake(name));
                if let Some(i) = index {
                    path = path.index(i);
                }
            }
        }
    }
    let valid = valid_prefix(&SessionPool::block(), &path);
    (!valid.is_root()).then_some(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(target: &str) -> Option<String> {
        target_to_path(target).map(|p| p.to_string())
    }

    #[test]
    fn targets_map_to_attributes() {
        assert_eq!(
            t("properties.scaleConfiguration.readySessionInstances").as_deref(),
            Some("ready_session_instances")
        );
        assert_eq!(t("properties.unknownThing"), None);
        assert_eq!(
            t("properties.customContainerTemplate.containers[0].image").as_deref(),
            Some("custom_container_template[0].container[0].image")
        );
        assert_eq!(
            t("properties.customContainerTemplate.containers[1].resources.cpu").as_deref(),
            Some("custom_container_template[0].container[1].cpu")
        );
        assert_eq!(
            t("properties.customContainerTemplate.containers[0].env[2].secretRef").as_deref(),
            Some("custom_container_template[0].container[0].env[2].secret_name")
        );
        assert_eq!(
            t("properties.customContainerTemplate.containers[0].probes[0].httpGet.port").as_deref(),
            Some("custom_container_template[0].container[0].probe[0].http_get[0].port")
        );
        assert_eq!(
            t("properties.customContainerTemplate.ingress.targetPort").as_deref(),
            Some("custom_container_template[0].ingress_target_port")
        );
        assert_eq!(
            t("properties.customContainerTemplate.registryCredentials.passwordSecretRef")
                .as_deref(),
            Some("custom_container_template[0].registry[0].password_secret_name")
        );
        assert_eq!(
            t("properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds")
                .as_deref(),
            Some("cooldown_period_in_seconds")
        );
        assert_eq!(
            t("properties.secrets[1].name").as_deref(),
            Some("secret[1].name")
        );
        assert_eq!(
            t("properties.managedIdentitySettings[0].identity").as_deref(),
            Some("managed_identity_setting[0].identity")
        );
        assert_eq!(
            t("identity.userAssignedIdentities").as_deref(),
            Some("identity[0].identity_ids")
        );
        assert_eq!(t("location").as_deref(), Some("location"));
        assert_eq!(t("tags.a").as_deref(), Some("tags"));
        assert_eq!(
            t("properties.environmentId").as_deref(),
            Some("container_app_environment_id")
        );
    }
}
