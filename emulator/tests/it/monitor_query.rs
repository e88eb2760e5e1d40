//! The Log Analytics query API over HTTP: request forms (POST body, GET query string),
//! tokens (Log Analytics audience, the emulator's own endpoint as audience, wrong audience,
//! none), errors in the service's shape (syntax with position, semantic with the near-miss
//! table name, unknown workspace, bad timespan, missing query), statistics, several
//! workspaces, and Microsoft's example queries for session pools as written.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

use crate::support::monitor::{column, pool, print, put_setting, query, workspace};

fn url(srv: &TestServer, ws: &str) -> String {
    srv.url(&format!("/v1/workspaces/{ws}/query"))
}

async fn post_with(srv: &TestServer, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = srv
        .client
        .post(url(srv, defaults::WORKSPACE_CUSTOMER_ID))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn token_for_scope(srv: &TestServer, scope: &str) -> (StatusCode, Value) {
    let resp = srv
        .client
        .post(srv.url(&format!("/{}/oauth2/v2.0/token", defaults::TENANT_ID)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", defaults::CLIENT_ID),
            ("client_secret", defaults::CLIENT_SECRET),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token");
    let status = resp.status();
    (status, resp.json().await.expect("json"))
}

#[tokio::test]
async fn tokens_for_log_analytics_and_for_the_emulator_itself() {
    let srv = TestServer::start().await;
    let q = json!({"query": "AppEnvSessionConsoleLogs | take 1"});
    let (s, b) = post_with(&srv, None, q.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(b["error"]["code"], "AuthorizationRequiredError", "{b}");
    assert!(b["error"]["correlationId"].is_string());
    let (s, b) = post_with(&srv, Some(&srv.arm_token()), q.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["error"]["code"], "InsufficientAccessError");
    let (s, b) = post_with(&srv, Some("not.a.token"), q.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(b["error"]["code"], "InvalidTokenError", "{b}");

    let (s, t) = token_for_scope(&srv, "https://api.loganalytics.io/.default").await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, b) = post_with(&srv, t["access_token"].as_str(), q.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // What an SDK derives from a custom endpoint: `{endpoint}/.default`, also as localhost.
    let port = srv
        .endpoint
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    for scope in [
        format!("{}/.default", srv.endpoint),
        format!("http://localhost:{port}/.default"),
    ] {
        let (s, t) = token_for_scope(&srv, &scope).await;
        assert_eq!(s, StatusCode::OK, "{scope}: {t}");
        let token = t["access_token"].as_str().expect("token");
        let (s, b) = post_with(&srv, Some(token), q.clone()).await;
        assert_eq!(s, StatusCode::OK, "{scope}: {b}");
        // The same token reaches ARM (Azure Monitor metrics use it) but not the data plane.
        let arm = srv
            .client
            .get(srv.url("/subscriptions?api-version=2022-12-01"))
            .bearer_auth(token)
            .send()
            .await
            .expect("arm");
        assert_eq!(arm.status(), 200);
    }
    let (s, t) = token_for_scope(&srv, "https://127.0.0.1:1/.default").await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "another port is not this emulator: {t}"
    );
}

#[tokio::test]
async fn get_and_post_answer_the_same_typed_table() {
    let srv = TestServer::start().await;
    let text =
        "print n = 1, s = 'x', t = datetime(2024-05-01T10:00:00Z), r = 1.5, b = true, d = 1h";
    let (s, post) = query(&srv, defaults::WORKSPACE_CUSTOMER_ID, text, None).await;
    assert_eq!(s, 200, "{post}");
    let get = srv
        .client
        .get(url(&srv, defaults::WORKSPACE_CUSTOMER_ID))
        .query(&[("query", text)])
        .bearer_auth(srv.token_for(defaults::LOG_ANALYTICS_AUDIENCE))
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 200);
    let get: Value = get.json().await.expect("json");
    assert_eq!(get, post);
    assert_eq!(
        post,
        json!({"tables": [{"name": "PrimaryResult",
            "columns": [
                {"name": "n", "type": "long"}, {"name": "s", "type": "string"},
                {"name": "t", "type": "datetime"}, {"name": "r", "type": "real"},
                {"name": "b", "type": "bool"}, {"name": "d", "type": "timespan"}],
            "rows": [[1, "x", "2024-05-01T10:00:00Z", 1.5, true, "01:00:00"]]}]})
    );
    let stats = srv
        .client
        .post(url(&srv, defaults::WORKSPACE_CUSTOMER_ID))
        .header("prefer", "wait=180, include-statistics=true")
        .bearer_auth(srv.token_for(defaults::LOG_ANALYTICS_AUDIENCE))
        .json(&json!({"query": "print 1"}))
        .send()
        .await
        .expect("stats");
    let stats: Value = stats.json().await.expect("json");
    assert!(
        stats["statistics"]["query"]["executionTime"].is_number(),
        "{stats}"
    );
}

#[tokio::test]
async fn errors_have_the_service_shape() {
    let srv = TestServer::start().await;
    let ws = defaults::WORKSPACE_CUSTOMER_ID;
    let (s, b) = query(
        &srv,
        ws,
        "AppEnvSessionPoolEvents\n| where TimeGenerated > ago(1h)",
        None,
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "BadArgumentError");
    assert_eq!(b["error"]["innererror"]["code"], "SemanticError");
    let msg = b["error"]["innererror"]["innererror"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(msg.contains("AppEnvSessionPoolEventLogs"), "{b}");
    assert!(b["error"]["correlationId"].is_string());

    let (s, b) = query(&srv, ws, "AppEnvSessionConsoleLogs | where", None).await;
    assert_eq!(s, 400);
    assert_eq!(b["error"]["innererror"]["code"], "SyntaxError", "{b}");
    assert_eq!(b["error"]["innererror"]["innererror"]["line"], 1);
    assert!(b["error"]["innererror"]["innererror"]["pos"].is_number());

    let (s, b) = query(&srv, ws, "AppEnvSessionConsoleLogs | where Nope == 1", None).await;
    assert_eq!(
        (s, b["error"]["innererror"]["code"].as_str()),
        (400, Some("SemanticError")),
        "{b}"
    );

    let (s, b) = query(
        &srv,
        ws,
        "AppEnvSessionConsoleLogs | join (AppEnvSessionLifecycleLogs) on PodName",
        None,
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b.to_string().contains("join"),
        "the error names the operator: {b}"
    );

    let (s, b) = query(&srv, ws, "print 1", Some("yesterday")).await;
    assert_eq!(s, 400);
    assert_eq!(
        b["error"]["innererror"]["code"], "InvalidTimespanFormat",
        "{b}"
    );
    assert!(b.to_string().contains("yesterday"));

    let (s, b) = post_with(
        &srv,
        Some(&srv.token_for(defaults::LOG_ANALYTICS_AUDIENCE)),
        json!({"timespan": "PT1H"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["error"]["innererror"]["code"], "QueryValidationError",
        "{b}"
    );

    let (s, b) = query(
        &srv,
        "11111111-2222-3333-4444-555555555555",
        "print 1",
        None,
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(b["error"]["code"], "WorkspaceNotFoundError", "{b}");
    let (s, _) = query(&srv, defaults::WORKSPACE, "print 1", None).await;
    assert_eq!(s, 404, "the name is not the id");
}

#[tokio::test]
async fn microsoft_example_queries_run_as_written() {
    let srv = TestServer::start().await;
    let ep = pool(&srv, "examples").await;
    let env = defaults::environment_id();
    put_setting(
        &srv,
        &env,
        "all",
        &defaults::workspace_id(),
        json!([{"categoryGroup": "allLogs", "enabled": true}]),
        json!([]),
    )
    .await;
    print(&srv, &ep, "user-1", "stdout", "listening on 8080").await;
    print(&srv, &ep, "user-1", "stderr", "error: bad input").await;
    let ws = defaults::WORKSPACE_CUSTOMER_ID;
    let q1 = "AppEnvSessionConsoleLogs\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc\n| take 100";
    let (s, b) = query(&srv, ws, q1, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        column(&b, "Log"),
        [json!("error: bad input"), json!("listening on 8080")]
    );
    let q2 = "AppEnvSessionLifecycleLogs\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc";
    let (s, b) = query(&srv, ws, q2, None).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        column(&b, "OperationName").contains(&json!("SessionAllocated")),
        "{b}"
    );
    let q3 = "AppEnvSessionPoolEventLogs\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc";
    let (s, b) = query(&srv, ws, q3, None).await;
    assert_eq!(s, 200, "{b}");
    let q4 = "AppEnvSessionConsoleLogs\n| where Stream == \"stderr\"\n| order by TimeGenerated desc\n| top 100 by TimeGenerated";
    let (_, b) = query(&srv, ws, q4, None).await;
    assert_eq!(column(&b, "Log"), [json!("error: bad input")]);
    let (_, b) = query(&srv, ws, "search \"bad input\"", None).await;
    assert_eq!(
        b["tables"][0]["rows"].as_array().map(Vec::len),
        Some(1),
        "{b}"
    );
    let (_, b) = query(
        &srv,
        ws,
        "AppEnvSessionConsoleLogs | summarize count() by bin(TimeGenerated, 5m), Stream | count",
        None,
    )
    .await;
    assert!(
        column(&b, "Count")[0].as_i64().is_some_and(|n| n >= 2),
        "{b}"
    );
}

#[tokio::test]
async fn several_workspaces_in_one_query() {
    let srv = TestServer::start().await;
    let ep = pool(&srv, "multi").await;
    let (second_id, second) = workspace(&srv, "second-logs", 30).await;
    let env = defaults::environment_id();
    let logs = json!([{"category": "AppEnvSessionConsoleLogs", "enabled": true}]);
    put_setting(
        &srv,
        &env,
        "one",
        &defaults::workspace_id(),
        logs.clone(),
        json!([]),
    )
    .await;
    print(&srv, &ep, "user-1", "stdout", "first").await;
    put_setting(
        &srv,
        &env,
        "one",
        &defaults::workspace_id(),
        json!([]),
        json!([]),
    )
    .await;
    put_setting(&srv, &env, "two", &second_id, logs, json!([])).await;
    print(&srv, &ep, "user-1", "stdout", "second").await;
    let (_, b) = query(
        &srv,
        &second,
        "AppEnvSessionConsoleLogs | project Log",
        None,
    )
    .await;
    assert_eq!(column(&b, "Log"), [json!("second")]);
    let resp = srv
        .client
        .post(url(&srv, defaults::WORKSPACE_CUSTOMER_ID))
        .bearer_auth(srv.token_for(defaults::LOG_ANALYTICS_AUDIENCE))
        .json(&json!({"query": "AppEnvSessionConsoleLogs | order by TimeGenerated asc | project Log, TenantId", "workspaces": [second]}))
        .send()
        .await
        .expect("send");
    let b: Value = resp.json().await.expect("json");
    assert_eq!(column(&b, "Log"), [json!("first"), json!("second")], "{b}");
    assert_eq!(
        column(&b, "TenantId"),
        [json!(defaults::WORKSPACE_CUSTOMER_ID), json!(second)]
    );
}
