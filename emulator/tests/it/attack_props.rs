//! Hostile input on every route, in-process (the router on the fake backend): fuzzed methods,
//! query strings, headers and bodies on ARM, the token endpoint and discovery, Log Analytics,
//! metrics and the pool data plane (identifiers and `.management` calls included) never get a
//! 5xx, a panic or a hang; valid bodies of every ARM resource type, mutated at random
//! fields, never get a 5xx either; fuzzed token requests never get a token without the
//! secret; and forged or tampered bearer tokens of every kind (another key, wrong audience,
//! issuer or tenant among them) are never accepted. Counts come from `FUZZ_CASES` and
//! `FORGE_TOKENS`; each test prints its figure line (`--no-capture`, see `support::figures`).

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

use crate::support::figures;

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

/// Runs `check` on `cases` inputs of `strategy` (shrinking a failure) and returns how many
/// passed; panics with the smallest failing input.
fn run<S: Strategy>(
    cases: usize,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> usize {
    let passed = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases as u32,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    if let Err(e) = runner.run(&strategy, |v| {
        check(v)?;
        passed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }) {
        panic!("{e}");
    }
    passed.into_inner()
}

/// Any method, query, headers and body on any route: never a 5xx, a panic or a hang.
/// `FUZZ_CASES` inputs (default 2,000).
#[test]
fn any_request_on_any_route_is_never_a_5xx() {
    let h = harness();
    let routes = routes();
    let suffix = prop_oneof![
        Just(String::new()),
        Just("/".to_string()),
        "/[a-zA-Z0-9._~-]{1,12}"
    ];
    let strategy = (
        0usize..64,
        suffix,
        method(),
        query(),
        headers(),
        body(),
        0u8..6,
    );
    let cases = figures::count("FUZZ_CASES", 2000);
    let passed = run(
        cases,
        strategy,
        |(which, suffix, method, query, headers, body, token_kind)| {
            let (path, needs) = routes[which % routes.len()].clone();
            let uri = if query.is_empty() {
                format!("{path}{suffix}")
            } else {
                format!("{path}{suffix}?{query}")
            };
            // Mostly the right token, sometimes the other one, none or garbage.
            let token = match (token_kind, needs) {
                (0, _) => None,
                (1, _) => Some("garbage.token.here".to_string()),
                (2, Some(true)) => Some(h.dp.clone()),
                (2, _) => Some(h.arm.clone()),
                (_, Some(false)) => Some(h.dp.clone()),
                (_, _) => Some(h.arm.clone()),
            };
            let (status, resp) = send(&h, method.clone(), &uri, &headers, token.as_deref(), body);
            prop_assert!(
                !status.is_server_error(),
                "{method} {uri} {headers:?}: {status} {}",
                String::from_utf8_lossy(&resp)
            );
            Ok(())
        },
    );
    figures::report(
        "attack_props::any_request_on_any_route_is_never_a_5xx",
        cases,
        cases - passed,
        &format!(
            "{passed} fuzzed requests over {} routes (ARM, token, discovery, Log Analytics, metrics, data plane and .management), 0 5xx, 0 panics, 0 hangs",
            routes.len()
        ),
    );
}

/// Token requests with any fields: never a 5xx, and never a token without the client's
/// secret. `FUZZ_CASES` inputs (default 2,000).
#[test]
fn token_requests_never_issue_without_the_secret() {
    let h = harness();
    let strategy = (
        any::<bool>(),
        prop::collection::vec(
            (
                prop_oneof![
                    Just("grant_type".to_string()),
                    Just("client_id".to_string()),
                    Just("client_secret".to_string()),
                    Just("scope".to_string()),
                    Just("resource".to_string()),
                    Just("client_assertion".to_string()),
                    Just("client_assertion_type".to_string()),
                    "[a-z_]{0,10}"
                ],
                prop_oneof![
                    Just("client_credentials".to_string()),
                    Just(defaults::CLIENT_ID.to_string()),
                    Just("https://management.azure.com/.default".to_string()),
                    Just("https://dynamicsessions.io/.default".to_string()),
                    Just(format!("{}x", defaults::CLIENT_SECRET)),
                    Just(String::new()),
                    "\\PC{0,40}"
                ],
            ),
            0..7,
        ),
        prop_oneof![
            Just(defaults::TENANT_ID.to_string()),
            Just("common".to_string()),
            Just("organizations".to_string()),
            "[a-z0-9-]{1,40}"
        ],
    );
    let cases = figures::count("FUZZ_CASES", 2000);
    let passed = run(cases, strategy, |(v1, fields, tenant)| {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &fields {
            form.append_pair(k, v);
        }
        let path = if v1 {
            format!("/{tenant}/oauth2/token")
        } else {
            format!("/{tenant}/oauth2/v2.0/token")
        };
        let (status, resp) = send(
            &h,
            Method::POST,
            &path,
            &[("content-type", "application/x-www-form-urlencoded".into())],
            None,
            form.finish().into_bytes(),
        );
        prop_assert!(
            !status.is_server_error(),
            "{status} {}",
            String::from_utf8_lossy(&resp)
        );
        let v: Value = serde_json::from_slice(&resp).unwrap_or_default();
        prop_assert!(
            v.get("access_token").is_none(),
            "a token without the secret: {fields:?}"
        );
        Ok(())
    });
    figures::report(
        "attack_props::token_requests_never_issue_without_the_secret",
        cases,
        cases - passed,
        &format!("{passed} fuzzed token requests (v1 and v2, any tenant and fields), 0 tokens issued without the secret, 0 5xx"),
    );
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
    for i in 0..figures::count("FORGE_TOKENS", 1200) {
        let (aud, uri, method) = if i % 2 == 0 {
            (defaults::ARM_AUDIENCE, &arm_uri, Method::GET)
        } else {
            (defaults::DATAPLANE_AUDIENCE, &dp_uri, Method::POST)
        };
        let good = if i % 2 == 0 { &h.arm } else { &h.dp };
        let parts: Vec<&str> = good.split('.').collect();
        let kind = i / 2 % 12;
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
            // Signed by the emulator, but naming another issuer (host, scheme, tenant or
            // path; a trailing slash) or another tenant.
            9 => {
                let wrong = [
                    format!("{iss}/"),
                    iss.replace("127.0.0.1", "evil.example"),
                    iss.replace("http://", "https://"),
                    iss.replace(defaults::TENANT_ID, "72f988bf-86f1-41af-91ab-2d7cd011db47"),
                    iss.replace("/v2.0", "/v1.0"),
                    format!(
                        "https://login.microsoftonline.com/{}/v2.0",
                        defaults::TENANT_ID
                    ),
                    format!("https://sts.windows.net/{}/", defaults::TENANT_ID),
                ];
                let mut c = claims(aud);
                c["iss"] = json!(wrong[rng.random_range(0..wrong.len())]);
                h.state.tokens().sign_claims(&c)
            }
            10 => {
                let wrong = ["72f988bf-86f1-41af-91ab-2d7cd011db47", "common", "", "x"];
                let mut c = claims(aud);
                c["tid"] = json!(wrong[rng.random_range(0..wrong.len())]);
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
    figures::report(
        "attack_props::forged_tokens_are_never_accepted",
        tried,
        accepted.len(),
        &format!(
            "{tried} forged or tampered tokens (seed {seed}: another key, bytes changed, alg none/HS256, claims swapped, expired, not yet valid, wrong audience, issuer or tenant, garbage), {} accepted",
            accepted.len()
        ),
    );
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}

/// Values a mutation puts in place of a field: wrong types, extremes, injection attempts.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(true)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1e308)),
        Just(json!(0.5)),
        Just(json!("")),
        Just(json!("x".repeat(70_000))),
        Just(json!("East US 2")),
        Just(json!("../../x?y#z")),
        Just(json!("a\r\nX-Injected: 1")),
        Just(json!("/subscriptions/x/resourceGroups/y")),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{"name": "", "value": null}])),
        "\\PC{0,30}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
    ]
}

/// Every leaf and container of `v`, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                pointers(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out)
            }
        }
        _ => {}
    }
}

/// Applies `(which, delete, value)` mutations to `v`: each replaces (or deletes) one of its
/// fields, chosen by `which` among all of them.
fn mutate(mut v: Value, mutations: Vec<(usize, bool, Value)>) -> Value {
    for (which, delete, value) in mutations {
        let mut all = Vec::new();
        pointers(&v, String::new(), &mut all);
        let at = &all[which % all.len()];
        if at.is_empty() {
            v = value;
            continue;
        }
        let (parent, key) = at.rsplit_once('/').expect("a pointer");
        match v.pointer_mut(parent) {
            Some(Value::Object(m)) if delete => {
                m.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Some(p) => {
                if let Some(slot) = p.pointer_mut(&format!("/{key}")) {
                    *slot = value;
                }
            }
            None => {}
        }
    }
    v
}

/// Valid bodies of every ARM resource type, mutated at random fields with hostile values,
/// PUT and PATCH: never a 5xx, a panic or a hang. `FUZZ_CASES` inputs (default 2,000).
#[test]
fn mutated_arm_bodies_are_never_a_5xx() {
    let h = harness();
    let sub = format!("/subscriptions/{}", defaults::SUBSCRIPTION_ID);
    let rg = defaults::resource_group_id();
    let env = defaults::environment_id();
    let valid: Vec<(String, Value)> = vec![
        (
            format!("{sub}/resourcegroups/mut-rg?api-version=2021-04-01"),
            json!({"location": "eastus", "tags": {"a": "b"}}),
        ),
        (
            format!("{rg}/providers/Microsoft.App/managedEnvironments/mutenv?api-version=2025-07-01"),
            json!({"location": "eastus", "tags": {"a": "b"}, "properties": {"appLogsConfiguration": {"destination": "log-analytics", "logAnalyticsConfiguration": {"customerId": defaults::WORKSPACE_CUSTOMER_ID}}}}),
        ),
        (
            format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/mutlogs?api-version=2023-09-01"),
            json!({"location": "eastus", "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30}}),
        ),
        (
            format!("{env}/providers/Microsoft.Insights/diagnosticSettings/mutdiag?api-version=2021-05-01-preview"),
            json!({"properties": {"workspaceId": defaults::workspace_id(), "logs": [{"category": "AppEnvSessionConsoleLogs", "enabled": true}], "metrics": [{"category": "AllMetrics", "enabled": true}]}}),
        ),
        (
            format!("{rg}/providers/Microsoft.App/sessionPools/mutpool?api-version=2026-07-01"),
            json!({"location": "eastus", "tags": {"a": "b"}, "identity": {"type": "SystemAssigned"}, "properties": {
                "environmentId": env, "poolManagementType": "Dynamic", "containerType": "CustomContainer",
                "scaleConfiguration": {"maxConcurrentSessions": 5, "readySessionInstances": 1},
                "secrets": [{"name": "s1", "value": "v1"}],
                "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
                "sessionNetworkConfiguration": {"status": "EgressDisabled"},
                "mcpServerSettings": {"isMcpServerEnabled": false},
                "customContainerTemplate": {
                    "registryCredentials": {"server": "example.azurecr.io", "username": "u", "passwordSecretRef": "s1"},
                    "containers": [{"image": "img:1", "name": "app", "command": ["/app"], "args": ["-v"],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "secretRef": "s1"}],
                        "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                        "probes": [{"type": "Liveness", "httpGet": {"path": "/health", "port": 8080, "host": "localhost",
                            "httpHeaders": [{"name": "X-A", "value": "1"}]}, "periodSeconds": 10}]}],
                    "ingress": {"targetPort": 8080}}}}),
        ),
    ];
    let strategy = (
        0usize..valid.len(),
        prop::collection::vec((any::<usize>(), any::<bool>(), hostile_value()), 1..4),
        any::<bool>(),
    );
    let cases = figures::count("FUZZ_CASES", 2000);
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let passed = run(cases, strategy, |(which, mutations, patch)| {
        let (uri, body) = &valid[which];
        let body = mutate(body.clone(), mutations);
        let method = if patch { Method::PATCH } else { Method::PUT };
        let (status, resp) = send(
            &h,
            method.clone(),
            uri,
            &[("content-type", "application/json".into())],
            Some(&h.arm.clone()),
            body.to_string().into_bytes(),
        );
        prop_assert!(
            !status.is_server_error(),
            "{method} {uri} {body}: {status} {}",
            String::from_utf8_lossy(&resp)
        );
        if status.is_client_error() {
            refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    });
    figures::report(
        "attack_props::mutated_arm_bodies_are_never_a_5xx",
        cases,
        cases - passed,
        &format!(
            "{passed} valid bodies of {} ARM resource types mutated (PUT and PATCH): {} refused with a 4xx, the rest accepted; 0 5xx, 0 panics, 0 hangs",
            valid.len(),
            refused.into_inner()
        ),
    );
}
