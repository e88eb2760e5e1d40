//! `real_restart_pools`: session pools survive SIGKILL. Create a pool on the built binary
//! (temp data dir), kill it with SIGKILL, restart on the same data dir: the pool reads back
//! identical (same identity, systemData, endpoint path) and its secret value is still stored.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::pools::{pool_path, valid_pool, V};
use crate::support::process::EmulatorProcess;

/// Sends with a fresh ARM token; returns (status, JSON body).
async fn call(
    client: &reqwest::Client,
    emu: &EmulatorProcess,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let token = emu.token(client).await;
    let (status, body) = emu.arm(client, &token, method, path, body).await;
    (status.as_u16(), body)
}

async fn wait_succeeded(client: &reqwest::Client, emu: &EmulatorProcess, url: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (s, b) = call(client, emu, Method::GET, url, None).await;
        if s == 200 && b["properties"]["provisioningState"] == "Succeeded" {
            return b;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pool never Succeeded: {s} {b}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn real_restart_pools() {
    let dir = tempfile::tempdir().expect("temp data dir");
    let client = reqwest::Client::new();
    let url = format!("{}?api-version={V}", pool_path("durable"));

    let emu = EmulatorProcess::start(dir.path(), true);
    let (status, _) = call(&client, &emu, Method::PUT, &url, Some(&valid_pool())).await;
    assert_eq!(status, 201);
    let before = wait_succeeded(&client, &emu, &url).await;
    let endpoint_before = emu.field("endpoint");
    emu.kill();

    let emu = EmulatorProcess::start(dir.path(), true);
    let after = wait_succeeded(&client, &emu, &url).await;
    let strip = |mut v: Value, ep: &str| {
        let text = v["properties"]["poolManagementEndpoint"]
            .as_str()
            .unwrap_or_default()
            .replace(ep, "");
        v["properties"]["poolManagementEndpoint"] = json!(text);
        v["properties"]["nodeCount"] = json!(0);
        v
    };
    assert_eq!(
        strip(after, &emu.field("endpoint")),
        strip(before, &endpoint_before)
    );

    // The secret value survived: a PUT that sends the secret without its value is accepted.
    let mut body = valid_pool();
    body["properties"]["secrets"] = json!([{"name": "registry-password"}]);
    let (status, resp) = call(&client, &emu, Method::PUT, &url, Some(&body)).await;
    assert_eq!(status, 200, "{resp}");
    let (status, _) = call(&client, &emu, Method::DELETE, &url, None).await;
    assert_eq!(status, 202);
    emu.kill();
}
