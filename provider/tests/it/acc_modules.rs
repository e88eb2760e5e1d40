//! The documented setup for configurations with modules, with the built provider binary
//! through `dev_overrides` (no reattach), on the example `examples/modules` (three pools by
//! `for_each` in a local module, with probes, secrets, identities and diagnostic settings):
//! `terraform get` installs the local module without touching providers, then `plan`/`apply`
//! work and converge; `terraform init` is not needed. Removing `network_egress_enabled = true`
//! from one pool then plans `true -> false` for that pool only.

use std::path::Path;

use serde_json::json;

use crate::support::acc::{change, pool_path, Acc, API};

const TOOLS: &str = "module.session_pools.azuresessions_session_pool.this[\"tools\"]";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read example dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_module_example_with_terraform_get() {
    let acc = Acc::dev_override().await;
    let work = acc.work();
    copy_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/modules")),
        &work,
    );
    // Before `terraform get`, Terraform asks for the module to be installed.
    let (code, out) = acc.plan_exit(&work, &[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Module not installed"), "{out}");
    acc.ok(&work, &["get", "-no-color"]).await;
    acc.apply(&work).await;
    acc.expect_empty_plans(&work).await;
    for name in ["interpreter", "tools", "sandbox"] {
        assert!(acc.arm_exists(&pool_path(name), API).await, "{name}");
    }
    let tools = acc.arm_get(&pool_path("tools")).await;
    let p = &tools["properties"];
    assert_eq!(p["sessionNetworkConfiguration"]["status"], "EgressEnabled");
    assert_eq!(p["managedIdentitySettings"][0]["lifecycle"], "Main");
    assert_eq!(
        p["customContainerTemplate"]["containers"][0]["env"][1],
        json!({"name": "API_TOKEN", "secretRef": "api-token"})
    );

    // The security setting does not stick: removing it plans true -> false.
    let main = std::fs::read_to_string(work.join("main.tf")).expect("main.tf");
    let without = main.replace("      network_egress_enabled  = true\n", "");
    assert_ne!(main, without, "the example enables egress for `tools`");
    acc.write_config(&work, &without);
    let plan = acc.plan_json(&work).await;
    let c = change(&plan, TOOLS);
    assert_eq!(c["actions"], json!(["update"]), "{c:#}");
    assert_eq!(c["before"]["network_egress_enabled"], true);
    assert_eq!(c["after"]["network_egress_enabled"], false);
    let updates = plan["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|r| {
            r["change"]["actions"] != json!(["no-op"]) && r["change"]["actions"] != json!(["read"])
        })
        .count();
    assert_eq!(updates, 1, "only the tools pool changes");

    acc.destroy(&work).await;
    for name in ["interpreter", "tools", "sandbox"] {
        assert!(!acc.arm_exists(&pool_path(name), API).await, "{name}");
    }
    acc.finish().await;
}
