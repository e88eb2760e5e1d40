//! Generated protobuf and gRPC code (built by `build.rs` from `provider/proto/`).
//!
//! - [`tfplugin6`]: the Terraform plugin protocol 6.10 (`tfplugin6.Provider` server + client).
//! - [`go_plugin`]: go-plugin's `plugin.GRPCController`, `GRPCStdio`, `GRPCBroker`.

#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod go_plugin {
    tonic::include_proto!("plugin");
}
