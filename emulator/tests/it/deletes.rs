//! Deletes as ARM does them (issue 12): `DELETE` answers 202 with `Location` and
//! `Azure-AsyncOperation`, the pool reads `provisioningState: Deleting` while its sessions stop
//! (writes are refused with 409, its data plane already answers 404), then 404; deleting a
//! resource group or a managed environment takes its pools along the same way. Sessions here
//! take 1.5 s to stop (`SESSIONS_FAKE_STOP_DELAY_MS`), so the `Deleting` window is observable.

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

use crate::support::pools::*;

/// A pool whose sessions take 1.5 s to stop.
fn slow_stopping_pool(environment_id: &str) -> Value {
    let mut body = valid_pool();
    body["properties"]["environmentId"] = json!(environment_id);
    body["properties"]["customContainerTemplate"]["containers"][0]["env"] = json!([
        {"name": "MODE", "value": "test"},
        {"name": "SESSIONS_FAKE_STOP_DELAY_MS", "value": "1500"}
    ]);
    body
}

/// Polls `path` until 404; every earlier answer must read `Deleting`. Returns how many
/// `Deleting` answers were seen.
async fn deleting_then_404(srv: &TestServer, path: &str) -> usize {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut deleting = 0;
    loop {
        let (s, b) = call(srv, Method::GET, path, None).await;
        if s == 404 {
            return deleting;
        }
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["properties"]["provisioningState"], "Deleting", "{b}");
        deleting += 1;
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never went away"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_pool_reads_deleting_while_its_sessions_stop_then_404() {
    let srv = TestServer::start().await;
    let created = create(
        &srv,
        "slowstop",
        &slow_stopping_pool(&defaults::environment_id()),
    )
    .await;
    let origin = created["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    let path = at(&pool_path("slowstop"), V);
    let resp = send(&srv, Method::DELETE, &path, None).await;
    assert_eq!(resp.status(), 202);
    let headers = resp.headers().clone();
    let location = headers["location"].to_str().unwrap().to_string();
    let async_op = headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(location.contains("/operationResults/"), "{location}");
    assert!(async_op.contains("/operationStatuses/"), "{async_op}");
    assert_eq!(headers["retry-after"], "1");

    // Deleting: reads show it, writes are refused, the data plane is gone already, a second
    // DELETE answers the same operation.
    let (s, b) = call(&srv, Method::GET, &path, None).await;
    assert_eq!(s, 200);
    assert_eq!(b["properties"]["provisioningState"], "Deleting");
    let (s, err) = call(&srv, Method::PUT, &path, Some(&valid_pool())).await;
    assert_eq!(s, 409, "{err}");
    let (s, err) = call(
        &srv,
        Method::PATCH,
        &path,
        Some(&json!({"properties": {"scaleConfiguration": {"maxConcurrentSessions": 3}}})),
    )
    .await;
    assert_eq!(s, 409, "{err}");
    let again = send(&srv, Method::DELETE, &path, None).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    let dp = srv
        .client
        .get(format!("{origin}/?identifier=someone"))
        .bearer_auth(srv.dataplane_token())
        .send()
        .await
        .expect("origin answers while deleting");
    assert_eq!(dp.status(), 404);
    let status_path = async_op.strip_prefix(&srv.endpoint).unwrap().to_string();
    let (s, st) = call(&srv, Method::GET, &status_path, None).await;
    assert_eq!(s, 200);
    assert_eq!(st["status"], "InProgress", "{st}");

    assert!(deleting_then_404(&srv, &path).await >= 1);
    let (_, st) = call(&srv, Method::GET, &status_path, None).await;
    assert_eq!(st["status"], "Succeeded", "{st}");
    let loc_path = location.strip_prefix(&srv.endpoint).unwrap().to_string();
    let (s, _) = call(&srv, Method::GET, &loc_path, None).await;
    assert_eq!(s, 204);
    // The pool's own origin is closed with it.
    assert!(srv
        .client
        .get(format!("{origin}/?identifier=someone"))
        .send()
        .await
        .is_err());
    assert_eq!(send(&srv, Method::DELETE, &path, None).await.status(), 204);
}

#[tokio::test]
async fn deleting_an_environment_takes_its_pools_along() {
    let srv = TestServer::start().await;
    let env = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/managedEnvironments/doomed",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let (s, b) = call(
        &srv,
        Method::PUT,
        &at(&env, "2025-07-01"),
        Some(&json!({"location": "eastus"})),
    )
    .await;
    assert!(s == 201 || s == 200, "{b}");
    create(&srv, "onenv", &slow_stopping_pool(&env)).await;
    create(&srv, "elsewhere", &valid_pool()).await;
    let resp = send(&srv, Method::DELETE, &at(&env, "2025-07-01"), None).await;
    assert_eq!(resp.status(), 202);
    assert!(resp.headers().contains_key("azure-asyncoperation"));
    let (s, b) = call(&srv, Method::GET, &at(&env, "2025-07-01"), None).await;
    assert_eq!(s, 200);
    assert_eq!(b["properties"]["provisioningState"], "Deleting");
    // A new pool on a deleting environment is refused.
    let (s, err) = call(
        &srv,
        Method::PUT,
        &at(&pool_path("latecomer"), V),
        Some(&slow_stopping_pool(&env)),
    )
    .await;
    assert_eq!(s, 409, "{err}");
    assert!(deleting_then_404(&srv, &at(&pool_path("onenv"), V)).await >= 1);
    let (s, _) = call(&srv, Method::GET, &at(&env, "2025-07-01"), None).await;
    assert_eq!(s, 404);
    // A pool of another environment stays.
    let (s, b) = call(&srv, Method::GET, &at(&pool_path("elsewhere"), V), None).await;
    assert_eq!(s, 200);
    assert_eq!(b["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn deleting_a_resource_group_reads_deleting_until_its_pools_stopped() {
    let srv = TestServer::start().await;
    let rg = format!(
        "/subscriptions/{}/resourceGroups/doomedrg",
        defaults::SUBSCRIPTION_ID
    );
    let (s, _) = call(
        &srv,
        Method::PUT,
        &at(&rg, "2021-04-01"),
        Some(&json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(s, 201);
    let pool = format!("{rg}/providers/Microsoft.App/sessionPools/inrg?api-version={V}");
    let (s, b) = call(
        &srv,
        Method::PUT,
        &pool,
        Some(&slow_stopping_pool(&defaults::environment_id())),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    poll_until(&srv, &pool, |s, b| {
        s == 200 && b["properties"]["provisioningState"] == "Succeeded"
    })
    .await;
    let resp = send(&srv, Method::DELETE, &at(&rg, "2021-04-01"), None).await;
    assert_eq!(resp.status(), 202);
    let (s, b) = call(&srv, Method::GET, &at(&rg, "2021-04-01"), None).await;
    assert_eq!(s, 200);
    assert_eq!(b["properties"]["provisioningState"], "Deleting");
    let (s, err) = call(
        &srv,
        Method::PUT,
        &at(&rg, "2021-04-01"),
        Some(&json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(s, 409, "{err}");
    assert!(deleting_then_404(&srv, &pool).await >= 1);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (s, _) = call(&srv, Method::GET, &at(&rg, "2021-04-01"), None).await;
        if s == 404 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
