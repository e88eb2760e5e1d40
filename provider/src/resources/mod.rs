//! Terraform resources, one file per type, plus the provider itself.
//!
//! - [`provider`]: `provider "azuresessions"`: configuration -> Azure clients; the type list.
//! - [`session_pool`] — `azuresessions_session_pool`.
//! - [`diagnostic_setting`] — `azuresessions_diagnostic_setting`.
//! - [`timeouts`]: the shared `timeouts` block.
//! - [`support`]: validation and error helpers shared by all types.

pub mod diagnostic_setting;
pub mod provider;
pub mod session_pool;
pub mod support;
pub mod timeouts;
