//! The `terraform` suite: the real `terraform` binary and our provider against the target.
//!
//! One pool's life, step by step ([`STEPS`]), each step a plain async function over the shared
//! [`Run`] (later steps build on earlier ones and are skipped, with the reason, when one they
//! need failed):
//!
//! | step | proves |
//! |---|---|
//! | `plan` | a new configuration plans `1 to add` |
//! | `apply` | apply creates the pool, which ARM then has |
//! | `empty_second_plan` | a plan right after apply has no changes |
//! | `in_place_update` | changing `max_concurrent_sessions` plans an in-place update, applies, converges |
//! | `replacement` | changing `name` plans a replacement, applies, converges |
//! | `import` | an `import` block of the pool's id imports it into another state; the plan after it is empty |
//! | `generate_config` | `plan -generate-config-out` writes a configuration that then plans clean |
//! | `drift` | a change made outside Terraform (ARM PATCH) shows in the next plan and apply undoes it |
//! | `stop_session_grpc` | the `azuresessions_stop_session` action over the provider's gRPC interface stops a session |
//! | `stop_session_invoke` | `terraform apply -invoke=action...` stops a session (Terraform >= 1.14; skipped otherwise) |
//! | `destroy` | destroy removes the pool from ARM |
//!
//! The provider comes from `--provider-dir` or [`find_provider_dir`]; every run has its own
//! CLI configuration (`dev_overrides`, no `terraform init`) in a temp dir.
//!
//! Layout: [`cli`] (running terraform), [`grpc`] (the action over gRPC), [`steps`] (the steps).

pub mod cli;
pub mod grpc;
pub mod steps;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::emulator::{Client, Ready};

/// Every step: (name, what it proves), in run order.
pub const STEPS: &[(&str, &str)] = &[
    ("plan", "a new configuration plans `1 to add`"),
    ("apply", "apply creates the pool, which ARM then has"),
    (
        "empty_second_plan",
        "a plan right after apply has no changes",
    ),
    (
        "in_place_update",
        "changing max_concurrent_sessions plans an in-place update, applies and converges",
    ),
    (
        "replacement",
        "changing name plans a replacement, applies and converges",
    ),
    (
        "import",
        "an import block imports the pool into another state; the plan after it is empty",
    ),
    (
        "generate_config",
        "plan -generate-config-out writes a configuration that then plans clean",
    ),
    (
        "drift",
        "a change made outside Terraform shows in the next plan, and apply undoes it",
    ),
    (
        "stop_session_grpc",
        "the stop_session action over the provider's gRPC interface stops a session",
    ),
    (
        "stop_session_invoke",
        "terraform apply -invoke of the stop_session action stops a session (Terraform >= 1.14)",
    ),
    ("destroy", "destroy removes the pool from ARM"),
];

/// Why the suite cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No provider binary.
    #[error("cannot find terraform-provider-azuresessions (looked in: {0}); build it with `cargo build -p terraform-provider-azuresessions` or pass --provider-dir DIR")]
    NoProvider(String),
    /// `--provider-dir` without the binary.
    #[error("--provider-dir {0} holds no terraform-provider-azuresessions; build it with `cargo build -p terraform-provider-azuresessions`")]
    BadProviderDir(PathBuf),
    /// The temp dir.
    #[error("cannot prepare the terraform working directory: {0}")]
    Io(#[from] std::io::Error),
    /// The target.
    #[error("{0}")]
    Target(#[from] crate::emulator::EmulatorError),
}

/// The directory holding `terraform-provider-azuresessions`: `explicit` (`--provider-dir`),
/// else beside our executable, else the workspace's `target/debug` then `target/release`.
pub fn find_provider_dir(explicit: Option<&Path>) -> Result<PathBuf, SetupError> {
    if let Some(d) = explicit {
        return if d.join(grpc::PROVIDER_BINARY).is_file() {
            Ok(d.to_path_buf())
        } else {
            Err(SetupError::BadProviderDir(d.to_path_buf()))
        };
    }
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        if dir.file_name().is_some_and(|n| n == "deps") {
            if let Some(up) = dir.parent() {
                dirs.push(up.to_path_buf());
            }
        }
        dirs.push(dir);
    }
    let target = crate::emulator::workspace_target_dir();
    dirs.push(target.join("debug"));
    dirs.push(target.join("release"));
    dirs.iter()
        .find(|d| d.join(grpc::PROVIDER_BINARY).is_file())
        .cloned()
        .ok_or_else(|| {
            SetupError::NoProvider(
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed, with what it saw.
    Pass(String),
    /// Failed: what was wrong (with terraform's output).
    Fail(String),
    /// Not run: why.
    Skip(String),
}

/// One step's result.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// The step's name ([`STEPS`]).
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

/// The state shared by the steps of one run.
pub struct Run {
    /// Terraform runner (temp dirs, CLI config, env).
    pub tf: cli::Terraform,
    /// The provider directory.
    pub provider_dir: PathBuf,
    /// The target's values.
    pub ready: Ready,
    /// ARM / data-plane client of the target.
    pub client: Client,
    /// Unique suffix of this run's names.
    pub run_id: String,
    /// The pool's current name.
    pub pool_name: String,
    /// The pool's ARM id once applied.
    pub pool_id: Option<String>,
    /// The main working directory.
    pub main_dir: PathBuf,
    /// `terraform version`.
    pub version: Result<(u32, u32, u32), String>,
}

impl Run {
    /// Prepares a run against `ready` with the provider in `provider_dir`.
    pub async fn new(ready: &Ready, provider_dir: &Path) -> Result<Self, SetupError> {
        let tf = cli::Terraform::new(provider_dir, ready.env_vars())?;
        let main_dir = tf.dir("main")?;
        let run_id = format!(
            "{:06x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_micros())
                .unwrap_or(0)
                ^ std::process::id()
        );
        Ok(Run {
            tf,
            provider_dir: provider_dir.to_path_buf(),
            client: Client::new(ready)?,
            ready: ready.clone(),
            pool_name: format!("tfconf{run_id}"),
            run_id,
            pool_id: None,
            main_dir,
            version: cli::version().await,
        })
    }
}

/// Runs every step (or those named in `only`, plus none of the others) in order and returns
/// their results; the pool is destroyed at the end whatever happened.
pub async fn run_suite(
    ready: &Ready,
    provider_dir: &Path,
    only: &[String],
) -> Result<Vec<StepResult>, SetupError> {
    let mut run = Run::new(ready, provider_dir).await?;
    let mut results: Vec<StepResult> = Vec::new();
    for (name, _) in STEPS {
        if !only.is_empty() && !only.iter().any(|o| o == name) && *name != "destroy" {
            continue;
        }
        let t = Instant::now();
        let outcome = match steps::blocked_by(name, &results) {
            Some(why) => Outcome::Skip(why),
            None => steps::run_step(name, &mut run).await,
        };
        results.push(StepResult {
            name,
            outcome,
            elapsed: t.elapsed(),
        });
    }
    Ok(results)
}
