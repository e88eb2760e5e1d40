//! One acceptance test per credential flow the emulator can serve, with the real `terraform`
//! binary starting the built provider (`dev_overrides`, so the provider reads `ARM_*` and the
//! rest of the environment as it does for users):
//!
//! - client secret through `azure_identity` against the emulator over HTTPS with its CA;
//!   a wrong secret is one error at configure, not one per resource;
//! - Azure CLI and Azure Developer CLI through `azure_identity`, with `az` / `azd` stand-ins on
//!   `PATH` that print tokens the emulator issued;
//! - managed identity on App Service / Container Apps through `azure_identity`, with an
//!   `IDENTITY_ENDPOINT` stand-in handing out tokens the emulator issued.
//!
//! The emulator's token endpoint serves the client-credentials grant with a secret only, so
//! the client-assertion flows (OIDC token, workload identity) are covered by the wire-shape
//! tests (`azure_identity_flows`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sessions_emulator::defaults;

use crate::support::acc::{resource_values, Acc, HEADER};

const ADDR: &str = "azuresessions_session_pool.auth";

fn pool_config(names: &[&str]) -> String {
    let pools: String = names
        .iter()
        .map(|n| {
            format!(
                r#"
resource "azuresessions_session_pool" "{n}" {{
  name                         = "{n}"
  resource_group_name          = "{rg}"
  location                     = "eastus"
  container_app_environment_id = "{env}"
  container_type               = "CustomContainer"
  max_concurrent_sessions      = 3

  custom_container_template {{
    ingress_target_port = 8080
    container {{
      name  = "main"
      image = "localhost/sample-session:latest"
    }}
  }}
}}
"#,
                rg = defaults::RESOURCE_GROUP,
                env = defaults::environment_id()
            )
        })
        .collect();
    format!("{HEADER}\nprovider \"azuresessions\" {{}}\n{pools}")
}

/// Applies one pool, checks it runs, and destroys it.
async fn create_and_destroy(acc: &Acc) {
    let work = acc.work();
    acc.write_config(&work, &pool_config(&["auth"]));
    acc.apply(&work).await;
    let v = resource_values(&acc.state(&work).await, ADDR);
    assert_eq!(v["provisioning_state"], "Succeeded", "{v}");
    acc.expect_empty_plans(&work).await;
    acc.destroy(&work).await;
}

fn without_secret(env: &mut Vec<(String, String)>) {
    env.retain(|(k, _)| k != "ARM_CLIENT_SECRET" && k != "ARM_AUTHORITY_HOST");
}

/// Writes an executable `name` into `dir` running `script` with `sh`.
fn stand_in(dir: &Path, name: &str, script: &str) {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).expect("stand-in");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_client_secret_over_https() {
    let acc = Acc::https_dev_override(|_| {}).await;
    create_and_destroy(&acc).await;
    acc.finish().await;

    // A wrong secret: one error, at configure, however many pools the state has (each would
    // otherwise fail its own refresh).
    let mut acc = Acc::https_dev_override(|_| {}).await;
    let work = acc.work();
    acc.write_config(&work, &pool_config(&["one", "two", "three"]));
    acc.apply(&work).await;
    let secret = acc
        .env_value("ARM_CLIENT_SECRET")
        .expect("the emulator's client secret");
    acc.set_env("ARM_CLIENT_SECRET", "not-the-secret");
    let (code, out) = acc.plan_exit(&work, &[]).await;
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out.matches("Azure authentication failed").count(),
        1,
        "one error at configure:\n{out}"
    );
    assert!(out.contains("AADSTS7000215"), "{out}");
    acc.set_env("ARM_CLIENT_SECRET", &secret);
    acc.destroy(&work).await;
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_azure_cli() {
    let bin = tempfile::tempdir().expect("bin dir");
    let acc = Acc::dev_override_with_env(|env| {
        without_secret(env);
        env.push(("PATH".into(), path_with(bin.path())));
    })
    .await;
    std::fs::write(
        bin.path().join("arm.json"),
        cli_token(&acc.srv().arm_token()),
    )
    .unwrap();
    std::fs::write(
        bin.path().join("dp.json"),
        cli_token(&acc.srv().dataplane_token()),
    )
    .unwrap();
    let dir = bin.path().display().to_string();
    stand_in(
        bin.path(),
        "az",
        &format!(
            "[ \"$1 $2\" = \"account get-access-token\" ] || exit 2\ncase \"$*\" in\n  *dynamicsessions*) cat {dir}/dp.json ;;\n  *) cat {dir}/arm.json ;;\nesac"
        ),
    );
    create_and_destroy(&acc).await;
    acc.finish().await;
}

fn cli_token(token: &str) -> String {
    serde_json::json!({"accessToken": token, "expiresOn": "2099-01-01 00:00:00.000000",
        "expires_on": 4070908800i64, "tokenType": "Bearer"})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_azure_developer_cli() {
    let bin = tempfile::tempdir().expect("bin dir");
    let acc = Acc::dev_override_with_env(|env| {
        without_secret(env);
        env.push(("ARM_USE_AZD".into(), "true".into()));
        env.push(("PATH".into(), path_with(bin.path())));
    })
    .await;
    let azd =
        |t: &str| serde_json::json!({"token": t, "expiresOn": "2099-01-01T00:00:00Z"}).to_string();
    std::fs::write(bin.path().join("arm.json"), azd(&acc.srv().arm_token())).unwrap();
    std::fs::write(
        bin.path().join("dp.json"),
        azd(&acc.srv().dataplane_token()),
    )
    .unwrap();
    let dir = bin.path().display().to_string();
    stand_in(
        bin.path(),
        "azd",
        &format!(
            "[ \"$1 $2\" = \"auth token\" ] || exit 2\ncase \"$*\" in\n  *dynamicsessions*) cat {dir}/dp.json ;;\n  *) cat {dir}/arm.json ;;\nesac"
        ),
    );
    create_and_destroy(&acc).await;
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_managed_identity_app_service() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let identity = MockServer::start().await;
    let endpoint = format!("{}/msi/token", identity.uri());
    let acc = Acc::dev_override_with_env(|env| {
        without_secret(env);
        env.push(("ARM_USE_MSI".into(), "true".into()));
        env.push(("IDENTITY_ENDPOINT".into(), endpoint.clone()));
        env.push(("IDENTITY_HEADER".into(), "container-apps-header".into()));
    })
    .await;
    for (resource, token) in [
        ("https://management.azure.com", acc.srv().arm_token()),
        ("https://dynamicsessions.io", acc.srv().dataplane_token()),
    ] {
        Mock::given(method("GET"))
            .and(path("/msi/token"))
            .and(header("x-identity-header", "container-apps-header"))
            .and(query_param("resource", resource))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": token, "expires_on": "4070908800",
                "resource": resource, "token_type": "Bearer"
            })))
            .mount(&identity)
            .await;
    }
    create_and_destroy(&acc).await;
    assert!(
        !identity
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the managed identity endpoint was used"
    );
    acc.finish().await;
}
