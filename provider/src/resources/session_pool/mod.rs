//! `azuresessions_session_pool`: a `Microsoft.App/sessionPools` resource (api-version
//! 2026-07-01).
//!
//! - [`model`]: the typed model, one struct per block (schema, docs, decode/encode).
//! - [`validate`]: plan-time rules with attribute paths.
//! - [`plan`]: defaults, unknowns, replacement, Failed pools, private timeouts.
//! - [`expand`] / [`flatten`]: model <-> ARM JSON.
//! - [`target`]: ARM error targets -> attribute paths.
//! - [`azurerm`]: the attributes shared with azurerm's `azurerm_container_app_session_pool`
//!   and where they differ on purpose (tested, and rendered into the docs).
//!
//! Calls (as azurerm): Create = GET (expect 404) + PUT + poll; Update = full PUT + poll
//! (secrets re-sent); Read = GET, null state on 404; Delete = DELETE + poll until 404;
//! Import by ARM id (or by resource identity).
//!
//! A create or update whose PUT the service accepted but whose operation failed returns the
//! pool's current state together with the error: after a create Terraform records the pool as
//! tainted and the next apply replaces it; after an update the state shows
//! `provisioning_state = "Failed"`, which plans another update until the pool is healthy.

pub mod azurerm;
pub mod expand;
pub mod flatten;
pub mod model;
pub mod plan;
pub mod schema;
pub mod target;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;

use crate::azure::config::AzureClients;
use crate::azure::ids::SessionPoolId;
use crate::azure::models::session_pool::{SessionPool as ArmPool, API_VERSION};
use crate::azure::{AzureError, OpContext};
use crate::plugin::prelude::*;
use crate::resources::support::azure_diag;
use crate::resources::timeouts::{Op, Timeouts, POOL_DEFAULTS};

use self::model::{SessionPool, SessionPoolIdentity};
pub use self::target::target_to_path;

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_session_pool";

/// The resource.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionPoolResource;

fn op(ctx: &Ctx, d: Duration) -> OpContext {
    OpContext::new(ctx.stop_token().clone(), d)
}

/// The pool's id: from `id` when the state has one, else from name and resource group.
fn pool_id(clients: &AzureClients, pool: &SessionPool) -> TfResult<SessionPoolId> {
    if let Some(Ok(id)) = pool.id.as_str().map(SessionPoolId::parse) {
        return Ok(id);
    }
    let (Some(name), Some(rg)) = (pool.name.as_str(), pool.resource_group_name.as_str()) else {
        return Err(Diagnostic::error(
            "Session pool not identified",
            "`name` and `resource_group_name` must be known to address the pool.",
        )
        .into());
    };
    Ok(SessionPoolId::new(&clients.subscription_id, rg, name))
}

fn decode_remote(v: serde_json::Value, id: &SessionPoolId) -> TfResult<ArmPool> {
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

/// The state of `remote`, shaped like `prior` (secrets, spelling, write-only values null).
fn state_of(
    remote: &ArmPool,
    prior: &SessionPool,
    id: &SessionPoolId,
    id_text: &str,
) -> SessionPool {
    let mut state = flatten::flatten(remote, prior, id_text, &id.name, &id.resource_group);
    for s in state.secret.items_mut() {
        s.value_wo = Tf::Null;
    }
    state
}

impl SessionPoolResource {
    /// PUTs the planned pool and waits for its operation. When the service accepted the PUT
    /// but the operation then failed (or could not be followed to its end), the pool exists:
    /// the answer carries its current state with the error, so Terraform keeps it (tainted
    /// after a create: the next apply replaces it).
    async fn put(
        &self,
        ctx: &Ctx,
        clients: &AzureClients,
        planned_value: &Value,
        config: &SessionPool,
        verb: Op,
    ) -> TfResult<Applied> {
        let planned = SessionPool::from_value(planned_value)?;
        let id = pool_id(clients, &planned)?;
        let timeouts = match &config.timeouts {
            Tf::Known(t) => t.clone(),
            _ => Timeouts::default(),
        };
        let body = serde_json::to_value(expand::expand(&planned, config)).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot encode the session pool",
                e.to_string(),
            ))
        })?;
        let o = op(ctx, timeouts.get(verb, &POOL_DEFAULTS));
        let verb_text = if verb == Op::Create {
            "create"
        } else {
            "update"
        };
        let summary = format!("Failed to {verb_text} session pool {}", id.name);
        let first = clients
            .arm
            .begin_write(&o, Method::PUT, &id.path(), API_VERSION, &body)
            .await
            .map_err(|e| fail(&summary, &e))?;
        let private = timeouts.to_private();
        let answer = match clients
            .arm
            .finish_write(&o, &id.path(), API_VERSION, first)
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                let diags = fail(&summary, &e);
                return match current_state(clients, &id, &planned).await {
                    Some(state) => {
                        let mut applied = Applied::failed(state.encode(), diags);
                        applied.private = private;
                        Ok(applied)
                    }
                    None => Err(diags),
                };
            }
        };
        let remote = decode_remote(answer, &id)?;
        let state = state_of(&remote, &planned, &id, &id.path());
        let mut applied = Applied::new(flatten::overlay_known(planned_value, state.encode()));
        applied.private = private;
        Ok(applied)
    }
}

/// The pool as the service now has it, shaped like `planned`, or `None` when it does not
/// exist or cannot be read.
async fn current_state(
    clients: &AzureClients,
    id: &SessionPoolId,
    planned: &SessionPool,
) -> Option<SessionPool> {
    let o = OpContext::with_timeout(AFTER_FAILURE_READ);
    let answer = clients.arm.get(&o, &id.path(), API_VERSION).await.ok()??;
    let remote: ArmPool = serde_json::from_value(answer).ok()?;
    Some(state_of(&remote, planned, id, &id.path()))
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
        plan::plan(&req)
    }

    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> TfResult<Applied> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let config = SessionPool::from_value(&req.config)?;
        let id = pool_id(&clients, &SessionPool::from_value(&req.planned_state)?)?;
        let timeouts = config.timeouts.known().cloned().unwrap_or_default();
        let o = op(ctx, timeouts.get(Op::Create, &POOL_DEFAULTS));
        match clients.arm.get(&o, &id.path(), API_VERSION).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                return Err(Diagnostic::error(
                    "Session pool already exists",
                    format!(
                        "A resource with the ID {id} already exists - to be managed via Terraform \
                         this resource needs to be imported into the State: \
                         terraform import {TYPE_NAME}.<name> {id} (or an `import` block)"
                    ),
                )
                .at(AttributePath::attr(SessionPool::NAME))
                .into())
            }
            Err(e) => {
                return Err(fail(
                    &format!("Failed to check for an existing session pool {}", id.name),
                    &e,
                ))
            }
        }
        self.put(ctx, &clients, &req.planned_state, &config, Op::Create)
            .await
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> TfResult<ReadResult> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let prior = SessionPool::from_value(&req.current_state)?;
        let id = pool_id(&clients, &prior)?;
        let timeouts = Timeouts::from_private(&req.private);
        let o = op(ctx, timeouts.get(Op::Read, &POOL_DEFAULTS));
        let answer = clients
            .arm
            .get(&o, &id.path(), API_VERSION)
            .await
            .map_err(|e| fail(&format!("Failed to read session pool {}", id.name), &e))?;
        let Some(answer) = answer else {
            return Ok(ReadResult::gone());
        };
        let remote = decode_remote(answer, &id)?;
        let id_text = prior
            .id
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| id.path());
        Ok(ReadResult {
            new_state: state_of(&remote, &prior, &id, &id_text).encode(),
            private: req.private,
        })
    }

    async fn update(&self, ctx: &Ctx, req: UpdateRequest) -> TfResult<Applied> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let config = SessionPool::from_value(&req.config)?;
        self.put(ctx, &clients, &req.planned_state, &config, Op::Update)
            .await
    }

    async fn delete(&self, ctx: &Ctx, req: DeleteRequest) -> TfResult<()> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let prior = SessionPool::from_value(&req.prior_state)?;
        let id = pool_id(&clients, &prior)?;
        let timeouts = Timeouts::from_private(&req.private);
        let o = op(ctx, timeouts.get(Op::Delete, &POOL_DEFAULTS));
        clients
            .arm
            .delete_and_wait(&o, &id.path(), API_VERSION)
            .await
            .map_err(|e| fail(&format!("Failed to delete session pool {}", id.name), &e))
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::from_block(0, &SessionPoolIdentity::block()))
    }

    async fn identity(&self, ctx: &Ctx, state: &Value) -> TfResult<Option<Value>> {
        let pool = SessionPool::from_value(state)?;
        let subscription = match pool.id.as_str().map(SessionPoolId::parse) {
            Some(Ok(id)) => id.subscription_id,
            _ => match ctx.data::<AzureClients>() {
                Ok(c) => c.subscription_id.clone(),
                Err(_) => return Ok(None),
            },
        };
        let (Some(rg), Some(name)) = (pool.resource_group_name.as_str(), pool.name.as_str()) else {
            return Ok(None);
        };
        Ok(Some(
            SessionPoolIdentity {
                subscription_id: Tf::Known(subscription),
                resource_group_name: Tf::from(rg),
                name: Tf::from(name),
            }
            .encode(),
        ))
    }

    async fn import_by_identity(&self, ctx: &Ctx, identity: &Value) -> TfResult<Imported> {
        let i = SessionPoolIdentity::from_value(identity)?;
        let subscription = match i.subscription_id.as_str() {
            Some(s) => s.to_string(),
            None => ctx.data::<AzureClients>()?.subscription_id.clone(),
        };
        let (Some(rg), Some(name)) = (i.resource_group_name.as_str(), i.name.as_str()) else {
            return Err(Diagnostic::error(
                "Incomplete identity",
                "Importing a session pool by identity needs `resource_group_name` and `name`.",
            )
            .into());
        };
        self.import(ctx, &SessionPoolId::new(&subscription, rg, name).path())
            .await
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> TfResult<Imported> {
        let parsed = SessionPoolId::parse(id)
            .map_err(|e| Diagnostics::from(Diagnostic::error("Invalid import id", e)))?;
        let stub = SessionPool {
            id: Tf::Known(parsed.path()),
            name: Tf::Known(parsed.name.clone()),
            resource_group_name: Tf::Known(parsed.resource_group.clone()),
            timeouts: Timeouts::state_value(),
            ..Default::default()
        };
        Ok(Imported {
            state: stub.encode(),
            private: Vec::new(),
        })
    }

    async fn upgrade_state(
        &self,
        _ctx: &Ctx,
        version: i64,
        raw: serde_json::Value,
    ) -> TfResult<Value> {
        let schema = self.schema();
        let mut state =
            crate::plugin::provider::decode_stored_state(TYPE_NAME, &schema, version, &raw)?;
        plan::normalize_state(&mut state);
        Ok(state)
    }
}
