//! The pool the image check creates: `--probe`, `--env`, `--cpu`, `--memory` parsed and turned
//! into one session pool body (api-version 2026-07-01).

use serde_json::{json, Value};

/// The api-version of every ARM call of the check.
pub const API_VERSION: &str = "2026-07-01";

/// A `--probe` value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// Bad `--probe`.
    #[error("--probe '{0}': expected startup|liveness, then :http:PATH or :tcp (e.g. startup:http:/health, liveness:tcp)")]
    Probe(String),
    /// Bad `--env`.
    #[error("--env '{0}': expected NAME=VALUE with a name of letters, digits and '_'")]
    Env(String),
    /// Bad `--memory`.
    #[error("--memory '{0}': expected a size in Gi such as 0.5Gi or 1Gi")]
    Memory(String),
    /// Bad `--cpu`.
    #[error("--cpu {0}: expected a number of cores between 0.25 and 4, e.g. 0.5")]
    Cpu(String),
}

/// When a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// Gates readiness.
    Startup,
    /// Replaces the session after failures.
    Liveness,
}

/// What a probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    /// `GET path` on the target port.
    Http(String),
    /// TCP connect to the target port.
    Tcp,
}

/// One `--probe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Startup or Liveness.
    pub kind: ProbeKind,
    /// HTTP or TCP.
    pub action: ProbeAction,
}

impl std::str::FromStr for Probe {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let bad = || SpecError::Probe(s.to_string());
        let (kind, rest) = match s.split_once(':') {
            Some((k, r)) => (k, Some(r)),
            None => (s, None),
        };
        let kind = match kind.to_ascii_lowercase().as_str() {
            "startup" => ProbeKind::Startup,
            "liveness" => ProbeKind::Liveness,
            _ => return Err(bad()),
        };
        let action = match rest {
            None | Some("tcp") => ProbeAction::Tcp,
            Some(r) => match r.split_once(':') {
                Some(("http", path)) if path.starts_with('/') => {
                    ProbeAction::Http(path.to_string())
                }
                _ => return Err(bad()),
            },
        };
        Ok(Probe { kind, action })
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = match self.kind {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
        };
        match &self.action {
            ProbeAction::Http(p) => write!(f, "{k} probe (HTTP GET {p})"),
            ProbeAction::Tcp => write!(f, "{k} probe (TCP)"),
        }
    }
}

/// One `--env NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

impl std::str::FromStr for EnvVar {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let (k, v) = s.split_once('=').ok_or_else(|| SpecError::Env(s.into()))?;
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SpecError::Env(s.into()));
        }
        Ok(EnvVar {
            name: k.into(),
            value: v.into(),
        })
    }
}

/// Checks `--memory` (`0.5Gi`, `1Gi`, ...).
pub fn parse_memory(s: &str) -> Result<String, SpecError> {
    let n = s
        .strip_suffix("Gi")
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| *n > 0.0 && *n <= 16.0)
        .ok_or_else(|| SpecError::Memory(s.into()))?;
    let _ = n;
    Ok(s.to_string())
}

/// Checks `--cpu`.
pub fn parse_cpu(s: &str) -> Result<f64, SpecError> {
    s.parse::<f64>()
        .ok()
        .filter(|c| (0.25..=4.0).contains(c))
        .ok_or_else(|| SpecError::Cpu(s.into()))
}

/// Probe timings of the pool (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTiming {
    /// `periodSeconds`.
    pub period: u32,
    /// `failureThreshold`.
    pub failure_threshold: u32,
}

/// Everything the pool body needs.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    /// Environment id.
    pub environment_id: String,
    /// Image reference in the store (or a registry).
    pub image: String,
    /// The container's port.
    pub target_port: u16,
    /// Probes.
    pub probes: Vec<Probe>,
    /// Probe timings.
    pub timing: ProbeTiming,
    /// Env vars.
    pub env: Vec<EnvVar>,
    /// Cores.
    pub cpu: f64,
    /// Memory (`1Gi`).
    pub memory: String,
}

/// The ARM body: one ready session, at most two at once (the check binds two identifiers),
/// Timed lifecycle, egress disabled.
pub fn pool_body(s: &PoolSpec) -> Value {
    let probes: Vec<Value> = s
        .probes
        .iter()
        .map(|p| {
            let mut v = match &p.action {
                ProbeAction::Http(path) => {
                    json!({"httpGet": {"path": path, "port": s.target_port, "scheme": "HTTP"}})
                }
                ProbeAction::Tcp => json!({"tcpSocket": {"port": s.target_port}}),
            };
            v["type"] = json!(match p.kind {
                ProbeKind::Startup => "Startup",
                ProbeKind::Liveness => "Liveness",
            });
            v["initialDelaySeconds"] = json!(1);
            v["periodSeconds"] = json!(s.timing.period);
            v["failureThreshold"] = json!(s.timing.failure_threshold);
            v["successThreshold"] = json!(1);
            v["timeoutSeconds"] = json!(s.timing.period.clamp(1, 5));
            v
        })
        .collect();
    let env: Vec<Value> = s
        .env
        .iter()
        .map(|e| json!({"name": e.name, "value": e.value}))
        .collect();
    json!({
        "location": "eastus",
        "properties": {
            "environmentId": s.environment_id,
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {
                "containers": [{
                    "name": "main",
                    "image": s.image,
                    "env": env,
                    "resources": {"cpu": s.cpu, "memory": s.memory},
                    "probes": probes,
                }],
                "ingress": {"targetPort": s.target_port},
            },
            "sessionNetworkConfiguration": {"status": "EgressDisabled"},
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_probes() {
        assert_eq!(
            "startup:http:/health".parse::<Probe>().unwrap(),
            Probe {
                kind: ProbeKind::Startup,
                action: ProbeAction::Http("/health".into())
            }
        );
        assert_eq!(
            "liveness:tcp".parse::<Probe>().unwrap().action,
            ProbeAction::Tcp
        );
        assert_eq!("startup".parse::<Probe>().unwrap().action, ProbeAction::Tcp);
        for bad in [
            "ready:tcp",
            "startup:http:health",
            "startup:udp",
            "liveness:http",
        ] {
            let e = bad.parse::<Probe>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn parses_env_cpu_memory() {
        assert_eq!(
            "A_1=x=y".parse::<EnvVar>().unwrap(),
            EnvVar {
                name: "A_1".into(),
                value: "x=y".into()
            }
        );
        assert!("=x".parse::<EnvVar>().is_err());
        assert!("A-B=1".parse::<EnvVar>().is_err());
        assert_eq!(parse_memory("1Gi").unwrap(), "1Gi");
        assert!(parse_memory("1G").is_err());
        assert_eq!(parse_cpu("0.5").unwrap(), 0.5);
        assert!(parse_cpu("8").unwrap_err().to_string().contains("--cpu 8"));
    }

    #[test]
    fn pool_body_has_the_probes_on_the_target_port() {
        let b = pool_body(&PoolSpec {
            environment_id: "/e".into(),
            image: "localhost/app:v1".into(),
            target_port: 9000,
            probes: vec![
                "startup:http:/ready".parse().unwrap(),
                "liveness:tcp".parse().unwrap(),
            ],
            timing: ProbeTiming {
                period: 2,
                failure_threshold: 4,
            },
            env: vec!["K=V".parse().unwrap()],
            cpu: 0.5,
            memory: "1Gi".into(),
        });
        let c = &b["properties"]["customContainerTemplate"]["containers"][0];
        assert_eq!(c["probes"][0]["type"], "Startup");
        assert_eq!(c["probes"][0]["httpGet"]["port"], 9000);
        assert_eq!(c["probes"][1]["tcpSocket"]["port"], 9000);
        assert_eq!(c["probes"][1]["failureThreshold"], 4);
        assert_eq!(c["env"][0]["name"], "K");
        assert_eq!(
            b["properties"]["customContainerTemplate"]["ingress"]["targetPort"],
            9000
        );
        assert_eq!(
            b["properties"]["scaleConfiguration"]["readySessionInstances"],
            1
        );
    }
}
