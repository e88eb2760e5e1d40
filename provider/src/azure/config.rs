//! Provider-level settings (`subscription_id`, `arm_endpoint`, `ca_certificate_file`, the
//! credential arguments) and building the clients from them.

use std::path::PathBuf;
use std::sync::Arc;

use super::arm::{parse_endpoint, ArmClient, DEFAULT_ARM_ENDPOINT};
use super::auth::settings::AuthSettings;
use super::auth::TokenSource;
use super::dataplane::DataPlaneClient;
use super::error::AzureError;
use super::http::build_http_client;
use super::lro::PollSettings;
use super::retry::RetryPolicy;

/// Everything the provider block (and `ARM_*` variables) configure.
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    /// `subscription_id` / `ARM_SUBSCRIPTION_ID`.
    pub subscription_id: Option<String>,
    /// `arm_endpoint` / `ARM_ENDPOINT` (default `https://management.azure.com`).
    pub arm_endpoint: Option<String>,
    /// `ca_certificate_file` / `ARM_CA_CERTIFICATE_FILE`.
    pub ca_certificate_file: Option<PathBuf>,
    /// Credential settings.
    pub auth: AuthSettings,
}

/// The configured clients every resource uses.
#[derive(Clone)]
pub struct AzureClients {
    /// Subscription resources are created in.
    pub subscription_id: String,
    /// ARM client.
    pub arm: ArmClient,
    /// Pool data-plane client.
    pub dataplane: DataPlaneClient,
}

impl ProviderSettings {
    /// Fills every unset field from the environment through `env` (normally `std::env::var`).
    pub fn merge_env(mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, AzureError> {
        let get = |k: &str| env(k).filter(|s| !s.trim().is_empty());
        self.subscription_id = self
            .subscription_id
            .filter(|s| !s.trim().is_empty())
            .or_else(|| get("ARM_SUBSCRIPTION_ID"))
            .or_else(|| get("AZURE_SUBSCRIPTION_ID"));
        self.arm_endpoint = self
            .arm_endpoint
            .filter(|s| !s.trim().is_empty())
            .or_else(|| get("ARM_ENDPOINT"));
        if self.ca_certificate_file.is_none() {
            self.ca_certificate_file = get("ARM_CA_CERTIFICATE_FILE").map(PathBuf::from);
        }
        self.auth = self.auth.merge_env(env)?;
        Ok(self)
    }

    /// Validates the settings and builds the clients.
    pub fn build(&self) -> Result<AzureClients, AzureError> {
        let subscription_id = self.subscription_id.clone().ok_or_else(|| {
            AzureError::Config(
                "`subscription_id` is not set: set it in the provider block or export ARM_SUBSCRIPTION_ID"
                    .into(),
            )
        })?;
        let endpoint = self.arm_endpoint.as_deref().unwrap_or(DEFAULT_ARM_ENDPOINT);
        parse_endpoint(endpoint, "arm_endpoint")?;
        if let Some(a) = &self.auth.authority_host {
            parse_endpoint(a, "authority_host")?;
        }
        let http = build_http_client(self.ca_certificate_file.as_deref())?;
        let tokens = self.auth.build(http.clone())?;
        Self::with_tokens(subscription_id, endpoint, http, tokens)
    }

    /// Builds clients with a given token source (tests, or callers with their own credential).
    pub fn with_tokens(
        subscription_id: String,
        endpoint: &str,
        http: reqwest::Client,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<AzureClients, AzureError> {
        let arm = ArmClient::new(
            http,
            endpoint,
            tokens,
            RetryPolicy::default(),
            PollSettings::default(),
        )?;
        let dataplane = DataPlaneClient::new(arm.pipeline().clone());
        Ok(AzureClients {
            subscription_id,
            arm,
            dataplane,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn emulator_env_builds_clients() {
        let s = ProviderSettings::default()
            .merge_env(&env(&[
                ("ARM_SUBSCRIPTION_ID", "sub"),
                ("ARM_TENANT_ID", "t"),
                ("ARM_CLIENT_ID", "c"),
                ("ARM_CLIENT_SECRET", "s"),
                ("ARM_ENDPOINT", "http://127.0.0.1:7443"),
                ("ARM_AUTHORITY_HOST", "http://127.0.0.1:7443"),
            ]))
            .unwrap();
        let c = s.build().unwrap();
        assert_eq!(c.subscription_id, "sub");
        assert_eq!(c.arm.endpoint(), "http://127.0.0.1:7443");
    }

    #[test]
    fn missing_subscription_is_named() {
        let e = ProviderSettings::default().build().err().unwrap();
        assert!(e.to_string().contains("ARM_SUBSCRIPTION_ID"), "{e}");
    }

    #[test]
    fn bad_authority_is_named() {
        let s = ProviderSettings {
            subscription_id: Some("s".into()),
            auth: AuthSettings {
                authority_host: Some("nope".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(s
            .build()
            .err()
            .unwrap()
            .to_string()
            .contains("authority_host"));
    }
}
