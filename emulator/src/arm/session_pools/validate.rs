//! The service's rules for a session pool, checked on the parsed model after every PUT and
//! merged PATCH. The first broken rule wins; its error's `target` is the JSON path of the field
//! in the caller's api-version shape (e.g. `properties.scaleConfiguration.readySessionInstances`,
//! or `properties.dynamicPoolConfiguration.cooldownPeriodInSeconds` in the flat
//! <= 2024-10-02-preview shape).
//!
//! Rules (`docs/azure-behaviour.md` section 3, and azurerm's checks):
//! - name `^[a-z][a-z0-9]*$`, 3-63 characters; `location` required;
//! - `environmentId` required, a `Microsoft.App/managedEnvironments` id (existence: route);
//! - `containerType` and `poolManagementType` required; `Manual` is rejected; container types
//!   other than `CustomContainer` (`PythonLTS`, `Shell`, `GpuBase`, `NodeLTS`: Azure's built-in
//!   images) are refused, the emulator has no such images to run;
//! - `maxConcurrentSessions` 1-600; `readySessionInstances` >= 1 (custom pools; >= 0 otherwise)
//!   and < `maxConcurrentSessions` (`SessionPoolInvalidReadySessionInstances`);
//! - `dynamicPoolConfiguration.lifecycleConfiguration` required; `Timed` needs a cooldown of
//!   300-3600 and forbids `maxAlivePeriodInSeconds`; `OnContainerExit` needs
//!   `maxAlivePeriodInSeconds` >= 1, forbids the cooldown and needs `CustomContainer`;
//! - custom pools need a template with >= 1 container and `ingress.targetPort` 1-65535;
//!   container names are DNS labels and unique; `image` required; `cpu` > 0; `memory` like
//!   `0.5Gi`/`512Mi`; env entries have a name and exactly one of `value`/`secretRef`;
//!   `secretRef`/`passwordSecretRef` name a defined secret;
//! - probes: `type` Liveness|Startup, unique per container; exactly one of `httpGet`/`tcpSocket`;
//!   port 1-65535; failureThreshold 1-10, initialDelaySeconds 1-60, periodSeconds 1-240,
//!   successThreshold 1, timeoutSeconds 1-240, terminationGracePeriodSeconds 0-3600; headers
//!   need a name and a value;
//! - identity: `UserAssigned` needs >= 1 user-assigned id (each a
//!   `Microsoft.ManagedIdentity/userAssignedIdentities` id), types without `UserAssigned` must
//!   not list any; `system` in registry credentials or managedIdentitySettings needs a
//!   system-assigned identity, other ids must be listed in `identity.userAssignedIdentities`;
//! - secrets: names `^[a-z0-9][a-z0-9.-]*[a-z0-9]$` (or one character), at most 253, unique;
//!   every secret has a value (sent now, or kept from the stored pool);
//! - tags: at most 50, names <= 512 and values <= 256 characters.

use sessions_runtime::id::ResourceId;
use sessions_runtime::pool::probe;
use std::collections::HashSet;

use super::error::PoolError;
use super::json::index;
use super::model::*;
use super::version::ApiVersion;

/// Most sessions a pool may allow at once (the CLI's documented maximum).
pub const MAX_CONCURRENT_SESSIONS: i32 = 600;

/// Checks a pool name from the URL path.
pub fn validate_name(name: &str) -> Result<(), PoolError> {
    let ok = (3..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(PoolError::bad(
            "InvalidResourceName",
            "name",
            format!("The session pool name '{name}' is invalid: use 3-63 characters, lower-case letters and digits only, starting with a letter (^[a-z][a-z0-9]*$)"),
        ))
    }
}

/// Resource type of managed environments.
const ENVIRONMENT_TYPE: &str = "Microsoft.App/managedEnvironments";
/// Resource type of user-assigned identities.
const USER_IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// `id` when it is the id of a `type_` resource in a resource group (case-insensitive).
fn resource_of_type(id: &str, type_: &str) -> Option<ResourceId> {
    ResourceId::parse(id)
        .ok()
        .filter(|r| r.resource_group_name().is_some() && r.is_type(type_))
}

/// Parses an environment id (segment names match case-insensitively, as ARM ids do).
pub fn parse_environment_id(id: &str) -> Option<ResourceId> {
    resource_of_type(id, ENVIRONMENT_TYPE)
}

fn is_user_identity_id(id: &str) -> bool {
    resource_of_type(id, USER_IDENTITY_TYPE).is_some()
}

/// `value` quoted for an error message: at most 64 characters, control characters escaped.
fn shown(value: &str) -> String {
    let mut s: String = value.chars().take(64).collect();
    if value.chars().count() > 64 {
        s.push_str("...");
    }
    format!("{s:?}")
}

fn required(path: &str, what: &str) -> PoolError {
    PoolError::invalid(path, format!("'{path}' is required: {what}"))
}

fn range(path: &str, value: i64, lo: i64, hi: i64) -> Result<(), PoolError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(PoolError::invalid(
            path,
            format!("'{path}' is {value}; it must be between {lo} and {hi}"),
        ))
    }
}

/// Checks every rule of the module docs; `v` only decides how targets are spelled.
pub fn validate_pool(pool: &SessionPool, v: ApiVersion) -> Result<(), PoolError> {
    if pool.location.trim().is_empty() {
        return Err(PoolError::bad(
            "LocationRequired",
            "location",
            "'location' is required: set it to an Azure region such as 'eastus'",
        ));
    }
    if let Err(message) = crate::arm::path::check_location(&pool.location) {
        return Err(PoolError::bad(
            "LocationNotAvailableForResourceType",
            "location",
            message,
        ));
    }
    validate_tags(pool)?;
    validate_identity(pool)?;
    let p = &pool.properties;
    match &p.environment_id {
        None => return Err(required("properties.environmentId", "set it to the resource id of a Microsoft.App/managedEnvironments")),
        Some(id) if parse_environment_id(id).is_none() => {
            return Err(PoolError::invalid(
                "properties.environmentId",
                format!("'properties.environmentId' is '{id}', which is not a Microsoft.App/managedEnvironments resource id (/subscriptions/{{s}}/resourceGroups/{{rg}}/providers/Microsoft.App/managedEnvironments/{{name}})"),
            ))
        }
        Some(_) => {}
    }
    let container_type = p.container_type.ok_or_else(|| {
        required(
            "properties.containerType",
            &format!("use one of {}", ContainerType::allowed()),
        )
    })?;
    match p.pool_management_type {
        None => return Err(required("properties.poolManagementType", "use 'Dynamic'")),
        Some(PoolManagementType::Manual) => {
            return Err(PoolError::invalid(
                "properties.poolManagementType",
                "'properties.poolManagementType' 'Manual' is not supported for new session pools; use 'Dynamic'",
            ))
        }
        Some(PoolManagementType::Dynamic) => {}
    }
    if container_type != ContainerType::CustomContainer {
        return Err(PoolError::invalid(
            "properties.containerType",
            format!("'properties.containerType' is '{}': the emulator runs only CustomContainer session pools ({} sessions use an image built into Azure that the emulator does not have); use CustomContainer with your own image in properties.customContainerTemplate", container_type.as_str(), container_type.as_str()),
        ));
    }
    let custom = true;
    validate_scale(p, custom)?;
    validate_secrets(p)?;
    validate_lifecycle(p, custom, v)?;
    if custom {
        validate_template(pool, v)?;
    }
    validate_identity_settings(pool)
}

fn validate_tags(pool: &SessionPool) -> Result<(), PoolError> {
    let Some(tags) = &pool.tags else {
        return Ok(());
    };
    if tags.len() > 50 {
        return Err(PoolError::invalid(
            "tags",
            format!("'tags' has {} entries; at most 50 are allowed", tags.len()),
        ));
    }
    for (k, val) in tags {
        let path = format!("tags.{k}");
        if k.is_empty() || k.len() > 512 {
            return Err(PoolError::invalid(
                &path,
                "tag names must be 1-512 characters",
            ));
        }
        if val.len() > 256 {
            return Err(PoolError::invalid(
                &path,
                format!("the value of tag '{k}' is longer than 256 characters"),
            ));
        }
    }
    Ok(())
}

fn validate_scale(p: &Properties, custom: bool) -> Result<(), PoolError> {
    const SCALE: &str = "properties.scaleConfiguration";
    let s = p.scale_configuration.as_ref().ok_or_else(|| {
        required(
            SCALE,
            "set maxConcurrentSessions (and readySessionInstances)",
        )
    })?;
    let max_path = format!("{SCALE}.maxConcurrentSessions");
    let max = s
        .max_concurrent_sessions
        .ok_or_else(|| required(&max_path, "the most sessions allocated at once, 1-600"))?;
    range(&max_path, max.into(), 1, MAX_CONCURRENT_SESSIONS.into())?;
    let ready_path = format!("{SCALE}.readySessionInstances");
    let code = "SessionPoolInvalidReadySessionInstances";
    let ready = match s.ready_session_instances {
        Some(r) => r,
        None if custom => {
            return Err(PoolError::bad(code, &ready_path, format!("'{ready_path}' is required for CustomContainer pools: at least 1 and less than maxConcurrentSessions ({max})")))
        }
        None => return Ok(()),
    };
    let min = i32::from(custom);
    if ready < min || ready >= max {
        return Err(PoolError::bad(
            code,
            &ready_path,
            format!("'{ready_path}' is {ready}; it must be at least {min} and less than maxConcurrentSessions ({max})"),
        ));
    }
    Ok(())
}

fn valid_secret_name(n: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !n.is_empty()
        && n.len() <= 253
        && n.starts_with(ok_char)
        && n.ends_with(ok_char)
        && n.chars().all(|c| ok_char(c) || c == '-' || c == '.')
}

fn validate_secrets(p: &Properties) -> Result<(), PoolError> {
    let mut seen = HashSet::new();
    for (i, s) in p.secrets.iter().flatten().enumerate() {
        let path = index("properties.secrets", i);
        if !valid_secret_name(&s.name) {
            return Err(PoolError::invalid(
                format!("{path}.name"),
                format!("secret name '{}' is invalid: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters", s.name),
            ));
        }
        if !seen.insert(s.name.clone()) {
            return Err(PoolError::invalid(
                format!("{path}.name"),
                format!("secret '{}' is defined more than once", s.name),
            ));
        }
        if s.value.is_none() {
            return Err(required(
                &format!("{path}.value"),
                &format!(
                    "secret '{}' has no stored value to keep, so send its value",
                    s.name
                ),
            ));
        }
    }
    Ok(())
}

fn has_secret(p: &Properties, name: &str) -> bool {
    p.secrets.iter().flatten().any(|s| s.name == name)
}

fn validate_lifecycle(p: &Properties, custom: bool, v: ApiVersion) -> Result<(), PoolError> {
    const DPC: &str = "properties.dynamicPoolConfiguration";
    let flat = v.flat_dynamic_config();
    let base = if flat {
        DPC.to_string()
    } else {
        format!("{DPC}.lifecycleConfiguration")
    };
    let type_path = if flat {
        format!("{DPC}.executionType")
    } else {
        format!("{base}.lifecycleType")
    };
    let cool_path = format!("{base}.cooldownPeriodInSeconds");
    let alive_path = format!("{base}.maxAlivePeriodInSeconds");
    let d = p
        .dynamic_pool_configuration
        .as_ref()
        .ok_or_else(|| required(DPC, "Dynamic pools need a lifecycle configuration"))?;
    let l = d.lifecycle_configuration.as_ref().ok_or_else(|| {
        if flat {
            required(
                &cool_path,
                "Timed pools need a cooldown of 300-3600 seconds",
            )
        } else {
            required(
                &base,
                "set lifecycleType and cooldownPeriodInSeconds or maxAlivePeriodInSeconds",
            )
        }
    })?;
    match l.effective_type() {
        LifecycleType::Timed => {
            let c = l.cooldown_period_in_seconds.ok_or_else(|| {
                required(
                    &cool_path,
                    "Timed pools need a cooldown of 300-3600 seconds",
                )
            })?;
            range(&cool_path, c.into(), 300, 3600)?;
            if l.max_alive_period_in_seconds.is_some() {
                return Err(PoolError::invalid(&alive_path, format!("'{alive_path}' is only allowed with lifecycleType OnContainerExit; remove it for Timed pools")));
            }
        }
        LifecycleType::OnContainerExit => {
            if !custom {
                return Err(PoolError::invalid(
                    &type_path,
                    "lifecycleType OnContainerExit is only supported for CustomContainer pools",
                ));
            }
            if l.cooldown_period_in_seconds.is_some() {
                return Err(PoolError::invalid(&cool_path, format!("'{cool_path}' is only allowed with lifecycleType Timed; remove it for OnContainerExit pools")));
            }
            let a = l.max_alive_period_in_seconds.ok_or_else(|| {
                required(
                    &alive_path,
                    "OnContainerExit pools need the longest session lifetime in seconds",
                )
            })?;
            range(&alive_path, a.into(), 1, i32::MAX.into())?;
        }
    }
    Ok(())
}

fn valid_container_name(n: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=63).contains(&n.len())
        && n.starts_with(alnum)
        && n.ends_with(alnum)
        && n.chars().all(|c| alnum(c) || c == '-')
}

fn validate_template(pool: &SessionPool, v: ApiVersion) -> Result<(), PoolError> {
    const T: &str = "properties.customContainerTemplate";
    let p = &pool.properties;
    let t = p
        .custom_container_template
        .as_ref()
        .ok_or_else(|| required(T, "CustomContainer pools need containers and ingress"))?;
    let containers = t.containers.as_deref().unwrap_or_default();
    if containers.is_empty() {
        return Err(required(
            &format!("{T}.containers"),
            "CustomContainer pools need at least one container",
        ));
    }
    let mut names = HashSet::new();
    for (i, c) in containers.iter().enumerate() {
        let path = index(&format!("{T}.containers"), i);
        validate_container(p, c, &path, &mut names)?;
    }
    let port_path = format!("{T}.ingress.targetPort");
    let port = t
        .ingress
        .as_ref()
        .and_then(|i| i.target_port)
        .ok_or_else(|| {
            required(
                &port_path,
                "the container port that receives session traffic, 1-65535",
            )
        })?;
    range(&port_path, port.into(), 1, 65535)?;
    if let Some(r) = &t.registry_credentials {
        let rp = format!("{T}.registryCredentials");
        let server_path = format!("{rp}.{}", v.registry_server_field());
        if r.server.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(required(
                &server_path,
                "the registry host name, e.g. myregistry.azurecr.io",
            ));
        }
        if let Some(ps) = &r.password_secret_ref {
            if !has_secret(p, ps) {
                return Err(PoolError::invalid(format!("{rp}.passwordSecretRef"), format!("passwordSecretRef '{ps}' names no secret of this pool; add it to properties.secrets")));
            }
            if r.username.is_none() {
                return Err(required(
                    &format!("{rp}.username"),
                    "a registry password needs a username",
                ));
            }
        } else if r.username.is_some() && r.identity.is_none() {
            return Err(required(
                &format!("{rp}.passwordSecretRef"),
                "a registry username needs a password secret (or use identity)",
            ));
        }
        if let Some(id) = &r.identity {
            check_identity_ref(pool, id, &format!("{rp}.identity"))?;
        }
    }
    Ok(())
}

fn validate_container(
    p: &Properties,
    c: &Container,
    path: &str,
    names: &mut HashSet<String>,
) -> Result<(), PoolError> {
    let name = c
        .name
        .as_deref()
        .ok_or_else(|| required(&format!("{path}.name"), "every container needs a name"))?;
    if !valid_container_name(name) {
        return Err(PoolError::invalid(format!("{path}.name"), format!("container name '{name}' is invalid: use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit")));
    }
    if !names.insert(name.to_string()) {
        return Err(PoolError::invalid(
            format!("{path}.name"),
            format!("container name '{name}' is used more than once"),
        ));
    }
    if c.image.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(required(
            &format!("{path}.image"),
            "the container image reference, e.g. myregistry.azurecr.io/app:v1",
        ));
    }
    if let Some(r) = &c.resources {
        if let Some(cpu) = r.cpu {
            if cpu <= 0.0 || cpu > 64.0 {
                return Err(PoolError::invalid(
                    format!("{path}.resources.cpu"),
                    format!(
                        "cpu is {cpu}; it must be more than 0 cores (e.g. 0.25) and at most 64"
                    ),
                ));
            }
        }
        if let Some(m) = &r.memory {
            if memory_bytes(m).is_none() {
                return Err(PoolError::invalid(format!("{path}.resources.memory"), format!("memory '{m}' is invalid: use a positive quantity such as '0.5Gi', '1Gi' or '512Mi'")));
            }
        }
    }
    let mut env_names = HashSet::new();
    for (i, e) in c.env.iter().flatten().enumerate() {
        let ep = index(&format!("{path}.env"), i);
        let n = e.name.as_deref().filter(|n| !n.is_empty()).ok_or_else(|| {
            required(
                &format!("{ep}.name"),
                "every environment variable needs a name",
            )
        })?;
        if !env_names.insert(n.to_string()) {
            return Err(PoolError::invalid(
                format!("{ep}.name"),
                format!("environment variable '{n}' is defined more than once"),
            ));
        }
        match (&e.value, &e.secret_ref) {
            (Some(_), Some(_)) => {
                return Err(PoolError::invalid(
                    &ep,
                    format!(
                        "environment variable '{n}' sets both value and secretRef; set exactly one"
                    ),
                ))
            }
            (None, None) => {
                return Err(PoolError::invalid(
                    &ep,
                    format!("environment variable '{n}' needs value or secretRef"),
                ))
            }
            (None, Some(s)) if !has_secret(p, s) => {
                return Err(PoolError::invalid(
                    format!("{ep}.secretRef"),
                    format!(
                    "secretRef '{s}' names no secret of this pool; add it to properties.secrets"
                ),
                ))
            }
            _ => {}
        }
    }
    let mut kinds = HashSet::new();
    for (i, probe) in c.probes.iter().flatten().enumerate() {
        let pp = index(&format!("{path}.probes"), i);
        validate_probe(probe, &pp, &mut kinds)?;
    }
    Ok(())
}

fn validate_probe(
    p: &Probe,
    path: &str,
    kinds: &mut HashSet<&'static str>,
) -> Result<(), PoolError> {
    let kind = p
        .kind
        .ok_or_else(|| required(&format!("{path}.type"), "use Liveness or Startup"))?;
    if !kinds.insert(kind.as_str()) {
        return Err(PoolError::invalid(
            format!("{path}.type"),
            format!("a container may have only one {} probe", kind.as_str()),
        ));
    }
    match (&p.http_get, &p.tcp_socket) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(PoolError::invalid(
                path,
                "a probe needs exactly one of httpGet or tcpSocket",
            ))
        }
        (Some(h), None) => {
            let port_path = format!("{path}.httpGet.port");
            let port = h
                .port
                .ok_or_else(|| required(&port_path, "the port to probe, 1-65535"))?;
            range(&port_path, port.into(), 1, 65535)?;
            if let Some(p) = &h.path {
                if probe::validate_path(p).is_err() {
                    let pp = format!("{path}.httpGet.path");
                    return Err(PoolError::invalid(&pp, format!("'{pp}' {} is not a valid HTTP request path: use a path such as '/health' without spaces, line breaks, control characters or '#'", shown(p))));
                }
            }
            if let Some(host) = &h.host {
                if probe::validate_host(host).is_err() {
                    let hp = format!("{path}.httpGet.host");
                    return Err(PoolError::invalid(&hp, format!("'{hp}' {} is not a valid host name: use a DNS name or an IP address without spaces or line breaks", shown(host))));
                }
            }
            for (i, hh) in h.http_headers.iter().flatten().enumerate() {
                let hp = index(&format!("{path}.httpGet.httpHeaders"), i);
                let Some(name) = hh.name.as_deref().filter(|n| !n.is_empty()) else {
                    return Err(required(
                        &format!("{hp}.name"),
                        "every probe header needs a name",
                    ));
                };
                let Some(value) = hh.value.as_deref() else {
                    return Err(required(
                        &format!("{hp}.value"),
                        "every probe header needs a value",
                    ));
                };
                match probe::validate_header(name, value) {
                    Ok(()) => {}
                    Err(probe::ProbeRequestError::HeaderName(_)) => {
                        let np = format!("{hp}.name");
                        return Err(PoolError::invalid(&np, format!("'{np}' {} is not a valid HTTP header name: use letters, digits and '-' (no spaces or separators)", shown(name))));
                    }
                    Err(_) => {
                        let vp = format!("{hp}.value");
                        return Err(PoolError::invalid(&vp, format!("'{vp}' is not a valid HTTP header value: it must not contain line breaks or other control characters")));
                    }
                }
            }
        }
        (None, Some(t)) => {
            let port_path = format!("{path}.tcpSocket.port");
            let port = t
                .port
                .ok_or_else(|| required(&port_path, "the port to probe, 1-65535"))?;
            range(&port_path, port.into(), 1, 65535)?;
        }
    }
    let checks: [(&str, Option<i64>, i64, i64); 6] = [
        (
            "failureThreshold",
            p.failure_threshold.map(Into::into),
            1,
            10,
        ),
        (
            "initialDelaySeconds",
            p.initial_delay_seconds.map(Into::into),
            1,
            60,
        ),
        ("periodSeconds", p.period_seconds.map(Into::into), 1, 240),
        (
            "successThreshold",
            p.success_threshold.map(Into::into),
            1,
            1,
        ),
        ("timeoutSeconds", p.timeout_seconds.map(Into::into), 1, 240),
        (
            "terminationGracePeriodSeconds",
            p.termination_grace_period_seconds,
            0,
            3600,
        ),
    ];
    for (name, value, lo, hi) in checks {
        if let Some(x) = value {
            range(&format!("{path}.{name}"), x, lo, hi)?;
        }
    }
    Ok(())
}

fn validate_identity(pool: &SessionPool) -> Result<(), PoolError> {
    let Some(id) = &pool.identity else {
        return Ok(());
    };
    const UA: &str = "identity.userAssignedIdentities";
    if id.kind.has_user() && id.user_assigned.is_empty() {
        return Err(required(
            UA,
            &format!(
                "identity type {} needs at least one user-assigned identity id",
                id.kind.as_str()
            ),
        ));
    }
    if !id.kind.has_user() && !id.user_assigned.is_empty() {
        return Err(PoolError::invalid(UA, format!("identity type {} must not list user-assigned identities; use UserAssigned or 'SystemAssigned,UserAssigned'", id.kind.as_str())));
    }
    let mut seen = HashSet::new();
    for u in &id.user_assigned {
        if !is_user_identity_id(&u.id) {
            return Err(PoolError::invalid(
                UA,
                format!(
                    "'{}' is not a Microsoft.ManagedIdentity/userAssignedIdentities resource id",
                    u.id
                ),
            ));
        }
        if !seen.insert(u.id.to_ascii_lowercase()) {
            return Err(PoolError::invalid(
                UA,
                format!("user-assigned identity '{}' is listed more than once", u.id),
            ));
        }
    }
    Ok(())
}

/// `system` needs a system-assigned identity; any other value must be a listed user identity.
fn check_identity_ref(pool: &SessionPool, value: &str, path: &str) -> Result<(), PoolError> {
    let kind = pool
        .identity
        .as_ref()
        .map_or(IdentityType::None, |i| i.kind);
    if value.eq_ignore_ascii_case("system") {
        if kind.has_system() {
            return Ok(());
        }
        return Err(PoolError::invalid(path, format!("'{path}' is 'system' but the pool has no system-assigned identity; set identity.type to SystemAssigned")));
    }
    let listed = pool
        .identity
        .iter()
        .flat_map(|i| &i.user_assigned)
        .any(|u| u.id.eq_ignore_ascii_case(value));
    if listed {
        Ok(())
    } else {
        Err(PoolError::invalid(path, format!("'{path}' is '{value}', which is not in identity.userAssignedIdentities; add it there or use 'system'")))
    }
}

fn validate_identity_settings(pool: &SessionPool) -> Result<(), PoolError> {
    let mut seen = HashSet::new();
    for (i, s) in pool
        .properties
        .managed_identity_settings
        .iter()
        .flatten()
        .enumerate()
    {
        let path = index("properties.managedIdentitySettings", i);
        let ip = format!("{path}.identity");
        let id = s
            .identity
            .as_deref()
            .ok_or_else(|| required(&ip, "a user-assigned identity id or 'system'"))?;
        check_identity_ref(pool, id, &ip)?;
        if !seen.insert(id.to_ascii_lowercase()) {
            return Err(PoolError::invalid(
                &ip,
                format!("identity '{id}' appears more than once in managedIdentitySettings"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_pool;
    use super::*;
    use serde_json::{json, Value};

    pub(crate) fn valid() -> Value {
        json!({"location":"eastus","identity":{"type":"SystemAssigned"},
         "properties":{"environmentId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/env",
          "poolManagementType":"Dynamic","containerType":"CustomContainer",
          "scaleConfiguration":{"maxConcurrentSessions":10,"readySessionInstances":1},
          "secrets":[{"name":"pw","value":"x"}],
          "dynamicPoolConfiguration":{"lifecycleConfiguration":{"lifecycleType":"Timed","cooldownPeriodInSeconds":300}},
          "customContainerTemplate":{"containers":[{"image":"img:1","name":"main","resources":{"cpu":0.25,"memory":"0.5Gi"},
              "env":[{"name":"A","value":"1"},{"name":"B","secretRef":"pw"}],
              "probes":[{"type":"Liveness","httpGet":{"port":80}}]}],
           "ingress":{"targetPort":80},
           "registryCredentials":{"server":"r.io","username":"u","passwordSecretRef":"pw"}},
          "managedIdentitySettings":[{"identity":"System","lifecycle":"Main"}]}})
    }

    fn check(body: &Value, v: ApiVersion) -> Result<(), PoolError> {
        validate_pool(&parse_pool(body, v)?, v)
    }

    #[test]
    fn the_valid_pool_passes_in_every_version() {
        for v in super::super::version::ALL {
            let mut b = valid();
            if v.flat_dynamic_config() {
                b["properties"]["dynamicPoolConfiguration"] =
                    json!({"executionType":"Timed","cooldownPeriodInSeconds":300});
            }
            if !v.has_identity() {
                b["properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("managedIdentitySettings");
            }
            if v.registry_server_field() == "registryServer" {
                b["properties"]["customContainerTemplate"]["registryCredentials"] =
                    json!({"registryServer":"r.io","username":"u","passwordSecretRef":"pw"});
            }
            check(&b, v).unwrap_or_else(|e| panic!("{v}: {e}"));
        }
    }

    #[test]
    fn names() {
        for ok in ["abc", "a12", &"a".repeat(63)] {
            validate_name(ok).unwrap();
        }
        for bad in ["ab", "1abc", "aBc", "a-b", "", &"a".repeat(64)] {
            assert_eq!(
                validate_name(bad).unwrap_err().code,
                "InvalidResourceName",
                "{bad}"
            );
        }
    }

    #[test]
    fn environment_ids() {
        let e = parse_environment_id(
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.app/managedenvironments/env",
        )
        .unwrap();
        assert_eq!(
            (
                e.subscription_id(),
                e.resource_group_name().unwrap(),
                e.name()
            ),
            ("s", "rg", "env")
        );
        assert!(parse_environment_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/x"
        )
        .is_none());
        assert!(parse_environment_id("env").is_none());
    }

    /// Each case: a JSON-pointer edit of the valid body, and the expected (code, target).
    #[test]
    fn every_rule_names_its_field() {
        let c = "/properties/customContainerTemplate";
        let cases: Vec<(String, Value, &str, &str)> = vec![
            ("/location".to_string(), json!(""), "LocationRequired", "location"),
            ("/location".to_string(), json!("east/../us?x#y"), "LocationNotAvailableForResourceType", "location"),
            ("/location".to_string(), json!("a".repeat(70_000)), "LocationNotAvailableForResourceType", "location"),
            (format!("{c}/containers/0/probes/0/httpGet/path"), json!("/health\r\nPOST /log HTTP/1.1"), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.path"),
            (format!("{c}/containers/0/probes/0/httpGet/path"), json!("/a b"), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.path"),
            (format!("{c}/containers/0/probes/0/httpGet/host"), json!("h\r\nX: 1"), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.host"),
            (format!("{c}/containers/0/probes/0/httpGet/host"), json!("two words"), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.host"),
            (format!("{c}/containers/0/probes/0/httpGet/httpHeaders"), json!([{"name":"X A","value":"1"}]), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.httpHeaders[0].name"),
            (format!("{c}/containers/0/probes/0/httpGet/httpHeaders"), json!([{"name":"X-A","value":"1\nPOST /log"}]), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.httpHeaders[0].value"),
            ("/properties/environmentId".to_string(), Value::Null, "InvalidParameter", "properties.environmentId"),
            ("/properties/environmentId".to_string(), json!("/subscriptions/s"), "InvalidParameter", "properties.environmentId"),
            ("/properties/poolManagementType".to_string(), json!("Manual"), "InvalidParameter", "properties.poolManagementType"),
            ("/properties/containerType".to_string(), Value::Null, "InvalidParameter", "properties.containerType"),
            ("/properties/scaleConfiguration/maxConcurrentSessions".to_string(), json!(0), "InvalidParameter", "properties.scaleConfiguration.maxConcurrentSessions"),
            ("/properties/scaleConfiguration/maxConcurrentSessions".to_string(), json!(601), "InvalidParameter", "properties.scaleConfiguration.maxConcurrentSessions"),
            ("/properties/scaleConfiguration/readySessionInstances".to_string(), json!(10), "SessionPoolInvalidReadySessionInstances", "properties.scaleConfiguration.readySessionInstances"),
            ("/properties/scaleConfiguration/readySessionInstances".to_string(), json!(0), "SessionPoolInvalidReadySessionInstances", "properties.scaleConfiguration.readySessionInstances"),
            ("/properties/dynamicPoolConfiguration".to_string(), Value::Null, "InvalidParameter", "properties.dynamicPoolConfiguration"),
            ("/properties/dynamicPoolConfiguration/lifecycleConfiguration/cooldownPeriodInSeconds".to_string(), json!(299), "InvalidParameter", "properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds"),
            ("/properties/dynamicPoolConfiguration/lifecycleConfiguration/cooldownPeriodInSeconds".to_string(), json!(3601), "InvalidParameter", "properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds"),
            ("/properties/dynamicPoolConfiguration/lifecycleConfiguration/maxAlivePeriodInSeconds".to_string(), json!(60), "InvalidParameter", "properties.dynamicPoolConfiguration.lifecycleConfiguration.maxAlivePeriodInSeconds"),
            ("/properties/dynamicPoolConfiguration/lifecycleConfiguration/lifecycleType".to_string(), json!("OnContainerExit"), "InvalidParameter", "properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds"),
            ("/properties/secrets/0/name".to_string(), json!("Bad_Name"), "InvalidParameter", "properties.secrets[0].name"),
            ("/properties/secrets/0/value".to_string(), Value::Null, "InvalidParameter", "properties.secrets[0].value"),
            (format!("{c}/containers"), json!([]), "InvalidParameter", "properties.customContainerTemplate.containers"),
            (format!("{c}/containers/0/name"), json!("Main"), "InvalidParameter", "properties.customContainerTemplate.containers[0].name"),
            (format!("{c}/containers/0/image"), json!(" "), "InvalidParameter", "properties.customContainerTemplate.containers[0].image"),
            (format!("{c}/containers/0/resources/cpu"), json!(0), "InvalidParameter", "properties.customContainerTemplate.containers[0].resources.cpu"),
            (format!("{c}/containers/0/resources/memory"), json!("1TB"), "InvalidParameter", "properties.customContainerTemplate.containers[0].resources.memory"),
            (format!("{c}/containers/0/env/1/secretRef"), json!("nope"), "InvalidParameter", "properties.customContainerTemplate.containers[0].env[1].secretRef"),
            (format!("{c}/containers/0/env/0/secretRef"), json!("pw"), "InvalidParameter", "properties.customContainerTemplate.containers[0].env[0]"),
            (format!("{c}/containers/0/env/0/name"), Value::Null, "InvalidParameter", "properties.customContainerTemplate.containers[0].env[0].name"),
            (format!("{c}/containers/0/probes/0/httpGet/port"), json!(0), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.port"),
            (format!("{c}/containers/0/probes/0/tcpSocket"), json!({"port":1}), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0]"),
            (format!("{c}/containers/0/probes/0/successThreshold"), json!(2), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].successThreshold"),
            (format!("{c}/containers/0/probes/0/failureThreshold"), json!(11), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].failureThreshold"),
            (format!("{c}/containers/0/probes/0/initialDelaySeconds"), json!(61), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].initialDelaySeconds"),
            (format!("{c}/containers/0/probes/0/terminationGracePeriodSeconds"), json!(3601), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].terminationGracePeriodSeconds"),
            (format!("{c}/containers/0/probes/0/httpGet/httpHeaders"), json!([{"name":"a"}]), "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].httpGet.httpHeaders[0].value"),
            (format!("{c}/containers/0/probes/0/type"), Value::Null, "InvalidParameter", "properties.customContainerTemplate.containers[0].probes[0].type"),
            (format!("{c}/ingress/targetPort"), json!(70000), "InvalidParameter", "properties.customContainerTemplate.ingress.targetPort"),
            (format!("{c}/ingress"), Value::Null, "InvalidParameter", "properties.customContainerTemplate.ingress.targetPort"),
            (format!("{c}/registryCredentials/passwordSecretRef"), json!("nope"), "InvalidParameter", "properties.customContainerTemplate.registryCredentials.passwordSecretRef"),
            (format!("{c}/registryCredentials/server"), Value::Null, "InvalidParameter", "properties.customContainerTemplate.registryCredentials.server"),
            (format!("{c}/registryCredentials/identity"), json!("/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"), "InvalidParameter", "properties.customContainerTemplate.registryCredentials.identity"),
            ("/identity/type".to_string(), json!("None"), "InvalidParameter", "properties.managedIdentitySettings[0].identity"),
            ("/identity/type".to_string(), json!("UserAssigned"), "InvalidParameter", "identity.userAssignedIdentities"),
            ("/identity/userAssignedIdentities".to_string(), json!({"/bad": {}}), "InvalidParameter", "identity.userAssignedIdentities"),
        ];
        for (ptr, value, code, target) in cases {
            let mut b = valid();
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            match b.pointer_mut(parent).unwrap() {
                Value::Object(m) => {
                    m.insert(key.to_string(), value.clone());
                }
                Value::Array(a) => {
                    a[key.parse::<usize>().unwrap()] = value.clone();
                }
                _ => unreachable!(),
            }
            let e = check(&b, ApiVersion::CANONICAL).expect_err(&ptr);
            assert_eq!(
                (e.code, e.target.as_deref()),
                (code, Some(target)),
                "{ptr} = {value}: {}",
                e.message
            );
        }
    }

    #[test]
    fn duplicates_are_rejected() {
        let mut b = valid();
        let probes = &mut b["properties"]["customContainerTemplate"]["containers"][0]["probes"];
        probes
            .as_array_mut()
            .unwrap()
            .push(json!({"type":"liveness","tcpSocket":{"port":80}}));
        let e = check(&b, ApiVersion::CANONICAL).unwrap_err();
        assert_eq!(
            e.target.as_deref(),
            Some("properties.customContainerTemplate.containers[0].probes[1].type")
        );
        let mut b = valid();
        b["properties"]["secrets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name":"pw","value":"y"}));
        assert_eq!(
            check(&b, ApiVersion::CANONICAL)
                .unwrap_err()
                .target
                .as_deref(),
            Some("properties.secrets[1].name")
        );
    }

    #[test]
    fn on_container_exit_rules_and_flat_targets() {
        let mut b = valid();
        b["properties"]["dynamicPoolConfiguration"] = json!({"lifecycleConfiguration":{"lifecycleType":"OnContainerExit","maxAlivePeriodInSeconds":600}});
        check(&b, ApiVersion::CANONICAL).unwrap();
        // Issue 12: container types the emulator cannot run are refused naming the property
        // (this used to be reported on the lifecycle type).
        for t in ["PythonLTS", "Shell", "GpuBase", "NodeLTS"] {
            b["properties"]["containerType"] = json!(t);
            let e = check(&b, ApiVersion::V2025_10_02Preview).unwrap_err();
            assert_eq!(e.target.as_deref(), Some("properties.containerType"), "{t}");
            assert!(e.message.contains(t), "{}", e.message);
        }
        let mut b = valid();
        b["properties"]["dynamicPoolConfiguration"] =
            json!({"executionType":"Timed","cooldownPeriodInSeconds":5});
        b["properties"]
            .as_object_mut()
            .unwrap()
            .remove("managedIdentitySettings");
        let e = check(&b, ApiVersion::V2024_02_02Preview).unwrap_err();
        assert_eq!(
            e.target.as_deref(),
            Some("properties.dynamicPoolConfiguration.cooldownPeriodInSeconds")
        );
    }
}
