//! Import converges, with the real `terraform` binary against the in-process emulator: for
//! every example under `examples/` (but `examples/modules`: the same resources inside a module,
//! applied and converged by `acc_modules`) and for a maximal configuration that sets every attribute
//! explicitly (every service default spelled out too), both
//!
//! - `terraform import` into a fresh state with the same configuration, and
//! - an `import {}` block with `terraform plan -generate-config-out` in an empty configuration
//!
//! are followed by empty plans (the generated configuration is valid and plans clean). A
//! default changed on the server side is still drift.
//!
//! The one documented exception: the service never returns secret values, so after an import
//! a configuration that gives `secret { value = ... }` plans that value once (applying re-sends
//! it). The import runs therefore use the configuration with the secret values left out (as
//! the generated configuration has them, and as the service keeps them), and check that the
//! full configuration differs from the imported state in the secret values only.

use serde_json::json;
use sessions_emulator::defaults;

use crate::support::acc::{change, pool_path, resource_values, Acc, HEADER};

/// Every attribute of `azuresessions_session_pool` set, defaults included.
fn maximal() -> String {
    let sub = defaults::SUBSCRIPTION_ID;
    let rg = defaults::RESOURCE_GROUP;
    let env = defaults::environment_id();
    let uai = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pool-identity"
    );
    format!(
        r#"{HEADER}
resource "azuresessions_session_pool" "max" {{
  name                         = "maxpool"
  resource_group_name          = "{rg}"
  location                     = "eastus"
  container_app_environment_id = "{env}"
  container_type               = "CustomContainer"
  pool_management_type         = "Dynamic"
  max_concurrent_sessions      = 5
  ready_session_instances      = 1
  lifecycle_type               = "Timed"
  cooldown_period_in_seconds   = 300
  network_egress_enabled       = false
  tags = {{
    team = "platform"
    env  = "test"
  }}

  secret {{
    name  = "token"
    value = "not-so-secret"
  }}
  secret {{
    name  = "registry-password"
    value = "hunter2"
  }}

  identity {{
    type         = "SystemAssigned, UserAssigned"
    identity_ids = ["{uai}"]
  }}

  managed_identity_setting {{
    identity  = "System"
    lifecycle = "Main"
  }}
  managed_identity_setting {{
    identity  = "{uai}"
    lifecycle = "None"
  }}

  custom_container_template {{
    ingress_target_port = 8080

    registry {{
      server               = "myregistry.azurecr.io"
      username             = "puller"
      password_secret_name = "registry-password"
    }}

    container {{
      name    = "main"
      image   = "localhost/sample-session:latest"
      command = ["/sample-session"]
      args    = ["--port", "8080"]
      cpu     = 0.25
      memory  = "0.5Gi"

      env {{
        name  = "MODE"
        value = "test"
      }}
      env {{
        name        = "TOKEN"
        secret_name = "token"
      }}

      probe {{
        type                             = "Liveness"
        initial_delay_seconds            = 1
        period_seconds                   = 10
        failure_threshold                = 3
        success_threshold                = 1
        timeout_seconds                  = 1
        termination_grace_period_seconds = 30
        http_get {{
          path   = "/health"
          port   = 8080
          scheme = "HTTP"
          http_header {{
            name  = "X-Probe"
            value = "terraform"
          }}
        }}
      }}

      probe {{
        type              = "Startup"
        period_seconds    = 10
        failure_threshold = 3
        success_threshold = 1
        timeout_seconds   = 1
        tcp_socket {{
          port = 8080
        }}
      }}
    }}
  }}

  timeouts {{
    create = "10m"
    read   = "5m"
    update = "10m"
    delete = "10m"
  }}
}}
"#
    )
}

/// The examples Terraform 1.11 can run (all but the action), as one configuration.
fn examples() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
    [
        "provider/provider.tf",
        "resources/azuresessions_session_pool/resource.tf",
        "resources/azuresessions_diagnostic_setting/resource.tf",
        "data-sources/azuresessions_session_pool/data-source.tf",
        "data-sources/azuresessions_sessions/data-source.tf",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(format!("{root}{f}")).expect(f))
    .collect::<Vec<_>>()
    .join("\n")
}

fn quickstart() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/main.tf"
    ))
    .expect("examples/quickstart/main.tf")
}

/// `hcl` without the `value = ...` lines of its `secret { }` blocks.
fn without_secret_values(hcl: &str) -> String {
    let mut out = Vec::new();
    let mut in_secret = false;
    for line in hcl.lines() {
        let t = line.trim_start();
        if t.starts_with("secret {") {
            in_secret = true;
        } else if in_secret && t.starts_with('}') {
            in_secret = false;
        } else if in_secret && (t.starts_with("value ") || t.starts_with("value=")) {
            continue;
        }
        out.push(line);
    }
    out.join("\n")
}

/// A state or plan value with every secret value masked (and, for a planned update, the
/// values only the apply knows).
fn mask_secret_values(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(secrets) = v["secret"].as_array_mut() {
        for s in secrets {
            s["value"] = json!("(masked)");
        }
    }
    if let Some(o) = v.as_object_mut() {
        for k in ["node_count", "provisioning_state"] {
            o.remove(k);
        }
    }
    v
}

fn diag_id(target: &str, name: &str) -> String {
    format!("{target}|{name}")
}

/// Applies `config`, then imports every `(address, id)` both ways and expects empty plans.
async fn import_converges(acc: &Acc, name: &str, config: &str, imports: &[(&str, String)]) {
    let work = acc.fresh_dir(&format!("{name}-work"));
    acc.write_config(&work, config);
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;

    // `terraform import` into a fresh state with the same configuration (secret values left
    // out: the service never returns them).
    let cmd = acc.fresh_dir(&format!("{name}-import"));
    acc.write_config(&cmd, &without_secret_values(config));
    for (address, id) in imports {
        acc.import(&cmd, address, id).await;
    }
    acc.expect_empty_plans(&cmd).await;
    for (address, _) in imports {
        assert_eq!(
            mask_secret_values(resource_values(&acc.state(&cmd).await, address)),
            mask_secret_values(resource_values(&acc.state(&work).await, address)),
            "{name}: imported {address} differs from the created one"
        );
    }
    // With the secret values given, they are the only difference.
    acc.write_config(&cmd, config);
    let plan = acc.plan_json(&cmd).await;
    for (address, _) in imports {
        let c = change(&plan, address);
        if c["actions"] != json!(["no-op"]) {
            assert_eq!(c["actions"], json!(["update"]), "{name}: {c:#}");
            assert_eq!(
                mask_secret_values(c["before"].clone()),
                mask_secret_values(c["after"].clone()),
                "{name}: {address} differs in more than secret values"
            );
        }
    }

    // `import {}` blocks + `plan -generate-config-out` in an empty configuration.
    let gen = acc.fresh_dir(&format!("{name}-generate"));
    let blocks: String = imports
        .iter()
        .map(|(address, id)| format!("import {{\n  to = {address}\n  id = \"{id}\"\n}}\n"))
        .collect();
    acc.write_config(
        &gen,
        &format!("{HEADER}\nprovider \"azuresessions\" {{}}\n{blocks}"),
    );
    acc.ok(
        &gen,
        &[
            "plan",
            "-input=false",
            "-no-color",
            "-generate-config-out=generated.tf",
        ],
    )
    .await;
    let generated = std::fs::read_to_string(gen.join("generated.tf")).expect("generated.tf");
    let plan = acc.plan_json(&gen).await;
    for (address, _) in imports {
        let c = change(&plan, address);
        assert_eq!(
            c["actions"],
            json!(["no-op"]),
            "{name}: importing {address} with the generated configuration plans a change:\n{c:#}\n{generated}"
        );
        assert!(c["importing"].is_object(), "{name}: {c:#}");
    }
    acc.ok(
        &gen,
        &["apply", "-input=false", "-no-color", "-auto-approve"],
    )
    .await;
    acc.expect_empty_plans(&gen).await;

    acc.destroy(&work).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_import_converges_for_the_maximal_configuration() {
    let acc = Acc::reattach().await;
    import_converges(
        &acc,
        "maximal",
        &maximal(),
        &[("azuresessions_session_pool.max", pool_path("maxpool"))],
    )
    .await;
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_import_converges_for_every_example() {
    let acc = Acc::reattach().await;
    let pool = pool_path("examplepool");
    let env = defaults::environment_id();
    import_converges(
        &acc,
        "examples",
        &examples(),
        &[
            ("azuresessions_session_pool.example", pool.clone()),
            (
                "azuresessions_diagnostic_setting.sessions",
                diag_id(&env, "session-logs"),
            ),
            (
                "azuresessions_diagnostic_setting.pool_metrics",
                diag_id(&pool, "pool-metrics"),
            ),
        ],
    )
    .await;
    import_converges(
        &acc,
        "quickstart",
        &quickstart(),
        &[(
            "azuresessions_session_pool.quickstart",
            pool_path("quickstart"),
        )],
    )
    .await;
    acc.finish().await;
}

/// A service-side default that changes behind Terraform's back is drift, also for an
/// attribute the configuration leaves out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_a_changed_server_default_is_drift() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let config = quickstart();
    acc.write_config(&work, &config);
    acc.apply(&work).await;
    let path = pool_path("quickstart");
    let mut pool = acc.arm_get(&path).await;
    pool["properties"]["customContainerTemplate"]["containers"][0]["probes"][0]
        ["failureThreshold"] = json!(5);
    pool["properties"]["sessionNetworkConfiguration"] = json!({"status": "EgressEnabled"});
    acc.arm_put_and_wait(&path, &pool).await;
    let plan = acc.plan_json(&work).await;
    let c = change(&plan, "azuresessions_session_pool.quickstart");
    assert_eq!(c["actions"], json!(["update"]), "{c:#}");
    let probe = |v: &serde_json::Value| {
        v["custom_container_template"][0]["container"][0]["probe"][0]["failure_threshold"].clone()
    };
    assert_eq!(probe(&c["before"]), json!(5));
    assert_eq!(probe(&c["after"]), json!(3));
    assert_eq!(c["before"]["network_egress_enabled"], json!(true));
    assert_eq!(c["after"]["network_egress_enabled"], json!(false));
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    acc.destroy(&work).await;
    acc.finish().await;
}
