//! The `tfplugin6.Provider` gRPC service on top of a [`Provider`] implementation.
//!
//! [`GrpcProvider`] caches every type's schema and implied type once at start-up (schemas are
//! data), decodes each request's DynamicValues against them, calls the trait methods with a
//! per-call [`Ctx`], nulls write-only attributes in every returned state and encodes the
//! answer as msgpack. Errors become diagnostics, never gRPC errors; RPCs for features this
//! provider does not have answer with a "not supported" diagnostic.
//!
//! - [`registry`]: the type tables.
//! - `resource`: validate/upgrade/read/plan/apply/import of managed resources.
//! - `misc`: metadata, schema, provider config, data sources, actions, unsupported features.
//! - `service`: the generated trait, delegating to the above.

use std::sync::Arc;

use super::codec;
use super::context::{ClientCapabilities, Ctx, ProviderState};
use super::diagnostics::{Diagnostic, Diagnostics};
use super::proto::tfplugin6 as pb;
use super::provider::Provider;
use super::types::Type;
use super::value::Value;

mod misc;
pub mod registry;
mod resource;
mod service;

pub use registry::Registry;

/// Largest gRPC message accepted or sent (Terraform's own SDK uses the same).
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// The tfplugin6 service. Cheap to clone.
#[derive(Clone)]
pub struct GrpcProvider {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Arc<dyn Provider>,
    registry: Registry,
    state: Arc<ProviderState>,
}

impl GrpcProvider {
    /// Wraps a provider; its schemas are read once, here.
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let registry = Registry::new(provider.as_ref());
        Self {
            inner: Arc::new(Inner {
                provider,
                registry,
                state: ProviderState::new(),
            }),
        }
    }

    /// The tonic server for this service, with the 256 MiB message limits set.
    pub fn into_service(self) -> pb::provider_server::ProviderServer<Self> {
        pb::provider_server::ProviderServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
    }

    /// The shared provider state (stop token, provider data).
    pub fn state(&self) -> &Arc<ProviderState> {
        &self.inner.state
    }

    fn provider(&self) -> &dyn Provider {
        self.inner.provider.as_ref()
    }

    fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    fn ctx(&self, caps: Option<&pb::ClientCapabilities>) -> Ctx {
        Ctx::new(self.inner.state.clone(), caps_from(caps))
    }
}

fn caps_from(c: Option<&pb::ClientCapabilities>) -> ClientCapabilities {
    c.map(|c| ClientCapabilities {
        deferral_allowed: c.deferral_allowed,
        write_only_attributes_allowed: c.write_only_attributes_allowed,
    })
    .unwrap_or_default()
}

/// Decodes a DynamicValue; a failure is an error diagnostic naming `what`.
fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    codec::decode_dynamic(dv, ty).map_err(|e| {
        Diagnostic::error(
            format!("Invalid {what}"),
            format!("The provider could not decode the {what} sent by Terraform: {e}"),
        )
        .into()
    })
}

/// Encodes a value; a failure means the provider produced a value that does not match its
/// own schema (a provider bug), reported as an error diagnostic.
fn encode(v: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostics> {
    codec::encode_dynamic(v, ty).map_err(|e| {
        Diagnostic::error(
            "Provider produced an invalid value",
            format!("The {what} does not match the schema: {e}. This is a bug in the provider."),
        )
        .into()
    })
}

/// Merges the context's warnings with an outcome's errors.
fn finish(ctx: &Ctx, err: Option<Diagnostics>) -> Vec<pb::Diagnostic> {
    let mut d = ctx.take_diagnostics();
    if let Some(e) = err {
        d.extend(e);
    }
    d.to_proto()
}
