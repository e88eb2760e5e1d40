//! The documented setup for configurations with modules, with the built provider binary
//! through `dev_overrides` (no reattach): `terraform get` installs a local module without
//! touching providers, then `plan`/`apply` work; `terraform init` is not needed.

use sessions_emulator::defaults;

use crate::support::acc::{pool_path, Acc, API, HEADER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_local_module_with_terraform_get() {
    let acc = Acc::dev_override().await;
    let work = acc.work();
    let module = work.join("modules/pool");
    std::fs::create_dir_all(&module).expect("module dir");
    std::fs::write(
        module.join("main.tf"),
        format!(
            r#"{HEADER}
variable "name" {{
  type = string
}}

resource "azuresessions_session_pool" "this" {{
  name                         = var.name
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

output "id" {{
  value = azuresessions_session_pool.this.id
}}
"#,
            rg = defaults::RESOURCE_GROUP,
            env = defaults::environment_id()
        ),
    )
    .expect("module");
    acc.write_config(
        &work,
        &format!(
            "{HEADER}\nprovider \"azuresessions\" {{}}\n\nmodule \"pool\" {{\n  source = \"./modules/pool\"\n  name   = \"modulepool\"\n}}\n\noutput \"pool_id\" {{\n  value = module.pool.id\n}}\n"
        ),
    );
    // Before `terraform get`, Terraform asks for the module to be installed.
    let (code, out) = acc.plan_exit(&work, &[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Module not installed"), "{out}");
    acc.ok(&work, &["get", "-no-color"]).await;
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    assert!(acc.arm_exists(&pool_path("modulepool"), API).await);
    acc.destroy(&work).await;
    assert!(!acc.arm_exists(&pool_path("modulepool"), API).await);
    acc.finish().await;
}
