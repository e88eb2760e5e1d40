//! `terraform`: the real `terraform` binary and our provider against the target, as cases.
//!
//! The steps build on each other (one pool's life: plan, apply, ..., destroy; see
//! [`crate::terraform`]), so the first case of the suite runs them all once for the run and
//! every case reports its own step: passed, failed (with terraform's output) or skipped (with
//! why: no `terraform` on `PATH`, Terraform < 1.14 for `apply -invoke`, an earlier step failed).
//! The provider comes from `--provider-dir`, else beside this program or in the workspace's
//! `target/`, else the suite builds it (`cargo build -p terraform-provider-azuresessions`)
//! when run from a checkout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::case::{Case, CaseResult, Ctx, Failure, Needs};
use crate::emulator::Ready;
use crate::target::auth::Credential;
use crate::target::{Kind, Target};
use crate::terraform::{self, Outcome, StepResult};

/// The suite's results per run id: computed once by whichever case asks first.
type Shared = Arc<tokio::sync::OnceCell<Result<Vec<StepResult>, Failure>>>;

fn shared(run_id: &str) -> Shared {
    static RUNS: OnceLock<Mutex<HashMap<String, Shared>>> = OnceLock::new();
    let mut runs = RUNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    runs.entry(run_id.to_string()).or_default().clone()
}

macro_rules! steps {
    ($($name:ident),* $(,)?) => {
        /// The cases: one per step of [`crate::terraform::STEPS`].
        pub fn cases() -> Vec<Case> {
            vec![$(
                Case {
                    suite: "terraform",
                    name: stringify!($name),
                    purpose: purpose(stringify!($name)),
                    needs: Needs::Tools,
                    run: |ctx| Box::pin(step(ctx, stringify!($name))),
                },
            )*]
        }
    };
}

steps!(
    plan,
    apply,
    empty_second_plan,
    in_place_update,
    replacement,
    import,
    generate_config,
    drift,
    stop_session_grpc,
    stop_session_invoke,
    destroy,
);

fn purpose(name: &str) -> &'static str {
    terraform::STEPS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or("")
}

async fn step(ctx: Ctx, name: &'static str) -> CaseResult {
    let target = ctx.target_arc();
    let cell = shared(&target.run_id);
    let results = cell.get_or_init(|| run_all(target.clone())).await;
    let results = results.as_ref().map_err(Clone::clone)?;
    match results.iter().find(|r| r.name == name).map(|r| &r.outcome) {
        Some(Outcome::Pass(_)) => Ok(()),
        Some(Outcome::Fail(m)) => Err(Failure::Fail(m.clone())),
        Some(Outcome::Skip(m)) => Err(Failure::Skip(m.clone())),
        None => Err(Failure::Fail(format!(
            "the suite did not run the step {name}"
        ))),
    }
}

async fn run_all(target: Arc<Target>) -> Result<Vec<StepResult>, Failure> {
    let ready = ready_of(&target)?;
    if let Err(why) = terraform::cli::version().await {
        return Err(Failure::Skip(why));
    }
    let dir = provider_dir(target.provider_dir.as_deref()).await?;
    terraform::run_suite(&ready, &dir, &[])
        .await
        .map_err(|e| Failure::Fail(e.to_string()))
}

/// The emulator's values from the target (the suite's ARM and data-plane checks use the
/// emulator's token endpoint).
fn ready_of(t: &Target) -> Result<Ready, Failure> {
    if t.kind == Kind::Azure {
        return Err(Failure::Skip(
            "the terraform suite runs against the emulator (--target emulator); against Azure, run `terraform test` of your module with your ARM_* credentials".into(),
        ));
    }
    let Credential::ClientSecret { client_id, secret } = &t.credential else {
        return Err(Failure::Skip(
            "the terraform suite needs the emulator's client id and secret".into(),
        ));
    };
    Ok(Ready {
        endpoint: t.arm.trim_end_matches('/').to_string(),
        ca_file: t.ca_file.clone(),
        tenant_id: t.tenant.clone(),
        client_id: client_id.clone(),
        client_secret: secret.clone(),
        subscription_id: t.subscription.clone(),
        resource_group: t.resource_group.clone(),
        environment_id: t.environment_id.clone(),
        workspace_id: t.workspace_id.clone().unwrap_or_default(),
        workspace_customer_id: None,
    })
}

/// `--provider-dir`, a built provider, or one built now from this checkout.
async fn provider_dir(explicit: Option<&Path>) -> Result<PathBuf, Failure> {
    match terraform::find_provider_dir(explicit) {
        Ok(d) => return Ok(d),
        Err(e) if explicit.is_some() => return Err(Failure::Fail(e.to_string())),
        Err(_) => {}
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !workspace.join("Cargo.toml").is_file() {
        return terraform::find_provider_dir(None).map_err(|e| Failure::Skip(e.to_string()));
    }
    let out = tokio::process::Command::new("cargo")
        .args(["build", "-p", "terraform-provider-azuresessions"])
        .current_dir(&workspace)
        .output()
        .await
        .map_err(|e| {
            Failure::Skip(format!(
                "cannot run cargo to build the provider: {e}; pass --provider-dir"
            ))
        })?;
    if !out.status.success() {
        return Err(Failure::Fail(format!(
            "cargo build -p terraform-provider-azuresessions failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    terraform::find_provider_dir(None).map_err(|e| Failure::Fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_case_per_step_with_its_purpose() {
        let cases = cases();
        let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        let steps: Vec<&str> = terraform::STEPS.iter().map(|s| s.0).collect();
        assert_eq!(names, steps);
        assert!(cases
            .iter()
            .all(|c| !c.purpose.is_empty() && c.suite == "terraform"));
    }
}
