//! Session pools for the cases: a body in the canonical 2026-07-01 shape running the
//! target's sample session image, creation that waits for `Succeeded` (and registers the
//! pool for deletion at the end of the run), and data-plane URLs.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::case::{fail, Ctx, Failure};
use crate::http::Resp;

/// The canonical api-version.
pub const V: &str = "2026-07-01";
/// The data-plane api-version of `.management/*`.
pub const DP: &str = "2025-02-02-preview";

/// How a pool's sessions live.
#[derive(Debug, Clone, Copy)]
pub enum Lifecycle {
    /// Ends after this many seconds without a request.
    Timed(u64),
    /// Ends when the container exits or after this many seconds.
    OnContainerExit(u64),
}

/// What a case wants of its pool.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    /// `maxConcurrentSessions`.
    pub max: u32,
    /// `readySessionInstances`.
    pub ready: u32,
    /// Lifecycle.
    pub lifecycle: Lifecycle,
    /// `probes` of the container.
    pub probes: Value,
    /// Egress enabled.
    pub egress: bool,
    /// Extra env entries.
    pub env: Value,
}

impl Default for PoolSpec {
    fn default() -> Self {
        PoolSpec {
            max: 5,
            ready: 1,
            lifecycle: Lifecycle::Timed(300),
            probes: json!([]),
            egress: false,
            env: json!([]),
        }
    }
}

/// The pool body for `spec` on the context's target.
pub fn body(ctx: &Ctx, spec: &PoolSpec) -> Value {
    let t = ctx.target();
    let lifecycle = match spec.lifecycle {
        Lifecycle::Timed(s) => json!({"lifecycleType": "Timed", "cooldownPeriodInSeconds": s}),
        Lifecycle::OnContainerExit(s) => {
            json!({"lifecycleType": "OnContainerExit", "maxAlivePeriodInSeconds": s})
        }
    };
    json!({
        "location": t.location,
        "tags": t.run_tags(),
        "properties": {
            "environmentId": t.environment_id,
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": spec.max, "readySessionInstances": spec.ready},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": lifecycle},
            "customContainerTemplate": {
                "containers": [{
                    "name": "main",
                    "image": t.image,
                    "env": spec.env,
                    "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                    "probes": spec.probes,
                }],
                "ingress": {"targetPort": 8080}
            },
            "sessionNetworkConfiguration": {"status": if spec.egress { "EgressEnabled" } else { "EgressDisabled" }}
        }
    })
}

/// A created pool.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Its name.
    pub name: String,
    /// Its ARM path (id).
    pub path: String,
    /// `poolManagementEndpoint` (no trailing `/`).
    pub endpoint: String,
    /// The last GET body.
    pub body: Value,
}

impl Pool {
    /// `{endpoint}{path}` with `identifier` added to the query.
    pub fn url(&self, path: &str, identifier: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{}{path}{sep}identifier={}",
            self.endpoint,
            urlencode(identifier)
        )
    }

    /// `{endpoint}/.management/{op}?api-version=...{query}`.
    pub fn management(&self, op: &str, query: &str) -> String {
        format!("{}/.management/{op}?api-version={DP}{query}", self.endpoint)
    }

    /// `{path}?api-version={v}`.
    pub fn at(&self, v: &str) -> String {
        format!("{}?api-version={v}", self.path)
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// How long a pool may take to provision on this target.
pub fn provision_limit(ctx: &Ctx) -> Duration {
    match (ctx.target().is_emulator(), ctx.target().sessions) {
        (true, crate::target::Sessions::Fake) => Duration::from_secs(60),
        (true, crate::target::Sessions::Real) => Duration::from_secs(300),
        (false, _) => Duration::from_secs(1200),
    }
}

/// PUTs pool `name` with `body` (api-version [`V`]), registers it for cleanup, and returns
/// the answer without waiting.
pub async fn put(ctx: &Ctx, name: &str, body: &Value) -> Result<Resp, Failure> {
    let path = ctx.target().pool_path(name);
    ctx.target().track(&path, V);
    let resp = ctx
        .arm(Method::PUT, &format!("{path}?api-version={V}"), Some(body))
        .await?;
    ctx.status(&resp, &[200, 201], &format!("PUT session pool {name}"))?;
    Ok(resp)
}

/// Creates pool `name` from `body` and waits until it reads `Succeeded`.
pub async fn create(ctx: &Ctx, name: &str, body: &Value) -> Result<Pool, Failure> {
    put(ctx, name, body).await?;
    wait_succeeded(ctx, name).await
}

/// Creates a pool for `spec` with a fresh name.
pub async fn create_spec(ctx: &Ctx, tag: &str, spec: &PoolSpec) -> Result<Pool, Failure> {
    let name = ctx.name(tag);
    create(ctx, &name, &body(ctx, spec)).await
}

/// Polls pool `name` until `Succeeded` (a `Failed` pool fails the case).
pub async fn wait_succeeded(ctx: &Ctx, name: &str) -> Result<Pool, Failure> {
    let path = ctx.target().pool_path(name);
    let limit = provision_limit(ctx);
    let deadline = Instant::now() + limit;
    loop {
        let resp = ctx
            .arm(Method::GET, &format!("{path}?api-version={V}"), None)
            .await?;
        ctx.status(&resp, &[200], &format!("GET session pool {name}"))?;
        match resp.json["properties"]["provisioningState"].as_str() {
            Some("Succeeded") => {
                let endpoint = resp.json["properties"]["poolManagementEndpoint"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string();
                if endpoint.is_empty() {
                    return fail(format!("pool {name} has no poolManagementEndpoint"));
                }
                return Ok(Pool {
                    name: name.to_string(),
                    path,
                    endpoint,
                    body: resp.json,
                });
            }
            Some("Failed") => return fail(format!("pool {name} provisioning Failed")),
            _ => {}
        }
        if Instant::now() >= deadline {
            return fail(format!(
                "pool {name} not Succeeded within {} s",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(poll_interval(ctx)).await;
    }
}

/// How often to poll: fast on the emulator, gently on Azure.
pub fn poll_interval(ctx: &Ctx) -> Duration {
    if ctx.target().is_emulator() {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(5)
    }
}

/// Deletes pool `name` and waits for 404.
pub async fn delete(ctx: &Ctx, pool: &Pool) -> Result<(), Failure> {
    let resp = ctx.arm(Method::DELETE, &pool.at(V), None).await?;
    ctx.status(&resp, &[200, 202, 204], "DELETE the pool")?;
    wait_gone(ctx, &pool.at(V)).await?;
    ctx.target().untrack(&pool.path);
    Ok(())
}

/// Polls `GET path` until 404.
pub async fn wait_gone(ctx: &Ctx, path: &str) -> Result<(), Failure> {
    let deadline = Instant::now() + provision_limit(ctx);
    loop {
        let r = ctx.arm(Method::GET, path, None).await?;
        if r.status == 404 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return fail(format!(
                "{path} still answers {} after the delete",
                r.status
            ));
        }
        tokio::time::sleep(poll_interval(ctx)).await;
    }
}

/// Polls `check` until it returns `Some`, at most `limit`; `what` names it in the failure.
pub async fn eventually<T, F, Fut>(
    ctx: &Ctx,
    limit: Duration,
    what: &str,
    mut check: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, Failure>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return fail(format!("{what}: not within {} s", limit.as_secs()));
        }
        tokio::time::sleep(poll_interval(ctx)).await;
    }
}
