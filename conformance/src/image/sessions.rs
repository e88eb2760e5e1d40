//! The session steps of a check: a second identifier gets its own session, stopSession ends
//! the first one, and the cleanup of what the check created.

use std::time::{Duration, Instant};

use reqwest::Method;

use super::*;

impl Check {
    pub(super) async fn session_etag(
        &self,
        endpoint: &str,
        dp: &str,
        id: &str,
    ) -> anyhow::Result<Option<String>> {
        let url = format!(
            "{endpoint}/.management/getSession?identifier={id}&api-version={DATA_PLANE_API}"
        );
        let a = self.send(Method::POST, &url, dp, None).await?;
        match a.status {
            200 => Ok(a.body["etag"].as_str().map(str::to_string)),
            404 => Ok(None),
            s => bail!("POST {url} answered {s}: {}", a.text),
        }
    }

    pub(super) async fn second_session(
        &self,
        endpoint: &str,
        dp: &str,
        first: &str,
        second: &str,
    ) -> anyhow::Result<String> {
        let url = format!("{endpoint}/?identifier={second}");
        let a = self.send(Method::GET, &url, dp, None).await?;
        if a.status >= 500 {
            bail!(
                "GET {url} answered {}: {}\n  fix: the pool must start a second session from the same image (maxConcurrentSessions 2); see the emulator's log",
                a.status,
                a.text.chars().take(500).collect::<String>()
            );
        }
        let one = self.session_etag(endpoint, dp, first).await?;
        let two = self.session_etag(endpoint, dp, second).await?;
        match (one, two) {
            (Some(a), Some(b)) if a != b => Ok(format!("{first} -> {a}, {second} -> {b}")),
            (Some(a), Some(b)) => bail!("both identifiers are bound to the same session {a} ({b})"),
            (a, b) => {
                bail!("getSession does not know both identifiers ({first}: {a:?}, {second}: {b:?})")
            }
        }
    }

    pub(super) async fn stop_session(
        &self,
        endpoint: &str,
        dp: &str,
        first: &str,
        second: &str,
    ) -> anyhow::Result<String> {
        let url = format!(
            "{endpoint}/.management/stopSession?identifier={first}&api-version={DATA_PLANE_API}"
        );
        let a = self.send(Method::POST, &url, dp, None).await?;
        if a.status != 200 {
            bail!("POST {url} answered {}: {}", a.status, a.text);
        }
        let t = Instant::now();
        while self.session_etag(endpoint, dp, first).await?.is_some() {
            if t.elapsed() > Duration::from_secs(30) {
                bail!("{first} is still bound 30 s after stopSession");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if self.session_etag(endpoint, dp, second).await?.is_none() {
            bail!("stopping {first} also ended {second}");
        }
        Ok(format!(
            "{first} stopped ({}), {second} still bound",
            a.text.trim()
        ))
    }

    pub(super) async fn cleanup(&mut self) {
        if let Some(id) = self.pool_id.take() {
            let url = self.ready().url(&format!("{id}?api-version={API_VERSION}"));
            let _ = self.arm(Method::DELETE, &url, None).await;
            if self.args.data_dir.is_some() {
                // A shared emulator: wait until the pool is gone.
                let t = Instant::now();
                while t.elapsed() < Duration::from_secs(60) {
                    match self.arm(Method::GET, &url, None).await {
                        Ok(a) if a.status == 404 => break,
                        Err(_) => break,
                        _ => tokio::time::sleep(Duration::from_millis(500)).await,
                    }
                }
            }
        }
        if let Some(url) = self.setting_url.take() {
            let _ = self.arm(Method::DELETE, &url, None).await;
        }
        if let (Some(tag), true) = (self.loaded_tag.take(), self.args.data_dir.is_some()) {
            let _ = self.cli(&["image", "rm", &tag]).await;
        }
    }
}
