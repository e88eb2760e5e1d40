//! What an update keeps from the stored pool, and the generated identity ids.
//!
//! - **Secrets.** A PUT replaces the secret list with what is sent; a secret sent without a
//!   `value` keeps its stored value when a secret of that name exists (azurerm re-sends
//!   secrets, SDK users often cannot). A PATCH that omits `secrets` keeps them all (merge patch).
//! - **Fields the caller's version cannot express** are kept from the stored pool instead of
//!   being wiped: `probes` (per container, matched by name) for versions without probes,
//!   `identity` and `managedIdentitySettings` before 2024-10-02-preview, registry `identity`
//!   in 2024-02-02-preview, `mcpServerSettings` in versions without MCP, and
//!   `maxAlivePeriodInSeconds` in the flat lifecycle versions (whose `executionType` is kept too
//!   when the stored pool is `OnContainerExit`).
//! - **Identity ids.** The system-assigned `principalId` is generated once (random) and kept
//!   while the pool has a system-assigned identity; `tenantId` is the emulator's tenant.
//!   User-assigned identities get a `principalId`/`clientId` derived from their (lower-cased)
//!   resource id, so one identity shows the same ids in every pool, as in Azure.

use sha2::{Digest, Sha256};

use super::model::*;
use super::version::ApiVersion;

/// Applies the carry-over rules of the module docs to `new`, given the stored pool (if any).
pub fn carry_over(new: &mut SessionPool, old: Option<&SessionPool>, v: ApiVersion) {
    if let Some(old) = old {
        keep_secret_values(&mut new.properties, &old.properties);
        if !v.has_identity() {
            new.identity = old.identity.clone();
            new.properties.managed_identity_settings =
                old.properties.managed_identity_settings.clone();
        }
        if !v.has_mcp() {
            new.properties.mcp_server_settings = old.properties.mcp_server_settings.clone();
        }
        keep_template_fields(&mut new.properties, &old.properties, v);
        if v.flat_dynamic_config() {
            keep_lifecycle(&mut new.properties, &old.properties);
        }
    }
    fill_identity_ids(new, old, crate::defaults::TENANT_ID);
}

fn keep_secret_values(new: &mut Properties, old: &Properties) {
    let Some(secrets) = &mut new.secrets else {
        return;
    };
    for s in secrets.iter_mut().filter(|s| s.value.is_none()) {
        s.value = old
            .secrets
            .iter()
            .flatten()
            .find(|o| o.name == s.name)
            .and_then(|o| o.value.clone());
    }
}

fn keep_template_fields(new: &mut Properties, old: &Properties, v: ApiVersion) {
    let (Some(nt), Some(ot)) = (
        &mut new.custom_container_template,
        &old.custom_container_template,
    ) else {
        return;
    };
    if !v.has_registry_identity() {
        if let (Some(nr), Some(or)) = (&mut nt.registry_credentials, &ot.registry_credentials) {
            nr.identity = or.identity.clone();
        }
    }
    if !v.has_probes() {
        for c in nt.containers.iter_mut().flatten() {
            c.probes = ot
                .containers
                .iter()
                .flatten()
                .find(|o| o.name.is_some() && o.name == c.name)
                .and_then(|o| o.probes.clone());
        }
    }
}

fn keep_lifecycle(new: &mut Properties, old: &Properties) {
    let old_lc = old
        .dynamic_pool_configuration
        .as_ref()
        .and_then(|d| d.lifecycle_configuration.as_ref());
    let new_lc = new
        .dynamic_pool_configuration
        .as_mut()
        .and_then(|d| d.lifecycle_configuration.as_mut());
    if let (Some(n), Some(o)) = (new_lc, old_lc) {
        if n.effective_type() == LifecycleType::OnContainerExit
            && n.max_alive_period_in_seconds.is_none()
        {
            n.max_alive_period_in_seconds = o.max_alive_period_in_seconds;
        }
    }
}

/// Fills the read-only ids of `new.identity` (see the module docs).
pub fn fill_identity_ids(new: &mut SessionPool, old: Option<&SessionPool>, tenant: &str) {
    let Some(id) = &mut new.identity else { return };
    if id.kind.has_system() {
        let kept = old
            .and_then(|o| o.identity.as_ref())
            .filter(|o| o.kind.has_system())
            .and_then(|o| o.principal_id.clone());
        id.principal_id = Some(kept.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()));
        id.tenant_id = Some(tenant.to_string());
    } else {
        id.principal_id = None;
        id.tenant_id = None;
    }
    for u in &mut id.user_assigned {
        u.principal_id = derived_uuid("principal", &u.id);
        u.client_id = derived_uuid("client", &u.id);
    }
}

/// A stable v4-shaped UUID derived from a purpose and a (case-insensitive) resource id.
pub fn derived_uuid(purpose: &str, id: &str) -> String {
    let digest = Sha256::digest(format!("{purpose}:{}", id.to_ascii_lowercase()).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> SessionPool {
        SessionPool {
            location: "eastus".into(),
            identity: Some(Identity {
                kind: IdentityType::SystemAndUserAssigned,
                principal_id: None,
                tenant_id: None,
                user_assigned: vec![UserAssignedIdentity {
                    id: "/X/u".into(),
                    principal_id: String::new(),
                    client_id: String::new(),
                }],
            }),
            properties: Properties {
                secrets: Some(vec![Secret {
                    name: "a".into(),
                    value: Some("1".into()),
                }]),
                custom_container_template: Some(CustomContainerTemplate {
                    containers: Some(vec![Container {
                        name: Some("main".into()),
                        probes: Some(vec![Probe {
                            kind: Some(ProbeType::Liveness),
                            ..Probe::default()
                        }]),
                        ..Container::default()
                    }]),
                    ..CustomContainerTemplate::default()
                }),
                ..Properties::default()
            },
            ..SessionPool::default()
        }
    }

    #[test]
    fn principal_id_is_generated_once_and_kept() {
        let mut first = pool();
        carry_over(&mut first, None, ApiVersion::CANONICAL);
        let pid = first
            .identity
            .as_ref()
            .unwrap()
            .principal_id
            .clone()
            .unwrap();
        let mut second = pool();
        carry_over(&mut second, Some(&first), ApiVersion::CANONICAL);
        assert_eq!(
            second.identity.as_ref().unwrap().principal_id.as_deref(),
            Some(pid.as_str())
        );
        let ua = &second.identity.as_ref().unwrap().user_assigned[0];
        assert_eq!(ua.principal_id, derived_uuid("principal", "/x/U"));
        assert_ne!(ua.principal_id, ua.client_id);
    }

    #[test]
    fn secret_without_value_keeps_the_stored_value() {
        let old = pool();
        let mut new = pool();
        new.properties.secrets = Some(vec![
            Secret {
                name: "a".into(),
                value: None,
            },
            Secret {
                name: "b".into(),
                value: None,
            },
        ]);
        carry_over(&mut new, Some(&old), ApiVersion::CANONICAL);
        let s = new.properties.secrets.unwrap();
        assert_eq!(s[0].value.as_deref(), Some("1"));
        assert_eq!(s[1].value, None);
    }

    #[test]
    fn versions_without_probes_or_identity_keep_them() {
        let old = pool();
        let mut new = pool();
        new.identity = None;
        new.properties
            .custom_container_template
            .as_mut()
            .unwrap()
            .containers
            .as_mut()
            .unwrap()[0]
            .probes = None;
        carry_over(&mut new, Some(&old), ApiVersion::V2024_02_02Preview);
        assert!(new.identity.is_some());
        assert!(new
            .properties
            .custom_container_template
            .unwrap()
            .containers
            .unwrap()[0]
            .probes
            .is_some());
        let mut new = pool();
        new.properties
            .custom_container_template
            .as_mut()
            .unwrap()
            .containers
            .as_mut()
            .unwrap()[0]
            .probes = None;
        carry_over(&mut new, Some(&old), ApiVersion::CANONICAL);
        assert!(new
            .properties
            .custom_container_template
            .unwrap()
            .containers
            .unwrap()[0]
            .probes
            .is_none());
    }
}
