//! The pool manager behind the ARM resource (fake backend): a PUT provisions the ready set and
//! the data plane serves it; a pool whose sessions never become ready fails its operation with a
//! visible error and pool events; DELETE stops the sessions; a restart reconciles sessions.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;
use sessions_runtime::id::ResourceId;
use sessions_runtime::pool::session::SessionState;

use crate::support::pools;

const API: &str = "2025-10-02-preview";

/// The ARM path of pool `name` with this module's api-version.
fn pool_path(name: &str) -> String {
    pools::at(&pools::pool_path(name), API)
}

/// The resource id of pool `name`.
fn pool_id(name: &str) -> ResourceId {
    ResourceId::parse(&pools::pool_path(name)).expect("pool id")
}

fn body(env: Vec<Value>, probes: Vec<Value>) -> Value {
    json!({
        "location": defaults::LOCATION,
        "properties": {
            "environmentId": defaults::environment_id(),
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 3, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {
                "containers": [{"name": "main", "image": "sample:1", "env": env, "probes": probes,
                                "resources": {"cpu": 0.25, "memory": "0.5Gi"}}],
                "ingress": {"targetPort": 8080}
            },
            "sessionNetworkConfiguration": {"status": "EgressDisabled"}
        }
    })
}

/// PUTs a pool and polls its Azure-AsyncOperation until it is terminal; returns the status body.
async fn put_and_wait(srv: &TestServer, name: &str, body: &Value) -> Value {
    let r = srv
        .arm(Method::PUT, &pool_path(name))
        .json(body)
        .send()
        .await
        .expect("put");
    assert!(
        r.status().is_success(),
        "PUT {}: {}",
        r.status(),
        r.text().await.unwrap_or_default()
    );
    let op = r
        .headers()
        .get("azure-asyncoperation")
        .and_then(|v| v.to_str().ok())
        .expect("Azure-AsyncOperation header")
        .to_string();
    let path = op.strip_prefix(&srv.endpoint).unwrap_or(&op).to_string();
    for _ in 0..400 {
        let s: Value = srv
            .arm(Method::GET, &path)
            .send()
            .await
            .expect("poll")
            .json()
            .await
            .expect("json");
        if s["status"] != "InProgress" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("operation {op} never finished");
}

#[tokio::test]
async fn pool_arm_put_provisions_and_data_plane_serves() {
    let srv = TestServer::start().await;
    let status = put_and_wait(&srv, "armpool", &body(vec![], vec![])).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let pool: Value = srv
        .arm(Method::GET, &pool_path("armpool"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(pool["properties"]["provisioningState"], "Succeeded");
    assert!(
        pool["properties"]["nodeCount"].as_i64().unwrap_or(0) >= 1,
        "{pool}"
    );
    let ep = pool["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    let r = srv
        .client
        .get(format!("{ep}/hello?identifier=arm-user"))
        .bearer_auth(srv.token_for(defaults::DATAPLANE_AUDIENCE))
        .send()
        .await
        .expect("proxy");
    assert_eq!(r.status(), 200);
    let del = srv
        .arm(Method::DELETE, &pool_path("armpool"))
        .send()
        .await
        .expect("delete");
    assert!(del.status().is_success());
    // The pool's own origin answers 404 while it is deleted and then closes (as a deleted
    // pool's host goes away in Azure); the path alias on the main listener answers 404.
    match srv
        .client
        .get(format!("{ep}/hello?identifier=arm-user"))
        .bearer_auth(srv.token_for(defaults::DATAPLANE_AUDIENCE))
        .send()
        .await
    {
        Ok(r) => assert_eq!(r.status(), 404, "deleted pool"),
        // A pooled connection to the closing origin fails as a request error, a new one as a
        // connect error.
        Err(e) => assert!(e.is_connect() || e.is_request(), "{e}"),
    }
    let alias = format!(
        "{}/pools/{}/{}/armpool/hello?identifier=arm-user",
        srv.endpoint,
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let r = srv
        .client
        .get(alias)
        .bearer_auth(srv.token_for(defaults::DATAPLANE_AUDIENCE))
        .send()
        .await
        .expect("alias");
    assert_eq!(r.status(), 404, "deleted pool");
}

#[tokio::test]
async fn pool_arm_never_ready_fails_the_operation_with_an_error_and_events() {
    let srv = TestServer::start().await;
    let probes = vec![
        json!({"type": "Startup", "httpGet": {"path": "/ready", "port": 8080},
                             "failureThreshold": 1, "periodSeconds": 1, "initialDelaySeconds": 1}),
    ];
    let env = vec![json!({"name": "SESSIONS_FAKE_NEVER_READY", "value": "1"})];
    let status = put_and_wait(&srv, "neverready", &body(env, probes)).await;
    assert_eq!(status["status"], "Failed", "{status}");
    let msg = status["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("Startup probe"), "{status}");
    let pool: Value = srv
        .arm(Method::GET, &pool_path("neverready"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(pool["properties"]["provisioningState"], "Failed");
    // The data plane answers 429 for a pool whose sessions never become ready.
    let ep = pool["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    let r = srv
        .client
        .get(format!("{ep}/?identifier=someone"))
        .bearer_auth(srv.token_for(defaults::DATAPLANE_AUDIENCE))
        .send()
        .await
        .expect("proxy");
    assert_eq!(r.status(), 429);
    // Pool events record the failure.
    let rows: i64 = srv
        .state
        .store()
        .call(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM log_pool_events WHERE tag IN ('ProbeFailed','ProvisioningFailed')",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .expect("query");
    assert!(rows >= 2, "{rows} failure events");
}

#[tokio::test]
async fn pool_arm_restart_reconciles_sessions_and_rebuilds_ready_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let first = TestServer::start_with(|c| c.data_dir = Some(data.clone()), None).await;
    let status = put_and_wait(&first, "restartpool", &body(vec![], vec![])).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let pool: Value = first
        .arm(Method::GET, &pool_path("restartpool"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let ep = pool["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    let r = first
        .client
        .get(format!("{ep}/?identifier=before-restart"))
        .bearer_auth(first.token_for(defaults::DATAPLANE_AUDIENCE))
        .send()
        .await
        .expect("proxy");
    assert_eq!(r.status(), 200);
    // Stop the first emulator: its sessions stay recorded as live.
    let id = pool_id("restartpool");
    let handle = first.state.pools().get(&id).expect("pool");
    let before: Vec<String> = handle
        .snapshot()
        .sessions
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert!(!before.is_empty());
    first.state.pools().shutdown().await;
    let second = TestServer::start_with(|c| c.data_dir = Some(data.clone()), None).await;
    sessions_emulator::arm::session_pools::runtime::restore_all(&second.state)
        .await
        .expect("restore");
    let restored = second.state.pools().get(&id).expect("pool restored");
    tokio::time::timeout(Duration::from_secs(20), restored.wait_provisioned())
        .await
        .expect("ready set");
    let after = restored.snapshot();
    assert!(
        after.sessions.iter().all(|s| !before.contains(&s.id)),
        "fresh sessions"
    );
    let pool: Value = second
        .arm(Method::GET, &pool_path("restartpool"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        pool["properties"]["provisioningState"], "Succeeded",
        "control plane kept"
    );
    let ended: i64 = second
        .state
        .store()
        .call(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM log_pool_events WHERE log LIKE '%EmulatorRestart%'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .expect("query");
    assert!(
        ended >= before.len() as i64,
        "{ended} restart rows for {} sessions",
        before.len()
    );
    second.state.pools().shutdown().await;
}

#[tokio::test]
async fn pool_arm_update_waits_for_the_new_ready_set() {
    let srv = TestServer::start().await;
    let status = put_and_wait(&srv, "rollpool", &body(vec![], vec![])).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let mut b = body(vec![], vec![]);
    b["properties"]["customContainerTemplate"]["containers"][0]["image"] = json!("sample:2");
    let status = put_and_wait(&srv, "rollpool", &b).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let id = pool_id("rollpool");
    let snap = srv.state.pools().get(&id).expect("pool").snapshot();
    assert_eq!(snap.generation, 2);
    assert!(snap
        .sessions
        .iter()
        .filter(|s| s.state == SessionState::Ready)
        .all(|s| s.generation == 2));
    // An update whose sessions cannot start fails its operation.
    let env = vec![json!({"name": "SESSIONS_FAKE_FAIL_START", "value": "1"})];
    let status = put_and_wait(&srv, "rollpool", &body(env, vec![])).await;
    assert_eq!(status["status"], "Failed", "{status}");
}

/// `nodeCount` of a GET follows the running pool: one node per live session VM.
#[tokio::test]
async fn pool_arm_node_count_follows_the_sessions() {
    let srv = TestServer::start().await;
    let status = put_and_wait(&srv, "nodepool", &body(vec![], vec![])).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let get = || async {
        let pool: Value = srv
            .arm(Method::GET, &pool_path("nodepool"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        pool
    };
    let pool = get().await;
    assert_eq!(pool["properties"]["nodeCount"], 1, "the ready session");
    let ep = pool["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();
    let token = srv.token_for(defaults::DATAPLANE_AUDIENCE);
    for id in ["node-user-1", "node-user-2"] {
        let r = srv
            .client
            .get(format!("{ep}/?identifier={id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("proxy");
        assert_eq!(r.status(), 200);
    }
    // Two allocated plus one ready (the pool's maximum is 3), each its own session VM.
    let mut last = Value::Null;
    for _ in 0..400 {
        last = get().await["properties"]["nodeCount"].clone();
        if last == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(last, 3, "two allocated sessions and one ready session");
    let r = srv
        .client
        .post(format!(
            "{ep}/.management/stopSession?identifier=node-user-1&api-version=2025-02-02-preview"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("stop");
    assert_eq!(r.status(), 200);
    for _ in 0..400 {
        last = get().await["properties"]["nodeCount"].clone();
        if last == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(last, 2, "the stopped session's VM is gone");
}
