//! In-process tests of the ARM foundation: subscriptions, resource groups, managed
//! environments, workspaces, operations, api-version and body errors, case-insensitive paths,
//! paging and the ARM headers. Bodies are snapshotted with times, GUIDs and the endpoint
//! redacted.

use crate::support::arm::{call, call_raw, path_of, redact};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

const RG_API: &str = "2021-04-01";
const ENV_API: &str = "2026-07-01";
const WS_API: &str = "2023-09-01";

fn sub() -> String {
    format!("/subscriptions/{}", defaults::SUBSCRIPTION_ID)
}

fn rg_path(rg: &str) -> String {
    format!("{}/resourceGroups/{rg}?api-version={RG_API}", sub())
}

fn env_path(rg: &str, name: &str) -> String {
    format!("{}/resourceGroups/{rg}/providers/Microsoft.App/managedEnvironments/{name}?api-version={ENV_API}", sub())
}

fn ws_path(rg: &str, name: &str) -> String {
    format!("{}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}?api-version={WS_API}", sub())
}

#[tokio::test]
async fn seeded_defaults_exist() {
    let srv = TestServer::start().await;
    let (s, h, rg) = call(&srv, Method::GET, &rg_path(defaults::RESOURCE_GROUP), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.contains_key("x-ms-request-id"));
    assert!(h.contains_key("x-ms-correlation-request-id"));
    assert_eq!(rg["id"], defaults::resource_group_id());
    let (s, _, env) = call(
        &srv,
        Method::GET,
        &env_path(defaults::RESOURCE_GROUP, defaults::ENVIRONMENT),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(env["id"], defaults::environment_id());
    let (s, _, ws) = call(
        &srv,
        Method::GET,
        &ws_path(defaults::RESOURCE_GROUP, defaults::WORKSPACE),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        ws["properties"]["customerId"],
        defaults::WORKSPACE_CUSTOMER_ID
    );
    insta::assert_json_snapshot!("seeded_environment", redact(&env, &srv.endpoint));
    insta::assert_json_snapshot!("seeded_workspace", redact(&ws, &srv.endpoint));
}

#[tokio::test]
async fn subscriptions_get_and_list() {
    let srv = TestServer::start().await;
    let (s, _, list) = call(
        &srv,
        Method::GET,
        "/subscriptions?api-version=2022-12-01",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        list["value"][0]["subscriptionId"],
        defaults::SUBSCRIPTION_ID
    );
    let (s, _, one) = call(
        &srv,
        Method::GET,
        &format!("{}?api-version=2022-12-01", sub()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    insta::assert_json_snapshot!("subscription", one);
    let (s, _, err) = call(
        &srv,
        Method::GET,
        "/subscriptions/11111111-1111-1111-1111-111111111111?api-version=2022-12-01",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "SubscriptionNotFound");
}

#[tokio::test]
async fn resource_group_lifecycle() {
    let srv = TestServer::start().await;
    let body = json!({"location": "West Europe", "tags": {"team": "a"}});
    let (s, _, created) = call(&srv, Method::PUT, &rg_path("MyGroup"), Some(body.clone())).await;
    assert_eq!(s, StatusCode::CREATED);
    insta::assert_json_snapshot!("resource_group_created", created);
    let (s, _, _) = call(&srv, Method::PUT, &rg_path("MyGroup"), Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    // Case-insensitive path and name; canonical id echoed.
    let lower = format!(
        "/SUBSCRIPTIONS/{}/resourcegroups/mygroup?api-version={RG_API}",
        defaults::SUBSCRIPTION_ID
    );
    let (s, _, got) = call(&srv, Method::GET, &lower, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["id"], format!("{}/resourceGroups/MyGroup", sub()));
    // Location change is refused.
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &rg_path("mygroup"),
        Some(json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "InvalidResourceGroupLocation");
    // HEAD.
    let resp = srv
        .arm(Method::HEAD, &rg_path("MyGroup"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // A child, then DELETE: 202 + Location; the operation result is 204; children are gone.
    let (s, _, _) = call(
        &srv,
        Method::PUT,
        &env_path("MyGroup", "child-env"),
        Some(json!({"location": "westeurope"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, h, _) = call(&srv, Method::DELETE, &rg_path("MyGroup"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(h["retry-after"], "1");
    let location = h["location"].to_str().expect("location").to_string();
    assert!(location.contains("/operationResults/"), "{location}");
    assert!(h.contains_key("azure-asyncoperation"));
    // Deletes are long-running (issue 12): the result answers 202 until it is done, then 204.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (s, _, _) = call(&srv, Method::GET, &path_of(&location, &srv), None).await;
        if s == StatusCode::NO_CONTENT {
            break;
        }
        assert_eq!(s, StatusCode::ACCEPTED);
        assert!(
            std::time::Instant::now() < deadline,
            "the delete never finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (s, _, err) = call(&srv, Method::GET, &rg_path("MyGroup"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("resource_group_not_found", err);
    let (s, _, err) = call(&srv, Method::GET, &env_path("MyGroup", "child-env"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "ResourceGroupNotFound");
    let (s, _, _) = call(&srv, Method::DELETE, &rg_path("MyGroup"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let resp = srv
        .arm(Method::HEAD, &rg_path("MyGroup"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn resource_group_list_pages_with_next_link() {
    let srv = TestServer::start().await;
    for n in ["rg-a", "rg-b"] {
        let (s, _, _) = call(
            &srv,
            Method::PUT,
            &rg_path(n),
            Some(json!({"location": "eastus"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let mut path = format!("{}/resourcegroups?api-version={RG_API}&$top=1", sub());
    let mut names = Vec::new();
    for _ in 0..10 {
        let (s, _, page) = call(&srv, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK);
        let value = page["value"].as_array().expect("value");
        assert!(value.len() <= 1);
        names.extend(
            value
                .iter()
                .map(|v| v["name"].as_str().unwrap_or_default().to_string()),
        );
        match page["nextLink"].as_str() {
            Some(next) => path = path_of(next, &srv),
            None => break,
        }
    }
    assert_eq!(names, vec!["rg-a", "rg-b", defaults::RESOURCE_GROUP]);
    let (s, _, err) = call(
        &srv,
        Method::GET,
        &format!(
            "{}/resourceGroups?api-version={RG_API}&$skiptoken=%%%",
            sub()
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");
}

#[tokio::test]
async fn resource_group_validation_errors() {
    let srv = TestServer::start().await;
    let (s, err) = call_raw(&srv, Method::PUT, &rg_path("bad-json"), "{\"location\":").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "InvalidRequestContent");
    let (s, err) = call_raw(&srv, Method::PUT, &rg_path("arr"), "[1,2]").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "InvalidRequestContent");
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &rg_path("noloc"),
        Some(json!({"tags": {}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("location_required", err);
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &rg_path("tags"),
        Some(json!({"location": "eastus", "tags": {"a": 1}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["target"], "tags.a");
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &rg_path("bad."),
        Some(json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "InvalidResourceGroupName");
}

#[tokio::test]
async fn api_version_missing_or_unknown() {
    let srv = TestServer::start().await;
    let (s, h, err) = call(
        &srv,
        Method::GET,
        &format!("{}/resourceGroups/x", sub()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(h.contains_key("x-ms-request-id"));
    insta::assert_json_snapshot!("missing_api_version", err);
    let (s, _, err) = call(
        &srv,
        Method::GET,
        &env_path(defaults::RESOURCE_GROUP, defaults::ENVIRONMENT).replace(ENV_API, "2019-01-01"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "InvalidApiVersionParameter");
    assert!(err["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("2026-07-01")));
    let (s, _, _) = call(
        &srv,
        Method::GET,
        &ws_path(defaults::RESOURCE_GROUP, defaults::WORKSPACE).replace(WS_API, "2026-07-01"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn environment_lifecycle_with_lro_headers() {
    let srv = TestServer::start().await;
    let rg = defaults::RESOURCE_GROUP;
    let body = json!({"Location": "eastus", "tags": {"k": "v"}, "properties": {"defaultDomain": "ignored", "appLogsConfiguration": {"destination": null}}});
    let (s, h, created) = call(
        &srv,
        Method::PUT,
        &env_path(rg, "my-env"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    assert_ne!(created["properties"]["defaultDomain"], "ignored");
    insta::assert_json_snapshot!("environment_created", redact(&created, &srv.endpoint));
    let async_op = h["azure-asyncoperation"]
        .to_str()
        .expect("header")
        .to_string();
    assert!(
        async_op.contains("/providers/Microsoft.App/locations/eastus/operationStatuses/"),
        "{async_op}"
    );
    assert!(async_op.ends_with(&format!("?api-version={ENV_API}")));
    assert!(h["location"]
        .to_str()
        .expect("header")
        .contains("/operationResults/"));
    assert_eq!(h["retry-after"], "1");
    let (s, _, status) = call(&srv, Method::GET, &path_of(&async_op, &srv), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(status["status"], "Succeeded");
    insta::assert_json_snapshot!("operation_status", redact(&status, &srv.endpoint));
    // Update keeps the domain; case-insensitive provider namespace and type.
    let (s, _, updated) = call(
        &srv,
        Method::PUT,
        &env_path(rg, "my-env").replace(
            "Microsoft.App/managedEnvironments",
            "microsoft.app/MANAGEDENVIRONMENTS",
        ),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        updated["properties"]["defaultDomain"],
        created["properties"]["defaultDomain"]
    );
    assert_eq!(updated["id"], created["id"]);
    // PATCH tags.
    let (s, _, patched) = call(
        &srv,
        Method::PATCH,
        &env_path(rg, "my-env"),
        Some(json!({"tags": {"n": "m"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(patched["tags"], json!({"n": "m"}));
    // Lists.
    let (s, _, by_rg) = call(&srv, Method::GET, &format!("{}/resourceGroups/{rg}/providers/Microsoft.App/managedEnvironments?api-version={ENV_API}", sub()), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_rg["value"].as_array().map(Vec::len), Some(2));
    let (s, _, by_sub) = call(
        &srv,
        Method::GET,
        &format!(
            "{}/providers/Microsoft.App/managedEnvironments?api-version={ENV_API}",
            sub()
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_sub["value"].as_array().map(Vec::len), Some(2));
    // Delete: 202 + Location, then 404, then 204.
    let (s, h, _) = call(&srv, Method::DELETE, &env_path(rg, "my-env"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert!(h.contains_key("location"));
    let (s, _, err) = call(&srv, Method::GET, &env_path(rg, "my-env"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("environment_not_found", err);
    let (s, _, _) = call(&srv, Method::DELETE, &env_path(rg, "my-env"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn environment_errors() {
    let srv = TestServer::start().await;
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &env_path("no-such-rg", "e1"),
        Some(json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "ResourceGroupNotFound");
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &env_path(defaults::RESOURCE_GROUP, "Bad_Name"),
        Some(json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["target"], "name");
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &env_path(defaults::RESOURCE_GROUP, "e2"),
        Some(json!({"location": "eastus", "properties": 5})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["target"], "properties");
    let (s, _, err) = call(
        &srv,
        Method::PUT,
        &env_path(defaults::RESOURCE_GROUP, defaults::ENVIRONMENT),
        Some(json!({"location": "westus"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "InvalidResourceLocation");
}

#[tokio::test]
async fn workspace_lifecycle() {
    let srv = TestServer::start().await;
    let rg = defaults::RESOURCE_GROUP;
    let (s, h, created) = call(&srv, Method::PUT, &ws_path(rg, "my-logs"), Some(json!({"location": "eastus", "properties": {"customerId": "nope", "retentionInDays": 60}}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(!h.contains_key("azure-asyncoperation"));
    let customer = created["properties"]["customerId"]
        .as_str()
        .expect("customerId");
    assert!(uuid::Uuid::parse_str(customer).is_ok());
    assert_eq!(created["properties"]["retentionInDays"], 60);
    insta::assert_json_snapshot!("workspace_created", redact(&created, &srv.endpoint));
    let (s, _, list) = call(
        &srv,
        Method::GET,
        &format!(
            "{}/providers/Microsoft.OperationalInsights/workspaces?api-version={WS_API}",
            sub()
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["value"].as_array().map(Vec::len), Some(2));
    let (s, _, _) = call(&srv, Method::DELETE, &ws_path(rg, "my-logs"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(&srv, Method::DELETE, &ws_path(rg, "my-logs"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn operations_unknown_and_results() {
    let srv = TestServer::start().await;
    let path = format!(
        "{}/providers/Microsoft.App/locations/eastus/operationStatuses/nope?api-version={ENV_API}",
        sub()
    );
    let (s, _, err) = call(&srv, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "OperationNotFound");
    let (s, _, err) = call(
        &srv,
        Method::GET,
        &path.replace(&format!("?api-version={ENV_API}"), ""),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "MissingApiVersionParameter");
    // An operation driven through the API: in progress, then failed.
    let rid = sessions_runtime::id::ResourceId::parse(&defaults::environment_id()).expect("id");
    let op = sessions_emulator::arm::operations::begin(&srv.state, &rid, "East US", "Update")
        .await
        .expect("begin");
    let results = format!(
        "{}/providers/Microsoft.App/locations/eastus/operationResults/{}?api-version={ENV_API}",
        sub(),
        op.id
    );
    let (s, h, _) = call(&srv, Method::GET, &results, None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(h["retry-after"], "1");
    let err = sessions_emulator::arm::ArmError::validation(
        "SessionPoolInvalidReadySessionInstances",
        "properties.scaleConfiguration.readySessionInstances",
        "too many",
    );
    sessions_emulator::arm::operations::fail(&srv.state, &op.id, &err)
        .await
        .expect("fail");
    let (s, _, status) = call(
        &srv,
        Method::GET,
        &results.replace("operationResults", "operationStatuses"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(status["status"], "Failed");
    insta::assert_json_snapshot!("operation_failed", redact(&status, &srv.endpoint));
    let (s, _, body) = call(&srv, Method::GET, &results, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["code"],
        "SessionPoolInvalidReadySessionInstances"
    );
}

#[tokio::test]
async fn correlation_id_is_echoed() {
    let srv = TestServer::start().await;
    let resp = srv
        .arm(Method::GET, &rg_path(defaults::RESOURCE_GROUP))
        .header("x-ms-correlation-request-id", "corr-1")
        .header("x-ms-client-request-id", "client-1")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.headers()["x-ms-correlation-request-id"], "corr-1");
    assert_eq!(resp.headers()["x-ms-client-request-id"], "client-1");
    assert!(resp.headers().contains_key("x-ms-request-id"));
}

#[tokio::test]
async fn deleting_a_resource_group_stops_its_session_pools() {
    let srv = TestServer::start().await;
    let (s, _, _) = call(
        &srv,
        Method::PUT,
        &rg_path("pools-rg"),
        Some(json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let pool = format!(
        "{}/resourceGroups/pools-rg/providers/Microsoft.App/sessionPools/rgpool",
        sub()
    );
    let body = json!({
        "location": "eastus",
        "properties": {
            "environmentId": defaults::environment_id(),
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {
                "containers": [{"image": "localhost/app:v1", "name": "app", "resources": {"cpu": 0.5, "memory": "1Gi"}}],
                "ingress": {"targetPort": 8080}
            }
        }
    });
    let (s, _, created) = call(
        &srv,
        Method::PUT,
        &format!("{pool}?api-version=2026-07-01"),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (s, _, _) = call(&srv, Method::DELETE, &rg_path("pools-rg"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // The group and its pool read `Deleting` while the pool's sessions stop (issue 12), then 404.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (s, _, body) = call(
            &srv,
            Method::GET,
            &format!("{pool}?api-version=2026-07-01"),
            None,
        )
        .await;
        if s == StatusCode::NOT_FOUND {
            break;
        }
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            body["properties"]["provisioningState"], "Deleting",
            "{body}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the pool was never deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (s, _, _) = call(&srv, Method::GET, &rg_path("pools-rg"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let pool_id = sessions_runtime::id::ResourceId::parse(&pool).expect("pool id");
    while srv.state.pools().get(&pool_id).is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the pool's actor is still there 20 s after the resource group was deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn wrong_method_is_an_arm_405() {
    let srv = TestServer::start().await;
    let (s, h, err) = call(
        &srv,
        Method::POST,
        &rg_path(defaults::RESOURCE_GROUP),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(err["error"]["code"], "MethodNotAllowed");
    assert!(h.contains_key("x-ms-request-id"));
}
