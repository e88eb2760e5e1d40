//! The pool's MCP server through the data plane (fake backend): `{poolManagementEndpoint}/mcp`
//! speaks JSON-RPC 2.0 over POST, authenticated by the pool's API key in `x-ms-apikey`; a
//! rotated key stops working at once; `isMcpServerApiKeyDisabled` refuses every request; a
//! pool without MCP leaves `/mcp` to its container. (Commands in sessions: `sessions_real`.)

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::testing::TestServer;

use crate::support::pools::*;

const PREVIEW: &str = "2026-03-02-preview";

fn mcp_pool(settings: Value) -> Value {
    let mut body = valid_pool();
    body["properties"]["customContainerTemplate"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("probes");
    body["properties"]["mcpServerSettings"] = settings;
    body
}

async fn create_preview(srv: &TestServer, name: &str, body: &Value) -> Value {
    let (s, b) = call(srv, Method::PUT, &at(&pool_path(name), PREVIEW), Some(body)).await;
    assert_eq!(s, 201, "{b}");
    wait_succeeded(srv, name).await;
    call(srv, Method::GET, &at(&pool_path(name), PREVIEW), None)
        .await
        .1
}

async fn key(srv: &TestServer, name: &str, action: &str) -> String {
    let (s, b) = call(
        srv,
        Method::POST,
        &at(&format!("{}/{action}", pool_path(name)), PREVIEW),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["apiKey"].as_str().unwrap().to_string()
}

async fn post(srv: &TestServer, url: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = srv.client.post(url).json(body);
    if let Some(k) = key {
        req = req.header("x-ms-apikey", k);
    }
    let r = req.send().await.expect("mcp request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn mcp_speaks_json_rpc_with_the_pool_key() {
    let srv = TestServer::start().await;
    let pool = create_preview(
        &srv,
        "mcpfake",
        &mcp_pool(json!({"isMcpServerEnabled": true})),
    )
    .await;
    let mcp = pool["properties"]["mcpServerSettings"]["mcpServerEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    assert_eq!(
        mcp,
        format!(
            "{}/mcp",
            pool["properties"]["poolManagementEndpoint"]
                .as_str()
                .unwrap()
        )
    );
    let k = key(&srv, "mcpfake", "fetchMcpServerCredentials").await;
    let init = json!({"jsonrpc": "2.0", "id": "1", "method": "initialize"});

    let (s, r) = post(&srv, &mcp, Some(&k), &init).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["id"], "1");
    assert_eq!(r["result"]["protocolVersion"], "2025-03-26");
    assert_eq!(
        r["result"]["serverInfo"]["name"],
        "Microsoft Container Apps MCP Server"
    );
    assert_eq!(
        r["result"]["capabilities"]["tools"],
        json!({"call": true, "list": true})
    );

    let (_, r) = post(
        &srv,
        &mcp,
        Some(&k),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    let names: Vec<&str> = r["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "launchShell",
            "runShellCommandInRemoteEnvironment",
            "runPythonCodeInRemoteEnvironment"
        ]
    );
    let (_, r) = post(&srv, &mcp, Some(&k), &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "launchShell", "arguments": {}}})).await;
    let env_id = r["result"]["structuredContent"]["environmentId"]
        .as_str()
        .expect("environmentId")
        .to_string();
    assert_eq!(r["result"]["isError"], false);
    // The fake backend cannot run commands: a tool error naming why (real VMs: sessions_real).
    let (_, r) = post(&srv, &mcp, Some(&k), &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "runShellCommandInRemoteEnvironment", "arguments": {"environmentId": env_id, "shellCommand": "echo hi"}}})).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(
        r["result"]["structuredContent"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot run commands"),
        "{r}"
    );

    // JSON-RPC errors.
    let (_, r) = post(
        &srv,
        &mcp,
        Some(&k),
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools.call"}),
    )
    .await;
    assert_eq!(r["error"]["code"], -32601);
    let (_, r) = post(&srv, &mcp, Some(&k), &json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "runShellCommandInRemoteEnvironment", "arguments": {}}})).await;
    assert_eq!(r["error"]["code"], -32602);
    let r = srv
        .client
        .post(&mcp)
        .header("x-ms-apikey", &k)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], -32700);
    let (s, _) = post(
        &srv,
        &mcp,
        Some(&k),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(s, 202, "notifications get no answer");

    // Authentication: the key only; a bearer token is not a credential here.
    let (s, _) = post(&srv, &mcp, None, &init).await;
    assert_eq!(s, 401);
    let (s, _) = post(&srv, &mcp, Some("wrong"), &init).await;
    assert_eq!(s, 401);
    let r = srv
        .client
        .post(&mcp)
        .bearer_auth(srv.dataplane_token())
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = srv
        .client
        .get(&mcp)
        .header("x-ms-apikey", &k)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);

    // Rotation: the old key stops working at once, the new one works.
    let new = key(&srv, "mcpfake", "rotateMcpServerCredentials").await;
    let (s, _) = post(&srv, &mcp, Some(&k), &init).await;
    assert_eq!(s, 401);
    let (s, _) = post(&srv, &mcp, Some(&new), &init).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn api_key_disabled_refuses_and_no_mcp_leaves_the_path_to_the_container() {
    let srv = TestServer::start().await;
    let pool = create_preview(
        &srv,
        "keyless",
        &mcp_pool(json!({"isMcpServerEnabled": true, "isMcpServerApiKeyDisabled": true})),
    )
    .await;
    let mcp = pool["properties"]["mcpServerSettings"]["mcpServerEndpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let k = key(&srv, "keyless", "fetchMcpServerCredentials").await;
    let (s, r) = post(
        &srv,
        &mcp,
        Some(&k),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"}),
    )
    .await;
    assert_eq!(s, 401, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("disabled"),
        "{r}"
    );

    let plain = create_preview(
        &srv,
        "nomcp",
        &mcp_pool(json!({"isMcpServerEnabled": false})),
    )
    .await;
    assert!(plain["properties"]["mcpServerSettings"]
        .get("mcpServerEndpoint")
        .is_none());
    let ep = plain["properties"]["poolManagementEndpoint"]
        .as_str()
        .unwrap();
    let r = srv
        .client
        .post(format!("{ep}/mcp?identifier=someone"))
        .bearer_auth(srv.dataplane_token())
        .json(&json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["path"], "/mcp", "the container's own /mcp: {echo}");
}
