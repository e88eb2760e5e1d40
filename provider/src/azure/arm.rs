//! Azure Resource Manager client: JSON requests with `api-version` against one endpoint
//! (`https://management.azure.com` or the emulator), with LRO completion ([`super::lro`]).

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::auth::{TokenSource, ARM_SCOPE};
use super::context::OpContext;
use super::error::AzureError;
use super::http::{Pipeline, RawResponse};
use super::lro::PollSettings;
use super::retry::RetryPolicy;

/// Default ARM endpoint.
pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";

/// ARM client bound to one endpoint and credential.
#[derive(Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    endpoint: Url,
    poll: PollSettings,
}

impl ArmClient {
    /// A client for `endpoint` (e.g. `https://management.azure.com`).
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        tokens: Arc<dyn TokenSource>,
        retry: RetryPolicy,
        poll: PollSettings,
    ) -> Result<Self, AzureError> {
        let endpoint = parse_endpoint(endpoint, "arm_endpoint")?;
        Ok(ArmClient {
            pipeline: Pipeline::new(http, tokens, retry),
            endpoint,
            poll,
        })
    }

    /// The HTTP pipeline (shared with the data-plane client).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The polling settings.
    pub fn poll_settings(&self) -> &PollSettings {
        &self.poll
    }

    /// The endpoint, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str().trim_end_matches('/')
    }

    /// Absolute URL of `path` with `api-version`.
    pub fn url(&self, path: &str, api_version: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{}{sep}api-version={api_version}", self.endpoint(), path)
    }

    /// Maps a URL the service returned (polling header, nextLink) onto our endpoint: its path
    /// and query are kept, its scheme/host/port are ours.
    pub fn rebase(&self, url: &str) -> Result<String, AzureError> {
        let parsed = Url::parse(url)
            .or_else(|_| self.endpoint.join(url))
            .map_err(|e| AzureError::Decode {
                path: url.to_string(),
                detail: format!("bad URL from service: {e}"),
            })?;
        let mut out = format!("{}{}", self.endpoint(), parsed.path());
        if let Some(q) = parsed.query() {
            out.push('?');
            out.push_str(q);
        }
        Ok(out)
    }

    pub(crate) async fn send(
        &self,
        ctx: &OpContext,
        method: Method,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, AzureError> {
        let url = self.url(path, api_version);
        self.send_url(ctx, method, &url, body).await
    }

    pub(crate) async fn send_url(
        &self,
        ctx: &OpContext,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, AzureError> {
        self.pipeline.send(ctx, ARM_SCOPE, method, url, body).await
    }

    /// GET a resource; `None` when it does not exist (404).
    pub async fn get(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
    ) -> Result<Option<Value>, AzureError> {
        let resp = self.send(ctx, Method::GET, path, api_version, None).await?;
        match resp.status.as_u16() {
            404 => Ok(None),
            s if (200..300).contains(&s) => Ok(Some(resp.json(path)?)),
            _ => Err(resp.into_error(&Method::GET, path)),
        }
    }

    /// PUT a resource and wait for its long-running operation; returns the final resource.
    pub async fn put_and_poll(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, AzureError> {
        self.write_and_poll(ctx, Method::PUT, path, api_version, body)
            .await
    }

    /// PATCH a resource (JSON merge patch) and wait for its long-running operation.
    pub async fn patch_and_poll(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, AzureError> {
        self.write_and_poll(ctx, Method::PATCH, path, api_version, body)
            .await
    }

    /// Sends a PUT or PATCH and waits for the long-running operation it starts.
    async fn write_and_poll(
        &self,
        ctx: &OpContext,
        method: Method,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, AzureError> {
        let first = self
            .begin_write(ctx, method, path, api_version, body)
            .await?;
        self.finish_put(ctx, path, api_version, first).await
    }

    /// Sends a PUT or PATCH and returns its accepted first response (an error when the
    /// service refused it). Complete it with [`ArmClient::finish_write`]: a failure there
    /// means the resource was written and its operation failed (or could not be followed).
    pub async fn begin_write(
        &self,
        ctx: &OpContext,
        method: Method,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<RawResponse, AzureError> {
        let first = self
            .send(ctx, method.clone(), path, api_version, Some(body))
            .await?;
        if !first.status.is_success() {
            return Err(first.into_error(&method, path));
        }
        Ok(first)
    }

    /// Waits for the long-running operation started by [`ArmClient::begin_write`]; returns
    /// the final resource.
    pub async fn finish_write(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
        first: RawResponse,
    ) -> Result<Value, AzureError> {
        self.finish_put(ctx, path, api_version, first).await
    }

    /// PUT a resource whose API is synchronous (diagnostic settings); returns the answer body.
    pub async fn put(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, AzureError> {
        let resp = self
            .send(ctx, Method::PUT, path, api_version, Some(body))
            .await?;
        if !resp.status.is_success() {
            return Err(resp.into_error(&Method::PUT, path));
        }
        if resp.body.is_empty() {
            return Ok(Value::Null);
        }
        resp.json(path)
    }

    /// DELETE a resource and wait until a GET answers 404. A missing resource is success.
    pub async fn delete_and_wait(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
    ) -> Result<(), AzureError> {
        let first = self
            .send(ctx, Method::DELETE, path, api_version, None)
            .await?;
        match first.status.as_u16() {
            204 | 404 => Ok(()),
            200..=299 => self.finish_delete(ctx, path, api_version, first).await,
            _ => Err(first.into_error(&Method::DELETE, path)),
        }
    }

    /// DELETE a resource whose API is synchronous. A missing resource is success.
    pub async fn delete(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
    ) -> Result<(), AzureError> {
        let resp = self
            .send(ctx, Method::DELETE, path, api_version, None)
            .await?;
        match resp.status.as_u16() {
            404 => Ok(()),
            s if (200..300).contains(&s) => Ok(()),
            _ => Err(resp.into_error(&Method::DELETE, path)),
        }
    }

    /// GET a pageable list, following `nextLink` (rebased onto our endpoint) to the end.
    pub async fn list(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
    ) -> Result<Vec<Value>, AzureError> {
        let mut out = Vec::new();
        let mut url = self.url(path, api_version);
        let mut seen = std::collections::HashSet::new();
        loop {
            if !seen.insert(url.clone()) {
                return Err(AzureError::Decode {
                    path: path.to_string(),
                    detail: format!("nextLink loops back to {url}"),
                });
            }
            let resp = self.send_url(ctx, Method::GET, &url, None).await?;
            if !resp.status.is_success() {
                return Err(resp.into_error(&Method::GET, path));
            }
            let page: Value = resp.json(path)?;
            if let Some(items) = page.get("value").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            match page.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => url = self.rebase(next)?,
                _ => return Ok(out),
            }
        }
    }
}

/// Parses an endpoint setting, naming the argument on failure.
pub fn parse_endpoint(endpoint: &str, argument: &str) -> Result<Url, AzureError> {
    let url = Url::parse(endpoint.trim()).map_err(|e| {
        AzureError::Config(format!(
            "`{argument}` {endpoint:?} is not an absolute URL: {e}"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AzureError::Config(format!(
            "`{argument}` {endpoint:?} must start with https:// (or http:// for a local emulator)"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::auth::StaticToken;

    fn client(ep: &str) -> ArmClient {
        ArmClient::new(
            reqwest::Client::new(),
            ep,
            Arc::new(StaticToken("t".into())),
            RetryPolicy::default(),
            PollSettings::default(),
        )
        .unwrap()
    }

    #[test]
    fn rebase_keeps_path_and_query_only() {
        let c = client("http://127.0.0.1:9/");
        assert_eq!(
            c.rebase(
                "https://management.azure.com/subscriptions/s/operationResults/x?api-version=1"
            )
            .unwrap(),
            "http://127.0.0.1:9/subscriptions/s/operationResults/x?api-version=1"
        );
        assert_eq!(
            c.url("/a/b", "2026-07-01"),
            "http://127.0.0.1:9/a/b?api-version=2026-07-01"
        );
    }

    #[test]
    fn bad_endpoint_names_argument() {
        let e = ArmClient::new(
            reqwest::Client::new(),
            "management.azure.com",
            Arc::new(StaticToken("t".into())),
            RetryPolicy::default(),
            PollSettings::default(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("arm_endpoint"), "{e}");
    }
}
