//! The HTTP pipeline shared by the ARM and data-plane clients: builds the `reqwest` client
//! (rustls, optional extra CA), adds the bearer token, retries with backoff and honours
//! cancellation and deadlines.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use super::auth::TokenSource;
use super::context::OpContext;
use super::error::{parse_error_body, AzureError};
use super::retry::{is_retryable_status, retry_after, RetryPolicy};

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!(
    "terraform-provider-azuresessions/",
    env!("CARGO_PKG_VERSION")
);

/// Builds the `reqwest` client: rustls with the web PKI roots plus every certificate in
/// `ca_file` (PEM, e.g. the emulator's `ca.pem`).
pub fn build_http_client(ca_file: Option<&Path>) -> Result<reqwest::Client, AzureError> {
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            AzureError::Config(format!(
                "`ca_certificate_file` {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            AzureError::Config(format!(
                "`ca_certificate_file` {}: not a PEM certificate bundle: {e}",
                path.display()
            ))
        })?;
        if certs.is_empty() {
            return Err(AzureError::Config(format!(
                "`ca_certificate_file` {} holds no PEM certificate",
                path.display()
            )));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map_err(|e| AzureError::Config(format!("cannot build the HTTP client: {e}")))
}

/// A fully read HTTP response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl RawResponse {
    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Turns a non-success response into [`AzureError::Api`].
    pub fn into_error(self, method: &Method, path: &str) -> AzureError {
        let d = parse_error_body(self.status.as_u16(), &self.body);
        AzureError::Api {
            method: method.to_string(),
            path: path.to_string(),
            status: self.status.as_u16(),
            code: d.code,
            message: d.message,
            target: d.target,
        }
    }

    /// Decodes the body as JSON, naming `path` on failure.
    pub fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, AzureError> {
        serde_json::from_slice(&self.body).map_err(|e| AzureError::Decode {
            path: path.to_string(),
            detail: format!(
                "HTTP {} body is not the expected JSON: {e}",
                self.status.as_u16()
            ),
        })
    }
}

/// Sends authenticated requests with retries.
#[derive(Clone)]
pub struct Pipeline {
    http: reqwest::Client,
    tokens: Arc<dyn TokenSource>,
    retry: RetryPolicy,
}

impl Pipeline {
    /// A pipeline over `http` with tokens from `tokens`.
    pub fn new(http: reqwest::Client, tokens: Arc<dyn TokenSource>, retry: RetryPolicy) -> Self {
        Pipeline {
            http,
            tokens,
            retry,
        }
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// A token for `scope` (checks the credential; the token is cached for later requests).
    pub async fn token(&self, ctx: &OpContext, scope: &str) -> Result<(), AzureError> {
        ctx.run(async { Ok(self.tokens.token(scope).await?) })
            .await
            .map(|_| ())
    }

    /// Sends `method url` with a token for `scope` and an optional JSON body. Retries on
    /// 408/429/5xx and connection failures; returns the last response whatever its status.
    pub async fn send(
        &self,
        ctx: &OpContext,
        scope: &str,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse, AzureError> {
        let body_bytes = match body {
            Some(v) => Some(serde_json::to_vec(v).map_err(|e| AzureError::Decode {
                path: url.to_string(),
                detail: format!("cannot encode request body: {e}"),
            })?),
            None => None,
        };
        let mut attempt = 0u32;
        loop {
            let token = ctx
                .run(async { Ok(self.tokens.token(scope).await?) })
                .await?;
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token.secret)
                .header("accept", "application/json");
            if let Some(b) = &body_bytes {
                req = req
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            let sent = ctx
                .run(async {
                    let resp = req.send().await;
                    Ok(match resp {
                        Ok(r) => {
                            let status = r.status();
                            let headers = r.headers().clone();
                            r.bytes().await.map(|body| RawResponse {
                                status,
                                headers,
                                body,
                            })
                        }
                        Err(e) => Err(e),
                    })
                })
                .await?;
            let retry_in = match &sent {
                Ok(r) if is_retryable_status(r.status.as_u16()) => {
                    Some(self.retry.delay(attempt, retry_after(&r.headers)))
                }
                Ok(_) => None,
                Err(_) => Some(self.retry.delay(attempt, None)),
            };
            match (retry_in, attempt < self.retry.max_retries) {
                (Some(d), true) => {
                    tracing::debug!(%method, url, attempt, delay_ms = d.as_millis() as u64, "retrying");
                    ctx.sleep(d).await?;
                    attempt += 1;
                }
                _ => {
                    return sent.map_err(|e| AzureError::Transport {
                        url: url.to_string(),
                        detail: error_chain(&e),
                    })
                }
            }
        }
    }
}

/// An error with its sources, e.g. "error sending request: tcp connect error: refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_names_the_argument() {
        let e = build_http_client(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(e.to_string().contains("ca_certificate_file"), "{e}");
    }

    #[test]
    fn garbage_ca_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a cert").unwrap();
        let e = build_http_client(Some(&f)).unwrap_err();
        assert!(e.to_string().contains("PEM"), "{e}");
    }

    #[test]
    fn generated_ca_is_accepted() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, cert.pem()).unwrap();
        build_http_client(Some(&f)).unwrap();
    }
}
