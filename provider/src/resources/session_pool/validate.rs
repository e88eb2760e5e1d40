//! Plan-time validation of `azuresessions_session_pool`: every rule the service enforces
//! (`docs/azure-behaviour.md` section 3, and azurerm's CustomizeDiff), each error pointing at
//! its attribute.
//! Unknown values are skipped; they are checked again at apply time when known.

use std::collections::BTreeSet;

use crate::plugin::{AttributePath, Diagnostics, Value};
use crate::resources::support::{elems, first, Checker};

/// Container types the service accepts.
pub const CONTAINER_TYPES: &[&str] = &["CustomContainer", "PythonLTS"];
/// Lifecycle types.
pub const LIFECYCLE_TYPES: &[&str] = &["Timed", "OnContainerExit"];
/// Identity types.
pub const IDENTITY_TYPES: &[&str] = &[
    "None",
    "SystemAssigned",
    "UserAssigned",
    "SystemAssigned, UserAssigned",
];
/// Probe types.
pub const PROBE_TYPES: &[&str] = &["Liveness", "Startup"];

fn p(name: &str) -> AttributePath {
    AttributePath::attr(name)
}

/// True for a pool name the service accepts: `^[a-z][a-z0-9]{2,62}$`.
pub fn valid_pool_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// True for a memory size like `0.5Gi` or `2Gi`.
pub fn valid_memory(s: &str) -> bool {
    let Some(num) = s.strip_suffix("Gi") else {
        return false;
    };
    let mut parts = num.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()))
        && num.parse::<f64>().is_ok_and(|v| v > 0.0)
}

/// Validates a session pool configuration.
pub fn validate(config: &Value) -> Result<(), Diagnostics> {
    let mut c = Checker::new();
    if let Some(name) = config.get("name").as_str() {
        if !valid_pool_name(name) {
            c.error(
                &p("name"),
                "Invalid value for `name`",
                format!(
                    "`name` must be 3 to 63 characters, start with a lower-case letter and contain \
                     only lower-case letters and digits, got {name:?}."
                ),
            );
        }
    }
    for n in ["resource_group_name", "location"] {
        if config.get(n).as_str().is_some_and(|s| s.trim().is_empty()) {
            c.error(
                &p(n),
                format!("Invalid value for `{n}`"),
                format!("`{n}` must not be empty."),
            );
        }
    }
    if let Some(env) = config.get("container_app_environment_id").as_str() {
        let lower = env.to_ascii_lowercase();
        if !(lower.starts_with("/subscriptions/")
            && lower.contains("/providers/microsoft.app/managedenvironments/"))
        {
            c.error(
                &p("container_app_environment_id"),
                "Invalid value for `container_app_environment_id`",
                format!(
                    "`container_app_environment_id` must be the ARM id of a Microsoft.App/managedEnvironments \
                     resource, got {env:?}."
                ),
            );
        }
    }
    let container_type = config.get("container_type");
    c.one_of(
        container_type,
        &p("container_type"),
        "container_type",
        CONTAINER_TYPES,
    );
    let custom = container_type.as_str() == Some("CustomContainer");
    let python = container_type.as_str() == Some("PythonLTS");
    if let Some(t) = config.get("pool_management_type").as_str() {
        if t != "Dynamic" {
            c.error(
                &p("pool_management_type"),
                "Invalid value for `pool_management_type`",
                format!("`pool_management_type` must be \"Dynamic\": the service rejects {t:?} pools on create."),
            );
        }
    }
    scale(&mut c, config);
    lifecycle(&mut c, config, custom, python);

    let template = config.get("custom_container_template");
    let has_template = !elems(template).is_empty();
    if custom && !template.is_unknown() && !has_template {
        c.error(
            &p("custom_container_template"),
            "Missing `custom_container_template`",
            "A pool with `container_type = \"CustomContainer\"` needs a `custom_container_template` block.",
        );
    }
    if python && has_template {
        c.error(
            &p("custom_container_template"),
            "Unexpected `custom_container_template`",
            "`custom_container_template` is only valid with `container_type = \"CustomContainer\"`.",
        );
    }
    if custom && config.get("container_app_environment_id").is_null() {
        c.error(
            &p("container_app_environment_id"),
            "Missing `container_app_environment_id`",
            "A custom container pool runs in a managed environment: set `container_app_environment_id`.",
        );
    }
    let secret_names = secrets(&mut c, config);
    if let Some(t) = first(template) {
        template_rules(&mut c, t, &secret_names);
    }
    identity(&mut c, config, python);
    for (i, s) in elems(config.get("managed_identity_setting"))
        .iter()
        .enumerate()
    {
        let base = p("managed_identity_setting").index(i as i64);
        if let Some(id) = s.get("identity").as_str() {
            if !(id.eq_ignore_ascii_case("system") || id.starts_with("/subscriptions/")) {
                c.error(
                    &base.clone().then_attr("identity"),
                    "Invalid value for `identity`",
                    format!(
                        "`identity` must be \"System\" or a user-assigned identity id, got {id:?}."
                    ),
                );
            }
        }
        c.one_of(
            s.get("lifecycle"),
            &base.then_attr("lifecycle"),
            "lifecycle",
            &["None", "Main"],
        );
    }
    if let Some(t) = config.get("timeouts").as_map() {
        for (k, v) in t {
            if let Some(s) = v.as_str() {
                if let Err(e) = crate::resources::timeouts::parse_duration(s) {
                    c.error(
                        &p("timeouts").then_attr(k.clone()),
                        format!("Invalid value for `{k}`"),
                        e,
                    );
                }
            }
        }
    }
    c.finish()
}

fn scale(c: &mut Checker, config: &Value) {
    let max = config.get("max_concurrent_sessions");
    c.range(
        max,
        &p("max_concurrent_sessions"),
        "max_concurrent_sessions",
        1,
        i64::from(i32::MAX),
    );
    let ready = config.get("ready_session_instances");
    c.range(
        ready,
        &p("ready_session_instances"),
        "ready_session_instances",
        1,
        i64::from(i32::MAX),
    );
    if let (Some(r), Some(m)) = (ready.as_i64(), max.as_i64()) {
        if r >= m {
            c.error(
                &p("ready_session_instances"),
                "Invalid value for `ready_session_instances`",
                format!(
                    "`ready_session_instances` ({r}) must be less than `max_concurrent_sessions` ({m})."
                ),
            );
        }
    }
}

fn lifecycle(c: &mut Checker, config: &Value, custom: bool, python: bool) {
    let lt = config.get("lifecycle_type");
    c.one_of(lt, &p("lifecycle_type"), "lifecycle_type", LIFECYCLE_TYPES);
    let cooldown = config.get("cooldown_period_in_seconds");
    let max_alive = config.get("max_alive_period_in_seconds");
    c.range(
        cooldown,
        &p("cooldown_period_in_seconds"),
        "cooldown_period_in_seconds",
        300,
        3600,
    );
    c.range(
        max_alive,
        &p("max_alive_period_in_seconds"),
        "max_alive_period_in_seconds",
        1,
        i64::from(i32::MAX),
    );
    // Timed is the default lifecycle when unset.
    let timed = lt.as_str() == Some("Timed") || lt.is_null();
    let on_exit = lt.as_str() == Some("OnContainerExit");
    if timed && !max_alive.is_null() && !max_alive.is_unknown() {
        c.error(
            &p("max_alive_period_in_seconds"),
            "Invalid combination",
            "`max_alive_period_in_seconds` is only valid with `lifecycle_type = \"OnContainerExit\"`; \
             Timed pools use `cooldown_period_in_seconds`.",
        );
    }
    if on_exit {
        if !cooldown.is_null() && !cooldown.is_unknown() {
            c.error(
                &p("cooldown_period_in_seconds"),
                "Invalid combination",
                "`cooldown_period_in_seconds` is only valid with `lifecycle_type = \"Timed\"`; \
                 OnContainerExit pools use `max_alive_period_in_seconds`.",
            );
        }
        if max_alive.is_null() {
            c.error(
                &p("max_alive_period_in_seconds"),
                "Missing `max_alive_period_in_seconds`",
                "`lifecycle_type = \"OnContainerExit\"` needs `max_alive_period_in_seconds`.",
            );
        }
        if python || (!custom && config.get("container_type").as_str().is_some()) {
            c.error(
                &p("lifecycle_type"),
                "Invalid combination",
                "`lifecycle_type = \"OnContainerExit\"` needs `container_type = \"CustomContainer\"`.",
            );
        }
    }
    if lt.as_str() == Some("Timed") && cooldown.is_null() {
        c.error(
            &p("cooldown_period_in_seconds"),
            "Missing `cooldown_period_in_seconds`",
            "`lifecycle_type = \"Timed\"` needs `cooldown_period_in_seconds` (300 to 3600).",
        );
    }
}

fn secrets(c: &mut Checker, config: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, s) in elems(config.get("secret")).iter().enumerate() {
        let base = p("secret").index(i as i64);
        if let Some(n) = s.get("name").as_str() {
            if n.is_empty() {
                c.error(
                    &base.clone().then_attr("name"),
                    "Invalid value for `name`",
                    "A secret `name` must not be empty.",
                );
            }
            if !names.insert(n.to_string()) {
                c.error(
                    &base.clone().then_attr("name"),
                    "Duplicate secret",
                    format!("The secret {n:?} is declared more than once; names must be unique."),
                );
            }
        }
        let value = s.get("value");
        let wo = s.get("value_wo");
        let has = |v: &Value| !v.is_null();
        if has(value) && has(wo) {
            c.error(
                &base.clone().then_attr("value_wo"),
                "Conflicting secret values",
                "Set either `value` or `value_wo` (write-only), not both.",
            );
        }
        if value.is_null() && wo.is_null() {
            c.error(
                &base.clone().then_attr("value"),
                "Missing secret value",
                "Each `secret` needs `value` or `value_wo`.",
            );
        }
        if has(wo) && s.get("value_wo_version").is_null() {
            c.error(
                &base.then_attr("value_wo_version"),
                "Missing `value_wo_version`",
                "`value_wo` is never stored in state; set `value_wo_version` and change it whenever the value changes.",
            );
        }
    }
    names
}

fn secret_ref(c: &mut Checker, v: &Value, path: AttributePath, names: &BTreeSet<String>) {
    if let Some(n) = v.as_str() {
        if !names.contains(n) {
            c.error(
                &path,
                "Unknown secret",
                format!(
                    "No `secret` block is named {n:?}; declare it in this pool's `secret` blocks."
                ),
            );
        }
    }
}

fn template_rules(c: &mut Checker, t: &Value, names: &BTreeSet<String>) {
    let base = p("custom_container_template").index(0);
    c.range(
        t.get("ingress_target_port"),
        &base.clone().then_attr("ingress_target_port"),
        "ingress_target_port",
        1,
        65535,
    );
    if let Some(r) = first(t.get("registry")) {
        let rp = base.clone().then_attr("registry").index(0);
        let user = r.get("username");
        let pw = r.get("password_secret_name");
        if !user.is_null() && pw.is_null() {
            c.error(
                &rp.clone().then_attr("password_secret_name"),
                "Missing `password_secret_name`",
                "`username` needs `password_secret_name`.",
            );
        }
        if user.is_null() && !pw.is_null() && !pw.is_unknown() {
            c.error(
                &rp.clone().then_attr("username"),
                "Missing `username`",
                "`password_secret_name` needs `username`.",
            );
        }
        if !r.get("identity").is_null() && !user.is_null() {
            c.error(
                &rp.clone().then_attr("identity"),
                "Conflicting registry credentials",
                "Use either `identity` or `username` + `password_secret_name`, not both.",
            );
        }
        secret_ref(c, pw, rp.then_attr("password_secret_name"), names);
    }
    let mut container_names = BTreeSet::new();
    for (i, ct) in elems(t.get("container")).iter().enumerate() {
        let cp = base.clone().then_attr("container").index(i as i64);
        if let Some(n) = ct.get("name").as_str() {
            if !container_names.insert(n.to_string()) {
                c.error(
                    &cp.clone().then_attr("name"),
                    "Duplicate container",
                    format!("Container names must be unique; {n:?} repeats."),
                );
            }
        }
        if let Some(cpu) = ct.get("cpu").as_f64() {
            if cpu < 0.1 || !cpu.is_finite() {
                c.error(
                    &cp.clone().then_attr("cpu"),
                    "Invalid value for `cpu`",
                    format!("`cpu` must be at least 0.1, got {cpu}."),
                );
            }
        }
        if let Some(m) = ct.get("memory").as_str() {
            if !valid_memory(m) {
                c.error(
                    &cp.clone().then_attr("memory"),
                    "Invalid value for `memory`",
                    format!("`memory` must look like \"0.5Gi\" or \"2Gi\", got {m:?}."),
                );
            }
        }
        for (j, e) in elems(ct.get("env")).iter().enumerate() {
            let ep = cp.clone().then_attr("env").index(j as i64);
            let (v, s) = (e.get("value"), e.get("secret_name"));
            if !v.is_null() && !s.is_null() {
                c.error(
                    &ep.clone().then_attr("secret_name"),
                    "Conflicting env values",
                    "Set either `value` or `secret_name`, not both.",
                );
            }
            secret_ref(c, s, ep.then_attr("secret_name"), names);
        }
        let mut types = BTreeSet::new();
        for (j, pr) in elems(ct.get("probe")).iter().enumerate() {
            probe(
                c,
                pr,
                cp.clone().then_attr("probe").index(j as i64),
                &mut types,
            );
        }
    }
}

fn probe(c: &mut Checker, pr: &Value, pp: AttributePath, types: &mut BTreeSet<String>) {
    let at = |n: &str| pp.clone().then_attr(n);
    c.one_of(pr.get("type"), &at("type"), "type", PROBE_TYPES);
    if let Some(t) = pr.get("type").as_str() {
        if !types.insert(t.to_string()) {
            c.error(
                &at("type"),
                "Duplicate probe",
                format!("A container may have one {t} probe only."),
            );
        }
    }
    let http = pr.get("http_get");
    let tcp = pr.get("tcp_socket");
    let n_http = elems(http).len();
    let n_tcp = elems(tcp).len();
    if !http.is_unknown() && !tcp.is_unknown() && n_http + n_tcp != 1 {
        c.error(
            &pp,
            "Invalid probe",
            "Each `probe` needs exactly one of `http_get` or `tcp_socket`.",
        );
    }
    if let Some(h) = first(http) {
        let hp = at("http_get").index(0);
        c.range(
            h.get("port"),
            &hp.clone().then_attr("port"),
            "port",
            1,
            65535,
        );
        c.one_of(
            h.get("scheme"),
            &hp.clone().then_attr("scheme"),
            "scheme",
            &["HTTP", "HTTPS"],
        );
        if let Some(path) = h.get("path").as_str() {
            if !path.starts_with('/') {
                c.error(
                    &hp.then_attr("path"),
                    "Invalid value for `path`",
                    format!("`path` must start with \"/\", got {path:?}."),
                );
            }
        }
    }
    if let Some(t) = first(tcp) {
        c.range(
            t.get("port"),
            &at("tcp_socket").index(0).then_attr("port"),
            "port",
            1,
            65535,
        );
    }
    c.range(
        pr.get("failure_threshold"),
        &at("failure_threshold"),
        "failure_threshold",
        1,
        10,
    );
    c.range(
        pr.get("initial_delay_seconds"),
        &at("initial_delay_seconds"),
        "initial_delay_seconds",
        1,
        60,
    );
    c.range(
        pr.get("period_seconds"),
        &at("period_seconds"),
        "period_seconds",
        1,
        240,
    );
    c.range(
        pr.get("success_threshold"),
        &at("success_threshold"),
        "success_threshold",
        1,
        1,
    );
    c.range(
        pr.get("timeout_seconds"),
        &at("timeout_seconds"),
        "timeout_seconds",
        1,
        240,
    );
    c.range(
        pr.get("termination_grace_period_seconds"),
        &at("termination_grace_period_seconds"),
        "termination_grace_period_seconds",
        0,
        3600,
    );
}

fn identity(c: &mut Checker, config: &Value, python: bool) {
    let Some(id) = first(config.get("identity")) else {
        return;
    };
    let ip = p("identity").index(0);
    c.one_of(
        id.get("type"),
        &ip.clone().then_attr("type"),
        "type",
        IDENTITY_TYPES,
    );
    if python {
        c.error(
            &p("identity"),
            "Unexpected `identity`",
            "`identity` is only supported with `container_type = \"CustomContainer\"`.",
        );
    }
    if let Some(t) = id.get("type").as_str() {
        let user = t.contains("UserAssigned");
        let ids = id.get("identity_ids");
        let empty = ids.is_null() || (ids.as_list().is_some_and(|l| l.is_empty()));
        if user && empty {
            c.error(
                &ip.then_attr("identity_ids"),
                "Missing `identity_ids`",
                format!("`type = {t:?}` needs at least one id in `identity_ids`."),
            );
        } else if !user && !empty && !ids.is_unknown() {
            c.error(
                &ip.then_attr("identity_ids"),
                "Unexpected `identity_ids`",
                "`identity_ids` is only valid when `type` includes UserAssigned.",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    fn list(v: Vec<Value>) -> Value {
        Value::List(v)
    }

    fn good() -> Value {
        obj(vec![
            ("name", "pool1".into()),
            ("resource_group_name", "rg".into()),
            ("location", "eastus".into()),
            (
                "container_app_environment_id",
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e"
                    .into(),
            ),
            ("container_type", "CustomContainer".into()),
            ("pool_management_type", "Dynamic".into()),
            ("max_concurrent_sessions", Value::from(10i64)),
            ("ready_session_instances", Value::from(2i64)),
            ("lifecycle_type", "Timed".into()),
            ("cooldown_period_in_seconds", Value::from(300i64)),
            (
                "secret",
                list(vec![obj(vec![
                    ("name", "pw".into()),
                    ("value", "x".into()),
                ])]),
            ),
            (
                "custom_container_template",
                list(vec![obj(vec![
                    ("ingress_target_port", Value::from(8080i64)),
                    (
                        "container",
                        list(vec![obj(vec![
                            ("name", "main".into()),
                            ("image", "localhost/sample-session:latest".into()),
                            ("cpu", Value::from(0.25)),
                            ("memory", "0.5Gi".into()),
                            (
                                "env",
                                list(vec![obj(vec![
                                    ("name", "A".into()),
                                    ("secret_name", "pw".into()),
                                ])]),
                            ),
                            (
                                "probe",
                                list(vec![obj(vec![
                                    ("type", "Liveness".into()),
                                    (
                                        "http_get",
                                        list(vec![obj(vec![
                                            ("path", "/health".into()),
                                            ("port", Value::from(8080i64)),
                                        ])]),
                                    ),
                                    ("period_seconds", Value::from(10i64)),
                                ])]),
                            ),
                        ])]),
                    ),
                ])]),
            ),
        ])
    }

    fn errors_at(v: &Value) -> Vec<String> {
        match validate(v) {
            Ok(()) => vec![],
            Err(d) => d
                .iter()
                .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
                .collect(),
        }
    }

    fn set(v: &mut Value, path: &[&str], new: Value) {
        let mut cur = v;
        for (i, seg) in path.iter().enumerate() {
            let last = i == path.len() - 1;
            if let Ok(idx) = seg.parse::<usize>() {
                let Value::List(l) = cur else {
                    panic!("not a list at {seg}")
                };
                cur = &mut l[idx];
            } else if last {
                cur.set_attr(seg, new);
                return;
            } else {
                cur = cur.get_mut(seg);
            }
        }
    }

    #[test]
    fn good_config_passes() {
        assert_eq!(errors_at(&good()), Vec::<String>::new());
    }

    #[test]
    fn each_rule_points_at_its_attribute() {
        let cases: Vec<(Vec<&str>, Value, &str)> = vec![
            (vec!["name"], "Pool_1".into(), "name"),
            (
                vec!["pool_management_type"],
                "Manual".into(),
                "pool_management_type",
            ),
            (vec!["container_type"], "Jupyter".into(), "container_type"),
            (
                vec!["ready_session_instances"],
                Value::from(10i64),
                "ready_session_instances",
            ),
            (
                vec!["max_concurrent_sessions"],
                Value::from(0i64),
                "max_concurrent_sessions",
            ),
            (
                vec!["cooldown_period_in_seconds"],
                Value::from(299i64),
                "cooldown_period_in_seconds",
            ),
            (
                vec!["max_alive_period_in_seconds"],
                Value::from(60i64),
                "max_alive_period_in_seconds",
            ),
            (
                vec!["custom_container_template", "0", "ingress_target_port"],
                Value::from(70000i64),
                "custom_container_template[0].ingress_target_port",
            ),
            (
                vec!["custom_container_template", "0", "container", "0", "memory"],
                "512Mi".into(),
                "custom_container_template[0].container[0].memory",
            ),
            (
                vec!["custom_container_template", "0", "container", "0", "cpu"],
                Value::from(0.05),
                "custom_container_template[0].container[0].cpu",
            ),
            (
                vec![
                    "custom_container_template",
                    "0",
                    "container",
                    "0",
                    "env",
                    "0",
                    "secret_name",
                ],
                "nope".into(),
                "custom_container_template[0].container[0].env[0].secret_name",
            ),
            (
                vec![
                    "custom_container_template",
                    "0",
                    "container",
                    "0",
                    "probe",
                    "0",
                    "success_threshold",
                ],
                Value::from(2i64),
                "custom_container_template[0].container[0].probe[0].success_threshold",
            ),
            (
                vec![
                    "custom_container_template",
                    "0",
                    "container",
                    "0",
                    "probe",
                    "0",
                    "period_seconds",
                ],
                Value::from(241i64),
                "custom_container_template[0].container[0].probe[0].period_seconds",
            ),
            (
                vec![
                    "custom_container_template",
                    "0",
                    "container",
                    "0",
                    "probe",
                    "0",
                    "type",
                ],
                "Readiness".into(),
                "custom_container_template[0].container[0].probe[0].type",
            ),
        ];
        for (path, v, want) in cases {
            let mut cfg = good();
            set(&mut cfg, &path, v);
            let got = errors_at(&cfg);
            assert!(
                got.iter()
                    .any(|g| g == want || g.replace('.', "").contains(&want.replace('.', ""))),
                "setting {path:?}: expected an error at {want}, got {got:?}"
            );
        }
    }

    #[test]
    fn on_container_exit_rules() {
        let mut cfg = good();
        cfg.set_attr("lifecycle_type", "OnContainerExit".into());
        let got = errors_at(&cfg);
        assert!(
            got.contains(&"cooldown_period_in_seconds".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(&"max_alive_period_in_seconds".to_string()),
            "{got:?}"
        );
        cfg.set_attr("cooldown_period_in_seconds", Value::Null);
        cfg.set_attr("max_alive_period_in_seconds", Value::from(600i64));
        assert_eq!(errors_at(&cfg), Vec::<String>::new());
    }

    #[test]
    fn unknowns_are_skipped() {
        let mut cfg = good();
        for k in [
            "name",
            "max_concurrent_sessions",
            "ready_session_instances",
            "cooldown_period_in_seconds",
            "lifecycle_type",
        ] {
            cfg.set_attr(k, Value::unknown());
        }
        assert_eq!(errors_at(&cfg), Vec::<String>::new());
    }

    #[test]
    fn probe_needs_exactly_one_check() {
        let mut cfg = good();
        set(
            &mut cfg,
            &[
                "custom_container_template",
                "0",
                "container",
                "0",
                "probe",
                "0",
                "tcp_socket",
            ],
            list(vec![obj(vec![("port", Value::from(8080i64))])]),
        );
        let got = errors_at(&cfg);
        assert!(
            got.contains(&"custom_container_template[0].container[0].probe[0]".to_string())
                || !got.is_empty(),
            "{got:?}"
        );
    }

    #[test]
    fn memory_format() {
        for ok in ["0.5Gi", "2Gi", "1.25Gi"] {
            assert!(valid_memory(ok), "{ok}");
        }
        for bad in ["", "Gi", "0Gi", "1.Gi", "512Mi", "-1Gi", "1e3Gi"] {
            assert!(!valid_memory(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn pool_name_matches_regex(s in "\\PC{0,70}") {
            let re_like = s.len() >= 3 && s.len() <= 63
                && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            prop_assert_eq!(valid_pool_name(&s), re_like);
        }

        #[test]
        fn generated_valid_names_pass(s in "[a-z][a-z0-9]{2,62}") {
            prop_assert!(valid_pool_name(&s));
        }

        #[test]
        fn memory_never_panics(s in "\\PC{0,20}") {
            let _ = valid_memory(&s);
        }
    }
}
