//! The `azuresessions` provider: its configuration block (azurerm's argument names and `ARM_*`
//! environment variables, plus `arm_endpoint`, `authority_host`, `ca_certificate_file`) and the
//! list of types. `configure` builds the [`AzureClients`] every type gets through `Ctx::data`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::azure::auth::settings::AuthSettings;
use crate::azure::auth::ARM_SCOPE;
use crate::azure::config::{AzureClients, ProviderSettings};
use crate::azure::OpContext;
use crate::plugin::context::ProviderData;
use crate::plugin::model::{Model, Tf};
use crate::plugin::prelude::*;

/// Provider type name.
pub const PROVIDER_NAME: &str = "azuresessions";

/// How long ConfigureProvider waits for the first token (the credential check).
pub const CREDENTIAL_CHECK_TIMEOUT: Duration = Duration::from_secs(120);

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
    /// Path of a PKCS#12 (`.pfx`) client certificate with an RSA key, for a service principal.
    /// Env `ARM_CLIENT_CERTIFICATE_PATH`.
    #[tf(optional)]
    pub client_certificate_path: Tf<String>,
    /// The PKCS#12 client certificate itself, base64-encoded (instead of
    /// `client_certificate_path`). Env `ARM_CLIENT_CERTIFICATE`.
    #[tf(optional, sensitive)]
    pub client_certificate: Tf<String>,
    /// Password of the client certificate (empty for none). Env
    /// `ARM_CLIENT_CERTIFICATE_PASSWORD`.
    #[tf(optional, sensitive)]
    pub client_certificate_password: Tf<String>,
    /// Authenticate with the Azure CLI (`az login`) when nothing else is configured. Default
    /// `true`. Env `ARM_USE_CLI`.
    #[tf(optional)]
    pub use_cli: Tf<bool>,
    /// Authenticate with a managed identity: App Service, Container Apps and Functions
    /// (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), else a VM's (IMDS). `client_id` picks a
    /// user-assigned identity. Env `ARM_USE_MSI`; `ARM_MSI_ENDPOINT` names another endpoint
    /// speaking the IMDS protocol.
    #[tf(optional)]
    pub use_msi: Tf<bool>,
    /// Authenticate with an OIDC federated token (workload identity). Env `ARM_USE_OIDC`; the
    /// token comes from `oidc_token`, `ARM_OIDC_TOKEN`, `ARM_OIDC_TOKEN_FILE_PATH` or
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    #[tf(optional)]
    pub use_oidc: Tf<bool>,
    /// Authenticate with AKS workload identity: OIDC with the token file, client and tenant that
    /// AKS injects (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`). Env
    /// `ARM_USE_AKS_WORKLOAD_IDENTITY`.
    #[tf(optional)]
    pub use_aks_workload_identity: Tf<bool>,
    /// Authenticate with the Azure Developer CLI (`azd auth login`). Env `ARM_USE_AZD`.
    #[tf(optional)]
    pub use_azd: Tf<bool>,
    /// OIDC federated token. Env `ARM_OIDC_TOKEN`.
    #[tf(optional, sensitive)]
    pub oidc_token: Tf<String>,
    /// URL to request an OIDC token from (GitHub Actions sets `ACTIONS_ID_TOKEN_REQUEST_URL`).
    /// Env `ARM_OIDC_REQUEST_URL`.
    #[tf(optional)]
    pub oidc_request_url: Tf<String>,
    /// Bearer token for `oidc_request_url` (GitHub Actions: `ACTIONS_ID_TOKEN_REQUEST_TOKEN`;
    /// Azure Pipelines: `SYSTEM_ACCESSTOKEN`). Env `ARM_OIDC_REQUEST_TOKEN`.
    #[tf(optional, sensitive)]
    pub oidc_request_token: Tf<String>,
    /// Azure Pipelines service connection to get the OIDC token through (with
    /// `use_oidc = true`). Env `ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID`.
    #[tf(optional)]
    pub ado_pipeline_service_connection_id: Tf<String>,
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
            use_aks_workload_identity: c.use_aks_workload_identity.known().copied(),
            use_azd: c.use_azd.known().copied(),
            oidc_token: known(&c.oidc_token),
            oidc_request_url: known(&c.oidc_request_url),
            oidc_request_token: known(&c.oidc_request_token),
            ado_service_connection_id: known(&c.ado_pipeline_service_connection_id),
            oidc_token_file: known(&c.oidc_token_file_path).map(PathBuf::from),
            msi_endpoint: None,
            client_certificate_path: known(&c.client_certificate_path).map(PathBuf::from),
            client_certificate: known(&c.client_certificate),
            client_certificate_password: known(&c.client_certificate_password),
            authority_host: known(&c.authority_host),
            executor: None,
            transport: None,
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

    async fn configure(&self, ctx: &Ctx, config: &Value) -> TfResult<ProviderData> {
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
        // Credential problems surface once, here, instead of once per resource.
        let o = OpContext::new(ctx.stop_token().clone(), CREDENTIAL_CHECK_TIMEOUT);
        if let Err(e) = clients.arm.pipeline().token(&o, ARM_SCOPE).await {
            let flow = settings.auth.flow_name().unwrap_or("configured");
            return Err(Diagnostic::error(
                "Azure authentication failed",
                format!(
                    "The provider could not get a token with the {flow} credential: {e}\n\n\
                     Check the provider arguments and ARM_* variables (tenant_id, client_id, \
                     client_secret / use_oidc / use_msi / use_azd / use_cli, authority_host, \
                     ca_certificate_file)."
                ),
            )
            .into());
        }
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

    fn arb_tf<T: std::fmt::Debug + Clone + 'static>(
        known: impl proptest::strategy::Strategy<Value = T> + 'static,
    ) -> impl proptest::strategy::Strategy<Value = Tf<T>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Tf::Null),
            Just(Tf::unknown()),
            known.prop_map(Tf::Known)
        ]
    }

    proptest::proptest! {
        /// decode(encode(config)) == config, and the encoded value has the schema's type.
        #[test]
        fn decode_encode_round_trips(
            s in proptest::collection::vec(arb_tf("[a-zA-Z0-9:/._-]{0,12}"), 15),
            b in proptest::collection::vec(arb_tf(proptest::bool::ANY), 5),
        ) {
            let c = ProviderConfig {
                subscription_id: s[0].clone(),
                tenant_id: s[1].clone(),
                client_id: s[2].clone(),
                client_secret: s[3].clone(),
                client_certificate_path: s[12].clone(),
                client_certificate: s[13].clone(),
                client_certificate_password: s[14].clone(),
                use_cli: b[0].clone(),
                use_msi: b[1].clone(),
                use_oidc: b[2].clone(),
                use_aks_workload_identity: b[3].clone(),
                use_azd: b[4].clone(),
                oidc_token: s[4].clone(),
                oidc_request_url: s[5].clone(),
                oidc_request_token: s[6].clone(),
                ado_pipeline_service_connection_id: s[7].clone(),
                oidc_token_file_path: s[8].clone(),
                arm_endpoint: s[9].clone(),
                authority_host: s[10].clone(),
                ca_certificate_file: s[11].clone(),
            };
            let v = c.encode();
            proptest::prop_assert_eq!(ProviderConfig::from_value(&v).unwrap(), c);
            let ty = ProviderConfig::block().implied_type();
            proptest::prop_assert!(crate::plugin::codec::encode_dynamic(&v, &ty).is_ok());
        }
    }

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

    fn token_server_env(
        uri: String,
        secret: &'static str,
    ) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
        move |k: &str| match k {
            "ARM_SUBSCRIPTION_ID" => Some("sub".into()),
            "ARM_ENDPOINT" => Some("http://127.0.0.1:1".into()),
            "ARM_TENANT_ID" => Some("t".into()),
            "ARM_CLIENT_ID" => Some("c".into()),
            "ARM_CLIENT_SECRET" => Some(secret.into()),
            "ARM_AUTHORITY_HOST" => Some(uri.clone()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn configure_builds_clients_from_env() {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(
                wiremock::ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"access_token": "tok", "expires_in": 3600})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let p = AzureSessionsProvider::with_env(token_server_env(server.uri(), "s"));
        let data = p
            .configure(&Ctx::detached(), &Value::object([("use_cli", Value::Null)]))
            .await
            .unwrap();
        let clients = data.downcast::<AzureClients>().unwrap();
        assert_eq!(clients.subscription_id, "sub");
    }

    /// A wrong secret is one error at configure, naming the flow and what the service said.
    #[tokio::test]
    async fn credential_errors_surface_at_configure() {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(
                wiremock::ResponseTemplate::new(401).set_body_json(serde_json::json!({
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided."
                })),
            )
            .expect(1)
            .mount(&server)
            .await;
        let p = AzureSessionsProvider::with_env(token_server_env(server.uri(), "wrong"));
        let e = p
            .configure(&Ctx::detached(), &Value::object([("use_cli", Value::Null)]))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("Azure authentication failed"), "{e}");
        assert!(
            e.contains("client secret") && e.contains("AADSTS7000215"),
            "{e}"
        );
    }
}
