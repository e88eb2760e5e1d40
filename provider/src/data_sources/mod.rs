//! Terraform data sources, one file per type.
//!
//! - [`session_pool`] — `azuresessions_session_pool` (an existing pool).
//! - [`sessions`] — `azuresessions_sessions` (a pool's sessions from the data plane).

pub mod session_pool;
pub mod sessions;
