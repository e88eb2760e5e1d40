//! Builds the runtime's [`PoolSpec`] from the stored ARM [`SessionPool`] model: defaults
//! applied, secrets resolved (env `secretRef`, registry `passwordSecretRef`), probes converted.
//! Fields the ARM validation already checked are re-checked only as far as a bad value could
//! hurt; every error names the field. Part of the ARM <-> runtime bridge ([`super::runtime`]).

use std::time::Duration;

use sessions_runtime::pool::probe::{ProbeAction, ProbeKind, ProbeSpec};
use sessions_runtime::pool::spec::{
    LifecycleSpec, PoolSpec, RegistryAuth, SessionIdentity, SidecarTemplate, Template,
    DEFAULT_STOP_GRACE,
};
use sessions_runtime::vm::{ContainerSpec, Resources};

use super::model::{Container, EgressStatus, LifecycleType, Probe, ProbeType, Scheme, SessionPool};

/// Default `cooldownPeriodInSeconds` when a Timed pool sends none.
pub const DEFAULT_COOLDOWN_SECS: u64 = 300;
/// Default `maxAlivePeriodInSeconds` when an OnContainerExit pool sends none.
pub const DEFAULT_MAX_ALIVE_SECS: u64 = 86_400;

/// A pool model the manager cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid session pool: `{field}` {message}")]
pub struct SpecError {
    /// JSON path of the field, e.g. `properties.customContainerTemplate.containers[0].image`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_string(),
        message: message.into(),
    }
}

const TEMPLATE: &str = "properties.customContainerTemplate";

/// One container of the template as the runtime needs it.
struct Parsed {
    name: String,
    image: String,
    command: Vec<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    resources: Resources,
}

fn container(
    c: &Container,
    cf: &str,
    secret: &dyn Fn(&str, &str) -> Result<String, SpecError>,
) -> Result<Parsed, SpecError> {
    let image = c
        .image
        .clone()
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| err(&format!("{cf}.image"), "is required"))?;
    let mut env = Vec::new();
    for (i, e) in c.env.iter().flatten().enumerate() {
        let f = format!("{cf}.env[{i}]");
        let name = e
            .name
            .clone()
            .ok_or_else(|| err(&format!("{f}.name"), "is required"))?;
        let value = match (&e.value, &e.secret_ref) {
            (_, Some(r)) => secret(r, &format!("{f}.secretRef"))?,
            (Some(v), None) => v.clone(),
            (None, None) => String::new(),
        };
        env.push((name, value));
    }
    let res = c.resources.clone().unwrap_or_default();
    let resources = Resources::parse(
        res.cpu.unwrap_or(0.25),
        res.memory.as_deref().unwrap_or("0.5Gi"),
    )
    .map_err(|e| err(&format!("{cf}.resources"), e.to_string()))?;
    Ok(Parsed {
        name: c.name.clone().unwrap_or_else(|| "main".into()),
        image,
        command: c.command.clone().unwrap_or_default(),
        args: c.args.clone().unwrap_or_default(),
        env,
        resources,
    })
}

/// A probe as the runtime runs it, and its `terminationGracePeriodSeconds` if set.
fn probe_spec(pr: &Probe, f: &str) -> Result<(ProbeSpec, Option<Duration>), SpecError> {
    let kind = match pr.kind {
        Some(ProbeType::Startup) => ProbeKind::Startup,
        Some(ProbeType::Liveness) => ProbeKind::Liveness,
        None => {
            return Err(err(
                &format!("{f}.type"),
                "is required (Liveness or Startup)",
            ))
        }
    };
    let port = |p: Option<i32>, field: &str| {
        p.and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| err(field, "must be 1-65535"))
    };
    let action = match (&pr.http_get, &pr.tcp_socket) {
        (Some(h), _) => ProbeAction::Http {
            path: h.path.clone().unwrap_or_else(|| "/".into()),
            port: port(h.port, &format!("{f}.httpGet.port"))?,
            https: h.scheme == Some(Scheme::Https),
            headers: h
                .http_headers
                .iter()
                .flatten()
                .filter_map(|hh| Some((hh.name.clone()?, hh.value.clone().unwrap_or_default())))
                .collect(),
            host: h.host.clone(),
        },
        (None, Some(t)) => ProbeAction::Tcp {
            port: port(t.port, &format!("{f}.tcpSocket.port"))?,
        },
        (None, None) => return Err(err(f, "needs httpGet or tcpSocket")),
    };
    let grace = pr
        .termination_grace_period_seconds
        .map(|g| Duration::from_secs(g.clamp(0, 3600) as u64));
    Ok((
        ProbeSpec {
            kind,
            action,
            initial_delay_secs: pr.effective_initial_delay_seconds().max(0) as u64,
            period_secs: pr.effective_period_seconds().max(1) as u64,
            failure_threshold: pr.effective_failure_threshold().max(1) as u32,
            success_threshold: pr.success_threshold.unwrap_or(1).max(1) as u32,
            timeout_secs: pr.effective_timeout_seconds().max(1) as u64,
        },
        grace,
    ))
}

/// The manager's view of `pool`, without identities.
pub fn pool_spec(pool: &SessionPool) -> Result<PoolSpec, SpecError> {
    pool_spec_with(pool, None, None)
}

/// [`pool_spec`] with the token sources of the pool's identities ([`super::identity`]):
/// `identity` for its sessions' `IDENTITY_ENDPOINT`, `registry_identity` for image pulls with
/// `registryCredentials.identity`.
pub fn pool_spec_with(
    pool: &SessionPool,
    identity: Option<SessionIdentity>,
    registry_identity: Option<SessionIdentity>,
) -> Result<PoolSpec, SpecError> {
    let p = &pool.properties;
    let secrets: Vec<(String, String)> = p
        .secrets
        .iter()
        .flatten()
        .filter_map(|s| Some((s.name.clone(), s.value.clone()?)))
        .collect();
    let secret = |name: &str, field: &str| -> Result<String, SpecError> {
        secrets
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                err(
                    field,
                    format!("refers to secret '{name}', which is not in properties.secrets"),
                )
            })
    };
    let scale = p.scale_configuration.clone().unwrap_or_default();
    let max = scale.max_concurrent_sessions.unwrap_or(10);
    let ready = scale.ready_session_instances.unwrap_or(0);
    if max < 1 {
        return Err(err(
            "properties.scaleConfiguration.maxConcurrentSessions",
            "must be at least 1",
        ));
    }
    if ready < 0 {
        return Err(err(
            "properties.scaleConfiguration.readySessionInstances",
            "must not be negative",
        ));
    }
    let lc = p
        .dynamic_pool_configuration
        .as_ref()
        .and_then(|d| d.lifecycle_configuration.clone())
        .unwrap_or_default();
    let lifecycle = match lc.effective_type() {
        LifecycleType::Timed => LifecycleSpec::Timed {
            cooldown_secs: lc
                .cooldown_period_in_seconds
                .map(|v| v.max(1) as u64)
                .unwrap_or(DEFAULT_COOLDOWN_SECS),
        },
        LifecycleType::OnContainerExit => LifecycleSpec::OnContainerExit {
            max_alive_secs: lc
                .max_alive_period_in_seconds
                .map(|v| v.max(1) as u64)
                .unwrap_or(DEFAULT_MAX_ALIVE_SECS),
        },
    };
    let tpl = p
        .custom_container_template
        .as_ref()
        .ok_or_else(|| err(TEMPLATE, "is required for a custom container pool"))?;
    let containers = tpl.containers.clone().unwrap_or_default();
    if containers.is_empty() {
        return Err(err(
            &format!("{TEMPLATE}.containers"),
            "must contain at least one container",
        ));
    }
    let target_port = tpl
        .ingress
        .as_ref()
        .and_then(|i| i.target_port)
        .ok_or_else(|| err(&format!("{TEMPLATE}.ingress.targetPort"), "is required"))?;
    let target_port = u16::try_from(target_port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| err(&format!("{TEMPLATE}.ingress.targetPort"), "must be 1-65535"))?;
    let mut probes = Vec::new();
    let mut grace = DEFAULT_STOP_GRACE;
    let mut parsed = Vec::with_capacity(containers.len());
    for (i, c) in containers.iter().enumerate() {
        let cf = format!("{TEMPLATE}.containers[{i}]");
        let one = container(c, &cf, &secret)?;
        for (j, pr) in c.probes.iter().flatten().enumerate() {
            let (probe, g) = probe_spec(pr, &format!("{cf}.probes[{j}]"))?;
            if let Some(g) = g {
                grace = g;
            }
            probes.push(probe);
        }
        parsed.push(one);
    }
    let mut parsed = parsed.into_iter();
    let main = parsed
        .next()
        .ok_or_else(|| err(TEMPLATE, "has no container"))?;
    let sidecars: Vec<SidecarTemplate> = parsed
        .map(|c| SidecarTemplate {
            name: c.name,
            image: c.image,
            command: c.command,
            args: c.args,
            env: c.env,
            resources: c.resources,
        })
        .collect();
    let registry = match &tpl.registry_credentials {
        Some(r) => match (&r.server, &r.username, &r.password_secret_ref) {
            (Some(server), _, _) if r.identity.is_some() => {
                let identity = registry_identity.ok_or_else(|| {
                    err(
                        &format!("{TEMPLATE}.registryCredentials.identity"),
                        "names an identity the pool does not have; list it in identity.userAssignedIdentities (or use 'system' with a system-assigned identity)",
                    )
                })?;
                Some(RegistryAuth {
                    server: server.clone(),
                    username: String::new(),
                    password: String::new(),
                    identity: Some(identity),
                })
            }
            (Some(server), Some(username), Some(secret_ref)) => Some(RegistryAuth {
                server: server.clone(),
                username: username.clone(),
                password: secret(
                    secret_ref,
                    &format!("{TEMPLATE}.registryCredentials.passwordSecretRef"),
                )?,
                identity: None,
            }),
            _ => None,
        },
        None => None,
    };
    let egress_enabled = p
        .session_network_configuration
        .as_ref()
        .and_then(|n| n.status)
        .map(|s| s == EgressStatus::EgressEnabled)
        .unwrap_or(false);
    Ok(PoolSpec {
        max_concurrent: max as u32,
        ready_instances: ready as u32,
        lifecycle,
        template: Template {
            container_name: main.name,
            image: main.image,
            container: ContainerSpec {
                command: main.command,
                args: main.args,
                env: main.env,
                resources: main.resources,
                target_port,
                egress_enabled,
                extra_ports: Vec::new(),
            },
            sidecars,
            identity,
            warm_up: matches!(lifecycle, LifecycleSpec::Timed { .. }),
            probes,
            registry,
            stop_grace: grace,
        },
    })
}
