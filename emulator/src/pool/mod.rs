//! Pool manager: ready set, allocation, lifecycle, probes. Backend-agnostic and free of HTTP:
//! the data plane and ARM routes call it; it calls a [`crate::vm::Backend`].
//!
//! # Layout
//!
//! - [`clock`]: the injected [`clock::Clock`] (real, manual, adapter to the app clock) and the
//!   `--time-scale` factor.
//! - [`session`]: session states, end reasons, the per-session record.
//! - [`core`]: the pure per-pool state machine (capacity rule, expiry, roll-out, backoff).
//! - [`probe`]: Startup/Liveness settings, threshold counting, HTTP/TCP checks;
//!   [`probe_tls`]: the certificate-blind TLS client of HTTPS probes.
//! - [`spec`]: [`spec::PoolSpec`], what the manager knows about a pool; [`from_arm`] builds it
//!   from the ARM model.
//! - [`supervisor`]: one task per session (boot, readiness, liveness, exit, stop, console).
//! - [`actor`]: one task per pool owning its core; [`actor::PoolHandle`] to talk to it.
//! - [`manager`]: [`manager::PoolManager`], the registry of pools.
//! - [`images`]: image resolution (placeholder for the fake backend, image store for qemu);
//!   [`lazy_qemu`]: the qemu backend, started on first use.
//! - [`logs`]: lifecycle / pool-event / console rows and the live-session table in SQLite.
//! - [`wiring`]: builds the manager from the start-up config; [`arm_hook`]: what the ARM
//!   session-pool resource calls on create/update/delete and at start-up.

pub mod actor;
pub mod arm_hook;
pub mod clock;
pub mod core;
pub mod from_arm;
pub mod images;
pub mod lazy_qemu;
pub mod logs;
pub mod manager;
pub mod probe;
pub mod probe_tls;
pub mod session;
pub mod spec;
pub mod supervisor;
pub mod wiring;

pub use actor::{Binding, PoolHandle, PoolSnapshot};
pub use manager::{ManagerConfig, PoolManager};
