//! `sessions-runtime`: everything under the emulator's HTTP edge. Pools of sessions, their
//! lifecycle and probes, the session backends (QEMU microVMs and in-process fakes), the image
//! store and SQLite persistence. It knows nothing of ARM, the data plane or HTTP servers: its
//! callers (the `sessions-emulator` crate) translate requests into the calls below and map the
//! typed results onto Azure's wire shapes.
//!
//! # Layout
//!
//! Each module imports only modules listed before it (the emulator's `layers` test checks
//! that no import cycle crosses a module boundary):
//!
//! - [`clock`]: the one injected [`clock::Clock`] (system and manual) and the time scale.
//! - [`id`]: [`id::ResourceId`], the Azure resource id every module that reads ids uses.
//! - [`store`]: SQLite persistence: migrations (every table), resources, operations.
//! - [`image`]: OCI layout / docker-save / registry pull into a content-addressed cache.
//! - [`vm`]: `trait Backend` plus the `qemu` (microVM) and `fake` (in-process) backends.
//! - [`logstore`]: the Log Analytics side: console lines, lifecycle and pool events, metric
//!   samples; routing to workspaces, retention and caps, the KQL data source of a workspace.
//! - [`pool`]: the pool manager: ready set, allocation, lifecycle, probes, the log sink.
//! - [`testing`]: image-building helpers for tests of this crate and the crates above it.

pub mod clock;
pub mod id;
pub mod image;
pub mod logstore;
pub mod pool;
pub mod store;
pub mod testing;
pub mod vm;
