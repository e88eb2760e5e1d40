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

/// The fixtures under `fixtures/session_pools/`, one per published api-version.
fn fixtures() -> Vec<(String, Value)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/session_pools");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture");
            let text = text.replace("{environmentId}", &defaults::environment_id());
            let v: Value = serde_json::from_str(&text).expect("fixture json");
            (v["apiVersion"].as_str().expect("apiVersion").to_string(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn there_is_a_fixture_for_every_supported_version() {
    let have: Vec<String> = fixtures().into_iter().map(|(v, _)| v).collect();
    let mut want: Vec<String> = API_VERSIONS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(have, want);
}

/// Table-driven: each version's own shape is accepted, echoed, completed with its read-only
/// fields, and stripped of what that version does not have (unknown properties ignored).
#[tokio::test]
async fn every_published_version_round_trips_its_own_shape() {
    let srv = TestServer::start().await;
    for (i, (v, fx)) in fixtures().into_iter().enumerate() {
        let name = format!("fixture{i}");
        let path = pool_path(&name);
        let req = &fx["request"];
        let (status, created) = call(&srv, Method::PUT, &at(&path, &v), Some(req)).await;
        assert_eq!(status, 201, "{v}: {created}");
        assert_eq!(
            created["properties"]["provisioningState"], "InProgress",
            "{v}"
        );
        poll_until(&srv, &at(&path, &v), |s, b| {
            s == 200 && b["properties"]["provisioningState"] == "Succeeded"
        })
        .await;
        let (status, got) = call(&srv, Method::GET, &at(&path, &v), None).await;
        assert_eq!(status, 200, "{v}");
        for p in fx["echo"].as_array().expect("echo") {
            let p = p.as_str().expect("pointer");
            assert_eq!(got.pointer(p), req.pointer(p), "{v}: {p} in {got}");
            assert!(got.pointer(p).is_some(), "{v}: {p} missing in {got}");
        }
        for p in fx["present"].as_array().expect("present") {
            let p = p.as_str().expect("pointer");
            assert!(got.pointer(p).is_some(), "{v}: {p} missing in {got}");
        }
        for p in fx["absent"].as_array().expect("absent") {
            let p = p.as_str().expect("pointer");
            assert!(got.pointer(p).is_none(), "{v}: {p} must be absent in {got}");
        }
        // The list answers the same shape.
        let list_path = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools",
            defaults::SUBSCRIPTION_ID,
            defaults::RESOURCE_GROUP
        );
        let (status, list) = call(&srv, Method::GET, &at(&list_path, &v), None).await;
        assert_eq!(status, 200, "{v}");
        let item = list["value"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(
            item["properties"]["customContainerTemplate"],
            got["properties"]["customContainerTemplate"],
            "{v}"
        );
        let (status, _) = call(&srv, Method::DELETE, &at(&path, &v), None).await;
        assert!(status == 202 || status == 200, "{v}: delete {status}");
    }
}

#[tokio::test]
async fn mcp_actions_exist_only_in_versions_with_mcp() {
    let srv = TestServer::start().await;
    create(&srv, "mcppool", &valid_pool()).await;
    let path = pool_path("mcppool");
    let mut keys = Vec::new();
    for v in API_VERSIONS {
        let (status, body) = call(
            &srv,
            Method::POST,
            &at(&format!("{path}/fetchMcpServerCredentials"), v),
            None,
        )
        .await;
        let has = matches!(v, "2025-10-02-preview" | "2026-03-02-preview");
        if has {
            assert_eq!(status, 200, "{v}: {body}");
            keys.push(body["apiKey"].as_str().expect("apiKey").to_string());
        } else {
            assert_eq!(status, 400, "{v}: {body}");
            assert_eq!(body["error"]["code"], "InvalidApiVersionParameter", "{v}");
        }
    }
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "fetch answers the same key");
    // Rotation replaces the key; the case-insensitive action name of the docs works too.
    let (status, rotated) = call(
        &srv,
        Method::POST,
        &at(
            &format!("{path}/rotatemcpservercredentials"),
            "2026-03-02-preview",
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    assert_ne!(rotated["apiKey"], keys[0]);
    let (_, fetched) = call(
        &srv,
        Method::POST,
        &at(
            &format!("{path}/fetchMCPServerCredentials"),
            "2025-10-02-preview",
        ),
        None,
    )
    .await;
    assert_eq!(fetched["apiKey"], rotated["apiKey"]);
    let (status, body) = call(
        &srv,
        Method::POST,
        &at(
            &format!("{}/fetchMcpServerCredentials", pool_path("nosuchpool")),
            "2026-03-02-preview",
        ),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn mcp_settings_survive_updates_in_versions_without_them() {
    let srv = TestServer::start().await;
    let path = pool_path("mcpkept");
    let mut body = valid_pool();
    body["properties"]["customContainerTemplate"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("probes");
    body["properties"]["mcpServerSettings"] = json!({"isMcpServerEnabled": true});
    let (status, created) = call(
        &srv,
        Method::PUT,
        &at(&path, "2026-03-02-preview"),
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["properties"]["mcpServerSettings"]["mcpServerEndpoint"],
        format!(
            "{}/mcp",
            created["properties"]["poolManagementEndpoint"]
                .as_str()
                .unwrap()
        )
    );
    wait_succeeded(&srv, "mcpkept").await;
    // A full PUT with 2025-07-01 (no MCP in that version) keeps the settings.
    let (_, mut stable) = call(&srv, Method::GET, &at(&path, "2025-07-01"), None).await;
    assert!(stable["properties"].get("mcpServerSettings").is_none());
    stable["properties"]["secrets"] = json!([{"name": "registry-password", "value": "hunter2"}]);
    let (status, resp) = call(&srv, Method::PUT, &at(&path, "2025-07-01"), Some(&stable)).await;
    assert_eq!(status, 200, "{resp}");
    let (_, preview) = call(&srv, Method::GET, &at(&path, "2025-10-02-preview"), None).await;
    assert_eq!(
        preview["properties"]["mcpServerSettings"]["isMcpServerEnabled"],
        true
    );
    // Disabling removes the endpoint from the rendering.
    let mut off = body.clone();
    off["properties"]["mcpServerSettings"] = json!({"isMcpServerEnabled": false});
    let (status, resp) = call(
        &srv,
        Method::PUT,
        &at(&path, "2026-03-02-preview"),
        Some(&off),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(
        resp["properties"]["mcpServerSettings"],
        json!({"isMcpServerEnabled": false})
    );
}

#[tokio::test]
async fn container_types_the_emulator_cannot_run_are_refused_at_put() {
    let srv = TestServer::start().await;
    for t in ["PythonLTS", "Shell", "NodeLTS", "GpuBase"] {
        let mut body = valid_pool();
        body["properties"]["containerType"] = json!(t);
        let (status, err) = call(
            &srv,
            Method::PUT,
            &at(&pool_path("typed"), "2025-10-02-preview"),
            Some(&body),
        )
        .await;
        assert_eq!(status, 400, "{t}: {err}");
        assert_eq!(err["error"]["target"], "properties.containerType", "{t}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(t),
            "{err}"
        );
    }
    let (status, _) = call(&srv, Method::GET, &at(&pool_path("typed"), V), None).await;
    assert_eq!(status, 404, "nothing was created");
}

#[tokio::test]
async fn template_update_status_shows_a_roll_out_in_progress() {
    let srv = TestServer::start().await;
    let path = pool_path("rolling");
    let v = "2026-03-02-preview";
    let mut body = valid_pool();
    body["properties"]["customContainerTemplate"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("probes");
    let (s, created) = call(&srv, Method::PUT, &at(&path, v), Some(&body)).await;
    assert_eq!(s, 201, "{created}");
    wait_succeeded(&srv, "rolling").await;
    let (_, got) = call(&srv, Method::GET, &at(&path, v), None).await;
    let t = &got["properties"]["templateUpdateStatus"];
    assert_eq!(t["activeTemplate"]["details"], "Running", "{t}");
    assert_eq!(
        t["activeTemplate"]["containers"][0]["image"],
        "myregistry.azurecr.io/app:v1"
    );
    assert_eq!(t["activeTemplate"]["status"]["expectedCount"], 2);
    assert_eq!(t["activeTemplate"]["status"]["readyCount"], 2, "{t}");
    assert!(t.get("desiredTemplate").is_none(), "{t}");

    // A new image whose sessions take 2 s to start: the roll-out is visible meanwhile.
    body["properties"]["customContainerTemplate"]["containers"][0]["image"] =
        json!("myregistry.azurecr.io/app:v2");
    body["properties"]["customContainerTemplate"]["containers"][0]["env"] =
        json!([{"name": "SESSIONS_FAKE_READY_DELAY_MS", "value": "2000"}]);
    let (s, updated) = call(&srv, Method::PUT, &at(&path, v), Some(&body)).await;
    assert_eq!(s, 200, "{updated}");
    let t = &updated["properties"]["templateUpdateStatus"];
    assert_eq!(
        t["activeTemplate"]["containers"][0]["image"], "myregistry.azurecr.io/app:v1",
        "{t}"
    );
    assert_eq!(
        t["desiredTemplate"]["containers"][0]["image"], "myregistry.azurecr.io/app:v2",
        "{t}"
    );
    assert_eq!(t["desiredTemplate"]["details"], "Updating");
    let (_, during) = poll_until(&srv, &at(&path, v), |_, b| {
        b["properties"]["templateUpdateStatus"]["desiredTemplate"]["status"]["pendingCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    })
    .await;
    assert_eq!(
        during["properties"]["provisioningState"], "InProgress",
        "{during}"
    );
    let (_, done) = poll_until(&srv, &at(&path, v), |_, b| {
        b["properties"]["provisioningState"] == "Succeeded"
    })
    .await;
    let t = &done["properties"]["templateUpdateStatus"];
    assert_eq!(
        t["activeTemplate"]["containers"][0]["image"], "myregistry.azurecr.io/app:v2",
        "{t}"
    );
    assert!(t.get("desiredTemplate").is_none(), "{t}");
    // Versions without the field never show it.
    let (_, stable) = call(&srv, Method::GET, &at(&path, "2026-07-01"), None).await;
    assert!(stable["properties"].get("templateUpdateStatus").is_none());
}
