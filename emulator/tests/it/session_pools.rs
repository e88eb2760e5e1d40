//! In-process router tests of `Microsoft.App/sessionPools`: every operation, status code,
//! LRO header and error, with `insta` snapshots of normalised bodies.

use crate::support::pools::*;
use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::arm::session_pools::stored::StoredPool;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

#[tokio::test]
async fn create_answers_201_in_progress_with_lro_headers_then_succeeds() {
    let srv = TestServer::start().await;
    let resp = send(
        &srv,
        Method::PUT,
        &at(&pool_path("pool1"), V),
        Some(&valid_pool()),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let headers = lro_headers(&srv, &resp);
    insta::assert_json_snapshot!("create_headers", headers);
    let op_url = resp.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["properties"]["provisioningState"], "InProgress");
    insta::assert_json_snapshot!("create_body", normalise(&srv, &body));

    let op_path = op_url.strip_prefix(&srv.endpoint).unwrap().to_string();
    let (_, op) = poll_until(&srv, &op_path, |s, b| {
        s == 200 && b["status"] == "Succeeded"
    })
    .await;
    insta::assert_json_snapshot!("create_operation", normalise(&srv, &op));

    let got = wait_succeeded(&srv, "pool1").await;
    assert!(got["properties"]["nodeCount"]
        .as_i64()
        .is_some_and(|n| n >= 0));
    // Issue 12: the endpoint is an origin of its own (a port of its own on the emulator's
    // address), no longer `{endpoint}/pools/{sub}/{rg}/{pool}` (which stays an alias).
    let ep = got["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("endpoint");
    let pool_id = sessions_runtime::id::ResourceId::parse(got["id"].as_str().unwrap()).unwrap();
    assert_eq!(Some(ep.to_string()), srv.state.origins().url(&pool_id));
    assert!(
        ep.starts_with("http://127.0.0.1:") && ep != srv.endpoint,
        "{ep}"
    );
    assert_eq!(
        got["identity"]["principalId"],
        body["identity"]["principalId"]
    );
    assert_eq!(got["identity"]["tenantId"], defaults::TENANT_ID);
    assert_eq!(got["systemData"]["createdByType"], "Application");
    assert!(
        !got.to_string().contains("hunter2"),
        "secret values are never returned"
    );
}

#[tokio::test]
async fn get_of_a_missing_pool_is_404_resource_not_found() {
    let srv = TestServer::start().await;
    let (status, body) = call(&srv, Method::GET, &at(&pool_path("nopool"), V), None).await;
    assert_eq!(status, 404);
    insta::assert_json_snapshot!("get_missing", body);
    let path = format!("/subscriptions/{}/resourceGroups/nogroup/providers/Microsoft.App/sessionPools/nopool?api-version={V}", defaults::SUBSCRIPTION_ID);
    let (status, body) = call(&srv, Method::GET, &path, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("ResourceGroupNotFound"))
    );
}

#[tokio::test]
async fn put_into_a_missing_resource_group_is_404() {
    let srv = TestServer::start().await;
    let path = format!("/subscriptions/{}/resourceGroups/nogroup/providers/Microsoft.App/sessionPools/pool1?api-version={V}", defaults::SUBSCRIPTION_ID);
    let (status, body) = call(&srv, Method::PUT, &path, Some(&valid_pool())).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("ResourceGroupNotFound"))
    );
}

#[tokio::test]
async fn update_put_answers_200_and_keeps_identity_and_creation() {
    let srv = TestServer::start().await;
    let first = create(&srv, "pool1", &valid_pool()).await;
    let mut body = valid_pool();
    body["properties"]["scaleConfiguration"]["maxConcurrentSessions"] = json!(20);
    // A secret sent without value keeps its stored value.
    body["properties"]["secrets"] = json!([{"name": "registry-password"}]);
    let resp = send(&srv, Method::PUT, &at(&pool_path("pool1"), V), Some(&body)).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("azure-asyncoperation"));
    let got = wait_succeeded(&srv, "pool1").await;
    assert_eq!(
        got["properties"]["scaleConfiguration"]["maxConcurrentSessions"],
        20
    );
    assert_eq!(
        got["identity"]["principalId"],
        first["identity"]["principalId"]
    );
    assert_eq!(
        got["systemData"]["createdAt"],
        first["systemData"]["createdAt"]
    );
    assert_eq!(stored_secret(&srv, "pool1").await, Some("hunter2".into()));
}

async fn stored_secret(srv: &TestServer, name: &str) -> Option<String> {
    let id = sessions_runtime::id::ResourceId::parse(&pool_path(name)).unwrap();
    let rec = srv.state.store().get_resource(&id).await.unwrap()?;
    let stored = StoredPool::from_body(&rec.body).unwrap();
    stored.pool.properties.secrets?.first()?.value.clone()
}

#[tokio::test]
async fn create_only_properties_cannot_change() {
    let srv = TestServer::start().await;
    create(&srv, "pool1", &valid_pool()).await;
    let cases = [
        ("/location", json!("westus"), "location"),
        (
            "/properties/containerType",
            json!("PythonLTS"),
            "properties.containerType",
        ),
        (
            "/properties/environmentId",
            json!(format!(
                "{}/providers/Microsoft.App/managedEnvironments/other",
                defaults::resource_group_id()
            )),
            "properties.environmentId",
        ),
    ];
    for (ptr, value, target) in cases {
        let mut body = valid_pool();
        *body.pointer_mut(ptr).unwrap() = value;
        let (status, err) = call(&srv, Method::PUT, &at(&pool_path("pool1"), V), Some(&body)).await;
        assert_eq!(status, 400, "{ptr}: {err}");
        assert_eq!(err["error"]["code"], "PropertyChangeNotAllowed");
        assert_eq!(err["error"]["target"], target);
    }
    let mut body = valid_pool();
    body["location"] = json!("East US");
    let (status, _) = call(&srv, Method::PUT, &at(&pool_path("pool1"), V), Some(&body)).await;
    assert_eq!(
        status, 200,
        "the same region spelled differently is no change"
    );
}

#[tokio::test]
async fn patch_merges_and_keeps_secrets() {
    let srv = TestServer::start().await;
    create(&srv, "pool1", &valid_pool()).await;
    let patch = json!({"tags": {"env": "ci"}, "properties": {
        "scaleConfiguration": {"readySessionInstances": 3},
        "sessionNetworkConfiguration": {"status": "EgressEnabled"},
        "environmentId": "ignored: not patchable"}});
    let resp = send(
        &srv,
        Method::PATCH,
        &at(&pool_path("pool1"), V),
        Some(&patch),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("azure-asyncoperation"));
    assert_eq!(resp.headers()["retry-after"], "1");
    let got = wait_succeeded(&srv, "pool1").await;
    assert_eq!(got["tags"], json!({"team": "sessions", "env": "ci"}));
    assert_eq!(
        got["properties"]["scaleConfiguration"],
        json!({"maxConcurrentSessions": 10, "readySessionInstances": 3})
    );
    assert_eq!(
        got["properties"]["sessionNetworkConfiguration"]["status"],
        "EgressEnabled"
    );
    assert_eq!(
        got["properties"]["environmentId"],
        defaults::environment_id()
    );
    assert_eq!(stored_secret(&srv, "pool1").await, Some("hunter2".into()));

    let bad = json!({"properties": {"scaleConfiguration": {"readySessionInstances": 10}}});
    let (status, err) = call(&srv, Method::PATCH, &at(&pool_path("pool1"), V), Some(&bad)).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("patch_invalid_ready", err);
    let (status, err) = call(
        &srv,
        Method::PATCH,
        &at(&pool_path("nopool"), V),
        Some(&bad),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("ResourceNotFound"))
    );
}

#[tokio::test]
async fn delete_answers_202_then_404_then_204() {
    let srv = TestServer::start().await;
    create(&srv, "pool1", &valid_pool()).await;
    let resp = send(&srv, Method::DELETE, &at(&pool_path("pool1"), V), None).await;
    assert_eq!(resp.status(), 202);
    insta::assert_json_snapshot!("delete_headers", lro_headers(&srv, &resp));
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let loc_path = location.strip_prefix(&srv.endpoint).unwrap().to_string();
    poll_until(&srv, &loc_path, |s, _| s == 204).await;
    poll_until(&srv, &at(&pool_path("pool1"), V), |s, _| s == 404).await;
    let resp = send(&srv, Method::DELETE, &at(&pool_path("pool1"), V), None).await;
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn list_by_group_and_subscription_pages_with_next_link() {
    let srv = TestServer::start().await;
    for name in ["poola", "poolb", "poolc"] {
        create(&srv, name, &valid_pool()).await;
    }
    let rg_list = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools?api-version={V}&$top=2",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let (status, page1) = call(&srv, Method::GET, &rg_list, None).await;
    assert_eq!(status, 200);
    assert_eq!(page1["value"].as_array().unwrap().len(), 2);
    let next = page1["nextLink"]
        .as_str()
        .expect("nextLink on a partial page")
        .to_string();
    let (status, page2) = call(
        &srv,
        Method::GET,
        next.strip_prefix(&srv.endpoint).unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page2["value"].as_array().unwrap().len(), 1);
    assert!(page2.get("nextLink").is_none_or(Value::is_null));
    let mut names: Vec<_> = page1["value"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["value"].as_array().unwrap())
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["poola", "poolb", "poolc"]);

    let sub_list = format!(
        "/subscriptions/{}/providers/Microsoft.App/sessionPools?api-version={V}",
        defaults::SUBSCRIPTION_ID
    );
    let (status, all) = call(&srv, Method::GET, &sub_list, None).await;
    assert_eq!(status, 200);
    assert_eq!(all["value"].as_array().unwrap().len(), 3);
    assert!(!all.to_string().contains("hunter2"));
}

#[tokio::test]
async fn request_errors_name_the_problem() {
    let srv = TestServer::start().await;
    let path = pool_path("pool1");
    let mut missing_env = valid_pool();
    missing_env["properties"]["environmentId"] = json!(format!(
        "{}/providers/Microsoft.App/managedEnvironments/nosuchenv",
        defaults::resource_group_id()
    ));
    let mut wrong_type = valid_pool();
    wrong_type["properties"]["scaleConfiguration"]["maxConcurrentSessions"] = json!("ten");
    let mut bad_cooldown = valid_pool();
    bad_cooldown["properties"]["dynamicPoolConfiguration"]["lifecycleConfiguration"]
        ["cooldownPeriodInSeconds"] = json!(10);
    let mut no_location = valid_pool();
    no_location.as_object_mut().unwrap().remove("location");
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        (
            "bad_name",
            at(&pool_path("Bad-Name"), V),
            Some(valid_pool()),
        ),
        (
            "unknown_api_version",
            at(&path, "2020-01-01"),
            Some(valid_pool()),
        ),
        ("missing_api_version", path.clone(), Some(valid_pool())),
        ("missing_environment", at(&path, V), Some(missing_env)),
        ("wrong_type", at(&path, V), Some(wrong_type)),
        ("bad_cooldown", at(&path, V), Some(bad_cooldown)),
        ("no_location", at(&path, V), Some(no_location)),
    ];
    for (name, url, body) in cases {
        let (status, err) = call(&srv, Method::PUT, &url, body.as_ref()).await;
        assert_eq!(status, 400, "{name}: {err}");
        insta::assert_json_snapshot!(format!("error_{name}"), err);
    }
    let resp = srv
        .arm(Method::PUT, &at(&path, V))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "InvalidRequestContent");
}

#[tokio::test]
async fn requests_without_a_token_are_401() {
    let srv = TestServer::start().await;
    let resp = srv
        .client
        .get(srv.url(&at(&pool_path("pool1"), V)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn provisioning_left_in_progress_by_a_killed_run_is_resumed() {
    use sessions_emulator::arm::operations;
    use sessions_emulator::arm::session_pools::model::ProvisioningState;
    use sessions_emulator::arm::session_pools::provision::resume_pending;
    use sessions_runtime::id::ResourceId;
    use sessions_runtime::store::ResourceRecord;

    let srv = TestServer::start().await;
    create(&srv, "pool1", &valid_pool()).await;
    // Simulate a run killed right after accepting an update: InProgress, operation running.
    let id = ResourceId::parse(&pool_path("pool1")).unwrap();
    let rec = srv.state.store().get_resource(&id).await.unwrap().unwrap();
    let mut stored = StoredPool::from_body(&rec.body).unwrap();
    let op = operations::begin(&srv.state, &rec.id, "eastus", operations::UPDATE)
        .await
        .unwrap();
    stored.status.provisioning_state = ProvisioningState::InProgress;
    stored.operation = Some(op.id.clone());
    let row = ResourceRecord::new(
        rec.id.clone(),
        rec.resource_type.clone(),
        stored.to_body().unwrap(),
        srv.state.now(),
    );
    srv.state.store().put_resource(row).await.unwrap();

    assert_eq!(resume_pending(&srv.state).await.unwrap(), 1);
    wait_succeeded(&srv, "pool1").await;
    let op_path = format!(
        "/subscriptions/{}/providers/Microsoft.App/locations/eastus/operationStatuses/{}?api-version={V}",
        defaults::SUBSCRIPTION_ID,
        op.id
    );
    poll_until(&srv, &op_path, |s, b| {
        s == 200 && b["status"] == "Succeeded"
    })
    .await;
}
