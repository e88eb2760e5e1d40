//! Routing of session logs to Log Analytics by diagnostic settings, end to end over HTTP with
//! fake sessions: rows reach a workspace only while an enabled setting names it (nothing
//! back-filled, disabling or deleting stops the flow), `allLogs`, the other environment
//! categories, the environment's `appLogsConfiguration` (`_CL` table), exact columns and
//! types, and per-workspace retention.

use std::sync::Arc;

use serde_json::{json, Value};
use sessions_emulator::clock::ManualClock;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

use crate::support::monitor::{
    column, delete_setting, logs_of, pool, pool_id, print, put_setting, query, workspace,
};
use crate::support::pools;

fn console(category: &str, enabled: bool) -> Value {
    json!([{"category": category, "enabled": enabled}])
}

#[tokio::test]
async fn settings_route_rows_from_the_moment_they_exist() {
    let srv = TestServer::start().await;
    let ep = pool(&srv, "routed").await;
    let env = defaults::environment_id();
    let ws = defaults::workspace_id();
    print(&srv, &ep, "user-1", "stdout", "before any setting").await;
    assert!(logs_of(&srv, "AppEnvSessionConsoleLogs", "Log")
        .await
        .is_empty());

    put_setting(
        &srv,
        &env,
        "console",
        &ws,
        console("AppEnvSessionConsoleLogs", true),
        json!([]),
    )
    .await;
    print(&srv, &ep, "user-1", "stdout", "while enabled").await;
    print(&srv, &ep, "user-2", "stderr", "oops").await;
    assert_eq!(
        logs_of(&srv, "AppEnvSessionConsoleLogs", "Log").await,
        ["while enabled", "oops"],
        "nothing before the setting is back-filled"
    );
    assert!(
        logs_of(&srv, "AppEnvSessionLifecycleLogs", "Log")
            .await
            .is_empty(),
        "the lifecycle category is not enabled"
    );

    put_setting(
        &srv,
        &env,
        "console",
        &ws,
        console("AppEnvSessionConsoleLogs", false),
        json!([]),
    )
    .await;
    print(&srv, &ep, "user-1", "stdout", "while disabled").await;
    put_setting(
        &srv,
        &env,
        "console",
        &ws,
        json!([{"categoryGroup": "allLogs", "enabled": true}]),
        json!([]),
    )
    .await;
    print(&srv, &ep, "user-3", "stdout", "all logs").await;
    delete_setting(&srv, &env, "console").await;
    print(&srv, &ep, "user-1", "stdout", "after delete").await;

    assert_eq!(
        logs_of(&srv, "AppEnvSessionConsoleLogs", "Log").await,
        ["while enabled", "oops", "all logs"]
    );
    let lifecycle = logs_of(&srv, "AppEnvSessionLifecycleLogs", "OperationName").await;
    assert_eq!(
        lifecycle,
        ["SessionAllocated"],
        "only user-3 was allocated while allLogs was on"
    );
    let events = logs_of(&srv, "AppEnvSessionPoolEventLogs", "OperationName").await;
    assert!(
        events.contains(&"SessionAllocated".to_string()),
        "{events:?}"
    );
}

#[tokio::test]
async fn columns_and_types_are_the_documented_ones() {
    let srv = TestServer::start().await;
    let ep = pool(&srv, "columns").await;
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
    print(&srv, &ep, "user-42", "stderr", "hello from the session").await;
    for table in [
        "AppEnvSessionConsoleLogs",
        "AppEnvSessionLifecycleLogs",
        "AppEnvSessionPoolEventLogs",
    ] {
        let (s, b) = query(
            &srv,
            defaults::WORKSPACE_CUSTOMER_ID,
            &format!("{table} | take 1"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let cols: Vec<String> = b["tables"][0]["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| {
                format!(
                    "{}:{}",
                    c["name"].as_str().unwrap_or(""),
                    c["type"].as_str().unwrap_or("")
                )
            })
            .collect();
        insta::assert_snapshot!(format!("columns_{table}"), cols.join("\n"));
        assert_eq!(
            b["tables"][0]["rows"].as_array().map(Vec::len),
            Some(1),
            "{table}: {b}"
        );
    }
    let (s, b) = query(
        &srv,
        defaults::WORKSPACE_CUSTOMER_ID,
        "AppEnvSessionConsoleLogs | project TimeGenerated, SessionPoolName, SessionId, Stream, Log, ContainerName, _ResourceId, TenantId, Type",
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let row = &b["tables"][0]["rows"][0];
    assert!(
        row[0]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.contains('T')),
        "{row}"
    );
    assert_eq!(row[1], "columns");
    assert_eq!(row[2], "user-42");
    assert_eq!(row[3], "stderr");
    assert_eq!(row[4], "hello from the session");
    assert_eq!(row[5], "app");
    assert_eq!(row[6], json!(env.to_ascii_lowercase()));
    assert_eq!(row[7], defaults::WORKSPACE_CUSTOMER_ID);
    assert_eq!(row[8], "AppEnvSessionConsoleLogs");
    let (_, b) = query(&srv, defaults::WORKSPACE_CUSTOMER_ID, "AppEnvSessionLifecycleLogs | where OperationName == 'SessionAllocated' | project Level, NodeName, PodName, _BilledSize", None).await;
    let row = &b["tables"][0]["rows"][0];
    assert_eq!(row[0], "Informational", "{b}");
    assert!(row[2].as_str().is_some_and(|p| !p.is_empty()));
    assert!(row[3].is_number());
}

#[tokio::test]
async fn other_environment_categories_are_accepted_and_write_nothing() {
    let srv = TestServer::start().await;
    let ep = pool(&srv, "others").await;
    let logs = json!([
        {"category": "ContainerAppConsoleLogs", "enabled": true},
        {"category": "ContainerAppSystemLogs", "enabled": true},
        {"category": "AppEnvSpringAppConsoleLogs", "enabled": true}
    ]);
    put_setting(
        &srv,
        &defaults::environment_id(),
        "others",
        &defaults::workspace_id(),
        logs,
        json!([]),
    )
    .await;
    print(&srv, &ep, "user-1", "stdout", "nobody hears this").await;
    let (s, b) = query(
        &srv,
        defaults::WORKSPACE_CUSTOMER_ID,
        "search * | count",
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(column(&b, "Count"), [json!(0)]);
}

#[tokio::test]
async fn app_logs_configuration_writes_the_custom_log_table() {
    let srv = TestServer::start().await;
    let env = defaults::environment_id();
    let (s, mut body) = pools::call(
        &srv,
        reqwest::Method::GET,
        &pools::at(&env, "2025-07-01"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body["properties"]["appLogsConfiguration"] = json!({
        "destination": "log-analytics",
        "logAnalyticsConfiguration": {"customerId": defaults::WORKSPACE_CUSTOMER_ID, "sharedKey": "c2VjcmV0"}
    });
    let (s, b) = pools::call(
        &srv,
        reqwest::Method::PUT,
        &pools::at(&env, "2025-07-01"),
        Some(&body),
    )
    .await;
    assert!(s == 200 || s == 201, "{b}");
    let ep = pool(&srv, "custom").await;
    print(&srv, &ep, "user-9", "stdout", "to the custom table").await;
    assert_eq!(
        logs_of(&srv, "AppEnvSessionConsoleLogs_CL", "Log_s").await,
        ["to the custom table"]
    );
    assert!(
        logs_of(&srv, "AppEnvSessionConsoleLogs", "Log")
            .await
            .is_empty(),
        "no diagnostic setting"
    );
    let (_, b) = query(&srv, defaults::WORKSPACE_CUSTOMER_ID, "AppEnvSessionConsoleLogs_CL | project SessionId_s, Stream_s, SessionPoolName_s, _timestamp_d", None).await;
    let row = &b["tables"][0]["rows"][0];
    assert_eq!(
        (row[0].as_str(), row[1].as_str(), row[2].as_str()),
        (Some("user-9"), Some("stdout"), Some("custom")),
        "{b}"
    );
    assert!(row[3].as_f64().is_some_and(|t| t > 1.6e9), "{b}");
}

#[tokio::test]
async fn each_workspace_keeps_rows_for_its_own_retention() {
    let clock = Arc::new(ManualClock::starting_now());
    let srv = TestServer::start_with(|_| {}, Some(clock.clone())).await;
    let ep = pool(&srv, "retained").await;
    let (short_id, short) = workspace(&srv, "short-logs", 7).await;
    let env = defaults::environment_id();
    put_setting(
        &srv,
        &env,
        "long",
        &defaults::workspace_id(),
        console("AppEnvSessionConsoleLogs", true),
        json!([]),
    )
    .await;
    put_setting(
        &srv,
        &env,
        "short",
        &short_id,
        console("AppEnvSessionConsoleLogs", true),
        json!([]),
    )
    .await;
    print(&srv, &ep, "user-1", "stdout", "old line").await;
    let count = |b: &Value| column(b, "Count");
    let (_, b) = query(&srv, &short, "AppEnvSessionConsoleLogs | count", None).await;
    assert_eq!(count(&b), [json!(1)], "{b}");
    clock.advance(time::Duration::days(8));
    let (_, b) = query(&srv, &short, "AppEnvSessionConsoleLogs | count", None).await;
    assert_eq!(count(&b), [json!(0)], "past the 7-day retention: {b}");
    let (_, b) = query(
        &srv,
        defaults::WORKSPACE_CUSTOMER_ID,
        "AppEnvSessionConsoleLogs | count",
        None,
    )
    .await;
    assert_eq!(count(&b), [json!(1)], "within the 30-day retention: {b}");
    let (_, b) = query(
        &srv,
        defaults::WORKSPACE_CUSTOMER_ID,
        "AppEnvSessionConsoleLogs | count",
        Some("P1D"),
    )
    .await;
    assert_eq!(
        count(&b),
        [json!(0)],
        "timespan P1D excludes an 8-day-old row: {b}"
    );
    clock.advance(time::Duration::days(23));
    let (_, b) = query(
        &srv,
        defaults::WORKSPACE_CUSTOMER_ID,
        "AppEnvSessionConsoleLogs | count",
        None,
    )
    .await;
    assert_eq!(count(&b), [json!(0)], "past 30 days: {b}");
    let _ = pool_id("retained");
}
