//! The steps of the `terraform` suite (see the table in [`super`]): each runs `terraform` in
//! the run's directories and checks what it printed and what ARM then holds.

use std::time::Duration;

use serde_json::{json, Value};

use super::grpc::DebugProvider;
use super::{Outcome, Run, StepResult};
use crate::emulator::scope;

/// The api-version of the ARM reads and writes of the suite.
const API: &str = "2026-07-01";
/// The data-plane api-version of `.management/*`.
const DATA_PLANE_API: &str = "2025-02-02-preview";

/// What a step needs to have passed before it, for the steps that need something.
fn needs(name: &str) -> &'static [&'static str] {
    match name {
        "plan" | "destroy" => &[],
        "apply" => &["plan"],
        _ => &["apply"],
    }
}

/// Why `name` cannot run, given the results so far.
pub fn blocked_by(name: &str, done: &[StepResult]) -> Option<String> {
    needs(name)
        .iter()
        .find_map(|n| match done.iter().find(|r| r.name == *n) {
            Some(r) if matches!(r.outcome, Outcome::Pass(_)) => None,
            Some(_) => Some(format!("not run: the `{n}` step did not pass")),
            None => Some(format!("not run: needs the `{n}` step")),
        })
}

/// The pool configuration of the suite.
pub fn config(ready_env_id: &str, rg: &str, name: &str, max: u32) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    azuresessions = {{
      source = "azuresessions/azuresessions"
    }}
  }}
}}

provider "azuresessions" {{}}

resource "azuresessions_session_pool" "pool" {{
  name                         = "{name}"
  resource_group_name          = "{rg}"
  location                     = "eastus"
  container_app_environment_id = "{ready_env_id}"
  container_type               = "CustomContainer"
  pool_management_type         = "Dynamic"
  max_concurrent_sessions      = {max}
  ready_session_instances      = 1
  lifecycle_type               = "Timed"
  cooldown_period_in_seconds   = 300

  custom_container_template {{
    ingress_target_port = 8080

    container {{
      name   = "app"
      image  = "localhost/sample-session:latest"
      cpu    = 0.25
      memory = "0.5Gi"
    }}
  }}
}}

output "id" {{
  value = azuresessions_session_pool.pool.id
}}

output "endpoint" {{
  value = azuresessions_session_pool.pool.pool_management_endpoint
}}
"#
    )
}

/// Runs the step `name`.
pub async fn run_step(name: &str, run: &mut Run) -> Outcome {
    let r = match name {
        "plan" => plan(run).await,
        "apply" => apply(run).await,
        "empty_second_plan" => empty_plan(run, &run.main_dir.clone()).await,
        "in_place_update" => in_place_update(run).await,
        "replacement" => replacement(run).await,
        "import" => import(run).await,
        "generate_config" => generate_config(run).await,
        "drift" => drift(run).await,
        "stop_session_grpc" => stop_session_grpc(run).await,
        "stop_session_invoke" => stop_session_invoke(run).await,
        "destroy" => destroy(run).await,
        other => Err(Outcome::Fail(format!("unknown step {other}"))),
    };
    match r {
        Ok(detail) => Outcome::Pass(detail),
        Err(o) => o,
    }
}

type StepOut = Result<String, Outcome>;

fn fail(msg: impl Into<String>) -> Outcome {
    Outcome::Fail(msg.into())
}

fn write_main(run: &Run, dir: &std::path::Path, max: u32) -> Result<(), Outcome> {
    std::fs::write(
        dir.join("main.tf"),
        config(
            &run.ready.environment_id,
            &run.ready.resource_group,
            &run.pool_name,
            max,
        ),
    )
    .map_err(|e| fail(format!("cannot write main.tf: {e}")))
}

/// `terraform args` must exit with one of `codes`.
async fn tf(
    run: &Run,
    dir: &std::path::Path,
    args: &[&str],
    codes: &[i32],
) -> Result<super::cli::TfOutput, Outcome> {
    let out = run.tf.run(dir, args).await;
    if codes.contains(&out.code) {
        Ok(out)
    } else {
        Err(fail(format!(
            "terraform {} exited {} (expected {codes:?}):\n{}",
            args.join(" "),
            out.code,
            out.tail()
        )))
    }
}

fn expect_summary(out: &super::cli::TfOutput, want: &str, what: &str) -> Result<(), Outcome> {
    let got = out.plan_summary();
    if got.starts_with(want) {
        Ok(())
    } else {
        Err(fail(format!(
            "{what}: expected `{want}`, got `{got}`:\n{}",
            out.tail()
        )))
    }
}

/// `terraform plan` in the main dir must propose changes (exit 2) whose summary starts with
/// `want` (`what` says why in the failure) and whose text names each of `phrases`.
async fn plan_with_changes(
    run: &Run,
    want: &str,
    what: &str,
    phrases: &[&str],
) -> Result<super::cli::TfOutput, Outcome> {
    let out = tf(
        run,
        &run.main_dir,
        &["plan", "-no-color", "-detailed-exitcode"],
        &[2],
    )
    .await?;
    expect_summary(&out, want, what)?;
    if let Some(missing) = phrases.iter().find(|p| !out.text.contains(**p)) {
        return Err(fail(format!(
            "the plan does not say `{missing}`:\n{}",
            out.tail()
        )));
    }
    Ok(out)
}

/// `terraform apply -auto-approve` in the main dir must succeed.
async fn apply_main(run: &Run) -> Result<(), Outcome> {
    tf(
        run,
        &run.main_dir,
        &["apply", "-no-color", "-auto-approve"],
        &[0],
    )
    .await
    .map(drop)
}

async fn plan(run: &mut Run) -> StepOut {
    write_main(run, &run.main_dir.clone(), 3)?;
    let out = plan_with_changes(
        run,
        "Plan: 1 to add, 0 to change, 0 to destroy.",
        "a new pool",
        &[],
    )
    .await?;
    Ok(out.plan_summary())
}

async fn arm_get(run: &Run, id: &str) -> Result<(u16, Value), Outcome> {
    let token = run
        .client
        .token(scope::ARM)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let resp = run
        .client
        .http
        .get(run.ready.url(&format!("{id}?api-version={API}")))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| fail(format!("GET {id}: {e}")))?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

async fn output(run: &Run, name: &str) -> Result<String, Outcome> {
    let out = tf(run, &run.main_dir, &["output", "-raw", name], &[0]).await?;
    Ok(out.text.trim().to_string())
}

async fn apply(run: &mut Run) -> StepOut {
    apply_main(run).await?;
    let id = output(run, "id").await?;
    let (status, body) = arm_get(run, &id).await?;
    if status != 200 {
        return Err(fail(format!(
            "after apply, GET {id} answered {status}: {body}"
        )));
    }
    run.pool_id = Some(id.clone());
    Ok(format!(
        "{id} ({})",
        body["properties"]["provisioningState"]
            .as_str()
            .unwrap_or("?")
    ))
}

async fn empty_plan(run: &Run, dir: &std::path::Path) -> StepOut {
    let out = run
        .tf
        .run(dir, &["plan", "-no-color", "-detailed-exitcode"])
        .await;
    if out.code != 0 {
        return Err(fail(format!(
            "the plan is not empty (exit {}): {}\n{}",
            out.code,
            out.plan_summary(),
            out.tail()
        )));
    }
    Ok("No changes.".into())
}

async fn in_place_update(run: &mut Run) -> StepOut {
    write_main(run, &run.main_dir.clone(), 4)?;
    plan_with_changes(
        run,
        "Plan: 0 to add, 1 to change, 0 to destroy.",
        "max_concurrent_sessions 3 -> 4",
        &["updated in-place"],
    )
    .await?;
    apply_main(run).await?;
    let id = run.pool_id.clone().unwrap_or_default();
    let (_, body) = arm_get(run, &id).await?;
    let max = &body["properties"]["scaleConfiguration"]["maxConcurrentSessions"];
    if max != &json!(4) {
        return Err(fail(format!(
            "ARM has maxConcurrentSessions {max} after the update, not 4"
        )));
    }
    empty_plan(run, &run.main_dir).await?;
    Ok("3 -> 4 in place, ARM agrees, next plan empty".into())
}

async fn replacement(run: &mut Run) -> StepOut {
    let old = run.pool_id.clone().unwrap_or_default();
    run.pool_name = format!("tfconf{}b", run.run_id);
    write_main(run, &run.main_dir.clone(), 4)?;
    plan_with_changes(
        run,
        "Plan: 1 to add, 0 to change, 1 to destroy.",
        "a new name",
        &["must be replaced"],
    )
    .await?;
    apply_main(run).await?;
    let id = output(run, "id").await?;
    run.pool_id = Some(id.clone());
    let (old_status, _) = arm_get(run, &old).await?;
    if old_status != 404 {
        return Err(fail(format!(
            "the replaced pool {old} still answers {old_status}"
        )));
    }
    empty_plan(run, &run.main_dir).await?;
    Ok(format!("{old} -> {id}, the old one gone, next plan empty"))
}

async fn import(run: &mut Run) -> StepOut {
    let id = run.pool_id.clone().unwrap_or_default();
    let dir = run.tf.dir("import").map_err(|e| fail(e.to_string()))?;
    write_main(run, &dir, 4)?;
    std::fs::write(
        dir.join("import.tf"),
        format!("import {{\n  to = azuresessions_session_pool.pool\n  id = \"{id}\"\n}}\n"),
    )
    .map_err(|e| fail(e.to_string()))?;
    let out = tf(run, &dir, &["plan", "-no-color"], &[0]).await?;
    expect_summary(
        &out,
        "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.",
        "import of an unchanged pool",
    )?;
    tf(run, &dir, &["apply", "-no-color", "-auto-approve"], &[0]).await?;
    std::fs::remove_file(dir.join("import.tf")).map_err(|e| fail(e.to_string()))?;
    empty_plan(run, &dir).await?;
    Ok("1 to import, nothing else; next plan empty".into())
}

async fn generate_config(run: &mut Run) -> StepOut {
    let id = run.pool_id.clone().unwrap_or_default();
    let dir = run.tf.dir("generate").map_err(|e| fail(e.to_string()))?;
    std::fs::write(
        dir.join("main.tf"),
        format!(
            "terraform {{\n  required_providers {{\n    azuresessions = {{\n      source = \"azuresessions/azuresessions\"\n    }}\n  }}\n}}\n\nprovider \"azuresessions\" {{}}\n\nimport {{\n  to = azuresessions_session_pool.pool\n  id = \"{id}\"\n}}\n"
        ),
    )
    .map_err(|e| fail(e.to_string()))?;
    tf(
        run,
        &dir,
        &["plan", "-no-color", "-generate-config-out=generated.tf"],
        &[0],
    )
    .await?;
    let generated = std::fs::read_to_string(dir.join("generated.tf")).map_err(|e| {
        fail(format!(
            "plan -generate-config-out wrote no generated.tf: {e}"
        ))
    })?;
    if !generated.contains("resource \"azuresessions_session_pool\" \"pool\"") {
        return Err(fail(format!(
            "generated.tf holds no pool resource:\n{generated}"
        )));
    }
    let out = tf(run, &dir, &["plan", "-no-color"], &[0]).await?;
    expect_summary(
        &out,
        "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.",
        "the generated configuration",
    )?;
    Ok(format!(
        "generated.tf ({} lines) plans only the import",
        generated.lines().count()
    ))
}

async fn drift(run: &mut Run) -> StepOut {
    let id = run.pool_id.clone().unwrap_or_default();
    let token = run
        .client
        .token(scope::ARM)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let url = run.ready.url(&format!("{id}?api-version={API}"));
    let resp = run
        .client
        .http
        .patch(&url)
        .bearer_auth(token)
        .json(&json!({"properties": {"scaleConfiguration": {"maxConcurrentSessions": 7}}}))
        .send()
        .await
        .map_err(|e| fail(format!("PATCH {url}: {e}")))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(fail(format!(
            "PATCH {url} answered {status}: {}",
            resp.text().await.unwrap_or_default()
        )));
    }
    // Wait for the PATCH to be applied (it may be a long-running operation).
    let t = std::time::Instant::now();
    loop {
        let (_, body) = arm_get(run, &id).await?;
        if body["properties"]["scaleConfiguration"]["maxConcurrentSessions"] == json!(7)
            && body["properties"]["provisioningState"] != json!("InProgress")
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(120) {
            return Err(fail(format!("the PATCH never showed in ARM: {body}")));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    plan_with_changes(
        run,
        "Plan: 0 to add, 1 to change, 0 to destroy.",
        "after an outside change",
        &["max_concurrent_sessions", "7 -> 4"],
    )
    .await?;
    apply_main(run).await?;
    empty_plan(run, &run.main_dir).await?;
    Ok("outside change 4 -> 7 planned back 7 -> 4 and applied".into())
}

/// Binds `identifier` to a session of the pool; returns the pool endpoint.
async fn bind_session(run: &Run, identifier: &str) -> Result<(String, String), Outcome> {
    let endpoint = output(run, "endpoint").await?;
    let dp = run
        .client
        .token(scope::DATA_PLANE)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let url = format!("{endpoint}/?identifier={identifier}");
    let resp = run
        .client
        .http
        .get(&url)
        .bearer_auth(&dp)
        .send()
        .await
        .map_err(|e| fail(format!("GET {url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(fail(format!("GET {url} answered {}", resp.status())));
    }
    Ok((endpoint, dp))
}

async fn bound(run: &Run, endpoint: &str, dp: &str, identifier: &str) -> Result<bool, Outcome> {
    let url = format!(
        "{endpoint}/.management/getSession?identifier={identifier}&api-version={DATA_PLANE_API}"
    );
    let resp = run
        .client
        .http
        .post(&url)
        .bearer_auth(dp)
        .send()
        .await
        .map_err(|e| fail(format!("POST {url}: {e}")))?;
    match resp.status().as_u16() {
        200 => Ok(true),
        404 => Ok(false),
        s => Err(fail(format!("POST {url} answered {s}"))),
    }
}

async fn stop_session_grpc(run: &mut Run) -> StepOut {
    let identifier = format!("grpc-{}", run.run_id);
    let (endpoint, dp) = bind_session(run, &identifier).await?;
    if !bound(run, &endpoint, &dp, &identifier).await? {
        return Err(fail(format!("{identifier} is not bound after a request")));
    }
    let mut env = run.ready.env_vars();
    env.push(("TF_LOG_PROVIDER_AZURESESSIONS".into(), "warn".into()));
    let mut provider = DebugProvider::start(&run.provider_dir, &env)
        .await
        .map_err(fail)?;
    let version = match &run.version {
        Ok((a, b, c)) => format!("{a}.{b}.{c}"),
        Err(_) => "1.14.0".into(),
    };
    let result = async {
        provider.configure(&version).await.map_err(fail)?;
        provider
            .stop_session(&endpoint, &identifier)
            .await
            .map_err(fail)
    }
    .await;
    provider.stop().await;
    let events = result?;
    if events.last().map(String::as_str) != Some("completed") {
        return Err(fail(format!(
            "InvokeAction did not end with Completed: {events:?}"
        )));
    }
    if bound(run, &endpoint, &dp, &identifier).await? {
        return Err(fail(format!(
            "{identifier} is still bound after the action completed"
        )));
    }
    Ok(format!(
        "{} event(s), {identifier} no longer bound",
        events.len()
    ))
}

async fn stop_session_invoke(run: &mut Run) -> StepOut {
    match &run.version {
        Ok(v) if *v >= (1, 14, 0) => {}
        Ok((a, b, c)) => {
            return Err(Outcome::Skip(format!(
                "Terraform {a}.{b}.{c} on PATH has no actions (`terraform apply -invoke` needs >= 1.14); the stop_session_grpc step covers the action"
            )))
        }
        Err(e) => return Err(Outcome::Skip(e.clone())),
    }
    let identifier = format!("invoke-{}", run.run_id);
    let (endpoint, dp) = bind_session(run, &identifier).await?;
    let action = format!(
        "action \"azuresessions_stop_session\" \"conformance\" {{\n  config {{\n    session_pool_id = azuresessions_session_pool.pool.id\n    identifier      = \"{identifier}\"\n  }}\n}}\n"
    );
    std::fs::write(run.main_dir.join("action.tf"), action).map_err(|e| fail(e.to_string()))?;
    let out = tf(
        run,
        &run.main_dir,
        &[
            "apply",
            "-no-color",
            "-auto-approve",
            "-invoke=action.azuresessions_stop_session.conformance",
        ],
        &[0],
    )
    .await;
    let _ = std::fs::remove_file(run.main_dir.join("action.tf"));
    out?;
    if bound(run, &endpoint, &dp, &identifier).await? {
        return Err(fail(format!(
            "{identifier} is still bound after terraform apply -invoke"
        )));
    }
    Ok(format!("{identifier} stopped by terraform apply -invoke"))
}

async fn destroy(run: &mut Run) -> StepOut {
    let Some(id) = run.pool_id.clone() else {
        return Err(Outcome::Skip("not run: nothing was applied".into()));
    };
    tf(
        run,
        &run.main_dir,
        &["destroy", "-no-color", "-auto-approve"],
        &[0],
    )
    .await?;
    let (status, body) = arm_get(run, &id).await?;
    if status != 404 {
        return Err(fail(format!(
            "after destroy, GET {id} answered {status}: {body}"
        )));
    }
    run.pool_id = None;
    Ok(format!("{id} gone (404)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &'static str, pass: bool) -> StepResult {
        StepResult {
            name,
            outcome: if pass {
                Outcome::Pass(String::new())
            } else {
                Outcome::Fail(String::new())
            },
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn later_steps_need_apply() {
        assert_eq!(blocked_by("plan", &[]), None);
        assert!(blocked_by("apply", &[r("plan", false)])
            .unwrap()
            .contains("`plan`"));
        assert_eq!(
            blocked_by("drift", &[r("plan", true), r("apply", true)]),
            None
        );
        assert!(blocked_by("import", &[r("plan", true), r("apply", false)]).is_some());
        assert_eq!(blocked_by("destroy", &[r("apply", false)]), None);
    }

    #[test]
    fn config_names_the_pool() {
        let c = config("/env", "rg", "tfconfx", 4);
        assert!(
            c.contains("name                         = \"tfconfx\""),
            "{c}"
        );
        assert!(c.contains("max_concurrent_sessions      = 4"), "{c}");
        assert!(c.contains("container_app_environment_id = \"/env\""), "{c}");
    }
}
