//! The provider's integration tests, in one binary (one link, one support module).
//!
//! - `plugin_*`: the protocol layer (codec, schema, gRPC service, go-plugin handshake, the real
//!   `terraform` binary) with the tiny provider of [`support::test_provider`].
//! - `azure_*`: the Azure client and the Terraform types against `wiremock`.
//! - `acc_*`: acceptance tests against the in-process emulator (real `terraform` for the
//!   `real_` ones, gRPC for what Terraform 1.11 cannot drive).
//!
//! Tests whose name starts with `real_` need the real `terraform` binary, QEMU or the sample
//! session image; `make test-fast` selects them out.

mod support;

mod acc_auth;
mod acc_defaults;
mod acc_functions;
mod acc_https;
mod acc_identity_grpc;
mod acc_import;
mod acc_modules;
mod acc_observability;
mod acc_session_pool;
mod acc_stop_session_grpc;
mod azure_identity_flows;
mod azure_lro;
mod azure_resources;
mod azure_schemas;
mod plugin_codec;
mod plugin_grpc;
mod plugin_handshake;
mod plugin_real_terraform;
mod plugin_schema;
