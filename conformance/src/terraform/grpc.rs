//! The `azuresessions_stop_session` action over the provider's real gRPC interface, for
//! Terraform versions without actions (< 1.14): the provider binary from the provider directory
//! runs with `--debug` (it serves tfplugin6 on a unix socket and prints the
//! `TF_REATTACH_PROVIDERS` line), and this module plays Terraform: ConfigureProvider, then
//! PlanAction and InvokeAction of `azuresessions_stop_session` for one identifier. The message
//! types and the msgpack value codec come from the provider crate (the same definitions
//! Terraform's protocol file gives); the provider itself is the binary under test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use terraform_provider_azuresessions::actions::stop_session;
use terraform_provider_azuresessions::plugin::proto::tfplugin6 as pb;
use terraform_provider_azuresessions::plugin::{codec, Schema, Value};
use terraform_provider_azuresessions::resources::provider as provider_config;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::transport::{Channel, Endpoint};

/// The provider binary's name.
pub const PROVIDER_BINARY: &str = "terraform-provider-azuresessions";

/// A provider process in debug mode and a gRPC client to it; killed on drop.
pub struct DebugProvider {
    child: tokio::process::Child,
    /// The tfplugin6 client.
    pub client: pb::provider_client::ProviderClient<Channel>,
}

impl DebugProvider {
    /// Starts `{provider_dir}/terraform-provider-azuresessions --debug` with `env` and
    /// connects to its socket.
    pub async fn start(provider_dir: &Path, env: &[(String, String)]) -> Result<Self, String> {
        let bin = provider_dir.join(PROVIDER_BINARY);
        let mut child = tokio::process::Command::new(&bin)
            .arg("--debug")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let socket = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(p) = socket_in_line(&line) {
                    return Some(p);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| {
            format!(
                "{} --debug printed no TF_REATTACH_PROVIDERS line within 30 s",
                bin.display()
            )
        })?;
        // Keep draining stdout so the provider never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let path = socket.clone();
        let channel = Endpoint::try_from("http://localhost")
            .map_err(|e| e.to_string())?
            .connect_with_connector(tower::service_fn(move |_| {
                let path = path.clone();
                async move {
                    let s = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
                }
            }))
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
        Ok(DebugProvider {
            child,
            client: pb::provider_client::ProviderClient::new(channel),
        })
    }

    /// ConfigureProvider with an empty configuration (credentials from the environment), as
    /// Terraform `version` would.
    pub async fn configure(&mut self, terraform_version: &str) -> Result<(), String> {
        let resp = self
            .client
            .configure_provider(pb::configure_provider::Request {
                terraform_version: terraform_version.into(),
                config: Some(dv(
                    &Value::object(Vec::<(String, Value)>::new()),
                    &provider_config::schema(),
                )?),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("ConfigureProvider: {e}"))?
            .into_inner();
        no_errors("ConfigureProvider", &resp.diagnostics)
    }

    /// PlanAction then InvokeAction of `azuresessions_stop_session`; returns the events'
    /// kinds (`progress`, `completed`).
    pub async fn stop_session(
        &mut self,
        endpoint: &str,
        identifier: &str,
    ) -> Result<Vec<String>, String> {
        let schema = stop_session::schema();
        let config = Value::object([
            ("pool_management_endpoint", Value::from(endpoint)),
            ("session_pool_id", Value::Null),
            ("identifier", Value::from(identifier)),
        ]);
        let plan = self
            .client
            .plan_action(pb::plan_action::Request {
                action_type: stop_session::TYPE_NAME.into(),
                config: Some(dv(&config, &schema)?),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("PlanAction: {e}"))?
            .into_inner();
        no_errors("PlanAction", &plan.diagnostics)?;
        let mut stream = self
            .client
            .invoke_action(pb::invoke_action::Request {
                action_type: stop_session::TYPE_NAME.into(),
                config: Some(dv(&config, &schema)?),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("InvokeAction: {e}"))?
            .into_inner();
        let mut kinds = Vec::new();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(120), stream.message())
                .await
                .map_err(|_| "InvokeAction sent nothing for 120 s".to_string())?
                .map_err(|e| format!("InvokeAction stream: {e}"))?;
            let Some(ev) = msg else { break };
            use pb::invoke_action::event::Type;
            match ev.r#type {
                Some(Type::Progress(p)) => kinds.push(format!("progress: {}", p.message)),
                Some(Type::Completed(c)) => {
                    no_errors("InvokeAction", &c.diagnostics)?;
                    kinds.push("completed".into());
                }
                None => kinds.push("(empty event)".into()),
            }
        }
        Ok(kinds)
    }

    /// Stops the provider (SIGTERM through kill_on_drop's SIGKILL fallback).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

fn dv(v: &Value, schema: &Schema) -> Result<pb::DynamicValue, String> {
    codec::encode_dynamic(v, &schema.implied_type()).map_err(|e| format!("encoding {v:?}: {e}"))
}

fn no_errors(what: &str, d: &[pb::Diagnostic]) -> Result<(), String> {
    let errs: Vec<String> = d
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("{what} answered errors: {}", errs.join("; ")))
    }
}

/// The socket path of an `export TF_REATTACH_PROVIDERS='{...}'` line.
pub fn socket_in_line(line: &str) -> Option<PathBuf> {
    let json = line
        .split_once("TF_REATTACH_PROVIDERS='")?
        .1
        .strip_suffix('\'')?;
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let entry = v.as_object()?.values().next()?;
    entry["Addr"]["String"].as_str().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reattach_line() {
        let line = r#"	export TF_REATTACH_PROVIDERS='{"registry.terraform.io/azuresessions/azuresessions":{"Protocol":"grpc","ProtocolVersion":6,"Pid":1,"Test":true,"Addr":{"Network":"unix","String":"/tmp/x/plugin.sock"}}}'"#;
        assert_eq!(
            socket_in_line(line),
            Some(PathBuf::from("/tmp/x/plugin.sock"))
        );
        assert_eq!(socket_in_line("Provider started"), None);
    }
}
