//! `dataplane`: the pool management endpoint: allocation by identifier, forwarding (methods,
//! headers, bodies streamed both ways, large bodies), identifier rules, auth, capacity, and
//! `.management` getSession / listSessions (paging) / stopSession.

use reqwest::Method;
use serde_json::Value;

use super::pool::{self, PoolSpec};
use crate::case;
use crate::case::{ensure, ensure_eq, fail, Case, CaseResult, Ctx, Needs};
use crate::http::Req;
use crate::target::Scope;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("dataplane", "allocation_by_identifier", Needs::Sessions, "one identifier, one session: the same identifier reaches the same session, another a different one", allocation_by_identifier),
        case!("dataplane", "forwarding", Needs::Sessions, "methods, path, query and headers reach the container; identifier, api-version and Authorization do not", forwarding),
        case!("dataplane", "large_bodies", Needs::Sessions, "an 8 MiB request body streams to the container and its echo streams back intact", large_bodies),
        case!("dataplane", "identifier_rules", Needs::Sessions, "identifiers of 4-128 allowed characters pass; missing, too short, too long are 400", identifier_rules),
        case!("dataplane", "auth", Needs::Sessions, "no token is 401, an ARM token is 403 on the data plane", auth),
        case!("dataplane", "capacity", Needs::Sessions, "past maxConcurrentSessions a new identifier gets 429 with Retry-After; bound ones still answer", capacity),
        case!("dataplane", "management_api", Needs::Sessions, "getSession, listSessions with paging and stopSession on .management; a stopped session is gone", management_api),
    ]
}

async fn get(ctx: &Ctx, url: &str) -> Result<crate::http::Resp, crate::case::Failure> {
    let req = ctx.data(Method::GET, url).await?;
    ctx.send(req).await
}

async fn allocation_by_identifier(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(
        &ctx,
        "alloc",
        &PoolSpec {
            ready: 2,
            ..PoolSpec::default()
        },
    )
    .await?;
    let a1 = get(&ctx, &p.url("/", "user-a")).await?;
    ctx.status(&a1, &[200], "first request of identifier user-a")?;
    let a2 = get(&ctx, &p.url("/", "user-a")).await?;
    ctx.status(&a2, &[200], "second request of user-a")?;
    let b = get(&ctx, &p.url("/", "user-b")).await?;
    ctx.status(&b, &[200], "first request of user-b")?;
    let host = |r: &crate::http::Resp| r.json["hostname"].as_str().map(str::to_string);
    ensure(host(&a1).is_some(), || {
        "the sample session answers no hostname".into()
    })?;
    ensure_eq(host(&a2), host(&a1), "hostname of user-a's two requests")?;
    ensure(host(&b) != host(&a1), || {
        "user-b got user-a's session".into()
    })?;
    ensure(a1.json["random"] != b.json["random"], || {
        "two sessions share their randomness".into()
    })?;
    Ok(())
}

async fn forwarding(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "fwd", &PoolSpec::default()).await?;
    for m in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ] {
        let req = ctx
            .data(
                m.clone(),
                &p.url(
                    "/api/some/path?keep=yes&api-version=2025-02-02-preview",
                    "fwd-user",
                ),
            )
            .await?
            .header("x-conformance", "hello")
            .body("payload");
        let r = ctx.send(req).await?;
        ctx.status(&r, &[200], &format!("{m} through the data plane"))?;
        ensure_eq(
            r.json["method"].as_str(),
            Some(m.as_str()),
            "method seen by the container",
        )?;
        ensure_eq(
            r.json["path"].as_str(),
            Some("/api/some/path"),
            "path seen by the container",
        )?;
        ensure_eq(
            r.json["query"]["keep"].as_str(),
            Some("yes"),
            "query parameter keep",
        )?;
        ensure(r.json["query"].get("identifier").is_none(), || {
            "identifier reached the container".into()
        })?;
        ensure(r.json["query"].get("api-version").is_none(), || {
            "api-version reached the container".into()
        })?;
        let headers = &r.json["headers"];
        ensure_eq(
            headers["x-conformance"].as_str(),
            Some("hello"),
            "custom header",
        )?;
        ensure(headers.get("authorization").is_none(), || {
            "the pool token reached the container".into()
        })?;
    }
    Ok(())
}

async fn large_bodies(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "big", &PoolSpec::default()).await?;
    let body: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let req = ctx
        .data(Method::POST, &p.url("/echo", "big-user"))
        .await?
        .body(body.clone())
        .timeout(std::time::Duration::from_secs(120));
    let r = ctx.send(req).await?;
    ctx.status(&r, &[200], "POST /echo of 8 MiB")?;
    ensure_eq(r.bytes.len(), body.len(), "echoed length")?;
    ensure(r.bytes.as_ref() == body.as_slice(), || {
        "the echo differs from the body sent".into()
    })?;
    Ok(())
}

async fn identifier_rules(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "ids", &PoolSpec::default()).await?;
    for ok in ["abcd", "user|1-&^%$#(){}[];<>", &"x".repeat(128)] {
        let r = get(&ctx, &p.url("/", ok)).await?;
        ctx.status(&r, &[200], &format!("identifier {ok:?}"))?;
    }
    for (what, url) in [
        ("no identifier", format!("{}/", p.endpoint)),
        ("identifier of 3 characters", p.url("/", "abc")),
        ("identifier of 129 characters", p.url("/", &"y".repeat(129))),
    ] {
        let r = get(&ctx, &url).await?;
        ctx.status(&r, &[400], what)?;
        ensure(r.error_code().is_some(), || {
            format!("{what}: no error code")
        })?;
    }
    Ok(())
}

async fn auth(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "auth", &PoolSpec::default()).await?;
    let r = ctx
        .send(Req::new(Method::GET, p.url("/", "auth-user")))
        .await?;
    ctx.status(&r, &[401], "no token")?;
    let arm = ctx.token(Scope::Arm).await?;
    let r = ctx
        .send(Req::new(Method::GET, p.url("/", "auth-user")).bearer(&arm))
        .await?;
    ctx.status(&r, &[401, 403], "an ARM token on the data plane")?;
    Ok(())
}

async fn capacity(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(
        &ctx,
        "cap",
        &PoolSpec {
            max: 2,
            ready: 1,
            ..PoolSpec::default()
        },
    )
    .await?;
    for id in ["cap-1", "cap-2"] {
        let r = get(&ctx, &p.url("/", id)).await?;
        ctx.status(&r, &[200], &format!("allocation of {id} within capacity"))?;
    }
    let r = get(&ctx, &p.url("/", "cap-3")).await?;
    ctx.status(
        &r,
        &[429],
        "a third identifier in a pool of maxConcurrentSessions 2",
    )?;
    ensure(r.header("retry-after").is_some(), || {
        "429 without Retry-After".into()
    })?;
    let r = get(&ctx, &p.url("/", "cap-1")).await?;
    ctx.status(&r, &[200], "a bound identifier of a full pool")?;
    Ok(())
}

async fn management_api(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(
        &ctx,
        "mgmt",
        &PoolSpec {
            max: 4,
            ready: 1,
            ..PoolSpec::default()
        },
    )
    .await?;
    for id in ["mgmt-1", "mgmt-2", "mgmt-3"] {
        let r = get(&ctx, &p.url("/", id)).await?;
        ctx.status(&r, &[200], &format!("allocate {id}"))?;
    }
    let post = |url: String| {
        let ctx = ctx.clone();
        async move {
            let req = ctx.data(Method::POST, &url).await?;
            ctx.send(req).await
        }
    };
    let r = post(p.management("getSession", "&identifier=mgmt-1")).await?;
    ctx.status(&r, &[200], "getSession of a bound identifier")?;
    ensure_eq(
        r.json["identifier"].as_str(),
        Some("mgmt-1"),
        "getSession identifier",
    )?;
    ensure(
        r.json["expiresAt"].is_string() || r.json["expiresAt"].is_null(),
        || "expiresAt".into(),
    )?;
    // Paging: follow nextLink (the emulator and Azure page at most 300; the case only follows).
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(p.management("listSessions", ""));
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > 20 {
            return fail("listSessions: more than 20 pages");
        }
        let r = post(url).await?;
        ctx.status(&r, &[200], "listSessions")?;
        let Some(items) = r.json["value"].as_array() else {
            return fail("listSessions has no value array");
        };
        ensure(
            r.json["count"].as_u64() == Some(items.len() as u64) || r.json["count"].is_null(),
            || format!("count {} for a page of {}", r.json["count"], items.len()),
        )?;
        seen.extend(
            items
                .iter()
                .filter_map(|s| s["identifier"].as_str().map(str::to_string)),
        );
        next = r.json["nextLink"].as_str().map(str::to_string);
    }
    for id in ["mgmt-1", "mgmt-2", "mgmt-3"] {
        ensure(seen.iter().any(|s| s == id), || {
            format!("listSessions misses {id}: {seen:?}")
        })?;
    }
    let r = post(p.management("stopSession", "&identifier=mgmt-2")).await?;
    ctx.status(&r, &[200], "stopSession")?;
    ensure(r.text().contains("mgmt-2"), || {
        "stopSession's answer does not name the session".into()
    })?;
    let gone = pool::eventually(
        &ctx,
        std::time::Duration::from_secs(60),
        "the stopped session to leave listSessions",
        || {
            let p = p.clone();
            async move {
                let r = post(p.management("listSessions", "")).await?;
                let ids: Vec<Value> = r.json["value"].as_array().cloned().unwrap_or_default();
                Ok((!ids.iter().any(|s| s["identifier"] == "mgmt-2")).then_some(()))
            }
        },
    )
    .await;
    gone?;
    let r = post(p.management("getSession", "&identifier=mgmt-2")).await?;
    ctx.status(&r, &[404], "getSession of a stopped session")?;
    Ok(())
}
