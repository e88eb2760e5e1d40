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
use crate::plugin::model::{Model, Tf};
use crate::plugin::prelude::*;
use crate::resources::support::{azure_diag, no_path, Checker};

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_sessions";

/// The data source.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionsDataSource;

/// Lists the active sessions of a session pool (`.management/listSessions`, all pages).
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Sessions {
    /// The pool management endpoint that was listed.
    #[tf(computed)]
    pub id: Tf<String>,
    /// The pool's data-plane endpoint. Set this or `session_pool_id`.
    #[tf(optional)]
    pub pool_management_endpoint: Tf<String>,
    /// ARM id of the pool; its endpoint is looked up.
    #[tf(optional)]
    pub session_pool_id: Tf<String>,
    /// The sessions.
    #[tf(computed, nested(list))]
    pub sessions: Tf<Vec<Session>>,
}

/// A session.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Session {
    /// The session identifier.
    #[tf(computed)]
    pub identifier: Tf<String>,
    /// Entity tag.
    #[tf(computed)]
    pub etag: Tf<String>,
    /// When the session ends unless used again (RFC 3339).
    #[tf(computed)]
    pub expires_at: Tf<String>,
    /// When the session was allocated.
    #[tf(computed)]
    pub created_at: Tf<String>,
    /// When the session was last used.
    #[tf(computed)]
    pub last_accessed_at: Tf<String>,
}

/// How a data-plane type names its pool: the two attributes the sessions data source and the
/// stop_session action share (their models carry them under these names; a test checks it).
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct PoolReference {
    /// The pool's data-plane endpoint.
    #[tf(optional)]
    pub pool_management_endpoint: Tf<String>,
    /// ARM id of the pool.
    #[tf(optional)]
    pub session_pool_id: Tf<String>,
}

/// The schema.
pub fn schema() -> Schema {
    Schema::new(0, Sessions::block())
}

/// Checks the pool reference of a configuration: exactly one of endpoint or pool id.
pub fn check_reference(config: &Value) -> TfResult<()> {
    let r = PoolReference::from_value(config)?;
    let mut c = Checker::new();
    let (ep, id) = (&r.pool_management_endpoint, &r.session_pool_id);
    let ep_path = AttributePath::attr(PoolReference::POOL_MANAGEMENT_ENDPOINT);
    if ep.is_unknown() || id.is_unknown() {
        return Ok(());
    }
    if ep.is_null() == id.is_null() {
        c.error(
            &ep_path,
            "Invalid pool reference",
            "Set exactly one of `pool_management_endpoint` or `session_pool_id`.",
        );
    }
    if let Some(e) = ep.as_str() {
        if !(e.starts_with("https://") || e.starts_with("http://")) {
            c.error(
                &ep_path,
                "Invalid value for `pool_management_endpoint`",
                format!("`pool_management_endpoint` must be an absolute https:// URL, got {e:?}."),
            );
        }
    }
    if let Some(i) = id.as_str() {
        if let Err(e) = SessionPoolId::parse(i) {
            c.error(
                &AttributePath::attr(PoolReference::SESSION_POOL_ID),
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
    let r = PoolReference::from_value(config)?;
    if let Some(e) = r.pool_management_endpoint.as_str() {
        return Ok(e.to_string());
    }
    let id_path = AttributePath::attr(PoolReference::SESSION_POOL_ID);
    let raw = r.session_pool_id.as_str().ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error(
                "Missing pool reference",
                "Set `pool_management_endpoint` or `session_pool_id`.",
            )
            .at(id_path.clone()),
        )
    })?;
    let id = SessionPoolId::parse(raw).map_err(|e| {
        Diagnostics::from(Diagnostic::error("Invalid `session_pool_id`", e).at(id_path.clone()))
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
                .at(id_path),
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
        let mut out = Sessions::from_value(&config)?;
        out.id = Tf::Known(endpoint);
        out.sessions = Tf::Known(
            sessions
                .into_iter()
                .map(|s| Session {
                    identifier: Tf::Known(s.identifier),
                    etag: Tf::from_option(s.etag),
                    expires_at: Tf::from_option(s.expires_at),
                    created_at: Tf::from_option(s.created_at),
                    last_accessed_at: Tf::from_option(s.last_accessed_at),
                })
                .collect(),
        );
        Ok(out.encode())
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

    #[test]
    fn the_shared_reference_attributes_exist_in_both_types() {
        for b in [
            Sessions::block(),
            crate::actions::stop_session::StopSession::block(),
        ] {
            for a in PoolReference::block().attributes {
                assert!(b.attr(&a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
