//! Acceptance tests with the real `terraform` binary against the in-process emulator for
//! `azuresessions_diagnostic_setting` (create, empty plans, import + verify, destroy) and the
//! data sources `azuresessions_session_pool` and `azuresessions_sessions`.

use crate::support::acc::{resource_values, Acc};
use sessions_emulator::defaults;

const HEADER: &str = r#"
terraform {
  required_providers {
    azuresessions = {
      source = "azuresessions/azuresessions"
    }
  }
}
"#;

fn diag_config() -> String {
    format!(
        r#"{HEADER}
resource "azuresessions_diagnostic_setting" "test" {{
  name                           = "acc-session-logs"
  target_resource_id             = "{env}"
  log_analytics_workspace_id     = "{ws}"
  log_analytics_destination_type = "Dedicated"

  enabled_log {{
    category = "AppEnvSessionConsoleLogs"
  }}
  enabled_log {{
    category = "AppEnvSessionLifeCycleLogs"
  }}
}}
"#,
        env = defaults::environment_id(),
        ws = defaults::workspace_id()
    )
}

/// The pool `azuresessions_session_pool.p` named `name` (the sample image, one ready session),
/// with `extra` lines inside its block.
fn sample_pool(name: &str, extra: &str) -> String {
    format!(
        r#"
resource "azuresessions_session_pool" "p" {{
  name                         = "{name}"
  resource_group_name          = "{rg}"
  location                     = "eastus"
  container_app_environment_id = "{env}"
  container_type               = "CustomContainer"
  max_concurrent_sessions      = 3
  ready_session_instances      = 1
  cooldown_period_in_seconds   = 300
  custom_container_template {{
    ingress_target_port = 8080
    container {{
      name   = "main"
      image  = "localhost/sample-session:latest"
      cpu    = 0.25
      memory = "0.5Gi"
    }}
  }}
{extra}}}
"#,
        rg = defaults::RESOURCE_GROUP,
        env = defaults::environment_id(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_diagnostic_setting_lifecycle() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    acc.write_config(&work, &diag_config());
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    let addr = "azuresessions_diagnostic_setting.test";
    let before = resource_values(&acc.state(&work).await, addr);
    let id = before["id"].as_str().expect("id").to_string();
    assert_eq!(
        id,
        format!("{}|acc-session-logs", defaults::environment_id())
    );
    let setting = format!(
        "{}/providers/Microsoft.Insights/diagnosticSettings/acc-session-logs",
        defaults::environment_id()
    );
    assert!(acc.arm_exists(&setting, "2021-05-01-preview").await);

    let other = acc.fresh_dir("import");
    acc.write_config(&other, &diag_config());
    acc.ok(&other, &["import", "-input=false", "-no-color", addr, &id])
        .await;
    let imported = resource_values(&acc.state(&other).await, addr);
    for key in [
        "id",
        "name",
        "target_resource_id",
        "log_analytics_workspace_id",
        "log_analytics_destination_type",
        "enabled_log",
        "enabled_metric",
    ] {
        assert_eq!(imported[key], before[key], "imported `{key}` differs");
    }
    acc.expect_empty_plans(&other).await;

    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    assert!(!acc.arm_exists(&setting, "2021-05-01-preview").await);
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_data_sources_read_pool_and_sessions() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let pool = sample_pool("dspool", "");
    let cfg = format!(
        r#"{HEADER}
{pool}

data "azuresessions_session_pool" "by_name" {{
  name                = azuresessions_session_pool.p.name
  resource_group_name = azuresessions_session_pool.p.resource_group_name
}}

data "azuresessions_sessions" "all" {{
  session_pool_id = azuresessions_session_pool.p.id
}}

output "endpoint_matches" {{
  value = data.azuresessions_session_pool.by_name.pool_management_endpoint == azuresessions_session_pool.p.pool_management_endpoint
}}

output "session_count" {{
  value = length(data.azuresessions_sessions.all.sessions)
}}
"#
    );
    acc.write_config(&work, &cfg);
    acc.apply(&work).await;
    let state = acc.state(&work).await;
    assert_eq!(
        state["values"]["outputs"]["endpoint_matches"]["value"], true,
        "{state}"
    );
    assert!(
        state["values"]["outputs"]["session_count"]["value"]
            .as_u64()
            .is_some(),
        "{state}"
    );
    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    acc.finish().await;
}

/// The issue's "done when", end to end: a diagnostic setting and a pool applied by
/// Terraform, a session that prints a line, and the line found with the KQL a user types in
/// the portal (through the Log Analytics query API, as the SDKs call it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_diagnostic_setting_routes_session_lines_to_kql() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let cfg = format!(
        "{}\n{}",
        diag_config(),
        sample_pool(
            "kqlpool",
            "  depends_on = [azuresessions_diagnostic_setting.test]\n"
        )
    );
    acc.write_config(&work, &cfg);
    acc.apply(&work).await;
    let pool = resource_values(&acc.state(&work).await, "azuresessions_session_pool.p");
    let endpoint = pool["pool_management_endpoint"]
        .as_str()
        .expect("pool_management_endpoint")
        .trim_end_matches('/')
        .to_string();

    let srv = acc.srv();
    let line = "hello from a terraform-managed pool";
    let resp = srv
        .client
        .post(format!(
            "{endpoint}/log?identifier=kql-user&stream=stdout&line=hello%20from%20a%20terraform-managed%20pool"
        ))
        .bearer_auth(srv.dataplane_token())
        .send()
        .await
        .expect("data plane");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );

    let kql = "AppEnvSessionConsoleLogs | where SessionPoolName == 'kqlpool' | project SessionId, Stream, Log";
    let mut last = serde_json::Value::Null;
    let mut found = false;
    for _ in 0..200 {
        let resp = srv
            .client
            .post(srv.url(&format!(
                "/v1/workspaces/{}/query",
                defaults::WORKSPACE_CUSTOMER_ID
            )))
            .bearer_auth(srv.token_for(defaults::LOG_ANALYTICS_AUDIENCE))
            .json(&serde_json::json!({"query": kql}))
            .send()
            .await
            .expect("query");
        assert_eq!(resp.status(), 200);
        last = resp.json().await.expect("query JSON");
        let rows = last["tables"][0]["rows"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if rows
            .iter()
            .any(|r| r[0] == "kql-user" && r[1] == "stdout" && r[2] == line)
        {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        found,
        "the printed line never reached the workspace: {last}"
    );

    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    acc.finish().await;
}
