//! Per-version wire shapes of `Microsoft.App/sessionPools` through the HTTP routes: the flat
//! `executionType` form and `registryServer` of old previews, probes only where a version has
//! them, and fields a version cannot express kept across its updates.

use crate::support::pools::*;
use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::arm::session_pools::version::API_VERSIONS;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

fn old_preview_pool() -> Value {
    json!({
        "location": "eastus",
        "properties": {
            "environmentId": defaults::environment_id(),
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 5, "readySessionInstances": 1},
            "secrets": [{"name": "pw", "value": "s3cret"}],
            "dynamicPoolConfiguration": {"executionType": "Timed", "cooldownPeriodInSeconds": 600},
            "customContainerTemplate": {
                "registryCredentials": {"registryServer": "old.azurecr.io", "username": "u", "passwordSecretRef": "pw"},
                "containers": [{"image": "old.azurecr.io/app:1", "name": "app", "resources": {"cpu": 0.25, "memory": "0.5Gi"}}],
                "ingress": {"targetPort": 80}
            },
            "workloadProfileName": "ignored unknown property"
        }
    })
}

#[tokio::test]
async fn flat_execution_type_and_registry_server_map_to_the_new_shape() {
    let srv = TestServer::start().await;
    let path = pool_path("oldpool");
    let (status, created) = call(
        &srv,
        Method::PUT,
        &at(&path, "2024-02-02-preview"),
        Some(&old_preview_pool()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["properties"]["dynamicPoolConfiguration"],
        json!({"executionType": "Timed", "cooldownPeriodInSeconds": 600})
    );
    assert_eq!(
        created["properties"]["customContainerTemplate"]["registryCredentials"]["registryServer"],
        "old.azurecr.io"
    );
    assert!(created.get("identity").is_none());
    wait_succeeded(&srv, "oldpool").await;

    let (_, new) = call(&srv, Method::GET, &at(&path, V), None).await;
    assert_eq!(
        new["properties"]["dynamicPoolConfiguration"],
        json!({"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 600}})
    );
    assert_eq!(
        new["properties"]["customContainerTemplate"]["registryCredentials"]["server"],
        "old.azurecr.io"
    );
    insta::assert_json_snapshot!("old_preview_read_as_2026_07_01", normalise(&srv, &new));

    for v in ["2024-08-02-preview", "2024-10-02-preview"] {
        let (_, b) = call(&srv, Method::GET, &at(&path, v), None).await;
        assert_eq!(
            b["properties"]["dynamicPoolConfiguration"]["executionType"], "Timed",
            "{v}"
        );
        assert_eq!(
            b["properties"]["customContainerTemplate"]["registryCredentials"]["server"],
            "old.azurecr.io",
            "{v}"
        );
    }
}

#[tokio::test]
async fn probes_exist_only_in_versions_that_have_them_and_survive_other_updates() {
    let srv = TestServer::start().await;
    let path = pool_path("probed");
    create(&srv, "probed", &valid_pool()).await;
    for v in API_VERSIONS {
        let (status, b) = call(&srv, Method::GET, &at(&path, v), None).await;
        assert_eq!(status, 200, "{v}");
        let has = b["properties"]["customContainerTemplate"]["containers"][0]
            .get("probes")
            .is_some();
        let expect = matches!(
            v,
            "2025-02-02-preview" | "2025-10-02-preview" | "2026-07-01"
        );
        assert_eq!(has, expect, "{v}");
    }
    // azurerm's full PUT with 2025-07-01 (no probes in that version) keeps the probes.
    let (_, mut stable) = call(&srv, Method::GET, &at(&path, "2025-07-01"), None).await;
    stable["properties"]["scaleConfiguration"]["maxConcurrentSessions"] = json!(12);
    stable["properties"]["secrets"] = json!([{"name": "registry-password", "value": "hunter2"}]);
    let (status, resp) = call(&srv, Method::PUT, &at(&path, "2025-07-01"), Some(&stable)).await;
    assert_eq!(status, 200, "{resp}");
    let (_, canonical) = call(&srv, Method::GET, &at(&path, V), None).await;
    assert_eq!(
        canonical["properties"]["scaleConfiguration"]["maxConcurrentSessions"],
        12
    );
    assert_eq!(
        canonical["properties"]["customContainerTemplate"]["containers"][0]["probes"],
        valid_pool()["properties"]["customContainerTemplate"]["containers"][0]["probes"]
    );
}

#[tokio::test]
async fn probes_sent_with_a_version_without_them_are_ignored() {
    let srv = TestServer::start().await;
    let path = pool_path("noprobes");
    let (status, created) = call(
        &srv,
        Method::PUT,
        &at(&path, "2025-07-01"),
        Some(&valid_pool()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    wait_succeeded(&srv, "noprobes").await;
    let (_, b) = call(&srv, Method::GET, &at(&path, V), None).await;
    assert!(b["properties"]["customContainerTemplate"]["containers"][0]
        .get("probes")
        .is_none());
}

#[tokio::test]
async fn property_names_match_case_insensitively() {
    let srv = TestServer::start().await;
    let text = valid_pool()
        .to_string()
        .replace("\"properties\"", "\"Properties\"")
        .replace("maxConcurrentSessions", "MAXCONCURRENTSESSIONS")
        .replace("targetPort", "targetport");
    let body: Value = serde_json::from_str(&text).unwrap();
    let path = pool_path("casepool");
    let (status, created) = call(&srv, Method::PUT, &at(&path, V), Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["properties"]["scaleConfiguration"]["maxConcurrentSessions"],
        10
    );
    assert_eq!(
        created["properties"]["customContainerTemplate"]["ingress"]["targetPort"],
        8080
    );
}
