//! OAuth 2.0 client-credentials flow against an Entra-style token endpoint
//! (`{authority_host}/{tenant}/oauth2/v2.0/token`): client secret, or a client assertion for
//! workload identity / OIDC federation.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{AccessToken, AuthError, TokenSource};

/// How the client proves who it is.
#[derive(Clone)]
pub enum ClientCredential {
    /// A client secret (`client_secret` / `ARM_CLIENT_SECRET`).
    Secret(String),
    /// A federated token given directly (`ARM_OIDC_TOKEN`).
    Assertion(String),
    /// A federated token read from a file on every request, since it rotates
    /// (`ARM_OIDC_TOKEN_FILE_PATH`, `AZURE_FEDERATED_TOKEN_FILE`).
    AssertionFile(PathBuf),
    /// A client certificate: a fresh signed assertion per request.
    Certificate(super::certificate::CertificateAssertion),
}

impl std::fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("Secret(<redacted>)"),
            ClientCredential::Assertion(_) => f.write_str("Assertion(<redacted>)"),
            ClientCredential::AssertionFile(p) => write!(f, "AssertionFile({})", p.display()),
            ClientCredential::Certificate(c) => write!(f, "Certificate({c:?})"),
        }
    }
}

/// Token source for the client-credentials grant.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    credential: ClientCredential,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

impl ClientCredentials {
    /// A client-credentials source. `authority_host` is e.g. `https://login.microsoftonline.com`
    /// or the emulator's base URL.
    pub fn new(
        http: reqwest::Client,
        authority_host: &str,
        tenant_id: &str,
        client_id: &str,
        credential: ClientCredential,
    ) -> Self {
        let token_url = format!(
            "{}/{}/oauth2/v2.0/token",
            authority_host.trim_end_matches('/'),
            tenant_id
        );
        ClientCredentials {
            http,
            token_url,
            client_id: client_id.to_string(),
            credential,
        }
    }

    fn flow(&self) -> &'static str {
        match self.credential {
            ClientCredential::Secret(_) => "client secret",
            ClientCredential::Certificate(_) => "client certificate",
            _ => "OIDC client assertion",
        }
    }

    fn assertion(&self) -> Result<Option<String>, AuthError> {
        match &self.credential {
            ClientCredential::Secret(_) => Ok(None),
            ClientCredential::Assertion(a) => Ok(Some(a.clone())),
            ClientCredential::Certificate(c) => c.assertion().map(Some),
            ClientCredential::AssertionFile(p) => std::fs::read_to_string(p)
                .map(|s| Some(s.trim().to_string()))
                .map_err(|e| {
                    AuthError::Misconfigured(format!(
                        "could not read the OIDC token file {}: {e}",
                        p.display()
                    ))
                }),
        }
    }
}

/// Reads `expires_in`, which some endpoints send as a number and others as a string.
pub(crate) fn seconds(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[async_trait]
impl TokenSource for ClientCredentials {
    async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", self.client_id.clone()),
            ("scope", scope.to_string()),
        ];
        match (&self.credential, self.assertion()?) {
            (ClientCredential::Secret(s), _) => form.push(("client_secret", s.clone())),
            (_, Some(a)) => {
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", a));
            }
            (_, None) => {
                return Err(AuthError::Misconfigured(
                    "no OIDC token is available".into(),
                ));
            }
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let resp = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| AuthError::Unreachable {
                flow: self.flow(),
                url: self.token_url.clone(),
                detail: format!(
                    "{}; check `authority_host` and, for a private CA such as the emulator's, \
                     `ca_certificate_file`",
                    super::error_chain(&e)
                ),
            })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| AuthError::Unreachable {
            flow: self.flow(),
            url: self.token_url.clone(),
            detail: e.to_string(),
        })?;
        let parsed: Option<TokenResponse> = serde_json::from_slice(&bytes).ok();
        match parsed {
            Some(TokenResponse {
                access_token: Some(tok),
                expires_in,
                ..
            }) if status.is_success() => {
                let secs = seconds(expires_in.as_ref()).unwrap_or(3600);
                Ok(AccessToken::valid_for(tok, Duration::from_secs(secs)))
            }
            Some(TokenResponse {
                error,
                error_description,
                ..
            }) if error.is_some() => Err(AuthError::Rejected {
                flow: self.flow(),
                detail: format!(
                    "HTTP {}: {}: {}",
                    status.as_u16(),
                    error.unwrap_or_default(),
                    error_description.unwrap_or_default()
                ),
            }),
            _ => Err(AuthError::Rejected {
                flow: self.flow(),
                detail: format!(
                    "HTTP {} from {} without an access_token: {}",
                    status.as_u16(),
                    self.token_url,
                    String::from_utf8_lossy(&bytes)
                        .chars()
                        .take(300)
                        .collect::<String>()
                ),
            }),
        }
    }
}

/// Percent-encodes a form value (`application/x-www-form-urlencoded`).
pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn client_secret_gets_token() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tenant1/oauth2/v2.0/token"))
            .and(body_string_contains("client_secret=s%26cret"))
            .and(body_string_contains(
                "scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"token_type":"Bearer","expires_in":3599,"access_token":"tok"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let cc = ClientCredentials::new(
            reqwest::Client::new(),
            &server.uri(),
            "tenant1",
            "client1",
            ClientCredential::Secret("s&cret".into()),
        );
        let t = cc.token(super::super::ARM_SCOPE).await.unwrap();
        assert_eq!(t.secret, "tok");
    }

    #[tokio::test]
    async fn rejected_secret_reports_error_description() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
                "error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"
            })))
            .mount(&server)
            .await;
        let cc = ClientCredentials::new(
            reqwest::Client::new(),
            &server.uri(),
            "t",
            "c",
            ClientCredential::Secret("x".into()),
        );
        let e = cc.token("s").await.unwrap_err().to_string();
        assert!(
            e.contains("invalid_client") && e.contains("AADSTS7000215"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn assertion_file_is_sent() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(body_string_contains("client_assertion=fed-token"))
            .and(body_string_contains("client_assertion_type=urn"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"expires_in":"100","access_token":"tok2"})),
            )
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "fed-token\n").unwrap();
        let cc = ClientCredentials::new(
            reqwest::Client::new(),
            &server.uri(),
            "t",
            "c",
            ClientCredential::AssertionFile(f),
        );
        assert_eq!(cc.token("s").await.unwrap().secret, "tok2");
    }
}
