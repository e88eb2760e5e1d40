//! `--target azure`: the same cases against Azure. Credentials come from the environment
//! ([`Credential::from_env`]); `--subscription`, `--resource-group` and `--environment` (an
//! existing managed environment, by name in that group or by ARM id) say where pools go;
//! `--image` is the sample session image pushed to a registry the pools can pull from.
//! [`connect`] checks all of it with one read of the environment before any case runs.

use reqwest::Method;

use super::auth::Credential;
use super::{Kind, Scope, Sessions, Target, TargetSpec};
use crate::http::{self, Req};

/// ARM of the public cloud.
pub const ARM: &str = "https://management.azure.com";
/// Entra ID of the public cloud.
pub const AUTHORITY: &str = "https://login.microsoftonline.com";
/// The Log Analytics query API.
pub const LOG_ANALYTICS: &str = "https://api.loganalytics.io";

/// What `--target azure` is told.
#[derive(Debug, Clone)]
pub struct AzureOptions {
    /// Subscription id (`--subscription`, else `AZURE_SUBSCRIPTION_ID` / `ARM_SUBSCRIPTION_ID`).
    pub subscription: Option<String>,
    /// Resource group (`--resource-group`).
    pub resource_group: Option<String>,
    /// Managed environment: name in the resource group, or ARM id (`--environment`).
    pub environment: Option<String>,
    /// Tenant (`AZURE_TENANT_ID` / `ARM_TENANT_ID`; may be empty with `az login`).
    pub tenant: Option<String>,
    /// A Log Analytics workspace id for the observability suite (`--workspace`).
    pub workspace: Option<String>,
    /// The sample session image in a registry the pools can pull (`--image`).
    pub image: Option<String>,
    /// ARM base URL (tests point it at a mock).
    pub arm: String,
    /// Authority host (tests point it at a mock).
    pub authority: String,
}

/// Why the Azure target cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// A required option is missing.
    #[error("--target azure needs {0}")]
    Missing(&'static str),
    /// The environment could not be read.
    #[error("cannot read the managed environment {id}: {why}")]
    Environment {
        /// Its id.
        id: String,
        /// What ARM answered.
        why: String,
    },
}

impl AzureOptions {
    /// Options from flags, falling back on the environment for the subscription and tenant.
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |a: &str, b: &str| get(a).or_else(|| get(b)).filter(|v| !v.is_empty());
        if self.subscription.is_none() {
            self.subscription = var("AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID");
        }
        if self.tenant.is_none() {
            self.tenant = var("AZURE_TENANT_ID", "ARM_TENANT_ID");
        }
        self
    }
}

/// Builds the target and reads the environment (its location becomes the pools' location).
pub async fn connect(
    opts: AzureOptions,
    credential: Credential,
    run_id: String,
) -> Result<Target, anyhow::Error> {
    let subscription = opts.subscription.ok_or(AzureError::Missing(
        "--subscription (or AZURE_SUBSCRIPTION_ID)",
    ))?;
    let resource_group = opts
        .resource_group
        .ok_or(AzureError::Missing("--resource-group"))?;
    let env = opts.environment.ok_or(AzureError::Missing(
        "--environment (the name or id of an existing managed environment)",
    ))?;
    let environment_id = if env.starts_with("/subscriptions/") {
        env
    } else {
        format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.App/managedEnvironments/{env}"
        )
    };
    let target = Target::new(TargetSpec {
        kind: Kind::Azure,
        arm: opts.arm,
        authority: opts.authority,
        tenant: opts.tenant.unwrap_or_default(),
        subscription,
        resource_group,
        environment_id: environment_id.clone(),
        location: String::new(),
        workspace_id: opts.workspace,
        log_analytics: LOG_ANALYTICS.into(),
        sessions: Sessions::Real,
        time_scale: 1.0,
        image: opts.image.unwrap_or_default(),
        run_id,
        ca_pem: None,
        credential,
    })?;
    let token = target.token(Scope::Arm).await?;
    let url = target.arm_url(&format!("{environment_id}?api-version=2025-07-01"));
    let (res, _) = http::send(&target.client, Req::new(Method::GET, &url).bearer(&token)).await;
    let resp = res.map_err(|why| AzureError::Environment {
        id: environment_id.clone(),
        why,
    })?;
    if resp.status != 200 {
        return Err(AzureError::Environment {
            id: environment_id,
            why: format!("{} {}", resp.status, resp.text()),
        }
        .into());
    }
    let location = resp.json["location"]
        .as_str()
        .unwrap_or("eastus")
        .to_string();
    Ok(Target { location, ..target })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn opts(server: &str) -> AzureOptions {
        AzureOptions {
            subscription: Some("sub1".into()),
            resource_group: Some("rg1".into()),
            environment: Some("env1".into()),
            tenant: Some("tenant1".into()),
            workspace: None,
            image: Some("example.azurecr.io/sample-session:1".into()),
            arm: server.into(),
            authority: server.into(),
        }
    }

    fn cred() -> Credential {
        Credential::ClientSecret {
            client_id: "app".into(),
            secret: "s".into(),
        }
    }

    /// A managed environment as ARM returns it (2025-07-01, recorded, ids replaced).
    const ENV: &str = r#"{"id":"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments/env1","name":"env1","type":"Microsoft.App/managedEnvironments","location":"West Europe","properties":{"provisioningState":"Succeeded","defaultDomain":"happyriver-1a2b3c4d.westeurope.azurecontainerapps.io","staticIp":"20.0.0.1"}}"#;

    #[tokio::test]
    async fn connect_reads_the_environment_with_an_arm_token() {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tenant1/oauth2/v2.0/token"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"token_type":"Bearer","expires_in":3599,"access_token":"armtok"}"#,
            ))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments/env1"))
            .and(header("authorization", "Bearer armtok"))
            .respond_with(ResponseTemplate::new(200).set_body_string(ENV))
            .mount(&s)
            .await;
        let t = connect(opts(&s.uri()), cred(), "rabc".into())
            .await
            .unwrap();
        assert_eq!(t.location, "West Europe");
        assert!(!t.is_emulator());
        assert_eq!(
            t.pool_path("p"),
            "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/sessionPools/p"
        );
    }

    #[tokio::test]
    async fn a_missing_environment_or_option_says_what_to_fix() {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"token_type":"Bearer","expires_in":3599,"access_token":"armtok"}"#,
            ))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(404).set_body_string(
                r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.App/managedEnvironments/env1' under resource group 'rg1' was not found."}}"#,
            ))
            .mount(&s)
            .await;
        let e = connect(opts(&s.uri()), cred(), "rabc".into())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("managedEnvironments/env1") && e.contains("404"),
            "{e}"
        );
        let mut o = opts(&s.uri());
        o.resource_group = None;
        let e = connect(o, cred(), "rabc".into())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("--resource-group"), "{e}");
    }

    #[test]
    fn subscription_and_tenant_fall_back_on_the_environment() {
        let o = AzureOptions {
            subscription: None,
            tenant: None,
            ..opts("x")
        }
        .with_env(|k| match k {
            "ARM_SUBSCRIPTION_ID" => Some("sub9".into()),
            "AZURE_TENANT_ID" => Some("t9".into()),
            _ => None,
        });
        assert_eq!(o.subscription.as_deref(), Some("sub9"));
        assert_eq!(o.tenant.as_deref(), Some("t9"));
    }
}
