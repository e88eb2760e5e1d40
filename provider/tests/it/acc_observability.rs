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
    let env = defaults::environment_id();
    let rg = defaults::RESOURCE_GROUP;
    let cfg = format!(
        r#"{HEADER}
resource "azuresessions_session_pool" "p" {{
  name                         = "dspool"
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
}}

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
