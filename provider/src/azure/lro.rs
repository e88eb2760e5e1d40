//! Long-running operation polling, as azurerm's go-azure-sdk does it (`docs/azure-behaviour.md`
//! section 2):
//!
//! - PUT/PATCH answered with `Azure-AsyncOperation` (preferred) or `Location`: poll that URL's
//!   **path and query on our own endpoint** (the host is ignored). 202 means still running;
//!   otherwise `status` or `properties.provisioningState` decides; `Failed`/`Canceled` carry
//!   `error`. A 200 without any status ends a `Location` poll.
//! - PUT/PATCH without a header: poll the resource until its `provisioningState` is terminal.
//! - DELETE: ignore `Location`; poll `GET {resource}` until 404 (200 = still deleting).
//!
//! Every wait honours the server's `Retry-After` (bounded by the retry policy's maximum).
//! Without one, the first poll comes after [`PollSettings::initial_interval`] (1 s) and later
//! ones back off exponentially up to [`PollSettings::max_interval`] (10 s, the interval
//! go-azure-sdk polls at): an operation that finishes in under a second is seen after about a
//! second, a long one costs a request every 10 s.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::arm::ArmClient;
use super::context::OpContext;
use super::error::AzureError;
use super::http::RawResponse;
use super::retry::retry_after;

/// Polling intervals used when the server sends no `Retry-After`.
#[derive(Debug, Clone)]
pub struct PollSettings {
    /// Wait before the first poll.
    pub initial_interval: Duration,
    /// Longest wait between polls (the backoff stops growing here).
    pub max_interval: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
        }
    }
}

impl PollSettings {
    /// The wait before poll number `n` (0 = the first): `initial_interval * 2^n`, at most
    /// `max_interval`.
    pub fn backoff(&self, n: u32) -> Duration {
        self.initial_interval
            .saturating_mul(2u32.saturating_pow(n.min(16)))
            .min(self.max_interval)
            .max(self.initial_interval.min(self.max_interval))
    }
}

/// Where an operation stands, read from a status or resource body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpState {
    /// Still running (`InProgress`, `Accepted`, `Deleting`, ...).
    Running,
    /// Finished well.
    Succeeded,
    /// `Failed` or `Canceled`, with the terminal status text.
    Failed(String),
    /// The body says nothing about state.
    Unknown,
}

/// Reads `status` (operation status) or `properties.provisioningState` (resource).
pub fn op_state(body: &Value) -> OpState {
    let s = body.get("status").and_then(Value::as_str).or_else(|| {
        body.pointer("/properties/provisioningState")
            .and_then(Value::as_str)
    });
    match s {
        None => OpState::Unknown,
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "succeeded" => OpState::Succeeded,
            "failed" | "canceled" | "cancelled" => OpState::Failed(s.to_string()),
            _ => OpState::Running,
        },
    }
}

fn failure(path: &str, status: String, body: &Value) -> AzureError {
    let err = body
        .get("error")
        .or_else(|| body.pointer("/properties/error"));
    let field = |k: &str| {
        err.and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    AzureError::OperationFailed {
        path: path.to_string(),
        code: field("code").unwrap_or_else(|| "OperationFailed".into()),
        message: field("message")
            .unwrap_or_else(|| format!("the service reported provisioning state {status}")),
        status,
    }
}

impl ArmClient {
    /// The wait before poll number `n` after `resp`: its `Retry-After`, else the backoff.
    fn wait_for(&self, resp: &RawResponse, n: u32) -> Duration {
        retry_after(&resp.headers)
            .map(|d| d.min(self.pipeline().retry_policy().max_delay))
            .unwrap_or_else(|| self.poll_settings().backoff(n))
    }

    /// Completes a PUT/PATCH whose first response is `first`; returns the final resource body.
    pub(crate) async fn finish_put(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
        first: RawResponse,
    ) -> Result<Value, AzureError> {
        let header = first
            .header("azure-asyncoperation")
            .or_else(|| first.header("location"))
            .map(str::to_string);
        if let Some(url) = header {
            self.poll_status(ctx, path, &url, self.wait_for(&first, 0))
                .await?;
        } else {
            let body: Value = if first.body.is_empty() {
                Value::Null
            } else {
                first.json(path)?
            };
            match op_state(&body) {
                OpState::Succeeded => return Ok(body),
                OpState::Failed(s) => return Err(failure(path, s, &body)),
                OpState::Unknown if first.status.as_u16() != 202 => return Ok(body),
                _ => {}
            }
            let mut wait = self.wait_for(&first, 0);
            let mut n = 0u32;
            loop {
                n = n.saturating_add(1);
                ctx.sleep(wait).await?;
                let resp = self.send(ctx, Method::GET, path, api_version, None).await?;
                if !resp.status.is_success() {
                    return Err(resp.into_error(&Method::GET, path));
                }
                let body: Value = resp.json(path)?;
                match op_state(&body) {
                    OpState::Succeeded | OpState::Unknown => return Ok(body),
                    OpState::Failed(s) => return Err(failure(path, s, &body)),
                    OpState::Running => wait = self.wait_for(&resp, n),
                }
            }
        }
        // final-state-via azure-async-operation / location: read the resource itself.
        let resp = self.send(ctx, Method::GET, path, api_version, None).await?;
        if !resp.status.is_success() {
            return Err(resp.into_error(&Method::GET, path));
        }
        let body: Value = resp.json(path)?;
        if let OpState::Failed(s) = op_state(&body) {
            return Err(failure(path, s, &body));
        }
        Ok(body)
    }

    /// Polls an operation-status URL (path and query on our endpoint) until it is terminal.
    async fn poll_status(
        &self,
        ctx: &OpContext,
        resource_path: &str,
        status_url: &str,
        first_wait: Duration,
    ) -> Result<(), AzureError> {
        let url = self.rebase(status_url)?;
        let mut wait = first_wait;
        let mut n = 0u32;
        loop {
            n = n.saturating_add(1);
            ctx.sleep(wait).await?;
            let resp = self.send_url(ctx, Method::GET, &url, None).await?;
            let status = resp.status.as_u16();
            if status == 202 {
                wait = self.wait_for(&resp, n);
                continue;
            }
            if !resp.status.is_success() {
                return Err(resp.into_error(&Method::GET, resource_path));
            }
            let body: Value = if resp.body.is_empty() {
                Value::Null
            } else {
                resp.json(&url)?
            };
            match op_state(&body) {
                OpState::Succeeded | OpState::Unknown => return Ok(()),
                OpState::Failed(s) => return Err(failure(resource_path, s, &body)),
                OpState::Running => wait = self.wait_for(&resp, n),
            }
        }
    }

    /// Completes a DELETE whose first response is `first`: polls the resource until 404.
    pub(crate) async fn finish_delete(
        &self,
        ctx: &OpContext,
        path: &str,
        api_version: &str,
        first: RawResponse,
    ) -> Result<(), AzureError> {
        let mut wait = self.wait_for(&first, 0);
        let mut n = 0u32;
        loop {
            n = n.saturating_add(1);
            ctx.sleep(wait).await?;
            let resp = self.send(ctx, Method::GET, path, api_version, None).await?;
            match resp.status.as_u16() {
                404 => return Ok(()),
                s if (200..300).contains(&s) => {
                    if !resp.body.is_empty() {
                        let body: Value = resp.json(path)?;
                        if let OpState::Failed(st) = op_state(&body) {
                            return Err(failure(path, st, &body));
                        }
                    }
                    wait = self.wait_for(&resp, n);
                }
                _ => return Err(resp.into_error(&Method::GET, path)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_state_from_status_or_provisioning_state() {
        assert_eq!(op_state(&json!({"status":"InProgress"})), OpState::Running);
        assert_eq!(op_state(&json!({"status":"Succeeded"})), OpState::Succeeded);
        assert_eq!(
            op_state(&json!({"properties":{"provisioningState":"Canceled"}})),
            OpState::Failed("Canceled".into())
        );
        assert_eq!(
            op_state(&json!({"properties":{"provisioningState":"Deleting"}})),
            OpState::Running
        );
        assert_eq!(op_state(&json!({"name":"x"})), OpState::Unknown);
    }

    #[test]
    fn polling_starts_at_a_second_and_backs_off_to_ten() {
        let p = PollSettings::default();
        let waits: Vec<u64> = (0..7).map(|n| p.backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, vec![1000, 2000, 4000, 8000, 10000, 10000, 10000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn failure_carries_error() {
        let e = failure(
            "/p",
            "Failed".into(),
            &json!({"status":"Failed","error":{"code":"ImagePullFailed","message":"no such image"}}),
        );
        let s = e.to_string();
        assert!(
            s.contains("ImagePullFailed") && s.contains("no such image") && s.contains("Failed")
        );
    }
}
