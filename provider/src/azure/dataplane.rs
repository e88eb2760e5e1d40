//! Pool data-plane client: `.management/stopSession`, `getSession`, `listSessions` (all pages)
//! on a pool's `poolManagementEndpoint`, with tokens for audience `https://dynamicsessions.io`.

use reqwest::Method;
use url::Url;

use super::auth::DATAPLANE_SCOPE;
use super::context::OpContext;
use super::error::AzureError;
use super::http::Pipeline;
use super::models::dataplane::{SessionPage, SessionView, API_VERSION};

/// Upper bound on listSessions pages followed (300 sessions each), against nextLink loops.
const MAX_PAGES: usize = 10_000;

/// Data-plane client (shares the ARM client's HTTP pipeline and credential).
#[derive(Clone)]
pub struct DataPlaneClient {
    pipeline: Pipeline,
}

/// Checks a session identifier the way the service does: 4-128 characters from the data-plane
/// TypeSpec's set (letters, digits and `_|}{[]:";'<>?/.,@#$%^&*()-+=!~` and backquote).
pub fn validate_identifier(id: &str) -> Result<(), String> {
    let n = id.chars().count();
    if !(4..=128).contains(&n) {
        return Err(format!("must be 4 to 128 characters long, got {n}"));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`\\".contains(*c)))
    {
        return Err(format!(
            "contains {bad:?}; allowed are letters, digits and _|}}{{[]:\";'<>?/.,@#$%^&*()-+=!~`"
        ));
    }
    Ok(())
}

impl DataPlaneClient {
    /// A data-plane client over `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        DataPlaneClient { pipeline }
    }

    fn op_url(endpoint: &str, op: &str, identifier: Option<&str>) -> Result<Url, AzureError> {
        let base = endpoint.trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}/.management/{op}")).map_err(|e| {
            AzureError::Config(format!(
                "`pool_management_endpoint` {endpoint:?} is not an absolute URL: {e}"
            ))
        })?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", API_VERSION);
            if let Some(id) = identifier {
                q.append_pair("identifier", id);
            }
        }
        Ok(url)
    }

    /// `POST .management/stopSession`; returns the service's text answer.
    pub async fn stop_session(
        &self,
        ctx: &OpContext,
        endpoint: &str,
        identifier: &str,
    ) -> Result<String, AzureError> {
        let url = Self::op_url(endpoint, "stopSession", Some(identifier))?;
        let resp = self
            .pipeline
            .send(ctx, DATAPLANE_SCOPE, Method::POST, url.as_str(), None)
            .await?;
        if !resp.status.is_success() {
            return Err(resp.into_error(&Method::POST, url.path()));
        }
        Ok(String::from_utf8_lossy(&resp.body).trim().to_string())
    }

    /// `POST .management/getSession`; `None` when the service answers 404.
    pub async fn get_session(
        &self,
        ctx: &OpContext,
        endpoint: &str,
        identifier: &str,
    ) -> Result<Option<SessionView>, AzureError> {
        let url = Self::op_url(endpoint, "getSession", Some(identifier))?;
        let resp = self
            .pipeline
            .send(ctx, DATAPLANE_SCOPE, Method::POST, url.as_str(), None)
            .await?;
        if resp.status.as_u16() == 404 {
            return Ok(None);
        }
        if !resp.status.is_success() {
            return Err(resp.into_error(&Method::POST, url.path()));
        }
        resp.json(url.path()).map(Some)
    }

    /// `POST .management/listSessions`, every page (following `nextLink`).
    pub async fn list_sessions(
        &self,
        ctx: &OpContext,
        endpoint: &str,
    ) -> Result<Vec<SessionView>, AzureError> {
        let mut url = Self::op_url(endpoint, "listSessions", None)?;
        url.query_pairs_mut().append_pair("skip", "0");
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            if !seen.insert(url.to_string()) {
                return Err(AzureError::Decode {
                    path: url.path().to_string(),
                    detail: format!("listSessions nextLink loops back to {url}"),
                });
            }
            let resp = self
                .pipeline
                .send(ctx, DATAPLANE_SCOPE, Method::POST, url.as_str(), None)
                .await?;
            if !resp.status.is_success() {
                return Err(resp.into_error(&Method::POST, url.path()));
            }
            let page: SessionPage = resp.json(url.path())?;
            let next = page.next_link.clone().filter(|s| !s.is_empty());
            out.extend(page.into_sessions());
            match next {
                Some(n) => {
                    url = url.join(&n).map_err(|e| AzureError::Decode {
                        path: url.path().to_string(),
                        detail: format!("bad nextLink {n:?}: {e}"),
                    })?
                }
                None => return Ok(out),
            }
        }
        Err(AzureError::Decode {
            path: url.path().to_string(),
            detail: format!("listSessions returned more than {MAX_PAGES} pages"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identifier_rules() {
        assert!(validate_identifier("user-1").is_ok());
        assert!(validate_identifier("a|b{c}[d];<e>").is_ok());
        assert!(validate_identifier("abc").unwrap_err().contains("4 to 128"));
        assert!(validate_identifier(&"x".repeat(129)).is_err());
        assert!(validate_identifier("has space")
            .unwrap_err()
            .contains("' '"));
        assert!(validate_identifier("ünï-code").is_err());
    }

    #[test]
    fn op_url_encodes_identifier() {
        let u =
            DataPlaneClient::op_url("https://p.example/pools/p1/", "stopSession", Some("a&b=c"))
                .unwrap();
        assert_eq!(
            u.as_str(),
            "https://p.example/pools/p1/.management/stopSession?api-version=2025-02-02-preview&identifier=a%26b%3Dc"
        );
        assert!(DataPlaneClient::op_url("not a url", "x", None).is_err());
    }

    proptest! {
        #[test]
        fn valid_identifiers_from_allowed_set_pass(s in "[a-zA-Z0-9_|{}:;<>?/.,@#$%^&*()+=!~-]{4,128}") {
            prop_assert!(validate_identifier(&s).is_ok());
        }

        #[test]
        fn validator_never_panics(s in "\\PC{0,200}") {
            let _ = validate_identifier(&s);
        }
    }
}
