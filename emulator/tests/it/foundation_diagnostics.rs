//! In-process tests of `Microsoft.Insights/diagnosticSettings` on emulator resources:
//! PUT/GET/DELETE/list, per-type category validation, workspace existence, the flat
//! `{code, message}` errors, limits, and removal with the parent resource.

use crate::support::arm::{call, redact};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

const API: &str = "2021-05-01-preview";

fn setting(resource: &str, name: &str) -> String {
    format!("{resource}/providers/Microsoft.Insights/diagnosticSettings/{name}?api-version={API}")
}

fn env_body() -> Value {
    json!({"properties": {
        "workspaceId": defaults::workspace_id(),
        "logAnalyticsDestinationType": "Dedicated",
        "logs": [
            {"category": "AppEnvSessionConsoleLogs", "enabled": true},
            {"category": "AppEnvSessionLifeCycleLogs", "enabled": true, "retentionPolicy": {"enabled": false, "days": 0}},
            {"categoryGroup": "audit", "enabled": false}
        ],
        "metrics": [{"category": "AllMetrics", "enabled": true}]
    }})
}

#[tokio::test]
async fn environment_setting_lifecycle() {
    let srv = TestServer::start().await;
    let env = defaults::environment_id();
    let (s, h, created) = call(
        &srv,
        Method::PUT,
        &setting(&env, "to-logs"),
        Some(env_body()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    assert!(h.contains_key("x-ms-request-id"));
    insta::assert_json_snapshot!("diag_created", redact(&created, &srv.endpoint));
    // GET with case-insensitive path.
    let lower = setting(&env, "to-logs").replace(
        "Microsoft.Insights/diagnosticSettings",
        "microsoft.insights/diagnosticsettings",
    );
    let (s, _, got) = call(&srv, Method::GET, &lower, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, created);
    let (s, _, list) = call(
        &srv,
        Method::GET,
        &format!("{env}/providers/Microsoft.Insights/diagnosticSettings?api-version={API}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    assert!(list.get("nextLink").is_none());
    let (s, _, cats) = call(
        &srv,
        Method::GET,
        &format!(
            "{env}/providers/Microsoft.Insights/diagnosticSettingsCategories?api-version={API}"
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Issue 12: `ContainerAppHTTPLogs` is an environment category too (6 logs + HTTP + metrics).
    assert_eq!(cats["value"].as_array().map(Vec::len), Some(8));
    let (s, _, _) = call(&srv, Method::DELETE, &setting(&env, "to-logs"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(&srv, Method::DELETE, &setting(&env, "to-logs"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, err) = call(&srv, Method::GET, &setting(&env, "to-logs"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("diag_not_found", err);
}

#[tokio::test]
async fn validation_errors_are_flat() {
    let srv = TestServer::start().await;
    let env = defaults::environment_id();
    let bad_ws = format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/missing",
        defaults::resource_group_id()
    );
    let cases = vec![
        (
            json!({"properties": {"workspaceId": defaults::workspace_id(), "logs": [{"category": "AppEnvSessionPoolEvents", "enabled": true}]}}),
            "properties.logs[0].category",
        ),
        (
            json!({"properties": {"workspaceId": bad_ws, "logs": []}}),
            "properties.workspaceId",
        ),
        (
            json!({"properties": {"workspaceId": defaults::workspace_id(), "logAnalyticsDestinationType": "AzureDiagnostics"}}),
            "logAnalyticsDestinationType",
        ),
        (
            json!({"properties": {"logs": [{"category": "ContainerAppConsoleLogs", "enabled": true}]}}),
            "destination",
        ),
        (json!({"properties": 3}), "properties"),
        (json!([]), "object"),
    ];
    for (body, needle) in cases {
        let (s, _, err) = call(&srv, Method::PUT, &setting(&env, "x"), Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["code"], "BadRequest", "{err}");
        assert!(err.get("error").is_none(), "flat shape expected: {err}");
        assert!(
            err["message"].as_str().is_some_and(|m| m.contains(needle)),
            "{needle}: {err}"
        );
    }
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &setting(&env, "x").replace(API, "2015-01-01"),
        Some(env_body()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("diag_bad_api_version", err);
    let missing = format!(
        "{}/providers/Microsoft.App/managedEnvironments/nope",
        defaults::resource_group_id()
    );
    let (s, _, err) = call(&srv, Method::PUT, &setting(&missing, "x"), Some(env_body())).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "ResourceNotFound");
}

#[tokio::test]
async fn limits_duplicate_sinks_and_parent_deletion() {
    let srv = TestServer::start().await;
    let env = defaults::environment_id();
    let (s, _, _) = call(&srv, Method::PUT, &setting(&env, "first"), Some(env_body())).await;
    assert_eq!(s, StatusCode::OK);
    // Same workspace, same enabled category in another setting.
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &setting(&env, "second"),
        Some(env_body()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(err["message"]
        .as_str()
        .is_some_and(|m| m.contains("already used")));
    // Fill up to five with distinct categories, the sixth is refused.
    let cats = [
        "ContainerAppConsoleLogs",
        "ContainerAppSystemLogs",
        "AppEnvSpringAppConsoleLogs",
        "AppEnvSessionPoolEventLogs",
    ];
    for (i, c) in cats.iter().enumerate() {
        let body = json!({"properties": {"workspaceId": defaults::workspace_id(), "logs": [{"category": c, "enabled": true}]}});
        let (s, _, err) = call(
            &srv,
            Method::PUT,
            &setting(&env, &format!("s{i}")),
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{err}");
    }
    let body = json!({"properties": {"workspaceId": defaults::workspace_id(), "logs": [{"categoryGroup": "allLogs", "enabled": false}]}});
    let (s, _, err) = call(&srv, Method::PUT, &setting(&env, "sixth"), Some(body)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(err["message"]
        .as_str()
        .is_some_and(|m| m.contains("more than 5")));
    // Deleting the environment removes its settings.
    let env_path = format!("{env}?api-version=2026-07-01");
    let (s, _, _) = call(&srv, Method::DELETE, &env_path, None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let recs = srv
        .state
        .store()
        .descendants(&sessions_runtime::id::ResourceId::parse(&env).expect("id"))
        .await
        .expect("descendants");
    assert!(recs.is_empty());
}

#[tokio::test]
async fn workspace_setting_and_unsupported_types() {
    let srv = TestServer::start().await;
    let ws = defaults::workspace_id();
    let body = json!({"properties": {"workspaceId": ws, "logs": [{"category": "Audit", "enabled": true}]}});
    let (s, _, _) = call(&srv, Method::PUT, &setting(&ws, "audit"), Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    let rg = defaults::resource_group_id();
    let (s, _, err) = call(&srv, Method::PUT, &setting(&rg, "x"), Some(env_body())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(err["message"]
        .as_str()
        .is_some_and(|m| m.contains("does not support diagnostic settings")));
    let (s, _, _) = call(&srv, Method::POST, &setting(&ws, "audit"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}
