//! Pool manager: ready set, allocation, lifecycle, probes. Backend-agnostic and free of HTTP:
//! the emulator's data plane and ARM bridge call it; it calls a [`crate::vm::Backend`]. Pools
//! are keyed by their [`crate::id::ResourceId`]; time comes from the injected
//! [`crate::clock::Clock`].
//!
//! # Layout
//!
//! - [`session`]: session states, end reasons, the per-session record.
//! - [`core`]: the pure per-pool state machine (capacity rule, expiry, roll-out, backoff).
//! - [`probe`]: Startup/Liveness settings, threshold counting, HTTP/TCP checks;
//!   [`probe_tls`]: the certificate-blind TLS client of HTTPS probes.
//! - [`spec`]: [`spec::PoolSpec`], what the manager knows about a pool (its callers build it).
//! - [`supervisor`]: one task per session (boot, readiness, liveness, exit, stop, console).
//! - [`actor`]: one task per pool owning its core; [`actor::PoolHandle`] to talk to it.
//! - [`manager`]: [`manager::PoolManager`], the registry of pools.
//! - [`failure`]: [`failure::StartFailure`], why a session (and so a provisioning pool) failed.
//! - [`images`]: image resolution (placeholder for the fake backend, image store for qemu);
//!   [`lazy_qemu`]: the qemu backend, started on first use; [`backends`]: the backend and image
//!   source pairs a manager runs on.
//! - [`logs`]: the log sink: lifecycle / pool-event / console rows (to the
//!   [`crate::logstore`]) and the live-session table (tables created by the store's migrations).
//! - [`sampler`]: one metric sample per pool every minute of the emulator's clock.

pub mod actor;
pub mod backends;
pub mod core;
pub mod failure;
pub mod images;
pub mod lazy_qemu;
pub mod logs;
pub mod manager;
pub mod probe;
pub mod probe_tls;
pub mod sampler;
pub mod session;
pub mod spec;
pub mod supervisor;

pub use actor::{Binding, PoolHandle, PoolSnapshot};
pub use failure::{FailureKind, StartFailure};
pub use manager::{ManagerConfig, PoolManager};
