//! The credential flows of the `azure_identity` crate behind our [`TokenSource`]:
//!
//! | Flow | `azure_identity` credential |
//! |---|---|
//! | client certificate (`ARM_CLIENT_CERTIFICATE_PATH`) | `ClientAssertionCredential` with [`CertificateAssertion`](super::certificate::CertificateAssertion) (reading the certificate and signing are ours) |
//! | client secret | `ClientSecretCredential` |
//! | OIDC token given directly (`ARM_OIDC_TOKEN`) | `ClientAssertionCredential` with [`StaticAssertion`] |
//! | OIDC / workload identity token file (`ARM_OIDC_TOKEN_FILE_PATH`, `AZURE_FEDERATED_TOKEN_FILE`) | `WorkloadIdentityCredential` |
//! | OIDC token requested from GitHub Actions (`ARM_OIDC_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_URL`) | `ClientAssertionCredential` with [`RequestedAssertion`] (the request to GitHub is ours) |
//! | Azure Pipelines service connection (`ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID`) | `AzurePipelinesCredential` |
//! | managed identity: App Service, Container Apps, Functions (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), VMs and VM scale sets (IMDS) | `ManagedIdentityCredential` |
//! | Azure CLI (`az login`) | `AzureCliCredential` |
//! | Azure Developer CLI (`azd auth login`) | `AzureDeveloperCliCredential` |
//!
//! Every credential uses our `reqwest` client (rustls, the extra CA of `ca_certificate_file`)
//! as its transport and the configured authority host as a custom cloud.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::{
    ClientMethodOptions, ClientOptions, ExponentialRetryOptions, HttpClient, RetryOptions,
    Transport,
};

use super::{AccessToken, AuthError, TokenSource};

/// Pipeline options for a credential: our HTTP client, the authority host if given, and a
/// short retry budget (3 retries within 15 s: a token request that keeps failing is an
/// answer the user should see at configure, not after a minute of silent retries).
pub fn client_options(
    transport: Arc<dyn HttpClient>,
    authority_host: Option<&str>,
) -> ClientOptions {
    let mut options = ClientOptions {
        transport: Some(Transport::new(transport)),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(500),
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(15),
            ..Default::default()
        }),
        ..Default::default()
    };
    if let Some(host) = authority_host {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = host.trim_end_matches('/').to_string();
        options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    }
    options
}

/// A federated token given as a value (`oidc_token` / `ARM_OIDC_TOKEN`).
#[derive(Clone)]
pub struct StaticAssertion(pub String);

impl std::fmt::Debug for StaticAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticAssertion(<redacted>)")
    }
}

#[async_trait]
impl azure_identity::ClientAssertion for StaticAssertion {
    async fn secret(
        &self,
        _options: Option<ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        Ok(self.0.clone())
    }
}

/// A federated token fetched from a CI system's OIDC request endpoint before every exchange,
/// as azurerm does (GitHub Actions: `ACTIONS_ID_TOKEN_REQUEST_URL` and
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, or `ARM_OIDC_REQUEST_URL` and `ARM_OIDC_REQUEST_TOKEN`):
/// `GET {url}&audience=api://AzureADTokenExchange` with the request token as bearer, answer
/// `{"value": "<jwt>"}`.
///
/// `azure_identity` has no credential for this request, so it is ours; the exchange of the
/// assertion for an Entra token is `azure_identity`'s `ClientAssertionCredential`.
#[derive(Clone)]
pub struct RequestedAssertion {
    /// HTTP client (our rustls client).
    pub http: reqwest::Client,
    /// The request URL.
    pub url: String,
    /// The request token.
    pub token: String,
}

impl std::fmt::Debug for RequestedAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestedAssertion")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The audience Entra expects on a federated token.
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

#[async_trait]
impl azure_identity::ClientAssertion for RequestedAssertion {
    async fn secret(
        &self,
        _options: Option<ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        let fail = |msg: String| azure_core::Error::with_message(ErrorKind::Credential, msg);
        let mut url = url::Url::parse(&self.url).map_err(|e| {
            fail(format!(
                "the OIDC request URL {:?} is not a URL: {e}",
                self.url
            ))
        })?;
        url.query_pairs_mut()
            .append_pair("audience", FEDERATED_AUDIENCE);
        let resp = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                fail(format!(
                    "the OIDC request endpoint could not be reached: {e}"
                ))
            })?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        match body.get("value").and_then(serde_json::Value::as_str) {
            Some(v) if status.is_success() => Ok(v.to_string()),
            _ => Err(fail(format!(
                "the OIDC request endpoint answered HTTP {} without a token; check \
                 ARM_OIDC_REQUEST_URL / ARM_OIDC_REQUEST_TOKEN (on GitHub Actions: the job \
                 needs `permissions: id-token: write`)",
                status.as_u16()
            ))),
        }
    }
}

/// An `azure_identity` credential as a [`TokenSource`].
pub struct IdentityToken {
    flow: &'static str,
    credential: Arc<dyn TokenCredential>,
}

impl IdentityToken {
    /// Wraps `credential`; `flow` names it in errors ("client secret", "Azure CLI", ...).
    pub fn new(flow: &'static str, credential: Arc<dyn TokenCredential>) -> Self {
        IdentityToken { flow, credential }
    }
}

/// An `azure_core` error with its sources, on one line.
fn describe(e: &azure_core::Error) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s.replace('\n', " ")
}

/// Turns an `azure_identity` failure into an [`AuthError`] naming the flow.
pub fn auth_error(flow: &'static str, e: &azure_core::Error) -> AuthError {
    let detail = describe(e);
    let transport = matches!(e.kind(), ErrorKind::Connection | ErrorKind::Io)
        || detail.contains("error sending request")
        || detail.contains("certificate");
    if transport {
        AuthError::Unreachable {
            flow,
            url: "the identity endpoint".into(),
            detail: format!(
                "{detail}; check `authority_host` and, for a private CA such as the \
                 emulator's, `ca_certificate_file`"
            ),
        }
    } else {
        AuthError::Rejected { flow, detail }
    }
}

#[async_trait]
impl TokenSource for IdentityToken {
    async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let t = self
            .credential
            .get_token(&[scope], None)
            .await
            .map_err(|e| auth_error(self.flow, &e))?;
        let secs = t.expires_on.unix_timestamp();
        let expires_at = u64::try_from(secs)
            .map(|s| UNIX_EPOCH + Duration::from_secs(s))
            .unwrap_or_else(|_| SystemTime::now());
        Ok(AccessToken {
            secret: t.token.secret().to_string(),
            expires_at,
        })
    }
}
