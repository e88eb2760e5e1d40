//! Test knobs of the fake backend: backend-wide defaults ([`FakeOptions`]) that a container's
//! environment can override per pool (`SESSIONS_FAKE_*`), so ARM-level tests can ask for a
//! misbehaving container without touching the backend.

use std::time::Duration;

use crate::vm::error::{BackendError, Result};

/// How fake sessions misbehave. The default is a perfectly healthy container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeOptions {
    /// `/health` and `/ready` answer 503 from the start (until `POST /healthy`).
    /// Env: `SESSIONS_FAKE_UNHEALTHY=1`.
    pub unhealthy_from_start: bool,
    /// The process "starts" (and the port answers) only after this delay.
    /// Env: `SESSIONS_FAKE_READY_DELAY_MS=N`.
    pub ready_delay: Duration,
    /// The process exits with code 0 after answering this many requests.
    /// Env: `SESSIONS_FAKE_EXIT_AFTER_REQUESTS=N`.
    pub exit_after_requests: Option<u32>,
    /// The process starts but `/health` and `/ready` never answer 200 (503 forever, even after
    /// `POST /healthy`). Env: `SESSIONS_FAKE_NEVER_READY=1`.
    pub never_ready: bool,
    /// `start` fails (as if the image could not boot). Env: `SESSIONS_FAKE_FAIL_START=1`.
    pub fail_start: bool,
    /// A graceful stop (SIGTERM) takes this long before the process exits (a container that
    /// cleans up). Env: `SESSIONS_FAKE_STOP_DELAY_MS=N`.
    pub stop_delay: Duration,
}

/// Prefix of the environment variables that override [`FakeOptions`] per container.
pub const ENV_PREFIX: &str = "SESSIONS_FAKE_";

impl FakeOptions {
    /// These options with any `SESSIONS_FAKE_*` variables from the container env applied.
    pub fn with_env(&self, env: &[(String, String)]) -> Result<Self> {
        let mut out = self.clone();
        for (name, value) in env {
            let Some(knob) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let flag = || matches!(value.as_str(), "1" | "true" | "yes");
            let number = |field: &'static str| {
                value.parse::<u64>().map_err(|_| BackendError::InvalidSpec {
                    field,
                    message: format!("must be a whole number, got {value:?}"),
                })
            };
            match knob {
                "UNHEALTHY" => out.unhealthy_from_start = flag(),
                "NEVER_READY" => out.never_ready = flag(),
                "FAIL_START" => out.fail_start = flag(),
                "READY_DELAY_MS" => {
                    out.ready_delay =
                        Duration::from_millis(number("env.SESSIONS_FAKE_READY_DELAY_MS")?)
                }
                "STOP_DELAY_MS" => {
                    out.stop_delay =
                        Duration::from_millis(number("env.SESSIONS_FAKE_STOP_DELAY_MS")?)
                }
                "EXIT_AFTER_REQUESTS" => {
                    let n = number("env.SESSIONS_FAKE_EXIT_AFTER_REQUESTS")?;
                    out.exit_after_requests = Some(u32::try_from(n).unwrap_or(u32::MAX));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_defaults() {
        let base = FakeOptions::default();
        let got = base
            .with_env(&env(&[
                ("SESSIONS_FAKE_UNHEALTHY", "1"),
                ("SESSIONS_FAKE_READY_DELAY_MS", "250"),
                ("SESSIONS_FAKE_EXIT_AFTER_REQUESTS", "3"),
                ("OTHER", "x"),
            ]))
            .expect("valid knobs");
        assert!(got.unhealthy_from_start);
        assert_eq!(got.ready_delay, Duration::from_millis(250));
        assert_eq!(got.exit_after_requests, Some(3));
        assert!(!got.never_ready);
    }

    #[test]
    fn bad_number_names_the_variable() {
        let err = FakeOptions::default()
            .with_env(&env(&[("SESSIONS_FAKE_READY_DELAY_MS", "soon")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("SESSIONS_FAKE_READY_DELAY_MS"), "{err}");
    }
}
