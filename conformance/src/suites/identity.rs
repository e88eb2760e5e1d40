//! `identity`: the token endpoint (v2 and v1, client credentials), audiences, discovery, and
//! tokens ARM must refuse: none, wrong audience, forged (altered payload, `alg: none`),
//! expired.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::case;
use crate::case::{ensure, ensure_eq, fail, skip, Case, CaseResult, Ctx, Failure, Needs};
use crate::http::Req;
use crate::target::auth::Credential;
use crate::target::Scope;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("identity", "token_endpoint", Needs::Arm, "client-credentials tokens from /oauth2/v2.0/token (scope) and /oauth2/token (resource) are JWTs for the asked audience", token_endpoint),
        case!("identity", "bad_requests", Needs::Arm, "a wrong secret is 401 invalid_client, an unknown grant 400 unsupported_grant_type, a missing scope 400", bad_requests),
        case!("identity", "discovery", Needs::Arm, "OpenID configuration and JWKS are served and hold the key that signed the token", discovery),
        case!("identity", "arm_refuses_bad_tokens", Needs::Arm, "ARM answers 401 with WWW-Authenticate to no token, a forged, an alg-none and an expired token", arm_refuses_bad_tokens),
        case!("identity", "audiences", Needs::Arm, "a data-plane token is refused by ARM with 403 InvalidAuthenticationTokenAudience", audiences),
    ]
}

/// The JSON of a JWT's part `i` (0 header, 1 payload).
pub fn jwt_part(token: &str, i: usize) -> Option<Value> {
    let part = token.split('.').nth(i)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

fn secret(ctx: &Ctx) -> Result<(String, String), Failure> {
    match &ctx.target().credential {
        Credential::ClientSecret { client_id, secret } => Ok((client_id.clone(), secret.clone())),
        other => skip(format!(
            "needs a client secret to call the token endpoint itself; the run uses {}",
            other.describe()
        )),
    }
}

fn token_url(ctx: &Ctx, v2: bool) -> String {
    let t = ctx.target();
    if v2 {
        format!("{}/{}/oauth2/v2.0/token", t.authority, t.tenant)
    } else {
        format!("{}/{}/oauth2/token", t.authority, t.tenant)
    }
}

async fn token_endpoint(ctx: Ctx) -> CaseResult {
    let (id, secret) = secret(&ctx)?;
    for (scope, aud) in [
        (Scope::Arm, "https://management.azure.com"),
        (Scope::DataPlane, "https://dynamicsessions.io"),
    ] {
        let r = ctx
            .send(Req::new(Method::POST, token_url(&ctx, true)).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", scope.as_str()),
            ]))
            .await?;
        ctx.status(&r, &[200], &format!("v2 token for {scope}"))?;
        ensure_eq(r.json["token_type"].as_str(), Some("Bearer"), "token_type")?;
        ensure(
            r.json["expires_in"].as_u64().is_some_and(|s| s > 300),
            || format!("expires_in {}", r.json["expires_in"]),
        )?;
        let tok = r.json["access_token"].as_str().unwrap_or_default();
        let Some(claims) = jwt_part(tok, 1) else {
            return fail("access_token is no JWT");
        };
        ensure(
            claims["aud"]
                .as_str()
                .is_some_and(|a| a.trim_end_matches('/') == aud),
            || format!("aud {} for {scope}", claims["aud"]),
        )?;
        ensure_eq(
            claims["tid"].as_str(),
            Some(ctx.target().tenant.as_str()),
            "tid",
        )?;
        ensure(claims["exp"].as_i64() > claims["iat"].as_i64(), || {
            "exp not after iat".into()
        })?;
        ensure_eq(
            jwt_part(tok, 0).and_then(|h| h["alg"].as_str().map(str::to_string)),
            Some("RS256".to_string()),
            "alg",
        )?;
    }
    let r = ctx
        .send(Req::new(Method::POST, token_url(&ctx, false)).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("resource", "https://management.azure.com/"),
        ]))
        .await?;
    ctx.status(&r, &[200], "v1 token with resource=")?;
    ensure(
        r.json["access_token"]
            .as_str()
            .and_then(|t| jwt_part(t, 1))
            .is_some(),
        || "v1 access_token is no JWT".into(),
    )?;
    Ok(())
}

async fn bad_requests(ctx: Ctx) -> CaseResult {
    let (id, _) = secret(&ctx)?;
    let r = ctx
        .send(Req::new(Method::POST, token_url(&ctx, true)).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "not-the-secret"),
            ("scope", Scope::Arm.as_str()),
        ]))
        .await?;
    ctx.status(&r, &[401], "a wrong secret")?;
    ensure_eq(
        r.json["error"].as_str(),
        Some("invalid_client"),
        "error of a wrong secret",
    )?;
    let r = ctx
        .send(Req::new(Method::POST, token_url(&ctx, true)).form(&[
            ("grant_type", "password"),
            ("client_id", &id),
            ("scope", Scope::Arm.as_str()),
        ]))
        .await?;
    ctx.status(&r, &[400], "grant_type=password")?;
    ensure_eq(
        r.json["error"].as_str(),
        Some("unsupported_grant_type"),
        "error of an unknown grant",
    )?;
    let (_, secret) = secret(&ctx)?;
    let r = ctx
        .send(Req::new(Method::POST, token_url(&ctx, true)).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ]))
        .await?;
    ctx.status(&r, &[400], "no scope")?;
    ensure(
        r.json["error"].is_string() && r.json["error_description"].is_string(),
        || "AAD errors carry error and error_description".into(),
    )?;
    Ok(())
}

async fn discovery(ctx: Ctx) -> CaseResult {
    let t = ctx.target();
    let r = ctx
        .send(Req::new(
            Method::GET,
            format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                t.authority, t.tenant
            ),
        ))
        .await?;
    ctx.status(&r, &[200], "openid-configuration")?;
    for k in ["issuer", "token_endpoint", "jwks_uri"] {
        ensure(r.json[k].is_string(), || {
            format!("openid-configuration has no {k}")
        })?;
    }
    let jwks = r.json["jwks_uri"].as_str().unwrap_or_default().to_string();
    let r = ctx.send(Req::new(Method::GET, jwks)).await?;
    ctx.status(&r, &[200], "JWKS")?;
    let token = ctx.token(Scope::Arm).await?;
    let kid = jwt_part(&token, 0).and_then(|h| h["kid"].as_str().map(str::to_string));
    let Some(kid) = kid else {
        return fail("the ARM token's header has no kid");
    };
    let keys = r.json["keys"].as_array().cloned().unwrap_or_default();
    ensure(
        keys.iter()
            .any(|k| k["kid"] == kid.as_str() && k["kty"] == "RSA"),
        || format!("JWKS has no RSA key {kid}"),
    )?;
    Ok(())
}

/// `token` with its payload replaced by `claims` (the signature no longer matches).
fn with_claims(token: &str, claims: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    if parts.len() == 3 {
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    }
    parts.join(".")
}

async fn arm_refuses_bad_tokens(ctx: Ctx) -> CaseResult {
    let good = ctx.token(Scope::Arm).await?;
    let Some(claims) = jwt_part(&good, 1) else {
        return fail("the ARM token is no JWT");
    };
    let url = ctx.target().arm_url(&format!(
        "{}?api-version=2021-04-01",
        ctx.target().group_path()
    ));
    let r = ctx.send(Req::new(Method::GET, &url).bearer(&good)).await?;
    ctx.status(&r, &[200], "GET the resource group with a good token")?;
    let mut elevated = claims.clone();
    elevated["oid"] = json!("00000000-0000-0000-0000-00000000beef");
    let mut expired = claims.clone();
    expired["exp"] = json!(1_000_000_000);
    expired["nbf"] = json!(999_999_000);
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let alg_none = format!(
        "{none_header}.{}.",
        good.split('.').nth(1).unwrap_or_default()
    );
    for (what, token) in [
        ("no token", None),
        (
            "a forged token (payload altered)",
            Some(with_claims(&good, &elevated)),
        ),
        (
            "an expired token (exp altered)",
            Some(with_claims(&good, &expired)),
        ),
        ("an alg:none token", Some(alg_none)),
        ("garbage", Some("not-a-jwt".to_string())),
    ] {
        let mut req = Req::new(Method::GET, &url);
        if let Some(t) = &token {
            req = req.bearer(t);
        }
        let r = ctx.send(req).await?;
        ctx.status(&r, &[401], what)?;
        ensure(
            r.header("www-authenticate")
                .is_some_and(|h| h.to_ascii_lowercase().starts_with("bearer")),
            || format!("{what}: no WWW-Authenticate: Bearer"),
        )?;
        ensure(r.error_code().is_some(), || {
            format!("{what}: no ARM error code")
        })?;
    }
    Ok(())
}

async fn audiences(ctx: Ctx) -> CaseResult {
    let dp = ctx.token(Scope::DataPlane).await?;
    let url = ctx.target().arm_url(&format!(
        "{}?api-version=2021-04-01",
        ctx.target().group_path()
    ));
    let r = ctx.send(Req::new(Method::GET, &url).bearer(&dp)).await?;
    ctx.status(&r, &[401, 403], "ARM with a data-plane token")?;
    ensure_eq(
        r.error_code(),
        Some("InvalidAuthenticationTokenAudience"),
        "code",
    )?;
    Ok(())
}
