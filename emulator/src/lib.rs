//! `sessions-emulator`: a local emulator of Azure Container Apps dynamic sessions with custom
//! container session pools. Every session is a real QEMU microVM.
//!
//! This crate is the HTTP edge. Pools, sessions, VMs, images and the database live in the
//! `sessions-runtime` crate, which has no HTTP types and cannot name anything here; this crate
//! translates requests into runtime calls and maps typed runtime results onto Azure's wire
//! shapes.
//!
//! # Layout
//!
//! Each module imports only modules listed before it (the `layers` test checks that no import
//! cycle crosses a module boundary):
//!
//! - [`defaults`]: the well-known seeded tenant, client, subscription, resource group,
//!   environment and workspace every fresh emulator has; [`fsutil`]: durable file writes.
//! - [`config`]: one instance's start-up settings (endpoint, data dir, backend, time scale).
//! - [`origins`]: each session pool's own origin (a listener per pool), served by the server.
//! - [`auth`]: the Entra-style token endpoint, OpenID discovery, JWKS and bearer validation,
//!   on any state implementing [`auth::AuthContext`].
//! - [`state`]: [`state::AppState`], what every route gets (config, store, tokens, clock,
//!   pools); per instance, never process-wide.
//! - [`dataplane`]: each pool's management endpoint: proxy to sessions, `.management/*`.
//! - [`monitor`]: log routes from diagnostic settings, the Log Analytics query API, Azure
//!   Monitor metrics (ARM reaches the metrics through its extension dispatch).
//! - [`arm`]: Azure Resource Manager routes, the one ARM error table, and the ARM <-> runtime
//!   bridge (`arm::session_pools::runtime`).
//! - [`bodies`]: request-body size and JSON-depth limits of every route but the data plane.
//! - [`wiring`]: start-up in one place: builds a state from a config, brings it to life.
//! - [`tls`]: the local CA and the HTTPS configuration; [`edge`]: the serve loop of every
//!   listener with its limits (connection cap, timeouts, drain, descriptor exhaustion);
//!   [`server`]: `router(state)` and `run(listener, state, tls, shutdown)`.
//! - [`doctor`]: `sessions-emulator doctor` and `serve`'s start-up check of the host.
//! - [`cli`]: the command line (`serve`, `env`, `image`, `doctor`).
//! - [`testing`]: an in-process emulator on `127.0.0.1:0` for tests.
//! - [`clock`], [`image`]: the runtime's clock (the one clock of an emulator) and image store,
//!   re-exported for crates that drive an emulator in-process (tests loading images).

pub mod arm;
pub mod auth;
pub mod bodies;
pub mod cli;
pub mod config;
pub mod dataplane;
pub mod defaults;
pub mod doctor;
pub mod edge;
pub mod fsutil;
pub mod monitor;
pub mod origins;
pub mod server;
pub mod state;
pub mod testing;
pub mod tls;
pub mod wiring;

pub use sessions_runtime::{clock, image};
