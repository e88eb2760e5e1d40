//! tfplugin6 protocol layer: schema builder, values, codec, diagnostics, the traits Terraform
//! types implement, the gRPC server and the go-plugin handshake. No Terraform logic here.
//!
//! # Layout
//!
//! - [`types`]: Terraform types and their JSON form.
//! - [`value`]: decoded values ([`Value`], [`Number`], unknown refinements).
//! - [`path`]: attribute paths ([`AttributePath`]).
//! - [`diagnostics`]: [`Diagnostics`] and [`TfResult`].
//! - [`schema`]: the schema builder ("schemas are data").
//! - [`model`]: typed models (`#[derive(Model)]`): one struct per block, schema + decode +
//!   encode from it.
//! - [`codec`]: msgpack/JSON DynamicValue codec driven by the schema.
//! - [`context`]: per-call [`Ctx`] (provider data, stop token, warnings).
//! - [`provider`]: the [`Provider`], [`Resource`], [`DataSource`] and [`Action`] traits (start
//!   here when adding a Terraform type; the module docs have an example).
//! - [`plan`]: the default plan, schema defaults and write-only nulling.
//! - [`identity`]: resource identity schemas (Terraform 1.12+).
//! - [`function`]: provider functions (Terraform 1.8+).
//! - [`server`]: the `tfplugin6.Provider` gRPC service ([`server::GrpcProvider`]).
//! - [`serve`]: go-plugin handshake, `--debug` reattach mode, in-process reattach server.
//! - [`tls`]: AutoMTLS certificate and exact-match client verification.
//! - [`goplugin`]: go-plugin controller/stdio/broker services.
//! - [`proto`]: generated protobuf/gRPC code.
//!
//! Implementations usually just `use crate::plugin::prelude::*;`.

pub mod codec;
pub mod context;
pub mod diagnostics;
pub mod function;
pub mod goplugin;
pub mod identity;
pub mod model;
pub mod path;
pub mod plan;
pub mod proto;
pub mod provider;
pub mod schema;
pub mod serve;
pub mod server;
pub mod tls;
pub mod types;
pub mod value;

pub use context::{ClientCapabilities, Ctx, ProviderData, ProviderState};
pub use diagnostics::{Diagnostic, Diagnostics, Severity, TfResult};
pub use path::{AttributePath, PathStep};
pub use provider::{
    Action, Applied, CreateRequest, DataSource, DeleteRequest, Imported, PlanRequest, Planned,
    Progress, Provider, ReadRequest, ReadResult, Resource, UpdateRequest,
};
pub use schema::{Attribute, Block, BlockNesting, NestedBlock, ObjectNesting, Schema};
pub use types::Type;
pub use value::{Number, Refinements, Value};

/// Everything a Terraform type implementation needs.
pub mod prelude {
    pub use super::context::{Ctx, ProviderData};
    pub use super::diagnostics::{Diagnostic, Diagnostics, TfResult};
    pub use super::function::{Function, FunctionError, Parameter, Signature};
    pub use super::identity::IdentitySchema;
    pub use super::model::{Model, SetOf, Tf};
    pub use super::path::AttributePath;
    pub use super::provider::{
        Action, Applied, CreateRequest, DataSource, DeleteRequest, Imported, PlanRequest, Planned,
        Progress, Provider, ReadRequest, ReadResult, Resource, UpdateRequest,
    };
    pub use super::schema::{Attribute, Block, BlockNesting, NestedBlock, ObjectNesting, Schema};
    pub use super::types::Type;
    pub use super::value::{Number, Value};
}
