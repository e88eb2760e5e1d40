//! Running the real `terraform` binary (only `real_*` tests do, so `make test-fast` selects
//! them out by name): one command builder with the environment every run needs (its own CLI
//! config file, no checkpoint calls, no input, no inherited `TF_LOG`), killed when dropped.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Longest a single `terraform` command may take before the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// `terraform` in `dir` with the CLI configuration file `cli_config`.
pub fn command(dir: &Path, cli_config: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("terraform");
    cmd.current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_INPUT", "0")
        .env("NO_COLOR", "1")
        .env_remove("TF_LOG")
        .kill_on_drop(true);
    cmd
}

/// Runs `cmd` to completion (at most [`COMMAND_TIMEOUT`]).
pub async fn output(mut cmd: tokio::process::Command, what: &[&str]) -> Output {
    tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("terraform {what:?} did not finish within {COMMAND_TIMEOUT:?}"))
        .expect("the `terraform` binary must be on PATH for real_ tests")
}

/// stdout followed by stderr, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
