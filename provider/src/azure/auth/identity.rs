//! The credential flows of the `azure_identity` crate behind our [`TokenSource`]:
//!
//! | Flow | `azure_identity` credential |
//! |---|---|
//! | client secret | `ClientSecretCredential` |
//! | OIDC token given directly (`ARM_OIDC_TOKEN`) | `ClientAssertionCredential` with [`StaticAssertion`] |
//! | OIDC / workload identity token file (`ARM_OIDC_TOKEN_FILE_PATH`, `AZURE_FEDERATED_TOKEN_FILE`) | `WorkloadIdentityCredential` |
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
