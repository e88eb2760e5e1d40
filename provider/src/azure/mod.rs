//! Azure client: ARM and data-plane HTTP, auth, LRO polling, its own models.
//!
//! The provider shares no wire types with the emulator; every JSON shape here is written from
//! the Azure REST specs (sessionPools api-version 2026-07-01, diagnosticSettings
//! 2021-05-01-preview, data plane `.management/*` 2025-02-02-preview).
//!
//! # Layout
//!
//! - [`error`]: [`AzureError`], parsing of ARM (`{error:{code,message,target}}`) and flat
//!   (`{code,message}`) error bodies.
//! - [`auth`]: the [`auth::TokenSource`] trait and the credential flows (client secret, OIDC,
//!   managed identity, Azure CLI), token caching, provider-argument/env merging.
//! - [`context`]: [`OpContext`], cancellation (StopProvider) and per-operation deadlines.
//! - [`retry`]: backoff and `Retry-After`.
//! - [`http`]: the `reqwest` client (rustls + extra CA) and the authenticated retrying pipeline.
//! - [`arm`]: [`ArmClient`]: GET/PUT/PATCH/DELETE/list with `api-version`.
//! - [`lro`]: long-running operation polling.
//! - [`dataplane`]: [`dataplane::DataPlaneClient`] for a pool's `.management/*` operations.
//! - [`models`]: serde models of the wire shapes.
//! - [`ids`]: ARM id parsing (session pools, diagnostic settings).
//! - [`config`]: [`config::ProviderSettings`] (provider arguments + `ARM_*`) -> [`config::AzureClients`].

pub mod arm;
pub mod auth;
pub mod config;
pub mod context;
pub mod dataplane;
pub mod error;
pub mod http;
pub mod ids;
pub mod lro;
pub mod models;
pub mod retry;

pub use arm::ArmClient;
pub use context::OpContext;
pub use error::AzureError;
