//! ARM answer (`SessionPool`) -> Terraform state, normalised like azurerm: values that only
//! differ in spelling from the prior state (case, `System`/`system`, location `East US` vs
//! `eastus`, identity type spacing) keep the prior form; service defaults the user did not set
//! stay null; secrets keep their prior values because the service never returns them.

use crate::azure::ids::ids_equal;
use crate::azure::models::session_pool as m;
use crate::plugin::Value;
use crate::resources::support::{elems, first};

use super::expand::arm_identity_type;

/// Probe fields the service fills with a default when unset: `(attribute, default)`.
const PROBE_DEFAULTS: &[(&str, i64)] = &[
    ("failure_threshold", 3),
    ("period_seconds", 10),
    ("success_threshold", 1),
    ("timeout_seconds", 1),
];

/// Normalises a location: `East US` -> `eastus`.
pub fn normalize_location(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn str_or(prior: &Value, remote: Option<&str>, same: impl Fn(&str, &str) -> bool) -> Value {
    match remote {
        None => Value::Null,
        Some(r) => match prior.as_str() {
            Some(p) if same(p, r) => prior.clone(),
            _ => Value::from(r),
        },
    }
}

fn ci(prior: &Value, remote: Option<&str>) -> Value {
    str_or(prior, remote, |a, b| a.eq_ignore_ascii_case(b))
}

fn exact(remote: Option<&str>) -> Value {
    remote.map(Value::from).unwrap_or(Value::Null)
}

fn int(remote: Option<i64>) -> Value {
    remote.map(Value::from).unwrap_or(Value::Null)
}

/// Drops a service default the user did not set (prior null) so plans stay empty.
fn int_default(prior: &Value, remote: Option<i64>, default: i64) -> Value {
    match remote {
        Some(d) if d == default && prior.is_null() => Value::Null,
        r => int(r),
    }
}

fn list_or_null(prior: &Value, remote: Option<&Vec<String>>) -> Value {
    match remote {
        Some(v) if !v.is_empty() => {
            Value::List(v.iter().map(|s| Value::from(s.as_str())).collect())
        }
        Some(_) if !prior.is_null() => Value::List(vec![]),
        _ => Value::Null,
    }
}

/// Builds the state from the service's answer. `prior` is the current state (read), the
/// planned state (apply) or an import stub; `id`, `name`, `resource_group_name` come from the
/// caller because the answer's spelling of them may differ.
pub fn flatten(remote: &m::SessionPool, prior: &Value, id: &str, name: &str, rg: &str) -> Value {
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
        Some(t) if !t.is_empty() => Value::Map(
            t.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        ),
        Some(_) if !prior.get("tags").is_null() => Value::Map(Default::default()),
        _ => Value::Null,
    };
    let id_value = match prior.get("id").as_str() {
        Some(pid) if ids_equal(pid, id) => prior.get("id").clone(),
        _ => Value::from(id),
    };
    Value::object([
        ("id", id_value),
        ("name", str_or(prior.get("name"), Some(name), |a, b| a == b)),
        (
            "resource_group_name",
            ci(prior.get("resource_group_name"), Some(rg)),
        ),
        (
            "location",
            str_or(prior.get("location"), remote.location.as_deref(), |a, b| {
                normalize_location(a) == normalize_location(b)
            }),
        ),
        (
            "container_app_environment_id",
            str_or(
                prior.get("container_app_environment_id"),
                p.environment_id.as_deref(),
                ids_equal,
            ),
        ),
        (
            "container_type",
            ci(prior.get("container_type"), p.container_type.as_deref()),
        ),
        (
            "pool_management_type",
            ci(
                prior.get("pool_management_type"),
                p.pool_management_type.as_deref(),
            ),
        ),
        (
            "max_concurrent_sessions",
            int(scale.max_concurrent_sessions),
        ),
        (
            "ready_session_instances",
            int(scale.ready_session_instances),
        ),
        (
            "lifecycle_type",
            ci(prior.get("lifecycle_type"), lc.lifecycle_type.as_deref()),
        ),
        (
            "cooldown_period_in_seconds",
            int(lc.cooldown_period_in_seconds),
        ),
        (
            "max_alive_period_in_seconds",
            int(lc.max_alive_period_in_seconds),
        ),
        ("network_egress_enabled", Value::from(egress)),
        ("tags", tags),
        (
            "pool_management_endpoint",
            exact(p.pool_management_endpoint.as_deref()),
        ),
        ("node_count", int(p.node_count)),
        ("provisioning_state", exact(p.provisioning_state.as_deref())),
        (
            "custom_container_template",
            Value::List(
                p.custom_container_template
                    .iter()
                    .map(|t| flatten_template(t, first(prior.get("custom_container_template"))))
                    .collect(),
            ),
        ),
        (
            "secret",
            flatten_secrets(p.secrets.as_ref(), prior.get("secret")),
        ),
        (
            "identity",
            flatten_identity(remote.identity.as_ref(), first(prior.get("identity"))),
        ),
        (
            "managed_identity_setting",
            flatten_mis(
                p.managed_identity_settings.as_ref(),
                prior.get("managed_identity_setting"),
            ),
        ),
        ("timeouts", prior.get("timeouts").clone()),
    ])
}

fn flatten_template(t: &m::CustomContainerTemplate, prior: Option<&Value>) -> Value {
    let null = Value::Null;
    let prior = prior.unwrap_or(&null);
    let prior_containers = elems(prior.get("container"));
    let containers: Vec<Value> = t
        .containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| flatten_container(c, prior_containers.get(i).unwrap_or(&null)))
        .collect();
    let registry: Vec<Value> = t
        .registry_credentials
        .iter()
        .filter(|r| r.server.is_some() || r.identity.is_some() || r.username.is_some())
        .map(|r| {
            let pr = first(prior.get("registry")).unwrap_or(&null);
            Value::object([
                ("server", ci(pr.get("server"), r.server.as_deref())),
                ("username", exact(r.username.as_deref())),
                (
                    "password_secret_name",
                    exact(r.password_secret_ref.as_deref()),
                ),
                (
                    "identity",
                    identity_ref(pr.get("identity"), r.identity.as_deref()),
                ),
            ])
        })
        .collect();
    Value::object([
        (
            "ingress_target_port",
            int(t.ingress.as_ref().and_then(|i| i.target_port)),
        ),
        ("container", Value::List(containers)),
        ("registry", Value::List(registry)),
    ])
}

/// `system` comes back as `System` (azurerm); ids compare case-insensitively.
fn identity_ref(prior: &Value, remote: Option<&str>) -> Value {
    match remote {
        Some(r) if r.eq_ignore_ascii_case("system") => ci(prior, Some("System")),
        Some(r) => str_or(prior, Some(r), ids_equal),
        None => Value::Null,
    }
}

fn flatten_container(c: &m::Container, prior: &Value) -> Value {
    let null = Value::Null;
    let res = c.resources.clone().unwrap_or_default();
    let cpu = match (res.cpu, prior.get("cpu").as_f64()) {
        (Some(r), Some(p)) if (r - p).abs() < 1e-9 => prior.get("cpu").clone(),
        (Some(r), _) => Value::from(r),
        (None, _) => Value::Null,
    };
    let prior_env = elems(prior.get("env"));
    let env: Vec<Value> = c
        .env
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, e)| {
            let _pe = prior_env.get(i).unwrap_or(&null);
            Value::object([
                ("name", exact(e.name.as_deref())),
                ("value", exact(e.value.as_deref())),
                ("secret_name", exact(e.secret_ref.as_deref())),
            ])
        })
        .collect();
    let prior_probes = elems(prior.get("probe"));
    let probes: Vec<Value> = c
        .probes
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, pr)| flatten_probe(pr, prior_probes.get(i).unwrap_or(&null)))
        .collect();
    Value::object([
        ("name", exact(c.name.as_deref())),
        ("image", exact(c.image.as_deref())),
        (
            "command",
            list_or_null(prior.get("command"), c.command.as_ref()),
        ),
        ("args", list_or_null(prior.get("args"), c.args.as_ref())),
        ("cpu", cpu),
        ("memory", ci(prior.get("memory"), res.memory.as_deref())),
        ("env", Value::List(env)),
        ("probe", Value::List(probes)),
    ])
}

fn flatten_probe(p: &m::Probe, prior: &Value) -> Value {
    let null = Value::Null;
    let http: Vec<Value> = p
        .http_get
        .iter()
        .map(|h| {
            let ph = first(prior.get("http_get")).unwrap_or(&null);
            let scheme = match h.scheme.as_deref() {
                Some(s) if s.eq_ignore_ascii_case("HTTP") && ph.get("scheme").is_null() => {
                    Value::Null
                }
                other => ci(ph.get("scheme"), other),
            };
            Value::object([
                ("path", exact(h.path.as_deref())),
                ("port", int(h.port)),
                ("scheme", scheme),
                ("host", exact(h.host.as_deref())),
                (
                    "http_header",
                    Value::List(
                        h.http_headers
                            .iter()
                            .flatten()
                            .map(|x| {
                                Value::object([
                                    ("name", Value::from(x.name.as_str())),
                                    ("value", Value::from(x.value.as_str())),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    let tcp: Vec<Value> = p
        .tcp_socket
        .iter()
        .map(|t| Value::object([("host", exact(t.host.as_deref())), ("port", int(t.port))]))
        .collect();
    let mut out = Value::object([
        ("type", ci(prior.get("type"), p.kind.as_deref())),
        ("initial_delay_seconds", int(p.initial_delay_seconds)),
        (
            "termination_grace_period_seconds",
            int(p.termination_grace_period_seconds),
        ),
        ("http_get", Value::List(http)),
        ("tcp_socket", Value::List(tcp)),
    ]);
    let remote = |k: &str| match k {
        "failure_threshold" => p.failure_threshold,
        "period_seconds" => p.period_seconds,
        "success_threshold" => p.success_threshold,
        _ => p.timeout_seconds,
    };
    for (k, d) in PROBE_DEFAULTS {
        out.set_attr(k, int_default(prior.get(k), remote(k), *d));
    }
    out
}

fn flatten_secrets(remote: Option<&Vec<m::Secret>>, prior: &Value) -> Value {
    let prior_list = elems(prior);
    let Some(remote) = remote else {
        // The service did not list secrets: keep what we know.
        return Value::List(prior_list.iter().map(null_write_only).collect());
    };
    let out: Vec<Value> = remote
        .iter()
        .filter_map(|s| s.name.as_deref())
        .map(|name| {
            prior_list
                .iter()
                .find(|p| p.get("name").as_str() == Some(name))
                .map(null_write_only)
                .unwrap_or_else(|| {
                    Value::object([
                        ("name", Value::from(name)),
                        ("value", Value::Null),
                        ("value_wo", Value::Null),
                        ("value_wo_version", Value::Null),
                    ])
                })
        })
        .collect();
    Value::List(out)
}

fn null_write_only(v: &Value) -> Value {
    let mut v = v.clone();
    v.set_attr("value_wo", Value::Null);
    v
}

fn flatten_identity(remote: Option<&m::ManagedServiceIdentity>, prior: Option<&Value>) -> Value {
    let null = Value::Null;
    let prior = prior.unwrap_or(&null);
    let Some(r) = remote else {
        return Value::List(vec![]);
    };
    let Some(kind) = r
        .kind
        .as_deref()
        .filter(|k| !k.eq_ignore_ascii_case("None"))
    else {
        return Value::List(vec![]);
    };
    let ty = str_or(prior.get("type"), Some(kind), |a, b| {
        arm_identity_type(a).eq_ignore_ascii_case(&arm_identity_type(b))
    });
    let remote_ids: Vec<String> = r
        .user_assigned_identities
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect();
    let prior_ids = elems(prior.get("identity_ids"));
    let ids = if remote_ids.is_empty() {
        Value::Null
    } else {
        Value::Set(
            remote_ids
                .iter()
                .map(|rid| {
                    prior_ids
                        .iter()
                        .find(|p| p.as_str().is_some_and(|p| ids_equal(p, rid)))
                        .cloned()
                        .unwrap_or_else(|| Value::from(rid.as_str()))
                })
                .collect(),
        )
    };
    Value::List(vec![Value::object([
        ("type", ty),
        ("identity_ids", ids),
        ("principal_id", exact(r.principal_id.as_deref())),
        ("tenant_id", exact(r.tenant_id.as_deref())),
    ])])
}

fn flatten_mis(remote: Option<&Vec<m::ManagedIdentitySetting>>, prior: &Value) -> Value {
    let null = Value::Null;
    let prior_list = elems(prior);
    Value::List(
        remote
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| {
                let p = prior_list.get(i).unwrap_or(&null);
                let lifecycle = match s.lifecycle.as_deref() {
                    Some(l) if l.eq_ignore_ascii_case("None") && p.get("lifecycle").is_null() => {
                        Value::Null
                    }
                    other => ci(p.get("lifecycle"), other),
                };
                Value::object([
                    (
                        "identity",
                        identity_ref(p.get("identity"), Some(&s.identity)),
                    ),
                    ("lifecycle", lifecycle),
                ])
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

    #[test]
    fn location_normalisation() {
        assert_eq!(normalize_location("East US"), "eastus");
        let v = str_or(&Value::from("East US"), Some("eastus"), |a, b| {
            normalize_location(a) == normalize_location(b)
        });
        assert_eq!(v, Value::from("East US"));
    }

    #[test]
    fn overlay_keeps_known_and_fills_unknown() {
        let planned = Value::object([("a", Value::from("x")), ("b", Value::unknown())]);
        let actual = Value::object([("a", Value::from("X")), ("b", Value::from(3i64))]);
        let out = overlay_known(&planned, actual);
        assert_eq!(out.get("a"), &Value::from("x"));
        assert_eq!(out.get("b"), &Value::from(3i64));
    }
}
