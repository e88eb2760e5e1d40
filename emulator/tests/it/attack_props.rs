//! Hostile input on every route, in-process (the router on the fake backend): fuzzed methods,
//! query strings, headers and bodies on ARM, the token endpoint and discovery, Log Analytics,
//! metrics and the pool data plane (identifiers and `.management` calls included) never get a
//! 5xx, a panic or a hang; fuzzed token requests never get a token without the secret; and
//! forged or tampered bearer tokens of every kind are never accepted (the count is printed:
//! `--no-capture`).

use std::time::Duration;

use axum::body::Body;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{Method, Request, StatusCode};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sessions_emulator::config::Config;
use sessions_emulator::dataplane::{pool_endpoint, pool_id};
use sessions_emulator::defaults;
use sessions_emulator::state::AppState;
use tower::ServiceExt;

const POOL: &str = "fuzzpool";

struct Harness {
    rt: tokio::runtime::Runtime,
    state: AppState,
    app: axum::Router,
    arm: String,
    dp: String,
}

fn harness() -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let state = rt
        .block_on(async { AppState::new(Config::in_memory("http://127.0.0.1:9")) })
        .expect("state");
    let client = state
        .tokens()
        .client(defaults::CLIENT_ID)
        .expect("client")
        .clone();
    let arm = state
        .tokens()
        .issue(&client, defaults::ARM_AUDIENCE, state.now());
    let dp = state
        .tokens()
        .issue(&client, defaults::DATAPLANE_AUDIENCE, state.now());
    let app = rt.block_on(async { sessions_emulator::server::router(state.clone()) });
    let h = Harness {
        rt,
        state,
        app,
        arm,
        dp,
    };
    // One pool whose data plane the fuzzing reaches.
    let body = json!({"location": "eastus", "properties": {
        "environmentId": defaults::environment_id(), "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 5, "readySessionInstances": 1},
        "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
        "customContainerTemplate": {"containers": [{"image": "img:1", "name": "app",
            "resources": {"cpu": 0.25, "memory": "0.5Gi"}}], "ingress": {"targetPort": 8080}}}});
    let (s, b) = send(
        &h,
        Method::PUT,
        &format!("{}?api-version=2026-07-01", pool_path()),
        &[("content-type", "application/json".into())],
        Some(&h.arm.clone()),
        body.to_string().into_bytes(),
    );
    assert!(s.is_success(), "{s} {}", String::from_utf8_lossy(&b));
    for _ in 0..400 {
        let (_, b) = send(
            &h,
            Method::GET,
            &format!("{}?api-version=2026-07-01", pool_path()),
            &[],
            Some(&h.arm.clone()),
            Vec::new(),
        );
        let v: Value = serde_json::from_slice(&b).unwrap_or_default();
        if v["properties"]["provisioningState"] == "Succeeded" {
            return h;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the fuzzing pool never provisioned");
}

fn pool_path() -> String {
    format!(
        "{}/providers/Microsoft.App/sessionPools/{POOL}",
        defaults::resource_group_id()
    )
}

/// The data plane's path prefix of the fuzzing pool (no scheme or host).
fn dp_prefix() -> String {
    pool_endpoint(
        "",
        &pool_id(defaults::SUBSCRIPTION_ID, defaults::RESOURCE_GROUP, POOL),
    )
}

/// Sends one request; panics when it did not finish within 10 s (a hang).
fn send(
    h: &Harness,
    method: Method,
    uri: &str,
    headers: &[(&str, String)],
    bearer: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req.body(Body::from(body)).expect("request");
    h.rt.block_on(async {
        let call = async {
            let resp = h.app.clone().oneshot(req).await.expect("infallible");
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 8 << 20)
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            (status, bytes)
        };
        match tokio::time::timeout(Duration::from_secs(10), call).await {
            Ok(r) => r,
            Err(_) => panic!("no answer within 10 s: a hang"),
        }
    })
}

/// Every route family: (path, which token it needs).
fn routes() -> Vec<(String, Option<bool>)> {
    let sub = format!("/subscriptions/{}", defaults::SUBSCRIPTION_ID);
    let rg = defaults::resource_group_id();
    let dp = dp_prefix();
    let t = defaults::TENANT_ID;
    // Some(true): ARM token; Some(false): data-plane token; None: no token.
    vec![
        ("/health".into(), None),
        (format!("{sub}/resourceGroups/fuzz-rg"), Some(true)),
        (format!("{sub}/resourcegroups"), Some(true)),
        (format!("{rg}/providers/Microsoft.App/managedEnvironments/fuzzenv"), Some(true)),
        (format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/fuzzlogs"), Some(true)),
        (pool_path(), Some(true)),
        (format!("{rg}/providers/Microsoft.App/sessionPools/other1"), Some(true)),
        (format!("{rg}/providers/Microsoft.App/sessionPools"), Some(true)),
        (format!("{sub}/providers/Microsoft.App/sessionPools"), Some(true)),
        (format!("{}/fetchMcpServerCredentials", pool_path()), Some(true)),
        (format!("{}/providers/Microsoft.Insights/metrics", pool_path()), Some(true)),
        (format!("{}/providers/Microsoft.Insights/metricDefinitions", pool_path()), Some(true)),
        (format!("{}/providers/Microsoft.Insights/diagnosticSettings/fuzz", defaults::environment_id()), Some(true)),
        (format!("{sub}/providers/Microsoft.App/locations/eastus/operationResults/00000000-0000-0000-0000-000000000000"), Some(true)),
        (format!("{sub}/providers/Microsoft.App/locations/eastus/operationStatuses/x"), Some(true)),
        (format!("/v1/workspaces/{}/query", defaults::WORKSPACE_CUSTOMER_ID), Some(true)),
        (format!("/{t}/oauth2/v2.0/token"), None),
        (format!("/{t}/oauth2/token"), None),
        (format!("/{t}/v2.0/.well-known/openid-configuration"), None),
        (format!("/{t}/discovery/v2.0/keys"), None),
        ("/common/discovery/instance".into(), None),
        (format!("{dp}/"), Some(false)),
        (format!("{dp}/x/y"), Some(false)),
        (format!("{dp}/health"), Some(false)),
        (format!("{dp}/echo"), Some(false)),
        (format!("{dp}/.management/stopSession"), Some(false)),
        (format!("{dp}/.management/listSessions"), Some(false)),
        (format!("{dp}/.management/getSession"), Some(false)),
        (format!("{dp}/.management/nothing"), Some(false)),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::PUT),
        Just(Method::PATCH),
        Just(Method::POST),
        Just(Method::DELETE),
        Just(Method::HEAD),
        Just(Method::OPTIONS),
    ]
}

/// A query string: known keys (`api-version`, `identifier`, ...) and random ones, with values
/// of any characters (percent-encoded), sometimes repeated or empty.
fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("api-version".to_string()),
        Just("identifier".to_string()),
        Just("timespan".to_string()),
        Just("metricnames".to_string()),
        Just("interval".to_string()),
        Just("$top".to_string()),
        Just("$skipToken".to_string()),
        Just("$filter".to_string()),
        "[a-zA-Z$_.-]{0,12}",
    ];
    let value = prop_oneof![
        Just("2026-07-01".to_string()),
        Just("2024-02-02-preview".to_string()),
        Just("2021-04-01".to_string()),
        Just("2025-02-02-preview".to_string()),
        "[a-z0-9-]{0,70}",
        "\\PC{0,40}",
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    prop::collection::vec((key, value), 0..5).prop_map(|pairs| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(&k, &v);
        }
        s.finish()
    })
}

/// Headers a client could send, with odd values.
fn headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let name = prop_oneof![
        Just("content-type"),
        Just("accept"),
        Just("if-match"),
        Just("if-none-match"),
        Just("x-ms-client-request-id"),
        Just("x-ms-return-client-request-id"),
        Just("x-ms-correlation-request-id"),
        Just("x-ms-apikey"),
        Just("accept-encoding"),
        Just("prefer"),
        Just("x-forwarded-for"),
        Just("host"),
        Just("transfer-encoding"),
        Just("expect"),
        Just("connection"),
        Just("range"),
    ];
    let value = prop_oneof![
        Just("application/json".to_string()),
        Just("application/x-www-form-urlencoded".to_string()),
        Just("*".to_string()),
        Just("\"0x1\"".to_string()),
        "[ -~]{0,60}",
    ];
    prop::collection::vec((name, value), 0..4)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..128),
        Just(br#"{"location":"eastus","properties":{}}"#.to_vec()),
        Just(b"grant_type=client_credentials&client_id=x&client_secret=y&scope=z".to_vec()),
        "\\PC{0,80}".prop_map(String::into_bytes),
        (0usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Any method, query, headers and body on any route: never a 5xx, a panic or a hang.
    #[test]
    fn any_request_on_any_route_is_never_a_5xx(
        which in 0usize..64,
        suffix in prop_oneof![Just(String::new()), Just("/".to_string()), "/[a-zA-Z0-9._~-]{1,12}"],
        method in method(),
        query in query(),
        headers in headers(),
        body in body(),
        token_kind in 0u8..6,
    ) {
        thread_local!(static H: Harness = harness());
        H.with(|h| {
            let routes = routes();
            let (path, needs) = routes[which % routes.len()].clone();
            let uri = if query.is_empty() { format!("{path}{suffix}") } else { format!("{path}{suffix}?{query}") };
            // Mostly the right token, sometimes the other one, none or garbage.
            let token = match (token_kind, needs) {
                (0, _) => None,
                (1, _) => Some("garbage.token.here".to_string()),
                (2, Some(true)) => Some(h.dp.clone()),
                (2, _) => Some(h.arm.clone()),
                (_, Some(false)) => Some(h.dp.clone()),
                (_, _) => Some(h.arm.clone()),
            };
            let (status, resp) = send(h, method.clone(), &uri, &headers, token.as_deref(), body);
            prop_assert!(
                !status.is_server_error(),
                "{method} {uri} {headers:?}: {status} {}",
                String::from_utf8_lossy(&resp)
            );
            Ok(())
        })?;
    }

    /// Token requests with any fields: never a 5xx, and never a token without the client's
    /// secret.
    #[test]
    fn token_requests_never_issue_without_the_secret(
        v1 in any::<bool>(),
        fields in prop::collection::vec((
            prop_oneof![Just("grant_type"), Just("client_id"), Just("client_secret"), Just("scope"), Just("resource"), Just("client_assertion"), Just("client_assertion_type"), "[a-z_]{0,10}".prop_map(|s| Box::leak(s.into_boxed_str()) as &str)],
            prop_oneof![Just("client_credentials".to_string()), Just(defaults::CLIENT_ID.to_string()), Just("https://management.azure.com/.default".to_string()), Just("https://dynamicsessions.io/.default".to_string()), Just(format!("{}x", defaults::CLIENT_SECRET)), Just(String::new()), "\\PC{0,40}"],
        ), 0..7),
        tenant in prop_oneof![Just(defaults::TENANT_ID.to_string()), Just("common".to_string()), Just("organizations".to_string()), "[a-z0-9-]{1,40}"],
    ) {
        thread_local!(static H: Harness = harness());
        H.with(|h| {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &fields {
                form.append_pair(k, v);
            }
            let path = if v1 { format!("/{tenant}/oauth2/token") } else { format!("/{tenant}/oauth2/v2.0/token") };
            let (status, resp) = send(h, Method::POST, &path, &[("content-type", "application/x-www-form-urlencoded".into())], None, form.finish().into_bytes());
            prop_assert!(!status.is_server_error(), "{status} {}", String::from_utf8_lossy(&resp));
            let v: Value = serde_json::from_slice(&resp).unwrap_or_default();
            prop_assert!(v.get("access_token").is_none(), "a token without the secret: {fields:?}");
            Ok(())
        })?;
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Forged and tampered tokens of every kind, sent to ARM and to the data plane: none is
/// accepted. Seeded (`FORGE_SEED=N` replays); prints how many were tried.
#[test]
fn forged_tokens_are_never_accepted() {
    let h = harness();
    let seed: u64 = std::env::var("FORGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(13);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Another emulator: same issuer and claims, another signing key.
    let other =
        h.rt.block_on(async { AppState::new(Config::in_memory("http://127.0.0.1:9")) })
            .expect("other state");
    let client = other
        .tokens()
        .client(defaults::CLIENT_ID)
        .expect("client")
        .clone();
    let now = h.state.now().unix_timestamp();
    let iss = h.state.tokens().issuer();
    let claims = |aud: &str| {
        json!({"aud": aud, "iss": iss, "tid": defaults::TENANT_ID, "oid": defaults::CLIENT_OBJECT_ID,
               "sub": defaults::CLIENT_OBJECT_ID, "appid": defaults::CLIENT_ID, "azp": defaults::CLIENT_ID,
               "iat": now, "nbf": now, "exp": now + 600, "ver": "2.0"})
    };
    let arm_uri = format!("{}?api-version=2026-07-01", pool_path());
    let dp_uri = format!(
        "{}/.management/listSessions?api-version=2025-02-02-preview",
        dp_prefix()
    );
    let mut tried = 0;
    let mut accepted = Vec::new();
    for i in 0..1000 {
        let (aud, uri, method) = if i % 2 == 0 {
            (defaults::ARM_AUDIENCE, &arm_uri, Method::GET)
        } else {
            (defaults::DATAPLANE_AUDIENCE, &dp_uri, Method::POST)
        };
        let good = if i % 2 == 0 { &h.arm } else { &h.dp };
        let parts: Vec<&str> = good.split('.').collect();
        let kind = i / 2 % 10;
        let forged = match kind {
            // Another key, claims otherwise perfect.
            0 => other.tokens().issue(&client, aud, other.now()),
            // One byte of the payload or signature changed.
            1 | 2 => {
                let mut bytes = good.clone().into_bytes();
                let dot = good.find('.').unwrap_or(0);
                let at = rng.random_range(dot + 1..bytes.len());
                let c = bytes[at];
                bytes[at] = if c == b'A' { b'B' } else { b'A' };
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // alg none (and variants), no signature.
            3 => {
                let alg = ["none", "None", "NONE", "nOnE"][rng.random_range(0..4)];
                format!(
                    "{}.{}.",
                    b64(&json!({"alg": alg, "typ": "JWT"})),
                    b64(&claims(aud))
                )
            }
            // HS256 with the public key as the secret is not even tried by a verifier that
            // only knows RS256; an HS256 header on a real signature must still fail.
            4 => format!(
                "{}.{}.{}",
                b64(&json!({"alg": "HS256", "typ": "JWT"})),
                parts[1],
                parts[2]
            ),
            // The claims swapped for better ones, the old signature kept.
            5 => {
                let mut c = claims(aud);
                c["exp"] = json!(now + 10 * 365 * 86_400);
                c["roles"] = json!(["Owner"]);
                format!("{}.{}.{}", parts[0], b64(&c), parts[2])
            }
            // Signed by the emulator, but expired, not yet valid, or for the other audience.
            6 => {
                let mut c = claims(aud);
                c["exp"] = json!(now - rng.random_range(301..100_000));
                h.state.tokens().sign_claims(&c)
            }
            7 => {
                let mut c = claims(aud);
                c["nbf"] = json!(now + rng.random_range(600..100_000));
                h.state.tokens().sign_claims(&c)
            }
            8 => {
                let wrong = [
                    format!("{aud}/"),
                    aud.trim_end_matches('/').to_string() + "x",
                    aud.to_ascii_uppercase(),
                    if aud == defaults::ARM_AUDIENCE {
                        defaults::DATAPLANE_AUDIENCE.to_string()
                    } else {
                        defaults::ARM_AUDIENCE.to_string()
                    },
                ];
                let mut c = claims(aud);
                c["aud"] = json!(wrong[rng.random_range(0..wrong.len())]);
                h.state.tokens().sign_claims(&c)
            }
            // Random garbage shaped like a JWT.
            _ => {
                let seg = |rng: &mut rand::rngs::StdRng| {
                    let n = rng.random_range(0..60);
                    let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                    URL_SAFE_NO_PAD.encode(bytes)
                };
                format!("{}.{}.{}", seg(&mut rng), seg(&mut rng), seg(&mut rng))
            }
        };
        let (status, body) = send(&h, method, uri, &[], Some(&forged), Vec::new());
        tried += 1;
        assert!(
            !status.is_server_error(),
            "{status} {}",
            String::from_utf8_lossy(&body)
        );
        if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
            accepted.push((kind, status, forged));
        }
    }
    // The real tokens still work (the forgeries were refused for what they are).
    let (s, _) = send(
        &h,
        Method::GET,
        &arm_uri,
        &[],
        Some(&h.arm.clone()),
        Vec::new(),
    );
    assert_eq!(s, StatusCode::OK);
    eprintln!(
        "forged or tampered tokens: {tried} tried (seed {seed}), {} accepted",
        accepted.len()
    );
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}
