//! The one support module of the provider's integration tests.
//!
//! - [`terraform`]: which tests may run the real `terraform` binary, and the command builder.
//! - [`acc`]: the acceptance harness: an in-process emulator, the provider wired into
//!   Terraform (reattach or `dev_overrides`), plan/apply/import/destroy steps and readers of
//!   Terraform's JSON output.
//! - [`grpc`]: tfplugin6 over the reattach unix socket: channel, DynamicValue helpers.
//! - [`https`]: the emulator serving HTTPS with its own CA.
//! - [`test_provider`]: a tiny provider for the protocol-layer tests.

pub mod acc;
pub mod grpc;
pub mod https;
pub mod terraform;
pub mod test_provider;
