//! `real_cli_logs_and_query`: the CLI's `logs` and `query` against the built binary (fake
//! backend, HTTPS with its own CA, a temp data dir): a diagnostic setting routes a session's
//! line to the seeded workspace; `query` prints it as a table and as JSON, a wrong table name
//! fails with the service's error; `logs` prints the pool's lines and `logs --follow` prints a
//! line printed after it started.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::defaults;

use crate::support::pools::{pool_path, valid_pool, V};
use crate::support::process::{EmulatorProcess, BIN};

fn cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run the CLI")
}

/// Runs the CLI until its stdout contains `needle` (rows arrive asynchronously), at most 15 s.
fn cli_until(dir: &std::path::Path, args: &[&str], needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = cli(dir, args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{args:?}: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        if stdout.contains(needle) {
            return stdout;
        }
        assert!(
            Instant::now() < deadline,
            "{args:?} never printed {needle:?}:\n{stdout}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn real_cli_logs_and_query() {
    let dir = tempfile::tempdir().expect("temp data dir");
    let emu = EmulatorProcess::start(dir.path(), false);
    let client = emu.client();
    let token = emu.token(&client).await;
    let setting = format!(
        "{}/providers/Microsoft.Insights/diagnosticSettings/cli?api-version=2021-05-01-preview",
        emu.field("environmentId")
    );
    let body = json!({"properties": {"workspaceId": emu.field("workspaceId"),
        "logs": [{"categoryGroup": "allLogs", "enabled": true}]}});
    let (s, b) = emu
        .arm(&client, &token, Method::PUT, &setting, Some(&body))
        .await;
    assert_eq!(s, 200, "{b}");

    let mut pool = valid_pool();
    pool["properties"]["scaleConfiguration"] =
        json!({"maxConcurrentSessions": 3, "readySessionInstances": 1});
    if let Some(c) = pool["properties"]["customContainerTemplate"]["containers"][0].as_object_mut()
    {
        c.remove("probes");
    }
    let url = format!("{}?api-version={V}", pool_path("clipool"));
    let (s, b) = emu
        .arm(&client, &token, Method::PUT, &url, Some(&pool))
        .await;
    assert!(s == 200 || s == 201, "{b}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let endpoint = loop {
        let (_, b) = emu.arm(&client, &token, Method::GET, &url, None).await;
        if b["properties"]["provisioningState"] == "Succeeded" {
            break b["properties"]["poolManagementEndpoint"]
                .as_str()
                .expect("endpoint")
                .to_string();
        }
        assert!(Instant::now() < deadline, "the pool never Succeeded: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let dp_token = {
        let resp = client
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                emu.endpoint(),
                emu.field("tenantId")
            ))
            .form(&[
                ("grant_type", "client_credentials".to_string()),
                ("client_id", emu.field("clientId")),
                ("client_secret", emu.field("clientSecret")),
                (
                    "scope",
                    format!("{}/.default", defaults::DATAPLANE_AUDIENCE),
                ),
            ])
            .send()
            .await
            .expect("token");
        let v: Value = resp.json().await.expect("json");
        v["access_token"].as_str().expect("token").to_string()
    };
    let say = |line: &'static str| {
        let (client, endpoint, dp_token) = (client.clone(), endpoint.clone(), dp_token.clone());
        async move {
            let r = client
                .post(format!(
                    "{}/log?identifier=cli-user&stream=stdout&line={line}",
                    endpoint.trim_end_matches('/')
                ))
                .bearer_auth(dp_token)
                .send()
                .await
                .expect("data plane");
            assert_eq!(r.status(), 200);
        }
    };
    say("hello-cli").await;
    let d = dir.path();

    // query: a table, JSON, and the service's error for a near-miss table name.
    let table = cli_until(
        d,
        &[
            "query",
            "AppEnvSessionConsoleLogs | where Log == 'hello-cli' | project Stream, Log, SessionPoolName",
        ],
        "hello-cli",
    );
    assert!(
        table.starts_with("Stream  Log        SessionPoolName\n"),
        "{table}"
    );
    assert!(
        table.contains("stdout  hello-cli  clipool\n(1 row)\n"),
        "{table}"
    );
    let out = cli(
        d,
        &[
            "query",
            "AppEnvSessionLifecycleLogs | where OperationName == 'SessionAllocated' | count",
            "--workspace",
            defaults::WORKSPACE,
            "--json",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(answer["tables"][0]["rows"], json!([[1]]), "{answer}");
    let out = cli(d, &["query", "AppEnvSessionPoolEvents | take 1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SemanticError") && err.contains("AppEnvSessionPoolEventLogs"),
        "{err}"
    );

    // logs: what the pool printed; --follow prints what comes next.
    let lines = cli_until(d, &["logs", "clipool"], "hello-cli");
    assert!(lines.contains(" cli-user stdout hello-cli\n"), "{lines}");
    let mut follow = Command::new(BIN)
        .args(["logs", "clipool", "--follow", "--since", "1h", "--data-dir"])
        .arg(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("logs --follow");
    let stdout = follow.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let mut said = false;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.iter().any(|l: &String| l.ends_with("after-follow")) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            if l.ends_with("hello-cli") && !said {
                say("after-follow").await;
                said = true;
            }
            seen.push(l);
        }
        assert!(Instant::now() < deadline, "--follow printed {seen:?}");
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(seen[0].ends_with("hello-cli"), "{seen:?}");
    emu.kill();
}
