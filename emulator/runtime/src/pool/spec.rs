//! What the pool manager needs to know about a pool: its limits and its session template
//! (image, container spec, probes, registry credentials), already validated and with secrets
//! resolved. Its callers build it (the emulator from the ARM model); the manager never reads
//! a wire format.

use std::sync::Arc;
use std::time::Duration;

use super::core::{Lifecycle, Limits};
use super::probe::{ProbeKind, ProbeSpec};
use crate::vm::{ContainerSpec, Resources, TokenSource};

/// Grace period between SIGTERM and kill when a session is stopped (unless a probe sets
/// `terminationGracePeriodSeconds`).
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(5);

/// The user name Azure Container Registry takes with a token as the password (`docker login`
/// with an Entra token); pulls with a managed identity use it.
pub const TOKEN_USERNAME: &str = "00000000-0000-0000-0000-000000000000";

/// The audience of the token a pull with a managed identity presents (the one ACR exchanges
/// for a registry token).
pub const REGISTRY_TOKEN_RESOURCE: &str = "https://management.azure.com/";

/// Registry credentials with the password secret resolved.
#[derive(Clone, PartialEq)]
pub struct RegistryAuth {
    /// Registry host, e.g. `myregistry.azurecr.io`.
    pub server: String,
    /// User name.
    pub username: String,
    /// Password (the value of `passwordSecretRef`).
    pub password: String,
    /// `registryCredentials.identity`: when set, every pull asks this identity for a fresh
    /// token ([`REGISTRY_TOKEN_RESOURCE`]) and logs in as [`TOKEN_USERNAME`] with it;
    /// `username` and `password` are not used.
    pub identity: Option<SessionIdentity>,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("identity", &self.identity)
            .finish()
    }
}

/// One more container of a pool's template (`containers[1..]`): it runs in the same session
/// (one VM, one network namespace) with its own image, command, args, env and resources.
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarTemplate {
    /// `containers[i].name`.
    pub name: String,
    /// `containers[i].image`.
    pub image: String,
    /// `command` (replaces the image `Entrypoint` when non-empty).
    pub command: Vec<String>,
    /// `args` (replaces the image `Cmd` when non-empty).
    pub args: Vec<String>,
    /// `env`, secrets resolved.
    pub env: Vec<(String, String)>,
    /// `resources`.
    pub resources: Resources,
}

/// The managed identities code in a pool's sessions may get tokens for (`IDENTITY_ENDPOINT`).
/// Two values are equal when their `fingerprint` (the identity settings) is.
#[derive(Clone)]
pub struct SessionIdentity {
    /// What identifies the settings (a change is a template change).
    pub fingerprint: String,
    /// Issues the tokens.
    pub source: Arc<dyn TokenSource>,
}

impl PartialEq for SessionIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl std::fmt::Debug for SessionIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionIdentity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Everything needed to boot one session of a pool. Two templates that compare equal boot the
/// same session; any difference is a template change (roll-out).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Container name (`containers[0].name`).
    pub container_name: String,
    /// Image reference (`containers[0].image`).
    pub image: String,
    /// Command, args, env, resources, target port, egress.
    pub container: ContainerSpec,
    /// The template's other containers, in order.
    pub sidecars: Vec<SidecarTemplate>,
    /// Managed identities available to code in the session, if any.
    pub identity: Option<SessionIdentity>,
    /// Startup and Liveness probes of every container (each names the container port it
    /// checks; the containers share one network namespace).
    pub probes: Vec<ProbeSpec>,
    /// Credentials for the image's registry, if any.
    pub registry: Option<RegistryAuth>,
    /// Stop grace period.
    pub stop_grace: Duration,
    /// Whether a session that just became ready may get the TCG warm-up request
    /// ([`super::probe::warm_up`]). False for `OnContainerExit` pools: a container that ends
    /// after its work must see only its callers' requests.
    pub warm_up: bool,
}

impl Template {
    /// The first Startup probe, if configured.
    pub fn startup_probe(&self) -> Option<&ProbeSpec> {
        self.probes.iter().find(|p| p.kind == ProbeKind::Startup)
    }

    /// The first Liveness probe, if configured.
    pub fn liveness_probe(&self) -> Option<&ProbeSpec> {
        self.probes.iter().find(|p| p.kind == ProbeKind::Liveness)
    }

    /// Every Startup probe (one per container at most): all must pass before the session is
    /// ready.
    pub fn startup_probes(&self) -> impl Iterator<Item = &ProbeSpec> {
        self.probes.iter().filter(|p| p.kind == ProbeKind::Startup)
    }

    /// Every Liveness probe: the session is unhealthy when any of them fails.
    pub fn liveness_probes(&self) -> impl Iterator<Item = &ProbeSpec> {
        self.probes.iter().filter(|p| p.kind == ProbeKind::Liveness)
    }

    /// CPU and memory of the whole session: every container's added up.
    pub fn total_resources(&self) -> Resources {
        let mut r = self.container.resources;
        for s in &self.sidecars {
            r.cpu_millis = r.cpu_millis.saturating_add(s.resources.cpu_millis);
            r.memory_mib = r.memory_mib.saturating_add(s.resources.memory_mib);
        }
        r
    }

    /// The container spec a session is started with: [`Self::container`] with the whole
    /// session's resources ([`Self::total_resources`]) plus, as `extra_ports`, every port a
    /// probe names besides the target port (so each probe reaches
    /// the container port it names; the data plane still only reaches the target port).
    pub fn session_container(&self) -> ContainerSpec {
        let mut c = self.container.clone();
        c.resources = self.total_resources();
        for port in self.probes.iter().map(|p| p.action.port()) {
            if port != c.target_port && !c.extra_ports.contains(&port) {
                c.extra_ports.push(port);
            }
        }
        c
    }
}

/// A pool as the manager sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    /// `maxConcurrentSessions`, `readySessionInstances` and the lifecycle, in configured
    /// (unscaled) time; the manager applies its time scale.
    pub max_concurrent: u32,
    /// `readySessionInstances`.
    pub ready_instances: u32,
    /// Lifecycle kind and its configured seconds.
    pub lifecycle: LifecycleSpec,
    /// The session template.
    pub template: Template,
}

/// Lifecycle in configured seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleSpec {
    /// `Timed` with `cooldownPeriodInSeconds`.
    Timed {
        /// Seconds.
        cooldown_secs: u64,
    },
    /// `OnContainerExit` with `maxAlivePeriodInSeconds`.
    OnContainerExit {
        /// Seconds.
        max_alive_secs: u64,
    },
}

impl PoolSpec {
    /// The core's limits with durations scaled.
    pub fn limits(&self, scale: crate::clock::TimeScale) -> Limits {
        Limits {
            max_concurrent: self.max_concurrent,
            ready_instances: self.ready_instances,
            lifecycle: match self.lifecycle {
                LifecycleSpec::Timed { cooldown_secs } => Lifecycle::Timed {
                    cooldown: scale.secs(cooldown_secs),
                },
                LifecycleSpec::OnContainerExit { max_alive_secs } => Lifecycle::OnContainerExit {
                    max_alive: scale.secs(max_alive_secs),
                },
            },
        }
    }

    /// A minimal pool for tests: `image` on `target_port`, Timed with a 300 s cooldown.
    pub fn simple(image: &str, target_port: u16, max: u32, ready: u32) -> Self {
        Self {
            max_concurrent: max,
            ready_instances: ready,
            lifecycle: LifecycleSpec::Timed { cooldown_secs: 300 },
            template: Template {
                container_name: "main".into(),
                image: image.into(),
                container: ContainerSpec {
                    target_port,
                    ..ContainerSpec::default()
                },
                sidecars: Vec::new(),
                identity: None,
                probes: Vec::new(),
                registry: None,
                stop_grace: DEFAULT_STOP_GRACE,
                warm_up: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::probe::ProbeAction;

    #[test]
    fn session_container_forwards_the_ports_probes_name() {
        let mut spec = PoolSpec::simple("img:1", 8080, 2, 1);
        spec.template.probes = vec![
            ProbeSpec::new(ProbeKind::Startup, ProbeAction::Tcp { port: 8080 }),
            ProbeSpec::new(ProbeKind::Liveness, ProbeAction::Tcp { port: 9090 }),
        ];
        let c = spec.template.session_container();
        assert_eq!(c.target_port, 8080);
        assert_eq!(c.extra_ports, vec![9090]);
        assert_eq!(c.forwarded_ports(), vec![8080, 9090]);
        spec.template.probes.clear();
        assert!(spec.template.session_container().extra_ports.is_empty());
    }
}
