//! Defaults converge both ways, with the real `terraform` binary against the in-process
//! emulator: an attribute with a documented default, set to something else and then removed
//! from the configuration, plans the change back to its default (checked attribute by
//! attribute), the apply succeeds and the service has the default; `timeouts` never plan a
//! change; azurerm-style HCL (the attributes both providers share, azurerm's optional ones
//! left out) reaches the service meaning what it means with azurerm.

use serde_json::{json, Value as Json};
use sessions_emulator::defaults;

use crate::support::acc::{change, pool_path, Acc, HEADER};

const ADDR: &str = "azuresessions_session_pool.d";

/// A pool whose optional settings are `settings` (HCL lines) and whose container and probe
/// add `container` and `probe` lines.
fn pool(name: &str, settings: &str, container: &str, probe: &str) -> String {
    let env = defaults::environment_id();
    let rg = defaults::RESOURCE_GROUP;
    format!(
        r#"{HEADER}
resource "azuresessions_session_pool" "d" {{
  name                         = "{name}"
  resource_group_name          = "{rg}"
  location                     = "eastus"
  container_app_environment_id = "{env}"
  container_type               = "CustomContainer"
  max_concurrent_sessions      = 5
{settings}
  custom_container_template {{
    ingress_target_port = 8080
    container {{
      name  = "main"
      image = "localhost/sample-session:latest"
{container}
      probe {{
        type = "Liveness"
        http_get {{
          path = "/health"
          port = 8080
        }}
{probe}
      }}
    }}
  }}
}}
"#
    )
}

/// `path` (`a.b.0.c`) inside a JSON value.
fn at<'a>(v: &'a Json, path: &str) -> &'a Json {
    path.split('.').fold(v, |cur, k| match k.parse::<usize>() {
        Ok(i) => &cur[i],
        Err(_) => &cur[k],
    })
}

const CONTAINER: &str = "custom_container_template.0.container.0";
const PROBE: &str = "custom_container_template.0.container.0.probe.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_removed_attributes_plan_back_to_their_defaults() {
    let acc = Acc::reattach().await;
    let work = acc.work();

    // Every defaulted attribute set to something else (OnContainerExit lifecycle).
    acc.write_config(
        &work,
        &pool(
            "defaultspool",
            "  network_egress_enabled = true\n  ready_session_instances = 2\n  lifecycle_type = \"OnContainerExit\"\n  max_alive_period_in_seconds = 600\n",
            "      cpu    = 0.5\n      memory = \"1Gi\"\n",
            "        period_seconds    = 20\n        failure_threshold = 5\n        timeout_seconds   = 5\n",
        ),
    );
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;

    // All of them removed: each plans its default, and the apply succeeds (the lifecycle goes
    // back to Timed with the default cooldown instead of failing on maxAlivePeriodInSeconds).
    acc.write_config(&work, &pool("defaultspool", "", "", ""));
    let plan = acc.plan_json(&work).await;
    let c = change(&plan, ADDR);
    assert_eq!(c["actions"], json!(["update"]), "{c:#}");
    let table: &[(&str, Json, Json)] = &[
        ("network_egress_enabled", json!(true), json!(false)),
        ("ready_session_instances", json!(2), json!(1)),
        ("lifecycle_type", json!("OnContainerExit"), json!("Timed")),
        ("cooldown_period_in_seconds", Json::Null, json!(300)),
        ("max_alive_period_in_seconds", json!(600), Json::Null),
        (&format!("{CONTAINER}.cpu"), json!(0.5), json!(0.25)),
        (&format!("{CONTAINER}.memory"), json!("1Gi"), json!("0.5Gi")),
        (&format!("{PROBE}.period_seconds"), json!(20), json!(10)),
        (&format!("{PROBE}.failure_threshold"), json!(5), json!(3)),
        (&format!("{PROBE}.timeout_seconds"), json!(5), json!(1)),
    ];
    for (path, before, after) in table {
        assert_eq!(at(&c["before"], path), before, "before {path}");
        assert_eq!(at(&c["after"], path), after, "after {path}");
    }
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    let remote = acc.arm_get(&pool_path("defaultspool")).await;
    let p = &remote["properties"];
    assert_eq!(p["sessionNetworkConfiguration"]["status"], "EgressDisabled");
    assert_eq!(p["scaleConfiguration"]["readySessionInstances"], 1);
    assert_eq!(
        p["dynamicPoolConfiguration"]["lifecycleConfiguration"],
        json!({"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300})
    );
    let ct = &p["customContainerTemplate"]["containers"][0];
    assert_eq!(ct["resources"], json!({"cpu": 0.25, "memory": "0.5Gi"}));
    assert_eq!(ct["probes"][0]["failureThreshold"], 3);

    // Timed with another cooldown, removed again: back to 300.
    acc.write_config(
        &work,
        &pool(
            "defaultspool",
            "  cooldown_period_in_seconds = 900\n",
            "",
            "",
        ),
    );
    acc.apply(&work).await;
    acc.write_config(&work, &pool("defaultspool", "", "", ""));
    let c = change(&acc.plan_json(&work).await, ADDR);
    assert_eq!(c["before"]["cooldown_period_in_seconds"], 900);
    assert_eq!(c["after"]["cooldown_period_in_seconds"], 300);
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;

    // managed_identity_setting.lifecycle: None -> (removed) -> Main, a replacement (the block
    // is create-only, as in azurerm).
    let identity = "  identity {\n    type = \"SystemAssigned\"\n  }\n";
    acc.write_config(
        &work,
        &pool(
            "defaultspool",
            &format!("{identity}  managed_identity_setting {{\n    identity  = \"System\"\n    lifecycle = \"None\"\n  }}\n"),
            "",
            "",
        ),
    );
    acc.apply(&work).await;
    acc.write_config(
        &work,
        &pool(
            "defaultspool",
            &format!("{identity}  managed_identity_setting {{\n    identity = \"System\"\n  }}\n"),
            "",
            "",
        ),
    );
    let c = change(&acc.plan_json(&work).await, ADDR);
    assert_eq!(
        at(&c["after"], "managed_identity_setting.0.lifecycle"),
        "Main",
        "{c:#}"
    );
    assert_eq!(c["actions"], json!(["delete", "create"]), "{c:#}");
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    acc.destroy(&work).await;
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_timeouts_never_plan_a_change() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let base = pool("timeoutpool", "", "", "");
    let with_timeouts = |timeouts: &str| {
        base.replace(
            "  max_concurrent_sessions      = 5\n",
            &format!("  max_concurrent_sessions      = 5\n{timeouts}"),
        )
    };
    acc.write_config(&work, &base);
    acc.apply(&work).await;
    let modified = |pool: &Json| pool["systemData"]["lastModifiedAt"].clone();
    let before = modified(&acc.arm_get(&pool_path("timeoutpool")).await);
    assert!(before.is_string(), "the emulator records writes: {before}");
    for timeouts in [
        "  timeouts {\n    create = \"45m\"\n    delete = \"1h\"\n  }\n",
        "  timeouts {\n    read = \"2m\"\n  }\n",
        "",
    ] {
        acc.write_config(&work, &with_timeouts(timeouts));
        let (code, out) = acc.plan_exit(&work, &[]).await;
        assert_eq!(code, 0, "timeouts planned a change:\n{out}");
        // Applying a timeouts-only change sends nothing to the service.
        let out = acc
            .ok(
                &work,
                &["apply", "-input=false", "-no-color", "-auto-approve"],
            )
            .await;
        assert!(out.contains("No changes."), "{out}");
    }
    assert_eq!(
        modified(&acc.arm_get(&pool_path("timeoutpool")).await),
        before,
        "a timeouts-only change wrote the pool"
    );

    // Imported into a configuration with a `timeouts` block: no diff either.
    let imported = acc.fresh_dir("imported");
    acc.write_config(
        &imported,
        &with_timeouts("  timeouts {\n    create = \"2h\"\n    read = \"1m\"\n  }\n"),
    );
    acc.import(&imported, ADDR, &pool_path("timeoutpool")).await;
    acc.expect_empty_plans(&imported).await;
    // A bad duration is refused at plan, naming the attribute.
    acc.write_config(
        &work,
        &base.replace(
            "  max_concurrent_sessions      = 5\n",
            "  max_concurrent_sessions      = 5\n  timeouts {\n    create = \"soon\"\n  }\n",
        ),
    );
    let (code, out) = acc.plan_exit(&work, &[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Invalid value for `create`"), "{out}");
    acc.write_config(&work, &base);
    acc.destroy(&work).await;
    acc.finish().await;
}

/// HCL written for azurerm's `azurerm_container_app_session_pool` (its required attributes,
/// its optional ones left out) means the same here: what reaches the service is what azurerm
/// would send (or what the service would default to when azurerm sends nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_azurerm_style_hcl_means_the_same() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let env = defaults::environment_id();
    let rg = defaults::RESOURCE_GROUP;
    acc.write_config(
        &work,
        &format!(
            r#"{HEADER}
resource "azuresessions_session_pool" "azurerm" {{
  name                         = "azurermpool"
  resource_group_name          = "{rg}"
  location                     = "eastus"
  container_app_environment_id = "{env}"
  container_type               = "CustomContainer"
  pool_management_type         = "Dynamic"
  max_concurrent_sessions      = 5
  ready_session_instances      = 1
  lifecycle_type               = "Timed"
  cooldown_period_in_seconds   = 300

  identity {{
    type = "SystemAssigned"
  }}

  managed_identity_setting {{
    identity = "System"
  }}

  secret {{
    name  = "pw"
    value = "x"
  }}

  custom_container_template {{
    ingress_target_port = 8080
    container {{
      name  = "main"
      image = "localhost/sample-session:latest"
      env {{
        name        = "PW"
        secret_name = "pw"
      }}
    }}
  }}
}}
"#
        ),
    );
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    let p = acc.arm_get(&pool_path("azurermpool")).await["properties"].clone();
    // (azurerm attribute, ARM JSON path under `properties`, expected value)
    let table: &[(&str, &str, Json)] = &[
        (
            "managed_identity_setting.lifecycle (absent)",
            "managedIdentitySettings.0.lifecycle",
            json!("Main"),
        ),
        (
            "managed_identity_setting.identity",
            "managedIdentitySettings.0.identity",
            json!("system"),
        ),
        (
            "network_egress_enabled (absent)",
            "sessionNetworkConfiguration.status",
            json!("EgressDisabled"),
        ),
        (
            "container.cpu (absent)",
            "customContainerTemplate.containers.0.resources.cpu",
            json!(0.25),
        ),
        (
            "container.memory (absent)",
            "customContainerTemplate.containers.0.resources.memory",
            json!("0.5Gi"),
        ),
        (
            "lifecycle_type",
            "dynamicPoolConfiguration.lifecycleConfiguration.lifecycleType",
            json!("Timed"),
        ),
        (
            "cooldown_period_in_seconds",
            "dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds",
            json!(300),
        ),
        (
            "max_alive_period_in_seconds (absent)",
            "dynamicPoolConfiguration.lifecycleConfiguration.maxAlivePeriodInSeconds",
            Json::Null,
        ),
        (
            "container.env.secret_name",
            "customContainerTemplate.containers.0.env.0.secretRef",
            json!("pw"),
        ),
        (
            "ingress_target_port",
            "customContainerTemplate.ingress.targetPort",
            json!(8080),
        ),
        (
            "ready_session_instances",
            "scaleConfiguration.readySessionInstances",
            json!(1),
        ),
        (
            "pool_management_type",
            "poolManagementType",
            json!("Dynamic"),
        ),
    ];
    for (attr, path, want) in table {
        assert_eq!(at(&p, path), want, "{attr} -> properties.{path}");
    }
    acc.destroy(&work).await;
    acc.finish().await;
}
