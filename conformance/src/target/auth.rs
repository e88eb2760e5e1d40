//! Tokens: client credentials (a secret, or a federated token file as workload identity gives
//! it) at `{authority}/{tenant}/oauth2/v2.0/token`, or the Azure CLI (`az account
//! get-access-token`). The emulator is always a client secret (its ready line's); for Azure,
//! [`Credential::from_env`] picks what the environment offers, in the order Azure's own
//! `DefaultAzureCredential` does: environment secret, workload identity, `az login`.

use std::path::PathBuf;

use serde::Deserialize;

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token endpoint refused.
    #[error("the token endpoint {url} answered {status}: {body}")]
    Refused {
        /// Token endpoint.
        url: String,
        /// Status.
        status: u16,
        /// Body (AAD error).
        body: String,
    },
    /// No answer, or not a token.
    #[error("token request to {url} failed: {why}")]
    Transport {
        /// Token endpoint.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// `az` failed.
    #[error("`az account get-access-token` failed ({0}); run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE)")]
    AzureCli(String),
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
}

/// A token and its lifetime in seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// Seconds it stays valid.
    #[serde(default = "default_life", deserialize_with = "lenient_u64")]
    pub expires_in: u64,
}

fn default_life() -> u64 {
    3600
}

/// AAD v1 answers `expires_in` as a string.
fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(3600),
        serde_json::Value::String(s) => s.parse().unwrap_or(3600),
        _ => 3600,
    })
}

/// How tokens are obtained.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Client id and secret (service principal; the emulator's ready line).
    ClientSecret {
        /// Application (client) id.
        client_id: String,
        /// Secret.
        secret: String,
    },
    /// Client id and a federated token read from a file at each request (workload identity:
    /// `AZURE_FEDERATED_TOKEN_FILE`).
    Federated {
        /// Application (client) id.
        client_id: String,
        /// File holding the assertion.
        token_file: PathBuf,
    },
    /// `az account get-access-token` (after `az login`).
    AzureCli,
}

impl Credential {
    /// What the environment offers, for Azure: `AZURE_CLIENT_ID` (or `ARM_CLIENT_ID`) with
    /// `AZURE_CLIENT_SECRET` (`ARM_CLIENT_SECRET`), else with `AZURE_FEDERATED_TOKEN_FILE`,
    /// else the Azure CLI.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |a: &str, b: &str| get(a).or_else(|| get(b)).filter(|v| !v.is_empty());
        let client = var("AZURE_CLIENT_ID", "ARM_CLIENT_ID");
        if let (Some(client_id), Some(secret)) = (
            client.clone(),
            var("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"),
        ) {
            return Credential::ClientSecret { client_id, secret };
        }
        if let (Some(client_id), Some(file)) = (
            client,
            var("AZURE_FEDERATED_TOKEN_FILE", "ARM_OIDC_TOKEN_FILE_PATH"),
        ) {
            return Credential::Federated {
                client_id,
                token_file: PathBuf::from(file),
            };
        }
        Credential::AzureCli
    }

    /// A short description (never the secret).
    pub fn describe(&self) -> String {
        match self {
            Credential::ClientSecret { client_id, .. } => format!("client secret of {client_id}"),
            Credential::Federated { client_id, .. } => {
                format!("federated token (workload identity) of {client_id}")
            }
            Credential::AzureCli => "Azure CLI (az login)".into(),
        }
    }

    /// A token for `scope`.
    pub async fn token(
        &self,
        client: &reqwest::Client,
        authority: &str,
        tenant: &str,
        scope: &str,
    ) -> Result<Token, TokenError> {
        let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
        let form: Vec<(&str, String)> = match self {
            Credential::ClientSecret { client_id, secret } => vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", client_id.clone()),
                ("client_secret", secret.clone()),
                ("scope", scope.into()),
            ],
            Credential::Federated {
                client_id,
                token_file,
            } => {
                let assertion = std::fs::read_to_string(token_file).map_err(|e| {
                    TokenError::Config(format!(
                        "cannot read the federated token file {}: {e}",
                        token_file.display()
                    ))
                })?;
                vec![
                    ("grant_type", "client_credentials".into()),
                    ("client_id", client_id.clone()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ),
                    ("client_assertion", assertion.trim().to_string()),
                    ("scope", scope.into()),
                ]
            }
            Credential::AzureCli => return az_cli_token(tenant, scope).await,
        };
        let resp =
            client
                .post(&url)
                .form(&form)
                .send()
                .await
                .map_err(|e| TokenError::Transport {
                    url: url.clone(),
                    why: crate::http::error_chain(&e),
                })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if status != 200 {
            return Err(TokenError::Refused { url, status, body });
        }
        serde_json::from_str(&body).map_err(|e| TokenError::Transport {
            url,
            why: format!("the answer is no token ({e})"),
        })
    }
}

/// `az account get-access-token --scope S --tenant T`.
async fn az_cli_token(tenant: &str, scope: &str) -> Result<Token, TokenError> {
    let mut cmd = tokio::process::Command::new("az");
    cmd.args([
        "account",
        "get-access-token",
        "--output",
        "json",
        "--scope",
        scope,
    ]);
    if !tenant.is_empty() {
        cmd.args(["--tenant", tenant]);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| TokenError::AzureCli(format!("cannot run az: {e}")))?;
    if !out.status.success() {
        return Err(TokenError::AzureCli(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    parse_az_token(&out.stdout).map_err(TokenError::AzureCli)
}

/// Parses `az account get-access-token -o json` (`accessToken`, `expires_on` epoch seconds).
pub fn parse_az_token(stdout: &[u8]) -> Result<Token, String> {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|e| format!("its output is no JSON: {e}"))?;
    let access_token = v["accessToken"]
        .as_str()
        .ok_or("its output has no accessToken")?
        .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let expires_in = v["expires_on"]
        .as_u64()
        .or_else(|| v["expires_on"].as_str().and_then(|s| s.parse().ok()))
        .map(|at| at.saturating_sub(now))
        .unwrap_or(600);
    Ok(Token {
        access_token,
        expires_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_picks_secret_then_federated_then_cli() {
        let c = Credential::from_env(env(&[
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/f"),
        ]));
        assert!(matches!(c, Credential::ClientSecret { ref client_id, .. } if client_id == "app"));
        let c = Credential::from_env(env(&[
            ("ARM_CLIENT_ID", "app"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/f"),
        ]));
        assert!(
            matches!(c, Credential::Federated { ref token_file, .. } if token_file == &PathBuf::from("/f"))
        );
        assert!(matches!(
            Credential::from_env(env(&[("AZURE_CLIENT_SECRET", "s")])),
            Credential::AzureCli
        ));
        assert!(!Credential::ClientSecret {
            client_id: "a".into(),
            secret: "hunter2".into()
        }
        .describe()
        .contains("hunter2"));
    }

    /// Recorded from Entra ID (values replaced): a client-credentials answer.
    const AAD_TOKEN: &str = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QifQ.e30.sig"}"#;
    /// Recorded from Entra ID: a wrong secret.
    const AAD_BAD_SECRET: &str = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00000000-0000-0000-0000-000000000001'.","error_codes":[7000215],"timestamp":"2026-01-01 00:00:00Z","trace_id":"00000000-0000-0000-0000-000000000002","correlation_id":"00000000-0000-0000-0000-000000000003","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#;

    #[tokio::test]
    async fn client_secret_and_federated_tokens_from_the_token_endpoint() {
        let aad = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tenant1/oauth2/v2.0/token"))
            .and(body_string_contains("client_secret=good"))
            .respond_with(ResponseTemplate::new(200).set_body_string(AAD_TOKEN))
            .mount(&aad)
            .await;
        Mock::given(method("POST"))
            .and(path("/tenant1/oauth2/v2.0/token"))
            .and(body_string_contains("client_assertion=fed-jwt"))
            .and(body_string_contains("jwt-bearer"))
            .respond_with(ResponseTemplate::new(200).set_body_string(AAD_TOKEN))
            .mount(&aad)
            .await;
        Mock::given(method("POST"))
            .and(path("/tenant1/oauth2/v2.0/token"))
            .and(body_string_contains("client_secret=bad"))
            .respond_with(ResponseTemplate::new(401).set_body_string(AAD_BAD_SECRET))
            .mount(&aad)
            .await;
        let client = reqwest::Client::new();
        let good = Credential::ClientSecret {
            client_id: "app".into(),
            secret: "good".into(),
        };
        let t = good
            .token(
                &client,
                &aad.uri(),
                "tenant1",
                "https://management.azure.com/.default",
            )
            .await
            .unwrap();
        assert_eq!(t.expires_in, 3599);
        assert!(t.access_token.starts_with("eyJ"));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "fed-jwt\n").unwrap();
        let fed = Credential::Federated {
            client_id: "app".into(),
            token_file: file,
        };
        fed.token(&client, &aad.uri(), "tenant1", "x")
            .await
            .unwrap();

        let bad = Credential::ClientSecret {
            client_id: "app".into(),
            secret: "bad".into(),
        };
        let e = bad
            .token(&client, &aad.uri(), "tenant1", "x")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("401") && e.contains("AADSTS7000215"), "{e}");
    }

    #[test]
    fn az_cli_output_parses() {
        let out = br#"{"accessToken":"tok","expiresOn":"2030-01-01 00:00:00.000000","expires_on":1893456000,"subscription":"s","tenant":"t","tokenType":"Bearer"}"#;
        let t = parse_az_token(out).unwrap();
        assert_eq!(t.access_token, "tok");
        assert!(t.expires_in > 0);
        assert!(parse_az_token(b"{}").is_err());
    }
}
