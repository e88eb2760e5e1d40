//! `isolation`: each session is its own sandbox: its own kernel boot and randomness; with
//! egress disabled nothing outside is reachable; with egress enabled neither the host (the
//! emulator's listeners) nor another session is.

use super::lifecycle::hit;
use super::pool::{self, PoolSpec};
use crate::case;
use crate::case::{ensure, Case, CaseResult, Ctx, Failure, Needs};

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("isolation", "own_kernel", Needs::Vm, "two sessions have their own kernel boot, hostname and randomness", own_kernel),
        case!("isolation", "egress_disabled", Needs::Vm, "with egress disabled a session reaches no outside address and not the host", egress_disabled),
        case!("isolation", "no_reach_between_sessions", Needs::Vm, "with egress enabled a session reaches neither the emulator's listeners nor another session's port", no_reach_between_sessions),
    ]
}

/// `GET /connect?host=H&port=P` from session `id`: the `result` (`open`, `refused`, `timeout`, `error`).
async fn connect(
    ctx: &Ctx,
    p: &pool::Pool,
    id: &str,
    host: &str,
    port: u16,
) -> Result<String, Failure> {
    let r = hit(
        ctx,
        p,
        &format!("/connect?host={host}&port={port}&timeout_ms=2000"),
        id,
    )
    .await?;
    ctx.status(&r, &[200], &format!("GET /connect {host}:{port}"))?;
    Ok(r.json["result"].as_str().unwrap_or_default().to_string())
}

async fn own_kernel(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(
        &ctx,
        "kern",
        &PoolSpec {
            ready: 2,
            ..PoolSpec::default()
        },
    )
    .await?;
    let a = hit(&ctx, &p, "/", "kern-a").await?;
    let b = hit(&ctx, &p, "/", "kern-b").await?;
    ctx.status(&b, &[200], "second session")?;
    ensure(
        a.json["kernel"]
            .as_str()
            .is_some_and(|k| !k.is_empty() && k != "fake"),
        || format!("kernel {}", a.json["kernel"]),
    )?;
    ensure(a.json["hostname"] != b.json["hostname"], || {
        "two sessions share a hostname".into()
    })?;
    ensure(a.json["random"] != b.json["random"], || {
        "two sessions share their randomness".into()
    })?;
    Ok(())
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.port_or_known_default())
        .unwrap_or(443)
}

async fn egress_disabled(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "noegress", &PoolSpec::default()).await?;
    let arm_port = port_of(&ctx.target().arm);
    for (host, port) in [
        ("1.1.1.1", 443),
        ("10.0.2.2", arm_port),
        ("10.0.2.2", port_of(&p.endpoint)),
    ] {
        let res = connect(&ctx, &p, "noeg-1", host, port).await?;
        ensure(res != "open", || {
            format!("a session with egress disabled opened {host}:{port}")
        })?;
    }
    Ok(())
}

async fn no_reach_between_sessions(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(
        &ctx,
        "egress",
        &PoolSpec {
            egress: true,
            ready: 2,
            ..PoolSpec::default()
        },
    )
    .await?;
    let other = pool::create_spec(&ctx, "other", &PoolSpec::default()).await?;
    let a = hit(&ctx, &other, "/", "victim").await?;
    ctx.status(&a, &[200], "a session of another pool")?;
    let arm_port = port_of(&ctx.target().arm);
    for (host, port) in [
        ("10.0.2.2", arm_port),
        ("10.0.2.2", port_of(&other.endpoint)),
        ("10.0.2.2", port_of(&p.endpoint)),
    ] {
        let res = connect(&ctx, &p, "egress-1", host, port).await?;
        ensure(res != "open", || {
            format!("a session opened {host}:{port} (the host)")
        })?;
    }
    Ok(())
}
