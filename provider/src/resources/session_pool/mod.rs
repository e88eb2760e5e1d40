//! `azuresessions_session_pool`: a `Microsoft.App/sessionPools` resource (api-version
//! 2026-07-01).
//!
//! - [`schema`]: the declaration (azurerm names, probes, write-only secrets, timeouts).
//! - [`validate`]: plan-time rules with attribute paths.
//! - [`plan`]: defaults, unknowns, replacement.
//! - [`expand`] / [`flatten`]: Terraform value <-> ARM JSON.
//!
//! Calls (as azurerm): Create = GET (expect 404) + PUT + poll; Update = full PUT + poll
//! (secrets re-sent); Read = GET, null state on 404; Delete = DELETE + poll until 404;
//! Import by ARM id.
//!
//! A create or update whose PUT the service accepted but whose operation failed returns the
//! pool's current state together with the error: after a create Terraform records the pool as
//! tainted and the next apply replaces it; after an update the state shows
//! `provisioning_state = "Failed"`, which plans another update until the pool is healthy.

pub mod expand;
pub mod flatten;
pub mod plan;
pub mod schema;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;

use crate::azure::config::AzureClients;
use crate::azure::ids::SessionPoolId;
use crate::azure::models::session_pool::{SessionPool, API_VERSION};
use crate::azure::{AzureError, OpContext};
use crate::plugin::prelude::*;
use crate::resources::support::azure_diag;
use crate::resources::timeouts::{self, POOL_DEFAULTS};

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_session_pool";

/// The resource.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionPoolResource;

/// Maps an ARM error `target` (e.g. `properties.scaleConfiguration.readySessionInstances`) to
/// the Terraform attribute it is about.
pub fn target_to_path(target: &str) -> Option<AttributePath> {
    let t = target.to_ascii_lowercase();
    let table: &[(&str, &str)] = &[
        ("readysessioninstances", "ready_session_instances"),
        ("maxconcurrentsessions", "max_concurrent_sessions"),
        ("cooldownperiodinseconds", "cooldown_period_in_seconds"),
        ("maxaliveperiodinseconds", "max_alive_period_in_seconds"),
        ("lifecycletype", "lifecycle_type"),
        ("environmentid", "container_app_environment_id"),
        ("containertype", "container_type"),
        ("poolmanagementtype", "pool_management_type"),
        ("customcontainertemplate", "custom_container_template"),
        ("secrets", "secret"),
        ("managedidentitysettings", "managed_identity_setting"),
        ("identity", "identity"),
        ("location", "location"),
        ("name", "name"),
    ];
    table
        .iter()
        .find(|(k, _)| t.ends_with(k) || t.contains(&format!("{k}.")))
        .map(|(_, a)| AttributePath::attr(*a))
}

fn op(ctx: &Ctx, d: Duration) -> OpContext {
    OpContext::new(ctx.stop_token().clone(), d)
}

fn pool_id(clients: &AzureClients, state: &Value) -> TfResult<SessionPoolId> {
    let name = state.require_str("name")?;
    let rg = state.require_str("resource_group_name")?;
    Ok(SessionPoolId::new(&clients.subscription_id, rg, name))
}

fn decode(v: serde_json::Value, id: &SessionPoolId) -> TfResult<SessionPool> {
    serde_json::from_value(v).map_err(|e| {
        Diagnostic::error(
            "Unexpected session pool response",
            format!("The service's answer for {id} is not a session pool: {e}"),
        )
        .into()
    })
}

fn fail(summary: &str, e: &AzureError) -> Diagnostics {
    azure_diag(summary, e, &target_to_path)
}

/// How long the read after a failed write may take (it runs even after StopProvider, so the
/// pool that now exists is recorded).
const AFTER_FAILURE_READ: Duration = Duration::from_secs(30);

impl SessionPoolResource {
    /// PUTs the planned pool and waits for its operation. When the service accepted the PUT
    /// but the operation then failed (or could not be followed to its end), the pool exists:
    /// the answer carries its current state with the error, so Terraform keeps it (tainted
    /// after a create: the next apply replaces it).
    async fn put(
        &self,
        ctx: &Ctx,
        clients: &AzureClients,
        planned: &Value,
        config: &Value,
        timeout: Duration,
        verb: &str,
    ) -> TfResult<Applied> {
        let id = pool_id(clients, planned)?;
        let body = serde_json::to_value(expand::expand(planned, config)).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot encode the session pool",
                e.to_string(),
            ))
        })?;
        let o = op(ctx, timeout);
        let summary = format!("Failed to {verb} session pool {}", id.name);
        let first = clients
            .arm
            .begin_write(&o, Method::PUT, &id.path(), API_VERSION, &body)
            .await
            .map_err(|e| fail(&summary, &e))?;
        let answer = match clients
            .arm
            .finish_write(&o, &id.path(), API_VERSION, first)
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                let diags = fail(&summary, &e);
                return match current_state(clients, &id, planned).await {
                    Some(state) => Ok(Applied::failed(state, diags)),
                    None => Err(diags),
                };
            }
        };
        let remote = decode(answer, &id)?;
        let flat = flatten::flatten(&remote, planned, &id.path(), &id.name, &id.resource_group);
        let mut state = flatten::overlay_known(planned, flat);
        null_secret_write_only(&mut state);
        Ok(Applied::new(state))
    }
}

/// Write-only values never reach state.
fn null_secret_write_only(state: &mut Value) {
    if let Some(Value::List(secrets)) = state.at_mut(&AttributePath::attr("secret")) {
        for s in secrets.iter_mut() {
            s.set_attr("value_wo", Value::Null);
        }
    }
}

/// The pool as the service now has it, shaped like `planned` (secrets, spelling), or `None`
/// when it does not exist or cannot be read.
async fn current_state(
    clients: &AzureClients,
    id: &SessionPoolId,
    planned: &Value,
) -> Option<Value> {
    let o = OpContext::with_timeout(AFTER_FAILURE_READ);
    let answer = clients.arm.get(&o, &id.path(), API_VERSION).await.ok()??;
    let remote: SessionPool = serde_json::from_value(answer).ok()?;
    let mut state = flatten::flatten(&remote, planned, &id.path(), &id.name, &id.resource_group);
    null_secret_write_only(&mut state);
    Some(state)
}

#[async_trait]
impl Resource for SessionPoolResource {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        validate::validate(config)
    }

    async fn plan(&self, _ctx: &Ctx, req: PlanRequest) -> TfResult<Planned> {
        if !req.config.is_null() {
            validate::validate(&req.config)?;
        }
        Ok(plan::plan(&req))
    }

    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> TfResult<Applied> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let id = pool_id(&clients, &req.planned_state)?;
        let timeout = timeouts::get(&req.config, "create", &POOL_DEFAULTS);
        let o = op(ctx, timeout);
        match clients.arm.get(&o, &id.path(), API_VERSION).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                return Err(Diagnostic::error(
                    "Session pool already exists",
                    format!(
                        "A resource with the ID {id} already exists - to be managed via Terraform \
                         this resource needs to be imported into the State: \
                         terraform import {TYPE_NAME}.<name> {id}"
                    ),
                )
                .at(AttributePath::attr("name"))
                .into())
            }
            Err(e) => {
                return Err(fail(
                    &format!("Failed to check for an existing session pool {}", id.name),
                    &e,
                ))
            }
        }
        self.put(
            ctx,
            &clients,
            &req.planned_state,
            &req.config,
            timeout,
            "create",
        )
        .await
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> TfResult<ReadResult> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let state = &req.current_state;
        let id = match state.get("id").as_str().map(SessionPoolId::parse) {
            Some(Ok(id)) => id,
            _ => pool_id(&clients, state)?,
        };
        let o = op(ctx, timeouts::get(state, "read", &POOL_DEFAULTS));
        let answer = clients
            .arm
            .get(&o, &id.path(), API_VERSION)
            .await
            .map_err(|e| fail(&format!("Failed to read session pool {}", id.name), &e))?;
        let Some(answer) = answer else {
            return Ok(ReadResult::gone());
        };
        let remote = decode(answer, &id)?;
        let id_str = state
            .get("id")
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| id.path());
        Ok(ReadResult::new(flatten::flatten(
            &remote,
            state,
            &id_str,
            &id.name,
            &id.resource_group,
        )))
    }

    async fn update(&self, ctx: &Ctx, req: UpdateRequest) -> TfResult<Applied> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let timeout = timeouts::get(&req.config, "update", &POOL_DEFAULTS);
        self.put(
            ctx,
            &clients,
            &req.planned_state,
            &req.config,
            timeout,
            "update",
        )
        .await
    }

    async fn delete(&self, ctx: &Ctx, req: DeleteRequest) -> TfResult<()> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let state = &req.prior_state;
        let id = match state.get("id").as_str().map(SessionPoolId::parse) {
            Some(Ok(id)) => id,
            _ => pool_id(&clients, state)?,
        };
        let o = op(ctx, timeouts::get(state, "delete", &POOL_DEFAULTS));
        clients
            .arm
            .delete_and_wait(&o, &id.path(), API_VERSION)
            .await
            .map_err(|e| fail(&format!("Failed to delete session pool {}", id.name), &e))
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> TfResult<Imported> {
        let parsed = SessionPoolId::parse(id)
            .map_err(|e| Diagnostics::from(Diagnostic::error("Invalid import id", e)))?;
        let state = Value::object([
            ("id", Value::from(parsed.path())),
            ("name", Value::from(parsed.name.as_str())),
            (
                "resource_group_name",
                Value::from(parsed.resource_group.as_str()),
            ),
        ]);
        Ok(Imported {
            state,
            private: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_attributes() {
        assert_eq!(
            target_to_path("properties.scaleConfiguration.readySessionInstances"),
            Some(AttributePath::attr("ready_session_instances"))
        );
        assert_eq!(target_to_path("properties.unknownThing"), None);
    }
}
