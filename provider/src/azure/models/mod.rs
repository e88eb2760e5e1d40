//! The provider's own serde models of the Azure wire shapes (never shared with the emulator).
//!
//! - [`session_pool`]: `Microsoft.App/sessionPools` api-version 2026-07-01.
//! - [`diagnostic_setting`]: `Microsoft.Insights/diagnosticSettings` 2021-05-01-preview.
//! - [`dataplane`]: the pool management endpoint's `.management/*` answers.

pub mod dataplane;
pub mod diagnostic_setting;
pub mod session_pool;
