//! Acceptance-test harness: the real `terraform` binary against an in-process emulator, with
//! the provider served in-process in reattach mode (or via `dev_overrides` of the built binary).
//! It follows terraform-plugin-testing's steps: plan, apply, empty plan without and with
//! refresh, import, destroy. Everything lives in a temp dir removed on drop; Terraform gets its
//! own CLI config file and no network.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use serde_json::Value as Json;
use sessions_emulator::config::Config;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;
use terraform_provider_azuresessions::plugin::proto::tfplugin6 as pb;
use terraform_provider_azuresessions::plugin::serve::{
    serve_reattach, ReattachHandle, PROVIDER_ADDRESS,
};
use terraform_provider_azuresessions::plugin::Value;
use terraform_provider_azuresessions::resources::provider::{
    schema as provider_schema, AzureSessionsProvider,
};

/// The api-version the acceptance tests read pools with.
pub const API: &str = "2026-07-01";

/// ARM path of the pool `name` in the seeded subscription and resource group.
pub fn pool_path(name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/{name}",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    )
}

/// The `required_providers` block every acceptance configuration starts with.
pub const HEADER: &str = r#"
terraform {
  required_providers {
    azuresessions = {
      source = "azuresessions/azuresessions"
    }
  }
}
"#;

/// The `ARM_*` variables pointing at `srv` (what `sessions-emulator env` prints, plain HTTP).
pub fn emulator_env(srv: &TestServer) -> Vec<(String, String)> {
    vec![
        (
            "ARM_SUBSCRIPTION_ID".into(),
            defaults::SUBSCRIPTION_ID.into(),
        ),
        ("ARM_TENANT_ID".into(), defaults::TENANT_ID.into()),
        ("ARM_CLIENT_ID".into(), defaults::CLIENT_ID.into()),
        ("ARM_CLIENT_SECRET".into(), defaults::CLIENT_SECRET.into()),
        ("ARM_ENDPOINT".into(), srv.endpoint.clone()),
        ("ARM_AUTHORITY_HOST".into(), srv.endpoint.clone()),
    ]
}

/// How Terraform finds the provider.
pub enum Wiring {
    /// In-process server, `TF_REATTACH_PROVIDERS`.
    Reattach(ReattachHandle),
    /// The built binary through `dev_overrides`; `ARM_*` passed in the environment.
    DevOverride,
}

/// The emulator of an acceptance run.
pub enum Emulator {
    /// Plain HTTP ([`TestServer`]; the tests can call its ARM API directly).
    Plain(TestServer),
    /// HTTPS with its own CA, as `sessions-emulator serve` runs by default.
    Https(super::https::HttpsEmulator),
}

/// One acceptance run: emulator, provider wiring, a working directory.
pub struct Acc {
    emulator: Emulator,
    wiring: Wiring,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Acc {
    /// Emulator + provider served in-process (reattach).
    pub async fn reattach() -> Acc {
        Self::reattach_with(|_| {}).await
    }

    /// Like [`Acc::reattach`], with the emulator's configuration adjusted by `configure`
    /// (e.g. the qemu backend and a data dir).
    pub async fn reattach_with(configure: impl FnOnce(&mut Config)) -> Acc {
        let srv = TestServer::start_with(configure, None).await;
        let env = emulator_env(&srv);
        let lookup = env.clone();
        let provider = AzureSessionsProvider::with_env(move |k| {
            lookup.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        });
        let handle = serve_reattach(Arc::new(provider))
            .await
            .expect("serve provider in-process");
        Self::new(Emulator::Plain(srv), Wiring::Reattach(handle), env)
    }

    /// Emulator + the built provider binary via `dev_overrides`.
    pub async fn dev_override() -> Acc {
        Self::dev_override_with_env(|_| {}).await
    }

    /// Like [`Acc::dev_override`], with the environment Terraform (and so the provider) gets
    /// adjusted by `edit` (another credential flow, `PATH`).
    pub async fn dev_override_with_env(edit: impl FnOnce(&mut Vec<(String, String)>)) -> Acc {
        let srv = TestServer::start().await;
        let mut env = emulator_env(&srv);
        edit(&mut env);
        Self::new(Emulator::Plain(srv), Wiring::DevOverride, env)
    }

    /// The HTTPS emulator (with its CA in `ARM_CA_CERTIFICATE_FILE`) + the built provider
    /// binary via `dev_overrides`, the environment adjusted by `edit`.
    pub async fn https_dev_override(edit: impl FnOnce(&mut Vec<(String, String)>)) -> Acc {
        let emu = super::https::HttpsEmulator::start().await;
        let mut env = emu.env();
        edit(&mut env);
        Self::new(Emulator::Https(emu), Wiring::DevOverride, env)
    }

    /// The value of `key` in the environment Terraform gets.
    pub fn env_value(&self, key: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Sets `key` in the environment Terraform (and so a `dev_overrides` provider) gets.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// The plain-HTTP emulator (its ARM API, tokens).
    pub fn srv(&self) -> &TestServer {
        match &self.emulator {
            Emulator::Plain(s) => s,
            Emulator::Https(_) => panic!("this acceptance run uses the HTTPS emulator"),
        }
    }

    fn new(emulator: Emulator, wiring: Wiring, env: Vec<(String, String)>) -> Acc {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("work")).expect("work dir");
        let cli = match &wiring {
            Wiring::Reattach(_) => String::new(),
            Wiring::DevOverride => {
                let bin = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-azuresessions"));
                let bin_dir = bin.parent().expect("binary dir").display().to_string();
                format!(
                    "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{bin_dir}\"\n  }}\n  direct {{}}\n}}\n"
                )
            }
        };
        std::fs::write(dir.path().join("terraformrc"), cli).expect("cli config");
        Acc {
            emulator,
            wiring,
            dir,
            env,
        }
    }

    /// The working directory.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// A fresh, empty working directory `name` (e.g. for an import elsewhere).
    pub fn fresh_dir(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("dir");
        p
    }

    /// Writes `main.tf` into `dir`.
    pub fn write_config(&self, dir: &Path, hcl: &str) {
        std::fs::write(dir.join("main.tf"), hcl).expect("write main.tf");
    }

    /// Runs `terraform <args>` in `dir`.
    pub async fn tf(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = super::terraform::command(dir, &self.dir.path().join("terraformrc"));
        cmd.args(args);
        match &self.wiring {
            Wiring::Reattach(h) => {
                cmd.env("TF_REATTACH_PROVIDERS", &h.reattach_json);
            }
            Wiring::DevOverride => {
                cmd.env_remove("TF_REATTACH_PROVIDERS");
                for (k, v) in &self.env {
                    cmd.env(k, v);
                }
            }
        }
        super::terraform::output(cmd, args).await
    }

    /// Runs `terraform <args>` and panics with its output unless it exits 0.
    pub async fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.tf(dir, args).await;
        let text = super::terraform::text(&out);
        assert!(out.status.success(), "terraform {args:?} failed:\n{text}");
        text
    }

    /// `plan -out` + `apply -refresh=false` of the plan (a config step's first half).
    pub async fn apply(&self, dir: &Path) -> Json {
        self.ok(dir, &["plan", "-input=false", "-no-color", "-out=tfplan"])
            .await;
        let plan = self.show_plan(dir).await;
        self.ok(
            dir,
            &[
                "apply",
                "-input=false",
                "-no-color",
                "-refresh=false",
                "tfplan",
            ],
        )
        .await;
        plan
    }

    /// `plan -out` then the plan as JSON (without applying).
    pub async fn plan_json(&self, dir: &Path) -> Json {
        self.ok(dir, &["plan", "-input=false", "-no-color", "-out=tfplan"])
            .await;
        self.show_plan(dir).await
    }

    async fn show_plan(&self, dir: &Path) -> Json {
        let out = self.ok(dir, &["show", "-json", "tfplan"]).await;
        first_json(&out)
    }

    /// Asserts both empty plans: `-refresh=false` and with refresh (exit code 0, not 2).
    pub async fn expect_empty_plans(&self, dir: &Path) {
        for extra in [Some("-refresh=false"), None] {
            let mut args = vec!["plan", "-input=false", "-no-color", "-detailed-exitcode"];
            args.extend(extra);
            let out = self.tf(dir, &args).await;
            assert_eq!(
                out.status.code(),
                Some(0),
                "expected an empty plan ({extra:?}):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// `terraform plan -detailed-exitcode <extra>`: (exit code, output). 0 = no changes,
    /// 2 = changes, 1 = error.
    pub async fn plan_exit(&self, dir: &Path, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["plan", "-input=false", "-no-color", "-detailed-exitcode"];
        args.extend_from_slice(extra);
        let out = self.tf(dir, &args).await;
        (
            out.status.code().unwrap_or(-1),
            super::terraform::text(&out),
        )
    }

    /// `terraform import <address> <id>` (must succeed).
    pub async fn import(&self, dir: &Path, address: &str, id: &str) {
        self.ok(dir, &["import", "-input=false", "-no-color", address, id])
            .await;
    }

    /// `terraform destroy -auto-approve` (must succeed).
    pub async fn destroy(&self, dir: &Path) {
        self.ok(
            dir,
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
        )
        .await;
    }

    /// A GET of `arm_path` from the emulator as JSON (valid token, api-version [`API`]).
    pub async fn arm_get(&self, arm_path: &str) -> Json {
        self.srv()
            .arm(
                reqwest::Method::GET,
                &format!("{arm_path}?api-version={API}"),
            )
            .send()
            .await
            .expect("GET from emulator")
            .json()
            .await
            .expect("JSON from emulator")
    }

    /// PUTs `body` to `arm_path` behind Terraform's back and waits until it is provisioned.
    pub async fn arm_put_and_wait(&self, arm_path: &str, body: &Json) {
        let resp = self
            .srv()
            .arm(
                reqwest::Method::PUT,
                &format!("{arm_path}?api-version={API}"),
            )
            .json(body)
            .send()
            .await
            .expect("PUT to emulator");
        assert!(
            resp.status().is_success(),
            "PUT {arm_path}: {}",
            resp.status()
        );
        for _ in 0..400 {
            let v = self.arm_get(arm_path).await;
            if v["properties"]["provisioningState"] != "InProgress" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("{arm_path} did not finish provisioning");
    }

    /// The current state as `terraform show -json`.
    pub async fn state(&self, dir: &Path) -> Json {
        let out = self.ok(dir, &["show", "-json"]).await;
        first_json(&out)
    }

    /// Whether the emulator has `arm_path` (GET with a valid token, any api-version).
    pub async fn arm_exists(&self, arm_path: &str, api_version: &str) -> bool {
        let resp = self
            .srv()
            .arm(
                reqwest::Method::GET,
                &format!("{arm_path}?api-version={api_version}"),
            )
            .send()
            .await
            .expect("GET from emulator");
        match resp.status().as_u16() {
            200 => true,
            404 => false,
            s => panic!("unexpected HTTP {s} for {arm_path}"),
        }
    }

    /// Stops the in-process provider server and the emulator.
    pub async fn finish(self) {
        if let Wiring::Reattach(h) = self.wiring {
            h.shutdown().await;
        }
        match self.emulator {
            Emulator::Plain(s) => s.stop().await,
            Emulator::Https(e) => e.stop().await,
        }
    }
}

/// The first JSON document in Terraform's output (warnings may follow it).
pub fn first_json(out: &str) -> Json {
    let start = out.find('{').unwrap_or(0);
    let mut de = serde_json::Deserializer::from_str(&out[start..]).into_iter::<Json>();
    match de.next() {
        Some(Ok(v)) => v,
        other => panic!("no JSON in terraform output ({other:?}):\n{out}"),
    }
}

/// `resource_changes[address].change.actions` of a plan.
pub fn actions(plan: &Json, address: &str) -> Vec<String> {
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["address"] == address)
        .map(|c| {
            c["change"]["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `values` of resource `address` in `terraform show -json` state.
pub fn resource_values(state: &Json, address: &str) -> Json {
    state["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == address)
        .map(|r| r["values"].clone())
        .unwrap_or(Json::Null)
}

/// Puts the sample session image built into `sessions-emulator` (the one it seeds as
/// `localhost/sample-session:latest`) into the image store of the emulator data dir `data_dir`
/// under the name `reference` (what `sessions-emulator image load --tag` does with its files).
pub fn load_sample_image(data_dir: &Path, reference: &str) {
    use sessions_emulator::image::{sample, ImageStore, Reference};
    let store = ImageStore::open(data_dir).expect("open the image store");
    let tag = Reference::parse(reference).expect("image reference");
    let img = sample::embedded()
        .expect("the sample image is built into sessions-emulator")
        .expect("build the sample image");
    sample::put(&store, &img, &tag).expect("store the sample image");
}

/// The resource `address` of a `terraform show -json` state (with `tainted`, `values`).
pub fn state_resource(state: &Json, address: &str) -> Json {
    state["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == address)
        .cloned()
        .unwrap_or(Json::Null)
}

/// `resource_changes[address].change` of a plan (`before`, `after`, `actions`, `importing`).
pub fn change(plan: &Json, address: &str) -> Json {
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["address"] == address)
        .map(|c| c["change"].clone())
        .unwrap_or(Json::Null)
}

/// Creates the pool `name` directly through the emulator's ARM API (1 ready session) and
/// returns its endpoint once it is provisioned.
pub async fn make_pool(srv: &TestServer, name: &str) -> String {
    let path = format!("{}?api-version={API}", pool_path(name));
    let body = serde_json::json!({"location": "eastus", "properties": {
        "environmentId": defaults::environment_id(), "containerType": "CustomContainer",
        "poolManagementType": "Dynamic",
        "scaleConfiguration": {"maxConcurrentSessions": 3, "readySessionInstances": 1},
        "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
        "customContainerTemplate": {"containers": [{"name": "main", "image": "localhost/sample-session:latest",
            "resources": {"cpu": 0.25, "memory": "0.5Gi"}}], "ingress": {"targetPort": 8080}}}});
    let resp = srv
        .arm(reqwest::Method::PUT, &path)
        .json(&body)
        .send()
        .await
        .expect("PUT pool");
    assert!(resp.status().is_success(), "PUT pool: {}", resp.status());
    for _ in 0..400 {
        let v: Json = srv
            .arm(reqwest::Method::GET, &path)
            .send()
            .await
            .expect("GET pool")
            .json()
            .await
            .expect("pool JSON");
        if v["properties"]["provisioningState"] == "Succeeded" {
            return v["properties"]["poolManagementEndpoint"]
                .as_str()
                .expect("endpoint")
                .to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("pool {name} did not provision");
}

/// The provider served in-process against `srv` and a gRPC client that has configured it as
/// Terraform `terraform_version` would (`ARM_*` from the emulator).
pub async fn configured_client(
    srv: &TestServer,
    terraform_version: &str,
) -> (
    ReattachHandle,
    pb::provider_client::ProviderClient<tonic::transport::Channel>,
) {
    let env = emulator_env(srv);
    let p = AzureSessionsProvider::with_env(move |k| {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    });
    let handle = serve_reattach(Arc::new(p)).await.expect("serve provider");
    let mut client =
        pb::provider_client::ProviderClient::new(super::grpc::unix_channel(handle.socket()).await);
    let resp = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: terraform_version.into(),
            config: super::grpc::dv(
                &Value::object(Vec::<(String, Value)>::new()),
                &provider_schema(),
            ),
            ..Default::default()
        })
        .await
        .expect("ConfigureProvider")
        .into_inner();
    let errs = super::grpc::errors(&resp.diagnostics);
    assert!(errs.is_empty(), "{errs:?}");
    (handle, client)
}
