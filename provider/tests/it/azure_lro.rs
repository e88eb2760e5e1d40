//! The ARM client against `wiremock`: LRO paths (Azure-AsyncOperation, Location, 202 loops,
//! provisioningState polling, Failed with error), DELETE until 404, retries with Retry-After,
//! error mapping, cancellation, and token caching.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use terraform_provider_azuresessions::azure::auth::cache::CachedTokenSource;
use terraform_provider_azuresessions::azure::auth::client_credentials::{
    ClientCredential, ClientCredentials,
};
use terraform_provider_azuresessions::azure::auth::{StaticToken, TokenSource};
use terraform_provider_azuresessions::azure::lro::PollSettings;
use terraform_provider_azuresessions::azure::retry::RetryPolicy;
use terraform_provider_azuresessions::azure::{ArmClient, AzureError, OpContext};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const POOL: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p1";
const API: &str = "2026-07-01";

fn fast_client(server: &MockServer, tokens: Arc<dyn TokenSource>) -> ArmClient {
    ArmClient::new(
        reqwest::Client::new(),
        &server.uri(),
        tokens,
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
        },
        PollSettings {
            initial_interval: Duration::from_millis(5),
            max_interval: Duration::from_millis(20),
        },
    )
    .unwrap()
}

fn client(server: &MockServer) -> ArmClient {
    fast_client(server, Arc::new(StaticToken("tok".into())))
}

fn ctx() -> OpContext {
    OpContext::with_timeout(Duration::from_secs(30))
}

fn pool(state: &str) -> serde_json::Value {
    json!({"id": POOL, "name": "p1", "properties": {"provisioningState": state, "nodeCount": 1}})
}

#[tokio::test]
async fn put_polls_azure_async_operation_on_our_host() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(POOL))
        .and(query_param("api-version", API))
        .and(header("authorization", "Bearer tok"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(pool("InProgress"))
                .insert_header(
                    "Azure-AsyncOperation",
                    "https://management.azure.com/subscriptions/s/providers/Microsoft.App/locations/eastus/operationStatuses/op1?api-version=2026-07-01",
                )
                .insert_header("Location", "https://elsewhere.example/ignored")
                .insert_header("Retry-After", "0"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let op = "/subscriptions/s/providers/Microsoft.App/locations/eastus/operationStatuses/op1";
    Mock::given(method("GET"))
        .and(path(op))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status":"InProgress"})))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(op))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status":"Succeeded"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("Succeeded")))
        .expect(1)
        .mount(&server)
        .await;
    let out = client(&server)
        .put_and_poll(&ctx(), POOL, API, &json!({"location":"eastus"}))
        .await
        .unwrap();
    assert_eq!(out["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn put_polls_location_through_202s() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(202).insert_header(
            "Location",
            "https://x/subscriptions/s/operationResults/op2?api-version=2026-07-01",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/subscriptions/s/operationResults/op2"))
        .respond_with(ResponseTemplate::new(202).insert_header("Retry-After", "0"))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/subscriptions/s/operationResults/op2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("Succeeded")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("Succeeded")))
        .mount(&server)
        .await;
    client(&server)
        .put_and_poll(&ctx(), POOL, API, &json!({}))
        .await
        .unwrap();
}

#[tokio::test]
async fn put_without_header_polls_provisioning_state() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pool("InProgress")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("InProgress")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("Succeeded")))
        .expect(1)
        .mount(&server)
        .await;
    let out = client(&server)
        .put_and_poll(&ctx(), POOL, API, &json!({}))
        .await
        .unwrap();
    assert_eq!(out["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn failed_operation_carries_error() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("Azure-AsyncOperation", "/ops/op3?api-version=1"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/op3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status":"Failed","error":{"code":"SessionPoolInvalidReadySessionInstances","message":"ready must be below max"}
        })))
        .mount(&server)
        .await;
    let e = client(&server)
        .put_and_poll(&ctx(), POOL, API, &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(e, AzureError::OperationFailed { .. }), "{e:?}");
    assert_eq!(e.code(), Some("SessionPoolInvalidReadySessionInstances"));
    assert!(e.to_string().contains("ready must be below max"), "{e}");
}

#[tokio::test]
async fn delete_polls_until_404_and_ignores_location() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(POOL))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", "/never/polled")
                .insert_header("Retry-After", "0"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("Deleting")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error":{"code":"ResourceNotFound","message":"gone"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/never/polled"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    client(&server)
        .delete_and_wait(&ctx(), POOL, API)
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_of_missing_resource_is_success() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .delete_and_wait(&ctx(), POOL, API)
        .await
        .unwrap();
}

#[tokio::test]
async fn retries_429_and_5xx_honouring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("Succeeded")))
        .expect(1)
        .mount(&server)
        .await;
    let got = client(&server).get(&ctx(), POOL, API).await.unwrap();
    assert!(got.is_some());
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(
                json!({"error":{"code":"ServiceUnavailable","message":"try later"}}),
            ),
        )
        .expect(4)
        .mount(&server)
        .await;
    let e = client(&server).get(&ctx(), POOL, API).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.to_string().contains("ServiceUnavailable"), "{e}");
}

#[tokio::test]
async fn connection_errors_become_transport_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = ArmClient::new(
        reqwest::Client::new(),
        &format!("http://{addr}"),
        Arc::new(StaticToken("t".into())),
        RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
        PollSettings::default(),
    )
    .unwrap();
    let e = c.get(&ctx(), POOL, API).await.unwrap_err();
    assert!(matches!(e, AzureError::Transport { .. }), "{e:?}");
    assert!(e.to_string().contains("arm_endpoint"), "{e}");
}

#[tokio::test]
async fn error_bodies_map_to_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error":{"code":"InvalidRequestContent","message":"cooldown must be 300-3600","target":"properties.dynamicPoolConfiguration"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/diag"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"code":"AuthorizationFailed","message":"no access"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POOL))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error":{"code":"ResourceNotFound","message":"x"}})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c
        .put_and_poll(&ctx(), POOL, API, &json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.code(), Some("InvalidRequestContent"));
    assert_eq!(e.target(), Some("properties.dynamicPoolConfiguration"));
    let s = e.to_string();
    assert!(
        s.contains("400") && s.contains("cooldown must be 300-3600"),
        "{s}"
    );
    let e = c
        .get(&ctx(), "/diag", "2021-05-01-preview")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AuthorizationFailed"));
    assert!(c.get(&ctx(), POOL, API).await.unwrap().is_none());
}

#[tokio::test]
async fn cancellation_stops_polling() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(201).insert_header("Azure-AsyncOperation", "/ops/forever"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/forever"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status":"InProgress"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let ctx = ctx();
    let token = ctx.cancel_token().clone();
    let task = tokio::spawn(async move { c.put_and_poll(&ctx, POOL, API, &json!({})).await });
    // Wait (bounded) until polling has started, then cancel.
    for _ in 0..1000 {
        let n = server
            .received_requests()
            .await
            .map(|r| r.len())
            .unwrap_or(0);
        if n >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    token.cancel();
    let r = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(r, Err(AzureError::Cancelled)), "{r:?}");
}

#[tokio::test]
async fn timeout_stops_polling() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pool("InProgress")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("InProgress")))
        .mount(&server)
        .await;
    let ctx = OpContext::with_timeout(Duration::from_millis(200));
    let e = client(&server)
        .put_and_poll(&ctx, POOL, API, &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(e, AzureError::Timeout(_)), "{e:?}");
    assert!(e.to_string().contains("timeouts"), "{e}");
}

#[tokio::test]
async fn list_follows_next_link() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/list"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value":[{"n":3}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value":[{"n":1},{"n":2}],"nextLink":"https://management.azure.com/list?api-version=1&page=2"
        })))
        .mount(&server)
        .await;
    let all = client(&server).list(&ctx(), "/list", "1").await.unwrap();
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn tokens_are_fetched_once_and_cached() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token":"cached-tok","expires_in":3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer cached-tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool("Succeeded")))
        .expect(3)
        .mount(&server)
        .await;
    let cc = ClientCredentials::new(
        reqwest::Client::new(),
        &server.uri(),
        "tenant",
        "client",
        ClientCredential::Secret("secret".into()),
    );
    let tokens: Arc<dyn TokenSource> = Arc::new(CachedTokenSource::new(Arc::new(cc)));
    let c = fast_client(&server, tokens);
    for _ in 0..3 {
        c.get(&ctx(), POOL, API).await.unwrap();
    }
}
