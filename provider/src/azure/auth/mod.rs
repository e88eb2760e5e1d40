//! Authentication: bearer tokens for ARM and the pool data plane.
//!
//! Everything that needs a token holds an `Arc<dyn TokenSource>` and asks it for a token per
//! *scope* (`https://management.azure.com/.default`, `https://dynamicsessions.io/.default`).
//!
//! The credential flows come from the maintained `azure_identity` crate ([`identity`]): client
//! secret, client assertion (OIDC token), workload identity (token file), managed identity on
//! App Service / Container Apps / Functions (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) and on VMs
//! (IMDS), Azure CLI and Azure Developer CLI. They all use the provider's `reqwest` client
//! (rustls with the extra CA of `ca_certificate_file`), so the emulator's HTTPS token endpoint
//! works as the authority host.
//!
//! Two cases `azure_identity` cannot serve keep a small flow of our own:
//!
//! - [`client_credentials`]: a plain-`http://` authority host (the emulator started with
//!   `--http`): `azure_identity` refuses authority hosts that are not HTTPS, so the
//!   client-credentials request (secret or assertion) is sent by us;
//! - [`msi`]: `ARM_MSI_ENDPOINT`, an endpoint speaking the IMDS protocol somewhere else than
//!   IMDS: `azure_identity`'s IMDS address is fixed, so that request is ours too.
//!
//! The request of a GitHub Actions OIDC token (to `ACTIONS_ID_TOKEN_REQUEST_URL`) is ours as
//! well; its exchange for an Entra token is `azure_identity`'s `ClientAssertionCredential`.
//!
//! Client certificates (azurerm's `ARM_CLIENT_CERTIFICATE_PATH`): `azure_identity`'s
//! `ClientCertificateCredential` needs OpenSSL (its `client_certificate` feature), which this
//! rustls-only provider does not link. [`certificate`] reads the PKCS#12 bundle and signs the
//! client assertion itself; `azure_identity`'s `ClientAssertionCredential` exchanges it.
//!
//! Also here: [`cache`] (one token per scope until shortly before it expires) and [`settings`]
//! (provider arguments and `ARM_*` environment variables, and the choice of flow).

pub mod cache;
pub mod certificate;
pub mod client_credentials;
pub mod identity;
pub mod msi;
pub mod settings;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// Scope of Azure Resource Manager tokens.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// Scope of pool data-plane tokens (audience `https://dynamicsessions.io`).
pub const DATAPLANE_SCOPE: &str = "https://dynamicsessions.io/.default";

/// A bearer token and when it stops being valid.
#[derive(Clone)]
pub struct AccessToken {
    /// The bearer token itself.
    pub secret: String,
    /// When the token expires.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl AccessToken {
    /// A token valid for `lifetime` from now.
    pub fn valid_for(secret: impl Into<String>, lifetime: Duration) -> Self {
        AccessToken {
            secret: secret.into(),
            expires_at: SystemTime::now() + lifetime,
        }
    }
}

/// Why no token could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint refused the request (wrong secret, unknown client, ...).
    #[error("authentication with {flow} failed: {detail}")]
    Rejected {
        /// Which credential flow was used.
        flow: &'static str,
        /// What the identity provider said.
        detail: String,
    },
    /// Required settings for the chosen flow are missing.
    #[error("cannot authenticate: {0}")]
    Misconfigured(String),
    /// The identity endpoint could not be reached.
    #[error("could not reach the {flow} identity endpoint {url}: {detail}")]
    Unreachable {
        /// Which credential flow was used.
        flow: &'static str,
        /// Endpoint that could not be reached.
        url: String,
        /// What the HTTP stack or process said.
        detail: String,
    },
}

/// Something that can produce bearer tokens for a scope.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A token for `scope` (e.g. [`ARM_SCOPE`]). Implementations may cache.
    async fn token(&self, scope: &str) -> Result<AccessToken, AuthError>;
}

/// A fixed token, for tests and for callers that already hold one.
#[derive(Debug, Clone)]
pub struct StaticToken(pub String);

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self, _scope: &str) -> Result<AccessToken, AuthError> {
        Ok(AccessToken::valid_for(
            self.0.clone(),
            Duration::from_secs(3600),
        ))
    }
}

/// An error with its sources, e.g. "error sending request: invalid peer certificate: UnknownIssuer".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Converts a scope (`https://x/.default`) into the v1 `resource` form (`https://x/`) that the
/// Azure CLI and IMDS take.
pub fn scope_to_resource(scope: &str) -> String {
    match scope.strip_suffix("/.default") {
        Some(r) if r.starts_with("https://management.") => format!("{r}/"),
        Some(r) => r.to_string(),
        None => scope.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_to_resource_forms() {
        assert_eq!(
            scope_to_resource(ARM_SCOPE),
            "https://management.azure.com/"
        );
        assert_eq!(
            scope_to_resource(DATAPLANE_SCOPE),
            "https://dynamicsessions.io"
        );
        assert_eq!(scope_to_resource("https://x"), "https://x");
    }

    #[test]
    fn debug_redacts_secret() {
        let t = AccessToken::valid_for("very-secret", Duration::from_secs(1));
        assert!(!format!("{t:?}").contains("very-secret"));
    }
}
