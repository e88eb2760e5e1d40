//! Data source `azuresessions_sessions`: the sessions of a pool, from the data plane's
//! `.management/listSessions` (every page), with a data-plane token
//! (audience `https://dynamicsessions.io`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::azure::config::AzureClients;
use crate::azure::ids::SessionPoolId;
use crate::azure::models::session_pool::{SessionPool, API_VERSION};
use crate::azure::OpContext;
use crate::plugin::prelude::*;
use crate::plugin::schema::{Attribute, Block, ObjectNesting};
use crate::resources::support::{azure_diag, no_path, Checker};

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_sessions";

/// The data source.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionsDataSource;

/// The schema.
pub fn schema() -> Schema {
    let session = vec![
        Attribute::string("identifier")
            .computed()
            .description("The session identifier."),
        Attribute::string("etag")
            .computed()
            .description("Entity tag."),
        Attribute::string("expires_at")
            .computed()
            .description("When the session ends unless used again (RFC 3339)."),
        Attribute::string("created_at")
            .computed()
            .description("When the session was allocated."),
        Attribute::string("last_accessed_at")
            .computed()
            .description("When the session was last used."),
    ];
    Schema::new(
        0,
        Block::new()
            .description("Lists the active sessions of a session pool (`.management/listSessions`, all pages).")
            .attribute(Attribute::string("id").computed().description("The pool management endpoint that was listed."))
            .attribute(Attribute::string("pool_management_endpoint").optional().description("The pool's data-plane endpoint. Set this or `session_pool_id`."))
            .attribute(Attribute::string("session_pool_id").optional().description("ARM id of the pool; its endpoint is looked up."))
            .attribute(Attribute::nested("sessions", ObjectNesting::List, session).computed().description("The sessions.")),
    )
}

/// Checks the pool reference: exactly one of endpoint or pool id.
pub fn check_reference(config: &Value) -> TfResult<()> {
    let mut c = Checker::new();
    let (ep, id) = (
        config.get("pool_management_endpoint"),
        config.get("session_pool_id"),
    );
    if ep.is_unknown() || id.is_unknown() {
        return Ok(());
    }
    if ep.is_null() == id.is_null() {
        c.error(
            &AttributePath::attr("pool_management_endpoint"),
            "Invalid pool reference",
            "Set exactly one of `pool_management_endpoint` or `session_pool_id`.",
        );
    }
    if let Some(e) = ep.as_str() {
        if !(e.starts_with("https://") || e.starts_with("http://")) {
            c.error(
                &AttributePath::attr("pool_management_endpoint"),
                "Invalid value for `pool_management_endpoint`",
                format!("`pool_management_endpoint` must be an absolute https:// URL, got {e:?}."),
            );
        }
    }
    if let Some(i) = id.as_str() {
        if let Err(e) = SessionPoolId::parse(i) {
            c.error(
                &AttributePath::attr("session_pool_id"),
                "Invalid value for `session_pool_id`",
                e,
            );
        }
    }
    c.finish()
}

/// The endpoint to call: given directly, or looked up from the pool.
pub async fn resolve_endpoint(
    clients: &AzureClients,
    op: &OpContext,
    config: &Value,
) -> TfResult<String> {
    if let Some(e) = config.get("pool_management_endpoint").as_str() {
        return Ok(e.to_string());
    }
    let raw = config.require_str("session_pool_id")?;
    let id = SessionPoolId::parse(raw).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error("Invalid `session_pool_id`", e)
                .at(AttributePath::attr("session_pool_id")),
        )
    })?;
    let answer = clients
        .arm
        .get(op, &id.path(), API_VERSION)
        .await
        .map_err(|e| {
            azure_diag(
                format!("Failed to read session pool {}", id.name),
                &e,
                &no_path,
            )
        })?
        .ok_or_else(|| {
            Diagnostics::from(
                Diagnostic::error(
                    "Session pool not found",
                    format!("No session pool {id} exists."),
                )
                .at(AttributePath::attr("session_pool_id")),
            )
        })?;
    let pool: SessionPool = serde_json::from_value(answer).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Unexpected session pool response",
            e.to_string(),
        ))
    })?;
    pool.properties
        .and_then(|p| p.pool_management_endpoint)
        .ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Session pool has no endpoint",
                format!("Session pool {id} has no poolManagementEndpoint yet; wait until it is provisioned."),
            ))
        })
}

#[async_trait]
impl DataSource for SessionsDataSource {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        check_reference(config)
    }

    async fn read(&self, ctx: &Ctx, config: Value) -> TfResult<Value> {
        check_reference(&config)?;
        let clients: Arc<AzureClients> = ctx.data()?;
        let o = OpContext::new(ctx.stop_token().clone(), Duration::from_secs(300));
        let endpoint = resolve_endpoint(&clients, &o, &config).await?;
        let sessions = clients
            .dataplane
            .list_sessions(&o, &endpoint)
            .await
            .map_err(|e| azure_diag("Failed to list sessions", &e, &no_path))?;
        let opt = |s: &Option<String>| s.as_deref().map(Value::from).unwrap_or(Value::Null);
        let list: Vec<Value> = sessions
            .iter()
            .map(|s| {
                Value::object([
                    ("identifier", Value::from(s.identifier.as_str())),
                    ("etag", opt(&s.etag)),
                    ("expires_at", opt(&s.expires_at)),
                    ("created_at", opt(&s.created_at)),
                    ("last_accessed_at", opt(&s.last_accessed_at)),
                ])
            })
            .collect();
        let mut out = config;
        out.set_attr("id", Value::from(endpoint));
        out.set_attr("sessions", Value::List(list));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_valid_and_reference_rules() {
        schema().validate().unwrap();
        let both = Value::object([
            ("pool_management_endpoint", Value::from("https://x")),
            (
                "session_pool_id",
                Value::from(
                    "/subscriptions/s/resourceGroups/r/providers/Microsoft.App/sessionPools/p",
                ),
            ),
        ]);
        assert!(check_reference(&both).is_err());
        let none = Value::object([
            ("pool_management_endpoint", Value::Null),
            ("session_pool_id", Value::Null),
        ]);
        assert!(check_reference(&none).is_err());
        let ep = Value::object([
            ("pool_management_endpoint", Value::from("https://x")),
            ("session_pool_id", Value::Null),
        ]);
        assert!(check_reference(&ep).is_ok());
        let bad = Value::object([
            ("pool_management_endpoint", Value::Null),
            ("session_pool_id", Value::from("nope")),
        ]);
        assert!(check_reference(&bad).is_err());
    }
}
