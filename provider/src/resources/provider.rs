//! The `azuresessions` provider: its configuration block (azurerm's argument names and `ARM_*`
//! environment variables, plus `arm_endpoint`, `authority_host`, `ca_certificate_file`) and the
//! list of types. `configure` builds the [`AzureClients`] every type gets through `Ctx::data`.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::azure::auth::settings::AuthSettings;
use crate::azure::config::{AzureClients, ProviderSettings};
use crate::plugin::context::ProviderData;
use crate::plugin::prelude::*;
use crate::plugin::schema::{Attribute, Block};

/// Provider type name.
pub const PROVIDER_NAME: &str = "azuresessions";

/// Looks up an environment variable (injectable for tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The provider.
#[derive(Default)]
pub struct AzureSessionsProvider {
    env: Option<EnvLookup>,
}

impl std::fmt::Debug for AzureSessionsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureSessionsProvider")
            .finish_non_exhaustive()
    }
}

impl AzureSessionsProvider {
    /// The provider reading `ARM_*` from the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// The provider reading environment variables through `env` (tests run in parallel and must
    /// not mutate the process environment).
    pub fn with_env(env: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        AzureSessionsProvider {
            env: Some(Arc::new(env)),
        }
    }

    fn getenv(&self, k: &str) -> Option<String> {
        match &self.env {
            Some(f) => f(k),
            None => std::env::var(k).ok(),
        }
    }
}

/// The provider block schema.
pub fn schema() -> Schema {
    let s = |n: &str, d: &str| Attribute::string(n).optional().description(d);
    let b = |n: &str, d: &str| Attribute::bool(n).optional().description(d);
    Schema::new(
        0,
        Block::new()
            .description(
                "Manages Azure Container Apps dynamic sessions (custom container session pools) in \
                 Azure or in the local `sessions-emulator`. Arguments default to azurerm's `ARM_*` \
                 environment variables, so `eval \"$(sessions-emulator env)\"` configures it.",
            )
            .attribute(s("subscription_id", "Subscription id. Env `ARM_SUBSCRIPTION_ID`."))
            .attribute(s("tenant_id", "Entra tenant id. Env `ARM_TENANT_ID`."))
            .attribute(s("client_id", "Client (application) id of a service principal or user-assigned identity. Env `ARM_CLIENT_ID`."))
            .attribute(s("client_secret", "Client secret of the service principal. Env `ARM_CLIENT_SECRET`.").sensitive())
            .attribute(b("use_cli", "Authenticate with the Azure CLI (`az login`) when nothing else is configured. Default `true`. Env `ARM_USE_CLI`."))
            .attribute(b("use_msi", "Authenticate with a managed identity (IMDS). Env `ARM_USE_MSI`."))
            .attribute(b("use_oidc", "Authenticate with an OIDC federated token (workload identity). Env `ARM_USE_OIDC`; the token comes from `oidc_token`, `ARM_OIDC_TOKEN`, `ARM_OIDC_TOKEN_FILE_PATH` or `AZURE_FEDERATED_TOKEN_FILE`."))
            .attribute(s("oidc_token", "OIDC federated token. Env `ARM_OIDC_TOKEN`.").sensitive())
            .attribute(s("oidc_token_file_path", "File holding the OIDC token. Env `ARM_OIDC_TOKEN_FILE_PATH`."))
            .attribute(s("arm_endpoint", "Azure Resource Manager endpoint. Default `https://management.azure.com`; the emulator's URL for local use. Env `ARM_ENDPOINT`."))
            .attribute(s("authority_host", "Entra authority host. Default `https://login.microsoftonline.com`; the emulator's URL for local use. Env `ARM_AUTHORITY_HOST`."))
            .attribute(s("ca_certificate_file", "Extra PEM CA certificate(s) to trust, e.g. the emulator's `ca.pem`. Env `ARM_CA_CERTIFICATE_FILE`.")),
    )
}

fn opt_s(config: &Value, name: &str) -> TfResult<Option<String>> {
    config
        .opt_str(name)
        .map(|s| s.map(str::to_string))
        .map_err(Diagnostics::from)
}

fn opt_b(config: &Value, name: &str) -> TfResult<Option<bool>> {
    config.opt_bool(name).map_err(Diagnostics::from)
}

/// Reads the provider block into settings (before environment merging).
pub fn settings_from_config(config: &Value) -> TfResult<ProviderSettings> {
    Ok(ProviderSettings {
        subscription_id: opt_s(config, "subscription_id")?,
        arm_endpoint: opt_s(config, "arm_endpoint")?,
        ca_certificate_file: opt_s(config, "ca_certificate_file")?.map(PathBuf::from),
        auth: AuthSettings {
            tenant_id: opt_s(config, "tenant_id")?,
            client_id: opt_s(config, "client_id")?,
            client_secret: opt_s(config, "client_secret")?,
            use_cli: opt_b(config, "use_cli")?,
            use_msi: opt_b(config, "use_msi")?,
            use_oidc: opt_b(config, "use_oidc")?,
            oidc_token: opt_s(config, "oidc_token")?,
            oidc_token_file: opt_s(config, "oidc_token_file_path")?.map(PathBuf::from),
            msi_endpoint: None,
            authority_host: opt_s(config, "authority_host")?,
        },
    })
}

fn config_error(e: impl std::fmt::Display) -> Diagnostics {
    Diagnostic::error("Invalid provider configuration", e.to_string()).into()
}

#[async_trait]
impl Provider for AzureSessionsProvider {
    fn type_name(&self) -> &str {
        PROVIDER_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn configure(&self, _ctx: &Ctx, config: &Value) -> TfResult<ProviderData> {
        if !config.is_wholly_known() {
            return Err(Diagnostic::error(
                "Provider configuration is not known yet",
                "Some `provider \"azuresessions\"` arguments depend on values only known after apply; \
                 use known values (or ARM_* environment variables).",
            )
            .into());
        }
        let env = |k: &str| self.getenv(k);
        let settings = settings_from_config(config)?
            .merge_env(&env)
            .map_err(config_error)?;
        let clients: AzureClients = settings.build().map_err(config_error)?;
        Ok(Arc::new(clients))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(super::session_pool::SessionPoolResource),
            Arc::new(super::diagnostic_setting::DiagnosticSettingResource),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![
            Arc::new(crate::data_sources::session_pool::SessionPoolDataSource),
            Arc::new(crate::data_sources::sessions::SessionsDataSource),
        ]
    }

    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![Arc::new(crate::actions::stop_session::StopSessionAction)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_valid() {
        schema().validate().unwrap();
    }

    #[tokio::test]
    async fn configure_reports_missing_subscription() {
        let p = AzureSessionsProvider::with_env(|_| None);
        let cfg = Value::object([("use_cli", Value::from(true))]);
        let e = p.configure(&Ctx::detached(), &cfg).await.err().unwrap();
        assert!(e.to_string().contains("subscription_id"), "{e}");
    }

    #[tokio::test]
    async fn configure_builds_clients_from_env() {
        let p = AzureSessionsProvider::with_env(|k| match k {
            "ARM_SUBSCRIPTION_ID" => Some("sub".into()),
            "ARM_ENDPOINT" => Some("http://127.0.0.1:1".into()),
            _ => None,
        });
        let data = p
            .configure(&Ctx::detached(), &Value::object([("use_cli", Value::Null)]))
            .await
            .unwrap();
        let clients = data.downcast::<AzureClients>().unwrap();
        assert_eq!(clients.subscription_id, "sub");
    }
}
