//! Action `azuresessions_stop_session` (Terraform 1.14+): stops one session of a pool through
//! the data plane's `.management/stopSession`, with a data-plane token. Plan validates the
//! identifier and the pool reference; invoke streams progress and ends with one Completed
//! event (sent by the server after `invoke` returns).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::azure::config::AzureClients;
use crate::azure::dataplane::validate_identifier;
use crate::azure::OpContext;
use crate::data_sources::sessions::{check_reference, resolve_endpoint};
use crate::plugin::model::{Model, Tf};
use crate::plugin::prelude::*;
use crate::resources::support::{azure_diag, no_path};

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_stop_session";

/// The action.
#[derive(Debug, Default, Clone, Copy)]
pub struct StopSessionAction;

/// Stops a session of a session pool now (`.management/stopSession`). The pool refills toward
/// `ready_session_instances`.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct StopSession {
    /// The pool's data-plane endpoint. Set this or `session_pool_id`.
    #[tf(optional)]
    pub pool_management_endpoint: Tf<String>,
    /// ARM id of the pool; its endpoint is looked up.
    #[tf(optional)]
    pub session_pool_id: Tf<String>,
    /// The session identifier: 4-128 letters, digits or `_|}{[]:";'<>?/.,@#$%^&*()-+=!~`.
    #[tf(required)]
    pub identifier: Tf<String>,
}

/// The schema.
pub fn schema() -> Schema {
    Schema::new(0, StopSession::block())
}

fn check(config: &Value) -> TfResult<()> {
    let mut diags = match check_reference(config) {
        Ok(()) => Diagnostics::new(),
        Err(d) => d,
    };
    let action = StopSession::from_value(config)?;
    if let Some(id) = action.identifier.as_str() {
        if let Err(e) = validate_identifier(id) {
            diags.push(
                Diagnostic::error(
                    "Invalid value for `identifier`",
                    format!("`identifier` {e}."),
                )
                .at(AttributePath::attr(StopSession::IDENTIFIER)),
            );
        }
    }
    diags.into_result()
}

#[async_trait]
impl Action for StopSessionAction {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        check(config)
    }

    async fn plan(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        check(config)
    }

    async fn invoke(&self, ctx: &Ctx, config: Value, progress: &Progress) -> TfResult<()> {
        check(&config)?;
        let clients: Arc<AzureClients> = ctx.data()?;
        let identifier = StopSession::from_value(&config)?
            .identifier
            .into_known()
            .ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error("Missing `identifier`", "`identifier` must be known.")
                        .at(AttributePath::attr(StopSession::IDENTIFIER)),
                )
            })?;
        let o = OpContext::new(ctx.stop_token().clone(), Duration::from_secs(300));
        let endpoint = resolve_endpoint(&clients, &o, &config).await?;
        progress
            .send(format!("Stopping session {identifier:?} at {endpoint}"))
            .await;
        let answer = clients
            .dataplane
            .stop_session(&o, &endpoint, &identifier)
            .await
            .map_err(|e| {
                azure_diag(
                    format!("Failed to stop session {identifier:?}"),
                    &e,
                    &no_path,
                )
            })?;
        let msg = if answer.is_empty() {
            format!("Session {identifier:?} stopped.")
        } else {
            answer
        };
        progress.send(msg).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_checks() {
        schema().validate().unwrap();
        let ok = Value::object([
            ("pool_management_endpoint", Value::from("https://p.example")),
            ("session_pool_id", Value::Null),
            ("identifier", Value::from("user-1")),
        ]);
        check(&ok).unwrap();
        let mut bad = ok.clone();
        bad.set_attr("identifier", Value::from("x"));
        let d = check(&bad).unwrap_err();
        assert_eq!(
            d.iter().next().unwrap().path,
            Some(AttributePath::attr("identifier"))
        );
    }
}
