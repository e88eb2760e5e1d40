//! Acceptance tests of `azuresessions_session_pool` with the real `terraform` binary against
//! the in-process emulator (fake VM backend): the terraform-plugin-testing steps (plan, apply,
//! empty plans without/with refresh, update in place, replace, import + verify, destroy and
//! check it is gone), the quickstart example, and one run through `dev_overrides`.

use crate::support::acc::{
    actions, load_sample_image, pool_path, resource_values, state_resource, Acc, API,
};
use sessions_emulator::defaults;

const ADDR: &str = "azuresessions_session_pool.test";

fn pool_config(name: &str, location: &str, period: u32) -> String {
    let env = defaults::environment_id();
    let rg = defaults::RESOURCE_GROUP;
    format!(
        r#"
terraform {{
  required_providers {{
    azuresessions = {{
      source = "azuresessions/azuresessions"
    }}
  }}
}}

resource "azuresessions_session_pool" "test" {{
  name                         = "{name}"
  resource_group_name          = "{rg}"
  location                     = "{location}"
  container_app_environment_id = "{env}"
  container_type               = "CustomContainer"
  pool_management_type         = "Dynamic"
  max_concurrent_sessions      = 5
  ready_session_instances      = 1
  lifecycle_type               = "Timed"
  cooldown_period_in_seconds   = 300

  secret {{
    name  = "token"
    value = "not-so-secret"
  }}

  custom_container_template {{
    ingress_target_port = 8080
    container {{
      name   = "main"
      image  = "localhost/sample-session:latest"
      cpu    = 0.25
      memory = "0.5Gi"
      env {{
        name        = "TOKEN"
        secret_name = "token"
      }}
      probe {{
        type = "Liveness"
        http_get {{
          path = "/health"
          port = 8080
        }}
        period_seconds = {period}
      }}
    }}
  }}

  tags = {{
    purpose = "acceptance"
  }}
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_session_pool_lifecycle() {
    let acc = Acc::reattach().await;
    let work = acc.work();

    // Step 1: create.
    acc.write_config(&work, &pool_config("accpool", "eastus", 10));
    let plan = acc.apply(&work).await;
    assert_eq!(actions(&plan, ADDR), vec!["create"]);
    acc.expect_empty_plans(&work).await;
    let state = acc.state(&work).await;
    let v = resource_values(&state, ADDR);
    assert_eq!(v["id"], pool_path("accpool"));
    assert!(
        v["pool_management_endpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("http")),
        "{v}"
    );
    assert!(acc.arm_exists(&pool_path("accpool"), API).await);

    // Step 2: update in place (probe period).
    acc.write_config(&work, &pool_config("accpool", "eastus", 20));
    let plan = acc.apply(&work).await;
    assert_eq!(actions(&plan, ADDR), vec!["update"]);
    acc.expect_empty_plans(&work).await;
    let v = resource_values(&acc.state(&work).await, ADDR);
    assert_eq!(
        v["custom_container_template"][0]["container"][0]["probe"][0]["period_seconds"],
        20
    );

    // Step 3: replace (name is create-only).
    acc.write_config(&work, &pool_config("accpool2", "eastus", 20));
    let plan = acc.apply(&work).await;
    let a = actions(&plan, ADDR);
    assert!(
        a.contains(&"delete".to_string()) && a.contains(&"create".to_string()),
        "{a:?}"
    );
    acc.expect_empty_plans(&work).await;
    assert!(
        !acc.arm_exists(&pool_path("accpool"), API).await,
        "old pool deleted"
    );
    let before_import = resource_values(&acc.state(&work).await, ADDR);

    // Step 4: import elsewhere and verify (secret values are never returned, like azurerm's
    // ImportStateVerifyIgnore for secrets).
    let other = acc.fresh_dir("import");
    acc.write_config(&other, &pool_config("accpool2", "eastus", 20));
    acc.ok(
        &other,
        &[
            "import",
            "-input=false",
            "-no-color",
            ADDR,
            &pool_path("accpool2"),
        ],
    )
    .await;
    let imported = resource_values(&acc.state(&other).await, ADDR);
    for key in [
        "id",
        "name",
        "resource_group_name",
        "location",
        "container_app_environment_id",
        "container_type",
        "pool_management_type",
        "max_concurrent_sessions",
        "ready_session_instances",
        "lifecycle_type",
        "cooldown_period_in_seconds",
        "network_egress_enabled",
        "tags",
        "pool_management_endpoint",
        "custom_container_template",
        "identity",
        "managed_identity_setting",
    ] {
        assert_eq!(
            imported[key], before_import[key],
            "imported `{key}` differs"
        );
    }
    assert_eq!(imported["secret"][0]["name"], "token");

    // Step 5: destroy and check it is gone.
    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    assert!(
        !acc.arm_exists(&pool_path("accpool2"), API).await,
        "pool deleted"
    );
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_drift_is_detected() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    acc.write_config(&work, &pool_config("driftpool", "eastus", 10));
    acc.apply(&work).await;
    // Delete the pool behind Terraform's back: the refresh plan wants to create it again.
    let resp = acc
        .srv()
        .arm(
            reqwest::Method::DELETE,
            &format!("{}?api-version={API}", pool_path("driftpool")),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    for _ in 0..200 {
        if !acc.arm_exists(&pool_path("driftpool"), API).await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let plan = acc.plan_json(&work).await;
    assert_eq!(actions(&plan, ADDR), vec!["create"]);
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_quickstart_applies_and_destroys() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let qs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/main.tf"
    ))
    .expect("examples/quickstart/main.tf");
    acc.write_config(&work, &qs);
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    let path = pool_path("quickstart");
    assert!(acc.arm_exists(&path, API).await);
    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    assert!(!acc.arm_exists(&path, API).await);
    acc.finish().await;
}

/// Every example under `examples/` that Terraform 1.11 can run (all but the action), applied
/// together as one configuration and destroyed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_examples_apply_and_destroy() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
    let config: String = [
        "provider/provider.tf",
        "resources/azuresessions_session_pool/resource.tf",
        "resources/azuresessions_diagnostic_setting/resource.tf",
        "data-sources/azuresessions_session_pool/data-source.tf",
        "data-sources/azuresessions_sessions/data-source.tf",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(format!("{root}{f}")).expect(f))
    .collect::<Vec<_>>()
    .join("\n");
    acc.write_config(&work, &config);
    acc.apply(&work).await;
    let path = pool_path("examplepool");
    assert!(acc.arm_exists(&path, API).await);
    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    assert!(!acc.arm_exists(&path, API).await);
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_dev_overrides_binary() {
    let acc = Acc::dev_override().await;
    let work = acc.work();
    acc.write_config(&work, &pool_config("binpool", "eastus", 10));
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    assert!(acc.arm_exists(&pool_path("binpool"), API).await);
    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    assert!(!acc.arm_exists(&pool_path("binpool"), API).await);
    acc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_write_only_secret_and_plan_validation() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    // Plan-time validation names the attribute (ready must stay below max).
    let bad = pool_config("badpool", "eastus", 10).replace(
        "ready_session_instances      = 1",
        "ready_session_instances      = 5",
    );
    acc.write_config(&work, &bad);
    let out = acc.tf(&work, &["plan", "-input=false", "-no-color"]).await;
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(text.contains("ready_session_instances"), "{text}");

    // What the service refuses is refused at plan, each error at its attribute (Terraform
    // shows the configuration line): a bad secret name, a bad container name, an empty image
    // and an environment variable set twice. Nothing reaches the service.
    let bad = pool_config("badpool", "eastus", 10)
        .replace("name  = \"token\"", "name  = \"Token_1\"")
        .replace("secret_name = \"token\"", "secret_name = \"Token_1\"")
        .replace("name   = \"main\"", "name   = \"Main_Container\"")
        .replace(
            "image  = \"localhost/sample-session:latest\"",
            "image  = \"\"",
        )
        .replace(
            "      env {\n",
            "      env {\n        name  = \"TOKEN\"\n        value = \"twice\"\n      }\n      env {\n",
        );
    acc.write_config(&work, &bad);
    let (code, text) = acc.plan_exit(&work, &[]).await;
    assert_eq!(code, 1, "{text}");
    for (detail, line) in [
        ("A secret `name` must be", "name  = \"Token_1\""),
        ("A container `name` must be", "name   = \"Main_Container\""),
        ("`image` must not be empty", "image  = \"\""),
        ("\"TOKEN\" is set more than once", "name        = \"TOKEN\""),
    ] {
        assert!(text.contains(detail), "missing {detail:?}:\n{text}");
        assert!(text.contains(line), "error not at {line:?}:\n{text}");
    }
    assert!(!acc.arm_exists(&pool_path("badpool"), API).await);

    // A write-only secret (Terraform 1.11+) is sent but never stored in state.
    let wo = pool_config("wopool", "eastus", 10).replace(
        "value = \"not-so-secret\"",
        "value_wo = \"write-only-secret\"\n    value_wo_version = 1",
    );
    acc.write_config(&work, &wo);
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    let raw = std::fs::read_to_string(work.join("terraform.tfstate")).expect("state file");
    assert!(
        !raw.contains("write-only-secret"),
        "write-only value leaked into state"
    );
    // Bumping the version re-sends the value (an in-place update).
    acc.write_config(
        &work,
        &wo.replace("value_wo_version = 1", "value_wo_version = 2"),
    );
    let plan = acc.apply(&work).await;
    assert_eq!(actions(&plan, ADDR), vec!["update"]);
    acc.expect_empty_plans(&work).await;
    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    acc.finish().await;
}

/// A create whose image cannot be pulled fails after the pool exists: the state holds the pool
/// tainted (no import needed); once the image is loaded the next apply replaces it and the
/// pool runs. An update to an image that cannot be pulled then leaves the pool `Failed`: the
/// next plan (same configuration) is not empty, and once the image is there the apply heals
/// it. Real QEMU sessions (the qemu backend with its own data dir).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_failed_create_is_tainted_and_replaced() {
    const IMAGE: &str = "localhost/tainted-demo:v1";
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().to_path_buf();
    let acc = Acc::reattach_with(|c| {
        c.backend = sessions_emulator::config::BackendKind::Qemu;
        c.data_dir = Some(data_dir.clone());
    })
    .await;
    let work = acc.work();
    let config = pool_config("taintpool", "eastus", 10)
        .replace("localhost/sample-session:latest", IMAGE)
        .replace(
            "max_concurrent_sessions      = 5",
            "max_concurrent_sessions      = 2",
        );
    acc.write_config(&work, &config);

    // The image is not in the store: the create fails, the pool exists, Terraform keeps it.
    let out = acc
        .tf(
            &work,
            &["apply", "-input=false", "-no-color", "-auto-approve"],
        )
        .await;
    let text = crate::support::terraform::text(&out);
    assert!(!out.status.success(), "apply should fail:\n{text}");
    assert!(text.contains("ContainerImagePullFailed"), "{text}");
    assert!(acc.arm_exists(&pool_path("taintpool"), API).await);
    let r = state_resource(&acc.state(&work).await, ADDR);
    assert_eq!(r["tainted"], true, "{r}");
    assert_eq!(r["values"]["provisioning_state"], "Failed", "{r}");

    // Load the image: the next apply replaces the tainted pool, which now runs.
    load_sample_image(data.path(), IMAGE);
    let plan = acc.apply(&work).await;
    let a = actions(&plan, ADDR);
    assert!(
        a.contains(&"delete".to_string()) && a.contains(&"create".to_string()),
        "{a:?}"
    );
    let state = acc.state(&work).await;
    let v = resource_values(&state, ADDR);
    assert_eq!(v["provisioning_state"], "Succeeded", "{v}");
    acc.expect_empty_plans(&work).await;

    // A failed update: the state says Failed and the same configuration plans a change.
    const V2: &str = "localhost/tainted-demo:v2";
    let config = config.replace(IMAGE, V2);
    acc.write_config(&work, &config);
    let out = acc
        .tf(
            &work,
            &["apply", "-input=false", "-no-color", "-auto-approve"],
        )
        .await;
    let text = crate::support::terraform::text(&out);
    assert!(!out.status.success(), "apply should fail:\n{text}");
    assert!(text.contains("ContainerImagePullFailed"), "{text}");
    let r = state_resource(&acc.state(&work).await, ADDR);
    assert_eq!(r["values"]["provisioning_state"], "Failed", "{r}");
    assert_ne!(r["tainted"], true, "an update does not taint");
    let (code, out) = acc.plan_exit(&work, &[]).await;
    assert_eq!(code, 2, "a Failed pool must plan a change:\n{out}");
    assert!(out.contains("provisioning_state"), "{out}");
    load_sample_image(data.path(), V2);
    acc.apply(&work).await;
    let v = resource_values(&acc.state(&work).await, ADDR);
    assert_eq!(v["provisioning_state"], "Succeeded", "{v}");
    acc.expect_empty_plans(&work).await;

    acc.ok(
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .await;
    assert!(!acc.arm_exists(&pool_path("taintpool"), API).await);
    acc.finish().await;
}
