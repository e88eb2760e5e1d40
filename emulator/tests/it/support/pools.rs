//! Helpers shared by the session pool integration tests: a valid pool body, request helpers,
//! bounded polling, and response normalisation for snapshots.

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{json, Value};
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

use super::arm::is_guid;

/// Canonical api-version.
pub const V: &str = "2026-07-01";

/// Path of pool `name` in the seeded resource group.
pub fn pool_path(name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/{name}",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    )
}

/// `{path}?api-version={v}`.
pub fn at(path: &str, v: &str) -> String {
    format!("{path}?api-version={v}")
}

/// A valid custom-container pool in the 2026-07-01 shape (every property set).
pub fn valid_pool() -> Value {
    json!({
        "location": "eastus",
        "tags": {"team": "sessions"},
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "environmentId": defaults::environment_id(),
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 10, "readySessionInstances": 2},
            "secrets": [{"name": "registry-password", "value": "hunter2"}],
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {
                "registryCredentials": {"server": "myregistry.azurecr.io", "username": "puller", "passwordSecretRef": "registry-password"},
                "containers": [{
                    "image": "myregistry.azurecr.io/app:v1",
                    "name": "app",
                    "command": ["/app/server"],
                    "args": ["--port", "8080"],
                    "env": [{"name": "MODE", "value": "test"}, {"name": "PW", "secretRef": "registry-password"}],
                    "resources": {"cpu": 0.5, "memory": "1Gi"},
                    "probes": [
                        {"type": "Liveness", "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP", "httpHeaders": [{"name": "x-probe", "value": "1"}]},
                         "failureThreshold": 3, "initialDelaySeconds": 1, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
                        {"type": "Startup", "tcpSocket": {"port": 8080}}
                    ]
                }],
                "ingress": {"targetPort": 8080}
            },
            "sessionNetworkConfiguration": {"status": "EgressDisabled"},
            "managedIdentitySettings": [{"identity": "system", "lifecycle": "Main"}]
        }
    })
}

/// Sends `method path` with an ARM token and an optional JSON body.
pub async fn send(srv: &TestServer, method: Method, path: &str, body: Option<&Value>) -> Response {
    let mut req = srv.arm(method, path);
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send()
        .await
        .expect("request reaches the in-process emulator")
}

/// Sends and returns (status, JSON body or Null).
pub async fn call(
    srv: &TestServer,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let resp = send(srv, method, path, body).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `GET path` until `done(body)`, at most 20 s (never a blind sleep: short backoff).
pub async fn poll_until(
    srv: &TestServer,
    path: &str,
    done: impl Fn(u16, &Value) -> bool,
) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut last = (0, Value::Null);
    while tokio::time::Instant::now() < deadline {
        last = call(srv, Method::GET, path, None).await;
        if done(last.0, &last.1) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "timed out polling {path}; last answer {} {}",
        last.0, last.1
    );
}

/// Creates pool `name` from `body` and waits for `Succeeded`; returns the final GET body.
pub async fn create(srv: &TestServer, name: &str, body: &Value) -> Value {
    let (status, resp) = call(srv, Method::PUT, &at(&pool_path(name), V), Some(body)).await;
    assert_eq!(status, 201, "create {name}: {resp}");
    wait_succeeded(srv, name).await
}

/// Waits until pool `name` reports `provisioningState: Succeeded`.
pub async fn wait_succeeded(srv: &TestServer, name: &str) -> Value {
    poll_until(srv, &at(&pool_path(name), V), |s, b| {
        s == 200 && b["properties"]["provisioningState"] == "Succeeded"
    })
    .await
    .1
}

/// Replaces the server endpoint by `https://emulator`, each pool's own origin
/// (`http://127.0.0.1:{port}`) by `https://pool-origin`, and volatile values by placeholders.
pub fn normalise(srv: &TestServer, v: &Value) -> Value {
    let mut text = v.to_string().replace(&srv.endpoint, "https://emulator");
    while let Some(at) = text.find("http://127.0.0.1:") {
        let digits = text[at + "http://127.0.0.1:".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        text.replace_range(
            at..at + "http://127.0.0.1:".len() + digits,
            "https://pool-origin",
        );
    }
    let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    redact(&mut v);
    v
}

fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let time_key = k.ends_with("At") || k == "startTime" || k == "endTime";
                if time_key && x.is_string() {
                    *x = json!("[time]");
                } else if k == "name" && x.as_str().is_some_and(is_guid) {
                    *x = json!("[operation]");
                } else if k == "principalId" && x.as_str().is_some_and(is_guid) {
                    *x = json!("[principal]");
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        Value::String(s) => {
            if let Some(pos) = s
                .find("/operationStatuses/")
                .or_else(|| s.find("/operationResults/"))
            {
                let tail = &s[pos..];
                if let Some(slash) = tail[1..].find('/') {
                    let start = pos + 1 + slash + 1;
                    if s.len() >= start + 36 && is_guid(&s[start..start + 36]) {
                        s.replace_range(start..start + 36, "[operation]");
                    }
                }
            }
        }
        _ => {}
    }
}

/// The headers of interest for snapshots, normalised.
pub fn lro_headers(srv: &TestServer, resp: &Response) -> Value {
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut out = serde_json::Map::new();
    for name in ["azure-asyncoperation", "location", "retry-after"] {
        if let Some(v) = h(name) {
            out.insert(name.into(), json!(v));
        }
    }
    normalise(srv, &Value::Object(out))
}
