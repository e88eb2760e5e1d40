//! The command line: `sessions-conformance [run flags]` runs suites, `cleanup --run-id ID`
//! deletes what a killed run left.
//!
//! ```text
//! sessions-conformance --list
//! sessions-conformance --target emulator [--backend qemu|fake] [--suite NAME]... [--junit FILE] [--json FILE]
//! sessions-conformance --target emulator --endpoint URL   # after eval "$(sessions-emulator env)"
//! sessions-conformance --target azure --subscription S --resource-group RG --environment ENV --image REF
//! sessions-conformance cleanup --run-id ID [target flags]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::case;
use crate::emulator::{Backend, Emulator};
use crate::report;
use crate::runner;
use crate::target::auth::Credential;
use crate::target::azure::{self, AzureOptions};
use crate::target::local::{self, EmulatorOptions};
use crate::target::{cleanup, new_run_id, valid_run_id, Target};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "sessions-conformance",
    version,
    about = "Conformance suites against the sessions emulator or Azure",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// A subcommand; without one, the suites run.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of a run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run suites (the default).
    Run(RunArgs),
    /// Delete every resource tagged with a run id (what a killed run left).
    Cleanup(CleanupArgs),
    /// Does a container image work in a pool? Loads it into an emulator and checks it step
    /// by step.
    Image(crate::image::ImageArgs),
}

/// Which service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TargetKind {
    /// The sessions emulator (started by the run, or `--endpoint`).
    #[default]
    Emulator,
    /// Azure (credentials from the environment).
    Azure,
}

/// Where the cases run.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The service to run against.
    #[arg(long, value_enum, default_value_t = TargetKind::Emulator)]
    pub target: TargetKind,
    /// Use this running emulator (with the variables of `sessions-emulator env` set)
    /// instead of starting one.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Session backend of the emulator started (or of the running one).
    #[arg(long, value_enum, default_value_t = Backend::Qemu)]
    pub backend: Backend,
    /// Time scale of the emulator started (default 0.05), or of the running one (default 1).
    #[arg(long, value_name = "F")]
    pub time_scale: Option<f64>,
    /// The `sessions-emulator` binary to start.
    #[arg(long, value_name = "PATH")]
    pub emulator_bin: Option<PathBuf>,
    /// Azure subscription id (else AZURE_SUBSCRIPTION_ID / ARM_SUBSCRIPTION_ID).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Azure resource group the run creates pools in.
    #[arg(long)]
    pub resource_group: Option<String>,
    /// Existing managed environment (name in the resource group, or ARM id).
    #[arg(long)]
    pub environment: Option<String>,
    /// Log Analytics workspace (ARM id) for the observability suite on Azure.
    #[arg(long)]
    pub workspace: Option<String>,
    /// The sample session image in a registry Azure pools can pull (Azure only).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
}

/// Flags of a run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Where to run.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run only this suite (repeatable).
    #[arg(long = "suite", value_name = "NAME")]
    pub suites: Vec<String>,
    /// Run only this case, as `suite/name` (repeatable).
    #[arg(long = "case", value_name = "SUITE/NAME")]
    pub cases: Vec<String>,
    /// Print every case with its purpose and exit.
    #[arg(long)]
    pub list: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Run id (lower-case letters and digits); part of every name the run creates.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Record snapshots instead of comparing with them.
    #[arg(long)]
    pub record: bool,
    /// Where `--record` writes snapshots.
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// Where `terraform-provider-azuresessions` is (the terraform suite builds it otherwise).
    #[arg(long, value_name = "DIR")]
    pub provider_dir: Option<PathBuf>,
}

/// `cleanup` flags.
#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    /// Where the run ran.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The run id of the run to clean up after (printed at its start).
    #[arg(long)]
    pub run_id: String,
}

/// Builds the target (starting an emulator when asked); the emulator is kept alive by the
/// returned guard.
pub async fn connect(
    args: &TargetArgs,
    run_id: String,
) -> Result<(Target, Option<Emulator>), anyhow::Error> {
    match args.target {
        TargetKind::Emulator => {
            local::connect(
                EmulatorOptions {
                    endpoint: args.endpoint.clone(),
                    backend: args.backend,
                    time_scale: args.time_scale,
                    bin: args.emulator_bin.clone(),
                },
                run_id,
            )
            .await
        }
        TargetKind::Azure => {
            let opts = AzureOptions {
                subscription: args.subscription.clone(),
                resource_group: args.resource_group.clone(),
                environment: args.environment.clone(),
                tenant: None,
                workspace: args.workspace.clone(),
                image: args.image.clone(),
                arm: azure::ARM.into(),
                authority: azure::AUTHORITY.into(),
            }
            .with_env(|k| std::env::var(k).ok());
            let cred = Credential::from_env(|k| std::env::var(k).ok());
            Ok((azure::connect(opts, cred, run_id).await?, None))
        }
    }
}

/// Prints `suite/name  purpose` for every case.
pub fn list(cases: &[case::Case]) -> String {
    let width = cases.iter().map(|c| c.id().len()).max().unwrap_or(0);
    cases
        .iter()
        .map(|c| format!("{:<width$}  {}\n", c.id(), c.purpose))
        .collect()
}

/// Runs the command line; returns the exit code (0 only without failures, 2 on bad usage
/// or an unusable target).
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Cleanup(args)) => cleanup_command(args).await,
        Some(Command::Run(args)) => run_command(args).await,
        Some(Command::Image(args)) => {
            return match crate::image::run(args).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("sessions-conformance image: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        None => run_command(cli.run).await,
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("sessions-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run_command(args: RunArgs) -> Result<u8, anyhow::Error> {
    let all = case::registry();
    let selected = case::select(&all, &args.suites, &args.cases)?;
    if args.list {
        print!("{}", list(&selected));
        return Ok(0);
    }
    let run_id = match args.run_id.clone() {
        Some(id) if valid_run_id(&id) => id,
        Some(id) => anyhow::bail!(
            "--run-id {id:?}: use 2 to 12 lower-case letters and digits, starting with a letter"
        ),
        None => new_run_id(),
    };
    let (mut target, emulator) = connect(&args.target, run_id).await?;
    target.snapshots.record = args.record;
    if let Some(d) = &args.snapshot_dir {
        target.snapshots.dir = d.clone();
    }
    target.provider_dir = args.provider_dir.clone();
    let target = Arc::new(target);
    let report = runner::run(&selected, target).await;
    println!("{}", report.summary());
    if let Some(f) = &args.junit {
        std::fs::write(f, report::junit::render(&report))
            .map_err(|e| anyhow::anyhow!("cannot write --junit {}: {e}", f.display()))?;
    }
    if let Some(f) = &args.json {
        let text = serde_json::to_string_pretty(&report::json::render(&report))?;
        std::fs::write(f, text)
            .map_err(|e| anyhow::anyhow!("cannot write --json {}: {e}", f.display()))?;
    }
    if let Some(emu) = emulator {
        emu.stop().await;
    }
    Ok(report.exit_code())
}

async fn cleanup_command(args: CleanupArgs) -> Result<u8, anyhow::Error> {
    if !valid_run_id(&args.run_id) {
        anyhow::bail!("--run-id {:?} is no run id", args.run_id);
    }
    if args.target.target == TargetKind::Emulator && args.target.endpoint.is_none() {
        anyhow::bail!("cleanup against the emulator needs --endpoint URL (an emulator the run started is gone with its data dir)");
    }
    let (target, _emu) = connect(&args.target, args.run_id.clone()).await?;
    let found = cleanup::find_tagged(&target, &args.run_id)
        .await
        .map_err(anyhow::Error::msg)?;
    println!(
        "{} resources tagged {}={}",
        found.len(),
        crate::target::RUN_TAG,
        args.run_id
    );
    let mut failed = 0;
    for d in cleanup::delete_all(&target, found, std::time::Duration::from_secs(1800)).await {
        match d.problem {
            None => println!("deleted {}", d.id),
            Some(p) => {
                failed += 1;
                println!("NOT deleted {}: {p}", d.id);
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}
