//! Helpers of the observability tests: a pool whose sessions print lines on request, diagnostic
//! settings, Log Analytics queries, and waiting until a line has passed the log store.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;
use sessions_runtime::logstore::tail::TailFilter;
use sessions_runtime::logstore::LogStore;

use super::pools::{self, at, pool_path, V};

/// Diagnostic settings api-version.
pub const DIAG_API: &str = "2021-05-01-preview";

/// A small pool (fake sessions) in the seeded environment; returns its data-plane endpoint.
pub async fn pool(srv: &TestServer, name: &str) -> String {
    let mut body = pools::valid_pool();
    body["properties"]["scaleConfiguration"] =
        json!({"maxConcurrentSessions": 5, "readySessionInstances": 1});
    if let Some(c) = body["properties"]["customContainerTemplate"]["containers"][0].as_object_mut()
    {
        c.remove("probes");
    }
    let got = pools::create(srv, name, &body).await;
    got["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("poolManagementEndpoint")
        .to_string()
}

/// The log store of the emulator.
pub fn logs(srv: &TestServer) -> LogStore {
    srv.state.pools().logs().expect("a log store").clone()
}

/// Makes the session bound to `identifier` print `line` on `stream`, and waits until the line
/// has been routed and stored (so later setting changes cannot affect it).
pub async fn print(srv: &TestServer, ep: &str, identifier: &str, stream: &str, line: &str) {
    let token = srv.token_for(defaults::DATAPLANE_AUDIENCE);
    let url = format!(
        "{ep}/log?identifier={identifier}&stream={stream}&line={}",
        urlencode(line)
    );
    let resp = srv
        .client
        .post(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("data plane");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    wait_stored(srv, ep, line).await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Waits (at most 20 s) until `line` is in some pool's console lines (a pool's endpoint is an
/// origin of its own, so the pool is not named by `ep`).
pub async fn wait_stored(srv: &TestServer, _ep: &str, line: &str) {
    let logs = logs(srv);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        logs.flush().await;
        let found = srv.state.pools().pools().iter().any(|p| {
            logs.console_lines(&TailFilter {
                pool_key: p.context().key().to_string(),
                limit: 10_000,
                ..TailFilter::default()
            })
            .lines
            .iter()
            .any(|l| l.log == line)
        });
        if found {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "line {line:?} never reached the log store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `{resource}/providers/Microsoft.Insights/diagnosticSettings/{name}?api-version=...`.
pub fn setting_path(resource: &str, name: &str) -> String {
    format!(
        "{resource}/providers/Microsoft.Insights/diagnosticSettings/{name}?api-version={DIAG_API}"
    )
}

/// PUTs a diagnostic setting sending `logs` (and `metrics`) to `workspace_id`.
pub async fn put_setting(
    srv: &TestServer,
    resource: &str,
    name: &str,
    workspace_id: &str,
    logs: Value,
    metrics: Value,
) {
    let body =
        json!({"properties": {"workspaceId": workspace_id, "logs": logs, "metrics": metrics}});
    let (s, b) = pools::call(srv, Method::PUT, &setting_path(resource, name), Some(&body)).await;
    assert_eq!(s, 200, "{b}");
}

/// Deletes a diagnostic setting.
pub async fn delete_setting(srv: &TestServer, resource: &str, name: &str) {
    let (s, b) = pools::call(srv, Method::DELETE, &setting_path(resource, name), None).await;
    assert_eq!(s, 200, "{b}");
}

/// Runs `query` on workspace `customer_id` (POST, Log Analytics token); (status, body).
pub async fn query(
    srv: &TestServer,
    customer_id: &str,
    query: &str,
    timespan: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({"query": query});
    if let Some(t) = timespan {
        body["timespan"] = json!(t);
    }
    let resp = srv
        .client
        .post(srv.url(&format!("/v1/workspaces/{customer_id}/query")))
        .bearer_auth(srv.token_for(defaults::LOG_ANALYTICS_AUDIENCE))
        .json(&body)
        .send()
        .await
        .expect("query");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The values of `column` in a successful query answer.
pub fn column(body: &Value, column: &str) -> Vec<Value> {
    let table = &body["tables"][0];
    let i = table["columns"]
        .as_array()
        .and_then(|cols| cols.iter().position(|c| c["name"] == column))
        .unwrap_or_else(|| panic!("no column {column} in {body}"));
    table["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| r[i].clone()).collect())
        .unwrap_or_default()
}

/// The `Log` values of `T | order by TimeGenerated asc` in the seeded workspace.
pub async fn logs_of(srv: &TestServer, table: &str, log_column: &str) -> Vec<String> {
    let (s, b) = query(
        srv,
        defaults::WORKSPACE_CUSTOMER_ID,
        &format!("{table} | order by TimeGenerated asc"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    column(&b, log_column)
        .into_iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

/// ARM id of pool `name` in the seeded resource group.
pub fn pool_id(name: &str) -> String {
    pool_path(name)
}

/// Creates a workspace `name` in the seeded resource group with `retention` days; returns
/// (ARM id, customerId).
pub async fn workspace(srv: &TestServer, name: &str, retention: i64) -> (String, String) {
    let id = format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/{name}",
        defaults::resource_group_id()
    );
    let body = json!({"location": "eastus", "properties": {"retentionInDays": retention, "sku": {"name": "PerGB2018"}}});
    let (s, b) = pools::call(srv, Method::PUT, &at(&id, "2023-09-01"), Some(&body)).await;
    assert!(s == 200 || s == 201, "{b}");
    let customer = b["properties"]["customerId"]
        .as_str()
        .expect("customerId")
        .to_string();
    (id, customer)
}

/// `V`, re-exported for callers building pool paths.
pub const POOL_API: &str = V;
