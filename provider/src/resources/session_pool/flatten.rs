//! ARM answer (`SessionPool`) -> Terraform model, normalised like azurerm: values that only
//! differ in spelling from the prior state (case, `System`/`system`, location `East US` vs
//! `eastus`, identity type spacing, ids in another case) keep the prior form; secrets keep
//! their prior values because the service never returns them.
//!
//! A value the service leaves out means its default, so it reads as the documented default
//! (probe `failure_threshold` 3, `scheme` `HTTP`, `cpu` 0.25, ...): a configuration that spells
//! a default out and one that leaves it out both plan no change after an import, while a
//! service-side value that differs from the default still shows as drift.

use std::collections::BTreeMap;

use super::expand::arm_identity_type;
use super::model::{
    Container, CustomContainerTemplate, Env, HttpGet, HttpHeader, Identity, ManagedIdentitySetting,
    Probe, Registry, Secret, SessionPool, TcpSocket,
};
use crate::azure::ids::ids_equal;
use crate::azure::models::session_pool as m;
use crate::plugin::model::{SetOf, Tf};
use crate::plugin::{Number, Value};
use crate::resources::timeouts::Timeouts;

/// Service defaults of values it may leave out (the schema's documented defaults).
pub mod defaults {
    /// `lifecycle_type`.
    pub const LIFECYCLE_TYPE: &str = "Timed";
    /// `cooldown_period_in_seconds` of a Timed pool.
    pub const COOLDOWN_SECONDS: i64 = 300;
    /// `pool_management_type`.
    pub const POOL_MANAGEMENT_TYPE: &str = "Dynamic";
    /// Container `cpu`.
    pub const CPU: f64 = 0.25;
    /// Container `memory`.
    pub const MEMORY: &str = "0.5Gi";
    /// Probe `period_seconds`.
    pub const PERIOD_SECONDS: i64 = 10;
    /// Probe `failure_threshold`.
    pub const FAILURE_THRESHOLD: i64 = 3;
    /// Probe `success_threshold`.
    pub const SUCCESS_THRESHOLD: i64 = 1;
    /// Probe `timeout_seconds`.
    pub const TIMEOUT_SECONDS: i64 = 1;
    /// HTTP probe `scheme`.
    pub const SCHEME: &str = "HTTP";
}

/// Normalises a location: `East US` -> `eastus`.
pub fn normalize_location(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The remote string, or the prior one when `same` says they only differ in spelling.
fn keep(prior: &Tf<String>, remote: Option<&str>, same: impl Fn(&str, &str) -> bool) -> Tf<String> {
    match remote {
        None => Tf::Null,
        Some(r) => match prior.as_str() {
            Some(p) if same(p, r) => prior.clone(),
            _ => Tf::Known(r.to_string()),
        },
    }
}

fn ci(prior: &Tf<String>, remote: Option<&str>) -> Tf<String> {
    keep(prior, remote, |a, b| a.eq_ignore_ascii_case(b))
}

fn exact(remote: Option<&str>) -> Tf<String> {
    Tf::from_option(remote.map(str::to_string))
}

fn int(remote: Option<i64>) -> Tf<i64> {
    Tf::from_option(remote)
}

fn string_list(prior: &Tf<Vec<Tf<String>>>, remote: Option<&Vec<String>>) -> Tf<Vec<Tf<String>>> {
    match remote {
        Some(v) if !v.is_empty() => Tf::Known(v.iter().map(|s| Tf::Known(s.clone())).collect()),
        Some(_) if prior.is_known() => Tf::Known(vec![]),
        _ => Tf::Null,
    }
}

/// `system` comes back as `System` (azurerm); ids compare case-insensitively.
fn identity_ref(prior: &Tf<String>, remote: Option<&str>) -> Tf<String> {
    match remote {
        Some(r) if r.eq_ignore_ascii_case("system") => ci(prior, Some("System")),
        Some(r) => keep(prior, Some(r), ids_equal),
        None => Tf::Null,
    }
}

/// Builds the model from the service's answer. `prior` is the current state (read), the
/// planned state (apply) or an import stub; `id`, `name`, `resource_group_name` come from the
/// caller because the answer's spelling of them may differ.
pub fn flatten(
    remote: &m::SessionPool,
    prior: &SessionPool,
    id: &str,
    name: &str,
    rg: &str,
) -> SessionPool {
    let empty = m::SessionPoolProperties::default();
    let p = remote.properties.as_ref().unwrap_or(&empty);
    let lc = p
        .dynamic_pool_configuration
        .as_ref()
        .and_then(|d| d.lifecycle_configuration.as_ref())
        .cloned()
        .unwrap_or_default();
    let scale = p.scale_configuration.clone().unwrap_or_default();
    let egress = p
        .session_network_configuration
        .as_ref()
        .and_then(|n| n.status.as_deref())
        .is_some_and(|s| s.eq_ignore_ascii_case("EgressEnabled"));
    let tags = match &remote.tags {
        Some(t) if !t.is_empty() => Tf::Known(
            t.iter()
                .map(|(k, v)| (k.clone(), Tf::Known(v.clone())))
                .collect::<BTreeMap<_, _>>(),
        ),
        Some(_) if prior.tags.is_known() => Tf::Known(BTreeMap::new()),
        _ => Tf::Null,
    };
    let lifecycle_type = ci(
        &prior.lifecycle_type,
        Some(
            lc.lifecycle_type
                .as_deref()
                .unwrap_or(defaults::LIFECYCLE_TYPE),
        ),
    );
    let timed = lifecycle_type
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("Timed"));
    let cooldown = match lc.cooldown_period_in_seconds {
        None if timed => Tf::Known(defaults::COOLDOWN_SECONDS),
        c => int(c),
    };
    SessionPool {
        id: keep(&prior.id, Some(id), ids_equal),
        name: keep(&prior.name, Some(name), |a, b| a == b),
        resource_group_name: ci(&prior.resource_group_name, Some(rg)),
        location: keep(&prior.location, remote.location.as_deref(), |a, b| {
            normalize_location(a) == normalize_location(b)
        }),
        container_app_environment_id: keep(
            &prior.container_app_environment_id,
            p.environment_id.as_deref(),
            ids_equal,
        ),
        container_type: ci(&prior.container_type, p.container_type.as_deref()),
        pool_management_type: ci(
            &prior.pool_management_type,
            Some(
                p.pool_management_type
                    .as_deref()
                    .unwrap_or(defaults::POOL_MANAGEMENT_TYPE),
            ),
        ),
        max_concurrent_sessions: int(scale.max_concurrent_sessions),
        ready_session_instances: int(scale.ready_session_instances),
        lifecycle_type,
        cooldown_period_in_seconds: cooldown,
        max_alive_period_in_seconds: int(lc.max_alive_period_in_seconds),
        network_egress_enabled: Tf::Known(egress),
        tags,
        pool_management_endpoint: exact(p.pool_management_endpoint.as_deref()),
        node_count: int(p.node_count),
        provisioning_state: exact(p.provisioning_state.as_deref()),
        custom_container_template: Tf::Known(
            p.custom_container_template
                .iter()
                .map(|t| flatten_template(t, prior.custom_container_template.first()))
                .collect(),
        ),
        secret: flatten_secrets(p.secrets.as_ref(), &prior.secret),
        identity: flatten_identity(remote.identity.as_ref(), prior.identity.first()),
        managed_identity_setting: flatten_settings(
            p.managed_identity_settings.as_ref(),
            &prior.managed_identity_setting,
        ),
        timeouts: Timeouts::state_value(),
    }
}

fn flatten_template(
    t: &m::CustomContainerTemplate,
    prior: Option<&CustomContainerTemplate>,
) -> CustomContainerTemplate {
    let none = CustomContainerTemplate::default();
    let prior = prior.unwrap_or(&none);
    let no_container = Container::default();
    let containers = t
        .containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| flatten_container(c, prior.container.items().get(i).unwrap_or(&no_container)))
        .collect();
    let no_registry = Registry::default();
    let pr = prior.registry.first().unwrap_or(&no_registry);
    let registry = t
        .registry_credentials
        .iter()
        .filter(|r| r.server.is_some() || r.identity.is_some() || r.username.is_some())
        .map(|r| Registry {
            server: ci(&pr.server, r.server.as_deref()),
            username: exact(r.username.as_deref()),
            password_secret_name: exact(r.password_secret_ref.as_deref()),
            identity: identity_ref(&pr.identity, r.identity.as_deref()),
        })
        .collect();
    CustomContainerTemplate {
        ingress_target_port: int(t.ingress.as_ref().and_then(|i| i.target_port)),
        container: Tf::Known(containers),
        registry: Tf::Known(registry),
    }
}

fn flatten_container(c: &m::Container, prior: &Container) -> Container {
    let res = c.resources.clone().unwrap_or_default();
    let remote_cpu = res.cpu.unwrap_or(defaults::CPU);
    // Keep the prior number (e.g. the exact decimal 0.1 the configuration gave).
    let cpu = match prior.cpu.as_f64() {
        Some(p) if (p - remote_cpu).abs() < 1e-9 => prior.cpu.clone(),
        _ => Tf::Known(Number::Float(remote_cpu).normalized()),
    };
    let no_probe = Probe::default();
    Container {
        name: exact(c.name.as_deref()),
        image: exact(c.image.as_deref()),
        command: string_list(&prior.command, c.command.as_ref()),
        args: string_list(&prior.args, c.args.as_ref()),
        cpu,
        memory: ci(
            &prior.memory,
            Some(res.memory.as_deref().unwrap_or(defaults::MEMORY)),
        ),
        env: Tf::Known(
            c.env
                .iter()
                .flatten()
                .map(|e| Env {
                    name: exact(e.name.as_deref()),
                    value: exact(e.value.as_deref()),
                    secret_name: exact(e.secret_ref.as_deref()),
                })
                .collect(),
        ),
        probe: Tf::Known(
            c.probes
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, pr)| flatten_probe(pr, prior.probe.items().get(i).unwrap_or(&no_probe)))
                .collect(),
        ),
    }
}

fn flatten_probe(p: &m::Probe, prior: &Probe) -> Probe {
    let no_http = HttpGet::default();
    let ph = prior.http_get.first().unwrap_or(&no_http);
    let http = p
        .http_get
        .iter()
        .map(|h| HttpGet {
            path: exact(h.path.as_deref()),
            port: int(h.port),
            scheme: ci(
                &ph.scheme,
                Some(h.scheme.as_deref().unwrap_or(defaults::SCHEME)),
            ),
            host: exact(h.host.as_deref()),
            http_header: Tf::Known(
                h.http_headers
                    .iter()
                    .flatten()
                    .map(|x| HttpHeader {
                        name: Tf::Known(x.name.clone()),
                        value: Tf::Known(x.value.clone()),
                    })
                    .collect(),
            ),
        })
        .collect();
    let tcp = p
        .tcp_socket
        .iter()
        .map(|t| TcpSocket {
            host: exact(t.host.as_deref()),
            port: int(t.port),
        })
        .collect();
    Probe {
        r#type: ci(&prior.r#type, p.kind.as_deref()),
        initial_delay_seconds: int(p.initial_delay_seconds),
        period_seconds: Tf::Known(p.period_seconds.unwrap_or(defaults::PERIOD_SECONDS)),
        failure_threshold: Tf::Known(p.failure_threshold.unwrap_or(defaults::FAILURE_THRESHOLD)),
        success_threshold: Tf::Known(p.success_threshold.unwrap_or(defaults::SUCCESS_THRESHOLD)),
        timeout_seconds: Tf::Known(p.timeout_seconds.unwrap_or(defaults::TIMEOUT_SECONDS)),
        termination_grace_period_seconds: int(p.termination_grace_period_seconds),
        http_get: Tf::Known(http),
        tcp_socket: Tf::Known(tcp),
    }
}

fn flatten_secrets(remote: Option<&Vec<m::Secret>>, prior: &Tf<Vec<Secret>>) -> Tf<Vec<Secret>> {
    let without_wo = |s: &Secret| Secret {
        value_wo: Tf::Null,
        ..s.clone()
    };
    let Some(remote) = remote else {
        // The service did not list secrets: keep what we know.
        return Tf::Known(prior.items().iter().map(without_wo).collect());
    };
    Tf::Known(
        remote
            .iter()
            .filter_map(|s| s.name.as_deref())
            .map(|name| {
                prior
                    .items()
                    .iter()
                    .find(|p| p.name.as_str() == Some(name))
                    .map(without_wo)
                    .unwrap_or_else(|| Secret {
                        name: Tf::Known(name.to_string()),
                        ..Default::default()
                    })
            })
            .collect(),
    )
}

fn flatten_identity(
    remote: Option<&m::ManagedServiceIdentity>,
    prior: Option<&Identity>,
) -> Tf<Vec<Identity>> {
    let none = Identity::default();
    let prior = prior.unwrap_or(&none);
    let Some(r) = remote else {
        return Tf::Known(vec![]);
    };
    let Some(kind) = r
        .kind
        .as_deref()
        .filter(|k| !k.eq_ignore_ascii_case("None"))
    else {
        return Tf::Known(vec![]);
    };
    // The documented spelling (`SystemAssigned, UserAssigned`), or the prior one.
    let documented = super::validate::IDENTITY_TYPES
        .iter()
        .find(|t| arm_identity_type(t).eq_ignore_ascii_case(&arm_identity_type(kind)))
        .copied()
        .unwrap_or(kind);
    let ty = keep(&prior.r#type, Some(documented), |a, b| {
        arm_identity_type(a).eq_ignore_ascii_case(&arm_identity_type(b))
    });
    let remote_ids: Vec<String> = r
        .user_assigned_identities
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect();
    let prior_ids: Vec<&String> = prior
        .identity_ids
        .known()
        .map(|s| s.known_items().collect())
        .unwrap_or_default();
    let ids = if remote_ids.is_empty() {
        Tf::Null
    } else {
        Tf::Known(SetOf(
            remote_ids
                .iter()
                .map(|rid| {
                    Tf::Known(
                        prior_ids
                            .iter()
                            .find(|p| ids_equal(p, rid))
                            .map(|p| (*p).clone())
                            .unwrap_or_else(|| rid.clone()),
                    )
                })
                .collect(),
        ))
    };
    Tf::Known(vec![Identity {
        r#type: ty,
        identity_ids: ids,
        principal_id: exact(r.principal_id.as_deref()),
        tenant_id: exact(r.tenant_id.as_deref()),
    }])
}

fn flatten_settings(
    remote: Option<&Vec<m::ManagedIdentitySetting>>,
    prior: &Tf<Vec<ManagedIdentitySetting>>,
) -> Tf<Vec<ManagedIdentitySetting>> {
    let none = ManagedIdentitySetting::default();
    Tf::Known(
        remote
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| {
                let p = prior.items().get(i).unwrap_or(&none);
                ManagedIdentitySetting {
                    identity: identity_ref(&p.identity, Some(&s.identity)),
                    // The service's own default is `None` (not exposed to session code).
                    lifecycle: ci(&p.lifecycle, Some(s.lifecycle.as_deref().unwrap_or("None"))),
                }
            })
            .collect(),
    )
}

/// Overlays the known values of `planned` on `actual`: Terraform requires every known planned
/// value to appear unchanged after apply; unknowns take the service's answer.
pub fn overlay_known(planned: &Value, actual: Value) -> Value {
    match (planned, actual) {
        (Value::Unknown(_), a) => a,
        (Value::Object(pm), Value::Object(mut am)) => {
            for (k, pv) in pm {
                let av = am.remove(k).unwrap_or(Value::Null);
                am.insert(k.clone(), overlay_known(pv, av));
            }
            Value::Object(am)
        }
        (Value::List(pl), Value::List(al)) if pl.len() == al.len() => Value::List(
            pl.iter()
                .zip(al)
                .map(|(p, a)| overlay_known(p, a))
                .collect(),
        ),
        (p, _) if p.is_wholly_known() => p.clone(),
        (_, a) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn location_normalisation() {
        assert_eq!(normalize_location("East US"), "eastus");
        let v = keep(&Tf::from("East US"), Some("eastus"), |a, b| {
            normalize_location(a) == normalize_location(b)
        });
        assert_eq!(v, Tf::from("East US"));
    }

    #[test]
    fn overlay_keeps_known_and_fills_unknown() {
        let planned = Value::object([("a", Value::from("x")), ("b", Value::unknown())]);
        let actual = Value::object([("a", Value::from("X")), ("b", Value::from(3i64))]);
        let out = overlay_known(&planned, actual);
        assert_eq!(out.get("a"), &Value::from("x"));
        assert_eq!(out.get("b"), &Value::from(3i64));
    }

    #[test]
    fn left_out_values_read_as_their_defaults() {
        let remote: m::SessionPool = serde_json::from_value(json!({
            "location": "eastus",
            "properties": {
                "containerType": "CustomContainer",
                "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed"}},
                "customContainerTemplate": {"containers": [{"name": "main", "image": "i",
                    "probes": [{"type": "Liveness", "httpGet": {"port": 8080}}]}],
                    "ingress": {"targetPort": 8080}},
                "managedIdentitySettings": [{"identity": "system"}]
            }
        }))
        .unwrap();
        let f = flatten(&remote, &SessionPool::default(), "/x", "p", "rg");
        assert_eq!(f.cooldown_period_in_seconds, Tf::Known(300));
        assert_eq!(f.network_egress_enabled, Tf::Known(false));
        assert_eq!(f.pool_management_type.as_str(), Some("Dynamic"));
        let c = &f.custom_container_template.items()[0].container.items()[0];
        assert_eq!(c.cpu.as_f64(), Some(0.25));
        assert_eq!(c.memory.as_str(), Some("0.5Gi"));
        let pr = &c.probe.items()[0];
        assert_eq!(pr.failure_threshold, Tf::Known(3));
        assert_eq!(pr.period_seconds, Tf::Known(10));
        assert_eq!(pr.http_get.items()[0].scheme.as_str(), Some("HTTP"));
        let s = &f.managed_identity_setting.items()[0];
        assert_eq!(s.identity.as_str(), Some("System"));
        assert_eq!(s.lifecycle.as_str(), Some("None"));
        assert_eq!(f.timeouts, Timeouts::state_value());
    }

    #[test]
    fn a_non_default_service_value_is_drift() {
        let remote: m::SessionPool = serde_json::from_value(json!({
            "properties": {"customContainerTemplate": {"containers": [{"name": "main",
                "probes": [{"type": "Liveness", "failureThreshold": 5, "tcpSocket": {"port": 1}}]}]}}
        }))
        .unwrap();
        let f = flatten(&remote, &SessionPool::default(), "/x", "p", "rg");
        let pr = &f.custom_container_template.items()[0].container.items()[0]
            .probe
            .items()[0];
        assert_eq!(pr.failure_threshold, Tf::Known(5));
    }
}
