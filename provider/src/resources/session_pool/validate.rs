//! Plan-time validation of `azuresessions_session_pool`: every rule the service enforces
//! (the emulator's and Azure's checks, azurerm's CustomizeDiff), each error pointing at its
//! attribute. Unknown values are skipped; they are checked again at apply time, when known.
//!
//! Works on the typed model ([`SessionPool`]); attribute names in paths come from the model's
//! constants, so a renamed attribute cannot leave a stale path behind.

use std::collections::BTreeSet;

use super::model::{
    Container, CustomContainerTemplate, Env, HttpGet, HttpHeader, Identity, ManagedIdentitySetting,
    Probe, Registry, SessionPool, TcpSocket,
};
use crate::plugin::model::{Model, Tf};
use crate::plugin::{AttributePath, Diagnostics, Value};
use crate::resources::support::Checker;

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
/// Managed identity setting lifecycles.
pub const MIS_LIFECYCLES: &[&str] = &["None", "Main"];
/// Most sessions a pool may allow at once (the service's limit).
pub const MAX_CONCURRENT_SESSIONS: i64 = 600;
/// Most tags a resource may have.
pub const MAX_TAGS: usize = 50;

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

/// True for a secret name the service accepts: lower-case letters, digits, `-` and `.`,
/// starting and ending with a letter or digit, at most 253 characters.
pub fn valid_secret_name(n: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !n.is_empty()
        && n.len() <= 253
        && n.starts_with(ok)
        && n.ends_with(ok)
        && n.chars().all(|c| ok(c) || c == '-' || c == '.')
}

/// True for a container name the service accepts (a DNS label): 1-63 lower-case letters,
/// digits and `-`, starting and ending with a letter or digit.
pub fn valid_container_name(n: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=63).contains(&n.len())
        && n.starts_with(ok)
        && n.ends_with(ok)
        && n.chars().all(|c| ok(c) || c == '-')
}

/// True for `/subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}/{kind}/{name}`
/// (segment names match case-insensitively, as ARM ids do).
pub fn is_resource_id(id: &str, namespace: &str, kind: &str) -> bool {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let is = |i: usize, s: &str| parts.get(i).is_some_and(|x| x.eq_ignore_ascii_case(s));
    parts.len() == 9
        && parts[0].is_empty()
        && is(1, "subscriptions")
        && is(3, "resourceGroups")
        && is(5, "providers")
        && is(6, namespace)
        && is(7, kind)
        && [2, 4, 8].iter().all(|&i| !parts[i].is_empty())
}

/// True for a `Microsoft.ManagedIdentity/userAssignedIdentities` id.
pub fn is_user_identity_id(id: &str) -> bool {
    is_resource_id(id, "Microsoft.ManagedIdentity", "userAssignedIdentities")
}

/// Validates a session pool configuration value (decoding it first; a value of the wrong
/// kind is an error at its path).
pub fn validate(config: &Value) -> Result<(), Diagnostics> {
    let pool = SessionPool::from_value(config)?;
    check(&pool).finish()
}

/// Every rule, on the decoded configuration.
pub fn check(pool: &SessionPool) -> Checker {
    let mut c = Checker::new();
    if let Some(name) = pool.name.as_str() {
        if !valid_pool_name(name) {
            c.error(
                &p(SessionPool::NAME),
                "Invalid value for `name`",
                format!(
                    "`name` must be 3 to 63 characters, start with a lower-case letter and contain \
                     only lower-case letters and digits, got {name:?}."
                ),
            );
        }
    }
    for (n, v) in [
        (SessionPool::RESOURCE_GROUP_NAME, &pool.resource_group_name),
        (SessionPool::LOCATION, &pool.location),
    ] {
        if v.as_str().is_some_and(|s| s.trim().is_empty()) {
            c.error(
                &p(n),
                format!("Invalid value for `{n}`"),
                format!("`{n}` must not be empty."),
            );
        }
    }
    if let Some(env) = pool.container_app_environment_id.as_str() {
        if !is_resource_id(env, "Microsoft.App", "managedEnvironments") {
            c.error(
                &p(SessionPool::CONTAINER_APP_ENVIRONMENT_ID),
                "Invalid value for `container_app_environment_id`",
                format!(
                    "`container_app_environment_id` must be the ARM id of a Microsoft.App/managedEnvironments \
                     resource (/subscriptions/{{s}}/resourceGroups/{{rg}}/providers/Microsoft.App/managedEnvironments/{{name}}), got {env:?}."
                ),
            );
        }
    }
    c.one_of_tf(
        &pool.container_type,
        &p(SessionPool::CONTAINER_TYPE),
        SessionPool::CONTAINER_TYPE,
        CONTAINER_TYPES,
    );
    let custom = pool.container_type.as_str() == Some("CustomContainer");
    let python = pool.container_type.as_str() == Some("PythonLTS");
    if let Some(t) = pool.pool_management_type.as_str() {
        if t != "Dynamic" {
            c.error(
                &p(SessionPool::POOL_MANAGEMENT_TYPE),
                "Invalid value for `pool_management_type`",
                format!("`pool_management_type` must be \"Dynamic\": the service rejects {t:?} pools on create."),
            );
        }
    }
    scale(&mut c, pool, custom);
    lifecycle(&mut c, pool, custom, python);
    tags(&mut c, pool);

    let template = &pool.custom_container_template;
    let has_template = !template.items().is_empty();
    if custom && !template.is_unknown() && !has_template {
        c.error(
            &p(SessionPool::CUSTOM_CONTAINER_TEMPLATE),
            "Missing `custom_container_template`",
            "A pool with `container_type = \"CustomContainer\"` needs a `custom_container_template` block.",
        );
    }
    if python && has_template {
        c.error(
            &p(SessionPool::CUSTOM_CONTAINER_TEMPLATE),
            "Unexpected `custom_container_template`",
            "`custom_container_template` is only valid with `container_type = \"CustomContainer\"`.",
        );
    }
    if custom && pool.container_app_environment_id.is_null() {
        c.error(
            &p(SessionPool::CONTAINER_APP_ENVIRONMENT_ID),
            "Missing `container_app_environment_id`",
            "A custom container pool runs in a managed environment: set `container_app_environment_id`.",
        );
    }
    let secret_names = secrets(&mut c, pool);
    let ids = IdentityRefs::of(pool);
    if let Some(t) = template.first() {
        template_rules(&mut c, t, &secret_names, &ids);
    }
    identity(&mut c, pool, python);
    identity_settings(&mut c, pool, &ids);
    if let Tf::Known(t) = &pool.timeouts {
        for d in t.validate(&p(SessionPool::TIMEOUTS)) {
            c.push(d);
        }
    }
    c
}

fn scale(c: &mut Checker, pool: &SessionPool, custom: bool) {
    let max = &pool.max_concurrent_sessions;
    c.range_tf(
        max,
        &p(SessionPool::MAX_CONCURRENT_SESSIONS),
        SessionPool::MAX_CONCURRENT_SESSIONS,
        1,
        MAX_CONCURRENT_SESSIONS,
    );
    let ready = &pool.ready_session_instances;
    c.range_tf(
        ready,
        &p(SessionPool::READY_SESSION_INSTANCES),
        SessionPool::READY_SESSION_INSTANCES,
        i64::from(custom),
        i64::from(i32::MAX),
    );
    if let (Some(r), Some(m)) = (ready.known(), max.known()) {
        if r >= m {
            c.error(
                &p(SessionPool::READY_SESSION_INSTANCES),
                "Invalid value for `ready_session_instances`",
                format!(
                    "`ready_session_instances` ({r}{}) must be less than `max_concurrent_sessions` ({m}).",
                    if ready.is_null() { ", the default" } else { "" }
                ),
            );
        }
    }
}

fn lifecycle(c: &mut Checker, pool: &SessionPool, custom: bool, python: bool) {
    let lt = &pool.lifecycle_type;
    c.one_of_tf(
        lt,
        &p(SessionPool::LIFECYCLE_TYPE),
        SessionPool::LIFECYCLE_TYPE,
        LIFECYCLE_TYPES,
    );
    let cooldown = &pool.cooldown_period_in_seconds;
    let max_alive = &pool.max_alive_period_in_seconds;
    c.range_tf(
        cooldown,
        &p(SessionPool::COOLDOWN_PERIOD_IN_SECONDS),
        SessionPool::COOLDOWN_PERIOD_IN_SECONDS,
        300,
        3600,
    );
    c.range_tf(
        max_alive,
        &p(SessionPool::MAX_ALIVE_PERIOD_IN_SECONDS),
        SessionPool::MAX_ALIVE_PERIOD_IN_SECONDS,
        1,
        i64::from(i32::MAX),
    );
    // Timed is the default lifecycle when unset.
    let timed = lt.as_str() == Some("Timed") || lt.is_null();
    let on_exit = lt.as_str() == Some("OnContainerExit");
    if timed && max_alive.is_known() {
        c.error(
            &p(SessionPool::MAX_ALIVE_PERIOD_IN_SECONDS),
            "Invalid combination",
            "`max_alive_period_in_seconds` is only valid with `lifecycle_type = \"OnContainerExit\"`; \
             Timed pools use `cooldown_period_in_seconds`.",
        );
    }
    if on_exit {
        if cooldown.is_known() {
            c.error(
                &p(SessionPool::COOLDOWN_PERIOD_IN_SECONDS),
                "Invalid combination",
                "`cooldown_period_in_seconds` is only valid with `lifecycle_type = \"Timed\"`; \
                 OnContainerExit pools use `max_alive_period_in_seconds`.",
            );
        }
        if max_alive.is_null() {
            c.error(
                &p(SessionPool::MAX_ALIVE_PERIOD_IN_SECONDS),
                "Missing `max_alive_period_in_seconds`",
                "`lifecycle_type = \"OnContainerExit\"` needs `max_alive_period_in_seconds`.",
            );
        }
        if python || (!custom && pool.container_type.is_known()) {
            c.error(
                &p(SessionPool::LIFECYCLE_TYPE),
                "Invalid combination",
                "`lifecycle_type = \"OnContainerExit\"` needs `container_type = \"CustomContainer\"`.",
            );
        }
    }
}

fn tags(c: &mut Checker, pool: &SessionPool) {
    let Some(tags) = pool.tags.known() else {
        return;
    };
    let base = p(SessionPool::TAGS);
    if tags.len() > MAX_TAGS {
        c.error(
            &base,
            "Too many tags",
            format!(
                "`tags` has {} entries; at most {MAX_TAGS} are allowed.",
                tags.len()
            ),
        );
    }
    for (k, v) in tags {
        if k.is_empty() || k.len() > 512 {
            c.error(
                &base.clone().key(k),
                "Invalid tag name",
                format!("Tag names must be 1-512 characters, got {k:?}."),
            );
        }
        if v.as_str().is_some_and(|v| v.len() > 256) {
            c.error(
                &base.clone().key(k),
                "Invalid tag value",
                format!("The value of tag {k:?} is longer than 256 characters."),
            );
        }
    }
}

fn secrets(c: &mut Checker, pool: &SessionPool) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, s) in pool.secret.items().iter().enumerate() {
        let base = p(SessionPool::SECRET).index(i as i64);
        let at = |n: &str| base.clone().then_attr(n);
        if let Some(n) = s.name.as_str() {
            if !valid_secret_name(n) {
                c.error(
                    &at(super::model::Secret::NAME),
                    "Invalid value for `name`",
                    format!(
                        "A secret `name` must be lower-case letters, digits, '-' and '.', starting \
                         and ending with a letter or digit, at most 253 characters, got {n:?}."
                    ),
                );
            }
            if !names.insert(n.to_string()) {
                c.error(
                    &at(super::model::Secret::NAME),
                    "Duplicate secret",
                    format!("The secret {n:?} is declared more than once; names must be unique."),
                );
            }
        }
        if !s.value.is_null() && !s.value_wo.is_null() {
            c.error(
                &at(super::model::Secret::VALUE_WO),
                "Conflicting secret values",
                "Set either `value` or `value_wo` (write-only), not both.",
            );
        }
        if !s.value_wo.is_null() && s.value_wo_version.is_null() {
            c.error(
                &at(super::model::Secret::VALUE_WO_VERSION),
                "Missing `value_wo_version`",
                "`value_wo` is never stored in state; set `value_wo_version` and change it whenever the value changes.",
            );
        }
    }
    names
}

/// Which identities the pool has (for checking references to them).
struct IdentityRefs {
    /// Unknown identity configuration: references cannot be checked yet.
    unknown: bool,
    system: bool,
    user: Vec<String>,
}

impl IdentityRefs {
    fn of(pool: &SessionPool) -> IdentityRefs {
        let unknown = pool.identity.is_unknown()
            || pool
                .identity
                .items()
                .iter()
                .any(|i| i.r#type.is_unknown() || i.identity_ids.is_unknown());
        let id = pool.identity.first();
        let kind = id.and_then(|i| i.r#type.as_str()).unwrap_or("None");
        IdentityRefs {
            unknown,
            system: kind.contains("SystemAssigned"),
            user: id
                .and_then(|i| i.identity_ids.known())
                .map(|ids| ids.known_items().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// Checks a reference (`System` or a user-assigned identity id) at `path`.
    fn check(&self, c: &mut Checker, value: &str, path: &AttributePath, name: &str) {
        if value.eq_ignore_ascii_case("system") {
            if !self.unknown && !self.system {
                c.error(
                    path,
                    format!("Invalid value for `{name}`"),
                    format!("`{name}` is {value:?} but the pool has no system-assigned identity: set `identity {{ type = \"SystemAssigned\" }}`."),
                );
            }
            return;
        }
        if !is_user_identity_id(value) {
            c.error(
                path,
                format!("Invalid value for `{name}`"),
                format!("`{name}` must be \"System\" or a user-assigned identity id (/subscriptions/{{s}}/resourceGroups/{{rg}}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{{name}}), got {value:?}."),
            );
        } else if !self.unknown && !self.user.iter().any(|u| u.eq_ignore_ascii_case(value)) {
            c.error(
                path,
                format!("Invalid value for `{name}`"),
                format!("`{name}` {value:?} is not one of the pool's `identity.identity_ids`; add it there."),
            );
        }
    }
}

fn secret_ref(c: &mut Checker, v: &Tf<String>, path: AttributePath, names: &BTreeSet<String>) {
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

fn template_rules(
    c: &mut Checker,
    t: &CustomContainerTemplate,
    names: &BTreeSet<String>,
    ids: &IdentityRefs,
) {
    let base = p(SessionPool::CUSTOM_CONTAINER_TEMPLATE).index(0);
    c.range_tf(
        &t.ingress_target_port,
        &base
            .clone()
            .then_attr(CustomContainerTemplate::INGRESS_TARGET_PORT),
        CustomContainerTemplate::INGRESS_TARGET_PORT,
        1,
        65535,
    );
    if let Some(r) = t.registry.first() {
        registry(
            c,
            r,
            base.clone()
                .then_attr(CustomContainerTemplate::REGISTRY)
                .index(0),
            names,
            ids,
        );
    }
    let mut container_names = BTreeSet::new();
    for (i, ct) in t.container.items().iter().enumerate() {
        let cp = base
            .clone()
            .then_attr(CustomContainerTemplate::CONTAINER)
            .index(i as i64);
        container(c, ct, cp, names, &mut container_names);
    }
}

fn registry(
    c: &mut Checker,
    r: &Registry,
    rp: AttributePath,
    names: &BTreeSet<String>,
    ids: &IdentityRefs,
) {
    let at = |n: &str| rp.clone().then_attr(n);
    if r.server.as_str().is_some_and(|s| s.trim().is_empty()) {
        c.error(
            &at(Registry::SERVER),
            "Invalid value for `server`",
            "`server` must be a registry host name, e.g. myregistry.azurecr.io.",
        );
    }
    let (user, pw) = (&r.username, &r.password_secret_name);
    if user.is_known() && pw.is_null() && r.identity.is_null() {
        c.error(
            &at(Registry::PASSWORD_SECRET_NAME),
            "Missing `password_secret_name`",
            "`username` needs `password_secret_name`.",
        );
    }
    if user.is_null() && pw.is_known() {
        c.error(
            &at(Registry::USERNAME),
            "Missing `username`",
            "`password_secret_name` needs `username`.",
        );
    }
    if !r.identity.is_null() && !user.is_null() {
        c.error(
            &at(Registry::IDENTITY),
            "Conflicting registry credentials",
            "Use either `identity` or `username` + `password_secret_name`, not both.",
        );
    }
    if let Some(id) = r.identity.as_str() {
        ids.check(c, id, &at(Registry::IDENTITY), Registry::IDENTITY);
    }
    secret_ref(c, pw, at(Registry::PASSWORD_SECRET_NAME), names);
}

fn container(
    c: &mut Checker,
    ct: &Container,
    cp: AttributePath,
    names: &BTreeSet<String>,
    container_names: &mut BTreeSet<String>,
) {
    let at = |n: &str| cp.clone().then_attr(n);
    if let Some(n) = ct.name.as_str() {
        if !valid_container_name(n) {
            c.error(
                &at(Container::NAME),
                "Invalid value for `name`",
                format!("A container `name` must be 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit, got {n:?}."),
            );
        }
        if !container_names.insert(n.to_string()) {
            c.error(
                &at(Container::NAME),
                "Duplicate container",
                format!("Container names must be unique; {n:?} repeats."),
            );
        }
    }
    if ct.image.as_str().is_some_and(|s| s.trim().is_empty()) {
        c.error(
            &at(Container::IMAGE),
            "Invalid value for `image`",
            "`image` must not be empty: give an image reference such as myregistry.azurecr.io/app:v1.",
        );
    }
    if let Some(cpu) = ct.cpu.as_f64() {
        if !(0.1..=64.0).contains(&cpu) {
            c.error(
                &at(Container::CPU),
                "Invalid value for `cpu`",
                format!("`cpu` must be at least 0.1 and at most 64, got {cpu}."),
            );
        }
    }
    if let Some(m) = ct.memory.as_str() {
        if !valid_memory(m) {
            c.error(
                &at(Container::MEMORY),
                "Invalid value for `memory`",
                format!("`memory` must look like \"0.5Gi\" or \"2Gi\", got {m:?}."),
            );
        }
    }
    let mut env_names = BTreeSet::new();
    for (j, e) in ct.env.items().iter().enumerate() {
        env(
            c,
            e,
            at(Container::ENV).index(j as i64),
            names,
            &mut env_names,
        );
    }
    let mut types = BTreeSet::new();
    for (j, pr) in ct.probe.items().iter().enumerate() {
        probe(c, pr, at(Container::PROBE).index(j as i64), &mut types);
    }
}

fn env(
    c: &mut Checker,
    e: &Env,
    ep: AttributePath,
    names: &BTreeSet<String>,
    env_names: &mut BTreeSet<String>,
) {
    let at = |n: &str| ep.clone().then_attr(n);
    if let Some(n) = e.name.as_str() {
        if n.is_empty() {
            c.error(
                &at(Env::NAME),
                "Invalid value for `name`",
                "An environment variable `name` must not be empty.",
            );
        } else if !env_names.insert(n.to_string()) {
            c.error(
                &at(Env::NAME),
                "Duplicate environment variable",
                format!("The environment variable {n:?} is set more than once in this container."),
            );
        }
    }
    let (v, s) = (&e.value, &e.secret_name);
    if !v.is_null() && !s.is_null() {
        c.error(
            &at(Env::SECRET_NAME),
            "Conflicting env values",
            "Set either `value` or `secret_name`, not both.",
        );
    }
    if v.is_null() && s.is_null() {
        c.error(
            &at(Env::VALUE),
            "Missing env value",
            "Each `env` needs `value` or `secret_name`.",
        );
    }
    secret_ref(c, s, at(Env::SECRET_NAME), names);
}

fn probe(c: &mut Checker, pr: &Probe, pp: AttributePath, types: &mut BTreeSet<String>) {
    let at = |n: &str| pp.clone().then_attr(n);
    c.one_of_tf(&pr.r#type, &at(Probe::TYPE), Probe::TYPE, PROBE_TYPES);
    if let Some(t) = pr.r#type.as_str() {
        if !types.insert(t.to_string()) {
            c.error(
                &at(Probe::TYPE),
                "Duplicate probe",
                format!("A container may have one {t} probe only."),
            );
        }
    }
    let (http, tcp) = (&pr.http_get, &pr.tcp_socket);
    if !http.is_unknown() && !tcp.is_unknown() && http.items().len() + tcp.items().len() != 1 {
        c.error(
            &pp,
            "Invalid probe",
            "Each `probe` needs exactly one of `http_get` or `tcp_socket`.",
        );
    }
    if let Some(h) = http.first() {
        http_get(c, h, at(Probe::HTTP_GET).index(0));
    }
    if let Some(t) = tcp.first() {
        c.range_tf(
            &t.port,
            &at(Probe::TCP_SOCKET).index(0).then_attr(TcpSocket::PORT),
            TcpSocket::PORT,
            1,
            65535,
        );
    }
    for (name, v, lo, hi) in [
        (Probe::FAILURE_THRESHOLD, &pr.failure_threshold, 1, 10),
        (
            Probe::INITIAL_DELAY_SECONDS,
            &pr.initial_delay_seconds,
            1,
            60,
        ),
        (Probe::PERIOD_SECONDS, &pr.period_seconds, 1, 240),
        (Probe::SUCCESS_THRESHOLD, &pr.success_threshold, 1, 1),
        (Probe::TIMEOUT_SECONDS, &pr.timeout_seconds, 1, 240),
        (
            Probe::TERMINATION_GRACE_PERIOD_SECONDS,
            &pr.termination_grace_period_seconds,
            0,
            3600,
        ),
    ] {
        c.range_tf(v, &at(name), name, lo, hi);
    }
}

fn http_get(c: &mut Checker, h: &HttpGet, hp: AttributePath) {
    let at = |n: &str| hp.clone().then_attr(n);
    c.range_tf(&h.port, &at(HttpGet::PORT), HttpGet::PORT, 1, 65535);
    c.one_of_tf(
        &h.scheme,
        &at(HttpGet::SCHEME),
        HttpGet::SCHEME,
        &["HTTP", "HTTPS"],
    );
    if let Some(path) = h.path.as_str() {
        if !path.starts_with('/') {
            c.error(
                &at(HttpGet::PATH),
                "Invalid value for `path`",
                format!("`path` must start with \"/\", got {path:?}."),
            );
        }
    }
    for (k, x) in h.http_header.items().iter().enumerate() {
        if x.name.as_str().is_some_and(str::is_empty) {
            c.error(
                &at(HttpGet::HTTP_HEADER)
                    .index(k as i64)
                    .then_attr(HttpHeader::NAME),
                "Invalid value for `name`",
                "A probe header `name` must not be empty.",
            );
        }
    }
}

fn identity(c: &mut Checker, pool: &SessionPool, python: bool) {
    let Some(id) = pool.identity.first() else {
        return;
    };
    let ip = p(SessionPool::IDENTITY).index(0);
    let at = |n: &str| ip.clone().then_attr(n);
    c.one_of_tf(
        &id.r#type,
        &at(Identity::TYPE),
        Identity::TYPE,
        IDENTITY_TYPES,
    );
    if python {
        c.error(
            &p(SessionPool::IDENTITY),
            "Unexpected `identity`",
            "`identity` is only supported with `container_type = \"CustomContainer\"`.",
        );
    }
    let ids = &id.identity_ids;
    if let Some(set) = ids.known() {
        let mut seen = BTreeSet::new();
        for u in set.known_items() {
            if !is_user_identity_id(u) {
                c.error(
                    &at(Identity::IDENTITY_IDS),
                    "Invalid value for `identity_ids`",
                    format!("{u:?} is not a Microsoft.ManagedIdentity/userAssignedIdentities resource id."),
                );
            }
            if !seen.insert(u.to_ascii_lowercase()) {
                c.error(
                    &at(Identity::IDENTITY_IDS),
                    "Duplicate identity",
                    format!("{u:?} is listed more than once in `identity_ids`."),
                );
            }
        }
    }
    if let Some(t) = id.r#type.as_str() {
        let user = t.contains("UserAssigned");
        let empty = ids.is_null() || ids.known().is_some_and(|l| l.0.is_empty());
        if user && empty {
            c.error(
                &at(Identity::IDENTITY_IDS),
                "Missing `identity_ids`",
                format!("`type = {t:?}` needs at least one id in `identity_ids`."),
            );
        } else if !user && !empty && !ids.is_unknown() {
            c.error(
                &at(Identity::IDENTITY_IDS),
                "Unexpected `identity_ids`",
                "`identity_ids` is only valid when `type` includes UserAssigned.",
            );
        }
    }
}

fn identity_settings(c: &mut Checker, pool: &SessionPool, ids: &IdentityRefs) {
    let mut seen = BTreeSet::new();
    for (i, s) in pool.managed_identity_setting.items().iter().enumerate() {
        let base = p(SessionPool::MANAGED_IDENTITY_SETTING).index(i as i64);
        let at = |n: &str| base.clone().then_attr(n);
        if let Some(id) = s.identity.as_str() {
            ids.check(
                c,
                id,
                &at(ManagedIdentitySetting::IDENTITY),
                ManagedIdentitySetting::IDENTITY,
            );
            if !seen.insert(id.to_ascii_lowercase()) {
                c.error(
                    &at(ManagedIdentitySetting::IDENTITY),
                    "Duplicate identity setting",
                    format!("{id:?} appears in more than one `managed_identity_setting`."),
                );
            }
        }
        c.one_of_tf(
            &s.lifecycle,
            &at(ManagedIdentitySetting::LIFECYCLE),
            ManagedIdentitySetting::LIFECYCLE,
            MIS_LIFECYCLES,
        );
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
