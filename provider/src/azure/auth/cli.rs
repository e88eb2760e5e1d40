//! Azure CLI credential: `az account get-access-token --resource <r> -o json`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Deserialize;

use super::{scope_to_resource, AccessToken, AuthError, TokenSource};

/// Token source that asks the logged-in Azure CLI.
#[derive(Debug, Clone)]
pub struct AzureCli {
    program: PathBuf,
    tenant_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliToken {
    access_token: String,
    /// Newer CLIs: POSIX seconds.
    #[serde(rename = "expires_on")]
    expires_on_epoch: Option<serde_json::Value>,
}

impl AzureCli {
    /// Uses `az` from `PATH`; `tenant_id` adds `--tenant`.
    pub fn new(tenant_id: Option<String>) -> Self {
        AzureCli {
            program: PathBuf::from("az"),
            tenant_id,
        }
    }

    /// Uses another executable instead of `az` (tests).
    pub fn with_program(program: impl Into<PathBuf>, tenant_id: Option<String>) -> Self {
        AzureCli {
            program: program.into(),
            tenant_id,
        }
    }
}

#[async_trait]
impl TokenSource for AzureCli {
    async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let resource = scope_to_resource(scope);
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args([
            "account",
            "get-access-token",
            "--resource",
            &resource,
            "-o",
            "json",
        ]);
        if let Some(t) = &self.tenant_id {
            cmd.args(["--tenant", t]);
        }
        cmd.kill_on_drop(true);
        let out = cmd.output().await.map_err(|e| AuthError::Unreachable {
            flow: "Azure CLI",
            url: self.program.display().to_string(),
            detail: format!(
                "{e}; install the Azure CLI and run `az login`, or use another credential"
            ),
        })?;
        if !out.status.success() {
            return Err(AuthError::Rejected {
                flow: "Azure CLI",
                detail: format!(
                    "`az account get-access-token` exited with {}: {}; run `az login`",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        let tok: CliToken =
            serde_json::from_slice(&out.stdout).map_err(|e| AuthError::Rejected {
                flow: "Azure CLI",
                detail: format!("could not parse `az account get-access-token` output: {e}"),
            })?;
        let expires_at = super::client_credentials::seconds(tok.expires_on_epoch.as_ref())
            .map(|s| UNIX_EPOCH + Duration::from_secs(s))
            // Older CLIs only print a local-time `expiresOn`; assume a short life and re-ask.
            .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(600));
        Ok(AccessToken {
            secret: tok.access_token,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_az(dir: &std::path::Path, script: &str) -> PathBuf {
        let p = dir.join("az");
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[tokio::test]
    async fn parses_cli_output_and_passes_resource() {
        let dir = tempfile::tempdir().unwrap();
        let az = fake_az(
            dir.path(),
            r#"[ "$4" = "https://management.azure.com/" ] || exit 3
echo '{"accessToken":"cli-tok","expiresOn":"2030-01-01 00:00:00.000000","expires_on":1893456000,"tokenType":"Bearer"}'"#,
        );
        let t = AzureCli::with_program(az, None)
            .token(super::super::ARM_SCOPE)
            .await
            .unwrap();
        assert_eq!(t.secret, "cli-tok");
        assert_eq!(
            t.expires_at,
            UNIX_EPOCH + Duration::from_secs(1_893_456_000)
        );
    }

    #[tokio::test]
    async fn failing_cli_says_run_az_login() {
        let dir = tempfile::tempdir().unwrap();
        let az = fake_az(dir.path(), "echo 'Please run az login' >&2; exit 1");
        let e = AzureCli::with_program(az, None)
            .token("s")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("az login"), "{e}");
    }
}
