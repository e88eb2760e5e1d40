//! `probes`: Startup probes gate readiness, Liveness probes replace a failing session after
//! `failureThreshold` failures (HTTP and TCP), and thresholds are honoured.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::lifecycle::{hit, listed, session_of};
use super::pool::{self, PoolSpec};
use crate::case;
use crate::case::{ensure, fail, Case, CaseResult, Ctx, Needs};

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("probes", "startup_gates_readiness", Needs::Sessions, "a Startup probe that never passes keeps sessions from being allocated (429); one that passes lets them serve", startup_gates_readiness),
        case!("probes", "liveness_http_replaces", Needs::Sessions, "an HTTP Liveness probe failing failureThreshold times replaces the session", liveness_http_replaces),
        case!("probes", "tcp_probes", Needs::Sessions, "TCP Startup and Liveness probes on the target port pass and the pool serves", tcp_probes),
        case!("probes", "failure_threshold", Needs::Sessions, "a Liveness probe with failureThreshold 10 keeps a failing session for ~10 periods, not fewer", failure_threshold),
    ]
}

fn http_probe(kind: &str, path: &str, period: u64, threshold: u64) -> serde_json::Value {
    json!({"type": kind, "httpGet": {"path": path, "port": 8080, "scheme": "HTTP"},
           "initialDelaySeconds": 1, "periodSeconds": period, "failureThreshold": threshold,
           "successThreshold": 1, "timeoutSeconds": 1})
}

async fn startup_gates_readiness(ctx: Ctx) -> CaseResult {
    // Never passes: nothing listens on 9.
    let bad = PoolSpec {
        probes: json!([{"type": "Startup", "tcpSocket": {"port": 9}, "initialDelaySeconds": 1, "periodSeconds": 1, "failureThreshold": 10, "timeoutSeconds": 1}]),
        ..PoolSpec::default()
    };
    let name = ctx.name("gate");
    let r = pool::put(&ctx, &name, &pool::body(&ctx, &bad)).await?;
    let endpoint = r.json["properties"]["poolManagementEndpoint"]
        .as_str()
        .map(str::to_string);
    let p = pool::eventually(
        &ctx,
        pool::provision_limit(&ctx),
        "the pool's endpoint",
        || async {
            let r = ctx
                .arm(
                    Method::GET,
                    &format!("{}?api-version={}", ctx.target().pool_path(&name), pool::V),
                    None,
                )
                .await?;
            Ok(r.json["properties"]["poolManagementEndpoint"]
                .as_str()
                .or(endpoint.as_deref())
                .map(|e| pool::Pool {
                    name: name.clone(),
                    path: ctx.target().pool_path(&name),
                    endpoint: e.trim_end_matches('/').to_string(),
                    body: r.json.clone(),
                }))
        },
    )
    .await?;
    let r = hit(&ctx, &p, "/", "gate-1").await?;
    ctx.status(
        &r,
        &[429],
        "a request to a pool whose Startup probe never passes",
    )?;
    let good = PoolSpec {
        probes: json!([http_probe("Startup", "/health", 1, 10)]),
        ..PoolSpec::default()
    };
    let p = pool::create_spec(&ctx, "gated", &good).await?;
    session_of(&ctx, &p, "gated-1").await?;
    Ok(())
}

async fn liveness_http_replaces(ctx: Ctx) -> CaseResult {
    let spec = PoolSpec {
        probes: json!([http_probe("Liveness", "/health", 10, 3)]),
        ..PoolSpec::default()
    };
    let p = pool::create_spec(&ctx, "live", &spec).await?;
    let first = session_of(&ctx, &p, "live-1").await?;
    let req = ctx
        .data(Method::POST, &p.url("/unhealthy", "live-1"))
        .await?;
    let r = ctx.send(req).await?;
    ctx.status(&r, &[200, 204], "POST /unhealthy")?;
    let limit = ctx.target().scaled(Duration::from_secs(10 * 3)) * 4 + Duration::from_secs(30);
    pool::eventually(
        &ctx,
        limit,
        "the unhealthy session to be replaced",
        || async { Ok((!listed(&ctx, &p, "live-1").await?).then_some(())) },
    )
    .await?;
    let again = session_of(&ctx, &p, "live-1").await?;
    ensure(again != first, || {
        "the identifier still reaches the unhealthy session".into()
    })?;
    Ok(())
}

async fn tcp_probes(ctx: Ctx) -> CaseResult {
    let spec = PoolSpec {
        probes: json!([
            {"type": "Startup", "tcpSocket": {"port": 8080}, "initialDelaySeconds": 1, "periodSeconds": 1, "failureThreshold": 10},
            {"type": "Liveness", "tcpSocket": {"port": 8080}, "initialDelaySeconds": 1, "periodSeconds": 10, "failureThreshold": 3}
        ]),
        ..PoolSpec::default()
    };
    let p = pool::create_spec(&ctx, "tcp", &spec).await?;
    let first = session_of(&ctx, &p, "tcp-1").await?;
    // Several liveness periods later the healthy session is still the same.
    tokio::time::sleep(ctx.target().scaled(Duration::from_secs(40))).await;
    let again = session_of(&ctx, &p, "tcp-1").await?;
    ensure(again == first, || {
        "a session passing its TCP Liveness probe was replaced".into()
    })?;
    Ok(())
}

async fn failure_threshold(ctx: Ctx) -> CaseResult {
    let spec = PoolSpec {
        probes: json!([http_probe("Liveness", "/health", 10, 10)]),
        ..PoolSpec::default()
    };
    let p = pool::create_spec(&ctx, "thr", &spec).await?;
    session_of(&ctx, &p, "thr-1").await?;
    let req = ctx
        .data(Method::POST, &p.url("/unhealthy", "thr-1"))
        .await?;
    ctx.send(req).await?;
    let failing = Instant::now();
    let window = ctx.target().scaled(Duration::from_secs(10 * 10));
    // Still there at 40% of threshold x period.
    tokio::time::sleep(window.mul_f64(0.4)).await;
    ensure(listed(&ctx, &p, "thr-1").await?, || {
        format!(
            "the session was replaced after {:?}, before 10 failed probes ({window:?})",
            failing.elapsed()
        )
    })?;
    pool::eventually(
        &ctx,
        window * 3 + Duration::from_secs(30),
        "the session to be replaced after 10 failures",
        || async { Ok((!listed(&ctx, &p, "thr-1").await?).then_some(())) },
    )
    .await?;
    if failing.elapsed() < window.mul_f64(0.8) {
        return fail(format!(
            "replaced after {:?}, before 10 periods ({window:?})",
            failing.elapsed()
        ));
    }
    Ok(())
}
