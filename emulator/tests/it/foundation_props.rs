//! Property tests over the in-process router: arbitrary JSON bodies, raw bytes and
//! api-versions sent to the foundation's ARM routes never produce a 500 or a panic, and
//! every error has a JSON body with a code.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use proptest::prelude::*;
use serde_json::{json, Value};
use sessions_emulator::config::Config;
use sessions_emulator::defaults;
use sessions_emulator::state::AppState;
use tower::ServiceExt;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-zA-Z0-9 ./_-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("eastus"),
            Just("location"),
            Just("AllMetrics"),
            Just("Dedicated")
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("location".to_string()),
                    Just("Location".to_string()),
                    Just("tags".to_string()),
                    Just("properties".to_string()),
                    Just("workspaceId".to_string()),
                    Just("logs".to_string()),
                    Just("metrics".to_string()),
                    Just("category".to_string()),
                    Just("categoryGroup".to_string()),
                    Just("enabled".to_string()),
                    Just("retentionPolicy".to_string()),
                    Just("days".to_string()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn api_version() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("2021-04-01".to_string())),
        Just(Some("2026-07-01".to_string())),
        Just(Some("2023-09-01".to_string())),
        Just(Some("2021-05-01-preview".to_string())),
        "[0-9a-z-]{0,20}".prop_map(Some),
    ]
}

fn paths() -> Vec<String> {
    let rg = defaults::resource_group_id();
    vec![
        format!(
            "/subscriptions/{}/resourceGroups/prop-rg",
            defaults::SUBSCRIPTION_ID
        ),
        format!("{rg}/providers/Microsoft.App/managedEnvironments/prop-env"),
        format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/prop-logs"),
        format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings/prop",
            defaults::environment_id()
        ),
        format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings/prop",
            defaults::workspace_id()
        ),
    ]
}

struct Harness {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    token: String,
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
    let token = state
        .tokens()
        .issue(&client, defaults::ARM_AUDIENCE, state.now());
    let app = rt.block_on(async { sessions_emulator::server::router(state) });
    Harness { rt, app, token }
}

fn send(
    h: &Harness,
    method: Method,
    path: &str,
    version: &Option<String>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let uri = match version {
        Some(v) => format!(
            "{path}?api-version={}",
            url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
        ),
        None => path.to_string(),
    };
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", h.token))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    h.rt.block_on(async {
        let resp = h.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, bytes.to_vec())
    })
}

fn check(status: StatusCode, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "500: {}",
        String::from_utf8_lossy(body)
    );
    if status.is_client_error() && !body.is_empty() {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("error body is not JSON: {e}")))?;
        prop_assert!(
            v["error"]["code"].is_string() || v["code"].is_string(),
            "no error code: {v}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_500(body in json_value(), version in api_version(), which in 0usize..5, method in prop_oneof![Just(Method::PUT), Just(Method::PATCH), Just(Method::GET), Just(Method::DELETE)]) {
        thread_local!(static H: Harness = harness());
        let path = paths()[which].clone();
        let bytes = serde_json::to_vec(&body).expect("serialise");
        let (status, resp) = H.with(|h| send(h, method, &path, &version, bytes));
        check(status, &resp)?;
    }

    #[test]
    fn arbitrary_bytes_never_500(body in prop::collection::vec(any::<u8>(), 0..64), which in 0usize..5) {
        thread_local!(static H: Harness = harness());
        let path = paths()[which].clone();
        let v = Some(if which >= 3 { "2021-05-01-preview" } else if which == 2 { "2023-09-01" } else if which == 1 { "2026-07-01" } else { "2021-04-01" }.to_string());
        let (status, resp) = H.with(|h| send(h, Method::PUT, &path, &v, body));
        check(status, &resp)?;
    }
}
