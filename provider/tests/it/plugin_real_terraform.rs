//! The real `terraform` binary (on PATH) against the test provider served in-process in
//! reattach mode: init, plan, apply, an empty follow-up plan, destroy. Proves Terraform
//! accepts our handshake, schemas, values and lifecycle answers.

use std::path::Path;
use std::sync::Arc;

use terraform_provider_azuresessions::plugin::serve::serve_reattach;

use crate::support;

const CONFIG: &str = r#"
terraform {
  required_providers {
    azuresessions = { source = "azuresessions/azuresessions" }
  }
}

provider "azuresessions" {}

resource "azuresessions_test_thing" "t" {
  name = "a"
  size = 2
  tags = { env = "test" }
  rule {
    port = 80
  }
}

data "azuresessions_test_echo" "e" {
  input = azuresessions_test_thing.t.id
}

output "echo" {
  value = data.azuresessions_test_echo.e.output
}
"#;

/// `terraform <args> -no-color` in `dir` (CLI config `dir/cli.tfrc`, plugin sockets under
/// `dir/sockets`); an empty `reattach` lets Terraform start the plugin itself.
async fn terraform(dir: &Path, reattach: &str, args: &[&str]) -> (i32, String) {
    let sockets = dir.join("sockets");
    std::fs::create_dir_all(&sockets).expect("socket dir");
    let mut cmd = support::terraform::command(dir, &dir.join("cli.tfrc"));
    if reattach.is_empty() {
        cmd.env_remove("TF_REATTACH_PROVIDERS");
    } else {
        cmd.env("TF_REATTACH_PROVIDERS", reattach);
    }
    cmd.args(args)
        .arg("-no-color")
        .env("PLUGIN_UNIX_SOCKET_DIR", &sockets);
    let out = support::terraform::output(cmd, args).await;
    (
        out.status.code().unwrap_or(-1),
        support::terraform::text(&out),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_reattach() {
    let handle = serve_reattach(Arc::new(support::test_provider::TestProvider::default()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    std::fs::create_dir(&mirror).unwrap();
    // Fully offline: nothing may be downloaded; the reattached provider needs no install.
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("main.tf"), CONFIG).unwrap();
    let rj = handle.reattach_json.clone();
    let d = dir.path();

    let (rc, out) = terraform(d, &rj, &["init", "-input=false"]).await;
    assert_eq!(rc, 0, "init failed:\n{out}");
    let (rc, out) = terraform(d, &rj, &["plan", "-input=false", "-out=tfplan"]).await;
    assert_eq!(rc, 0, "plan failed:\n{out}");
    assert!(
        out.contains("azuresessions_test_thing.t will be created"),
        "{out}"
    );
    let (rc, out) = terraform(d, &rj, &["apply", "-input=false", "tfplan"]).await;
    assert_eq!(rc, 0, "apply failed:\n{out}");
    assert!(out.contains("echo = \"THINGS/A\""), "{out}");
    // Refresh + plan must find nothing to change (plan/apply/read are consistent).
    let (rc, out) = terraform(d, &rj, &["plan", "-input=false", "-detailed-exitcode"]).await;
    assert_eq!(rc, 0, "follow-up plan not empty:\n{out}");
    let (rc, out) = terraform(d, &rj, &["destroy", "-input=false", "-auto-approve"]).await;
    assert_eq!(rc, 0, "destroy failed:\n{out}");
    handle.shutdown().await;
}

/// A create that fails after the object exists: Terraform records it as tainted (not lost,
/// no import needed) and the next plan replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_keeps_a_failed_create_tainted() {
    let handle = serve_reattach(Arc::new(support::test_provider::TestProvider::default()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cli.tfrc"), "").unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "terraform {\n  required_providers {\n    azuresessions = { source = \"azuresessions/azuresessions\" }\n  }\n}\nresource \"azuresessions_test_thing\" \"t\" {\n  name = \"half\"\n}\n",
    )
    .unwrap();
    let rj = handle.reattach_json.clone();
    let d = dir.path();
    let (rc, out) = terraform(d, &rj, &["apply", "-input=false", "-auto-approve"]).await;
    assert_ne!(rc, 0, "apply should fail:\n{out}");
    assert!(out.contains("Half created"), "{out}");
    let (rc, out) = terraform(d, &rj, &["show", "-json"]).await;
    assert_eq!(rc, 0, "{out}");
    let state = support::acc::first_json(&out);
    let r = &state["values"]["root_module"]["resources"][0];
    assert_eq!(r["address"], "azuresessions_test_thing.t", "{state}");
    assert_eq!(r["tainted"], true, "{state}");
    assert_eq!(r["values"]["id"], "things/half", "{state}");
    let (rc, out) = terraform(d, &rj, &["plan", "-input=false"]).await;
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("is tainted, so must be replaced"), "{out}");
    handle.shutdown().await;
}

/// Terraform starting the built binary itself (dev_overrides): cookie, protocol
/// negotiation and AutoMTLS with go-plugin's P-521 client certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_starts_the_binary_with_automtls() {
    let bin = Path::new(env!("CARGO_BIN_EXE_terraform-provider-azuresessions"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/azuresessions/azuresessions\" = \"{}\"\n  }}\n}}\n",
            bin.parent().unwrap().display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "terraform {\n  required_providers {\n    azuresessions = { source = \"azuresessions/azuresessions\" }\n  }\n}\nprovider \"azuresessions\" {}\noutput \"x\" { value = \"ok\" }\n",
    )
    .unwrap();
    // No reattach: Terraform launches the plugin (dev_overrides need no init).
    let (rc, out) = terraform(dir.path(), "", &["plan", "-input=false"]).await;
    assert_eq!(rc, 0, "plan with the launched binary failed:\n{out}");
    assert!(out.contains("x = \"ok\""), "{out}");
    // The launched plugin removed its socket directory when Terraform shut it down.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("sockets"))
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "plugin left {left:?} behind");
}
