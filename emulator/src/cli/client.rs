//! A client of the running emulator for the CLI's `logs` and `query`: its ready file
//! (`{data_dir}/ready.json`) gives the endpoint, the CA to trust and the seeded client's
//! credentials; tokens come from the emulator's own token endpoint, exactly as an SDK gets them.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::defaults;

/// The running emulator, as its ready file describes it.
#[derive(Debug, Clone)]
pub struct Emulator {
    /// The ready line.
    pub ready: Value,
    /// Its endpoint (`https://127.0.0.1:7443`).
    pub endpoint: String,
    http: reqwest::Client,
}

impl Emulator {
    /// Reads `{data_dir}/ready.json` and builds an HTTP client trusting the emulator's CA.
    pub fn connect(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(defaults::READY_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no running emulator found ({} is missing); start one with `sessions-emulator serve --data-dir {}` or pass --data-dir",
                path.display(),
                data_dir.display()
            )
        })?;
        let ready: Value = serde_json::from_str(&text).with_context(|| {
            format!("{} is not valid JSON; restart the emulator", path.display())
        })?;
        let endpoint = ready["endpoint"]
            .as_str()
            .with_context(|| format!("{} has no endpoint; restart the emulator", path.display()))?
            .trim_end_matches('/')
            .to_string();
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
        if let Some(ca) = ready["caFile"].as_str() {
            let pem = std::fs::read(ca).with_context(|| format!("cannot read the CA {ca}"))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{ca} is not a PEM certificate"))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().context("cannot build an HTTP client")?;
        Ok(Emulator {
            ready,
            endpoint,
            http,
        })
    }

    /// A string field of the ready line.
    pub fn field(&self, key: &str) -> anyhow::Result<&str> {
        self.ready[key]
            .as_str()
            .with_context(|| format!("the ready file has no '{key}'; restart the emulator"))
    }

    /// A token for `audience` (client credentials of the seeded client).
    pub async fn token(&self, audience: &str) -> anyhow::Result<String> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.endpoint,
            self.field("tenantId")?
        );
        let scope = format!("{}/.default", audience.trim_end_matches('/'));
        let resp = self
            .http
            .post(&url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.field("clientId")?),
                ("client_secret", self.field("clientSecret")?),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .with_context(|| {
                format!(
                    "the emulator at {} does not answer (stale ready.json?); start it again",
                    self.endpoint
                )
            })?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        match body["access_token"].as_str() {
            Some(t) if status.is_success() => Ok(t.to_string()),
            _ => bail!("the token endpoint refused the seeded client ({status}): {body}"),
        }
    }

    /// `GET {endpoint}{path_and_query}` with `token`; (status, JSON body or `null`).
    pub async fn get(&self, path_and_query: &str, token: &str) -> anyhow::Result<(u16, Value)> {
        let resp = self
            .http
            .get(format!("{}{path_and_query}", self.endpoint))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("the emulator at {} does not answer", self.endpoint))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// `POST {endpoint}{path}` with a JSON body and `token`; (status, JSON body or `null`).
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let resp = self
            .http
            .post(format!("{}{path}", self.endpoint))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("the emulator at {} does not answer", self.endpoint))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }
}

/// The message of an error body (`{"error": {"code", "message", "innererror"...}}` or a flat
/// `{code, message}`): the codes of every level, then the innermost message (the one that says
/// what was wrong), e.g. `BadArgumentError/SemanticError/SEM0100: ... named 'X'`.
pub fn error_text(status: u16, body: &Value) -> String {
    let mut e = if body["error"].is_object() {
        &body["error"]
    } else {
        body
    };
    let mut codes = Vec::new();
    let mut message = None;
    loop {
        if let Some(c) = e["code"].as_str() {
            codes.push(c);
        }
        if let Some(m) = e["message"].as_str() {
            message = Some(m);
        }
        if !e["innererror"].is_object() {
            break;
        }
        e = &e["innererror"];
    }
    match message {
        Some(m) if codes.is_empty() => m.to_string(),
        Some(m) => format!("{}: {m}", codes.join("/")),
        None => format!("HTTP {status}: {body}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_texts() {
        assert_eq!(
            error_text(
                404,
                &json!({"error": {"code": "PoolNotFound", "message": "No pool."}})
            ),
            "PoolNotFound: No pool."
        );
        assert_eq!(
            error_text(
                400,
                &json!({"error": {"code": "BadArgumentError", "message": "bad", "innererror": {"code": "SemanticError", "message": "no table"}}})
            ),
            "BadArgumentError/SemanticError: no table"
        );
        assert_eq!(error_text(500, &Value::Null), "HTTP 500: null");
    }
}
