//! In-process tests of the identity surface and ARM authentication: token endpoint (success
//! and AAD-shaped errors), OpenID discovery, JWKS, instance discovery, 401/403 on ARM.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sessions_emulator::clock::ManualClock;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

async fn token_request(srv: &TestServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = srv
        .client
        .post(srv.url(&format!("/{}/oauth2/v2.0/token", defaults::TENANT_ID)))
        .form(form)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.expect("json"))
}

fn creds<'a>(scope: &'a str, secret: &'a str, client: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_secret", secret),
        ("scope", scope),
    ]
}

#[tokio::test]
async fn token_endpoint_issues_arm_token_usable_on_arm() {
    let srv = TestServer::start().await;
    let (status, body) = token_request(
        &srv,
        &creds(
            "https://management.azure.com/.default",
            defaults::CLIENT_SECRET,
            defaults::CLIENT_ID,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["ext_expires_in"], 3600);
    let token = body["access_token"].as_str().expect("token");
    let resp = srv
        .client
        .get(srv.url("/subscriptions?api-version=2022-12-01"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_v1_resource_form() {
    let srv = TestServer::start().await;
    let resp = srv
        .client
        .post(srv.url(&format!("/{}/oauth2/token", defaults::TENANT_ID)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", defaults::CLIENT_ID),
            ("client_secret", defaults::CLIENT_SECRET),
            ("resource", "https://dynamicsessions.io"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token");
    let claims = srv
        .state
        .tokens()
        .validate(token, defaults::DATAPLANE_AUDIENCE, srv.state.now())
        .expect("valid data-plane token");
    assert_eq!(claims.tid, defaults::TENANT_ID);
}

#[tokio::test]
async fn token_endpoint_errors_follow_aad() {
    let srv = TestServer::start().await;
    let arm = "https://management.azure.com/.default";
    type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            creds(arm, "wrong", defaults::CLIENT_ID),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            creds(arm, defaults::CLIENT_SECRET, "someone-else"),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            creds(
                "https://graph.microsoft.com/.default",
                defaults::CLIENT_SECRET,
                defaults::CLIENT_ID,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            vec![("grant_type", "password")],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            vec![("client_id", "x")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (form, status, error) in cases {
        let (got, body) = token_request(&srv, &form).await;
        assert_eq!(got, status, "{form:?}: {body}");
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS")));
        assert!(body["error_codes"].is_array());
    }
    let resp = srv
        .client
        .post(srv.url("/not-a-tenant/oauth2/v2.0/token"))
        .form(&creds(arm, defaults::CLIENT_SECRET, defaults::CLIENT_ID))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn discovery_documents() {
    let srv = TestServer::start().await;
    let cfg: Value = srv
        .client
        .get(srv.url(&format!(
            "/{}/v2.0/.well-known/openid-configuration",
            defaults::TENANT_ID
        )))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        cfg["token_endpoint"],
        srv.url(&format!("/{}/oauth2/v2.0/token", defaults::TENANT_ID))
    );
    assert_eq!(
        cfg["issuer"],
        srv.url(&format!("/{}/v2.0", defaults::TENANT_ID))
    );
    let jwks_uri = cfg["jwks_uri"].as_str().expect("jwks_uri").to_string();
    let jwks: Value = srv
        .client
        .get(jwks_uri)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    let inst: Value = srv
        .client
        .get(srv.url("/common/discovery/instance?api-version=1.1&authorization_endpoint=x"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(inst["api-version"], "1.1");
    assert!(inst["tenant_discovery_endpoint"]
        .as_str()
        .is_some_and(|s| s.ends_with("/v2.0/.well-known/openid-configuration")));
    assert!(inst["metadata"][0]["aliases"].is_array());
}

async fn arm_get(srv: &TestServer, token: Option<&str>) -> reqwest::Response {
    let mut req = srv.client.get(srv.url(&format!(
        "/subscriptions/{}/resourceGroups?api-version=2021-04-01",
        defaults::SUBSCRIPTION_ID
    )));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("send")
}

#[tokio::test]
async fn arm_without_or_with_bad_token_is_401_with_www_authenticate() {
    let srv = TestServer::start().await;
    let authority = srv.url(&format!("/{}", defaults::TENANT_ID));
    for (token, code) in [
        (None, "AuthenticationFailed"),
        (Some("not.a.jwt"), "InvalidAuthenticationToken"),
        (Some("abc"), "InvalidAuthenticationToken"),
    ] {
        let resp = arm_get(&srv, token).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let www = resp.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(
            www.starts_with(&format!(
                "Bearer authorization_uri=\"{authority}\", error=\"invalid_token\""
            )),
            "{www}"
        );
        assert!(resp.headers().contains_key("x-ms-request-id"));
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], code);
    }
    // A token signed by another key (tampered signature).
    let mut token = srv.arm_token();
    token.truncate(token.len() - 4);
    token.push_str("AAAA");
    let resp = arm_get(&srv, Some(&token)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn arm_with_dataplane_token_is_403() {
    let srv = TestServer::start().await;
    let resp = arm_get(&srv, Some(&srv.dataplane_token())).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "InvalidAuthenticationTokenAudience");
}

#[tokio::test]
async fn expired_token_is_401() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let srv = TestServer::start_with(|_| {}, Some(clock.clone())).await;
    let token = srv.arm_token();
    assert_eq!(arm_get(&srv, Some(&token)).await.status(), StatusCode::OK);
    clock.advance(time::Duration::hours(2));
    let resp = arm_get(&srv, Some(&token)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "ExpiredAuthenticationToken");
}

#[tokio::test]
async fn unknown_arm_path_needs_auth_then_is_404() {
    let srv = TestServer::start().await;
    let path = format!(
        "/subscriptions/{}/providers/Microsoft.Nope/things?api-version=1",
        defaults::SUBSCRIPTION_ID
    );
    let resp = srv.client.get(srv.url(&path)).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = srv.arm(Method::GET, &path).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "InvalidResourceType");
    let health = srv
        .client
        .get(srv.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(health.status(), StatusCode::OK);
}

/// Signed by the emulator's own key but with another issuer or tenant, or an audience that is
/// not exactly one ARM accepts: refused (401 InvalidAuthenticationTokenTenant, 403 audience).
#[tokio::test]
async fn issuer_tenant_and_exact_audience_are_checked() {
    let srv = TestServer::start().await;
    let tokens = srv.state.tokens();
    let now = srv.state.now().unix_timestamp();
    let claims = |aud: &str, iss: &str, tid: &str| {
        serde_json::json!({"aud": aud, "iss": iss, "tid": tid, "oid": "o", "sub": "o",
                           "appid": defaults::CLIENT_ID, "azp": defaults::CLIENT_ID,
                           "iat": now, "nbf": now, "exp": now + 600, "ver": "2.0"})
    };
    let iss = tokens.issuer();
    let exact = tokens.sign_claims(&claims(defaults::ARM_AUDIENCE, &iss, defaults::TENANT_ID));
    assert_eq!(arm_get(&srv, Some(&exact)).await.status(), StatusCode::OK);
    let no_slash = tokens.sign_claims(&claims(
        "https://management.azure.com",
        &iss,
        defaults::TENANT_ID,
    ));
    assert_eq!(
        arm_get(&srv, Some(&no_slash)).await.status(),
        StatusCode::OK
    );
    for (aud, iss, tid) in [
        (
            defaults::ARM_AUDIENCE,
            "https://sts.windows.net/x/".to_string(),
            defaults::TENANT_ID,
        ),
        (
            defaults::ARM_AUDIENCE,
            format!("{iss}/"),
            defaults::TENANT_ID,
        ),
        (
            defaults::ARM_AUDIENCE,
            iss.clone(),
            "11111111-1111-4111-8111-111111111111",
        ),
    ] {
        let t = tokens.sign_claims(&claims(aud, &iss, tid));
        let resp = arm_get(&srv, Some(&t)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{iss} {tid}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "InvalidAuthenticationTokenTenant");
    }
    for aud in [
        "https://management.azure.com//",
        "HTTPS://MANAGEMENT.AZURE.COM/",
    ] {
        let t = tokens.sign_claims(&claims(aud, &iss, defaults::TENANT_ID));
        let resp = arm_get(&srv, Some(&t)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{aud}");
    }
}
