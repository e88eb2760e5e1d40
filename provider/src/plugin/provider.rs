//! The traits Terraform types implement: [`Provider`], [`Resource`], [`DataSource`],
//! [`Action`]. The gRPC server (`plugin::server`) decodes requests against each type's
//! [`Schema`], calls these methods, and encodes the answers; implementations never see
//! protobuf or msgpack.
//!
//! Conventions:
//! - Every method gets a per-call [`Ctx`]: provider data (`ctx.data::<Client>()?`), the stop
//!   token, and `ctx.warn(..)` for warnings that accompany a success.
//! - Failures are `Err(Diagnostics)`; give each diagnostic an attribute path when it is about
//!   one attribute (`Diagnostic::error(..).at(AttributePath::attr("name"))`).
//! - Values are [`Value`] trees shaped by the schema; objects hold every attribute.
//! - The server nulls write-only attributes in every state it returns, so implementations may
//!   simply echo the config.
//!
//! ```
//! use async_trait::async_trait;
//! use terraform_provider_azuresessions::plugin::prelude::*;
//!
//! struct Thing;
//!
//! #[async_trait]
//! impl Resource for Thing {
//!     fn type_name(&self) -> &str { "demo_thing" }
//!     fn schema(&self) -> Schema {
//!         Schema::new(0, Block::new()
//!             .attribute(Attribute::string("name").required().force_new())
//!             .attribute(Attribute::string("id").computed()))
//!     }
//!     async fn create(&self, _ctx: &Ctx, req: CreateRequest) -> TfResult<Applied> {
//!         let mut state = req.planned_state;
//!         let id = format!("things/{}", state.require_str("name")?);
//!         state.set_attr("id", Value::from(id));
//!         Ok(Applied::new(state))
//!     }
//!     async fn read(&self, _ctx: &Ctx, req: ReadRequest) -> TfResult<ReadResult> {
//!         Ok(ReadResult::new(req.current_state)) // Value::Null here = gone
//!     }
//!     async fn update(&self, _ctx: &Ctx, req: UpdateRequest) -> TfResult<Applied> {
//!         Ok(Applied::new(req.planned_state))
//!     }
//!     async fn delete(&self, _ctx: &Ctx, _req: DeleteRequest) -> TfResult<()> { Ok(()) }
//! }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::codec;
use super::context::{Ctx, ProviderData};
use super::diagnostics::{Diagnostic, Diagnostics, TfResult};
use super::function::Function;
use super::identity::IdentitySchema;
use super::path::AttributePath;
use super::plan;
use super::schema::Schema;
use super::value::Value;

/// The provider itself: its configuration and the types it offers.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Provider type name, e.g. `azuresessions`; every type name starts with `<name>_`.
    fn type_name(&self) -> &str;
    /// Schema of the `provider "..." {}` block.
    fn schema(&self) -> Schema;
    /// Schema of `provider_meta` in modules, if supported.
    fn meta_schema(&self) -> Option<Schema> {
        None
    }
    /// Validates the provider configuration (may contain unknowns).
    async fn validate(&self, _ctx: &Ctx, _config: &Value) -> TfResult<()> {
        Ok(())
    }
    /// Configures the provider once per process; the returned data is available to every
    /// later call through [`Ctx::data`]. The config may contain unknowns during plan.
    async fn configure(&self, ctx: &Ctx, config: &Value) -> TfResult<ProviderData>;
    /// Managed resource types.
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    /// Data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }
    /// Action types (Terraform 1.14+).
    fn actions(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }
    /// Provider functions (Terraform 1.8+).
    fn functions(&self) -> Vec<Arc<dyn Function>> {
        Vec::new()
    }
}

/// PlanResourceChange input. `prior_state` null = create; `proposed_new_state` null = destroy
/// (only sent when the provider advertises `plan_destroy`, which we do not).
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// Current state (null on create).
    pub prior_state: Value,
    /// Terraform's proposal: config merged with prior state for computed attributes.
    pub proposed_new_state: Value,
    /// The configuration (may contain unknowns).
    pub config: Value,
    /// Private bytes stored with the instance.
    pub prior_private: Vec<u8>,
    /// provider_meta value (null if none).
    pub provider_meta: Value,
}

/// PlanResourceChange output.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    /// The planned state; unknown where apply decides.
    pub planned_state: Value,
    /// Paths whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
    /// Private bytes handed to apply.
    pub planned_private: Vec<u8>,
}

/// Create input (ApplyResourceChange with null prior state).
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// The planned state (wholly known except for values apply decides).
    pub planned_state: Value,
    /// The configuration (wholly known).
    pub config: Value,
    /// Private bytes from plan.
    pub planned_private: Vec<u8>,
}

/// Update input (ApplyResourceChange with both states set).
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    /// Current state.
    pub prior_state: Value,
    /// The planned state.
    pub planned_state: Value,
    /// The configuration.
    pub config: Value,
    /// Private bytes from plan.
    pub planned_private: Vec<u8>,
}

/// Delete input (ApplyResourceChange with null planned state).
#[derive(Debug, Clone, Default)]
pub struct DeleteRequest {
    /// Current state.
    pub prior_state: Value,
    /// Private bytes stored with the instance.
    pub private: Vec<u8>,
}

/// Create/update output.
///
/// A failure after the remote object came into being (a create whose long-running operation
/// failed) is an `Applied` with the object's state **and** error diagnostics
/// ([`Applied::failed`]): Terraform then keeps the object in state (tainted after a create,
/// so the next apply replaces it) instead of forgetting it.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// The new state: every known planned value unchanged, no unknowns left (when
    /// `diagnostics` holds errors: the object as it now is).
    pub new_state: Value,
    /// Private bytes to store.
    pub private: Vec<u8>,
    /// Diagnostics returned with the new state (errors for a partial failure).
    pub diagnostics: Diagnostics,
}

impl Applied {
    /// New state without private data.
    pub fn new(new_state: Value) -> Self {
        Self {
            new_state,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }

    /// The remote object exists as `new_state`, but the operation failed with `errors`.
    pub fn failed(new_state: Value, errors: Diagnostics) -> Self {
        Self {
            new_state,
            private: Vec::new(),
            diagnostics: errors,
        }
    }
}

/// ReadResource input.
#[derive(Debug, Clone, Default)]
pub struct ReadRequest {
    /// The stored state (after UpgradeResourceState).
    pub current_state: Value,
    /// Private bytes stored with the instance.
    pub private: Vec<u8>,
    /// provider_meta value (null if none).
    pub provider_meta: Value,
}

/// ReadResource output.
#[derive(Debug, Clone, Default)]
pub struct ReadResult {
    /// The refreshed state; [`Value::Null`] if the remote object is gone.
    pub new_state: Value,
    /// Private bytes to store.
    pub private: Vec<u8>,
}

impl ReadResult {
    /// Refreshed state without private data.
    pub fn new(new_state: Value) -> Self {
        Self {
            new_state,
            private: Vec::new(),
        }
    }
    /// The remote object no longer exists.
    pub fn gone() -> Self {
        Self::default()
    }
}

/// ImportResourceState output: a stub state that ReadResource then completes.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// The imported state (at least the attributes Read needs, e.g. `id`).
    pub state: Value,
    /// Private bytes to store.
    pub private: Vec<u8>,
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync {
    /// Full type name, e.g. `azuresessions_session_pool`.
    fn type_name(&self) -> &str;
    /// Schema (its version is the state version).
    fn schema(&self) -> Schema;

    /// Validates configuration (may contain unknowns).
    async fn validate(&self, _ctx: &Ctx, _config: &Value) -> TfResult<()> {
        Ok(())
    }

    /// Plans a create or update. The default ([`plan::default_plan`]) keeps configured values,
    /// marks unset computed attributes unknown on create (prior value on update) and lists
    /// changed `force_new` attributes in `requires_replace`.
    async fn plan(&self, _ctx: &Ctx, req: PlanRequest) -> TfResult<Planned> {
        Ok(plan::default_plan(&self.schema(), &req))
    }

    /// Creates the remote object.
    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> TfResult<Applied>;
    /// Refreshes from the remote object.
    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> TfResult<ReadResult>;
    /// Updates in place.
    async fn update(&self, ctx: &Ctx, req: UpdateRequest) -> TfResult<Applied>;
    /// Deletes the remote object (treat "already gone" as success).
    async fn delete(&self, ctx: &Ctx, req: DeleteRequest) -> TfResult<()>;

    /// The identity schema (Terraform 1.12+), if the type has an identity.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The identity of the object described by `state` (a value of the identity schema's
    /// type), or `None` when it cannot be known yet. Called for every state the server returns
    /// (read, plan, apply, import) when [`Resource::identity_schema`] is set.
    async fn identity(&self, _ctx: &Ctx, _state: &Value) -> TfResult<Option<Value>> {
        Ok(None)
    }

    /// Imports by identity (`import { identity = { ... } }`). Default: not supported.
    async fn import_by_identity(&self, _ctx: &Ctx, _identity: &Value) -> TfResult<Imported> {
        Err(Diagnostic::error(
            "Import by identity not supported",
            format!(
                "The resource type {} cannot be imported by identity; import it by id.",
                self.type_name()
            ),
        )
        .into())
    }

    /// Imports by id. Default: import not supported.
    async fn import(&self, _ctx: &Ctx, _id: &str) -> TfResult<Imported> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("The resource type {} cannot be imported.", self.type_name()),
        )
        .into())
    }

    /// Upgrades stored state (JSON in the schema of `version`) to the current schema. Called
    /// on every state load, also for the current version. Default: decode with the current
    /// schema if `version` matches (dropping attributes the schema no longer has), else an
    /// error.
    async fn upgrade_state(
        &self,
        _ctx: &Ctx,
        version: i64,
        raw: serde_json::Value,
    ) -> TfResult<Value> {
        decode_stored_state(self.type_name(), &self.schema(), version, &raw)
    }
}

/// The default state upgrade: decodes stored JSON with the current schema if `version`
/// matches (dropping attributes the schema no longer has, nulls for new ones), else an error
/// naming the versions.
pub fn decode_stored_state(
    type_name: &str,
    schema: &Schema,
    version: i64,
    raw: &serde_json::Value,
) -> TfResult<Value> {
    if version > schema.version {
        return Err(Diagnostic::error(
            "State from a newer provider",
            format!(
                "The stored state of this {type_name} has schema version {version}, but this \
                 provider only knows up to version {}. Upgrade the provider.",
                schema.version
            ),
        )
        .into());
    }
    if version < schema.version {
        return Err(Diagnostic::error(
            "Cannot upgrade state",
            format!(
                "The stored state of this {type_name} has schema version {version} and the \
                 provider has no upgrade to version {}.",
                schema.version
            ),
        )
        .into());
    }
    codec::from_json_value_lenient(raw, &schema.implied_type()).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Stored state does not match the schema",
            e.to_string(),
        ))
    })
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// Full type name, e.g. `azuresessions_session_pool`.
    fn type_name(&self) -> &str;
    /// Schema.
    fn schema(&self) -> Schema;
    /// Validates configuration (may contain unknowns).
    async fn validate(&self, _ctx: &Ctx, _config: &Value) -> TfResult<()> {
        Ok(())
    }
    /// Reads: returns the config with computed attributes filled in.
    async fn read(&self, ctx: &Ctx, config: Value) -> TfResult<Value>;
}

/// Streams progress messages of an action invocation to Terraform.
#[derive(Debug, Clone)]
pub struct Progress {
    tx: mpsc::Sender<String>,
}

impl Progress {
    /// A progress sink feeding `tx` (used by the server and tests).
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Self { tx }
    }

    /// Sends one progress line; silently ignored if Terraform went away.
    pub async fn send(&self, message: impl Into<String>) {
        let _ = self.tx.send(message.into()).await;
    }
}

/// An action type (Terraform 1.14+): invoked, never stored in state.
#[async_trait]
pub trait Action: Send + Sync {
    /// Full type name, e.g. `azuresessions_stop_session`.
    fn type_name(&self) -> &str;
    /// Schema.
    fn schema(&self) -> Schema;
    /// Validates configuration (may contain unknowns).
    async fn validate(&self, _ctx: &Ctx, _config: &Value) -> TfResult<()> {
        Ok(())
    }
    /// Plans (config may contain unknowns). Default: nothing to check.
    async fn plan(&self, _ctx: &Ctx, _config: &Value) -> TfResult<()> {
        Ok(())
    }
    /// Invokes with the known config, reporting progress. The server sends exactly one
    /// `Completed` event after this returns, carrying the error diagnostics if any.
    async fn invoke(&self, ctx: &Ctx, config: Value, progress: &Progress) -> TfResult<()>;
}
