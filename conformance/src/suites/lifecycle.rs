//! `lifecycle`: how sessions end and pools refill: Timed cooldown (each request pushes the
//! end out), OnContainerExit, `maxAlivePeriodInSeconds`, refill to `readySessionInstances`,
//! and a template update rolling the ready set. Waits are the pool's durations times the
//! target's time scale (an emulator this run starts uses 0.05: 300 s are 15 s).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::pool::{self, Lifecycle, Pool, PoolSpec, V};
use crate::case;
use crate::case::{ensure, ensure_eq, fail, Case, CaseResult, Ctx, Failure, Needs};
use crate::http::Resp;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("lifecycle", "timed_cooldown", Needs::Sessions, "a Timed session lives while requests come within the cooldown and ends after a cooldown without one", timed_cooldown),
        case!("lifecycle", "on_container_exit", Needs::Sessions, "an OnContainerExit session ends when its container exits; the identifier then gets a new session", on_container_exit),
        case!("lifecycle", "max_alive_period", Needs::Sessions, "an OnContainerExit session ends at maxAlivePeriodInSeconds even while it is used", max_alive_period),
        case!("lifecycle", "refill_ready", Needs::Sessions, "allocating sessions refills the pool to readySessionInstances ready ones (nodeCount)", refill_ready),
        case!("lifecycle", "template_update_rolls", Needs::Vm, "a template update reaches every session allocated after it (the ready set is rolled)", template_update_rolls),
    ]
}

/// `GET {pool}/?identifier=id` with a data-plane token.
pub async fn hit(ctx: &Ctx, p: &Pool, path: &str, id: &str) -> Result<Resp, Failure> {
    let req = ctx.data(Method::GET, &p.url(path, id)).await?;
    ctx.send(req).await
}

/// The `hostname` (session) answering identifier `id`.
pub async fn session_of(ctx: &Ctx, p: &Pool, id: &str) -> Result<String, Failure> {
    let r = hit(ctx, p, "/", id).await?;
    ctx.status(&r, &[200], &format!("request of identifier {id}"))?;
    match r.json["hostname"].as_str() {
        Some(h) => Ok(h.to_string()),
        None => fail("the session's answer has no hostname"),
    }
}

/// Whether `.management/listSessions` lists identifier `id` (does not touch the session).
pub async fn listed(ctx: &Ctx, p: &Pool, id: &str) -> Result<bool, Failure> {
    let req = ctx
        .data(Method::POST, &p.management("listSessions", ""))
        .await?;
    let r = ctx.send(req).await?;
    ctx.status(&r, &[200], "listSessions")?;
    Ok(r.json["value"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s["identifier"] == id)))
}

/// Waits until `id` is no longer listed; returns when, from `since`.
async fn wait_unlisted(
    ctx: &Ctx,
    p: &Pool,
    id: &str,
    limit: Duration,
) -> Result<Duration, Failure> {
    let start = Instant::now();
    pool::eventually(ctx, limit, &format!("session {id} to end"), || async {
        Ok((!listed(ctx, p, id).await?).then_some(()))
    })
    .await?;
    Ok(start.elapsed())
}

async fn timed_cooldown(ctx: Ctx) -> CaseResult {
    let cooldown = ctx.target().scaled(Duration::from_secs(300));
    let p = pool::create_spec(
        &ctx,
        "cool",
        &PoolSpec {
            lifecycle: Lifecycle::Timed(300),
            ..PoolSpec::default()
        },
    )
    .await?;
    let first = session_of(&ctx, &p, "cool-1").await?;
    // Requests at 60% of the cooldown keep the session: 1.2 cooldowns after the first request
    // it still answers.
    for _ in 0..2 {
        tokio::time::sleep(cooldown.mul_f64(0.6)).await;
        ensure_eq(
            session_of(&ctx, &p, "cool-1").await?,
            first.clone(),
            "the session of cool-1 within its cooldown",
        )?;
    }
    let last = Instant::now();
    wait_unlisted(&ctx, &p, "cool-1", cooldown * 3 + Duration::from_secs(30)).await?;
    let idle = last.elapsed();
    ensure(idle >= cooldown.mul_f64(0.9), || {
        format!("the session ended after {idle:?} idle, before its cooldown of {cooldown:?}")
    })?;
    let again = session_of(&ctx, &p, "cool-1").await?;
    ensure(again != first, || {
        "the identifier got its ended session back".into()
    })?;
    Ok(())
}

async fn on_container_exit(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(
        &ctx,
        "exit",
        &PoolSpec {
            lifecycle: Lifecycle::OnContainerExit(3600),
            ..PoolSpec::default()
        },
    )
    .await?;
    let first = session_of(&ctx, &p, "exit-1").await?;
    let req = ctx
        .data(Method::POST, &p.url("/exit?code=0", "exit-1"))
        .await?;
    let r = ctx.send(req).await?;
    ctx.status(&r, &[200], "POST /exit to the session")?;
    wait_unlisted(&ctx, &p, "exit-1", Duration::from_secs(60)).await?;
    let again = pool::eventually(
        &ctx,
        Duration::from_secs(60),
        "a new session for exit-1",
        || async {
            let r = hit(&ctx, &p, "/", "exit-1").await?;
            Ok((r.status == 200)
                .then(|| r.json["hostname"].as_str().unwrap_or_default().to_string()))
        },
    )
    .await?;
    ensure(again != first, || {
        "the identifier reached the exited session".into()
    })?;
    Ok(())
}

async fn max_alive_period(ctx: Ctx) -> CaseResult {
    let max_alive = ctx.target().scaled(Duration::from_secs(300));
    let p = pool::create_spec(
        &ctx,
        "alive",
        &PoolSpec {
            lifecycle: Lifecycle::OnContainerExit(300),
            ..PoolSpec::default()
        },
    )
    .await?;
    let started = Instant::now();
    let first = session_of(&ctx, &p, "alive-1").await?;
    // Keep using it: it must end anyway, at maxAlive.
    let deadline = started + max_alive * 3 + Duration::from_secs(30);
    loop {
        let r = hit(&ctx, &p, "/", "alive-1").await?;
        let host = r.json["hostname"].as_str().unwrap_or_default().to_string();
        if r.status != 200 || host != first {
            break;
        }
        if Instant::now() > deadline {
            return fail(format!(
                "the session still answers after {:?} (maxAlive {max_alive:?})",
                started.elapsed()
            ));
        }
        tokio::time::sleep(max_alive / 20).await;
    }
    let lived = started.elapsed();
    ensure(lived >= max_alive.mul_f64(0.9), || {
        format!("the session ended after {lived:?}, before maxAlive {max_alive:?}")
    })?;
    Ok(())
}

async fn node_count(ctx: &Ctx, p: &Pool) -> Result<u64, Failure> {
    let r = ctx.arm(Method::GET, &p.at(V), None).await?;
    ctx.status(&r, &[200], "GET the pool")?;
    Ok(r.json["properties"]["nodeCount"].as_u64().unwrap_or(0))
}

async fn refill_ready(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(
        &ctx,
        "refill",
        &PoolSpec {
            max: 6,
            ready: 2,
            ..PoolSpec::default()
        },
    )
    .await?;
    let limit = pool::provision_limit(&ctx);
    pool::eventually(&ctx, limit, "nodeCount 2 before any allocation", || async {
        Ok((node_count(&ctx, &p).await? == 2).then_some(()))
    })
    .await?;
    for id in ["refill-1", "refill-2"] {
        session_of(&ctx, &p, id).await?;
    }
    // Two allocated, and the pool boots two more to have two ready again.
    pool::eventually(
        &ctx,
        limit,
        "nodeCount 4 (2 allocated + 2 ready)",
        || async { Ok((node_count(&ctx, &p).await? == 4).then_some(())) },
    )
    .await?;
    Ok(())
}

async fn template_update_rolls(ctx: Ctx) -> CaseResult {
    let spec = PoolSpec {
        env: json!([{"name": "MARK", "value": "one"}]),
        ..PoolSpec::default()
    };
    let p = pool::create_spec(&ctx, "roll", &spec).await?;
    let r = hit(&ctx, &p, "/env?name=MARK", "roll-1").await?;
    ctx.status(&r, &[200], "GET /env of the first session")?;
    ensure_eq(
        r.json["value"].as_str(),
        Some("one"),
        "MARK before the update",
    )?;
    let mut body = pool::body(
        &ctx,
        &PoolSpec {
            env: json!([{"name": "MARK", "value": "two"}]),
            ..PoolSpec::default()
        },
    );
    body["tags"] = ctx.target().run_tags();
    let r = ctx.arm(Method::PUT, &p.at(V), Some(&body)).await?;
    ctx.status(&r, &[200, 201], "PUT the updated template")?;
    pool::wait_succeeded(&ctx, &p.name).await?;
    let r = hit(&ctx, &p, "/env?name=MARK", "roll-2").await?;
    ctx.status(
        &r,
        &[200],
        "GET /env of a session allocated after the update",
    )?;
    ensure_eq(
        r.json["value"].as_str(),
        Some("two"),
        "MARK of a session allocated after the update",
    )?;
    Ok(())
}
