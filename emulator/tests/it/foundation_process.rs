//! Tests of the real `sessions-emulator` binary and of HTTPS: the ready line, `env`,
//! SIGTERM shutdown, persistence across SIGKILL, and the server certificate chaining to
//! `ca.pem`.

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessions_emulator::defaults;

use crate::support::process::{serve_args, EmulatorProcess as Emulator, BIN};

fn data_dir_args(dir: &Path) -> Vec<String> {
    serve_args(dir, false)
}

/// Resources the restart test creates and expects back: (path with api-version, body).
/// Session pools can add their own entry here.
fn restart_resources() -> Vec<(String, Value)> {
    let sub = format!("/subscriptions/{}", defaults::SUBSCRIPTION_ID);
    vec![
        (format!("{sub}/resourceGroups/restart-rg?api-version=2021-04-01"), json!({"location": "eastus", "tags": {"a": "b"}})),
        (
            format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.App/managedEnvironments/restart-env?api-version=2026-07-01"),
            json!({"location": "eastus"}),
        ),
        (
            format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.OperationalInsights/workspaces/restart-logs?api-version=2023-09-01"),
            json!({"location": "eastus"}),
        ),
        (
            format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.App/managedEnvironments/restart-env/providers/Microsoft.Insights/diagnosticSettings/d1?api-version=2021-05-01-preview"),
            json!({"properties": {"workspaceId": format!("{sub}/resourceGroups/restart-rg/providers/Microsoft.OperationalInsights/workspaces/restart-logs"), "logs": [{"category": "AppEnvSessionConsoleLogs", "enabled": true}]}}),
        ),
    ]
}

#[tokio::test]
async fn real_restart_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = data_dir_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let first = Emulator::start_with(&args);
    let client = first.client();
    let token = first.token(&client).await;
    let mut created = Vec::new();
    for (path, body) in restart_resources() {
        let (s, b) = first
            .arm(&client, &token, Method::PUT, &path, Some(&body))
            .await;
        assert!(s.is_success(), "PUT {path}: {s} {b}");
        created.push((path, b));
    }
    let ca_before = std::fs::read(dir.path().join("ca.pem")).expect("ca.pem");
    first.kill(); // SIGKILL: no chance to flush anything not yet durable.

    let second = Emulator::start_with(&args);
    assert_eq!(
        std::fs::read(dir.path().join("ca.pem")).expect("ca.pem"),
        ca_before,
        "the CA survives restarts"
    );
    let client = second.client();
    // The signing key survives too: the old token is still valid.
    for (path, before) in &created {
        let (s, after) = second.arm(&client, &token, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path} after restart: {after}");
        assert_eq!(&after, before, "{path} changed across the restart");
    }
    // Seeded defaults are still there (and not re-seeded over changes).
    let rg = format!("{}?api-version=2021-04-01", defaults::resource_group_id());
    let (s, _) = second.arm(&client, &token, Method::GET, &rg, None).await;
    assert_eq!(s, StatusCode::OK);
    second.kill();
}

#[tokio::test]
async fn real_serve_ready_line_env_and_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = data_dir_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut emu = Emulator::start_with(&args);
    let ready = emu.ready.clone();
    for k in [
        "endpoint",
        "caFile",
        "tenantId",
        "clientId",
        "clientSecret",
        "subscriptionId",
        "resourceGroup",
        "environmentId",
        "workspaceId",
        "workspaceCustomerId",
    ] {
        assert!(ready[k].is_string(), "{k} missing in {ready}");
    }
    assert_eq!(ready["event"], "ready");
    assert!(emu.endpoint().starts_with("https://127.0.0.1:"));
    assert!(!emu.endpoint().ends_with(":0"));
    let ready_file = dir.path().join("ready.json");
    assert!(ready_file.exists());

    let out = Command::new(BIN)
        .args(["env", "--data-dir", &dir.path().display().to_string()])
        .output()
        .expect("run env");
    assert!(
        out.status.success(),
        "env failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("export ARM_ENDPOINT='{}'", emu.endpoint())),
        "{text}"
    );
    assert!(text.contains("export SSL_CERT_FILE='"), "{text}");

    let pid = emu.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = emu.child.wait().expect("wait");
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    assert!(!ready_file.exists(), "ready.json is removed on clean exit");

    // `env` without a running emulator explains what to do.
    let out = Command::new(BIN)
        .args(["env", "--data-dir", &dir.path().display().to_string()])
        .output()
        .expect("run env");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sessions-emulator serve"));
}

#[tokio::test]
async fn https_server_certificate_chains_to_ca_pem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = sessions_emulator::tls::setup(dir.path(), None).expect("tls setup");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let endpoint = format!("https://{addr}");
    let state = sessions_emulator::state::AppState::new(
        sessions_emulator::config::Config::in_memory(&endpoint),
    )
    .expect("state");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sessions_emulator::server::run(
        listener,
        state,
        Some(setup.server_config.clone()),
        async {
            let _ = rx.await;
        },
    ));
    let pem = std::fs::read(&setup.ca_file).expect("ca.pem");
    for host in [
        format!("https://{addr}"),
        format!("https://localhost:{}", addr.port()),
    ] {
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
            .build()
            .expect("client");
        let resp = client
            .get(format!("{host}/health"))
            .send()
            .await
            .expect("TLS request verified by ca.pem");
        assert_eq!(resp.status(), StatusCode::OK);
    }
    // Without the CA the certificate is not trusted.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only(Vec::new())
        .build()
        .expect("client");
    assert!(untrusting
        .get(format!("{endpoint}/health"))
        .send()
        .await
        .is_err());
    // A second setup reuses the CA.
    let again = sessions_emulator::tls::setup(dir.path(), None).expect("tls setup");
    assert_eq!(again.ca_pem, setup.ca_pem);
    let _ = tx.send(());
    let _ = server.await;
}

/// A `ca.pem` that is garbage, empty, someone else's certificate or two certificates is
/// refused at start with what to do; it is never advertised in the ready line.
#[test]
fn garbage_ca_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = sessions_emulator::tls::setup(dir.path(), None).expect("tls setup");
    let other = tempfile::tempdir().expect("tempdir");
    let foreign = sessions_emulator::tls::setup(other.path(), None).expect("tls setup");
    let ca = dir.path().join(sessions_emulator::tls::CA_FILE);
    for (content, why) in [
        ("garbage\n".to_string(), "no certificate"),
        (String::new(), "no certificate"),
        (foreign.ca_pem.clone(), "does not belong"),
        (format!("{}{}", first.ca_pem, first.ca_pem), "more than one"),
        (
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".to_string(),
            "PEM",
        ),
    ] {
        std::fs::write(&ca, &content).expect("write");
        let err = match sessions_emulator::tls::setup(dir.path(), None) {
            Ok(_) => panic!("accepted a bad ca.pem ({why})"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(why) && err.contains("ca.pem"), "{why}: {err}");
    }
    std::fs::write(&ca, &first.ca_pem).expect("restore");
    assert!(sessions_emulator::tls::setup(dir.path(), None).is_ok());
    crate::support::figures::report(
        "foundation_process::garbage_ca_file_is_refused",
        5,
        0,
        "garbage, empty, another CA's, two certificates, broken PEM: 5 of 5 ca.pem refused at start naming the file; the right one accepted",
    );
}
