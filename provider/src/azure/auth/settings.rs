//! Credential settings: provider arguments merged with azurerm's `ARM_*` environment variables,
//! and the choice of credential flow.
//!
//! Order (like azurerm): client certificate, client secret, OIDC client assertion / workload
//! identity, managed identity, Azure Developer CLI (when `use_azd`), Azure CLI. Explicit provider arguments win
//! over environment variables.
//!
//! Which implementation serves a flow (see [`super`] for why):
//!
//! - `azure_identity` for every flow with an `https://` authority host, managed identity
//!   through `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` or IMDS, and both CLIs;
//! - our own requests ([`super::client_credentials`]) for a plain-`http://` authority host
//!   (the emulator's `--http` mode), which `azure_identity` refuses;
//! - our own IMDS request ([`super::msi`]) when `ARM_MSI_ENDPOINT` names another endpoint than
//!   IMDS, which `azure_identity` cannot be pointed at.

use std::path::PathBuf;
use std::sync::Arc;

use azure_core::credentials::Secret;
use azure_core::http::HttpClient;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, AzurePipelinesCredential, AzurePipelinesCredentialOptions,
    ClientAssertionCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, Executor, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

use super::cache::CachedTokenSource;
use super::certificate::CertificateAssertion;
use super::client_credentials::{ClientCredential, ClientCredentials};
use super::identity::{client_options, IdentityToken, RequestedAssertion, StaticAssertion};
use super::msi::ManagedIdentity;
use super::{AuthError, TokenSource};

/// Default Entra authority host.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// Everything the credential flows need. `None` means "not set".
#[derive(Clone, Default)]
pub struct AuthSettings {
    /// `tenant_id` / `ARM_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `client_id` / `ARM_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `client_secret` / `ARM_CLIENT_SECRET`.
    pub client_secret: Option<String>,
    /// `use_cli` / `ARM_USE_CLI` (default true).
    pub use_cli: Option<bool>,
    /// `use_msi` / `ARM_USE_MSI` (default false).
    pub use_msi: Option<bool>,
    /// `use_oidc` / `ARM_USE_OIDC` (default false).
    pub use_oidc: Option<bool>,
    /// `use_aks_workload_identity` / `ARM_USE_AKS_WORKLOAD_IDENTITY` (default false): OIDC with
    /// the token file and ids AKS workload identity injects (`AZURE_FEDERATED_TOKEN_FILE`,
    /// `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`).
    pub use_aks_workload_identity: Option<bool>,
    /// `use_azd` / `ARM_USE_AZD` (default false): the Azure Developer CLI.
    pub use_azd: Option<bool>,
    /// `ARM_OIDC_TOKEN`.
    pub oidc_token: Option<String>,
    /// `oidc_request_url` / `ARM_OIDC_REQUEST_URL`, else `ACTIONS_ID_TOKEN_REQUEST_URL`
    /// (GitHub Actions) or `SYSTEM_OIDCREQUESTURI` (Azure Pipelines).
    pub oidc_request_url: Option<String>,
    /// `oidc_request_token` / `ARM_OIDC_REQUEST_TOKEN`, else `ACTIONS_ID_TOKEN_REQUEST_TOKEN`
    /// or `SYSTEM_ACCESSTOKEN`.
    pub oidc_request_token: Option<String>,
    /// `ado_pipeline_service_connection_id` / `ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID` (or
    /// `ARM_OIDC_AZURE_SERVICE_CONNECTION_ID`): OIDC through an Azure Pipelines service
    /// connection.
    pub ado_service_connection_id: Option<String>,
    /// `ARM_OIDC_TOKEN_FILE_PATH`, else `AZURE_FEDERATED_TOKEN_FILE`.
    pub oidc_token_file: Option<PathBuf>,
    /// `ARM_MSI_ENDPOINT` (an endpoint speaking the IMDS protocol elsewhere than IMDS).
    pub msi_endpoint: Option<String>,
    /// `client_certificate_path` / `ARM_CLIENT_CERTIFICATE_PATH`: a PKCS#12 (`.pfx`) file.
    pub client_certificate_path: Option<PathBuf>,
    /// `client_certificate` / `ARM_CLIENT_CERTIFICATE`: the PKCS#12 bundle, base64.
    pub client_certificate: Option<String>,
    /// `client_certificate_password` / `ARM_CLIENT_CERTIFICATE_PASSWORD`.
    pub client_certificate_password: Option<String>,
    /// `authority_host` / `ARM_AUTHORITY_HOST`.
    pub authority_host: Option<String>,
    /// How the CLI credentials run `az` / `azd` (default: a child process). Tests and
    /// embedders can run them differently.
    pub executor: Option<Arc<dyn Executor>>,
    /// The HTTP transport of the `azure_identity` credentials (default: the provider's
    /// `reqwest` client). Tests and embedders can route requests elsewhere.
    pub transport: Option<Arc<dyn HttpClient>>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("use_cli", &self.use_cli)
            .field("use_msi", &self.use_msi)
            .field("use_oidc", &self.use_oidc)
            .field("use_aks_workload_identity", &self.use_aks_workload_identity)
            .field("use_azd", &self.use_azd)
            .field(
                "oidc_token",
                &self.oidc_token.as_ref().map(|_| "<redacted>"),
            )
            .field("oidc_request_url", &self.oidc_request_url)
            .field(
                "oidc_request_token",
                &self.oidc_request_token.as_ref().map(|_| "<redacted>"),
            )
            .field("ado_service_connection_id", &self.ado_service_connection_id)
            .field("oidc_token_file", &self.oidc_token_file)
            .field("msi_endpoint", &self.msi_endpoint)
            .field("client_certificate_path", &self.client_certificate_path)
            .field(
                "client_certificate",
                &self.client_certificate.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "client_certificate_password",
                &self
                    .client_certificate_password
                    .as_ref()
                    .map(|_| "<redacted>"),
            )
            .field("authority_host", &self.authority_host)
            .finish_non_exhaustive()
    }
}

/// Reads a boolean environment variable the way azurerm does (`true`/`false`, `1`/`0`).
pub fn parse_bool(name: &str, value: &str) -> Result<bool, AuthError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        other => Err(AuthError::Misconfigured(format!(
            "environment variable {name} must be true or false, not {other:?}"
        ))),
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// The credential flow [`AuthSettings`] choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Client certificate (PKCS#12), as a signed client assertion.
    Certificate,
    /// Client secret.
    Secret,
    /// OIDC federated token given as a value.
    OidcToken,
    /// OIDC / workload identity federated token read from a file.
    OidcTokenFile(PathBuf),
    /// OIDC token requested from a CI system's endpoint (GitHub Actions).
    OidcRequest,
    /// OIDC through an Azure Pipelines service connection.
    AzurePipelines,
    /// Managed identity.
    Msi,
    /// Azure Developer CLI.
    Azd,
    /// Azure CLI.
    Cli,
}

impl Flow {
    /// The flow's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Flow::Certificate => "client certificate",
            Flow::Secret => "client secret",
            Flow::OidcToken | Flow::OidcTokenFile(_) | Flow::OidcRequest => "OIDC",
            Flow::AzurePipelines => "Azure Pipelines OIDC",
            Flow::Msi => "managed identity",
            Flow::Azd => "Azure Developer CLI",
            Flow::Cli => "Azure CLI",
        }
    }
}

impl AuthSettings {
    /// Fills every unset field from the environment through `env` (normally `std::env::var`).
    pub fn merge_env(mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, AuthError> {
        let get = |k: &str| non_empty(env(k));
        self.tenant_id = non_empty(self.tenant_id)
            .or_else(|| get("ARM_TENANT_ID"))
            .or_else(|| get("AZURE_TENANT_ID"));
        self.client_id = non_empty(self.client_id)
            .or_else(|| get("ARM_CLIENT_ID"))
            .or_else(|| get("AZURE_CLIENT_ID"));
        self.client_secret = non_empty(self.client_secret).or_else(|| get("ARM_CLIENT_SECRET"));
        for (slot, name) in [
            (&mut self.use_cli, "ARM_USE_CLI"),
            (&mut self.use_msi, "ARM_USE_MSI"),
            (&mut self.use_oidc, "ARM_USE_OIDC"),
            (
                &mut self.use_aks_workload_identity,
                "ARM_USE_AKS_WORKLOAD_IDENTITY",
            ),
            (&mut self.use_azd, "ARM_USE_AZD"),
        ] {
            if slot.is_none() {
                if let Some(v) = get(name) {
                    *slot = Some(parse_bool(name, &v)?);
                }
            }
        }
        self.oidc_token = non_empty(self.oidc_token).or_else(|| get("ARM_OIDC_TOKEN"));
        self.oidc_request_url = non_empty(self.oidc_request_url)
            .or_else(|| get("ARM_OIDC_REQUEST_URL"))
            .or_else(|| get("ACTIONS_ID_TOKEN_REQUEST_URL"))
            .or_else(|| get("SYSTEM_OIDCREQUESTURI"));
        self.oidc_request_token = non_empty(self.oidc_request_token)
            .or_else(|| get("ARM_OIDC_REQUEST_TOKEN"))
            .or_else(|| get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
            .or_else(|| get("SYSTEM_ACCESSTOKEN"));
        self.ado_service_connection_id = non_empty(self.ado_service_connection_id)
            .or_else(|| get("ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID"))
            .or_else(|| get("ARM_OIDC_AZURE_SERVICE_CONNECTION_ID"));
        if self.oidc_token_file.is_none() {
            self.oidc_token_file = get("ARM_OIDC_TOKEN_FILE_PATH")
                .or_else(|| get("AZURE_FEDERATED_TOKEN_FILE"))
                .map(PathBuf::from);
        }
        self.msi_endpoint = non_empty(self.msi_endpoint).or_else(|| get("ARM_MSI_ENDPOINT"));
        if self.client_certificate_path.is_none() {
            self.client_certificate_path = get("ARM_CLIENT_CERTIFICATE_PATH").map(PathBuf::from);
        }
        self.client_certificate =
            non_empty(self.client_certificate).or_else(|| get("ARM_CLIENT_CERTIFICATE"));
        self.client_certificate_password = self
            .client_certificate_password
            .or_else(|| env("ARM_CLIENT_CERTIFICATE_PASSWORD"));
        self.authority_host = non_empty(self.authority_host)
            .or_else(|| get("ARM_AUTHORITY_HOST"))
            .or_else(|| get("AZURE_AUTHORITY_HOST"));
        Ok(self)
    }

    /// The authority host to use (default [`DEFAULT_AUTHORITY_HOST`]).
    pub fn authority(&self) -> &str {
        self.authority_host
            .as_deref()
            .unwrap_or(DEFAULT_AUTHORITY_HOST)
    }

    /// Name of the credential flow [`AuthSettings::build`] would choose.
    pub fn flow_name(&self) -> Result<&'static str, AuthError> {
        Ok(self.choose()?.name())
    }

    /// The credential flow these settings choose.
    pub fn choose(&self) -> Result<Flow, AuthError> {
        let have_app = self.tenant_id.is_some() && self.client_id.is_some();
        // As azurerm: a client certificate comes first.
        if self.client_certificate_path.is_some() || self.client_certificate.is_some() {
            if !have_app {
                return Err(AuthError::Misconfigured(
                    "a client certificate is set but `tenant_id` or `client_id` is missing \
                     (set them or ARM_TENANT_ID / ARM_CLIENT_ID)"
                        .into(),
                ));
            }
            return Ok(Flow::Certificate);
        }
        if self.client_secret.is_some() {
            if !have_app {
                return Err(AuthError::Misconfigured(
                    "`client_secret` is set but `tenant_id` or `client_id` is missing \
                     (set them or ARM_TENANT_ID / ARM_CLIENT_ID)"
                        .into(),
                ));
            }
            return Ok(Flow::Secret);
        }
        if self.use_oidc == Some(true) || self.use_aks_workload_identity == Some(true) {
            let flow = if self.oidc_token.is_some() {
                Flow::OidcToken
            } else if let Some(f) = &self.oidc_token_file {
                Flow::OidcTokenFile(f.clone())
            } else if self.ado_service_connection_id.is_some() && self.oidc_request_token.is_some()
            {
                Flow::AzurePipelines
            } else if self.oidc_request_url.is_some() && self.oidc_request_token.is_some() {
                Flow::OidcRequest
            } else {
                return Err(AuthError::Misconfigured(
                    "`use_oidc` / `use_aks_workload_identity` is true but no token was given: \
                     set ARM_OIDC_TOKEN, ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE, \
                     or ARM_OIDC_REQUEST_URL + ARM_OIDC_REQUEST_TOKEN (GitHub Actions), or \
                     ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID + SYSTEM_ACCESSTOKEN (Azure Pipelines)"
                        .into(),
                ));
            };
            if !have_app {
                return Err(AuthError::Misconfigured(
                    "OIDC needs `tenant_id` and `client_id` (or ARM_TENANT_ID / ARM_CLIENT_ID, \
                     AZURE_TENANT_ID / AZURE_CLIENT_ID)"
                        .into(),
                ));
            }
            return Ok(flow);
        }
        if self.use_msi == Some(true) {
            return Ok(Flow::Msi);
        }
        if self.use_azd == Some(true) {
            return Ok(Flow::Azd);
        }
        if self.use_cli.unwrap_or(true) {
            return Ok(Flow::Cli);
        }
        Err(AuthError::Misconfigured(
            "no credential is configured: set `client_id`/`client_secret`/`tenant_id`, \
             `use_oidc`, `use_msi`, `use_azd`, or leave `use_cli` on and run `az login`"
                .into(),
        ))
    }

    fn azure_error(flow: &Flow, e: &azure_core::Error) -> AuthError {
        AuthError::Misconfigured(format!(
            "the {} credential cannot be set up: {e}",
            flow.name()
        ))
    }

    /// Builds the (cached) token source for these settings. `http` carries the extra CA.
    pub fn build(&self, http: reqwest::Client) -> Result<Arc<dyn TokenSource>, AuthError> {
        let flow = self.choose()?;
        let tenant = self.tenant_id.clone().unwrap_or_default();
        let client = self.client_id.clone().unwrap_or_default();
        let transport: Arc<dyn HttpClient> = self
            .transport
            .clone()
            .unwrap_or_else(|| Arc::new(http.clone()));
        // `azure_identity` refuses a plain-HTTP authority host (the emulator's --http mode).
        let plain_http = self.authority().starts_with("http://");
        let options = || client_options(transport.clone(), Some(self.authority()));
        let wrap = |c: Arc<dyn azure_core::credentials::TokenCredential>| -> Arc<dyn TokenSource> {
            Arc::new(IdentityToken::new(flow.name(), c))
        };
        let err = |e: azure_core::Error| Self::azure_error(&flow, &e);
        let inner: Arc<dyn TokenSource> = match &flow {
            Flow::Certificate => {
                let token_url = format!(
                    "{}/{tenant}/oauth2/v2.0/token",
                    self.authority().trim_end_matches('/')
                );
                let assertion = CertificateAssertion::from_settings(
                    self.client_certificate_path.as_deref(),
                    self.client_certificate.as_deref(),
                    self.client_certificate_password.as_deref().unwrap_or(""),
                    &client,
                    &token_url,
                )?;
                if plain_http {
                    Arc::new(ClientCredentials::new(
                        http,
                        self.authority(),
                        &tenant,
                        &client,
                        ClientCredential::Certificate(assertion),
                    ))
                } else {
                    wrap(
                        ClientAssertionCredential::new(
                            tenant,
                            client,
                            assertion,
                            Some(ClientAssertionCredentialOptions {
                                client_options: options(),
                            }),
                        )
                        .map_err(err)?,
                    )
                }
            }
            Flow::Secret if plain_http => Arc::new(ClientCredentials::new(
                http,
                self.authority(),
                &tenant,
                &client,
                ClientCredential::Secret(self.client_secret.clone().unwrap_or_default()),
            )),
            Flow::Secret => wrap(
                ClientSecretCredential::new(
                    &tenant,
                    client,
                    Secret::new(self.client_secret.clone().unwrap_or_default()),
                    Some(ClientSecretCredentialOptions {
                        client_options: options(),
                    }),
                )
                .map_err(err)?,
            ),
            Flow::OidcToken if plain_http => Arc::new(ClientCredentials::new(
                http,
                self.authority(),
                &tenant,
                &client,
                ClientCredential::Assertion(self.oidc_token.clone().unwrap_or_default()),
            )),
            Flow::OidcToken => wrap(
                ClientAssertionCredential::new(
                    tenant,
                    client,
                    StaticAssertion(self.oidc_token.clone().unwrap_or_default()),
                    Some(ClientAssertionCredentialOptions {
                        client_options: options(),
                    }),
                )
                .map_err(err)?,
            ),
            Flow::OidcTokenFile(path) if plain_http => Arc::new(ClientCredentials::new(
                http,
                self.authority(),
                &tenant,
                &client,
                ClientCredential::AssertionFile(path.clone()),
            )),
            Flow::OidcTokenFile(path) => wrap(
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: options(),
                    },
                    client_id: Some(client),
                    tenant_id: Some(tenant),
                    token_file_path: Some(path.clone()),
                }))
                .map_err(err)?,
            ),
            Flow::OidcRequest => wrap(
                ClientAssertionCredential::new(
                    tenant,
                    client,
                    RequestedAssertion {
                        http: http.clone(),
                        url: self.oidc_request_url.clone().unwrap_or_default(),
                        token: self.oidc_request_token.clone().unwrap_or_default(),
                    },
                    Some(ClientAssertionCredentialOptions {
                        client_options: options(),
                    }),
                )
                .map_err(err)?,
            ),
            Flow::AzurePipelines => wrap(
                // The OIDC endpoint comes from SYSTEM_OIDCREQUESTURI, which Azure Pipelines sets.
                AzurePipelinesCredential::new(
                    tenant,
                    client,
                    self.ado_service_connection_id
                        .as_deref()
                        .unwrap_or_default(),
                    Secret::new(self.oidc_request_token.clone().unwrap_or_default()),
                    Some(AzurePipelinesCredentialOptions {
                        credential_options: ClientAssertionCredentialOptions {
                            client_options: options(),
                        },
                    }),
                )
                .map_err(err)?,
            ),
            Flow::Msi => match &self.msi_endpoint {
                // `azure_identity` always asks IMDS itself; another endpoint is ours to call.
                Some(endpoint) => Arc::new(ManagedIdentity::new(
                    http,
                    Some(endpoint.clone()),
                    self.client_id.clone(),
                )),
                None => wrap(
                    ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                        user_assigned_id: self.client_id.clone().map(UserAssignedId::ClientId),
                        client_options: client_options(transport.clone(), None),
                    }))
                    .map_err(err)?,
                ),
            },
            Flow::Azd => wrap(
                AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
                    executor: self.executor.clone(),
                    tenant_id: self.tenant_id.clone(),
                }))
                .map_err(err)?,
            ),
            Flow::Cli => wrap(
                AzureCliCredential::new(Some(AzureCliCredentialOptions {
                    executor: self.executor.clone(),
                    tenant_id: self.tenant_id.clone(),
                    ..Default::default()
                }))
                .map_err(err)?,
            ),
        };
        Ok(Arc::new(CachedTokenSource::new(inner)))
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
    fn env_fills_unset_fields_and_args_win() {
        let s = AuthSettings {
            tenant_id: Some("arg-tenant".into()),
            ..Default::default()
        }
        .merge_env(&env(&[
            ("ARM_TENANT_ID", "env-tenant"),
            ("ARM_CLIENT_ID", "c"),
            ("ARM_CLIENT_SECRET", "s"),
            ("ARM_AUTHORITY_HOST", "https://127.0.0.1:7443"),
        ]))
        .unwrap();
        assert_eq!(s.tenant_id.as_deref(), Some("arg-tenant"));
        assert_eq!(s.client_id.as_deref(), Some("c"));
        assert_eq!(s.authority(), "https://127.0.0.1:7443");
        assert_eq!(s.flow_name().unwrap(), "client secret");
    }

    #[test]
    fn bad_bool_names_variable() {
        let e = AuthSettings::default()
            .merge_env(&env(&[("ARM_USE_MSI", "maybe")]))
            .unwrap_err();
        assert!(e.to_string().contains("ARM_USE_MSI"), "{e}");
    }

    #[test]
    fn flow_order() {
        let oidc = AuthSettings::default()
            .merge_env(&env(&[
                ("ARM_USE_OIDC", "true"),
                ("ARM_TENANT_ID", "t"),
                ("ARM_CLIENT_ID", "c"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
            ]))
            .unwrap();
        assert_eq!(oidc.flow_name().unwrap(), "OIDC");
        let msi = AuthSettings {
            use_msi: Some(true),
            ..Default::default()
        };
        assert_eq!(msi.flow_name().unwrap(), "managed identity");
        assert_eq!(AuthSettings::default().flow_name().unwrap(), "Azure CLI");
        let none = AuthSettings {
            use_cli: Some(false),
            ..Default::default()
        };
        assert!(none.flow_name().is_err());
        let half = AuthSettings {
            client_secret: Some("s".into()),
            ..Default::default()
        };
        assert!(half
            .flow_name()
            .unwrap_err()
            .to_string()
            .contains("tenant_id"));
        let oidc_no_token = AuthSettings {
            use_oidc: Some(true),
            tenant_id: Some("t".into()),
            client_id: Some("c".into()),
            ..Default::default()
        };
        assert!(oidc_no_token
            .flow_name()
            .unwrap_err()
            .to_string()
            .contains("ARM_OIDC_TOKEN"));
        let azd = AuthSettings {
            use_azd: Some(true),
            ..Default::default()
        };
        assert_eq!(azd.flow_name().unwrap(), "Azure Developer CLI");
        let aks = AuthSettings::default()
            .merge_env(&env(&[
                ("ARM_USE_AKS_WORKLOAD_IDENTITY", "true"),
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token"),
            ]))
            .unwrap();
        assert_eq!(
            aks.choose().unwrap(),
            Flow::OidcTokenFile(PathBuf::from("/var/run/secrets/token"))
        );
    }

    /// azurerm's client-certificate variables choose the certificate flow, before a client
    /// secret (azurerm's order); without tenant or client the error names them.
    #[test]
    fn client_certificate_comes_first() {
        let cert = AuthSettings::default()
            .merge_env(&env(&[
                ("ARM_TENANT_ID", "t"),
                ("ARM_CLIENT_ID", "c"),
                ("ARM_CLIENT_SECRET", "s"),
                ("ARM_CLIENT_CERTIFICATE_PATH", "/etc/sp.pfx"),
                ("ARM_CLIENT_CERTIFICATE_PASSWORD", "pw"),
            ]))
            .unwrap();
        assert_eq!(cert.choose().unwrap(), Flow::Certificate);
        assert_eq!(cert.client_certificate_password.as_deref(), Some("pw"));
        let half = AuthSettings::default()
            .merge_env(&env(&[("ARM_CLIENT_CERTIFICATE", "MIIK")]))
            .unwrap();
        assert!(half
            .flow_name()
            .unwrap_err()
            .to_string()
            .contains("tenant_id"));
    }
}
