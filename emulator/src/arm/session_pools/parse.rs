//! Request JSON of any supported api-version -> the internal [`SessionPool`] model.
//!
//! Rules, matching the real resource provider:
//! - property names match case-insensitively at every level; unknown properties are ignored;
//!   `null` means "not sent";
//! - read-only properties (`id`, `name`, `type`, `systemData`, `provisioningState`, `nodeCount`,
//!   `poolManagementEndpoint`, identity `principalId`/`tenantId`/`clientId`) are ignored;
//! - only the fields the caller's version has are read: the flat
//!   `dynamicPoolConfiguration{executionType, cooldownPeriodInSeconds}` of <= 2024-10-02-preview,
//!   `registryServer` of 2024-02-02-preview, `identity`/`managedIdentitySettings` from
//!   2024-10-02-preview, registry `identity` from 2024-08-02-preview, and `probes` only in
//!   2025-02-02-preview, 2025-10-02-preview and 2026-07-01, `mcpServerSettings` only in
//!   2025-10-02-preview and 2026-03-02-preview. A field sent with a version that lacks it
//!   (e.g. `probes` with 2025-07-01) is ignored like any unknown property; the read-only
//!   `mcpServerEndpoint` and `templateUpdateStatus` are ignored too.
//! - a wrong JSON type is a 400 `InvalidRequestContent`; an unknown enum value is a 400
//!   `InvalidParameter` listing the allowed values. Both name the field in `target`.
//!
//! Service rules beyond "is this the right type" are checked by [`super::validate`].

use serde_json::Value;

use super::error::PoolError;
use super::json::{as_obj, as_string, index, with_obj, Obj};
use super::model::*;
use super::version::ApiVersion;

/// Parses a whole `SessionPool` body (PUT, or a PATCH already merged onto the stored pool).
pub fn parse_pool(body: &Value, v: ApiVersion) -> Result<SessionPool, PoolError> {
    let root = as_obj(body, "")?;
    let location = root.string("location")?.unwrap_or_default();
    let tags = parse_tags(&root)?;
    let identity = if v.has_identity() {
        with_obj(&root, "identity", |o| parse_identity(&o))?
    } else {
        None
    };
    let properties =
        with_obj(&root, "properties", |o| parse_properties(&o, v))?.unwrap_or_default();
    Ok(SessionPool {
        location,
        tags,
        identity,
        properties,
    })
}

fn enum_field<E: WireEnum>(o: &Obj<'_>, name: &str) -> Result<Option<E>, PoolError> {
    match o.string(name)? {
        None => Ok(None),
        Some(s) => E::parse(&s).map(Some).ok_or_else(|| {
            let path = o.child(name);
            PoolError::invalid(
                &path,
                format!(
                    "'{path}' is '{s}', which is not one of the allowed values: {}",
                    E::allowed()
                ),
            )
        }),
    }
}

fn parse_tags(root: &Obj<'_>) -> Result<Option<Vec<(String, String)>>, PoolError> {
    with_obj(root, "tags", |o| {
        o.map()
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| Ok((k.clone(), as_string(v, &o.child(k))?)))
            .collect()
    })
}

fn parse_identity(o: &Obj<'_>) -> Result<Identity, PoolError> {
    let path = o.child("type");
    let kind = match o.string("type")? {
        None => return Err(PoolError::invalid(&path, format!("'{path}' is required when 'identity' is sent; use None, SystemAssigned, UserAssigned or 'SystemAssigned,UserAssigned'"))),
        Some(s) => IdentityType::parse(&s).ok_or_else(|| {
            PoolError::invalid(&path, format!("'{path}' is '{s}', which is not one of the allowed values: None, SystemAssigned, UserAssigned, SystemAssigned,UserAssigned"))
        })?,
    };
    let user_assigned = with_obj(o, "userAssignedIdentities", |ua| {
        ua.map()
            .iter()
            .map(|(id, v)| {
                if !v.is_null() {
                    as_obj(v, &ua.child(id))?;
                }
                Ok(UserAssignedIdentity {
                    id: id.clone(),
                    principal_id: String::new(),
                    client_id: String::new(),
                })
            })
            .collect::<Result<Vec<_>, PoolError>>()
    })?
    .unwrap_or_default();
    Ok(Identity {
        kind,
        principal_id: None,
        tenant_id: None,
        user_assigned,
    })
}

fn parse_properties(p: &Obj<'_>, v: ApiVersion) -> Result<Properties, PoolError> {
    Ok(Properties {
        environment_id: p.string("environmentId")?,
        container_type: enum_field(p, "containerType")?,
        pool_management_type: enum_field(p, "poolManagementType")?,
        scale_configuration: with_obj(p, "scaleConfiguration", |s| {
            Ok(ScaleConfiguration {
                max_concurrent_sessions: s.i32("maxConcurrentSessions")?,
                ready_session_instances: s.i32("readySessionInstances")?,
            })
        })?,
        secrets: parse_list(p, "secrets", |s| {
            let name_path = s.child("name");
            Ok(Secret {
                name: s.string("name")?.ok_or_else(|| {
                    PoolError::invalid(
                        &name_path,
                        format!("'{name_path}' is required: every secret needs a name"),
                    )
                })?,
                value: s.string("value")?,
            })
        })?,
        dynamic_pool_configuration: with_obj(p, "dynamicPoolConfiguration", |d| {
            parse_dynamic(&d, v)
        })?,
        custom_container_template: with_obj(p, "customContainerTemplate", |t| {
            parse_template(&t, v)
        })?,
        session_network_configuration: with_obj(p, "sessionNetworkConfiguration", |n| {
            Ok(SessionNetworkConfiguration {
                status: enum_field(&n, "status")?,
            })
        })?,
        managed_identity_settings: if v.has_identity() {
            parse_list(p, "managedIdentitySettings", |m| {
                Ok(ManagedIdentitySetting {
                    identity: m.string("identity")?,
                    lifecycle: enum_field(&m, "lifecycle")?,
                })
            })?
        } else {
            None
        },
        mcp_server_settings: if v.has_mcp() {
            with_obj(p, "mcpServerSettings", |m| {
                Ok(McpServerSettings {
                    is_mcp_server_enabled: m.bool("isMcpServerEnabled")?,
                    is_mcp_server_api_key_disabled: m.bool("isMcpServerApiKeyDisabled")?,
                })
            })?
        } else {
            None
        },
    })
}

/// Parses an optional array of objects, each with its indexed path.
fn parse_list<T>(
    parent: &Obj<'_>,
    name: &str,
    f: impl Fn(Obj<'_>) -> Result<T, PoolError>,
) -> Result<Option<Vec<T>>, PoolError> {
    let Some(items) = parent.array(name)? else {
        return Ok(None);
    };
    let path = parent.child(name);
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let p = index(&path, i);
            f(as_obj(item, &p)?)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn parse_dynamic(d: &Obj<'_>, v: ApiVersion) -> Result<DynamicPoolConfiguration, PoolError> {
    if v.flat_dynamic_config() {
        let lifecycle_type = enum_field::<LifecycleType>(d, "executionType")?;
        let cooldown = d.i32("cooldownPeriodInSeconds")?;
        let lifecycle =
            (lifecycle_type.is_some() || cooldown.is_some()).then_some(LifecycleConfiguration {
                lifecycle_type,
                cooldown_period_in_seconds: cooldown,
                max_alive_period_in_seconds: None,
            });
        return Ok(DynamicPoolConfiguration {
            lifecycle_configuration: lifecycle,
        });
    }
    Ok(DynamicPoolConfiguration {
        lifecycle_configuration: with_obj(d, "lifecycleConfiguration", |l| {
            Ok(LifecycleConfiguration {
                lifecycle_type: enum_field(&l, "lifecycleType")?,
                cooldown_period_in_seconds: l.i32("cooldownPeriodInSeconds")?,
                max_alive_period_in_seconds: l.i32("maxAlivePeriodInSeconds")?,
            })
        })?,
    })
}

fn parse_template(t: &Obj<'_>, v: ApiVersion) -> Result<CustomContainerTemplate, PoolError> {
    Ok(CustomContainerTemplate {
        registry_credentials: with_obj(t, "registryCredentials", |r| {
            Ok(RegistryCredentials {
                server: r.string(v.registry_server_field())?,
                username: r.string("username")?,
                password_secret_ref: r.string("passwordSecretRef")?,
                identity: if v.has_registry_identity() {
                    r.string("identity")?
                } else {
                    None
                },
            })
        })?,
        containers: parse_list(t, "containers", |c| parse_container(&c, v))?,
        ingress: with_obj(t, "ingress", |i| {
            Ok(Ingress {
                target_port: i.i32("targetPort")?,
            })
        })?,
    })
}

fn parse_container(c: &Obj<'_>, v: ApiVersion) -> Result<Container, PoolError> {
    Ok(Container {
        image: c.string("image")?,
        name: c.string("name")?,
        command: c.strings("command")?,
        args: c.strings("args")?,
        env: parse_list(c, "env", |e| {
            Ok(EnvVar {
                name: e.string("name")?,
                value: e.string("value")?,
                secret_ref: e.string("secretRef")?,
            })
        })?,
        resources: with_obj(c, "resources", |r| {
            Ok(Resources {
                cpu: r.f64("cpu")?,
                memory: r.string("memory")?,
            })
        })?,
        probes: if v.has_probes() {
            parse_list(c, "probes", |p| parse_probe(&p))?
        } else {
            None
        },
    })
}

fn parse_probe(p: &Obj<'_>) -> Result<Probe, PoolError> {
    Ok(Probe {
        kind: enum_field(p, "type")?,
        http_get: with_obj(p, "httpGet", |h| {
            Ok(HttpGet {
                host: h.string("host")?,
                http_headers: parse_list(&h, "httpHeaders", |hh| {
                    Ok(HttpHeader {
                        name: hh.string("name")?,
                        value: hh.string("value")?,
                    })
                })?,
                path: h.string("path")?,
                port: h.i32("port")?,
                scheme: enum_field(&h, "scheme")?,
            })
        })?,
        tcp_socket: with_obj(p, "tcpSocket", |t| {
            Ok(TcpSocket {
                host: t.string("host")?,
                port: t.i32("port")?,
            })
        })?,
        failure_threshold: p.i32("failureThreshold")?,
        initial_delay_seconds: p.i32("initialDelaySeconds")?,
        period_seconds: p.i32("periodSeconds")?,
        success_threshold: p.i32("successThreshold")?,
        termination_grace_period_seconds: p.i64("terminationGracePeriodSeconds")?,
        timeout_seconds: p.i32("timeoutSeconds")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> Value {
        json!({"location":"East US","identity":{"type":"SystemAssigned"},
         "properties":{"environmentId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/demokube",
          "poolManagementType":"Dynamic","containerType":"CustomContainer",
          "scaleConfiguration":{"maxConcurrentSessions":500,"readySessionInstances":100},
          "dynamicPoolConfiguration":{"lifecycleConfiguration":{"lifecycleType":"Timed","cooldownPeriodInSeconds":600}},
          "customContainerTemplate":{"containers":[{"image":"repo/testcontainer:v4","name":"testinitcontainer",
             "resources":{"cpu":0.25,"memory":"0.5Gi"},"command":["/bin/sh"],"args":["-c","echo"],
             "probes":[{"type":"Liveness","httpGet":{"port":8080}}]}],
           "ingress":{"targetPort":80},
           "registryCredentials":{"server":"test.azurecr.io","identity":"system"}},
          "sessionNetworkConfiguration":{"status":"EgressEnabled"},
          "managedIdentitySettings":[{"identity":"system","lifecycle":"Main"}]}})
    }

    #[test]
    fn parses_the_reference_example() {
        let p = parse_pool(&example(), ApiVersion::CANONICAL).unwrap();
        assert_eq!(p.location, "East US");
        assert_eq!(
            p.identity.as_ref().unwrap().kind,
            IdentityType::SystemAssigned
        );
        let props = &p.properties;
        assert_eq!(props.container_type, Some(ContainerType::CustomContainer));
        let lc = props
            .dynamic_pool_configuration
            .as_ref()
            .unwrap()
            .lifecycle_configuration
            .as_ref()
            .unwrap();
        assert_eq!(lc.cooldown_period_in_seconds, Some(600));
        let t = props.custom_container_template.as_ref().unwrap();
        let c = &t.containers.as_ref().unwrap()[0];
        assert_eq!(
            c.resources.as_ref().unwrap().memory.as_deref(),
            Some("0.5Gi")
        );
        assert_eq!(
            c.probes.as_ref().unwrap()[0]
                .http_get
                .as_ref()
                .unwrap()
                .port,
            Some(8080)
        );
        assert_eq!(
            t.registry_credentials.as_ref().unwrap().identity.as_deref(),
            Some("system")
        );
    }

    #[test]
    fn probes_are_ignored_by_versions_without_them() {
        let p = parse_pool(&example(), ApiVersion::V2025_07_01).unwrap();
        let t = p.properties.custom_container_template.unwrap();
        assert_eq!(t.containers.unwrap()[0].probes, None);
    }

    #[test]
    fn old_versions_read_the_flat_form_and_registry_server() {
        let body = json!({"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{
            "dynamicPoolConfiguration":{"executionType":"timed","cooldownPeriodInSeconds":300,
                "lifecycleConfiguration":{"lifecycleType":"OnContainerExit"}},
            "customContainerTemplate":{"registryCredentials":{"registryServer":"r.io","server":"ignored","identity":"system"}}}});
        let p = parse_pool(&body, ApiVersion::V2024_02_02Preview).unwrap();
        assert_eq!(p.identity, None);
        let lc = p
            .properties
            .dynamic_pool_configuration
            .unwrap()
            .lifecycle_configuration
            .unwrap();
        assert_eq!(lc.lifecycle_type, Some(LifecycleType::Timed));
        assert_eq!(lc.cooldown_period_in_seconds, Some(300));
        let r = p
            .properties
            .custom_container_template
            .unwrap()
            .registry_credentials
            .unwrap();
        assert_eq!(r.server.as_deref(), Some("r.io"));
        assert_eq!(r.identity, None);
    }

    #[test]
    fn new_versions_ignore_the_flat_form() {
        let body = json!({"properties":{"dynamicPoolConfiguration":{"executionType":"Timed","cooldownPeriodInSeconds":300}}});
        let p = parse_pool(&body, ApiVersion::V2025_01_01).unwrap();
        assert_eq!(
            p.properties
                .dynamic_pool_configuration
                .unwrap()
                .lifecycle_configuration,
            None
        );
    }

    #[test]
    fn case_insensitive_names_everywhere() {
        let body = json!({"LOCATION":"x","Properties":{"ScaleConfiguration":{"maxconcurrentsessions":3},
            "CUSTOMcontainerTemplate":{"Containers":[{"NAME":"a","Probes":[{"TYPE":"startup","TcpSocket":{"Port":1}}]}]}}});
        let p = parse_pool(&body, ApiVersion::CANONICAL).unwrap();
        assert_eq!(p.location, "x");
        assert_eq!(
            p.properties
                .scale_configuration
                .unwrap()
                .max_concurrent_sessions,
            Some(3)
        );
        let c = &p
            .properties
            .custom_container_template
            .unwrap()
            .containers
            .unwrap()[0];
        assert_eq!(c.probes.as_ref().unwrap()[0].kind, Some(ProbeType::Startup));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"properties":{"scaleConfiguration":{"maxConcurrentSessions":"ten"}}}),
                "properties.scaleConfiguration.maxConcurrentSessions",
                "InvalidRequestContent",
            ),
            (
                json!({"properties":{"containerType":"Java"}}),
                "properties.containerType",
                "InvalidParameter",
            ),
            (
                json!({"properties":{"secrets":[{"name":"a"},{"value":"x"}]}}),
                "properties.secrets[1].name",
                "InvalidParameter",
            ),
            (
                json!({"properties":{"customContainerTemplate":{"containers":[{"name":"a","probes":[{"httpGet":{"port":"80"}}]}]}}}),
                "properties.customContainerTemplate.containers[0].probes[0].httpGet.port",
                "InvalidRequestContent",
            ),
            (json!({"tags":{"a":1}}), "tags.a", "InvalidRequestContent"),
            (
                json!({"identity":{"type":"Both"}}),
                "identity.type",
                "InvalidParameter",
            ),
            (
                json!({"properties":[]}),
                "properties",
                "InvalidRequestContent",
            ),
            (json!("x"), "body", "InvalidRequestContent"),
        ];
        for (body, target, code) in cases {
            let e = parse_pool(&body, ApiVersion::CANONICAL).unwrap_err();
            assert_eq!(e.target.as_deref(), Some(target), "{body}: {e}");
            assert_eq!(e.code, code, "{body}");
        }
    }
}
