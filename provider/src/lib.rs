//! `terraform-provider-azuresessions`: a Terraform provider (tfplugin6) for Azure Container Apps
//! dynamic sessions with custom container session pools.
//!
//! # Layout
//!
//! - [`plugin`]: the protocol only: gRPC server, go-plugin handshake, DynamicValue codec,
//!   diagnostics, schema builder.
//! - [`azure`]: ARM + data-plane HTTP client, authentication, LRO polling, its own models.
//! - [`resources`], [`data_sources`], [`actions`]: one file per Terraform type.
//! - [`functions`]: provider functions, one file per function.

// `#[derive(Model)]` names this crate by its external name, also inside it.
extern crate self as terraform_provider_azuresessions;

pub mod actions;
pub mod azure;
pub mod data_sources;
pub mod functions;
pub mod plugin;
pub mod resources;

/// The provider with every Terraform type, as the binary serves it.
pub fn provider() -> std::sync::Arc<dyn plugin::Provider> {
    std::sync::Arc::new(resources::provider::AzureSessionsProvider::new())
}
