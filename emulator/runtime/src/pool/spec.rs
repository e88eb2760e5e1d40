//! What the pool manager needs to know about a pool: its limits and its session template
//! (image, container spec, probes, registry credentials), already validated and with secrets
//! resolved. Its callers build it (the emulator from the ARM model); the manager never reads
//! a wire format.

use std::time::Duration;

use super::core::{Lifecycle, Limits};
use super::probe::{ProbeKind, ProbeSpec};
use crate::vm::ContainerSpec;

/// Grace period between SIGTERM and kill when a session is stopped (unless a probe sets
/// `terminationGracePeriodSeconds`).
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(5);

/// Registry credentials with the password secret resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    /// Registry host, e.g. `myregistry.azurecr.io`.
    pub server: String,
    /// User name.
    pub username: String,
    /// Password (the value of `passwordSecretRef`).
    pub password: String,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
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
    /// Startup and Liveness probes.
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
    /// The Startup probe, if configured.
    pub fn startup_probe(&self) -> Option<&ProbeSpec> {
        self.probes.iter().find(|p| p.kind == ProbeKind::Startup)
    }

    /// The Liveness probe, if configured.
    pub fn liveness_probe(&self) -> Option<&ProbeSpec> {
        self.probes.iter().find(|p| p.kind == ProbeKind::Liveness)
    }

    /// The container spec a session is started with: [`Self::container`] plus, as
    /// `extra_ports`, every port a probe names besides the target port (so each probe reaches
    /// the container port it names; the data plane still only reaches the target port).
    pub fn session_container(&self) -> ContainerSpec {
        let mut c = self.container.clone();
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
