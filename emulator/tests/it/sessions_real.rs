//! Real sessions through ARM (QEMU microVMs, TCG here): a two-container pool, managed identity
//! inside a session, and the MCP server running commands in a session. The emulator runs
//! in-process with the qemu backend on a temp data dir holding the sample image and a "tools"
//! image (the sample server plus busybox from the host), both built from the `sample-session`
//! binary this build carries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::config::BackendKind;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;
use sessions_runtime::image::sample;
use sessions_runtime::image::spec::RuntimeConfig;
use sessions_runtime::image::unpack::Compression;
use sessions_runtime::image::write::{self, ImageSpec, LayerEntry, LayerSpec};
use sessions_runtime::image::{ImageStore, Reference};

use crate::support::acr::FakeAcr;
use crate::support::pools::*;

const SAMPLE: &str = "localhost/sample-session:latest";
const TOOLS: &str = "localhost/sample-tools:latest";
/// Bound for a pool of microVMs to become ready under TCG on a busy 2-core host.
const READY: Duration = Duration::from_secs(300);

/// Seeds the sample image and builds the tools image into the store at `dir`, both from the
/// `sample-session` binary this build carries.
fn load_images(dir: &std::path::Path) {
    let store = ImageStore::open(dir).expect("image store");
    let sample_img = sample::embedded()
        .expect("this build carries the guest (SESSIONS_EMULATOR_GUEST unset)")
        .expect("build the sample image");
    sample::put(
        &store,
        &sample_img,
        &Reference::parse(SAMPLE).expect("reference"),
    )
    .expect("store the sample image");
    let server = sessions_guest::SAMPLE_SESSION
        .expect("this build carries the sample session binary")
        .to_vec();
    let busybox =
        std::fs::read("/bin/busybox").expect("busybox-static (scripts/setup installs it)");
    let mut entries = vec![
        LayerEntry::dir("app"),
        LayerEntry::exe("app/sample-session", server),
        LayerEntry::dir("bin"),
        LayerEntry::exe("bin/busybox", busybox),
        LayerEntry::dir("etc"),
        LayerEntry::file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        LayerEntry::file("etc/group", "root:x:0:\n"),
        LayerEntry::dir("root"),
        LayerEntry::Dir {
            path: "tmp".into(),
            mode: 0o1777,
        },
    ];
    for applet in ["sh", "echo", "cat", "hostname", "ls"] {
        entries.push(LayerEntry::symlink(&format!("bin/{applet}"), "busybox"));
    }
    let img = write::build(&ImageSpec {
        layers: vec![LayerSpec {
            entries,
            compression: Compression::Gzip,
        }],
        config: RuntimeConfig {
            entrypoint: Some(vec!["/app/sample-session".into()]),
            env: Some(vec!["PATH=/bin".into()]),
            ..Default::default()
        },
        architecture: "amd64".into(),
    })
    .expect("build the tools image");
    sample::put(&store, &img, &Reference::parse(TOOLS).expect("reference"))
        .expect("store the tools image");
}

async fn qemu_server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("data dir");
    load_images(dir.path());
    let data = dir.path().to_path_buf();
    let srv = TestServer::start_with(
        move |c| {
            c.backend = BackendKind::Qemu;
            c.data_dir = Some(data);
        },
        None,
    )
    .await;
    (srv, dir)
}

/// A pool body in the 2026-03-02-preview shape (canonical otherwise) with `containers`.
fn pool(containers: Value) -> Value {
    json!({
        "location": "eastus",
        "properties": {
            "environmentId": defaults::environment_id(),
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "OnContainerExit", "maxAlivePeriodInSeconds": 600}},
            "customContainerTemplate": {"containers": containers, "ingress": {"targetPort": 8080}},
            "sessionNetworkConfiguration": {"status": "EgressDisabled"}
        }
    })
}

async fn create_real(srv: &TestServer, name: &str, body: &Value, v: &str) -> Value {
    let path = at(&pool_path(name), v);
    let (s, b) = call(srv, Method::PUT, &path, Some(body)).await;
    assert_eq!(s, 201, "{b}");
    let deadline = tokio::time::Instant::now() + READY;
    loop {
        let (s, b) = call(srv, Method::GET, &path, None).await;
        assert_eq!(s, 200, "{b}");
        match b["properties"]["provisioningState"].as_str() {
            Some("Succeeded") => return b,
            Some("Failed") => panic!("the pool failed: {b}"),
            _ => {}
        }
        assert!(tokio::time::Instant::now() < deadline, "not ready: {b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn get_json(srv: &TestServer, url: &str) -> (u16, Value) {
    let r = srv
        .client
        .get(url)
        .bearer_auth(srv.dataplane_token())
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .expect("request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_two_container_session_is_one_vm_with_localhost_between_containers() {
    let (srv, _dir) = qemu_server().await;
    let containers = json!([
        {"name": "app", "image": SAMPLE, "resources": {"cpu": 0.5, "memory": "0.5Gi"},
         "env": [{"name": "ROLE", "value": "app"}],
         "probes": [{"type": "Startup", "tcpSocket": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 10}]},
        {"name": "side", "image": SAMPLE, "resources": {"cpu": 0.25, "memory": "0.25Gi"},
         "env": [{"name": "PORT", "value": "9090"}, {"name": "ROLE", "value": "side"}],
         "probes": [{"type": "Startup", "httpGet": {"path": "/health", "port": 9090}, "periodSeconds": 1, "failureThreshold": 10}]}
    ]);
    let created = create_real(&srv, "twocontainers", &pool(containers), "2026-07-01").await;
    let ep = created["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();

    // Ingress reaches the container listening on the target port (app).
    let (s, app) = get_json(&srv, &format!("{ep}/whoami?identifier=duo-1")).await;
    assert_eq!(s, 200, "{app}");
    // The app calls the side container over localhost.
    let (s, fetched) = get_json(
        &srv,
        &format!("{ep}/fetch?identifier=duo-1&url=http%3A%2F%2Flocalhost%3A9090%2Ffrom-app"),
    )
    .await;
    assert_eq!(s, 200, "{fetched}");
    assert_eq!(fetched["status"], 200, "{fetched}");
    let side: Value = serde_json::from_str(fetched["body"].as_str().unwrap()).expect("side json");
    assert_eq!(side["path"], "/from-app");
    assert_eq!(side["hostname"], app["hostname"], "one VM: one hostname");
    assert_eq!(side["kernel"], app["kernel"]);
    assert_ne!(side["pid"], app["pid"], "two processes");
    // Each container has its own env.
    let (_, role) = get_json(&srv, &format!("{ep}/env?identifier=duo-1&name=ROLE")).await;
    assert_eq!(role["value"], "app");
    let (_, fetched) = get_json(
        &srv,
        &format!(
            "{ep}/fetch?identifier=duo-1&url=http%3A%2F%2Flocalhost%3A9090%2Fenv%3Fname%3DROLE"
        ),
    )
    .await;
    let side_role: Value = serde_json::from_str(fetched["body"].as_str().unwrap()).expect("json");
    assert_eq!(side_role["value"], "side");
    // Each container runs in a cgroup of its own with its resources as limits.
    let file = |path: &str| {
        let url = format!(
            "{ep}/file?identifier=duo-1&path={}",
            path.replace('/', "%2F")
        );
        let srv = &srv;
        async move {
            let (s, doc) = get_json(srv, &url).await;
            assert_eq!(s, 200, "{doc}");
            doc["content"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_string()
        }
    };
    assert_eq!(file("/sys/fs/cgroup/side/memory.max").await, "268435456");
    assert_eq!(file("/sys/fs/cgroup/side/cpu.max").await, "25000 100000");
    assert_eq!(file("/sys/fs/cgroup/app/memory.max").await, "536870912");
    assert_eq!(file("/proc/self/cgroup").await, "0::/app");

    // Console lines carry their container's name.
    let logs = srv.state.pools().logs().expect("log store").clone();
    let key = srv
        .state
        .pools()
        .pools()
        .iter()
        .map(|h| h.context().key().to_string())
        .find(|k| k.ends_with("/twocontainers"))
        .expect("the pool");
    let mut names: Vec<String> = Vec::new();
    for _ in 0..200 {
        logs.flush().await;
        let page = logs.console_lines(&sessions_runtime::logstore::tail::TailFilter {
            pool_key: key.clone(),
            limit: 1000,
            ..Default::default()
        });
        names = page
            .lines
            .iter()
            .filter(|l| l.log.starts_with("sample-session listening"))
            .map(|l| l.container.clone())
            .collect();
        names.sort();
        names.dedup();
        if names.contains(&"side".to_string()) && names.contains(&"app".to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    names.sort();
    assert_eq!(names, ["app", "side"]);

    // OnContainerExit: the main container exits, the session ends.
    let r = srv
        .client
        .post(format!("{ep}/exit?identifier=duo-1&code=0"))
        .bearer_auth(srv.dataplane_token())
        .send()
        .await
        .expect("exit");
    assert_eq!(r.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = srv
            .client
            .post(format!(
                "{ep}/.management/getSession?identifier=duo-1&api-version=2025-02-02-preview"
            ))
            .bearer_auth(srv.dataplane_token())
            .send()
            .await
            .expect("getSession");
        if r.status() == 404 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session outlived its main container"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_session_code_gets_a_managed_identity_token_that_arm_accepts() {
    let (srv, _dir) = qemu_server().await;
    let ua = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/worker",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    // The image comes from an ACR-style registry that takes an access token as the password:
    // the pool pulls with its registry identity's token.
    let presented: Arc<Mutex<Vec<String>>> = Arc::default();
    let (state, seen) = (srv.state.clone(), presented.clone());
    let check = Arc::new(move |token: &str| {
        match state
            .tokens()
            .validate(token, defaults::ARM_AUDIENCE, state.now())
        {
            Ok(claims) => {
                seen.lock().expect("lock").push(claims.oid);
                true
            }
            Err(_) => false,
        }
    });
    let image = sample::embedded()
        .expect("this build carries the guest")
        .expect("the sample image");
    let acr = FakeAcr::start("team/sample", "v1", &image, check).await;
    let mut body = pool(
        json!([{"name": "app", "image": format!("{}/team/sample:v1", acr.addr()),
        "resources": {"cpu": 0.5, "memory": "0.5Gi"}}]),
    );
    body["properties"]["customContainerTemplate"]["registryCredentials"] =
        json!({"server": acr.addr(), "identity": ua});
    body["identity"] =
        json!({"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {ua.clone(): {}}});
    body["properties"]["managedIdentitySettings"] =
        json!([{"identity": "system", "lifecycle": "Main"}, {"identity": ua, "lifecycle": "All"}]);
    let created = create_real(&srv, "withidentity", &body, "2026-07-01").await;
    let ep = created["properties"]["poolManagementEndpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let principal = created["identity"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let ua_client = created["identity"]["userAssignedIdentities"][&ua]["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    let ua_principal = created["identity"]["userAssignedIdentities"][&ua]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(acr.logins() >= 1, "the pool logged in to the registry");
    assert_eq!(acr.refused(), 0);
    assert!(
        presented
            .lock()
            .expect("lock")
            .iter()
            .all(|oid| oid == &ua_principal),
        "the pull presented the registry identity's token"
    );

    let (_, env) = get_json(
        &srv,
        &format!("{ep}/env?identifier=mi-test&name=IDENTITY_ENDPOINT"),
    )
    .await;
    assert_eq!(env["value"], "http://localhost:42356/msi/token");

    // Code in the session asks IDENTITY_ENDPOINT for an ARM token (system-assigned) ...
    let (s, got) = get_json(
        &srv,
        &format!(
            "{ep}/identity/token?identifier=mi-test&resource=https%3A%2F%2Fmanagement.azure.com%2F"
        ),
    )
    .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["status"], 200, "{got}");
    let token: Value = serde_json::from_str(got["body"].as_str().unwrap()).expect("token json");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["resource"], "https://management.azure.com/");
    let access = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    // ... and ARM accepts it: the token the session got is the pool's identity.
    let r = srv
        .client
        .get(srv.url(&at(&pool_path("withidentity"), V)))
        .bearer_auth(&access)
        .send()
        .await
        .expect("arm");
    assert_eq!(r.status(), 200);
    let claims = srv
        .state
        .tokens()
        .validate(&access, defaults::ARM_AUDIENCE, srv.state.now())
        .expect("valid token");
    assert_eq!(claims.oid, principal);

    // The user-assigned identity by client_id.
    let (_, got) = get_json(
        &srv,
        &format!("{ep}/identity/token?identifier=mi-test&resource=https%3A%2F%2Fdynamicsessions.io&client_id={ua_client}"),
    )
    .await;
    assert_eq!(got["status"], 200, "{got}");
    let token: Value = serde_json::from_str(got["body"].as_str().unwrap()).unwrap();
    let claims = srv
        .state
        .tokens()
        .validate(
            token["access_token"].as_str().unwrap(),
            defaults::DATAPLANE_AUDIENCE,
            srv.state.now(),
        )
        .expect("valid token");
    assert_eq!(
        (claims.oid.as_str(), token["client_id"].as_str()),
        (ua_principal.as_str(), Some(ua_client.as_str()))
    );

    // An audience the emulator does not serve is refused.
    let (_, got) = get_json(
        &srv,
        &format!("{ep}/identity/token?identifier=mi-test&resource=https%3A%2F%2Fvault.azure.net"),
    )
    .await;
    assert_eq!(got["status"], 400, "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_mcp_server_runs_commands_in_a_session() {
    let (srv, _dir) = qemu_server().await;
    let mut body = pool(
        json!([{"name": "app", "image": TOOLS, "resources": {"cpu": 0.5, "memory": "0.5Gi"}}]),
    );
    body["properties"]["dynamicPoolConfiguration"] = json!({"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}});
    body["properties"]["mcpServerSettings"] = json!({"isMcpServerEnabled": true});
    let created = create_real(&srv, "mcptools", &body, "2026-03-02-preview").await;
    let mcp = created["properties"]["mcpServerSettings"]["mcpServerEndpoint"]
        .as_str()
        .expect("mcpServerEndpoint")
        .to_string();
    let (_, key) = call(
        &srv,
        Method::POST,
        &at(
            &format!("{}/fetchMcpServerCredentials", pool_path("mcptools")),
            "2026-03-02-preview",
        ),
        None,
    )
    .await;
    let key = key["apiKey"].as_str().unwrap().to_string();
    let rpc = |body: Value| {
        let (client, mcp, key) = (srv.client.clone(), mcp.clone(), key.clone());
        async move {
            let r = client
                .post(&mcp)
                .header("x-ms-apikey", key)
                .json(&body)
                .timeout(Duration::from_secs(180))
                .send()
                .await
                .expect("mcp");
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.expect("json")
        }
    };
    let init = rpc(json!({"jsonrpc": "2.0", "id": "1", "method": "initialize"})).await;
    assert_eq!(
        init["result"]["serverInfo"]["name"],
        "Microsoft Container Apps MCP Server"
    );
    let launched = rpc(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "launchShell", "arguments": {}}})).await;
    let env_id = launched["result"]["structuredContent"]["environmentId"]
        .as_str()
        .expect("environmentId")
        .to_string();
    let ran = rpc(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "runShellCommandInRemoteEnvironment",
        "arguments": {"environmentId": env_id, "shellCommand": "echo hello-from-mcp; cat /proc/sys/kernel/hostname"}}})).await;
    let out = &ran["result"]["structuredContent"];
    assert_eq!(out["exitCode"], 0, "{ran}");
    let stdout = out["stdout"].as_str().unwrap();
    assert!(stdout.starts_with("hello-from-mcp\n"), "{stdout}");
    // The command ran in the session bound to the environment id.
    let (_, echo) = get_json(
        &srv,
        &format!(
            "{}/?identifier={env_id}",
            created["properties"]["poolManagementEndpoint"]
                .as_str()
                .unwrap()
        ),
    )
    .await;
    assert_eq!(stdout.lines().nth(1), echo["hostname"].as_str(), "{echo}");
    let args = rpc(
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "runShellCommandInRemoteEnvironment",
        "arguments": {"environmentId": env_id, "execCommandAndArgs": ["ls", "/app"]}}}),
    )
    .await;
    assert_eq!(
        args["result"]["structuredContent"]["stdout"], "sample-session\n",
        "{args}"
    );
    // No python3 in this image: the tool answers the failure.
    let py = rpc(
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "runPythonCodeInRemoteEnvironment",
        "arguments": {"environmentId": env_id, "pythonCode": "print(1)"}}}),
    )
    .await;
    assert_ne!(py["result"]["structuredContent"]["exitCode"], 0, "{py}");
    assert!(
        py["result"]["structuredContent"]["stderr"]
            .as_str()
            .unwrap()
            .contains("python3"),
        "{py}"
    );
}
