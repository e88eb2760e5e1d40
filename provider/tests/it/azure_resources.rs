//! The Terraform types driven through their traits (no gRPC) against `wiremock` standing in for
//! ARM and a pool's data plane: session pool create/read/update/delete/import, the
//! "already exists" guard, drift on 404, diagnostic settings, the data sources (all pages of
//! listSessions) and the stop_session action's progress.

use std::sync::Arc;

use serde_json::{json, Value as Json};
use terraform_provider_azuresessions::actions::stop_session::StopSessionAction;
use terraform_provider_azuresessions::azure::auth::StaticToken;
use terraform_provider_azuresessions::azure::config::ProviderSettings;
use terraform_provider_azuresessions::data_sources::session_pool::SessionPoolDataSource;
use terraform_provider_azuresessions::data_sources::sessions::SessionsDataSource;
use terraform_provider_azuresessions::plugin::context::ClientCapabilities;
use terraform_provider_azuresessions::plugin::prelude::*;
use terraform_provider_azuresessions::plugin::ProviderState;
use terraform_provider_azuresessions::resources::diagnostic_setting::DiagnosticSettingResource;
use terraform_provider_azuresessions::resources::session_pool::SessionPoolResource;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SUB: &str = "00000000-0000-4000-8000-000000000001";
const POOL: &str = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.App/sessionPools/pool1";
const ENV: &str = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/env";

fn ctx(server: &MockServer) -> Ctx {
    let clients = ProviderSettings::with_tokens(
        SUB.into(),
        &server.uri(),
        reqwest::Client::new(),
        Arc::new(StaticToken("tok".into())),
    )
    .unwrap();
    let state = ProviderState::new();
    state.set_data(Arc::new(clients));
    Ctx::new(state, ClientCapabilities::default())
}

fn list(v: Vec<Value>) -> Value {
    Value::List(v)
}

fn config() -> Value {
    Value::object([
        ("name", Value::from("pool1")),
        ("resource_group_name", Value::from("rg")),
        ("location", Value::from("eastus")),
        ("container_app_environment_id", Value::from(ENV)),
        ("container_type", Value::from("CustomContainer")),
        ("pool_management_type", Value::from("Dynamic")),
        ("max_concurrent_sessions", Value::from(5i64)),
        ("ready_session_instances", Value::from(1i64)),
        ("lifecycle_type", Value::from("Timed")),
        ("cooldown_period_in_seconds", Value::from(300i64)),
        (
            "secret",
            list(vec![Value::object([
                ("name", Value::from("pw")),
                ("value", Value::Null),
                ("value_wo", Value::from("s3cret")),
                ("value_wo_version", Value::from(1i64)),
            ])]),
        ),
        (
            "custom_container_template",
            list(vec![Value::object([
                ("ingress_target_port", Value::from(8080i64)),
                (
                    "container",
                    list(vec![Value::object([
                        ("name", Value::from("main")),
                        ("image", Value::from("localhost/sample-session:latest")),
                        ("cpu", Value::from(0.25)),
                        ("memory", Value::from("0.5Gi")),
                        ("command", Value::Null),
                        ("args", Value::Null),
                        ("env", list(vec![])),
                        (
                            "probe",
                            list(vec![Value::object([
                                ("type", Value::from("Liveness")),
                                (
                                    "http_get",
                                    list(vec![Value::object([
                                        ("path", Value::from("/health")),
                                        ("port", Value::from(8080i64)),
                                        ("scheme", Value::Null),
                                        ("host", Value::Null),
                                        ("http_header", list(vec![])),
                                    ])]),
                                ),
                                ("tcp_socket", list(vec![])),
                                ("period_seconds", Value::from(10i64)),
                            ])]),
                        ),
                    ])]),
                ),
                ("registry", list(vec![])),
            ])]),
        ),
        ("identity", list(vec![])),
        ("managed_identity_setting", list(vec![])),
    ])
}

/// What the service answers: the request echoed plus read-only fields and defaults.
fn remote() -> Json {
    json!({
        "id": POOL, "name": "pool1", "type": "Microsoft.App/sessionPools", "location": "East US",
        "properties": {
            "environmentId": ENV.to_lowercase(), "containerType": "CustomContainer", "poolManagementType": "Dynamic",
            "scaleConfiguration": {"maxConcurrentSessions": 5, "readySessionInstances": 1},
            "secrets": [{"name": "pw"}],
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {
                "containers": [{"name": "main", "image": "localhost/sample-session:latest",
                    "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                    "probes": [{"type": "Liveness", "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
                                "periodSeconds": 10, "failureThreshold": 3, "successThreshold": 1, "timeoutSeconds": 1}]}],
                "ingress": {"targetPort": 8080}},
            "sessionNetworkConfiguration": {"status": "EgressDisabled"},
            "provisioningState": "Succeeded", "nodeCount": 1,
            "poolManagementEndpoint": "https://pool1.example"
        }
    })
}

async fn plan_create(r: &SessionPoolResource, c: &Ctx) -> Value {
    let cfg = config();
    r.plan(
        c,
        PlanRequest {
            prior_state: Value::Null,
            proposed_new_state: cfg.clone(),
            config: cfg,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .planned_state
}

#[tokio::test]
async fn session_pool_lifecycle() {
    let server = MockServer::start().await;
    let c = ctx(&server);
    let r = SessionPoolResource;
    // Create: GET 404, PUT (write-only secret value sent), poll, final GET.
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error":{"code":"ResourceNotFound","message":"no"}})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(POOL))
        .and(query_param("api-version", "2026-07-01"))
        .and(header("authorization", "Bearer tok"))
        .and(body_partial_json(
            json!({"properties":{"secrets":[{"name":"pw","value":"s3cret"}],
            "sessionNetworkConfiguration":{"status":"EgressDisabled"}}}),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header(
                    "Azure-AsyncOperation",
                    "/subscriptions/x/operationStatuses/op?api-version=2026-07-01",
                )
                .insert_header("Retry-After", "0"),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/subscriptions/x/operationStatuses/op"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status":"Succeeded"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(remote()))
        .mount(&server)
        .await;

    let planned = plan_create(&r, &c).await;
    assert!(planned.get("id").is_unknown());
    let created = r
        .create(
            &c,
            CreateRequest {
                planned_state: planned.clone(),
                config: config(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .new_state;
    assert!(created.is_wholly_known(), "{created:?}");
    assert_eq!(created.get("id"), &Value::from(POOL));
    assert_eq!(
        created.get("pool_management_endpoint"),
        &Value::from("https://pool1.example")
    );
    assert_eq!(
        created.get("location"),
        &Value::from("eastus"),
        "spelling kept"
    );
    assert_eq!(
        created.get("container_app_environment_id"),
        &Value::from(ENV),
        "id case kept"
    );

    // Read: no diff (service defaults stay null, prior spelling kept).
    let read = r
        .read(
            &c,
            ReadRequest {
                current_state: created.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .new_state;
    assert_eq!(read, created);
    let second = r
        .plan(
            &c,
            PlanRequest {
                prior_state: read.clone(),
                proposed_new_state: read.clone(),
                config: config(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.planned_state, read, "second plan is empty");
    assert!(second.requires_replace.is_empty());

    // Update: a full PUT again.
    let mut changed = read.clone();
    changed.set_attr("max_concurrent_sessions", Value::from(6i64));
    let planned = r
        .plan(
            &c,
            PlanRequest {
                prior_state: read.clone(),
                proposed_new_state: changed.clone(),
                config: config(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(planned.requires_replace.is_empty());
    r.update(
        &c,
        UpdateRequest {
            prior_state: read.clone(),
            planned_state: planned.planned_state,
            config: config(),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // Import by id then read fills the whole state.
    let imported = r.import(&c, POOL).await.unwrap().state;
    let full = r
        .read(
            &c,
            ReadRequest {
                current_state: imported,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .new_state;
    assert_eq!(full.get("name"), &Value::from("pool1"));
    assert_eq!(full.get("max_concurrent_sessions"), &Value::from(5i64));
    let probe = full.get("custom_container_template").as_list().unwrap()[0]
        .get("container")
        .as_list()
        .unwrap()[0]
        .get("probe")
        .as_list()
        .unwrap()[0]
        .clone();
    // The service's default is read as the documented default (it used to stay null, so a
    // configuration that spelled it out planned a change right after an import).
    assert_eq!(
        probe.get("failure_threshold"),
        &Value::from(3i64),
        "service default imported as its documented value"
    );
    assert!(r.import(&c, "pool1").await.is_err());
}

#[tokio::test]
async fn create_refuses_existing_pool_and_read_detects_deletion() {
    let server = MockServer::start().await;
    let c = ctx(&server);
    let r = SessionPoolResource;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(remote()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error":{"code":"ResourceNotFound","message":"gone"}})),
        )
        .mount(&server)
        .await;
    let planned = plan_create(&r, &c).await;
    let e = r
        .create(
            &c,
            CreateRequest {
                planned_state: planned,
                config: config(),
                ..Default::default()
            },
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("already exists") && e.contains("terraform import"),
        "{e}"
    );
    let mut state = config();
    state.set_attr("id", Value::from(POOL));
    let gone = r
        .read(
            &c,
            ReadRequest {
                current_state: state,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(gone.new_state.is_null());
}

#[tokio::test]
async fn service_errors_become_diagnostics_with_paths() {
    let server = MockServer::start().await;
    let c = ctx(&server);
    let r = SessionPoolResource;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error":{"code":"ResourceNotFound","message":"no"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error":{
            "code":"SessionPoolInvalidReadySessionInstances","message":"ready must be below max",
            "target":"properties.scaleConfiguration.readySessionInstances"}})))
        .mount(&server)
        .await;
    let planned = plan_create(&r, &c).await;
    let d = r
        .create(
            &c,
            CreateRequest {
                planned_state: planned,
                config: config(),
                ..Default::default()
            },
        )
        .await
        .err()
        .unwrap();
    let d = d.iter().next().unwrap();
    assert_eq!(d.path, Some(AttributePath::attr("ready_session_instances")));
    assert!(
        d.detail.contains("SessionPoolInvalidReadySessionInstances") && d.detail.contains("400"),
        "{}",
        d.detail
    );
}

#[tokio::test]
async fn delete_waits_for_404() {
    let server = MockServer::start().await;
    let c = ctx(&server);
    Mock::given(method("DELETE"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(202).insert_header("Retry-After", "0"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let mut state = config();
    state.set_attr("id", Value::from(POOL));
    SessionPoolResource
        .delete(
            &c,
            DeleteRequest {
                prior_state: state,
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn diagnostic_setting_create_read_import() {
    let server = MockServer::start().await;
    let c = ctx(&server);
    let r = DiagnosticSettingResource;
    let ws =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w";
    let setting = format!("{ENV}/providers/Microsoft.Insights/diagnosticSettings/diag");
    Mock::given(method("GET"))
        .and(path(setting.as_str()))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code":"ResourceNotFound","message":"no"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let answer = json!({"id": setting, "name": "diag", "properties": {"workspaceId": ws.to_lowercase(),
        "logAnalyticsDestinationType": "Dedicated",
        "logs": [{"category": "AppEnvSessionConsoleLogs", "enabled": true, "retentionPolicy": {"enabled": false, "days": 0}}],
        "metrics": []}});
    Mock::given(method("PUT"))
        .and(path(setting.as_str()))
        .and(query_param("api-version", "2021-05-01-preview"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(setting.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let cfg = Value::object([
        ("name", Value::from("diag")),
        ("target_resource_id", Value::from(ENV)),
        ("log_analytics_workspace_id", Value::from(ws)),
        ("log_analytics_destination_type", Value::from("Dedicated")),
        (
            "enabled_log",
            Value::Set(vec![Value::object([
                ("category", Value::from("AppEnvSessionConsoleLogs")),
                ("category_group", Value::Null),
            ])]),
        ),
        ("enabled_metric", Value::Set(vec![])),
        ("timeouts", Value::Null),
    ]);
    r.validate(&c, &cfg).await.unwrap();
    let planned = r
        .plan(
            &c,
            PlanRequest {
                prior_state: Value::Null,
                proposed_new_state: cfg.clone(),
                config: cfg.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .planned_state;
    let state = r
        .create(
            &c,
            CreateRequest {
                planned_state: planned,
                config: cfg,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .new_state;
    assert_eq!(state.get("id"), &Value::from(format!("{ENV}|diag")));
    assert_eq!(state.get("log_analytics_workspace_id"), &Value::from(ws));
    let read = r
        .read(
            &c,
            ReadRequest {
                current_state: state.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .new_state;
    assert_eq!(read, state);
    let imported = r.import(&c, &format!("{ENV}|diag")).await.unwrap().state;
    let full = r
        .read(
            &c,
            ReadRequest {
                current_state: imported,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .new_state;
    assert_eq!(full.get("enabled_log"), state.get("enabled_log"));
}

#[tokio::test]
async fn data_sources_read_pool_and_all_session_pages() {
    let server = MockServer::start().await;
    let c = ctx(&server);
    let ep = format!("{}/pools/pool1", server.uri());
    let mut pool = remote();
    pool["properties"]["poolManagementEndpoint"] = json!(ep);
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/pools/pool1/.management/listSessions"))
        .and(query_param("skip", "300"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value":[{"identifier":"s3","etag":"e","expiresAt":"2030-01-01T00:00:00Z"}],"count":1,"nextLink":null})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/pools/pool1/.management/listSessions"))
        .and(query_param("skip", "0"))
        .and(query_param("api-version", "2025-02-02-preview"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value":[{"identifier":"s1","etag":"e","expiresAt":"x"},{"identifier":"s2","etag":"e","expiresAt":"x"}],
            "count":2,"nextLink": format!("{ep}/.management/listSessions?skip=300&api-version=2025-02-02-preview")})))
        .mount(&server)
        .await;

    let ds = SessionPoolDataSource;
    let cfg = Value::object([
        ("name", Value::from("pool1")),
        ("resource_group_name", Value::from("rg")),
        ("id", Value::Null),
    ]);
    ds.validate(&c, &cfg).await.unwrap();
    let got = ds.read(&c, cfg).await.unwrap();
    assert_eq!(
        got.get("pool_management_endpoint"),
        &Value::from(ep.as_str())
    );
    assert!(got.get("secret").is_null());

    let sessions = SessionsDataSource;
    let cfg = Value::object([
        ("session_pool_id", Value::from(POOL)),
        ("pool_management_endpoint", Value::Null),
    ]);
    let got = sessions.read(&c, cfg).await.unwrap();
    let ids: Vec<&str> = got
        .get("sessions")
        .as_list()
        .unwrap()
        .iter()
        .filter_map(|s| s.get("identifier").as_str())
        .collect();
    assert_eq!(ids, vec!["s1", "s2", "s3"]);
}

#[tokio::test]
async fn stop_session_action_reports_progress() {
    let server = MockServer::start().await;
    let c = ctx(&server);
    let ep = format!("{}/pools/pool1", server.uri());
    Mock::given(method("POST"))
        .and(path("/pools/pool1/.management/stopSession"))
        .and(query_param("identifier", "user-42"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("Session user-42 in session pool pool1 stopped."),
        )
        .expect(1)
        .mount(&server)
        .await;
    let a = StopSessionAction;
    let cfg = Value::object([
        ("pool_management_endpoint", Value::from(ep.as_str())),
        ("session_pool_id", Value::Null),
        ("identifier", Value::from("user-42")),
    ]);
    a.plan(&c, &cfg).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    a.invoke(&c, cfg.clone(), &Progress::new(tx)).await.unwrap();
    let mut msgs = Vec::new();
    while let Ok(m) = rx.try_recv() {
        msgs.push(m);
    }
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[1].contains("stopped"), "{msgs:?}");

    let mut bad = cfg;
    bad.set_attr("identifier", Value::from("a b"));
    let d = a.plan(&c, &bad).await.err().unwrap();
    assert_eq!(
        d.iter().next().unwrap().path,
        Some(AttributePath::attr("identifier"))
    );
}
