//! Terraform value -> ARM request body (`SessionPool`, api-version 2026-07-01).
//!
//! Takes the planned state (wholly known at apply time) and the configuration (the only place
//! write-only secret values live). Updates are full PUTs, so secrets are always re-sent.

use std::collections::BTreeMap;

use crate::azure::models::session_pool as m;
use crate::plugin::Value;
use crate::resources::support::{elems, first, strings};

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn i(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn str_list(v: &Value) -> Option<Vec<String>> {
    if v.is_null() || v.is_unknown() {
        None
    } else {
        Some(strings(v))
    }
}

/// The identity type as ARM spells it (`SystemAssigned,UserAssigned`, no space).
pub fn arm_identity_type(t: &str) -> String {
    t.split(',').map(str::trim).collect::<Vec<_>>().join(",")
}

/// Builds the PUT body.
pub fn expand(planned: &Value, config: &Value) -> m::SessionPool {
    let lifecycle_type = s(planned.get("lifecycle_type")).unwrap_or_else(|| "Timed".into());
    let timed = lifecycle_type == "Timed";
    let lifecycle = m::LifecycleConfiguration {
        cooldown_period_in_seconds: if timed {
            i(planned.get("cooldown_period_in_seconds"))
        } else {
            None
        },
        max_alive_period_in_seconds: if timed {
            None
        } else {
            i(planned.get("max_alive_period_in_seconds"))
        },
        lifecycle_type: Some(lifecycle_type),
    };
    let secrets: Vec<m::Secret> = elems(planned.get("secret"))
        .iter()
        .enumerate()
        .map(|(idx, sec)| {
            let cfg = elems(config.get("secret")).get(idx);
            let wo = cfg
                .and_then(|c| c.get("value_wo").as_str())
                .map(str::to_string);
            m::Secret {
                name: s(sec.get("name")),
                value: s(sec.get("value")).or(wo),
            }
        })
        .collect();
    let egress = planned
        .get("network_egress_enabled")
        .as_bool()
        .unwrap_or(false);
    let tags: Option<BTreeMap<String, String>> = planned.get("tags").as_map().map(|t| {
        t.iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect()
    });
    m::SessionPool {
        location: s(planned.get("location")),
        tags,
        identity: first(planned.get("identity")).map(expand_identity),
        properties: Some(m::SessionPoolProperties {
            environment_id: s(planned.get("container_app_environment_id")),
            container_type: s(planned.get("container_type")),
            pool_management_type: s(planned.get("pool_management_type"))
                .or_else(|| Some("Dynamic".into())),
            scale_configuration: Some(m::ScaleConfiguration {
                max_concurrent_sessions: i(planned.get("max_concurrent_sessions")),
                ready_session_instances: i(planned.get("ready_session_instances")),
            }),
            secrets: Some(secrets),
            dynamic_pool_configuration: Some(m::DynamicPoolConfiguration {
                lifecycle_configuration: Some(lifecycle),
            }),
            custom_container_template: first(planned.get("custom_container_template"))
                .map(expand_template),
            session_network_configuration: Some(m::SessionNetworkConfiguration {
                status: Some(
                    if egress {
                        "EgressEnabled"
                    } else {
                        "EgressDisabled"
                    }
                    .into(),
                ),
            }),
            managed_identity_settings: {
                let list: Vec<m::ManagedIdentitySetting> =
                    elems(planned.get("managed_identity_setting"))
                        .iter()
                        .map(|x| m::ManagedIdentitySetting {
                            identity: s(x.get("identity"))
                                .map(|id| {
                                    if id.eq_ignore_ascii_case("system") {
                                        "system".into()
                                    } else {
                                        id
                                    }
                                })
                                .unwrap_or_default(),
                            lifecycle: s(x.get("lifecycle")),
                        })
                        .collect();
                (!list.is_empty()).then_some(list)
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn expand_identity(v: &Value) -> m::ManagedServiceIdentity {
    let ids = strings(v.get("identity_ids"));
    m::ManagedServiceIdentity {
        kind: s(v.get("type")).map(|t| arm_identity_type(&t)),
        user_assigned_identities: (!ids.is_empty()).then(|| {
            ids.into_iter()
                .map(|id| (id, serde_json::json!({})))
                .collect()
        }),
        ..Default::default()
    }
}

fn expand_template(t: &Value) -> m::CustomContainerTemplate {
    m::CustomContainerTemplate {
        registry_credentials: first(t.get("registry")).map(|r| m::RegistryCredentials {
            server: s(r.get("server")),
            username: s(r.get("username")),
            password_secret_ref: s(r.get("password_secret_name")),
            identity: s(r.get("identity")).map(|id| {
                if id.eq_ignore_ascii_case("system") {
                    "system".into()
                } else {
                    id
                }
            }),
        }),
        containers: Some(
            elems(t.get("container"))
                .iter()
                .map(expand_container)
                .collect(),
        ),
        ingress: Some(m::Ingress {
            target_port: i(t.get("ingress_target_port")),
        }),
    }
}

fn expand_container(c: &Value) -> m::Container {
    let env: Vec<m::EnvVar> = elems(c.get("env"))
        .iter()
        .map(|e| m::EnvVar {
            name: s(e.get("name")),
            value: s(e.get("value")),
            secret_ref: s(e.get("secret_name")),
        })
        .collect();
    let probes: Vec<m::Probe> = elems(c.get("probe")).iter().map(expand_probe).collect();
    m::Container {
        image: s(c.get("image")),
        name: s(c.get("name")),
        command: str_list(c.get("command")),
        args: str_list(c.get("args")),
        env: (!env.is_empty()).then_some(env),
        resources: Some(m::ContainerResources {
            cpu: c.get("cpu").as_f64(),
            memory: s(c.get("memory")),
        }),
        probes: (!probes.is_empty()).then_some(probes),
    }
}

fn expand_probe(p: &Value) -> m::Probe {
    m::Probe {
        kind: s(p.get("type")),
        http_get: first(p.get("http_get")).map(|h| m::HttpGet {
            host: s(h.get("host")),
            http_headers: {
                let hs: Vec<m::HttpHeader> = elems(h.get("http_header"))
                    .iter()
                    .map(|x| m::HttpHeader {
                        name: s(x.get("name")).unwrap_or_default(),
                        value: s(x.get("value")).unwrap_or_default(),
                    })
                    .collect();
                (!hs.is_empty()).then_some(hs)
            },
            path: s(h.get("path")),
            port: i(h.get("port")),
            scheme: s(h.get("scheme")),
        }),
        tcp_socket: first(p.get("tcp_socket")).map(|t| m::TcpSocket {
            host: s(t.get("host")),
            port: i(t.get("port")),
        }),
        failure_threshold: i(p.get("failure_threshold")),
        initial_delay_seconds: i(p.get("initial_delay_seconds")),
        period_seconds: i(p.get("period_seconds")),
        success_threshold: i(p.get("success_threshold")),
        termination_grace_period_seconds: i(p.get("termination_grace_period_seconds")),
        timeout_seconds: i(p.get("timeout_seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_type_spelling() {
        assert_eq!(
            arm_identity_type("SystemAssigned, UserAssigned"),
            "SystemAssigned,UserAssigned"
        );
        assert_eq!(arm_identity_type("UserAssigned"), "UserAssigned");
    }
}
