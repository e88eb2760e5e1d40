//! Managed identity credential via the Azure Instance Metadata Service (IMDS).

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Deserialize;

use super::client_credentials::seconds;
use super::{scope_to_resource, AccessToken, AuthError, TokenSource};

/// The IMDS token endpoint.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// Token source for a VM's (or a pod's) managed identity.
#[derive(Debug, Clone)]
pub struct ManagedIdentity {
    http: reqwest::Client,
    endpoint: String,
    client_id: Option<String>,
}

#[derive(Deserialize)]
struct ImdsToken {
    access_token: Option<String>,
    expires_on: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

impl ManagedIdentity {
    /// Uses `endpoint` (default [`IMDS_ENDPOINT`]); `client_id` picks a user-assigned identity.
    pub fn new(http: reqwest::Client, endpoint: Option<String>, client_id: Option<String>) -> Self {
        ManagedIdentity {
            http,
            endpoint: endpoint.unwrap_or_else(|| IMDS_ENDPOINT.to_string()),
            client_id,
        }
    }
}

#[async_trait]
impl TokenSource for ManagedIdentity {
    async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let mut query = vec![
            ("api-version", "2018-02-01".to_string()),
            ("resource", scope_to_resource(scope)),
        ];
        if let Some(c) = &self.client_id {
            query.push(("client_id", c.clone()));
        }
        let unreachable = |e: reqwest::Error| AuthError::Unreachable {
            flow: "managed identity",
            url: self.endpoint.clone(),
            detail: format!("{e}; is this running on Azure with a managed identity assigned?"),
        };
        let resp = self
            .http
            .get(&self.endpoint)
            .query(&query)
            .header("Metadata", "true")
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(unreachable)?;
        let tok: ImdsToken = serde_json::from_slice(&body).map_err(|e| AuthError::Rejected {
            flow: "managed identity",
            detail: format!("HTTP {}: unparseable token response: {e}", status.as_u16()),
        })?;
        match tok.access_token {
            Some(secret) if status.is_success() => {
                let expires_at = match seconds(tok.expires_on.as_ref()) {
                    Some(s) => UNIX_EPOCH + Duration::from_secs(s),
                    None => {
                        std::time::SystemTime::now()
                            + Duration::from_secs(seconds(tok.expires_in.as_ref()).unwrap_or(3600))
                    }
                };
                Ok(AccessToken { secret, expires_at })
            }
            _ => Err(AuthError::Rejected {
                flow: "managed identity",
                detail: format!(
                    "HTTP {}: {}: {}",
                    status.as_u16(),
                    tok.error.unwrap_or_else(|| "no access_token".into()),
                    tok.error_description.unwrap_or_default()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn imds_token_with_metadata_header() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(header("Metadata", "true"))
            .and(query_param("resource", "https://dynamicsessions.io"))
            .and(query_param("client_id", "uai"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token":"mi-tok","expires_on":"1893456000","expires_in":"3599"
            })))
            .mount(&server)
            .await;
        let mi = ManagedIdentity::new(
            reqwest::Client::new(),
            Some(server.uri()),
            Some("uai".into()),
        );
        let t = mi.token(super::super::DATAPLANE_SCOPE).await.unwrap();
        assert_eq!(t.secret, "mi-tok");
        assert_eq!(
            t.expires_at,
            UNIX_EPOCH + Duration::from_secs(1_893_456_000)
        );
    }
}
