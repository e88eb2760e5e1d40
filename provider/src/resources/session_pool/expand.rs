//! Terraform model -> ARM request body (`SessionPool`, api-version 2026-07-01).
//!
//! Takes the planned pool (wholly known at apply time) and the configuration (the only place
//! write-only secret values live). Updates are full PUTs, so secrets are always re-sent; a
//! secret without a value in the configuration (possible after an import) is sent by name
//! only, and the service keeps the value it has.

use std::collections::BTreeMap;

use super::model::{
    Container, CustomContainerTemplate, Env, HttpGet, Identity, ManagedIdentitySetting, Probe,
    Registry, SessionPool,
};
use crate::azure::models::session_pool as m;
use crate::plugin::model::Tf;

fn s(v: &Tf<String>) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn i(v: &Tf<i64>) -> Option<i64> {
    v.known().copied()
}

fn strings(v: &Tf<Vec<Tf<String>>>) -> Option<Vec<String>> {
    v.known().map(|items| {
        items
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    })
}

/// The identity type as ARM spells it (`SystemAssigned,UserAssigned`, no space).
pub fn arm_identity_type(t: &str) -> String {
    t.split(',').map(str::trim).collect::<Vec<_>>().join(",")
}

/// `System` (any case) as ARM spells it (`system`); ids unchanged.
fn identity_ref(id: String) -> String {
    if id.eq_ignore_ascii_case("system") {
        "system".into()
    } else {
        id
    }
}

/// Builds the PUT body.
pub fn expand(planned: &SessionPool, config: &SessionPool) -> m::SessionPool {
    let lifecycle_type = s(&planned.lifecycle_type).unwrap_or_else(|| "Timed".into());
    let timed = lifecycle_type == "Timed";
    let lifecycle = m::LifecycleConfiguration {
        cooldown_period_in_seconds: if timed {
            i(&planned.cooldown_period_in_seconds)
        } else {
            None
        },
        max_alive_period_in_seconds: if timed {
            None
        } else {
            i(&planned.max_alive_period_in_seconds)
        },
        lifecycle_type: Some(lifecycle_type),
    };
    let secrets: Vec<m::Secret> = planned
        .secret
        .items()
        .iter()
        .map(|sec| {
            let wo = config
                .secret
                .items()
                .iter()
                .find(|c| c.name == sec.name)
                .and_then(|c| s(&c.value_wo));
            m::Secret {
                name: s(&sec.name),
                value: s(&sec.value).or(wo),
            }
        })
        .collect();
    let egress = planned
        .network_egress_enabled
        .known()
        .copied()
        .unwrap_or(false);
    let tags: Option<BTreeMap<String, String>> = planned.tags.known().map(|t| {
        t.iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect()
    });
    let settings: Vec<m::ManagedIdentitySetting> = planned
        .managed_identity_setting
        .items()
        .iter()
        .map(expand_setting)
        .collect();
    m::SessionPool {
        location: s(&planned.location),
        tags,
        identity: planned.identity.first().map(expand_identity),
        properties: Some(m::SessionPoolProperties {
            environment_id: s(&planned.container_app_environment_id),
            container_type: s(&planned.container_type),
            pool_management_type: s(&planned.pool_management_type)
                .or_else(|| Some("Dynamic".into())),
            scale_configuration: Some(m::ScaleConfiguration {
                max_concurrent_sessions: i(&planned.max_concurrent_sessions),
                ready_session_instances: i(&planned.ready_session_instances),
            }),
            secrets: Some(secrets),
            dynamic_pool_configuration: Some(m::DynamicPoolConfiguration {
                lifecycle_configuration: Some(lifecycle),
            }),
            custom_container_template: planned
                .custom_container_template
                .first()
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
            managed_identity_settings: (!settings.is_empty()).then_some(settings),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn expand_setting(x: &ManagedIdentitySetting) -> m::ManagedIdentitySetting {
    m::ManagedIdentitySetting {
        identity: s(&x.identity).map(identity_ref).unwrap_or_default(),
        lifecycle: s(&x.lifecycle),
    }
}

fn expand_identity(v: &Identity) -> m::ManagedServiceIdentity {
    let ids: Vec<String> = v
        .identity_ids
        .known()
        .map(|set| set.known_items().cloned().collect())
        .unwrap_or_default();
    m::ManagedServiceIdentity {
        kind: s(&v.r#type).map(|t| arm_identity_type(&t)),
        user_assigned_identities: (!ids.is_empty()).then(|| {
            ids.into_iter()
                .map(|id| (id, serde_json::json!({})))
                .collect()
        }),
        ..Default::default()
    }
}

fn expand_registry(r: &Registry) -> m::RegistryCredentials {
    m::RegistryCredentials {
        server: s(&r.server),
        username: s(&r.username),
        password_secret_ref: s(&r.password_secret_name),
        identity: s(&r.identity).map(identity_ref),
    }
}

fn expand_template(t: &CustomContainerTemplate) -> m::CustomContainerTemplate {
    m::CustomContainerTemplate {
        registry_credentials: t.registry.first().map(expand_registry),
        containers: Some(t.container.items().iter().map(expand_container).collect()),
        ingress: Some(m::Ingress {
            target_port: i(&t.ingress_target_port),
        }),
    }
}

fn expand_env(e: &Env) -> m::EnvVar {
    m::EnvVar {
        name: s(&e.name),
        value: s(&e.value),
        secret_ref: s(&e.secret_name),
    }
}

fn expand_container(c: &Container) -> m::Container {
    let env: Vec<m::EnvVar> = c.env.items().iter().map(expand_env).collect();
    let probes: Vec<m::Probe> = c.probe.items().iter().map(expand_probe).collect();
    m::Container {
        image: s(&c.image),
        name: s(&c.name),
        command: strings(&c.command),
        args: strings(&c.args),
        env: (!env.is_empty()).then_some(env),
        resources: Some(m::ContainerResources {
            cpu: c.cpu.as_f64(),
            memory: s(&c.memory),
        }),
        probes: (!probes.is_empty()).then_some(probes),
    }
}

fn expand_http_get(h: &HttpGet) -> m::HttpGet {
    let headers: Vec<m::HttpHeader> = h
        .http_header
        .items()
        .iter()
        .map(|x| m::HttpHeader {
            name: s(&x.name).unwrap_or_default(),
            value: s(&x.value).unwrap_or_default(),
        })
        .collect();
    m::HttpGet {
        host: s(&h.host),
        http_headers: (!headers.is_empty()).then_some(headers),
        path: s(&h.path),
        port: i(&h.port),
        scheme: s(&h.scheme),
    }
}

fn expand_probe(p: &Probe) -> m::Probe {
    m::Probe {
        kind: s(&p.r#type),
        http_get: p.http_get.first().map(expand_http_get),
        tcp_socket: p.tcp_socket.first().map(|t| m::TcpSocket {
            host: s(&t.host),
            port: i(&t.port),
        }),
        failure_threshold: i(&p.failure_threshold),
        initial_delay_seconds: i(&p.initial_delay_seconds),
        period_seconds: i(&p.period_seconds),
        success_threshold: i(&p.success_threshold),
        termination_grace_period_seconds: i(&p.termination_grace_period_seconds),
        timeout_seconds: i(&p.timeout_seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::session_pool::model::Secret;

    #[test]
    fn identity_type_spelling() {
        assert_eq!(
            arm_identity_type("SystemAssigned, UserAssigned"),
            "SystemAssigned,UserAssigned"
        );
        assert_eq!(arm_identity_type("UserAssigned"), "UserAssigned");
    }

    #[test]
    fn write_only_secret_comes_from_config_and_missing_value_is_sent_by_name() {
        let planned = SessionPool {
            secret: Tf::Known(vec![
                Secret {
                    name: "wo".into(),
                    ..Default::default()
                },
                Secret {
                    name: "kept".into(),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let mut config = planned.clone();
        config.secret.items_mut()[0].value_wo = "s3cret".into();
        let body = expand(&planned, &config);
        let secrets = body.properties.unwrap().secrets.unwrap();
        assert_eq!(secrets[0].value.as_deref(), Some("s3cret"));
        assert_eq!(secrets[1].name.as_deref(), Some("kept"));
        assert_eq!(secrets[1].value, None);
    }
}
