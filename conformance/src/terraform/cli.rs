//! Running the real `terraform` binary: a working directory with its own CLI configuration
//! (`dev_overrides` to the provider directory, so no `terraform init`), the target's `ARM_*`
//! variables, no checkpoint calls, no input, no inherited `TF_LOG`/`TF_REATTACH_PROVIDERS`,
//! every command bounded in time and killed if the harness stops.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The provider's source address.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/azuresessions/azuresessions";
/// Longest a single `terraform` command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// What a `terraform` command did.
#[derive(Debug, Clone)]
pub struct TfOutput {
    /// Exit code (-1 when killed).
    pub code: i32,
    /// stdout then stderr.
    pub text: String,
}

impl TfOutput {
    /// The `Plan: ...` summary line, or `No changes.`.
    pub fn plan_summary(&self) -> String {
        self.text
            .lines()
            .find(|l| l.starts_with("Plan: ") || l.starts_with("No changes."))
            .unwrap_or("(no plan summary)")
            .trim()
            .to_string()
    }

    /// The last 40 lines, for failure messages.
    pub fn tail(&self) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// Directories and environment of one suite run.
#[derive(Debug)]
pub struct Terraform {
    root: tempfile::TempDir,
    tfrc: PathBuf,
    env: Vec<(String, String)>,
}

impl Terraform {
    /// A temp dir with a CLI configuration pointing at `provider_dir`; `env` is what every
    /// command gets (the target's `ARM_*`).
    pub fn new(provider_dir: &Path, env: Vec<(String, String)>) -> std::io::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("sessions-conformance-tf-")
            .tempdir()?;
        let tfrc = root.path().join("terraformrc");
        std::fs::write(
            &tfrc,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider_dir.display()
            ),
        )?;
        Ok(Terraform { root, tfrc, env })
    }

    /// A working directory `name` (created empty).
    pub fn dir(&self, name: &str) -> std::io::Result<PathBuf> {
        let d = self.root.path().join(name);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// Runs `terraform args...` in `dir`.
    pub async fn run(&self, dir: &Path, args: &[&str]) -> TfOutput {
        let mut cmd = tokio::process::Command::new("terraform");
        cmd.args(args)
            .current_dir(dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("TF_CLI_CONFIG_FILE", &self.tfrc)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("NO_COLOR", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_REATTACH_PROVIDERS")
            .kill_on_drop(true);
        match tokio::time::timeout(COMMAND_TIMEOUT, cmd.output()).await {
            Ok(Ok(out)) => TfOutput {
                code: out.status.code().unwrap_or(-1),
                text: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            },
            Ok(Err(e)) => TfOutput {
                code: -1,
                text: format!(
                    "cannot run terraform ({e}); install Terraform >= 1.11 and put it on PATH"
                ),
            },
            Err(_) => TfOutput {
                code: -1,
                text: format!(
                    "terraform {args:?} did not finish within {} s",
                    COMMAND_TIMEOUT.as_secs()
                ),
            },
        }
    }
}

/// `terraform version`'s `(major, minor, patch)`, or why not.
pub async fn version() -> Result<(u32, u32, u32), String> {
    let out = tokio::process::Command::new("terraform")
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .await
        .map_err(|e| format!("cannot run terraform ({e}); install Terraform >= 1.11"))?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("`terraform version -json` is not JSON: {e}"))?;
    parse_version(v["terraform_version"].as_str().unwrap_or_default())
        .ok_or_else(|| format!("cannot read the version in {v}"))
}

/// `1.11.4` (or `1.14.0-beta1`) -> `(1, 11, 4)`.
pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let core = s.trim_start_matches('v').split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.11.4"), Some((1, 11, 4)));
        assert_eq!(parse_version("v1.14.0-beta1"), Some((1, 14, 0)));
        assert_eq!(parse_version("1.15"), Some((1, 15, 0)));
        assert_eq!(parse_version("x"), None);
    }

    #[test]
    fn plan_summaries() {
        let o = TfOutput {
            code: 2,
            text: "stuff\nPlan: 1 to add, 0 to change, 0 to destroy.\n".into(),
        };
        assert_eq!(
            o.plan_summary(),
            "Plan: 1 to add, 0 to change, 0 to destroy."
        );
        let o = TfOutput {
            code: 0,
            text: "No changes. Your infrastructure matches the configuration.\n".into(),
        };
        assert!(o.plan_summary().starts_with("No changes."));
    }

    #[test]
    fn cli_config_points_at_the_provider() {
        let t = Terraform::new(Path::new("/opt/provider"), vec![]).unwrap();
        let text = std::fs::read_to_string(&t.tfrc).unwrap();
        assert!(
            text.contains(PROVIDER_ADDRESS) && text.contains("\"/opt/provider\""),
            "{text}"
        );
        assert!(t.dir("a").unwrap().is_dir());
    }
}
