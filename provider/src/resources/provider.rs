//! The `azuresessions` provider: its configuration block (azurerm's argument names and `ARM_*`
//! environment variables, plus `arm_endpoint`, `authority_host`, `ca_certificate_file`) and the
//! list of types. `configure` builds the [`AzureClients`] every type gets through `Ctx::data`.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::azure::auth::settings::AuthSettings;
use crate::azure::config::{AzureClients, ProviderSettings};
use crate::plugin::context::ProviderData;
use crate::plugin::model::{Model, Tf};
use crate::plugin::prelude::*;

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

/// Manages Azure Container Apps dynamic sessions (custom container session pools) in Azure or
/// in the local `sessions-emulator`. Arguments default to azurerm's `ARM_*` environment
/// variables, so `eval "$(sessions-emulator env)"` configures it.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct ProviderConfig {
    /// Subscription id. Env `ARM_SUBSCRIPTION_ID`.
    #[tf(optional)]
    pub subscription_id: Tf<String>,
    /// Entra tenant id. Env `ARM_TENANT_ID`.
    #[tf(optional)]
    pub tenant_id: Tf<String>,
    /// Client (application) id of a service principal or user-assigned identity. Env
    /// `ARM_CLIENT_ID`.
    #[tf(optional)]
    pub client_id: Tf<String>,
    /// Client secret of the service principal. Env `ARM_CLIENT_SECRET`.
    #[tf(optional, sensitive)]
    pub client_secret: Tf<String>,
    /// Authenticate with the Azure CLI (`az login`) when nothing else is configured. Default
    /// `true`. Env `ARM_USE_CLI`.
    #[tf(optional)]
    pub use_cli: Tf<bool>,
    /// Authenticate with a managed identity (IMDS). Env `ARM_USE_MSI`.
    #[tf(optional)]
    pub use_msi: Tf<bool>,
    /// Authenticate with an OIDC federated token (workload identity). Env `ARM_USE_OIDC`; the
    /// token comes from `oidc_token`, `ARM_OIDC_TOKEN`, `ARM_OIDC_TOKEN_FILE_PATH` or
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    #[tf(optional)]
    pub use_oidc: Tf<bool>,
    /// OIDC federated token. Env `ARM_OIDC_TOKEN`.
    #[tf(optional, sensitive)]
    pub oidc_token: Tf<String>,
    /// File holding the OIDC token. Env `ARM_OIDC_TOKEN_FILE_PATH`.
    #[tf(optional)]
    pub oidc_token_file_path: Tf<String>,
    /// Azure Resource Manager endpoint. Default `https://management.azure.com`; the emulator's
    /// URL for local use. Env `ARM_ENDPOINT`.
    #[tf(optional)]
    pub arm_endpoint: Tf<String>,
    /// Entra authority host. Default `https://login.microsoftonline.com`; the emulator's URL
    /// for local use. Env `ARM_AUTHORITY_HOST`.
    #[tf(optional)]
    pub authority_host: Tf<String>,
    /// Extra PEM CA certificate(s) to trust, e.g. the emulator's `ca.pem`. Env
    /// `ARM_CA_CERTIFICATE_FILE`.
    #[tf(optional)]
    pub ca_certificate_file: Tf<String>,
}

/// The provider block schema.
pub fn schema() -> Schema {
    Schema::new(0, ProviderConfig::block())
}

fn known(v: &Tf<String>) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Reads the provider block into settings (before environment merging).
pub fn settings_from_config(config: &Value) -> TfResult<ProviderSettings> {
    let c = ProviderConfig::from_value(config)?;
    Ok(ProviderSettings {
        subscription_id: known(&c.subscription_id),
        arm_endpoint: known(&c.arm_endpoint),
        ca_certificate_file: known(&c.ca_certificate_file).map(PathBuf::from),
        auth: AuthSettings {
            tenant_id: known(&c.tenant_id),
            client_id: known(&c.client_id),
            client_secret: known(&c.client_secret),
            use_cli: c.use_cli.known().copied(),
            use_msi: c.use_msi.known().copied(),
            use_oidc: c.use_oidc.known().copied(),
            oidc_token: known(&c.oidc_token),
            oidc_token_file: known(&c.oidc_token_file_path).map(PathBuf::from),
            msi_endpoint: None,
            authority_host: known(&c.authority_host),
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

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        vec![
            Arc::new(crate::functions::parse_session_pool_id::ParseSessionPoolId),
            Arc::new(crate::functions::session_pool_id::SessionPoolIdFn),
        ]
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
