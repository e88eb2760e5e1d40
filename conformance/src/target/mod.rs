//! What the cases run against: an emulator (started by us or already running) or Azure.
//! A [`Target`] is the endpoints, the ids of the environment the cases create pools in, the
//! credentials and an HTTP client; it hands out cached tokens per [`Scope`] and remembers
//! every resource the run creates so that [`cleanup`] deletes them at the end.

pub mod auth;
pub mod azure;
pub mod cleanup;
pub mod local;

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use self::auth::{Credential, TokenError};

/// The tag every resource of a run carries: `sessions-conformance-run: {run id}`.
pub const RUN_TAG: &str = "sessions-conformance-run";

/// A token audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// ARM (`https://management.azure.com/.default`).
    Arm,
    /// The pool data plane (`https://dynamicsessions.io/.default`).
    DataPlane,
    /// The Log Analytics query API (`https://api.loganalytics.io/.default`).
    LogAnalytics,
}

impl Scope {
    /// The OAuth scope string.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Arm => "https://management.azure.com/.default",
            Scope::DataPlane => "https://dynamicsessions.io/.default",
            Scope::LogAnalytics => "https://api.loganalytics.io/.default",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which service the target is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A `sessions-emulator`.
    Emulator,
    /// Azure.
    Azure,
}

/// What runs sessions on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// Real sandboxes: QEMU microVMs (emulator `--backend qemu`) or Azure's.
    Real,
    /// The emulator's fake in-process sessions (`--backend fake`).
    Fake,
}

/// A resource the run created, deleted at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its ARM id.
    pub id: String,
    /// The api-version to delete it with.
    pub api_version: String,
}

/// Everything a case needs to reach the service.
pub struct Target {
    /// Emulator or Azure.
    pub kind: Kind,
    /// ARM base URL (no trailing `/`): the emulator's endpoint, or
    /// `https://management.azure.com`.
    pub arm: String,
    /// Token authority host (no trailing `/`): the emulator's endpoint or
    /// `https://login.microsoftonline.com`.
    pub authority: String,
    /// Tenant id.
    pub tenant: String,
    /// Subscription id.
    pub subscription: String,
    /// Resource group the cases create pools in.
    pub resource_group: String,
    /// The managed environment pools are created in (ARM id).
    pub environment_id: String,
    /// Region of new resources.
    pub location: String,
    /// A Log Analytics workspace (ARM id) for the observability suite, when there is one.
    pub workspace_id: Option<String>,
    /// Base URL of the Log Analytics query API (`https://api.loganalytics.io` on Azure).
    pub log_analytics: String,
    /// What runs sessions.
    pub sessions: Sessions,
    /// The emulator's `--time-scale` (1 on Azure): lifecycle and probe cases wait
    /// configured durations times this.
    pub time_scale: f64,
    /// The image pools run: the sample session image (its routes are what data-plane cases
    /// call), `localhost/sample-session:latest` on the emulator.
    pub image: String,
    /// The run's id (lower-case letters and digits), part of every name the run creates.
    pub run_id: String,
    /// HTTP client trusting the emulator's CA (or the platform roots for Azure).
    pub client: reqwest::Client,
    /// How tokens are obtained.
    pub credential: Credential,
    /// Snapshot comparison or recording.
    pub snapshots: crate::snapshot::Snapshots,
    /// The emulator's CA file (for child processes such as `terraform`).
    pub ca_file: Option<std::path::PathBuf>,
    /// The emulator's values (ready line, or `sessions-emulator env`); `None` on Azure.
    pub ready: Option<crate::emulator::Ready>,
    /// `--provider-dir`: where `terraform-provider-azuresessions` is (the terraform suite).
    pub provider_dir: Option<std::path::PathBuf>,
    tokens: tokio::sync::Mutex<HashMap<Scope, (String, Instant)>>,
    created: Mutex<Vec<Created>>,
}

/// The parts of a [`Target`] a caller chooses.
pub struct TargetSpec {
    /// Emulator or Azure.
    pub kind: Kind,
    /// ARM base URL.
    pub arm: String,
    /// Token authority host.
    pub authority: String,
    /// Tenant id.
    pub tenant: String,
    /// Subscription id.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Managed environment id.
    pub environment_id: String,
    /// Region.
    pub location: String,
    /// Workspace id.
    pub workspace_id: Option<String>,
    /// Log Analytics query API base URL.
    pub log_analytics: String,
    /// What runs sessions.
    pub sessions: Sessions,
    /// Time scale.
    pub time_scale: f64,
    /// Image of the pools.
    pub image: String,
    /// Run id.
    pub run_id: String,
    /// Extra CA (PEM) to trust, for the emulator.
    pub ca_pem: Option<Vec<u8>>,
    /// Credentials.
    pub credential: Credential,
}

/// A new run id: `r` and five random lower-case letters or digits.
pub fn new_run_id() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..5)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    format!("r{tail}")
}

/// A run id is 2 to 12 lower-case letters and digits starting with a letter.
pub fn valid_run_id(id: &str) -> bool {
    (2..=12).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Target {
    /// Builds the target and its HTTP client.
    pub fn new(spec: TargetSpec) -> Result<Self, TokenError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30));
        if let Some(pem) = &spec.ca_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| TokenError::Config(format!("the emulator's CA is no PEM: {e}")))?;
            builder = builder.tls_certs_only([cert]);
        }
        let client = builder
            .build()
            .map_err(|e| TokenError::Config(format!("HTTP client: {e}")))?;
        Ok(Target {
            kind: spec.kind,
            arm: spec.arm.trim_end_matches('/').to_string(),
            authority: spec.authority.trim_end_matches('/').to_string(),
            tenant: spec.tenant,
            subscription: spec.subscription,
            resource_group: spec.resource_group,
            environment_id: spec.environment_id,
            location: spec.location,
            workspace_id: spec.workspace_id,
            log_analytics: spec.log_analytics.trim_end_matches('/').to_string(),
            sessions: spec.sessions,
            time_scale: spec.time_scale,
            image: spec.image,
            run_id: spec.run_id,
            client,
            credential: spec.credential,
            snapshots: crate::snapshot::Snapshots::default(),
            ca_file: None,
            provider_dir: None,
            ready: None,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
            created: Mutex::new(Vec::new()),
        })
    }

    /// True for an emulator target.
    pub fn is_emulator(&self) -> bool {
        self.kind == Kind::Emulator
    }

    /// `{arm}{path_and_query}`.
    pub fn arm_url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.arm)
    }

    /// `/subscriptions/{s}/resourceGroups/{rg}`.
    pub fn group_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription, self.resource_group
        )
    }

    /// The ARM id of session pool `name` in the target's resource group.
    pub fn pool_path(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.App/sessionPools/{name}",
            self.group_path()
        )
    }

    /// `duration` scaled by the emulator's time scale.
    pub fn scaled(&self, duration: Duration) -> Duration {
        duration.mul_f64(self.time_scale)
    }

    /// A token for `scope`, cached until five minutes before it expires.
    pub async fn token(&self, scope: Scope) -> Result<String, TokenError> {
        let mut cache = self.tokens.lock().await;
        if let Some((t, until)) = cache.get(&scope) {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let tok = self
            .credential
            .token(&self.client, &self.authority, &self.tenant, scope.as_str())
            .await?;
        let life = tok.expires_in.saturating_sub(300).max(30);
        cache.insert(
            scope,
            (
                tok.access_token.clone(),
                Instant::now() + Duration::from_secs(life),
            ),
        );
        Ok(tok.access_token)
    }

    /// Remembers `id` for deletion at the end of the run.
    pub fn track(&self, id: &str, api_version: &str) {
        let mut c = self.created.lock().expect("created");
        if !c.iter().any(|x| x.id.eq_ignore_ascii_case(id)) {
            c.push(Created {
                id: id.to_string(),
                api_version: api_version.to_string(),
            });
        }
    }

    /// Forgets `id` (a case deleted it itself).
    pub fn untrack(&self, id: &str) {
        self.created
            .lock()
            .expect("created")
            .retain(|x| !x.id.eq_ignore_ascii_case(id));
    }

    /// Takes the list of what is still to delete, newest first.
    pub fn take_created(&self) -> Vec<Created> {
        let mut c = std::mem::take(&mut *self.created.lock().expect("created"));
        c.reverse();
        c
    }

    /// The `tags` every created resource carries.
    pub fn run_tags(&self) -> Value {
        serde_json::json!({ RUN_TAG: self.run_id })
    }

    /// The normaliser of this run's answers: subscription, resource group, tenant, client
    /// id and run id become placeholders.
    pub fn normaliser(&self) -> crate::normalise::Normaliser {
        let env_name = self.environment_id.rsplit('/').next().unwrap_or_default();
        crate::normalise::Normaliser::new()
            .literal(&self.subscription, "subscription")
            .literal(&self.resource_group, "resourceGroup")
            .literal(&self.tenant, "tenant")
            .literal(env_name, "environment")
            .literal(&self.run_id, "run")
    }

    /// A one-line description for the report header.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Emulator => format!(
                "emulator {} ({} sessions, time scale {})",
                self.arm,
                match self.sessions {
                    Sessions::Real => "microVM",
                    Sessions::Fake => "fake",
                },
                self.time_scale
            ),
            Kind::Azure => format!(
                "Azure subscription {} resource group {}",
                self.subscription, self.resource_group
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_short_lowercase_and_valid() {
        for _ in 0..50 {
            let id = new_run_id();
            assert!(valid_run_id(&id), "{id}");
        }
        assert!(!valid_run_id("R12"));
        assert!(!valid_run_id("1ab"));
        assert!(!valid_run_id("a"));
        assert!(!valid_run_id("abc-d"));
    }
}
