//! `sessions-emulator`: a local emulator of Azure Container Apps dynamic sessions with custom
//! container session pools. Every session is a real QEMU microVM.
//!
//! # Layout
//!
//! HTTP stays at the edges, logic in the middle, QEMU at the bottom:
//!
//! - [`doctor`]: `sessions-emulator doctor` and `serve`'s start-up check of the host.
//! - [`defaults`]: the well-known seeded tenant, client, subscription, resource group,
//!   environment and workspace every fresh emulator has.
//! - [`arm`]: Azure Resource Manager routes (resource groups, environments, workspaces,
//!   session pools, diagnostic settings, operation status) and the one ARM error table.
//! - [`auth`]: the Entra-style token endpoint, OpenID discovery, JWKS and bearer validation.
//! - [`dataplane`]: each pool's management endpoint: proxy to sessions, `.management/*`.
//! - [`monitor`]: Azure Monitor metrics and the Log Analytics query API.
//! - [`pool`]: the pool manager (ready set, allocation, lifecycle, probes); backend-agnostic.
//! - [`vm`]: `trait Backend` plus the `qemu` (microVM) and `fake` (in-process) backends.
//! - [`image`]: OCI layout / docker-save / registry pull into a content-addressed cache.
//! - [`store`]: SQLite persistence of everything the control plane acknowledges.
//! - [`state`]: [`state::AppState`], what every route gets; [`config`]: start-up settings;
//!   [`clock`]: injected time.
//! - [`server`]: `router(state)` and `run(listener, state, tls, shutdown)`; [`tls`]: the local
//!   CA and HTTPS; [`cli`]: the command line (`serve`, `env`, `image`).
//! - [`testing`]: an in-process emulator on `127.0.0.1:0` for tests.
//! - [`fsutil`]: durable file writes in the data dir.

pub mod arm;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dataplane;
pub mod defaults;
pub mod doctor;
pub mod fsutil;
pub mod image;
pub mod monitor;
pub mod pool;
pub mod server;
pub mod state;
pub mod store;
pub mod testing;
pub mod tls;
pub mod vm;
